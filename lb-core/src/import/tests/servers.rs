//! `server` and `default-server` lines.

use std::time::Duration;

use super::{assert_clean, assert_note, import, listen, vip};
use crate::import::NoteKind;
use crate::model::{AdminState, ProxyVersion};

#[test]
fn weights_keep_their_proportions_and_equal_ones_become_lbs_default() {
    let import = import(&listen(
        "  server a 192.0.2.11:80 check weight 10\n  server b 192.0.2.12:80 check\n  \
         server c 192.0.2.13:80 check weight 0\n",
    ));
    assert_clean(&import);
    let weights: Vec<u16> = vip(&import, "web")
        .servers
        .iter()
        .map(|s| s.weight)
        .collect();
    assert_eq!(weights, [10, 1, 0]);
    let import = super::import(&listen(
        "  server a 192.0.2.11:80 weight 5\n  server b 192.0.2.12:80 weight 5\n",
    ));
    let weights: Vec<u16> = vip(&import, "web")
        .servers
        .iter()
        .map(|s| s.weight)
        .collect();
    assert_eq!(weights, [100, 100]);
}

#[test]
fn backup_and_disabled_servers() {
    let import = import(&listen(
        "  server a 192.0.2.11:80 check\n  server b 192.0.2.12:80 check backup\n  \
         server c 192.0.2.13:80 check disabled\n",
    ));
    assert_clean(&import);
    let servers = &vip(&import, "web").servers;
    assert!(!servers[0].backup && servers[1].backup);
    assert_eq!(servers[2].admin, AdminState::Maintenance);
}

#[test]
fn a_server_without_a_port_takes_the_vips_and_ids_follow_the_order() {
    let import = import(&listen(
        "  server a 192.0.2.11 check\n  server b 192.0.2.12:8080 check\n",
    ));
    assert_clean(&import);
    let servers = &vip(&import, "web").servers;
    assert_eq!(servers[0].address, "192.0.2.11:80".parse().unwrap());
    assert_eq!(servers[1].id.0, 1);
}

#[test]
fn servers_lb_cannot_reach_are_left_out_with_their_line() {
    let import = import(&listen(
        "  server a controller-0.example:80\n  server b 192.0.2.12:+1000\n  \
         server c 192.0.2.13:80\n  server c 192.0.2.14:80\n",
    ));
    assert_note(
        &import,
        8,
        NoteKind::LeftOut,
        "`server a`: `controller-0.example` is not an IP address",
    );
    assert_note(&import, 9, NoteKind::LeftOut, "relative to the client's");
    assert_note(
        &import,
        11,
        NoteKind::LeftOut,
        "a server of this name comes before it",
    );
    assert_eq!(vip(&import, "web").servers.len(), 1);
}

#[test]
fn check_timing_comes_from_the_servers_with_haproxys_defaults() {
    let import = import(&listen(
        "  server a 192.0.2.11:80 check inter 3s fastinter 500 downinter 10s rise 3 fall 4 port 9000\n  \
         server b 192.0.2.12:80 check inter 3s fastinter 500 downinter 10s rise 3 fall 4 port 9000\n",
    ));
    assert_clean(&import);
    let check = &vip(&import, "web").check;
    assert_eq!(check.interval, Duration::from_secs(3));
    assert_eq!(check.fast_interval, Duration::from_millis(500));
    assert_eq!(check.down_interval, Duration::from_secs(10));
    assert_eq!((check.rise, check.fall, check.port), (3, 4, Some(9000)));
    assert_eq!(
        check.timeout,
        Duration::from_secs(3),
        "no `timeout check`: inter"
    );
    let import = super::import(&listen("  server a 192.0.2.11:80 check\n"));
    let check = &vip(&import, "web").check;
    assert_eq!(
        (check.interval, check.rise, check.fall),
        (Duration::from_secs(2), 2, 3)
    );
}

#[test]
fn servers_checked_differently_or_not_at_all_are_noted() {
    let import = import(&listen(
        "  server a 192.0.2.11:80 check rise 3\n  server b 192.0.2.12:80 check rise 5\n  \
         server c 192.0.2.13:80\n",
    ));
    assert_note(
        &import,
        9,
        NoteKind::Approximated,
        "lb checks every server of a VIP alike: as `a`",
    );
    assert_note(
        &import,
        10,
        NoteKind::Approximated,
        "no `check`: HAProxy never checks this server",
    );
    let import = super::import(&listen("  server a 192.0.2.11:80\n"));
    assert_note(&import, 6, NoteKind::Approximated, "no server has `check`");
}

