//! Property tests of the cluster wire protocol (`lb_core::cluster::wire`): any messages,
//! encoded by one node and cut at any points on the way, handshake included, decode to the
//! same messages on the other; a wrong secret is refused, a replayed frame is refused, and a
//! frame with any one bit flipped is never accepted.

use std::net::IpAddr;

use lb_core::cluster::replica::{Key, Update, Value, Version};
use lb_core::cluster::wire::{Error, Event, MAX_FRAME_LENGTH, Message, Session};
use lb_core::model::{AdminState, MAX_WEIGHT};
use proptest::prelude::*;

const SECRET: &[u8] = b"a shared secret of the pair, 32b";
const NOW: u64 = 1_700_000_000_000;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn name() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        name().prop_map(|vip| Key::LastSuccessful { vip }),
        (name(), any::<IpAddr>()).prop_map(|(vip, client)| Key::SourceIp { vip, client }),
        (name(), name()).prop_map(|(vip, server)| Key::ServerState { vip, server }),
    ]
}

/// A value of `key`'s table or a delete; source-ip expiry not before [`NOW`], since the
/// remaining time cannot be negative on the wire.
fn value(key: &Key) -> BoxedStrategy<Value> {
    let live = match key {
        Key::LastSuccessful { .. } => name().prop_map(Value::Server).boxed(),
        Key::SourceIp { .. } => (name(), NOW..)
            .prop_map(|(server, expires_at)| Value::SourceIp { server, expires_at })
            .boxed(),
        Key::ServerState { .. } => {
            let state = prop_oneof![
                Just(AdminState::Ready),
                Just(AdminState::Drain),
                Just(AdminState::Maintenance)
            ];
            (state, 0..=MAX_WEIGHT)
                .prop_map(|(state, weight)| Value::ServerState { state, weight })
                .boxed()
        }
    };
    prop_oneof![1 => Just(Value::Deleted), 4 => live].boxed()
}

fn update() -> impl Strategy<Value = Update> {
    let version = (any::<u64>(), any::<u32>(), any::<u64>());
    (key(), version)
        .prop_flat_map(|(key, version)| (Just(key.clone()), Just(version), value(&key)))
        .prop_map(|(key, (millis, counter, node), value)| Update {
            key,
            version: Version {
                millis,
                counter,
                node,
            },
            value,
        })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        prop::collection::vec(update(), 0..8).prop_map(Message::Updates),
        (any::<u32>(), any::<[u8; 32]>())
            .prop_map(|(entries, digest)| Message::SyncDone { entries, digest }),
        (
            prop::collection::vec(name(), 0..4),
            prop::collection::vec((name(), any::<[u8; 32]>()), 0..4),
        )
            .prop_map(|(vips_held, fingerprints)| Message::Heartbeat {
                vips_held,
                fingerprints,
            }),
    ]
}

/// The one event of a buffer holding exactly one frame.
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

/// Node `a` authenticated to node `b`, `b` not started: `a`'s HELLO and AUTH (what `b` must
/// receive), and a fresh `b` that will accept them.
fn half_open(nonce_a: [u8; 16], nonce_b: [u8; 16]) -> (Session, Vec<u8>, Session) {
    let (mut a, hello_a) = Session::new("a", SECRET, nonce_a).expect("a valid name");
    let (mut b, hello_b) = Session::new("b", SECRET, nonce_b).expect("a valid name");
    let auth_b = auth_of(one(&mut b, &hello_a).expect("a's hello"));
    let auth_a = auth_of(one(&mut a, &hello_b).expect("b's hello"));
    assert_eq!(one(&mut a, &auth_b), Ok(Event::Authenticated));
    let (fresh_b, _) = Session::new("b", SECRET, nonce_b).expect("a valid name");
    let mut stream = hello_a;
    stream.extend_from_slice(&auth_a);
    (a, stream, fresh_b)
}

