//! One authenticated link to the peer, without I/O: bytes in, events out; messages in, bytes
//! out.
//!
//! Lifecycle: [`Session::new`] gives the HELLO to send. Feed every byte received to
//! [`Session::receive`] and drop the bytes it says it consumed; it answers
//! [`Event::Hello`] once the peer's HELLO is in (send the AUTH it carries), then
//! [`Event::Authenticated`] once the peer's AUTH proved the shared secret, then one event per
//! frame. Only then does [`Session::encode`] make frames. Any error means the link is not to
//! be trusted: close the connection (the session itself is left as it was before the frame).

use ring::{digest, hmac};

use super::frame::{self, Frame, MIN_LENGTH};
use super::handshake::{direction_key, hello_payload, is_proof, parse_hello, proof};
use super::message::{self, AUTH, HELLO, Message};
use super::{Error, MAX_FRAME_LENGTH, MAX_HANDSHAKE_LENGTH};

/// What a frame received brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The peer's HELLO: it speaks our version and is named `peer` (not yet proven).
    Hello {
        /// The peer's node name.
        peer: String,
        /// Our AUTH frame: send it.
        auth: Vec<u8>,
    },
    /// The peer's AUTH is right: it knows the secret, and messages may flow both ways.
    Authenticated,
    /// A message from the authenticated peer.
    Message(Message),
    /// A frame of an unknown type with the ignorable bit, skipped.
    Ignored(u8),
}

/// The keys of one connection, once both HELLOs are known.
#[derive(Debug, Clone)]
struct Keys {
    peer: String,
    send: hmac::Key,
    receive: hmac::Key,
}

#[derive(Debug)]
enum State {
    /// Waiting for the peer's HELLO.
    Hello,
    /// Our AUTH is out; waiting for the peer's, which proves `peer_hello`.
    Auth { keys: Keys, peer_hello: Vec<u8> },
    /// Both sides authenticated.
    Open(Keys),
}

/// The protocol state of one connection to the peer.
#[derive(Debug)]
pub struct Session {
    name: String,
    secret: hmac::Key,
    nonce: [u8; 16],
    /// Our HELLO payload, part of both AUTH transcripts.
    hello: Vec<u8>,
    state: State,
    /// The sequence number of the last frame sent (the HELLO is 0).
    sent: u64,
    /// The sequence number of the last frame accepted (the peer's HELLO is 0).
    received: u64,
}

impl Session {
    /// A session for node `local_node` (1 to 255 bytes) with the pair's shared `secret`, and
    /// the HELLO frame to send. `nonce` must be fresh random bytes for each connection: the
    /// keys depend on it.
    pub fn new(
        local_node: &str,
        secret: &[u8],
        nonce: [u8; 16],
    ) -> Result<(Session, Vec<u8>), Error> {
        let hello = hello_payload(local_node, &nonce)?;
        let mut bytes = Vec::with_capacity(4 + MIN_LENGTH + hello.len());
        frame::write(&mut bytes, HELLO, 0, &hello, None);
        let session = Session {
            name: local_node.to_owned(),
            secret: secret_key(secret),
            nonce,
            hello,
            state: State::Hello,
            sent: 0,
            received: 0,
        };
        Ok((session, bytes))
    }

    /// The peer's node name, once its HELLO is in (proven only once authenticated).
    pub fn peer(&self) -> Option<&str> {
        match &self.state {
            State::Hello => None,
            State::Auth { keys, .. } | State::Open(keys) => Some(&keys.peer),
        }
    }

