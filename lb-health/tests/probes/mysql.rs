//! The MySQL check against packets captured from MariaDB 10.11.

use lb_core::model::CheckKind;
use proptest::prelude::*;

use crate::conversation::{check, converse_whole, cuts, same_in_any_chunking};

/// The greeting of mariadbd 10.11.19 (Debian 12).
const GREETING: &[u8] =
    b"d\x00\x00\x00\n5.5.5-10.11.19-MariaDB-0+deb12u1\x00\x03\x00\x00\x00]sLc-T?}\x00\
\xfe\xf7\x08\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00yi%uC/\\db@Vn\x00\
mysql_native_password\x00";
/// What it sends a client address after `max_connect_errors` failed handshakes.
const BLOCKED: &[u8] =
    b"j\x00\x00\x00\xffi\x04Host '127.0.0.2' is blocked because of many connection errors; \
unblock with 'mariadb-admin flush-hosts'";
/// What it sends an address no account may connect from.
const NOT_ALLOWED: &[u8] =
    b"D\x00\x00\x00\xffj\x04Host '127.0.0.2' is not allowed to connect to this MariaDB server";

#[test]
fn a_protocol_10_greeting_is_up_without_sending_anything() {
    let transcript = converse_whole(&check(CheckKind::Mysql), &[GREETING], false);
    assert_eq!(transcript.verdict, Some(Ok(())));
    assert!(transcript.sent.is_empty());
}

#[test]
fn an_error_packet_is_down_with_its_code_and_message() {
    assert_eq!(
        converse_whole(&check(CheckKind::Mysql), &[BLOCKED], false).failure(),
        "MySQL error 1129: Host '127.0.0.2' is blocked because of many connection errors; \
         unblock with 'mariadb-admin flush-hosts'"
    );
    assert_eq!(
        converse_whole(&check(CheckKind::Mysql), &[NOT_ALLOWED], false).failure(),
        "MySQL error 1130: Host '127.0.0.2' is not allowed to connect to this MariaDB server"
    );
    let with_sqlstate: &[u8] = b"\x16\x00\x00\x00\xff\x13\x04#08S01Bad handshake";
    assert_eq!(
        converse_whole(&check(CheckKind::Mysql), &[with_sqlstate], false).failure(),
        "MySQL error 1043: Bad handshake"
    );
}

#[test]
fn other_first_packets_are_down() {
    let cases: [(&[u8], &str); 5] = [
        (
            b"\x05\x00\x00\x00\x09abc\x00",
            "unsupported MySQL protocol version 9",
        ),
        (
            b"\x04\x00\x00\x00\x0aabc",
            "malformed server greeting: unterminated version",
        ),
        (b"\x02\x00\x00\x00\xff\x01", "malformed MySQL error packet"),
        (
            b"\x05\x00\x00\x01\x0aabc\x00",
            "unexpected packet sequence id 1 in the server greeting",
        ),
        (b"\xff\xff\xff\x00", "server greeting of 16777215 bytes"),
    ];
    for (packet, failure) in cases {
        assert_eq!(
            converse_whole(&check(CheckKind::Mysql), &[packet], false).failure(),
            failure
        );
    }
    let http_on_mysql_port: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\r\n";
    assert!(
        converse_whole(&check(CheckKind::Mysql), &[http_on_mysql_port], false)
            .verdict
            .is_some_and(|v| v.is_err())
    );
}

#[test]
fn a_truncated_greeting_waits_then_fails_at_close() {
    let truncated = &GREETING[..50];
    assert_eq!(
        converse_whole(&check(CheckKind::Mysql), &[truncated], false).verdict,
        None
    );
    assert_eq!(
        converse_whole(&check(CheckKind::Mysql), &[truncated], true).failure(),
        "connection closed before a complete server greeting (50 bytes received)"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_chunking_gives_the_same_verdict(cuts in cuts(1), close: bool) {
        for packet in [GREETING, BLOCKED, NOT_ALLOWED, &GREETING[..60]] {
            same_in_any_chunking(&check(CheckKind::Mysql), &[packet], close, &cuts)?;
        }
    }
}
