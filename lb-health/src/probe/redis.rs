//! The Redis check: optional `AUTH password` → `+OK`, `PING` → `+PONG`, `INFO replication` →
//! a bulk string with the line `role:master`, then `QUIT` is sent and the check passes without
//! waiting for its reply. One command at a time, each sent once the previous reply is in.
//!
//! An error reply (`-NOAUTH ...`, `-WRONGPASS ...`, `-LOADING ...`) fails with its text, a
//! replica fails with its role (`role:slave`), and bytes beyond the awaited reply fail too (a
//! Redis server never sends unsolicited data here).

use super::resp::{Parsed, Reply, parse_reply};
use super::{CheckFailure, Outcome, Probe, Step, printable, quoted};

/// The command whose reply is awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Auth,
    Ping,
    Info,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Command::Auth => "AUTH",
            Command::Ping => "PING",
            Command::Info => "INFO replication",
        }
    }
}

/// What follows a satisfying reply.
enum Next {
    Send(Command),
    /// The server is a healthy master: say goodbye.
    Quit,
}

/// One Redis check conversation.
pub(super) struct RedisProbe {
    password: Option<String>,
    awaiting: Command,
    buffer: Vec<u8>,
    /// See [`parse_reply`].
    searched: usize,
}

impl RedisProbe {
    pub(super) fn new(password: Option<&str>) -> Self {
        RedisProbe {
            password: password.map(str::to_owned),
            awaiting: Command::Auth,
            buffer: Vec::new(),
            searched: 0,
        }
    }

    fn send(&mut self, command: Command) -> Step {
        self.awaiting = command;
        Step::Send(match command {
            Command::Auth => encode(&[
                b"AUTH",
                self.password.as_deref().unwrap_or_default().as_bytes(),
            ]),
            Command::Ping => encode(&[b"PING"]),
            Command::Info => encode(&[b"INFO", b"replication"]),
        })
    }
}

impl Probe for RedisProbe {
    fn start(&mut self) -> Step {
        match self.password {
            Some(_) => self.send(Command::Auth),
            None => self.send(Command::Ping),
        }
    }

    fn on_bytes(&mut self, bytes: &[u8]) -> Step {
        self.buffer.extend_from_slice(bytes);
        let command = self.awaiting;
        let judged = match parse_reply(&self.buffer, self.searched) {
            Ok(Parsed::Incomplete { searched }) => {
                self.searched = searched;
                return Step::NeedMore;
            }
            Ok(Parsed::Complete(_, length)) if length != self.buffer.len() => {
                Err(CheckFailure(format!(
                    "{}: unexpected bytes after the reply: {}",
                    command.name(),
                    quoted(&self.buffer[length..])
                )))
            }
            Ok(Parsed::Complete(reply, _)) => judge(command, reply),
            Err(failure) => Err(CheckFailure(format!("{}: {failure}", command.name()))),
        };
        self.buffer.clear();
        self.searched = 0;
        match judged {
            Ok(Next::Send(command)) => self.send(command),
            Ok(Next::Quit) => Step::SendAndPass(encode(&[b"QUIT"])),
            Err(failure) => Step::Done(Err(failure)),
        }
    }

    fn on_eof(&mut self) -> Outcome {
        Err(CheckFailure(format!(
            "connection closed while waiting for the reply to {}",
            self.awaiting.name()
        )))
    }
}

/// What a complete reply to `command` means.
fn judge(command: Command, reply: Reply<'_>) -> Result<Next, CheckFailure> {
    match (command, reply) {
        (Command::Auth, Reply::Simple(b"OK")) => Ok(Next::Send(Command::Ping)),
        (Command::Ping, Reply::Simple(b"PONG")) => Ok(Next::Send(Command::Info)),
        (Command::Info, Reply::Bulk(Some(info))) => master(info).map(|()| Next::Quit),
        (_, Reply::Error(text)) => Err(CheckFailure(format!(
            "{}: {}",
            command.name(),
            printable(text)
        ))),
        (_, Reply::Simple(text)) => Err(CheckFailure(format!(
            "{}: unexpected reply +{}",
            command.name(),
            printable(text)
        ))),
        (_, Reply::Bulk(_)) => Err(CheckFailure(format!(
            "{}: unexpected bulk reply",
            command.name()
        ))),
    }
}

/// Passes when the `INFO replication` text has the line `role:master`; fails with the role
/// line otherwise (`role:slave`).
fn master(info: &[u8]) -> Result<(), CheckFailure> {
    let role = info
        .split(|&byte| byte == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .find(|line| line.starts_with(b"role:"));
    match role {
        Some(b"role:master") => Ok(()),
        Some(line) => Err(CheckFailure(printable(line))),
        None => Err(CheckFailure::new("INFO replication: no role line")),
    }
}

/// A command as a RESP array of bulk strings (safe for any password bytes).
fn encode(parts: &[&[u8]]) -> Vec<u8> {
    let mut command = format!("*{}\r\n", parts.len()).into_bytes();
    for part in parts {
        command.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        command.extend_from_slice(part);
        command.extend_from_slice(b"\r\n");
    }
    command
}
