use std::net::{IpAddr, Ipv4Addr};

use ring::hmac;

use super::handshake::direction_key;
use super::*;
use crate::cluster::replica::{Key, Update, Value, Version};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const NONCE_A: [u8; 16] = [0xa; 16];
const NONCE_B: [u8; 16] = [0xb; 16];
const NOW: u64 = 1_000_000;

/// Reads one whole event from `input`, which must hold exactly one frame.
fn one(session: &mut Session, input: &[u8]) -> Result<Event, Error> {
    let (event, used) = session.receive(input, NOW)?.expect("a whole frame");
    assert_eq!(used, input.len());
    Ok(event)
}

fn auth_of(event: Event) -> Vec<u8> {
    match event {
        Event::Hello { auth, .. } => auth,
        other => panic!("expected a HELLO, got {other:?}"),
    }
}

/// Two sessions `a` and `b` through their handshake, with the given secrets.
fn pair_with(secret_a: &[u8], secret_b: &[u8]) -> (Session, Session, Vec<u8>, Vec<u8>) {
    let (mut a, hello_a) = Session::new("a", secret_a, NONCE_A).expect("a valid name");
    let (mut b, hello_b) = Session::new("b", secret_b, NONCE_B).expect("a valid name");
    let auth_b = auth_of(one(&mut b, &hello_a).expect("a's hello"));
    let auth_a = auth_of(one(&mut a, &hello_b).expect("b's hello"));
    (a, b, auth_a, auth_b)
}

fn pair() -> (Session, Session) {
    let (mut a, mut b, auth_a, auth_b) = pair_with(SECRET, SECRET);
    assert_eq!(one(&mut b, &auth_a), Ok(Event::Authenticated));
    assert_eq!(one(&mut a, &auth_b), Ok(Event::Authenticated));
    (a, b)
}

fn update() -> Update {
    Update {
        key: Key::SourceIp {
            vip: "web".into(),
            client: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
        },
        version: Version {
            millis: 5,
            counter: 6,
            node: 7,
        },
        value: Value::SourceIp {
            server: "s1".into(),
            expires_at: NOW + 30_000,
        },
    }
}

/// A frame as `a` would send it to `b` after the handshake of [`pair`].
fn forged(kind: u8, seq: u64, payload: &[u8]) -> Vec<u8> {
    let secret = hmac::Key::new(hmac::HMAC_SHA256, SECRET);
    let key = direction_key(&secret, &NONCE_A, &NONCE_B, "a");
    let mut out = Vec::new();
    frame::write(&mut out, kind, seq, payload, Some(&key));
    out
}

#[test]
fn the_handshake_completes_and_messages_flow_both_ways() {
    let (mut a, mut b) = pair();
    assert!(a.is_authenticated() && b.is_authenticated());
    assert_eq!((a.peer(), b.peer()), (Some("b"), Some("a")));
    let message = Message::Updates(vec![update()]);
    let bytes = a.encode(&message, NOW).expect("encodable");
    assert_eq!(one(&mut b, &bytes), Ok(Event::Message(message)));
    let heartbeat = Message::Heartbeat {
        vips_held: vec!["web".into()],
        fingerprints: vec![("web".into(), [9; 32])],
    };
    let bytes = b.encode(&heartbeat, NOW).expect("encodable");
    assert_eq!(one(&mut a, &bytes), Ok(Event::Message(heartbeat)));
}

#[test]
fn a_hello_and_an_auth_in_one_buffer_are_read_one_at_a_time() {
    let (mut a, hello_a) = Session::new("a", SECRET, NONCE_A).expect("a valid name");
    let (mut b, hello_b) = Session::new("b", SECRET, NONCE_B).expect("a valid name");
    let (event, _) = a.receive(&hello_b, NOW).expect("valid").expect("whole");
    let mut input = hello_a.clone();
    input.extend_from_slice(&auth_of(event));
    let (event, used) = b.receive(&input, NOW).expect("valid").expect("whole");
    assert!(matches!(event, Event::Hello { ref peer, .. } if peer == "a"));
    assert_eq!(used, hello_a.len());
    assert!(!b.is_authenticated());
    assert_eq!(b.receive(&input[used..used + 3], NOW), Ok(None));
    assert_eq!(one(&mut b, &input[used..]), Ok(Event::Authenticated));
}

