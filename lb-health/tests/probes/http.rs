//! The HTTP check: request bytes, strict status lines, expected ranges, body matching over
//! every body framing.

use lb_core::model::{Check, CheckKind, HttpCheck, StatusRange};
use lb_health::MAX_RESPONSE_BYTES;
use proptest::prelude::*;

use crate::conversation::{check, converse, converse_whole, cuts, same_in_any_chunking};

/// Galera's clustercheck answers, as served on port 9200.
const SYNCED: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 40\r\n\r\nPercona XtraDB Cluster Node is synced.\r\n";
const NOT_SYNCED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 44\r\n\r\nPercona XtraDB Cluster Node is not synced.\r\n";
/// An oslo.middleware `/healthcheck` answer, chunked, with "OK" split across chunks.
const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n1\r\nO\r\n1;ext=1\r\nK\r\n0\r\nX-Trailer: 1\r\n\r\n";
/// An HTTP/1.0 answer whose body ends when the server closes.
const UNTIL_CLOSE: &[u8] =
    b"HTTP/1.0 200 OK\nServer: BaseHTTP/0.6 Python/3.11\n\nall services OK\n";

fn galera() -> Check {
    Check {
        port: Some(9200),
        ..http(HttpCheck {
            expect: vec![StatusRange {
                low: 200,
                high: 200,
            }],
            ..HttpCheck::default()
        })
    }
}

fn http(settings: HttpCheck) -> Check {
    check(CheckKind::Http(settings))
}

/// A check of the body whatever the status.
fn body_check(needle: &str) -> Check {
    http(HttpCheck {
        path: "/healthcheck".to_owned(),
        expect: vec![StatusRange {
            low: 100,
            high: 599,
        }],
        body_contains: Some(needle.to_owned()),
        ..HttpCheck::default()
    })
}

#[test]
fn the_request_names_the_check_address_or_the_configured_host() {
    let sent = converse_whole(&galera(), &[], false).sent;
    assert_eq!(
        sent,
        b"GET / HTTP/1.1\r\nHost: 192.0.2.11:9200\r\nConnection: close\r\nUser-Agent: lb-check\r\n\r\n"
    );
    let keystone = http(HttpCheck {
        method: "HEAD".to_owned(),
        path: "/healthcheck?detailed=0".to_owned(),
        host: Some("keystone.example".to_owned()),
        ..HttpCheck::default()
    });
    let sent = String::from_utf8(converse_whole(&keystone, &[], false).sent).unwrap();
    assert!(
        sent.starts_with("HEAD /healthcheck?detailed=0 HTTP/1.1\r\nHost: keystone.example\r\n")
    );
}

#[test]
fn a_request_that_would_inject_headers_is_never_sent() {
    let injected = http(HttpCheck {
        path: "/ HTTP/1.1\r\nX-Evil: 1".to_owned(),
        ..HttpCheck::default()
    });
    let transcript = converse_whole(&injected, &[], false);
    assert!(transcript.sent.is_empty());
    assert!(transcript.failure().starts_with("invalid HTTP check path"));
}

#[test]
fn galera_synced_is_up_and_not_synced_is_down() {
    assert_eq!(
        converse_whole(&galera(), &[SYNCED], false).verdict,
        Some(Ok(()))
    );
    assert_eq!(
        converse_whole(&galera(), &[NOT_SYNCED], false).failure(),
        "HTTP 503 Service Unavailable (expected 200)"
    );
}

#[test]
fn the_status_decides_as_soon_as_the_status_line_is_complete() {
    let line_only: &[u8] = b"HTTP/1.1 204 No Content\r\n";
    assert_eq!(
        converse_whole(&galera(), &[line_only], false).failure(),
        "HTTP 204 No Content (expected 200)"
    );
    let default = http(HttpCheck::default());
    assert_eq!(
        converse_whole(&default, &[b"HTTP/1.1 302 Found\r\n"], false).verdict,
        Some(Ok(()))
    );
    assert_eq!(
        converse_whole(&default, &[b"HTTP/1.1 200 OK"], false).verdict,
        None
    );
}

#[test]
fn gnocchi_accepts_any_status_from_200_to_499() {
    let gnocchi = http(HttpCheck {
        expect: vec![StatusRange::parse("200-499").unwrap()],
        ..HttpCheck::default()
    });
    for status in [
        "200 OK",
        "401 Unauthorized",
        "404 Not Found",
        "499 Client Closed",
    ] {
        let response = format!("HTTP/1.1 {status}\r\n\r\n");
        assert_eq!(
            converse_whole(&gnocchi, &[response.as_bytes()], false).verdict,
            Some(Ok(())),
            "{status}"
        );
    }
    let failure = converse_whole(
        &gnocchi,
        &[b"HTTP/1.1 500 Internal Server Error\r\n"],
        false,
    )
    .failure();
    assert_eq!(failure, "HTTP 500 Internal Server Error (expected 200-499)");
}