#[test]
fn shutdown_sessions_and_proxy_protocol_are_per_vip() {
    let import = import(&listen(
        "  server a 192.0.2.11:80 check on-marked-down shutdown-sessions send-proxy-v2\n  \
         server b 192.0.2.12:80 check on-marked-down shutdown-sessions send-proxy-v2\n",
    ));
    assert_clean(&import);
    let web = vip(&import, "web");
    assert!(web.shutdown_sessions_on_down);
    assert_eq!(web.send_proxy, Some(ProxyVersion::V2));
    let import = super::import(&listen(
        "  server a 192.0.2.11:80 send-proxy\n  server b 192.0.2.12:80\n",
    ));
    assert_eq!(vip(&import, "web").send_proxy, Some(ProxyVersion::V1));
    assert_note(
        &import,
        9,
        NoteKind::Approximated,
        "lb sets send-proxy per VIP: as server `a`",
    );
}

#[test]
fn ssl_to_servers_becomes_server_tls() {
    let import = import(&listen(
        "  server a 192.0.2.11:443 ssl verify required ca-file /etc/ca.pem sni str(api.internal) \
         crt /etc/client.pem check check-ssl\n",
    ));
    assert_clean(&import);
    let tls = vip(&import, "web").server_tls.clone().unwrap();
    assert_eq!(tls.ca.unwrap().to_str(), Some("/etc/ca.pem"));
    assert_eq!(tls.server_name.as_deref(), Some("api.internal"));
    assert!(tls.verify);
    let client = tls.client_certificate.unwrap();
    assert_eq!(
        (client.cert.to_str(), client.key.to_str()),
        (Some("/etc/client.pem"), Some("/etc/client.pem"))
    );
    let import = super::import(&listen("  server a 192.0.2.11:443 ssl verify none\n"));
    assert!(!vip(&import, "web").server_tls.as_ref().unwrap().verify);
    let import = super::import(&listen("  server a 192.0.2.11:443 ssl sni req.hdr(host)\n"));
    assert_note(
        &import,
        8,
        NoteKind::Approximated,
        "imported with verify = false",
    );
    assert_note(
        &import,
        8,
        NoteKind::LeftOut,
        "`sni req.hdr(host)`: lb sends one fixed name",
    );
}

#[test]
fn default_server_options_apply_to_the_servers_after_them() {
    let cfg = "defaults\n  timeout connect 5s\n  timeout client 1m\n  timeout server 1m\n  \
               option redispatch\n  default-server inter 5s fall 2\nlisten web\n  \
               bind 192.0.2.1:80\n  default-server rise 4\n  server a 192.0.2.11:80 check\n";
    let import = import(cfg);
    assert_clean(&import);
    let check = &vip(&import, "web").check;
    assert_eq!(
        (check.interval, check.rise, check.fall),
        (Duration::from_secs(5), 4, 2)
    );
}

#[test]
fn server_options_lb_lacks_are_noted_and_the_rest_still_read() {
    let import = import(&listen(
        "  server a 192.0.2.11:80 maxconn 100 check slowstart 30s weight 7 frob x y\n  \
         server b 192.0.2.12:80\n",
    ));
    assert_note(
        &import,
        8,
        NoteKind::LeftOut,
        "`maxconn 100`: lb caps connections per VIP",
    );
    assert_note(&import, 8, NoteKind::LeftOut, "`slowstart 30s`");
    assert_note(
        &import,
        8,
        NoteKind::LeftOut,
        "`frob x y`: lb has no such server setting",
    );
    assert_eq!(vip(&import, "web").servers[0].weight, 7);
}

#[test]
fn observe_layer4_with_mark_down_becomes_observe_failures() {
    let import = import(&listen(
        "  server a 192.0.2.11:80 check observe layer4 error-limit 4 on-error mark-down\n",
    ));
    assert_clean(&import);
    assert_eq!(vip(&import, "web").check.observe_failures, Some(4));
}
