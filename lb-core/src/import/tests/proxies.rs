//! Sections and proxies: `listen`, `frontend` with `backend`, `defaults`, `bind`, `mode`.

use std::net::SocketAddr;

use super::{assert_clean, assert_note, import, listen_with_server, report, vip};
use crate::import::NoteKind;
use crate::model::Mode;

const DEFAULTS: &str = "defaults\n  timeout connect 5s\n  timeout client 1m\n  \
                        timeout server 1m\n  option redispatch\n";

fn addresses(list: &[&str]) -> Vec<SocketAddr> {
    list.iter().map(|a| a.parse().unwrap()).collect()
}

#[test]
fn a_frontend_takes_its_default_backends_servers() {
    let cfg = format!(
        "{DEFAULTS}frontend api\n  bind 192.0.2.1:5000\n  default_backend keystone\n\
         backend keystone\n  server c0 192.0.2.11:5000 check\n"
    );
    let import = import(&cfg);
    assert_clean(&import);
    let api = vip(&import, "api");
    assert_eq!(api.servers[0].name, "c0");
    assert!(super::compare(&import.expected, &import.config).is_empty());
}

#[test]
fn a_use_backend_without_condition_wins_and_one_with_an_acl_is_noted() {
    let cfg = format!(
        "{DEFAULTS}frontend api\n  bind 192.0.2.1:80\n  acl v2 path_beg /v2\n  \
         use_backend two if v2\n  use_backend one\n  default_backend two\n\
         backend one\n  server a 192.0.2.11:80\nbackend two\n  server b 192.0.2.12:80\n\
         backend spare\n  server c 192.0.2.13:80\n"
    );
    let import = import(&cfg);
    assert_eq!(vip(&import, "api").servers[0].name, "a");
    assert_note(
        &import,
        8,
        NoteKind::LeftOut,
        "`acl v2 path_beg /v2`: lb has no ACLs",
    );
    assert_note(
        &import,
        9,
        NoteKind::LeftOut,
        "`use_backend two if v2`: lb has no ACLs",
    );
    assert_note(
        &import,
        16,
        NoteKind::LeftOut,
        "`backend spare`: the whole backend",
    );
}

#[test]
fn a_frontend_without_a_backend_for_everyone_or_with_an_unknown_one_is_noted() {
    let cfg = format!(
        "{DEFAULTS}frontend acl_only\n  bind 192.0.2.1:80\n  use_backend b if {{ src 10.0.0.0/8 }}\n\
         frontend typo\n  bind 192.0.2.1:81\n  default_backend nope\nbackend b\n  \
         server a 192.0.2.11:80\n"
    );
    let import = import(&cfg);
    assert!(import.config.vips.is_empty(), "{}", report(&import));
    assert_note(
        &import,
        6,
        NoteKind::LeftOut,
        "the whole frontend: no backend for every client",
    );
    assert_note(
        &import,
        11,
        NoteKind::LeftOut,
        "`backend nope`: no backend of that name",
    );
}

#[test]
fn bind_lines_with_several_addresses_make_one_vip_with_a_list() {
    let import = import(&listen_with_server(
        "  bind 192.0.2.2:80,192.0.2.3:80\n  bind :8080\n  bind [2001:db8::1]:80\n  \
         bind 192.0.2.4:9000-9001\n",
    ));
    assert_clean(&import);
    assert_eq!(
        vip(&import, "web").listen,
        addresses(&[
            "192.0.2.1:80",
            "192.0.2.2:80",
            "192.0.2.3:80",
            "0.0.0.0:8080",
            "[2001:db8::1]:80",
            "192.0.2.4:9000",
            "192.0.2.4:9001"
        ])
    );
}

#[test]
fn the_old_listen_address_form_is_a_bind() {
    let cfg = format!("{DEFAULTS}listen db 192.0.2.5:3306\n  server a 192.0.2.11:3306 check\n");
    let import = import(&cfg);
    assert_clean(&import);
    assert_eq!(vip(&import, "db").listen, addresses(&["192.0.2.5:3306"]));
}

#[test]
fn ssl_crt_binds_become_tls_and_mixed_binds_two_vips() {
    let import = import(&listen_with_server(
        "  bind 192.0.2.1:443 ssl crt /etc/pki/a.pem crt /etc/pki/b.pem alpn h2,http/1.1\n  \
         mode http\n  option forwardfor\n",
    ));
    let web = vip(&import, "web");
    assert_eq!(web.listen, addresses(&["192.0.2.1:80"]));
    assert!(web.tls.is_none());
    let tls = vip(&import, "web-tls");
    assert_eq!(tls.listen, addresses(&["192.0.2.1:443"]));
    let settings = tls.tls.as_ref().unwrap();
    let certs: Vec<_> = settings
        .certificates
        .iter()
        .map(|c| c.cert.to_str().unwrap())
        .collect();
    assert_eq!(certs, ["/etc/pki/a.pem", "/etc/pki/b.pem"]);
    assert_eq!(settings.certificates[0].key, settings.certificates[0].cert);
    assert_eq!(settings.alpn, ["h2", "http/1.1"]);
    assert_note(
        &import,
        9,
        NoteKind::Approximated,
        "the ssl binds make VIP `web-tls`",
    );
    assert!(super::compare(&import.expected, &import.config).is_empty());
}

