//! PROXY protocol v2: a 16-byte binary preamble (signature, version and command, family and
//! transport, payload length) followed by the addresses and optional TLVs.
//!
//! Read: `LOCAL` and the `UNSPEC` and `UNIX` families give [`Header::Local`]; `INET` and
//! `INET6` give the addresses whatever the transport; TLVs are skipped. Written: `PROXY` over
//! `STREAM` with no TLV, or `LOCAL` with no payload.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{DecodeError, Decoded, Header};

/// The longest v2 header accepted: the preamble and 2 KiB of addresses and TLVs.
pub const V2_MAX_LENGTH: usize = PREAMBLE + 2048;

pub(super) const SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
const PREAMBLE: usize = 16;
const VERSION: u8 = 0x20;
const COMMAND_LOCAL: u8 = 0x00;
const COMMAND_PROXY: u8 = 0x01;
const FAMILY_INET_STREAM: u8 = 0x11;
const FAMILY_INET6_STREAM: u8 = 0x21;
const FAMILY_UNSPEC: u8 = 0x00;
const INET_LENGTH: usize = 12;
const INET6_LENGTH: usize = 36;

/// Whether `input` starts with (a prefix of) the v2 signature.
pub(super) fn starts_like(input: &[u8]) -> bool {
    let common = input.len().min(SIGNATURE.len());
    !input.is_empty() && input[..common] == SIGNATURE[..common]
}

pub(super) fn decode(input: &[u8]) -> Result<Decoded, DecodeError> {
    let Some(preamble) = input.get(..PREAMBLE) else {
        return Ok(Decoded::NeedMore);
    };
    if preamble[12] & 0xf0 != VERSION {
        return Err(DecodeError::V2("unsupported version"));
    }
    let command = preamble[12] & 0x0f;
    if command != COMMAND_LOCAL && command != COMMAND_PROXY {
        return Err(DecodeError::V2("unknown command"));
    }
    let length = PREAMBLE + usize::from(u16::from_be_bytes([preamble[14], preamble[15]]));
    if length > V2_MAX_LENGTH {
        return Err(DecodeError::V2("longer than 2064 bytes"));
    }
    let Some(payload) = input.get(PREAMBLE..length) else {
        return Ok(Decoded::NeedMore);
    };
    let header = if command == COMMAND_LOCAL {
        Header::Local
    } else {
        addresses(preamble[13], payload)?
    };
    Ok(Decoded::Complete { header, length })
}

fn addresses(family: u8, payload: &[u8]) -> Result<Header, DecodeError> {
    let short = DecodeError::V2("payload shorter than its addresses");
    let header = match family >> 4 {
        0x1 => {
            let block = payload.get(..INET_LENGTH).ok_or(short)?;
            let ip = |at: usize| IpAddr::V4(Ipv4Addr::from(be::<4>(block, at)));
            proxied(ip(0), ip(4), block, 8)
        }
        0x2 => {
            let block = payload.get(..INET6_LENGTH).ok_or(short)?;
            let ip = |at: usize| IpAddr::V6(Ipv6Addr::from(be::<16>(block, at)));
            proxied(ip(0), ip(16), block, 32)
        }
        0x0 | 0x3 => Header::Local,
        _ => return Err(DecodeError::V2("unknown address family")),
    };
    Ok(header)
}

fn proxied(source: IpAddr, destination: IpAddr, block: &[u8], ports_at: usize) -> Header {
    let port = |at: usize| u16::from_be_bytes(be::<2>(block, at));
    Header::Proxied {
        source: SocketAddr::new(source, port(ports_at)),
        destination: SocketAddr::new(destination, port(ports_at + 2)),
    }
}

/// `N` bytes of `block` from `at`; the caller checked the length.
fn be<const N: usize>(block: &[u8], at: usize) -> [u8; N] {
    let mut bytes = [0; N];
    bytes.copy_from_slice(&block[at..at + N]);
    bytes
}

/// Writes `header` (whose addresses share one family) as a v2 header.
pub(super) fn encode(header: &Header, out: &mut Vec<u8>) {
    out.extend_from_slice(&SIGNATURE);
    match header {
        Header::Local => out.extend_from_slice(&[VERSION | COMMAND_LOCAL, FAMILY_UNSPEC, 0, 0]),
        Header::Proxied {
            source,
            destination,
        } => {
            let (family, length) = match source {
                SocketAddr::V4(_) => (FAMILY_INET_STREAM, INET_LENGTH),
                SocketAddr::V6(_) => (FAMILY_INET6_STREAM, INET6_LENGTH),
            };
            out.push(VERSION | COMMAND_PROXY);
            out.push(family);
            out.extend_from_slice(&(length as u16).to_be_bytes());
            for address in [source, destination] {
                match address.ip() {
                    IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
                    IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
                }
            }
            out.extend_from_slice(&source.port().to_be_bytes());
            out.extend_from_slice(&destination.port().to_be_bytes());
        }
    }
}
