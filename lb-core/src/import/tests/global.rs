//! The `global` section.

use std::time::Duration;

use super::{assert_clean, assert_note, import, listen_with_server, vip};
use crate::import::NoteKind;

#[test]
fn maxconn_and_hard_stop_after_become_global_settings() {
    let cfg = format!(
        "global\n  maxconn 50000\n  hard-stop-after 45s\n{}",
        listen_with_server("")
    );
    let import = import(&cfg);
    assert_clean(&import);
    assert_eq!(import.config.global.max_connections, 50_000);
    assert_eq!(
        import.config.global.shutdown_timeout,
        Duration::from_secs(45)
    );
}

#[test]
fn process_logging_and_tls_defaults_are_noted_each_with_its_line() {
    let cfg = format!(
        "global\n  daemon\n  log /dev/log local0\n  stats socket /run/haproxy.sock\n  \
         ssl-default-bind-ciphers HIGH\n  lua-load /etc/x.lua\n  frobnicate\n{}",
        listen_with_server("")
    );
    let import = import(&cfg);
    assert_note(
        &import,
        2,
        NoteKind::LeftOut,
        "`daemon`: lb runs in the foreground",
    );
    assert_note(&import, 3, NoteKind::LeftOut, "lb logs to stderr");
    assert_note(&import, 4, NoteKind::LeftOut, "admin API");
    assert_note(&import, 5, NoteKind::LeftOut, "TLS settings are fixed");
    assert_note(&import, 6, NoteKind::LeftOut, "lb runs no Lua");
    assert_note(
        &import,
        7,
        NoteKind::LeftOut,
        "`frobnicate`: lb has no such setting",
    );
}

#[test]
fn ca_base_crt_base_and_ssl_server_verify_apply_to_the_proxies() {
    let cfg = format!(
        "global\n  ca-base /etc/pki/ca\n  crt-base /etc/pki/tls\n  ssl-server-verify none\n  \
         tune.http.maxhdr 200\n{}",
        super::listen(
            "  bind 192.0.2.1:443 ssl crt web.pem\n  mode http\n  option forwardfor\n  \
             server a 192.0.2.11:443 ssl ca-file ca.pem\n"
        )
    );
    let import = import(&cfg);
    let web = vip(&import, "web-tls");
    let tls = web.tls.as_ref().unwrap();
    assert_eq!(
        tls.certificates[0].cert.to_str(),
        Some("/etc/pki/tls/web.pem")
    );
    let server_tls = web.server_tls.as_ref().unwrap();
    assert_eq!(
        server_tls.ca.as_deref().and_then(|p| p.to_str()),
        Some("/etc/pki/ca/ca.pem")
    );
    assert!(!server_tls.verify, "ssl-server-verify none");
    assert_eq!(web.http.head_limits.max_fields, 200);
}
