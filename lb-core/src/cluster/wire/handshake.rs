//! The handshake's pieces: the HELLO payload, the direction keys and the AUTH proof.
//!
//! - HELLO payload: `magic "LBCL" | u16 version | node name | nonce[16]`. The magic and the
//!   version come first and are checked first, so a peer of another version is told so
//!   whatever the rest of its HELLO looks like.
//! - Direction key, sender to receiver: `HMAC-SHA256(secret, "lb-cluster v1 key" ‖ sender
//!   nonce ‖ receiver nonce ‖ sender name)`. Both nonces are fresh for each connection, so a
//!   frame from an earlier session never authenticates in a new one, and the two directions
//!   never share a key.
//! - AUTH payload: `HMAC-SHA256(secret, "lb-cluster v1 auth" ‖ sender HELLO payload ‖
//!   receiver HELLO payload)`, each payload preceded by its `u16` length: it proves the
//!   sender knows the secret and binds both HELLOs as they were received.

use ring::hmac;

use super::codec::{Reader, put_string};
use super::{Error, MAX_NAME, PROTOCOL_VERSION};

/// The first bytes of a HELLO payload.
const MAGIC: [u8; 4] = *b"LBCL";

/// The label that starts a direction key's input.
const KEY_LABEL: &[u8] = b"lb-cluster v1 key";

/// The label that starts an AUTH proof's input (not a prefix of [`KEY_LABEL`], nor it of this).
const AUTH_LABEL: &[u8] = b"lb-cluster v1 auth";

/// What a HELLO says.
#[derive(Debug)]
pub(super) struct Hello {
    pub(super) name: String,
    pub(super) nonce: [u8; 16],
}

/// The HELLO payload of a node.
pub(super) fn hello_payload(name: &str, nonce: &[u8; 16]) -> Result<Vec<u8>, Error> {
    check_name(name)?;
    let mut payload = Vec::with_capacity(4 + 2 + 2 + name.len() + 16);
    payload.extend_from_slice(&MAGIC);
    payload.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    put_string(&mut payload, name)?;
    payload.extend_from_slice(nonce);
    Ok(payload)
}

/// Reads a HELLO payload.
pub(super) fn parse_hello(payload: &[u8]) -> Result<Hello, Error> {
    let mut reader = Reader::new(payload);
    if reader.array::<4>() != Ok(MAGIC) {
        return Err(Error::Malformed("not an lb cluster peer: no LBCL magic"));
    }
    let theirs = reader.u16()?;
    if theirs != PROTOCOL_VERSION {
        return Err(Error::Version {
            ours: PROTOCOL_VERSION,
            theirs,
        });
    }
    let name = reader.string()?;
    check_name(&name)?;
    let nonce = reader.array()?;
    if !reader.is_empty() {
        return Err(Error::Malformed("bytes after the end of the HELLO"));
    }
    Ok(Hello { name, nonce })
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(Error::Malformed("node name empty or longer than 255 bytes"));
    }
    Ok(())
}

/// The key of the frames `sender_name` sends.
pub(super) fn direction_key(
    secret: &hmac::Key,
    sender_nonce: &[u8; 16],
    receiver_nonce: &[u8; 16],
    sender_name: &str,
) -> hmac::Key {
    let mut context = hmac::Context::with_key(secret);
    context.update(KEY_LABEL);
    context.update(sender_nonce);
    context.update(receiver_nonce);
    context.update(sender_name.as_bytes());
    hmac::Key::new(hmac::HMAC_SHA256, context.sign().as_ref())
}

/// The AUTH payload the sender of `sender_hello` sends to the sender of `receiver_hello`.
pub(super) fn proof(secret: &hmac::Key, sender_hello: &[u8], receiver_hello: &[u8]) -> Vec<u8> {
    let input = transcript(sender_hello, receiver_hello);
    hmac::sign(secret, &input).as_ref().to_vec()
}

/// Whether `proof` is the AUTH payload the sender of `sender_hello` owes; constant time.
pub(super) fn is_proof(
    secret: &hmac::Key,
    sender_hello: &[u8],
    receiver_hello: &[u8],
    proof: &[u8],
) -> bool {
    let input = transcript(sender_hello, receiver_hello);
    hmac::verify(secret, &input, proof).is_ok()
}

/// The transcript: both HELLO payloads, each preceded by its length (a HELLO is at most a few
/// hundred bytes, below the frame cap of unauthenticated frames).
fn transcript(sender_hello: &[u8], receiver_hello: &[u8]) -> Vec<u8> {
    let mut input =
        Vec::with_capacity(AUTH_LABEL.len() + 4 + sender_hello.len() + receiver_hello.len());
    input.extend_from_slice(AUTH_LABEL);
    for hello in [sender_hello, receiver_hello] {
        input.extend_from_slice(&(hello.len() as u16).to_be_bytes());
        input.extend_from_slice(hello);
    }
    input
}
