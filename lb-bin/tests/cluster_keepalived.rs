//! `lb keepalived` as operators run it: keepalived.conf for one node of a pair, which
//! keepalived's own configuration test (`keepalived -t`) accepts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lb"))
        .args(args)
        .output()
        .expect("lb runs")
}

/// A node with a MariaDB VIP and a web VIP on two addresses, VRRP on `interface`.
fn pair_config(dir: &Path, interface: &str, vrrp: bool) -> PathBuf {
    let mut text = format!(
        r#"[admin]
listen = "127.0.0.1:9911"

[cluster]
node = "lb1"
listen = "10.79.0.1:7440"
peer = {{ name = "lb2", address = "10.79.0.2:7440" }}
secret_file = "{dir}/cluster.key"

[[vip]]
name = "mysql"
listen = "10.77.0.100:3306"
servers = [{{ name = "db1", address = "10.78.0.21:3306" }}]

[[vip]]
name = "web"
listen = ["10.77.0.100:80", "10.77.0.101:80"]
servers = [{{ name = "web1", address = "10.78.0.21:80" }}]
"#,
        dir = dir.display()
    );
    if vrrp {
        text.push_str(&format!(
            r#"
[cluster.vrrp]
interface = "{interface}"
router_id = 51
advert_interval = "200ms"
src_address = "10.77.0.11"
peer_address = "10.77.0.12"
"#
        ));
    }
    let path = dir.join("lb.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn prints_one_backup_instance_with_every_vip_address_and_lbs_trackers() {
    let dir = tempfile::tempdir().unwrap();
    let config = pair_config(dir.path(), "eth0", true);
    let output = lb(&["keepalived", "-c", config.to_str().unwrap()]);
    let conf = stdout(&output);
    assert!(output.status.success(), "{}", stderr(&output));
    let lb = std::fs::canonicalize(env!("CARGO_BIN_EXE_lb")).unwrap();
    let (lb, config) = (lb.display(), config.display());
    for expected in [
        "    vrrp_version 3\n",
        &format!("    process {lb} run -c {config}\n    param_match partial\n    weight 0\n"),
        &format!("    script \"{lb} ctl --admin 127.0.0.1:9911 health\"\n"),
        "vrrp_instance lb {\n    state BACKUP\n    nopreempt\n    interface eth0\n",
        "    virtual_router_id 51\n    priority 100\n    advert_int 0.2\n",
        "    unicast_src_ip 10.77.0.11\n    unicast_peer {\n        10.77.0.12\n    }\n",
        "    check_unicast_src\n",
        "    virtual_ipaddress {\n        10.77.0.100/32 dev eth0\n        10.77.0.101/32 dev eth0\n    }\n",
        "    track_process {\n        lb_process\n    }\n    track_script {\n        lb_health\n    }\n",
    ] {
        assert!(conf.contains(expected), "missing\n{expected}\nin\n{conf}");
    }
    assert_eq!(conf.matches("10.77.0.100/32").count(), 1, "{conf}");
}

#[test]
fn keepalived_accepts_what_it_prints() {
    if Command::new("keepalived")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("SKIPPED: keepalived is not installed (.ci/install-deps installs it)");
        return;
    }
    // keepalived's test wants the interface to exist on this host.
    let Some(interface) = std::fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .find(|name| name != "lo")
    else {
        println!("SKIPPED: this host has no network interface but lo for VRRP");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = pair_config(dir.path(), &interface, true);
    let output = lb(&["keepalived", "-c", config.to_str().unwrap(), "--check"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("vrrp_instance lb {"));
    let namespaced = lb(&[
        "keepalived",
        "-c",
        config.to_str().unwrap(),
        "--check",
        "--net-namespace",
        "lb1",
    ]);
    assert!(namespaced.status.success(), "{}", stderr(&namespaced));
    assert!(stdout(&namespaced).contains("\nnet_namespace lb1\n"));
}

#[test]
fn a_check_that_keepalived_refuses_prints_nothing_and_fails() {
    if Command::new("keepalived")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("SKIPPED: keepalived is not installed (.ci/install-deps installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = pair_config(dir.path(), "no-such-if0", true);
    let output = lb(&["keepalived", "-c", config.to_str().unwrap(), "--check"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("keepalived -t refused the configuration"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_configuration_without_vrrp_settings_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let config = pair_config(dir.path(), "eth0", false);
    let output = lb(&["keepalived", "-c", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let expected = format!(
        "lb: {}: the configuration has no [cluster.vrrp] table",
        config.display()
    );
    assert!(
        stderr(&output).starts_with(&expected),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_invalid_configuration_is_refused_with_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = pair_config(dir.path(), "eth0", true);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("router_id = 51", "router_id = 256")).unwrap();
    let output = lb(&["keepalived", "-c", config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("cluster.vrrp.router_id: 256 is out of range (1-255)"),
        "{}",
        stderr(&output)
    );
}
