//! PROXY protocol v1: one text line, `PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n`.
//!
//! Strict reading: single spaces, the address family matching the keyword, decimal ports
//! without sign. A line longer than 107 bytes is refused.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{DecodeError, Decoded, Header};

/// The longest v1 header, CRLF included.
pub const V1_MAX_LENGTH: usize = 107;

const PREFIX: &[u8] = b"PROXY ";

/// Whether `input` starts with (a prefix of) `PROXY `.
pub(super) fn starts_like(input: &[u8]) -> bool {
    let common = input.len().min(PREFIX.len());
    input[..common] == PREFIX[..common]
}

pub(super) fn decode(input: &[u8]) -> Result<Decoded, DecodeError> {
    let window = &input[..input.len().min(V1_MAX_LENGTH)];
    let Some(end) = window.windows(2).position(|pair| pair == b"\r\n") else {
        return if input.len() >= V1_MAX_LENGTH {
            Err(DecodeError::V1("no CRLF within 107 bytes"))
        } else if window.contains(&b'\n') {
            Err(DecodeError::V1("bare line feed"))
        } else {
            Ok(Decoded::NeedMore)
        };
    };
    let line =
        std::str::from_utf8(&input[PREFIX.len()..end]).map_err(|_| DecodeError::V1("not ASCII"))?;
    Ok(Decoded::Complete {
        header: parse_line(line)?,
        length: end + 2,
    })
}

fn parse_line(line: &str) -> Result<Header, DecodeError> {
    let mut fields = line.split(' ');
    let family = fields.next().unwrap_or_default();
    if family == "UNKNOWN" {
        return Ok(Header::Local);
    }
    let [source, destination, source_port, destination_port] =
        [(); 4].map(|()| fields.next().unwrap_or_default());
    if fields.next().is_some() {
        return Err(DecodeError::V1("too many fields"));
    }
    let address = |text: &str| -> Result<IpAddr, DecodeError> {
        match family {
            "TCP4" => text.parse::<Ipv4Addr>().map(IpAddr::V4),
            "TCP6" => text.parse::<Ipv6Addr>().map(IpAddr::V6),
            _ => return Err(DecodeError::V1("unknown protocol")),
        }
        .map_err(|_| DecodeError::V1("bad address"))
    };
    Ok(Header::Proxied {
        source: SocketAddr::new(address(source)?, port(source_port)?),
        destination: SocketAddr::new(address(destination)?, port(destination_port)?),
    })
}

fn port(text: &str) -> Result<u16, DecodeError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::V1("bad port"));
    }
    text.parse().map_err(|_| DecodeError::V1("bad port"))
}

/// Writes `header` (whose addresses share one family) as a v1 line.
pub(super) fn encode(header: &Header, out: &mut Vec<u8>) {
    let start = out.len();
    let written = match header {
        Header::Local => out.write_all(b"PROXY UNKNOWN\r\n"),
        Header::Proxied {
            source,
            destination,
        } => {
            let family = if source.is_ipv4() { "TCP4" } else { "TCP6" };
            write!(
                out,
                "PROXY {family} {} {} {} {}\r\n",
                source.ip(),
                destination.ip(),
                source.port(),
                destination.port()
            )
        }
    };
    debug_assert!(written.is_ok(), "writing to a Vec cannot fail");
    debug_assert!(out.len() - start <= V1_MAX_LENGTH);
}
