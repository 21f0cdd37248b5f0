//! The `lb` binary as operators run it: `lb check` lists every mistake of a file with its line,
//! and `lb profile openstack` prints a file that `lb check` accepts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lb"))
        .args(args)
        .output()
        .expect("lb runs")
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn check(path: &Path) -> (Option<i32>, String) {
    let output = lb(&["check", "-c", path.to_str().unwrap()]);
    (
        output.status.code(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn check_lists_all_five_mistakes_with_their_lines() {
    let path = data("five_mistakes.toml");
    let (code, stdout) = check(&path);
    assert_eq!(code, Some(1), "{stdout}");
    let file = path.display().to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    let expected = [
        "2:18: defaults.client_timeout: missing or unknown unit",
        "7:24: vip[0].persistence.kind: cookie persistence needs mode = \"http\"",
        "9:44: vip[0].servers[0].wieght: unknown key `wieght` (did you mean `weight`?)",
        "10:53: vip[0].servers[1].weight: 300 is out of range (0-256)",
        "14:8: vip[1].name: duplicate VIP name `web`",
    ];
    assert_eq!(lines.len(), expected.len(), "{stdout}");
    for (line, expected) in lines.iter().zip(expected) {
        let expected = format!("{file}:{expected}");
        assert!(
            line.starts_with(&expected),
            "{line}\n  should start with\n{expected}"
        );
    }
}

#[test]
fn check_prints_ok_for_a_valid_file() {
    assert_eq!(check(&data("valid.toml")), (Some(0), "ok\n".to_owned()));
}

#[test]
fn check_exits_2_when_the_file_cannot_be_read() {
    let output = lb(&["check", "-c", "/nonexistent/lb.toml"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("cannot read /nonexistent/lb.toml"),
        "{stderr}"
    );
}

#[test]
fn the_openstack_profile_prints_a_file_that_check_accepts() {
    let output = lb(&[
        "profile",
        "openstack",
        "--vip",
        "127.0.0.10",
        "--controller",
        "controller-0=127.0.0.11",
        "--controller",
        "controller-1=127.0.0.12",
        "--port-offset",
        "20000",
    ]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(text.matches("[[vip]]").count(), 23);
    assert!(
        text.contains("listen = [\"127.0.0.10:23306\"]"),
        "ports are offset"
    );
    assert!(text.contains("{ name = \"controller-1\", address = \"127.0.0.12:23306\" }"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openstack.toml");
    std::fs::write(&path, &text).unwrap();
    assert_eq!(check(&path), (Some(0), "ok\n".to_owned()));
}

#[test]
fn the_profile_refuses_bad_controllers_clearly() {
    let output = lb(&[
        "profile",
        "openstack",
        "--vip",
        "127.0.0.10",
        "--controller",
        "c0",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("is not NAME=ADDR"), "{stderr}");
}

#[test]
fn a_transparent_profile_checks_with_a_note_on_the_routing_it_needs() {
    let output = lb(&[
        "profile",
        "openstack",
        "--vip",
        "192.0.2.10",
        "--controller",
        "controller-0=192.0.2.11",
        "--transparent",
    ]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    // Every tcp VIP but mysql and redis: 23 VIPs less horizon (http), mysql and redis.
    assert_eq!(text.matches("source = \"client\"").count(), 20, "{text}");
    for vip in text.split("[[vip]]").skip(1) {
        let transparent = vip.contains("source = \"client\"");
        let left_alone = ["horizon", "mysql", "redis"]
            .iter()
            .any(|name| vip.contains(&format!("name = \"{name}\"")));
        assert_eq!(transparent, !left_alone, "{vip}");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openstack.toml");
    std::fs::write(&path, &text).unwrap();
    let (code, stdout) = check(&path);
    assert_eq!(code, Some(0), "{stdout}");
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("ok"));
    let note = lines.collect::<Vec<_>>().join("\n");
    assert!(
        note.starts_with("note: source = \"client\" on aodh, ceilometer,"),
        "{note}"
    );
    assert!(!note.contains("mysql") && !note.contains("redis"), "{note}");
    for routing in [
        "ip rule add fwmark 1 lookup 100",
        "ip route add local 0.0.0.0/0 dev lo table 100",
    ] {
        assert!(note.contains(routing), "{note}");
    }
}
