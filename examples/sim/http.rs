//! A minimal HTTP/1.1 responder: reads request heads (keep-alive, at most 16 KiB each) and
//! answers each with `200` and `<controller> <service>`; the clustercheck variant answers 200
//! or 503 from the Galera switch.

use std::sync::atomic::Ordering;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Session;

const MAX_HEAD: usize = 16 * 1024;

/// Serves an API: `200 <controller> <service>` to every request.
pub(super) async fn serve_api(stream: TcpStream, session: &Session) -> std::io::Result<()> {
    serve(stream, |_| {
        (200, format!("{} {}\n", session.controller, session.service))
    })
    .await
}

/// Serves Galera's clustercheck: 200 while synced, 503 otherwise.
pub(super) async fn serve_clustercheck(
    stream: TcpStream,
    session: &Session,
) -> std::io::Result<()> {
    serve(stream, |_| {
        if session.roles.galera_synced.load(Ordering::SeqCst) {
            (200, "Galera cluster node is synced.\n".to_owned())
        } else {
            (503, "Galera cluster node is not synced.\n".to_owned())
        }
    })
    .await
}

async fn serve(
    mut stream: TcpStream,
    respond: impl Fn(&[u8]) -> (u16, String),
) -> std::io::Result<()> {
    let mut buffer = Vec::with_capacity(1024);
    loop {
        let Some(head_end) = read_head(&mut stream, &mut buffer).await? else {
            return Ok(());
        };
        let head: Vec<u8> = buffer.drain(..head_end).collect();
        let (status, body) = respond(&head);
        let reason = if status == 200 {
            "OK"
        } else {
            "Service Unavailable"
        };
        let request_line = head.split(|&b| b == b'\r').next().unwrap_or_default();
        let close = request_line.ends_with(b"HTTP/1.0")
            || head
                .windows(17)
                .any(|w| w.eq_ignore_ascii_case(b"connection: close"));
        let response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n{body}",
            body.len(),
            if close { "Connection: close\r\n" } else { "" },
        );
        stream.write_all(response.as_bytes()).await?;
        if close {
            return stream.shutdown().await;
        }
    }
}

/// Reads until a full head is buffered; returns its length, or `None` at a clean EOF.
async fn read_head(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Some(end + 4));
        }
        if buffer.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        let mut chunk = [0u8; 2048];
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
}
