//! A haproxy.cfg as puppet-tripleo writes it for a controller with public TLS: every
//! service imports, what lb cannot carry is reported, and the VIPs agree with the file.

use super::{assert_note, import, report, vip};
use crate::import::{NoteKind, compare};
use crate::model::{CheckKind, Persistence, SchedulerKind, ScriptStep};

const CFG: &str = "\
# This file is managed by Puppet
global
  daemon
  group  haproxy
  log  /dev/log local0
  maxconn  20480
  pidfile  /var/run/haproxy.pid
  ssl-default-bind-ciphers  !SSLv2:kEECDH:kRSA:kEDH:kPSK:+3DES:!aNULL:!eNULL:!MD5:!EXP:!RC4
  ssl-default-bind-options  no-sslv3 no-tlsv10
  stats  socket /var/lib/haproxy/stats mode 600 level user
  user  haproxy

defaults
  log  global
  maxconn  4096
  mode  tcp
  retries  3
  timeout  http-request 10s
  timeout  queue 2m
  timeout  connect 10s
  timeout  client 2m
  timeout  server 2m
  timeout  check 10s

listen haproxy.stats
  bind 192.168.24.15:1993 transparent
  mode http
  stats enable
  stats uri /
  stats auth admin:PASSWORD

listen horizon
  bind 10.0.0.5:443 transparent ssl crt /etc/pki/tls/private/overcloud_endpoint.pem
  bind 10.0.0.5:80 transparent
  bind 172.17.1.10:80 transparent
  mode http
  cookie SERVERID insert indirect nocache
  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
  option forwardfor
  option httpchk
  redirect scheme https code 301 if { hdr(host) -i 10.0.0.5 } !{ ssl_fc }
  rsprep ^Location:\\ http://(.*) Location:\\ https://\\1
  server controller-0.internalapi.localdomain 172.17.1.11:80 check fall 5 inter 2000 rise 2 cookie controller-0.internalapi.localdomain
  server controller-1.internalapi.localdomain 172.17.1.12:80 check fall 5 inter 2000 rise 2 cookie controller-1.internalapi.localdomain

listen keystone_public
  bind 10.0.0.5:13000 transparent ssl crt /etc/pki/tls/private/overcloud_endpoint.pem
  bind 172.17.1.10:5000 transparent
  mode http
  http-request set-header X-Forwarded-Proto https if { ssl_fc }
  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }
  http-request set-header X-Forwarded-Port %[dst_port]
  option httpchk GET /healthcheck
  option forwardfor
  server controller-0.internalapi.localdomain 172.17.1.11:5000 check fall 5 inter 2000 rise 2
  server controller-1.internalapi.localdomain 172.17.1.12:5000 check fall 5 inter 2000 rise 2

listen mysql
  bind 172.17.1.10:3306 transparent
  option tcpka
  option httpchk
  stick on dst
  stick-table type ip size 1000
  timeout client 90m
  timeout server 90m
  server controller-0.internalapi.localdomain 172.17.1.11:3306 backup check inter 1s on-marked-down shutdown-sessions port 9200
  server controller-1.internalapi.localdomain 172.17.1.12:3306 backup check inter 1s on-marked-down shutdown-sessions port 9200

listen redis
  bind 172.17.1.10:6379 transparent
  balance first
  option tcp-check
  tcp-check send AUTH\\ secret\\r\\n
  tcp-check expect string +OK
  tcp-check send PING\\r\\n
  tcp-check expect string +PONG
  tcp-check send info\\ replication\\r\\n
  tcp-check expect string role:master
  tcp-check send QUIT\\r\\n
  tcp-check expect string +OK
  server controller-0.internalapi.localdomain 172.17.1.11:6379 check fall 5 inter 2000 rise 2
  server controller-1.internalapi.localdomain 172.17.1.12:6379 check fall 5 inter 2000 rise 2

listen nova_novncproxy
  bind 10.0.0.5:13080 transparent ssl crt /etc/pki/tls/private/overcloud_endpoint.pem
  bind 172.17.1.10:6080 transparent
  balance source
  timeout tunnel 1h
  server controller-0.internalapi.localdomain 172.17.1.11:6080 check fall 5 inter 2000 rise 2
  server controller-1.internalapi.localdomain 172.17.1.12:6080 check fall 5 inter 2000 rise 2
";

#[test]
fn a_tripleo_controller_with_public_tls_imports_and_agrees_with_the_file() {
    let import = import(CFG);
    let names: Vec<&str> = import.config.vips.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "horizon",
            "horizon-tls",
            "keystone_public",
            "keystone_public-tls",
            "mysql",
            "redis",
            "nova_novncproxy",
            "nova_novncproxy-tls"
        ],
        "{}",
        report(&import)
    );
    assert!(compare(&import.expected, &import.config).is_empty());
    assert_eq!(import.config.global.max_connections, 20_480);

    let mysql = vip(&import, "mysql");
    assert_eq!(mysql.scheduler, SchedulerKind::First);
    assert_eq!(
        mysql.persistence,
        Persistence::LastSuccessful {
            clear_on_drain: false
        }
    );
    assert_eq!(
        (mysql.check.port, mysql.check.interval.as_secs()),
        (Some(9200), 1)
    );
    assert!(matches!(&mysql.check.kind, CheckKind::Http(http) if http.method == "OPTIONS"));
    assert!(mysql.shutdown_sessions_on_down && mysql.client_keepalive.is_some());
    assert_eq!(mysql.timeouts.client.as_secs(), 90 * 60);

    let horizon = vip(&import, "horizon-tls");
    assert_eq!(horizon.persistence.kind_name(), "cookie");
    assert!(horizon.tls.is_some());
    let CheckKind::Script(steps) = &vip(&import, "redis").check.kind else {
        panic!("redis: a script check")
    };
    assert_eq!(steps[5], ScriptStep::Expect(b"role:master".to_vec()));
    assert_eq!(
        vip(&import, "nova_novncproxy").timeouts.client.as_secs(),
        3600
    );

    for (line, kind, text) in [
        (3, NoteKind::LeftOut, "`daemon`"),
        (5, NoteKind::LeftOut, "`log  /dev/log local0`"),
        (10, NoteKind::LeftOut, "`stats  socket"),
        (14, NoteKind::LeftOut, "`log  global`"),
        (17, NoteKind::Approximated, "without `option redispatch`"),
        (
            25,
            NoteKind::LeftOut,
            "`listen haproxy.stats`: the whole proxy: a stats page",
        ),
        (
            33,
            NoteKind::Approximated,
            "the ssl binds make VIP `horizon-tls`",
        ),
        (
            42,
            NoteKind::LeftOut,
            "lb cannot follow the condition `if { hdr(host) -i 10.0.0.5 } !{ ssl_fc }`",
        ),
        (
            43,
            NoteKind::LeftOut,
            "`rsprep ^Location:\\ http://(.*) Location:\\ https://\\1`: lb rewrites no header by regular expression",
        ),
        (44, NoteKind::Approximated, "lb's cookie values are its own"),
        (53, NoteKind::LeftOut, "lb sets X-Forwarded-Port itself"),
        (61, NoteKind::Approximated, "`tcpka`"),
        (
            88,
            NoteKind::Approximated,
            "`balance source`: lb's source hash is consistent",
        ),
    ] {
        assert_note(&import, line, kind, text);
    }
}
