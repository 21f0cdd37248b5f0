//! The messages exchanged once both nodes are authenticated, and their payloads.
//!
//! - `UPDATES` (0x10): `u32 count | update…` (see the codec). A batch too big for one frame
//!   is split over several frames, each arriving as its own [`Message::Updates`].
//! - `SYNC_DONE` (0x11): `u32 entries | digest[32]`.
//! - `HEARTBEAT` (0x12): `u32 count | vip…`, then `u32 count | (vip, fingerprint[32])…`.
//!
//! Types with the [`IGNORABLE`] bit (0x80) are skipped by a node that does not know them, so a
//! newer node may send new messages to an older one; any other unknown type is refused.

use super::Error;
use super::codec::{Reader, put_count, put_string, put_update};
use super::frame::MIN_LENGTH;
use crate::cluster::replica::Update;

/// The first message of each side: magic, protocol version, node name, nonce.
pub(super) const HELLO: u8 = 0x01;
/// The second message of each side: proof of the shared secret.
pub(super) const AUTH: u8 = 0x02;
const UPDATES: u8 = 0x10;
const SYNC_DONE: u8 = 0x11;
const HEARTBEAT: u8 = 0x12;

/// The bit of a message type that lets a node skip the type when it does not know it.
pub const IGNORABLE: u8 = 0x80;

/// A message between two authenticated nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Changes of replicated entries.
    Updates(Vec<Update>),
    /// The end of the snapshot a node sends when the link comes up.
    SyncDone {
        /// How many entries the snapshot held.
        entries: u32,
        /// The sender's table digest after the snapshot (see `Replica::digest`).
        digest: [u8; 32],
    },
    /// Sent periodically: what the sender holds and how it is configured.
    Heartbeat {
        /// The VIPs the sender holds.
        vips_held: Vec<String>,
        /// One configuration fingerprint per VIP.
        fingerprints: Vec<(String, [u8; 32])>,
    },
}

/// The frames of a message, as `(type, payload)`, each payload at most `max_payload` bytes.
pub(super) fn payloads(
    message: &Message,
    now_ms: u64,
    max_payload: usize,
) -> Result<Vec<(u8, Vec<u8>)>, Error> {
    let mut payload = Vec::new();
    let kind = match message {
        Message::Updates(updates) => return update_payloads(updates, now_ms, max_payload),
        Message::SyncDone { entries, digest } => {
            payload.extend_from_slice(&entries.to_be_bytes());
            payload.extend_from_slice(digest);
            SYNC_DONE
        }
        Message::Heartbeat {
            vips_held,
            fingerprints,
        } => {
            put_count(&mut payload, vips_held.len())?;
            for vip in vips_held {
                put_string(&mut payload, vip)?;
            }
            put_count(&mut payload, fingerprints.len())?;
            for (vip, fingerprint) in fingerprints {
                put_string(&mut payload, vip)?;
                payload.extend_from_slice(fingerprint);
            }
            HEARTBEAT
        }
    };
    if payload.len() > max_payload {
        return Err(too_long(payload.len(), max_payload));
    }
    Ok(vec![(kind, payload)])
}

/// Updates in as few frames as fit; one frame for an empty batch.
fn update_payloads(
    updates: &[Update],
    now_ms: u64,
    max_payload: usize,
) -> Result<Vec<(u8, Vec<u8>)>, Error> {
    let mut frames = Vec::new();
    let mut batch = Vec::new();
    let mut count = 0;
    let mut one = Vec::new();
    for update in updates {
        one.clear();
        put_update(&mut one, update, now_ms)?;
        if 4 + one.len() > max_payload {
            return Err(too_long(4 + one.len(), max_payload));
        }
        if 4 + batch.len() + one.len() > max_payload {
            frames.push((UPDATES, counted(count, &batch)?));
            batch.clear();
            count = 0;
        }
        batch.extend_from_slice(&one);
        count += 1;
    }
    if count > 0 || frames.is_empty() {
        frames.push((UPDATES, counted(count, &batch)?));
    }
    Ok(frames)
}

fn counted(count: usize, items: &[u8]) -> Result<Vec<u8>, Error> {
    let mut payload = Vec::with_capacity(4 + items.len());
    put_count(&mut payload, count)?;
    payload.extend_from_slice(items);
    Ok(payload)
}

/// The error for a payload of `payload` bytes, in frame lengths.
fn too_long(payload: usize, max_payload: usize) -> Error {
    Error::TooLong {
        length: MIN_LENGTH + payload,
        max: MIN_LENGTH + max_payload,
    }
}

/// The message of an authenticated frame; `None` for an unknown ignorable type.
pub(super) fn decode(kind: u8, payload: &[u8], now_ms: u64) -> Result<Option<Message>, Error> {
    let mut reader = Reader::new(payload);
    let message = match kind {
        UPDATES => {
            let count = reader.u32()?;
            let mut updates = Vec::new();
            for _ in 0..count {
                updates.push(reader.update(now_ms)?);
            }
            Message::Updates(updates)
        }
        SYNC_DONE => Message::SyncDone {
            entries: reader.u32()?,
            digest: reader.array()?,
        },
        HEARTBEAT => {
            let mut vips_held = Vec::new();
            for _ in 0..reader.u32()? {
                vips_held.push(reader.string()?);
            }
            let mut fingerprints = Vec::new();
            for _ in 0..reader.u32()? {
                fingerprints.push((reader.string()?, reader.array()?));
            }
            Message::Heartbeat {
                vips_held,
                fingerprints,
            }
        }
        HELLO | AUTH => return Err(Error::Malformed("handshake message after the handshake")),
        _ if kind & IGNORABLE != 0 => return Ok(None),
        _ => return Err(Error::UnknownType(kind)),
    };
    if !reader.is_empty() {
        return Err(Error::Malformed("bytes after the end of the message"));
    }
    Ok(Some(message))
}
