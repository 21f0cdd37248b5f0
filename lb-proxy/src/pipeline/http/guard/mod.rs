//! The request guard: a strict scanner of every byte a client sends on an HTTP/1.1
//! connection, run before the bytes reach the HTTP parser, so that an ambiguous or malformed
//! request is refused before any of it can be forwarded.
//!
//! It follows message framing itself (heads, `Content-Length` bodies, `chunked` bodies) and
//! checks each head when its empty line arrives ([`head::check`]) and each chunk line as it
//! arrives ([`chunked`]). Every line of a head must end in CRLF: a bare CR or bare LF is
//! refused the moment it is seen. Empty lines between requests are skipped. After an upgrade
//! request the bytes are no longer HTTP and pass unchecked (the proxy closes the connection
//! if the server refuses the upgrade).
//!
//! Defaults ([`GuardLimits::default`], from the VIP's `http` table, [`HeadLimits`]): heads up
//! to 32 KiB and 100 fields, else 431.

pub(crate) mod chunked;
mod head;

use lb_core::model::HeadLimits;

use chunked::Chunked;
use head::Framing;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// Ambiguous or malformed: 400.
    Malformed(&'static str),
    /// Over a size or count limit: 431.
    TooLarge(&'static str),
}

impl Violation {
    /// The status code the client gets.
    pub fn status(self) -> u16 {
        match self {
            Violation::Malformed(_) => 400,
            Violation::TooLarge(_) => 431,
        }
    }

    /// What was wrong, for logs.
    pub fn reason(self) -> &'static str {
        match self {
            Violation::Malformed(reason) | Violation::TooLarge(reason) => reason,
        }
    }
}

/// The size limits of request heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardLimits {
    /// Longest head (request line and fields), in bytes.
    pub max_head: usize,
    /// Most header fields in a head.
    pub max_fields: usize,
}

impl From<HeadLimits> for GuardLimits {
    fn from(limits: HeadLimits) -> Self {
        GuardLimits {
            max_head: limits.max_bytes,
            max_fields: limits.max_fields,
        }
    }
}

impl Default for GuardLimits {
    /// The configuration's defaults ([`HeadLimits::default`]).
    fn default() -> Self {
        HeadLimits::default().into()
    }
}

/// Where the guard is in the client's byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body { left: u64 },
    Chunked(Chunked),
    Passthrough,
    Refused(Violation),
}

impl State {
    /// Where the stream is once a head with `framing` has passed.
    fn after_head(framing: Framing) -> State {
        match framing {
            Framing::Empty => State::Head,
            Framing::Length(left) => State::Body { left },
            Framing::Chunked => State::Chunked(Chunked::START),
            Framing::Upgrade => State::Passthrough,
        }
    }
}

/// The scanner of one client connection.
#[derive(Debug)]
pub struct RequestGuard {
    limits: GuardLimits,
    state: State,
    head: Vec<u8>,
}

impl RequestGuard {
    /// A guard at the start of a connection.
    pub fn new(limits: GuardLimits) -> Self {
        RequestGuard {
            limits,
            state: State::Head,
            head: Vec::new(),
        }
    }

