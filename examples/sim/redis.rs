//! A minimal Redis responder speaking RESP: `PING` → `+PONG`, `AUTH` → `+OK`,
//! `INFO [section]` → a bulk string with `role:master` or `role:slave` and a
//! `demo_controller:<name>` line, `QUIT` → `+OK` then close; anything else → `-ERR`.
//! Accepts RESP arrays and inline commands, at most 64 KiB pending.

use std::sync::atomic::Ordering;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Session;

const MAX_PENDING: usize = 64 * 1024;

pub(super) async fn serve(mut stream: TcpStream, session: &Session) -> std::io::Result<()> {
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some((command, used)) = parse_command(&pending) {
            pending.drain(..used);
            let name = command
                .first()
                .map(|c| c.to_ascii_uppercase())
                .unwrap_or_default();
            let reply = match name.as_slice() {
                b"PING" => "+PONG\r\n".to_owned(),
                b"AUTH" => "+OK\r\n".to_owned(),
                b"INFO" => bulk(&info(session)),
                b"QUIT" => {
                    stream.write_all(b"+OK\r\n").await?;
                    return stream.shutdown().await;
                }
                _ => "-ERR unknown command\r\n".to_owned(),
            };
            stream.write_all(reply.as_bytes()).await?;
        }
        if pending.len() > MAX_PENDING {
            return Err(std::io::Error::other("command too large"));
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(());
        }
        pending.extend_from_slice(&chunk[..read]);
    }
}

fn info(session: &Session) -> String {
    let role = if session.roles.redis_master.load(Ordering::SeqCst) {
        "master"
    } else {
        "slave"
    };
    format!(
        "# Replication\r\nrole:{role}\r\ndemo_controller:{}\r\n",
        session.controller
    )
}

fn bulk(text: &str) -> String {
    format!("${}\r\n{text}\r\n", text.len())
}

/// Parses one command from the front of `input`: its arguments and the bytes it used.
fn parse_command(input: &[u8]) -> Option<(Vec<Vec<u8>>, usize)> {
    let line_end = input.windows(2).position(|w| w == b"\r\n")?;
    let line = &input[..line_end];
    let Some(count) = line.strip_prefix(b"*") else {
        let words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
        return Some((words.map(<[u8]>::to_vec).collect(), line_end + 2));
    };
    let count: usize = std::str::from_utf8(count).ok()?.parse().ok()?;
    let mut at = line_end + 2;
    let mut arguments = Vec::with_capacity(count.min(16));
    for _ in 0..count {
        let rest = &input[at..];
        let header_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let length: usize = std::str::from_utf8(rest.strip_prefix(b"$")?.get(..header_end - 1)?)
            .ok()?
            .parse()
            .ok()?;
        let start = at + header_end + 2;
        let end = start.checked_add(length)?;
        if input.len() < end + 2 {
            return None;
        }
        arguments.push(input[start..end].to_vec());
        at = end + 2;
    }
    Some((arguments, at))
}