    /// Whether the peer proved the secret: messages may be encoded and received.
    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, State::Open(_))
    }

    /// Reads the frame at the start of `input`: `Ok(None)` until a whole frame is there, else
    /// its event and how many bytes of `input` it took. `now_ms` (local wall clock) turns the
    /// remaining ms of source-ip entries into expiry times.
    pub fn receive(&mut self, input: &[u8], now_ms: u64) -> Result<Option<(Event, usize)>, Error> {
        let max = match self.state {
            State::Open(_) => MAX_FRAME_LENGTH,
            State::Hello | State::Auth { .. } => MAX_HANDSHAKE_LENGTH,
        };
        let Some(frame) = frame::parse(input, max)? else {
            return Ok(None);
        };
        let event = match &self.state {
            State::Hello => self.on_hello(&frame)?,
            State::Auth { keys, peer_hello } => {
                self.check(&frame, keys)?;
                if frame.kind != AUTH {
                    return Err(Error::Malformed("expected an AUTH"));
                }
                if !is_proof(&self.secret, peer_hello, &self.hello, frame.payload) {
                    return Err(Error::Authentication);
                }
                self.state = State::Open(keys.clone());
                Event::Authenticated
            }
            State::Open(keys) => {
                self.check(&frame, keys)?;
                match message::decode(frame.kind, frame.payload, now_ms)? {
                    Some(message) => Event::Message(message),
                    None => Event::Ignored(frame.kind),
                }
            }
        };
        self.received = frame.seq;
        Ok(Some((event, frame.size)))
    }

    /// The frames of `message` for the authenticated peer: one, or several for updates too
    /// many for one frame. `now_ms` (local wall clock) turns source-ip expiry times into
    /// remaining ms.
    pub fn encode(&mut self, message: &Message, now_ms: u64) -> Result<Vec<u8>, Error> {
        let State::Open(keys) = &self.state else {
            return Err(Error::NotAuthenticated);
        };
        let payloads = message::payloads(message, now_ms, MAX_FRAME_LENGTH - MIN_LENGTH)?;
        let size = payloads
            .iter()
            .map(|(_, payload)| 4 + MIN_LENGTH + payload.len());
        let mut bytes = Vec::with_capacity(size.sum());
        for (kind, payload) in payloads {
            self.sent = self.sent.saturating_add(1);
            frame::write(&mut bytes, kind, self.sent, &payload, Some(&keys.send));
        }
        Ok(bytes)
    }

    /// Takes the peer's HELLO: derives the keys and makes our AUTH.
    fn on_hello(&mut self, frame: &Frame<'_>) -> Result<Event, Error> {
        if frame.kind != HELLO {
            return Err(Error::Malformed("expected a HELLO"));
        }
        if frame.seq != 0 || !frame.is_untagged() {
            return Err(Error::Malformed("a HELLO has sequence number 0 and no tag"));
        }
        let hello = parse_hello(frame.payload)?;
        if hello.name == self.name {
            return Err(Error::Malformed("the peer has this node's name"));
        }
        let keys = Keys {
            send: direction_key(&self.secret, &self.nonce, &hello.nonce, &self.name),
            receive: direction_key(&self.secret, &hello.nonce, &self.nonce, &hello.name),
            peer: hello.name,
        };
        let mut auth = Vec::new();
        let payload = proof(&self.secret, &self.hello, frame.payload);
        self.sent = 1;
        frame::write(&mut auth, AUTH, self.sent, &payload, Some(&keys.send));
        let peer = keys.peer.clone();
        self.state = State::Auth {
            keys,
            peer_hello: frame.payload.to_vec(),
        };
        Ok(Event::Hello { peer, auth })
    }

    /// Checks an authenticated frame's tag, then that its sequence number is the next one.
    fn check(&self, frame: &Frame<'_>, keys: &Keys) -> Result<(), Error> {
        if !frame.is_tagged_by(&keys.receive) {
            return Err(Error::Authentication);
        }
        match self.received.checked_add(1) {
            Some(expected) if frame.seq == expected => Ok(()),
            Some(expected) if frame.seq > expected => Err(Error::Gap {
                seq: frame.seq,
                expected,
            }),
            _ => Err(Error::Replay {
                seq: frame.seq,
                last: self.received,
            }),
        }
    }
}

/// The HMAC key of the shared secret; a secret longer than SHA-256's block (64 bytes) is
/// hashed first, as HMAC itself does (RFC 2104), so any length works.
fn secret_key(secret: &[u8]) -> hmac::Key {
    let block = digest::SHA256.block_len();
    if secret.len() > block {
        hmac::Key::new(
            hmac::HMAC_SHA256,
            digest::digest(&digest::SHA256, secret).as_ref(),
        )
    } else {
        hmac::Key::new(hmac::HMAC_SHA256, secret)
    }
}
