//! The admin API of the real `lb` binary, driven by `lb ctl` as an operator would: every
//! operation, what traffic does after it, and every change refused without a valid token.

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::json;
use support::admin::{Ctl, Listener, ctl, http, server};
use support::backend::{Backend, Session, server_of_new_session};
use support::lb::Lb;
use support::{free_port, local};

struct Admin {
    _lb: Lb,
    dir: tempfile::TempDir,
    admin: SocketAddr,
    vip: SocketAddr,
    token: PathBuf,
}

impl Admin {
    /// `lb` with VIP `app` over backends `a` and `b`, with `persistence` (a TOML value).
    fn start(persistence: &str) -> Admin {
        let dir = tempfile::tempdir().unwrap();
        let listener = Listener::new(dir.path(), "right-token");
        let (a, b) = (Backend::start("a"), Backend::start("b"));
        let vip = local(free_port());
        let config = format!(
            r#"
{section}
[[vip]]
name = "app"
listen = ["{vip}"]
persistence = {persistence}
servers = [ {{ name = "a", address = "{a}" }}, {{ name = "b", address = "{b}" }} ]
"#,
            section = listener.section(),
            a = a.address,
            b = b.address,
        );
        let lb = Lb::start(dir.path(), &config);
        Admin {
            _lb: lb,
            dir,
            admin: listener.address,
            vip,
            token: listener.token,
        }
    }

    fn change(&self, args: &[&str]) -> Ctl {
        ctl(self.admin, Some(&self.token), args)
    }

    fn read(&self, args: &[&str]) -> Ctl {
        ctl(self.admin, None, args)
    }

    fn servers_of_new_sessions(&self, count: usize) -> HashSet<String> {
        (0..count)
            .map(|_| server_of_new_session(self.vip))
            .collect()
    }
}

fn names(set: &[&str]) -> HashSet<String> {
    set.iter().map(|s| s.to_string()).collect()
}

