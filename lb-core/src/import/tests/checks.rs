//! Health checks: `option httpchk`, `http-check`, `mysql-check`, `redis-check`, `tcp-check`.

use std::time::Duration;

use super::{assert_clean, assert_note, import, listen, vip};
use crate::import::NoteKind;
use crate::model::{CheckKind, HttpCheck, ScriptStep, StatusRange};

/// A checked server (line 8) after `options` (from line 9).
fn checked(options: &str) -> crate::import::Import {
    import(&listen(&format!(
        "  server a 192.0.2.11:80 check\n{options}"
    )))
}

fn http(import: &crate::import::Import) -> HttpCheck {
    match &vip(import, "web").check.kind {
        CheckKind::Http(http) => http.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn option_httpchk_reads_haproxys_forms() {
    let import = checked("  option httpchk\n");
    assert_clean(&import);
    let check = http(&import);
    assert_eq!(
        (check.method.as_str(), check.path.as_str()),
        ("OPTIONS", "/")
    );
    assert_eq!(check.expect, HttpCheck::default().expect, "2xx and 3xx");
    let check = http(&checked("  option httpchk /health\n"));
    assert_eq!(
        (check.method.as_str(), check.path.as_str()),
        ("OPTIONS", "/health")
    );
    let check = http(&checked(
        "  option httpchk GET /healthcheck HTTP/1.1\\r\\nHost:\\ api\n",
    ));
    assert_eq!(check.method, "GET");
    assert_eq!(check.host.as_deref(), Some("api"));
}

#[test]
fn http_check_send_and_expect() {
    let import = checked(
        "  option httpchk\n  http-check send meth HEAD uri /ping ver HTTP/1.1 hdr Host api.local\n  \
         http-check expect status 200,300-302\n",
    );
    assert_clean(&import);
    let check = http(&import);
    assert_eq!(
        (check.method.as_str(), check.path.as_str()),
        ("HEAD", "/ping")
    );
    assert_eq!(check.host.as_deref(), Some("api.local"));
    let range = |low, high| StatusRange { low, high };
    assert_eq!(check.expect, [range(200, 200), range(300, 302)]);
    let check = http(&checked(
        "  option httpchk GET /\n  http-check expect string OK\n",
    ));
    assert_eq!(check.body_contains.as_deref(), Some("OK"));
    let import = checked(
        "  option httpchk GET /\n  http-check expect rstatus ^2\n  http-check disable-on-404\n",
    );
    assert_note(&import, 10, NoteKind::LeftOut, "not regular expressions");
    assert_note(
        &import,
        11,
        NoteKind::LeftOut,
        "a 404 counts like any other status",
    );
}

#[test]
fn mysql_and_redis_checks() {
    let import = checked("  option mysql-check\n");
    assert_clean(&import);
    assert_eq!(vip(&import, "web").check.kind, CheckKind::Mysql);
    let import = checked("  option mysql-check user haproxy\n");
    assert_note(&import, 9, NoteKind::Approximated, "does not log in");
    let import = checked("  option redis-check\n");
    assert_clean(&import);
    assert_eq!(
        vip(&import, "web").check.kind,
        CheckKind::Script(vec![
            ScriptStep::Send(b"PING\r\n".to_vec()),
            ScriptStep::Expect(b"+PONG".to_vec())
        ])
    );
}

#[test]
fn tcp_check_sequences_become_scripts() {
    let import = checked(
        "  option tcp-check\n  tcp-check connect port 6380\n  tcp-check send PING\\r\\n\n  \
         tcp-check expect string +PONG\n  tcp-check send-binary 0d0a\n  \
         tcp-check expect binary 2b4f4b comment ok\n  tcp-check comment done\n",
    );
    assert_clean(&import);
    let check = &vip(&import, "web").check;
    assert_eq!(check.port, Some(6380));
    assert_eq!(
        check.kind,
        CheckKind::Script(vec![
            ScriptStep::Send(b"PING\r\n".to_vec()),
            ScriptStep::Expect(b"+PONG".to_vec()),
            ScriptStep::Send(b"\r\n".to_vec()),
            ScriptStep::Expect(b"+OK".to_vec()),
        ])
    );
}

#[test]
fn a_tcp_check_rule_lb_cannot_follow_gives_a_connect_check() {
    let import = checked(
        "  option tcp-check\n  tcp-check send PING\\r\\n\n  tcp-check expect rstring ^\\+PONG\n",
    );
    assert_eq!(vip(&import, "web").check.kind, CheckKind::Tcp);
    assert_note(
        &import,
        11,
        NoteKind::LeftOut,
        "the whole tcp-check sequence gives way to a TCP connect check",
    );
}

#[test]
fn checks_lb_lacks_fall_back_to_a_connect_check() {
    let import = checked("  option ssl-hello-chk\n");
    assert_eq!(vip(&import, "web").check.kind, CheckKind::Tcp);
    assert_note(
        &import,
        9,
        NoteKind::LeftOut,
        "`option ssl-hello-chk`: lb has no such check",
    );
    let import = checked("  option ssl-hello-chk\n  no option ssl-hello-chk\n");
    assert_clean(&import);
}

#[test]
fn timeout_check_is_the_probes_timeout() {
    let import = checked("  timeout check 3s\n");
    assert_clean(&import);
    assert_eq!(vip(&import, "web").check.timeout, Duration::from_secs(3));
}