#[test]
fn status_lines_are_read_strictly() {
    for line in [
        "HTTP/2 200 OK",
        "HTTP/1.1 20 OK",
        "HTTP/1.1 2000 OK",
        "HTTP/1.1 200OK",
        "http/1.1 200 OK",
        "ICY 200 OK",
        "HTTP/1.x 200 OK",
        "SSH-2.0-OpenSSH_9.2p1",
    ] {
        let response = format!("{line}\r\n\r\n");
        let failure = converse_whole(&galera(), &[response.as_bytes()], false).failure();
        assert!(
            failure.starts_with("malformed HTTP status line"),
            "{line}: {failure}"
        );
    }
    assert_eq!(
        converse_whole(&galera(), &[b"HTTP/1.1 200\r\n"], false).verdict,
        Some(Ok(()))
    );
}

#[test]
fn the_body_substring_is_found_in_every_framing() {
    assert_eq!(
        converse_whole(&body_check("synced."), &[SYNCED], false).verdict,
        Some(Ok(()))
    );
    assert_eq!(
        converse_whole(&body_check("OK"), &[CHUNKED], false).verdict,
        Some(Ok(()))
    );
    let until_close = body_check("services OK");
    assert_eq!(
        converse_whole(&until_close, &[UNTIL_CLOSE], false).verdict,
        Some(Ok(()))
    );
}

#[test]
fn a_body_without_the_substring_fails_when_the_body_ends() {
    let failure = converse_whole(&body_check("is synced"), &[NOT_SYNCED], false).failure();
    assert_eq!(failure, "response body does not contain \"is synced\"");
    let failure = converse_whole(&body_check("1;ext"), &[CHUNKED], false).failure();
    assert_eq!(
        failure, "response body does not contain \"1;ext\"",
        "chunk metadata is not body"
    );
    let until_close = body_check("degraded");
    assert_eq!(
        converse_whole(&until_close, &[UNTIL_CLOSE], false).verdict,
        None
    );
    assert!(
        converse_whole(&until_close, &[UNTIL_CLOSE], true)
            .failure()
            .contains("\"degraded\"")
    );
    let truncated = &SYNCED[..SYNCED.len() - 10];
    let failure = converse_whole(&body_check("synced"), &[truncated], true).failure();
    assert!(
        failure.ends_with("(connection closed before its end)"),
        "{failure}"
    );
}

#[test]
fn a_malformed_chunked_body_fails() {
    let bad_size: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nOK\r\n0\r\n\r\n";
    assert!(
        converse_whole(&body_check("OK"), &[bad_size], false)
            .failure()
            .starts_with("malformed chunk size")
    );
    let no_crlf: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOKxx";
    assert!(
        converse_whole(&body_check("NO"), &[no_crlf], false)
            .failure()
            .starts_with("malformed chunked body")
    );
}

#[test]
fn the_substring_found_before_a_framing_error_passes_in_any_chunking() {
    let response: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n\xa2\xa20\r\n";
    let whole = converse_whole(&body_check("OK"), &[response], false);
    assert_eq!(whole.verdict, Some(Ok(())));
    let split_at_the_error = response.split_at(response.len() - 6);
    let chunks = vec![split_at_the_error.0, split_at_the_error.1];
    assert_eq!(converse(&body_check("OK"), &[chunks], false), whole);
}

#[test]
fn a_head_response_has_no_body_to_wait_for() {
    let head = http(HttpCheck {
        method: "HEAD".to_owned(),
        body_contains: Some("OK".to_owned()),
        ..HttpCheck::default()
    });
    let response: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n";
    assert!(
        converse_whole(&head, &[response], false)
            .failure()
            .starts_with("response body does not contain")
    );
}

#[test]
fn a_response_without_a_verdict_in_64_kib_fails() {
    let mut response = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    response.resize(MAX_RESPONSE_BYTES + 1, b'x');
    let failure = converse_whole(&body_check("never"), &[&response], false).failure();
    assert_eq!(
        failure,
        "no verdict in the first 65536 bytes of the response"
    );
    let endless_header = vec![b'x'; MAX_RESPONSE_BYTES * 2];
    let transcript = converse(&galera(), &[endless_header.chunks(1000).collect()], false);
    assert!(transcript.failure().starts_with("no verdict"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_chunking_gives_the_same_verdict(cuts in cuts(1), close: bool) {
        for (check, response) in [
            (galera(), SYNCED),
            (galera(), NOT_SYNCED),
            (body_check("synced."), SYNCED),
            (body_check("is synced"), NOT_SYNCED),
            (body_check("OK"), CHUNKED),
            (body_check("XX"), CHUNKED),
            (body_check("services OK"), UNTIL_CLOSE),
            (body_check("degraded"), UNTIL_CLOSE),
        ] {
            same_in_any_chunking(&check, &[response], close, &cuts)?;
        }
    }
}