    /// Whether the next byte starts a request: no head, body or chunk is under way, nor an
    /// empty line between requests (for the checks of `request_ends`).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn at_request_start(&self) -> bool {
        self.state == State::Head && self.head.is_empty()
    }

    /// Whether the guard has stopped checking: an upgrade request passed, and what follows is
    /// no longer HTTP/1.1 if the server agrees (for the checks of `request_ends`).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn passes_through(&self) -> bool {
        self.state == State::Passthrough
    }

    /// Scans the next bytes the client sent. Once it has refused, the connection is done: the
    /// guard refuses everything after.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), Violation> {
        while !bytes.is_empty() {
            let used = match &mut self.state {
                State::Passthrough => return Ok(()),
                State::Refused(violation) => return Err(*violation),
                State::Head => self.head_bytes(bytes)?,
                State::Body { left } => {
                    let used = (*left).min(bytes.len() as u64);
                    *left -= used;
                    if *left == 0 {
                        self.state = State::Head;
                    }
                    used as usize
                }
                State::Chunked(chunked) => match chunked.feed(bytes) {
                    Ok((used, done)) => {
                        if done {
                            self.state = State::Head;
                        }
                        used
                    }
                    Err(violation) => return Err(self.refuse(violation)),
                },
            };
            bytes = &bytes[used..];
        }
        Ok(())
    }

    /// Takes head bytes up to the end of the head; answers how many were used. Runs of two or
    /// more bytes other than CR and LF move in one piece (their only rules: no CR before them,
    /// and the size limit); every other byte is checked on its own.
    fn head_bytes(&mut self, bytes: &[u8]) -> Result<usize, Violation> {
        if let Some(end) = self.whole_head(bytes) {
            let framing = head::check(&bytes[..end], self.limits.max_fields)
                .map_err(|violation| self.refuse(violation))?;
            self.state = State::after_head(framing);
            return Ok(end);
        }
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            let run = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
            if run > 1 {
                if self.head.last() == Some(&b'\r') {
                    return Err(self.refuse(Violation::Malformed("bare CR")));
                }
                // The head never exceeds the limit: a byte that would is refused.
                if run > self.limits.max_head - self.head.len() {
                    return Err(self.refuse(Violation::TooLarge("request head too large")));
                }
                self.head.extend_from_slice(&rest[..run]);
                at += run;
                continue;
            }
            if let Some(framing) = self.head_byte(bytes[at])? {
                self.state = State::after_head(framing);
                return Ok(at + 1);
            }
            at += 1;
        }
        Ok(bytes.len())
    }

    /// The length of a whole head at the start of `bytes` when none of it came before, every
    /// line of it ends in CRLF and it is within the size limit: the common case, checked in
    /// place. Anything else (part of a head, a bare CR or LF, an empty line first, a head at
    /// the limit) is left to the byte-wise scan, which keeps or refuses it the same way.
    fn whole_head(&self, bytes: &[u8]) -> Option<usize> {
        if !self.head.is_empty() {
            return None;
        }
        let window = &bytes[..bytes.len().min(self.limits.max_head)];
        let mut line = 0;
        loop {
            let end = line + memchr::memchr2(b'\r', b'\n', &window[line..])?;
            if window[end] != b'\r' || window.get(end + 1) != Some(&b'\n') {
                return None;
            }
            match (end == line, line) {
                (true, 0) => return None,
                (true, _) => return Some(end + 2),
                (false, _) => line = end + 2,
            }
        }
    }

    /// Takes one byte; answers the framing of the request once it ends its head.
    fn head_byte(&mut self, byte: u8) -> Result<Option<Framing>, Violation> {
        let previous = self.head.last().copied();
        if byte == b'\n' && previous != Some(b'\r') {
            return Err(self.refuse(Violation::Malformed("bare LF")));
        }
        if previous == Some(b'\r') && byte != b'\n' {
            return Err(self.refuse(Violation::Malformed("bare CR")));
        }
        self.head.push(byte);
        if self.head == b"\r\n" {
            self.head.clear();
        } else if self.head.ends_with(b"\r\n\r\n") {
            let framing = head::check(&self.head, self.limits.max_fields);
            self.head.clear();
            return framing
                .map(Some)
                .map_err(|violation| self.refuse(violation));
        } else if self.head.len() > self.limits.max_head {
            return Err(self.refuse(Violation::TooLarge("request head too large")));
        }
        Ok(None)
    }

    /// Records the refusal so that nothing after it passes either.
    fn refuse(&mut self, violation: Violation) -> Violation {
        self.state = State::Refused(violation);
        violation
    }
}

#[cfg(test)]
mod tests;
