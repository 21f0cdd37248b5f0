//! Arbitrary bytes in arbitrary chunks: no probe panics, every probe gives a verdict within
//! 64 KiB or at close, and no verdict but Redis's depends on the chunking.

use lb_core::model::{Check, CheckKind, HttpCheck, ScriptStep};
use lb_health::{MAX_RESPONSE_BYTES, Step, probe_for};
use proptest::prelude::*;

use crate::conversation::{check, converse, converse_whole, cut, cuts, server};

/// Bytes that look like the protocols often enough to reach deep states.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        prop::collection::vec(any::<u8>(), 1..8),
        prop::sample::select(vec![
            &b"HTTP/1.1 200 OK\r\n"[..],
            b"HTTP/1.0 503 x\n",
            b"Content-Length: 5\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"\r\n",
            b"\n",
            b"5\r\nhello\r\n",
            b"0\r\n\r\n",
            b"+OK\r\n",
            b"+PONG\r\n",
            b"-ERR no\r\n",
            b"$11\r\nrole:master\r\n",
            b"$-1\r\n",
            b"\x05\x00\x00\x00\x0a1.0\x00",
            b"\x07\x00\x00\x00\xff\x69\x04oops",
            b"role:master",
            b"220 ",
        ])
        .prop_map(<[u8]>::to_vec),
    ];
    prop::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

fn every_kind() -> Vec<Check> {
    vec![
        check(CheckKind::Tcp),
        check(CheckKind::Mysql),
        check(CheckKind::Http(HttpCheck::default())),
        check(CheckKind::Http(HttpCheck {
            body_contains: Some("hello".to_owned()),
            ..HttpCheck::default()
        })),
        check(CheckKind::Redis {
            password: Some("pw".to_owned()),
        }),
        check(CheckKind::Script(vec![
            ScriptStep::Expect(b"220 ".to_vec()),
            ScriptStep::Send(b"QUIT\r\n".to_vec()),
            ScriptStep::Expect(b"role:master".to_vec()),
        ])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn garbage_never_panics_and_always_ends_in_a_verdict(bytes in noise(), cuts in cuts(1)) {
        for check in every_kind() {
            let transcript = converse(&check, &[cut(&bytes, &cuts[0])], true);
            prop_assert!(transcript.verdict.is_some());
        }
    }

    #[test]
    fn all_but_redis_ignore_the_chunking_of_any_bytes(bytes in noise(), cuts in cuts(1), close: bool) {
        // Redis fails on bytes beyond the awaited reply, which depends on where reads end.
        let kinds = every_kind().into_iter().filter(|check| !matches!(check.kind, CheckKind::Redis { .. }));
        for check in kinds {
            let whole = converse_whole(&check, &[&bytes], close);
            prop_assert_eq!(converse(&check, &[cut(&bytes, &cuts[0])], close), whole);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn no_probe_reads_past_64_kib_without_a_verdict(filler in any::<u8>(), chunk in 1usize..20_000) {
        let endless = vec![filler; MAX_RESPONSE_BYTES + chunk];
        for check in every_kind() {
            let mut probe = probe_for(&check, server());
            let mut step = probe.start();
            for bytes in endless.chunks(chunk) {
                if matches!(step, Step::Done(_) | Step::SendAndPass(_)) {
                    break;
                }
                step = probe.on_bytes(bytes);
            }
            prop_assert!(matches!(step, Step::Done(_) | Step::SendAndPass(_)), "{:?} still reading", check.kind);
        }
    }
}