proptest! {
    #![proptest_config(config(256))]

    /// Whatever the messages and wherever the stream is cut, `b` reads `a`'s HELLO, AUTH and
    /// then exactly the messages `a` encoded.
    #[test]
    fn messages_round_trip_whatever_the_cuts(
        messages in prop::collection::vec(message(), 0..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        nonces in any::<([u8; 16], [u8; 16])>(),
    ) {
        let (mut a, mut stream, mut b) = half_open(nonces.0, nonces.1);
        for message in &messages {
            stream.extend(a.encode(message, NOW).expect("encodable"));
        }
        let mut ends: Vec<usize> = cuts.iter().map(|cut| cut.index(stream.len() + 1)).collect();
        ends.push(stream.len());
        ends.sort_unstable();
        let mut events = Vec::new();
        let mut buffer = Vec::new();
        let mut start = 0;
        for end in ends {
            buffer.extend_from_slice(&stream[start..end]);
            start = end;
            while let Some((event, used)) = b.receive(&buffer, NOW).expect("valid") {
                prop_assert!(used > 0 && used <= buffer.len());
                buffer.drain(..used);
                events.push(event);
            }
        }
        prop_assert!(buffer.is_empty());
        prop_assert_eq!(events.len(), messages.len() + 2);
        let hello_from_a = matches!(&events[0], Event::Hello { peer, .. } if peer == "a");
        prop_assert!(hello_from_a, "first event {:?}", events[0]);
        prop_assert_eq!(&events[1], &Event::Authenticated);
        let received: Vec<Message> = events
            .into_iter()
            .skip(2)
            .map(|event| match event {
                Event::Message(message) => message,
                other => panic!("not a message: {other:?}"),
            })
            .collect();
        prop_assert_eq!(received, messages);
    }

    /// Two nodes with different secrets never authenticate each other.
    #[test]
    fn a_wrong_secret_is_refused(other in prop::collection::vec(any::<u8>(), 0..80)) {
        prop_assume!(other != SECRET);
        let (mut a, hello_a) = Session::new("a", SECRET, [1; 16]).expect("a valid name");
        let (mut b, hello_b) = Session::new("b", &other, [2; 16]).expect("a valid name");
        let auth_b = auth_of(one(&mut b, &hello_a).expect("a's hello"));
        let auth_a = auth_of(one(&mut a, &hello_b).expect("b's hello"));
        prop_assert_eq!(one(&mut a, &auth_b), Err(Error::Authentication));
        prop_assert_eq!(one(&mut b, &auth_a), Err(Error::Authentication));
    }

    /// Any frame delivered a second time is refused as a replay, and the session goes on.
    #[test]
    fn a_replayed_frame_is_refused(
        messages in prop::collection::vec(message(), 1..6),
        replayed in any::<prop::sample::Index>(),
    ) {
        let (mut a, stream, mut b) = half_open([1; 16], [2; 16]);
        let mut rest = &stream[..];
        while let Some((_, used)) = b.receive(rest, NOW).expect("handshake") {
            rest = &rest[used..];
        }
        let frames: Vec<Vec<u8>> = messages
            .iter()
            .map(|message| a.encode(message, NOW).expect("encodable"))
            .collect();
        let replayed = replayed.index(frames.len());
        for frame in &frames[..=replayed] {
            prop_assert!(matches!(one(&mut b, frame), Ok(Event::Message(_))));
        }
        let last = replayed as u64 + 2;
        let refused = one(&mut b, &frames[replayed]);
        prop_assert_eq!(refused, Err(Error::Replay { seq: last, last }));
        for frame in &frames[replayed + 1..] {
            prop_assert!(matches!(one(&mut b, frame), Ok(Event::Message(_))));
        }
    }

    /// A frame with any one bit flipped (tag, header, length or payload) is never accepted:
    /// refused at once, or, when its length grew, refused once the bytes that follow come.
    #[test]
    fn a_flipped_bit_is_refused(message in message(), bit in any::<prop::sample::Index>()) {
        let (mut a, stream, mut b) = half_open([1; 16], [2; 16]);
        let mut rest = &stream[..];
        while let Some((_, used)) = b.receive(rest, NOW).expect("handshake") {
            rest = &rest[used..];
        }
        let mut frame = a.encode(&message, NOW).expect("encodable");
        let bit = bit.index(frame.len() * 8);
        frame[bit / 8] ^= 1 << (bit % 8);
        match b.receive(&frame, NOW) {
            Err(_) => {}
            Ok(None) => {
                frame.resize(MAX_FRAME_LENGTH + 4, 0);
                prop_assert!(b.receive(&frame, NOW).is_err());
            }
            Ok(Some((event, _))) => prop_assert!(false, "accepted: {:?}", event),
        }
    }
}