#[test]
fn listing_vips_and_one_vip_shows_servers_states_and_counters() {
    let admin = Admin::start(r#"{ kind = "none" }"#);
    let _session = Session::open(admin.vip);
    let vips = admin.read(&["vips"]).json();
    assert_eq!(vips["vips"][0]["name"], "app");
    let app = admin.read(&["vip", "app"]).json();
    assert_eq!(app["mode"], "tcp");
    assert_eq!(app["listen"], json!([admin.vip.to_string()]));
    assert_eq!(app["connections"]["total"], 1);
    assert_eq!(app["connections"]["active"], 1);
    for name in ["a", "b"] {
        let server = server(&app, name);
        assert_eq!(server["state"], "up");
        assert_eq!(server["weight"], 100);
        assert_eq!(server["backup"], false);
        assert!(
            server["check"].as_str().unwrap().starts_with("up"),
            "{server}"
        );
    }
    let unknown = admin.read(&["vip", "nope"]);
    assert_eq!(unknown.code, Some(1));
    assert!(
        unknown.stderr.contains("404") && unknown.stderr.contains("no VIP `nope`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn drain_ready_and_maintenance_steer_new_and_established_sessions() {
    let admin = Admin::start(r#"{ kind = "none" }"#);
    let mut on_a = Session::open(admin.vip);
    if on_a.server != "a" {
        on_a = Session::open(admin.vip);
    }
    assert_eq!(on_a.server, "a");

    let drained = admin.change(&["state", "app", "a", "drain"]).json();
    assert_eq!(drained["state"], "drain");
    assert_eq!(admin.servers_of_new_sessions(4), names(&["b"]));
    assert_eq!(
        on_a.echo("drained").as_deref(),
        Some("drained"),
        "drain keeps sessions"
    );

    admin.change(&["state", "app", "a", "ready"]).json();
    assert_eq!(admin.servers_of_new_sessions(4), names(&["a", "b"]));

    let out = admin.change(&["state", "app", "a", "maintenance"]).json();
    assert_eq!(out["state"], "maintenance");
    assert_eq!(on_a.echo("closed?"), None, "maintenance closes sessions");
    assert_eq!(admin.servers_of_new_sessions(4), names(&["b"]));

    let unknown = admin.change(&["state", "app", "zz", "drain"]);
    assert!(
        unknown.stderr.contains("404") && unknown.stderr.contains("no server `zz`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn weight_add_server_and_remove_server_change_where_traffic_goes() {
    let admin = Admin::start(r#"{ kind = "none" }"#);
    let weighted = admin.change(&["weight", "app", "a", "0"]).json();
    assert_eq!(weighted["weight"], 0);
    assert_eq!(admin.servers_of_new_sessions(4), names(&["b"]));
    let too_heavy = admin.change(&["weight", "app", "a", "999"]);
    assert!(
        too_heavy.stderr.contains("400") && too_heavy.stderr.contains("out of range"),
        "{}",
        too_heavy.stderr
    );

    let c = Backend::start("c");
    let added = admin
        .change(&[
            "add-server",
            "app",
            "c",
            &c.address.to_string(),
            "--weight",
            "50",
        ])
        .json();
    assert_eq!(added["name"], "c");
    assert_eq!(added["weight"], 50);
    assert_eq!(admin.servers_of_new_sessions(6), names(&["b", "c"]));
    let duplicate = admin.change(&["add-server", "app", "c", &c.address.to_string()]);
    assert!(duplicate.stderr.contains("409"), "{}", duplicate.stderr);

    let mut on_b = Session::open(admin.vip);
    while on_b.server != "b" {
        on_b = Session::open(admin.vip);
    }
    let removed = admin.change(&["remove-server", "app", "b"]).json();
    assert_eq!(removed, json!({ "removed": "b" }));
    assert_eq!(admin.servers_of_new_sessions(4), names(&["c"]));
    assert_eq!(
        on_b.echo("finishing").as_deref(),
        Some("finishing"),
        "a removed server's sessions finish"
    );
    let servers = admin.read(&["vip", "app"]).json()["servers"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(servers, 2);
    let again = admin.change(&["remove-server", "app", "b"]);
    assert!(again.stderr.contains("404"), "{}", again.stderr);
}

#[test]
fn clearing_persistence_sends_a_sticky_client_to_a_fresh_choice() {
    let admin = Admin::start(r#"{ kind = "source-ip" }"#);
    let first = server_of_new_session(admin.vip);
    let other = if first == "a" { "b" } else { "a" };
    // Weight 0 stops new choices of `first` but not its sticky clients.
    admin.change(&["weight", "app", &first, "0"]).json();
    assert_eq!(server_of_new_session(admin.vip), first);
    let cleared = admin.change(&["clear-persistence", "app"]).json();
    assert_eq!(cleared, json!({ "cleared": 1 }));
    assert_eq!(server_of_new_session(admin.vip), other);
    assert_eq!(
        admin.change(&["clear-persistence", "app"]).json(),
        json!({ "cleared": 1 })
    );
}

#[test]
fn reload_through_the_api_reports_what_changed() {
    let admin = Admin::start(r#"{ kind = "none" }"#);
    let report = admin.change(&["reload"]).json();
    assert_eq!(report["unchanged"], json!(["app"]));
    assert_eq!(report["added"], json!([]));
}

#[test]
fn every_change_without_a_valid_token_is_refused_and_changes_nothing() {
    let admin = Admin::start(r#"{ kind = "source-ip" }"#);
    let changes: [(&str, &str, &str, Vec<&str>); 6] = [
        (
            "PUT",
            "/api/vips/app/servers/a/state",
            r#"{"state":"maintenance"}"#,
            vec!["state", "app", "a", "maintenance"],
        ),
        (
            "PUT",
            "/api/vips/app/servers/a/weight",
            r#"{"weight":0}"#,
            vec!["weight", "app", "a", "0"],
        ),
        (
            "POST",
            "/api/vips/app/servers",
            r#"{"name":"x","address":"127.0.0.1:1"}"#,
            vec!["add-server", "app", "x", "127.0.0.1:1"],
        ),
        (
            "DELETE",
            "/api/vips/app/servers/a",
            "",
            vec!["remove-server", "app", "a"],
        ),
        (
            "DELETE",
            "/api/vips/app/persistence",
            "",
            vec!["clear-persistence", "app"],
        ),
        ("POST", "/api/reload", "", vec!["reload"]),
    ];
    let wrong = admin.dir.path().join("wrong-token");
    std::fs::write(&wrong, "wrong-token").unwrap();
    for (method, path, body, args) in &changes {
        for headers in [
            vec![],
            vec!["Authorization: Bearer wrong-token"],
            vec!["Authorization: right-token"],
        ] {
            let (status, answer) = http(admin.admin, method, path, &headers, body);
            assert_eq!(status, 401, "{method} {path} with {headers:?}: {answer}");
            assert!(answer.contains("Bearer"), "{answer}");
        }
        for token in [None, Some(wrong.as_path())] {
            let refused = ctl(admin.admin, token, args);
            assert_eq!(refused.code, Some(1), "lb ctl {args:?}");
            assert!(refused.stderr.contains("401"), "{}", refused.stderr);
        }
    }
    let app = admin.read(&["vip", "app"]).json();
    assert_eq!(app["servers"].as_array().unwrap().len(), 2);
    assert_eq!(server(&app, "a")["state"], "up");
    assert_eq!(server(&app, "a")["weight"], 100);
}

#[test]
fn bad_requests_get_clear_json_errors() {
    let admin = Admin::start(r#"{ kind = "none" }"#);
    let auth = ["Authorization: Bearer right-token"];
    let cases = [
        (
            "PUT",
            "/api/vips/app/servers/a/state",
            r#"{"state":"asleep"}"#,
            400,
            "unknown state `asleep`",
        ),
        (
            "PUT",
            "/api/vips/app/servers/a/state",
            "not json",
            400,
            "bad request body",
        ),
        (
            "PUT",
            "/api/vips/app/servers/a/weight",
            r#"{"weight":"heavy"}"#,
            400,
            "bad request body",
        ),
        (
            "POST",
            "/api/vips/app/servers",
            r#"{"address":"127.0.0.1:1"}"#,
            400,
            "missing field `name`",
        ),
        (
            "POST",
            "/api/vips/app/servers",
            r#"{"name":"x","address":"nowhere"}"#,
            400,
            "bad request body",
        ),
        (
            "POST",
            "/api/vips/nope/servers",
            r#"{"name":"x","address":"127.0.0.1:1"}"#,
            404,
            "no VIP `nope`",
        ),
        (
            "DELETE",
            "/api/vips/nope/persistence",
            "",
            404,
            "no VIP `nope`",
        ),
        ("GET", "/api/nothing", "", 404, "no such resource"),
        ("GET", "/api/reload", "", 405, "not allowed"),
    ];
    for (method, path, body, status, message) in cases {
        let (got, answer) = http(admin.admin, method, path, &auth, body);
        assert_eq!(got, status, "{method} {path} {body}: {answer}");
        let error: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert!(
            error["error"].as_str().unwrap().contains(message),
            "{method} {path}: {answer}"
        );
    }
}

#[test]
fn metrics_follow_prometheus_conventions_and_count_traffic() {
    let admin = Admin::start(r#"{ kind = "none" }"#);
    let mut session = Session::open(admin.vip);
    session.echo("hello");
    drop(session);
    let metrics = admin.read(&["metrics"]);
    assert_eq!(metrics.code, Some(0));
    let text = metrics.stdout;
    let value = |needle: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(needle))
            .unwrap_or_else(|| panic!("no {needle} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(text.contains("# TYPE lb_vip_connections counter"), "{text}");
    assert_eq!(value(r#"lb_vip_connections_total{vip="app"}"#), 1.0);
    assert!(value(r#"lb_server_up{vip="app",server="a"}"#) == 1.0);
    assert!(value(r#"lb_server_weight{vip="app",server="b"}"#) == 100.0);
    assert!(
        text.contains(r#"lb_vip_errors_total{vip="app",kind="no_server"} 0"#),
        "{text}"
    );
    assert!(
        text.contains(r#"lb_vip_http_responses_total{vip="app",class="5xx"} 0"#),
        "{text}"
    );
    assert!(
        text.contains("# TYPE lb_server_check_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains(r#"lb_server_check_duration_seconds_count{vip="app",server="a"}"#),
        "{text}"
    );
    assert!(text.contains("# TYPE lb_vip_queue_length gauge"), "{text}");
}