#[test]
fn a_wrong_secret_is_refused_on_both_sides() {
    let (mut a, mut b, auth_a, auth_b) = pair_with(SECRET, b"another secret");
    assert_eq!(one(&mut b, &auth_a), Err(Error::Authentication));
    assert_eq!(one(&mut a, &auth_b), Err(Error::Authentication));
    assert!(!a.is_authenticated() && !b.is_authenticated());
    let message = Message::SyncDone {
        entries: 0,
        digest: [0; 32],
    };
    assert_eq!(a.encode(&message, NOW), Err(Error::NotAuthenticated));
}

#[test]
fn a_long_secret_works() {
    let long = [7u8; 200];
    let (mut a, mut b, auth_a, auth_b) = pair_with(&long, &long);
    assert_eq!(one(&mut b, &auth_a), Ok(Event::Authenticated));
    assert_eq!(one(&mut a, &auth_b), Ok(Event::Authenticated));
}

#[test]
fn another_protocol_version_is_refused_naming_both() {
    let (_, mut hello) = Session::new("a", SECRET, NONCE_A).expect("a valid name");
    hello[17..19].copy_from_slice(&7u16.to_be_bytes());
    let (mut b, _) = Session::new("b", SECRET, NONCE_B).expect("a valid name");
    let refused = one(&mut b, &hello).unwrap_err();
    assert_eq!(refused, Error::Version { ours: 1, theirs: 7 });
    assert_eq!(
        refused.to_string(),
        "protocol version mismatch: this node speaks 1, the peer 7"
    );
}

#[test]
fn bad_hellos_are_refused() {
    let (mut b, _) = Session::new("b", SECRET, NONCE_B).expect("a valid name");
    let (_, same_name) = Session::new("b", SECRET, NONCE_A).expect("a valid name");
    assert!(matches!(one(&mut b, &same_name), Err(Error::Malformed(_))));
    let not_hello = forged(0x10, 0, b"");
    assert_eq!(
        one(&mut b, &not_hello),
        Err(Error::Malformed("expected a HELLO"))
    );
    let (_, mut tagged) = Session::new("a", SECRET, NONCE_A).expect("a valid name");
    let last = tagged.len() - 1;
    tagged[last] = 1;
    assert!(matches!(one(&mut b, &tagged), Err(Error::Malformed(_))));
    let mut garbage = vec![0, 0, 0, 40, 1];
    garbage.resize(44, 0);
    assert!(matches!(one(&mut b, &garbage), Err(Error::Malformed(_))));
    let too_long = ((MAX_HANDSHAKE_LENGTH + 1) as u32).to_be_bytes();
    let refused = b.receive(&too_long, NOW).unwrap_err();
    let expected = Error::TooLong {
        length: MAX_HANDSHAKE_LENGTH + 1,
        max: MAX_HANDSHAKE_LENGTH,
    };
    assert_eq!(refused, expected);
    assert!(Session::new("", SECRET, NONCE_A).is_err());
    assert!(Session::new(&"n".repeat(MAX_NAME + 1), SECRET, NONCE_A).is_err());
    assert!(Session::new(&"n".repeat(MAX_NAME), SECRET, NONCE_A).is_ok());
}

#[test]
fn replayed_dropped_and_foreign_frames_are_refused() {
    let (mut a, mut b) = pair();
    let message = Message::Updates(vec![update()]);
    let first = a.encode(&message, NOW).expect("encodable");
    let second = a.encode(&message, NOW).expect("encodable");
    let third = a.encode(&message, NOW).expect("encodable");
    assert!(one(&mut b, &first).is_ok());
    assert_eq!(one(&mut b, &first), Err(Error::Replay { seq: 2, last: 2 }));
    assert_eq!(
        one(&mut b, &third),
        Err(Error::Gap {
            seq: 4,
            expected: 3
        })
    );
    assert!(one(&mut b, &second).is_ok());
    assert!(one(&mut b, &third).is_ok());
    let (mut a2, mut b2) = pair_with_nonce([0xc; 16]);
    let from_earlier = first;
    assert_eq!(one(&mut b2, &from_earlier), Err(Error::Authentication));
    assert!(one(&mut b2, &a2.encode(&message, NOW).expect("encodable")).is_ok());
}

