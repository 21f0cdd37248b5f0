#![no_main]
//! Fuzz target `cluster_wire`: bytes from the network into a cluster session of node `lb1`,
//! as if sent by its peer `lb2`. It must never panic, never claim more bytes than it was given
//! (nor none for an event), and every message it decodes must encode back to itself.
//!
//! The first byte chooses the mode; its bits 2-7 give the size of the chunks (1 to 64 bytes)
//! the rest is fed in, as a socket would deliver it:
//! - bit 1 clear, bit 0 clear: a fresh session: the input starts at the handshake. Both nodes'
//!   nonces are fixed, so the seeds hold `lb2`'s valid HELLO and AUTH and frames after them.
//! - bit 1 clear, bit 0 set: a handshake with `lb2` is completed first; the input is what
//!   follows it.
//! - bit 1 set: after the handshake, the input is a list of `type u8 | length u16 | payload`
//!   that the target frames and tags with `lb2`'s key, in sequence, so that arbitrary payloads
//!   reach the message decoders. Those frames must never fail authentication or sequencing:
//!   that would mean the key derivation below no longer matches the protocol's.

use lb_core::cluster::wire::{Error, Event, Message, Session};
use ring::hmac;

const SECRET: &[u8] = b"the fuzzed pair's shared secret";
const NOW: u64 = 1_700_000_000_000;
const LOCAL: (&str, [u8; 16]) = ("lb1", [1; 16]);
const PEER: (&str, [u8; 16]) = ("lb2", [2; 16]);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(mode >> 2) + 1;
    if mode & 0b11 == 0 {
        let (mut fresh, _) = Session::new(LOCAL.0, SECRET, LOCAL.1).expect("a valid name");
        let _ = feed(&mut fresh, input, chunk);
        return;
    }
    let (mut session, _) = open_pair();
    if mode & 0b10 == 0 {
        let _ = feed(&mut session, input, chunk);
    } else if let Err(error) = feed(&mut session, &signed_frames(input), chunk) {
        let expected = matches!(error, Error::Malformed(_) | Error::UnknownType(_));
        assert!(
            expected,
            "a frame tagged with the peer's key refused: {error}"
        );
    }
});

/// `lb1` and `lb2` through their handshake, as `(lb1, lb2)`.
fn open_pair() -> (Session, Session) {
    let (mut local, local_hello) = Session::new(LOCAL.0, SECRET, LOCAL.1).expect("a valid name");
    let (mut peer, peer_hello) = Session::new(PEER.0, SECRET, PEER.1).expect("a valid name");
    let local_auth = auth_for(&mut local, &peer_hello);
    let peer_auth = auth_for(&mut peer, &local_hello);
    for (session, auth) in [(&mut local, peer_auth), (&mut peer, local_auth)] {
        let event = session.receive(&auth, NOW);
        assert!(
            matches!(event, Ok(Some((Event::Authenticated, _)))),
            "{event:?}"
        );
    }
    (local, peer)
}

/// The AUTH `session` answers a valid HELLO with.
fn auth_for(session: &mut Session, hello: &[u8]) -> Vec<u8> {
    match session.receive(hello, NOW) {
        Ok(Some((Event::Hello { auth, .. }, _))) => auth,
        other => panic!("a valid HELLO refused: {other:?}"),
    }
}

/// Feeds `input` in chunks of `chunk` bytes until it ends or the session refuses it.
fn feed(session: &mut Session, input: &[u8], chunk: usize) -> Result<(), Error> {
    let mut buffer = Vec::new();
    for piece in input.chunks(chunk) {
        buffer.extend_from_slice(piece);
        while let Some((event, used)) = session.receive(&buffer, NOW)? {
            assert!(
                used > 0 && used <= buffer.len(),
                "{used} of {}",
                buffer.len()
            );
            buffer.drain(..used);
            if let Event::Message(message) = event {
                round_trip(&message);
            }
        }
    }
    Ok(())
}

/// A decoded message encodes back to itself, in one frame, through a fresh pair.
fn round_trip(message: &Message) {
    let (mut receiver, mut sender) = open_pair();
    let bytes = sender
        .encode(message, NOW)
        .expect("a decoded message encodes");
    match receiver.receive(&bytes, NOW) {
        Ok(Some((Event::Message(back), used))) => {
            assert_eq!(used, bytes.len());
            assert_eq!(&back, message);
        }
        other => panic!("an encoded message refused: {other:?}"),
    }
}

/// Frames `type | length | payload` records as the peer would after the handshake: sequence
/// numbers from 2 (its AUTH was 1), tagged with the peer-to-local key.
fn signed_frames(mut input: &[u8]) -> Vec<u8> {
    let secret = hmac::Key::new(hmac::HMAC_SHA256, SECRET);
    let mut context = hmac::Context::with_key(&secret);
    for part in [
        &b"lb-cluster v1 key"[..],
        &PEER.1,
        &LOCAL.1,
        PEER.0.as_bytes(),
    ] {
        context.update(part);
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, context.sign().as_ref());
    let mut out = Vec::new();
    let mut seq = 2u64;
    while let [kind, high, low, rest @ ..] = input {
        let length = usize::from(u16::from_be_bytes([*high, *low])).min(rest.len());
        let (payload, after) = rest.split_at(length);
        let mut body = vec![*kind];
        body.extend_from_slice(&seq.to_be_bytes());
        body.extend_from_slice(payload);
        let tag = hmac::sign(&key, &body);
        out.extend_from_slice(&((body.len() + 16) as u32).to_be_bytes());
        out.extend_from_slice(&body);
        out.extend_from_slice(&tag.as_ref()[..16]);
        seq += 1;
        input = after;
    }
    out
}
