//! `lb import` as an operator runs it on a TripleO controller's haproxy.cfg: the TOML it
//! prints passes `lb check`, `--check` finds every VIP as haproxy.cfg describes it, the
//! report names what is left out with its line, and the exit status says so.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::tripleo_cfg::{Layout, haproxy_cfg, service_names};

fn lb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lb"))
        .args(args)
        .output()
        .expect("lb runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn controller_layout() -> Layout {
    Layout {
        internal: "172.17.1.10".parse().unwrap(),
        public: Some("10.0.0.5".parse().unwrap()),
        controllers: (0..3)
            .map(|n| {
                let address = format!("172.17.1.{}", 11 + n).parse().unwrap();
                (format!("controller-{n}.internalapi.localdomain"), address)
            })
            .collect(),
        port_offset: 0,
        redis_password: Some("s3cret".to_owned()),
    }
}

/// Writes `cfg` as `dir/haproxy.cfg` and runs `lb import` on it with `args`.
fn import(dir: &Path, cfg: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, cfg).unwrap();
    let mut all = vec!["import", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = lb(&all);
    (
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

#[test]
fn a_tripleo_controller_imports_to_a_configuration_lb_check_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = haproxy_cfg(&controller_layout());
    let (code, toml, report) = import(dir.path(), &cfg, &["--check"]);
    println!("{toml}\n{report}");
    assert_eq!(
        code,
        Some(1),
        "the report lists the logging and stats lines"
    );
    let lb_toml = dir.path().join("lb.toml");
    std::fs::write(&lb_toml, &toml).unwrap();
    let check = lb(&["check", "-c", lb_toml.to_str().unwrap()]);
    assert_eq!(text(&check.stdout), "ok\n", "{}", text(&check.stderr));
    assert!(
        report.contains("lb import: check: every VIP has the listen addresses, servers"),
        "{report}"
    );
    let config = lb_core::config::parse("lb.toml", &toml).unwrap();
    let names: Vec<&str> = config.vips.iter().map(|vip| vip.name.as_str()).collect();
    assert_eq!(names, service_names());
    let vip = |name: &str| config.vips.iter().find(|vip| vip.name == name).unwrap();
    let mysql = vip("mysql");
    assert_eq!(mysql.scheduler.as_str(), "first");
    assert_eq!(mysql.persistence.kind_name(), "last-successful");
    assert!(mysql.servers.iter().all(|server| server.backup));
    assert!(mysql.shutdown_sessions_on_down);
    assert_eq!(mysql.check.port, Some(9200));
    assert_eq!(mysql.check.kind.as_str(), "http");
    assert_eq!(vip("horizon").persistence.kind_name(), "cookie");
    assert_eq!(vip("horizon").listen.len(), 2);
    assert_eq!(vip("redis").check.kind.as_str(), "script");
    assert_eq!(vip("nova_novncproxy").persistence.kind_name(), "source-ip");
    for located in [
        "haproxy.cfg:5: left out: `log  /dev/log local0`",
        "haproxy.cfg:26: left out: `listen haproxy.stats`: the whole proxy: a stats page",
    ] {
        assert!(report.contains(located), "{located}\n{report}");
    }
}

#[test]
fn an_unknown_construct_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = "frontend web\n  bind 192.0.2.1:80\n  mode http\n  option forwardfor\n  \
               acl is_api path_beg /api\n  use_backend api if is_api\n  default_backend app\n\
               backend app\n  mode http\n  frobnicate 3\n  server a 192.0.2.11:8080 check\n";
    let (code, toml, report) = import(dir.path(), cfg, &[]);
    assert_eq!(code, Some(1), "{report}");
    for located in [
        "haproxy.cfg:5: left out: `acl is_api path_beg /api`: lb has no ACLs",
        "haproxy.cfg:6: left out: `use_backend api if is_api`: lb has no ACLs",
        "haproxy.cfg:10: left out: `frobnicate 3`: lb has no such setting",
    ] {
        assert!(report.contains(located), "{located}\n{report}");
    }
    assert!(toml.contains("name = \"web\""), "{toml}");
}

#[test]
fn a_file_with_nothing_left_out_exits_0_and_an_unreadable_one_2() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = "defaults\n  mode tcp\n  option redispatch\n  timeout connect 5s\n  \
               timeout client 1m\n  timeout server 1m\nlisten db\n  bind 192.0.2.1:3306\n  \
               balance leastconn\n  server a 192.0.2.11:3306 check weight 3\n  \
               server b 192.0.2.12:3306 check weight 1 backup\n";
    let (code, toml, report) = import(dir.path(), cfg, &["--check"]);
    assert_eq!(code, Some(0), "{toml}\n{report}");
    assert!(toml.contains("weight = 3"), "{toml}");
    let output = lb(&["import", "/nonexistent/haproxy.cfg"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("cannot read /nonexistent/haproxy.cfg"));
}