/// Like [`pair`], with another nonce for `a`.
fn pair_with_nonce(nonce_a: [u8; 16]) -> (Session, Session) {
    let (mut a, hello_a) = Session::new("a", SECRET, nonce_a).expect("a valid name");
    let (mut b, hello_b) = Session::new("b", SECRET, NONCE_B).expect("a valid name");
    let auth_b = auth_of(one(&mut b, &hello_a).expect("a's hello"));
    let auth_a = auth_of(one(&mut a, &hello_b).expect("b's hello"));
    assert_eq!(one(&mut b, &auth_a), Ok(Event::Authenticated));
    assert_eq!(one(&mut a, &auth_b), Ok(Event::Authenticated));
    (a, b)
}

#[test]
fn every_flipped_bit_of_an_authenticated_frame_is_refused() {
    let (mut a, _) = pair();
    let bytes = a
        .encode(&Message::Updates(vec![update()]), NOW)
        .expect("encodable");
    let mut padded = vec![0u8; MAX_FRAME_LENGTH + 4];
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        // The nonces are fixed: a fresh pair has the same keys and expects this frame.
        let (_, mut b) = pair();
        match b.receive(&flipped, NOW) {
            Err(_) => {}
            Ok(None) => {
                // A longer length: the frame is not complete yet; the bytes that follow end it.
                padded[..flipped.len()].copy_from_slice(&flipped);
                assert!(b.receive(&padded, NOW).is_err(), "bit {bit} accepted");
            }
            Ok(Some(event)) => panic!("bit {bit} flipped, still accepted: {event:?}"),
        }
    }
}

#[test]
fn unknown_types_are_skipped_when_ignorable_and_refused_otherwise() {
    let (_, mut b) = pair();
    let skipped = forged(IGNORABLE | 0x05, 2, b"from a newer node");
    assert_eq!(one(&mut b, &skipped), Ok(Event::Ignored(0x85)));
    assert_eq!(
        one(&mut b, &forged(0x30, 3, b"")),
        Err(Error::UnknownType(0x30))
    );
    let after_handshake = forged(0x01, 3, b"");
    assert!(matches!(
        one(&mut b, &after_handshake),
        Err(Error::Malformed(_))
    ));
    let trailing = forged(0x11, 3, &[0; 37]);
    assert!(matches!(one(&mut b, &trailing), Err(Error::Malformed(_))));
    let sync = forged(0x11, 3, &[0; 36]);
    let expected = Message::SyncDone {
        entries: 0,
        digest: [0; 32],
    };
    assert_eq!(one(&mut b, &sync), Ok(Event::Message(expected)));
}

#[test]
fn a_batch_too_big_for_one_frame_is_split_and_arrives_whole() {
    let (mut a, mut b) = pair();
    let many: Vec<Update> = (0..40_000u32)
        .map(|i| Update {
            key: Key::ServerState {
                vip: format!("vip-{i}"),
                server: "server".into(),
            },
            version: Version::default(),
            value: Value::Deleted,
        })
        .collect();
    let bytes = a
        .encode(&Message::Updates(many.clone()), NOW)
        .expect("encodable");
    let mut received = Vec::new();
    let mut frames = 0;
    let mut rest = &bytes[..];
    while let Some((event, used)) = b.receive(rest, NOW).expect("valid") {
        let Event::Message(Message::Updates(updates)) = event else {
            panic!("not updates");
        };
        received.extend(updates);
        frames += 1;
        rest = &rest[used..];
    }
    assert!(rest.is_empty());
    assert!(frames > 1);
    assert_eq!(received, many);
}

#[test]
fn a_heartbeat_too_big_for_a_frame_is_refused_before_sending() {
    let (mut a, _) = pair();
    let heartbeat = Message::Heartbeat {
        vips_held: vec!["v".repeat(60_000); 20],
        fingerprints: Vec::new(),
    };
    assert!(matches!(
        a.encode(&heartbeat, NOW),
        Err(Error::TooLong { .. })
    ));
    let too_long = Message::Updates(vec![Update {
        key: Key::LastSuccessful {
            vip: "v".repeat(70_000),
        },
        version: Version::default(),
        value: Value::Deleted,
    }]);
    assert!(matches!(a.encode(&too_long, NOW), Err(Error::Malformed(_))));
}