#[test]
fn mode_http_and_tcp() {
    let import = import(&listen_with_server("  mode http\n  option forwardfor\n"));
    assert_eq!(vip(&import, "web").mode, Mode::Http);
    let import = super::import(&listen_with_server("  mode health\n"));
    assert_note(&import, 9, NoteKind::LeftOut, "lb serves tcp and http");
    let cfg = format!(
        "{DEFAULTS}frontend f\n  bind 192.0.2.1:80\n  mode http\n  default_backend b\n\
         backend b\n  mode tcp\n  server a 192.0.2.11:80\n"
    );
    let import = super::import(&cfg);
    assert_note(&import, 6, NoteKind::LeftOut, "its backend's mode differs");
}

#[test]
fn defaults_are_inherited_and_a_later_defaults_section_replaces_them() {
    let cfg = "defaults\n  mode http\n  maxconn 100\n  timeout connect 5s\n  timeout client 1m\n  \
               timeout server 1m\n  option forwardfor\n  option redispatch\n\
               listen a\n  bind 192.0.2.1:80\n  server s 192.0.2.11:80 check\n\
               defaults tcpish\n  timeout connect 5s\n  timeout client 1m\n  timeout server 1m\n  \
               option redispatch\n\
               listen b\n  bind 192.0.2.1:81\n  server s 192.0.2.11:81 check\n\
               listen c from tcpish\n  bind 192.0.2.1:82\n  server s 192.0.2.11:82 check\n";
    let import = import(cfg);
    assert_clean(&import);
    assert_eq!(vip(&import, "a").mode, Mode::Http);
    assert_eq!(vip(&import, "a").max_connections, 100);
    assert_eq!(vip(&import, "b").mode, Mode::Tcp);
    assert_eq!(vip(&import, "c").mode, Mode::Tcp);
}

#[test]
fn a_defaults_line_lb_lacks_is_noted_once_however_many_proxies_inherit_it() {
    let cfg = "defaults\n  option httplog\n  timeout connect 5s\n  timeout client 1m\n  \
               timeout server 1m\n  option redispatch\n\
               listen a\n  bind 192.0.2.1:80\n  server s 192.0.2.11:80 check\n\
               listen b\n  bind 192.0.2.1:81\n  server s 192.0.2.11:81 check\n";
    let import = import(cfg);
    assert_eq!(import.notes.len(), 1, "{}", report(&import));
    assert_note(
        &import,
        2,
        NoteKind::LeftOut,
        "`option httplog`: lb logs to stderr",
    );
}

#[test]
fn an_address_taken_by_an_earlier_vip_is_left_out() {
    let cfg = format!(
        "{}listen other\n  bind 192.0.2.1:80\n  bind 192.0.2.1:81\n  server b 192.0.2.12:80\n",
        listen_with_server("")
    );
    let import = import(&cfg);
    assert_note(
        &import,
        10,
        NoteKind::LeftOut,
        "`192.0.2.1:80`: already a listen address of VIP `web`",
    );
    assert_eq!(vip(&import, "other").listen, addresses(&["192.0.2.1:81"]));
}

#[test]
fn disabled_proxies_stats_pages_and_other_sections_are_noted() {
    let cfg = format!(
        "{}  disabled\nlisten stats\n  bind 192.0.2.1:1993\n  mode http\n  stats enable\n  \
         stats uri /\nuserlist admins\n  user admin insecure-password x\npeers pair\n  \
         peer lb1 10.0.0.1:1024\n.if defined(X)\n  nonsense\n.endif\n",
        listen_with_server("")
    );
    let import = import(&cfg);
    assert!(import.config.vips.is_empty());
    assert_note(
        &import,
        9,
        NoteKind::LeftOut,
        "the whole proxy: it is disabled",
    );
    assert_note(
        &import,
        10,
        NoteKind::LeftOut,
        "`listen stats`: the whole proxy: a stats page",
    );
    assert_note(
        &import,
        15,
        NoteKind::LeftOut,
        "`userlist admins`: the whole section",
    );
    assert_note(
        &import,
        17,
        NoteKind::LeftOut,
        "`peers pair`: the whole section: lb replicates",
    );
    assert_note(&import, 19, NoteKind::LeftOut, "a conditional block");
    assert!(!report(&import).contains("nonsense"), "{}", report(&import));
}

#[test]
fn unreadable_lines_and_names_lb_cannot_hold_are_noted() {
    let cfg = format!(
        "{}listen ns:web\n  bind 192.0.2.1:81\n  bind \"192.0.2.1:82\n  \
         bind /run/web.sock\n  bind host.example:80\n  server s 192.0.2.11:80 check\n",
        listen_with_server("")
    );
    let import = import(&cfg);
    assert_note(&import, 9, NoteKind::Approximated, "named `ns_web` in lb");
    assert_note(&import, 11, NoteKind::LeftOut, "a quote is not closed");
    assert_note(&import, 12, NoteKind::LeftOut, "not a TCP address");
    assert_note(&import, 13, NoteKind::LeftOut, "is not an IP address");
    assert_eq!(vip(&import, "ns_web").listen, addresses(&["192.0.2.1:81"]));
}
