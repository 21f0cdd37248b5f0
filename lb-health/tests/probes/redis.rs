//! The Redis check against replies captured from redis-server 7.0.

use lb_core::model::{Check, CheckKind};
use proptest::prelude::*;

use crate::conversation::{check, converse_whole, cuts, same_in_any_chunking};

/// `INFO replication` from a master with one replica (redis-server 7.0.15).
const MASTER_INFO: &[u8] = b"$409\r\n# Replication\r\nrole:master\r\nconnected_slaves:1\r\n\
slave0:ip=127.0.0.1,port=16380,state=online,offset=0,lag=1\r\nmaster_failover_state:no-failover\r\n\
master_replid:6438eece07b879608928a9bfe4d2cb915edf18b2\r\n\
master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\n\
second_repl_offset:-1\r\nrepl_backlog_active:1\r\nrepl_backlog_size:1048576\r\n\
repl_backlog_first_byte_offset:1\r\nrepl_backlog_histlen:0\r\n\r\n";
/// `INFO replication` from its replica.
const REPLICA_INFO: &[u8] = b"$577\r\n# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n\
master_port:16379\r\nmaster_link_status:up\r\nmaster_last_io_seconds_ago:3\r\n\
master_sync_in_progress:0\r\nslave_read_repl_offset:0\r\nslave_repl_offset:0\r\n\
slave_priority:100\r\nslave_read_only:1\r\nreplica_announced:1\r\nconnected_slaves:0\r\n\
master_failover_state:no-failover\r\nmaster_replid:6438eece07b879608928a9bfe4d2cb915edf18b2\r\n\
master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\n\
second_repl_offset:-1\r\nrepl_backlog_active:1\r\nrepl_backlog_size:1048576\r\n\
repl_backlog_first_byte_offset:1\r\nrepl_backlog_histlen:0\r\n\r\n";
const OK: &[u8] = b"+OK\r\n";
const PONG: &[u8] = b"+PONG\r\n";
const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";

const AUTH: &[u8] = b"*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n";
const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const INFO: &[u8] = b"*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n";
const QUIT: &[u8] = b"*1\r\n$4\r\nQUIT\r\n";

fn redis(password: Option<&str>) -> Check {
    check(CheckKind::Redis {
        password: password.map(str::to_owned),
    })
}

#[test]
fn a_master_passes_and_is_told_goodbye() {
    let transcript = converse_whole(&redis(None), &[PONG, MASTER_INFO], false);
    assert_eq!(transcript.verdict, Some(Ok(())));
    assert_eq!(transcript.sent, [PING, INFO, QUIT].concat());
}

#[test]
fn auth_comes_first_when_a_password_is_set() {
    let transcript = converse_whole(&redis(Some("s3cret")), &[OK, PONG, MASTER_INFO], false);
    assert_eq!(transcript.verdict, Some(Ok(())));
    assert_eq!(transcript.sent, [AUTH, PING, INFO, QUIT].concat());
}

#[test]
fn a_replica_fails_with_its_role() {
    let transcript = converse_whole(&redis(None), &[PONG, REPLICA_INFO], false);
    assert_eq!(transcript.failure(), "role:slave");
    assert_eq!(transcript.sent, [PING, INFO].concat());
}

#[test]
fn error_replies_fail_with_their_text() {
    assert_eq!(
        converse_whole(&redis(None), &[NOAUTH], false).failure(),
        "PING: NOAUTH Authentication required."
    );
    assert_eq!(
        converse_whole(&redis(Some("s3cret")), &[WRONGPASS], false).failure(),
        "AUTH: WRONGPASS invalid username-password pair or user is disabled."
    );
    let loading: &[u8] = b"-LOADING Redis is loading the dataset in memory\r\n";
    assert_eq!(
        converse_whole(&redis(None), &[PONG, loading], false).failure(),
        "INFO replication: LOADING Redis is loading the dataset in memory"
    );
}

#[test]
fn unexpected_replies_fail() {
    let cases: [(&[&[u8]], &str); 5] = [
        (&[OK], "PING: unexpected reply +OK"),
        (&[b"*1\r\n$4\r\nPONG\r\n"], "PING: unexpected reply \"*1\""),
        (
            &[PONG, b"$-1\r\n"],
            "INFO replication: unexpected bulk reply",
        ),
        (
            &[PONG, b"$5\r\nabcdefg\r\n"],
            "INFO replication: bulk reply longer than its announced length",
        ),
        (
            &[b"+PONG\r\n+PONG\r\n"],
            "PING: unexpected bytes after the reply: \"+PONG\\r\\n\"",
        ),
    ];
    for (replies, failure) in cases {
        assert_eq!(
            converse_whole(&redis(None), replies, false).failure(),
            failure
        );
    }
    let no_role: &[u8] = b"$13\r\n# Replication\r\n";
    assert_eq!(
        converse_whole(&redis(None), &[PONG, no_role], false).failure(),
        "INFO replication: no role line"
    );
}

#[test]
fn a_server_that_closes_mid_conversation_fails() {
    let transcript = converse_whole(&redis(None), &[PONG, &MASTER_INFO[..100]], true);
    assert_eq!(
        transcript.failure(),
        "connection closed while waiting for the reply to INFO replication"
    );
}

#[test]
fn a_password_with_spaces_and_newlines_is_one_argument() {
    let transcript = converse_whole(&redis(Some("a b\r\nPING")), &[], false);
    assert_eq!(
        transcript.sent,
        b"*2\r\n$4\r\nAUTH\r\n$9\r\na b\r\nPING\r\n"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_chunking_gives_the_same_conversation(cuts in cuts(3), close: bool) {
        same_in_any_chunking(&redis(Some("s3cret")), &[OK, PONG, MASTER_INFO], close, &cuts)?;
        same_in_any_chunking(&redis(None), &[PONG, REPLICA_INFO], close, &cuts)?;
        same_in_any_chunking(&redis(None), &[NOAUTH], close, &cuts)?;
        same_in_any_chunking(&redis(None), &[PONG, &MASTER_INFO[..200]], close, &cuts)?;
    }
}
