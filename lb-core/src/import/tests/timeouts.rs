//! Timeouts, retries, `maxconn`, keep-alive and `source`.

use std::time::Duration;

use super::{assert_clean, assert_note, import, listen_with_server, vip};
use crate::import::NoteKind;
use crate::model::{KeepAlive, Source};

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn every_timeout_lb_has() {
    let import = import(&listen_with_server(
        "  mode http\n  option forwardfor\n  timeout queue 30s\n  timeout http-request 5s\n  \
         timeout tunnel 2h\n  timeout connect 3000\n",
    ));
    assert_clean(&import);
    let timeouts = vip(&import, "web").timeouts;
    assert_eq!(timeouts.connect, Duration::from_secs(3));
    assert_eq!((timeouts.client, timeouts.server), (MINUTE, MINUTE));
    assert_eq!(timeouts.queue, Duration::from_secs(30));
    assert_eq!(timeouts.http_request, Duration::from_secs(5));
    assert_eq!(timeouts.tunnel, 2 * 60 * MINUTE);
}

#[test]
fn haproxys_defaults_for_queue_http_request_and_tunnel() {
    let import = import(&listen_with_server("  mode http\n  option forwardfor\n"));
    let timeouts = vip(&import, "web").timeouts;
    assert_eq!(
        timeouts.queue,
        Duration::from_secs(5),
        "the connect timeout"
    );
    assert_eq!(timeouts.http_request, MINUTE, "the client timeout");
    assert_eq!(timeouts.tunnel, MINUTE, "the shorter of client and server");
}

#[test]
fn a_tunnel_timeout_on_tcp_governs_established_connections() {
    let import = import(&listen_with_server("  timeout tunnel 1h\n"));
    assert_clean(&import);
    let timeouts = vip(&import, "web").timeouts;
    assert_eq!(
        (timeouts.client, timeouts.server),
        (60 * MINUTE, 60 * MINUTE)
    );
}

#[test]
fn missing_and_unlimited_timeouts_are_noted() {
    let import = import(
        "listen web\n  bind 192.0.2.1:80\n  option redispatch\n  \
                         timeout client 0\n  server a 192.0.2.11:80 check\n",
    );
    assert_note(&import, 1, NoteKind::Approximated, "no `timeout connect`");
    assert_note(&import, 1, NoteKind::Approximated, "no `timeout server`");
    assert_note(
        &import,
        4,
        NoteKind::Approximated,
        "lb has no unlimited timeout: 1d",
    );
    assert_eq!(
        vip(&import, "web").timeouts.client,
        Duration::from_secs(86_400)
    );
    let import = super::import(&listen_with_server(
        "  timeout client-fin 1s\n  timeout http-keep-alive 2s\n  mode http\n  option forwardfor\n",
    ));
    assert_note(&import, 9, NoteKind::LeftOut, "lb has no such timeout");
    assert_note(
        &import,
        10,
        NoteKind::Approximated,
        "after http_request_timeout",
    );
}

#[test]
fn retries_without_redispatch_are_noted() {
    let import = import(&listen_with_server("  retries 5\n  maxconn 300\n"));
    assert_clean(&import);
    let web = vip(&import, "web");
    assert_eq!((web.retries, web.max_connections), (5, 300));
    let import = super::import(&listen_with_server("  retries 2\n  no option redispatch\n"));
    assert_note(
        &import,
        9,
        NoteKind::Approximated,
        "HAProxy retries a failed connect on the same server",
    );
}

#[test]
fn tcpka_turns_keep_alive_on() {
    let import = import(&listen_with_server(
        "  option tcpka\n  clitcpka-idle 30\n  clitcpka-intvl 5\n  clitcpka-cnt 3\n",
    ));
    let web = vip(&import, "web");
    let client = KeepAlive {
        idle: Duration::from_secs(30),
        interval: Duration::from_secs(5),
        count: 3,
    };
    assert_eq!(web.client_keepalive, Some(client));
    assert_eq!(web.server_keepalive, Some(KeepAlive::default()));
    assert_note(
        &import,
        9,
        NoteKind::Approximated,
        "lb probes after 60s idle",
    );
    let import = super::import(&listen_with_server("  option srvtcpka\n"));
    assert_eq!(vip(&import, "web").client_keepalive, None);
}

#[test]
fn source_usesrc_clientip_becomes_transparent_proxying() {
    let import = import(&listen_with_server("  source 0.0.0.0 usesrc clientip\n"));
    assert_clean(&import);
    assert_eq!(vip(&import, "web").source, Some(Source::Client));
    let import = super::import(&listen_with_server("  source 192.0.2.5\n"));
    assert_eq!(
        vip(&import, "web").source,
        Some(Source::Address("192.0.2.5".parse().unwrap()))
    );
    let import = super::import(&listen_with_server(
        "  source 0.0.0.0 usesrc hdr_ip(x-forwarded-for)\n",
    ));
    assert_note(&import, 9, NoteKind::LeftOut, "nothing else");
}
