//! The send/expect script check.

use lb_core::model::{CheckKind, ScriptStep};
use proptest::prelude::*;

use crate::conversation::{check, converse_whole, cuts, same_in_any_chunking};

fn script(steps: &[(&str, &[u8])]) -> lb_core::model::Check {
    let steps = steps
        .iter()
        .map(|(kind, bytes)| match *kind {
            "send" => ScriptStep::Send(bytes.to_vec()),
            _ => ScriptStep::Expect(bytes.to_vec()),
        })
        .collect();
    check(CheckKind::Script(steps))
}

/// An SMTP greeting and `QUIT`, as a mail relay behind the balancer would be checked.
fn smtp() -> lb_core::model::Check {
    script(&[
        ("expect", b"220 "),
        ("send", b"QUIT\r\n"),
        ("expect", b"221"),
    ])
}

const BANNER: &[u8] = b"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n";
const BYE: &[u8] = b"221 2.0.0 Bye\r\n";

#[test]
fn steps_run_in_order() {
    let transcript = converse_whole(&smtp(), &[BANNER, BYE], false);
    assert_eq!(transcript.verdict, Some(Ok(())));
    assert_eq!(transcript.sent, b"QUIT\r\n");
}

#[test]
fn an_expect_searches_what_arrived_after_the_previous_match() {
    let transcript = converse_whole(&smtp(), &[BANNER], false);
    assert_eq!(transcript.sent, b"QUIT\r\n");
    assert_eq!(transcript.verdict, None, "the 220 banner holds no 221");
    assert_eq!(
        converse_whole(&smtp(), &[BANNER], true).failure(),
        "connection closed while expecting \"221\" (received \"mail.example.com ESMTP Postfix (Debian/GNU)\\r\\n\")"
    );
    let reply_before_banner_end: &[u8] = b"220 relay ready\r\n221 bye\r\n";
    assert_eq!(
        converse_whole(&smtp(), &[reply_before_banner_end], false).verdict,
        Some(Ok(()))
    );
}

#[test]
fn consecutive_expects_share_one_read_and_consecutive_sends_go_together() {
    let check = script(&[
        ("send", b"PING\r\n"),
        ("send", b"INFO\r\n"),
        ("expect", b"+PONG"),
        ("expect", b"role:master"),
    ]);
    let transcript = converse_whole(&check, &[b"+PONG\r\n$11\r\nrole:master\r\n"], false);
    assert_eq!(transcript.sent, b"PING\r\nINFO\r\n");
    assert_eq!(transcript.verdict, Some(Ok(())));
    let same_match_twice = script(&[("expect", b"OK"), ("expect", b"OK")]);
    assert_eq!(
        converse_whole(&same_match_twice, &[b"OK\r\n"], false).verdict,
        None,
        "one OK matches once"
    );
}

#[test]
fn a_final_send_is_written_and_passes() {
    let check = script(&[("expect", b"+PONG"), ("send", b"QUIT\r\n")]);
    let transcript = converse_whole(&check, &[b"+PONG\r\n"], false);
    assert_eq!(transcript.sent, b"QUIT\r\n");
    assert_eq!(transcript.verdict, Some(Ok(())));
}

#[test]
fn an_empty_script_passes_once_connected() {
    assert_eq!(
        converse_whole(&script(&[]), &[], false).verdict,
        Some(Ok(()))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_chunking_gives_the_same_conversation(cuts in cuts(2), close: bool) {
        same_in_any_chunking(&smtp(), &[BANNER, BYE], close, &cuts)?;
        same_in_any_chunking(&smtp(), &[BANNER, b"500 error\r\n"], close, &cuts)?;
        let expects = script(&[("expect", b"+PONG"), ("expect", b"role:master")]);
        same_in_any_chunking(&expects, &[b"+PONG\r\n$11\r\nrole:master\r\n", b""], close, &cuts)?;
    }
}
