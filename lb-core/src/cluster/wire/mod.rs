//! The wire protocol between the two nodes of a pair, as a sans-I/O codec and session.
//!
//! Over one TCP connection each way of which is a stream of frames
//! (`u32 length | u8 type | u64 seq | payload | tag[16]`):
//!
//! 1. Each side sends a HELLO (magic `LBCL`, [`PROTOCOL_VERSION`], node name, a fresh 16-byte
//!    nonce), unauthenticated, with sequence number 0. A peer of another version is refused
//!    with [`Error::Version`], naming both.
//! 2. Each side derives one key per direction from the shared secret, both nonces and the
//!    sender's name, and sends an AUTH: an HMAC of both HELLOs under the secret, in a frame
//!    tagged with its sending key. A wrong secret fails with [`Error::Authentication`].
//! 3. Then [`Message`]s flow: updates, the end of the snapshot sent at connect, heartbeats.
//!
//! Every frame after the HELLO is tagged (HMAC-SHA256 truncated to 16 bytes) with its
//! direction's key, and its sequence number must be the last one accepted plus one: a replay
//! fails with [`Error::Replay`], a dropped frame with [`Error::Gap`], a frame from an earlier
//! connection (other nonces, other keys) or altered in any bit with [`Error::Authentication`].
//! The frames are authenticated, not encrypted.
//!
//! Limits: a frame's length field is at most [`MAX_FRAME_LENGTH`] (1 MiB), and at most
//! [`MAX_HANDSHAKE_LENGTH`] (1 KiB) before the peer is authenticated; a longer one is refused
//! as soon as its length is read, before anything is buffered for it. Node names are 1 to
//! [`MAX_NAME`] (255) bytes, other names at most 65535.

mod codec;
mod frame;
mod handshake;
mod message;
mod session;

pub use message::{IGNORABLE, Message};
pub use session::{Event, Session};

/// The protocol version this node speaks; a peer must speak the same.
pub const PROTOCOL_VERSION: u16 = 1;

/// The most a frame's length field may say once the peer is authenticated.
pub const MAX_FRAME_LENGTH: usize = 1 << 20;

/// The most a frame's length field may say during the handshake.
pub const MAX_HANDSHAKE_LENGTH: usize = 1024;

/// The longest node name, in bytes.
pub const MAX_NAME: usize = 255;

/// Why a session refused its input or a message; the connection is to be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A tag or the AUTH proof is wrong: another secret, an altered frame, or a frame of
    /// another connection.
    #[error("authentication failed: wrong secret, altered frame or frame of another session")]
    Authentication,
    /// A frame's sequence number is not above the last one accepted.
    #[error("replayed frame: sequence number {seq}, last accepted {last}")]
    Replay {
        /// The frame's sequence number.
        seq: u64,
        /// The last sequence number accepted.
        last: u64,
    },
    /// A frame's sequence number skips frames: some were dropped on the way.
    #[error("frame missing: sequence number {seq}, expected {expected}")]
    Gap {
        /// The frame's sequence number.
        seq: u64,
        /// The sequence number due.
        expected: u64,
    },
    /// A frame's length is above the cap (or a message too big to send).
    #[error("frame of {length} bytes, more than the {max} allowed")]
    TooLong {
        /// The frame's length field.
        length: usize,
        /// The cap at this point of the session.
        max: usize,
    },
    /// A frame or message is not well formed, or comes at the wrong point of the handshake.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// The peer speaks another protocol version.
    #[error("protocol version mismatch: this node speaks {ours}, the peer {theirs}")]
    Version {
        /// This node's version.
        ours: u16,
        /// The peer's version.
        theirs: u16,
    },
    /// An authenticated frame of an unknown type without the ignorable bit.
    #[error("unknown message type {0:#04x}")]
    UnknownType(u8),
    /// A message was to be sent before the peer was authenticated.
    #[error("the peer is not authenticated yet")]
    NotAuthenticated,
}

#[cfg(test)]
mod tests;
