//! The PROXY protocol (versions 1 and 2) as a pure codec: a header that tells a server the
//! addresses of the client connection a proxy accepted.
//!
//! [`decode`] reads a header at the start of a byte buffer: it answers [`Decoded::NeedMore`]
//! while the buffer is a strict prefix of a possible header, the header and its length once
//! complete, and an error for anything else. [`encode`] writes one. Bytes after the header are
//! never looked at: they are the client's data.
//!
//! Limits: a v1 header is at most [`V1_MAX_LENGTH`] (107) bytes, as the specification says; a
//! v2 header at most [`V2_MAX_LENGTH`] (16 + 2048) bytes, TLVs included (TLVs are skipped).
//! Headers that carry no usable address (v1 `UNKNOWN`, v2 `LOCAL`, v2 `UNSPEC` or `UNIX`)
//! decode as [`Header::Local`]: the connection's own addresses stand.

mod v1;
mod v2;

use std::net::SocketAddr;

use crate::model::ProxyVersion;

pub use v1::V1_MAX_LENGTH;
pub use v2::V2_MAX_LENGTH;

/// What a PROXY header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Header {
    /// The connection was proxied for this client.
    Proxied {
        /// The client's address.
        source: SocketAddr,
        /// The address the client connected to.
        destination: SocketAddr,
    },
    /// No address is conveyed (health checks, unknown families): use the connection's own.
    Local,
}

/// The outcome of [`decode`] on the start of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// A whole header, `length` bytes long; the client's data starts after it.
    Complete {
        /// What the header says.
        header: Header,
        /// Its length in bytes.
        length: usize,
    },
    /// The input is a strict prefix of a possible header: read more and call again.
    NeedMore,
}

/// Why the start of a stream is not a PROXY header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input starts with neither the v1 nor the v2 signature.
    #[error("no PROXY protocol signature")]
    NotProxy,
    /// A v1 header is malformed.
    #[error("malformed PROXY v1 header: {0}")]
    V1(&'static str),
    /// A v2 header is malformed.
    #[error("malformed PROXY v2 header: {0}")]
    V2(&'static str),
}

/// Reads a PROXY header (either version) at the start of `input`.
pub fn decode(input: &[u8]) -> Result<Decoded, DecodeError> {
    if v2::starts_like(input) {
        v2::decode(input)
    } else if v1::starts_like(input) {
        v1::decode(input)
    } else {
        Err(DecodeError::NotProxy)
    }
}

/// Appends the `version` header for `header` to `out`. A `Proxied` header whose two addresses
/// are of different families is written with both as IPv6 (IPv4-mapped).
pub fn encode(version: ProxyVersion, header: &Header, out: &mut Vec<u8>) {
    let header = same_family(header);
    match version {
        ProxyVersion::V1 => v1::encode(&header, out),
        ProxyVersion::V2 => v2::encode(&header, out),
    }
}

/// `header` with both addresses in one family: IPv6 when they differ.
fn same_family(header: &Header) -> Header {
    match *header {
        Header::Proxied {
            source,
            destination,
        } if source.is_ipv4() != destination.is_ipv4() => Header::Proxied {
            source: as_ipv6(source),
            destination: as_ipv6(destination),
        },
        other => other,
    }
}

fn as_ipv6(address: SocketAddr) -> SocketAddr {
    match address {
        SocketAddr::V4(v4) => SocketAddr::new(v4.ip().to_ipv6_mapped().into(), v4.port()),
        v6 => v6,
    }
}

#[cfg(test)]
mod tests;
