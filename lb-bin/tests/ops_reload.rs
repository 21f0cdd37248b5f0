//! Reloading the real `lb` binary (SIGHUP and `lb ctl reload`): a valid file applies as a
//! diff without cutting a connection, an invalid one is refused with its errors while
//! traffic goes on.

mod support;

use std::net::{SocketAddr, TcpStream};

use support::admin::{Listener, ctl, server};
use support::backend::{Backend, Session, server_of_new_session};
use support::lb::Lb;
use support::{EVENT_TIMEOUT, free_port, local};

/// Three backends, VIP `app` in front of some of them, maybe VIP `old`, and the admin
/// listener.
struct Setup {
    dir: tempfile::TempDir,
    backends: Vec<(String, SocketAddr)>,
    app: SocketAddr,
    old: SocketAddr,
    new: SocketAddr,
    admin: Listener,
}

impl Setup {
    fn new() -> Setup {
        let backends = ["a", "c", "d"]
            .iter()
            .map(|name| (name.to_string(), Backend::start(name).address))
            .chain([(String::from("b"), local(free_port()))]) // nothing listens: down
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let admin = Listener::new(dir.path(), "t0ken");
        Setup {
            dir,
            backends,
            app: local(free_port()),
            old: local(free_port()),
            new: local(free_port()),
            admin,
        }
    }

    fn address(&self, name: &str) -> SocketAddr {
        self.backends.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// A file with `app` serving `servers` (name or name:weight), with `extra` VIP text.
    fn config(&self, servers: &[&str], client_timeout: &str, extra: &str) -> String {
        let list: Vec<String> = servers
            .iter()
            .map(|spec| {
                let (name, weight) = spec.split_once(':').unwrap_or((spec, "100"));
                format!(
                    r#"{{ name = "{name}", address = "{}", weight = {weight} }}"#,
                    self.address(name)
                )
            })
            .collect();
        format!(
            r#"
{admin}
[[vip]]
name = "app"
listen = ["{app}"]
client_timeout = "{client_timeout}"
persistence = {{ kind = "source-ip" }}
check = {{ kind = "tcp", interval = "100ms", rise = 1, fall = 1, timeout = "1s" }}
servers = [ {list} ]
{extra}
"#,
            admin = self.admin.section(),
            app = self.app,
            list = list.join(", "),
        )
    }

    fn old_vip(&self) -> String {
        format!(
            r#"
[[vip]]
name = "old"
listen = ["{}"]
servers = [ {{ name = "a", address = "{}" }} ]
"#,
            self.old,
            self.address("a")
        )
    }

    fn write(&self, config: &str) {
        std::fs::write(self.dir.path().join("lb.toml"), config).unwrap();
    }

    fn app_json(&self) -> serde_json::Value {
        ctl(self.admin.address, None, &["vip", "app"]).json()
    }
}

fn reload_with_sighup(lb: &mut Lb, setup: &Setup, config: &str) -> String {
    setup.write(config);
    lb.mark();
    lb.process.signal("HUP");
    lb.process.wait_for("reloaded", EVENT_TIMEOUT)
}

#[test]
fn a_valid_file_applies_as_a_diff_and_keeps_health_persistence_and_connections() {
    let setup = Setup::new();
    let first = setup.config(&["a", "b"], "2m", &setup.old_vip());
    let mut lb = Lb::start(setup.dir.path(), &first);
    lb.wait_health("b", "down");
    let mut established = Session::open(setup.app);
    let sticky = established.server.clone();
    assert_eq!(sticky, "a", "b is down, so a takes the client");
    let mut on_old = Session::open(setup.old);
    ctl(
        setup.admin.address,
        Some(&setup.admin.token),
        &["weight", "app", "a", "50"],
    )
    .json();

    // c goes first in the file: the parser numbers it 0, which was a's id.
    let second = setup.config(&["c", "a", "b"], "90s", &new_vip(&setup));
    let line = reload_with_sighup(&mut lb, &setup, &second);
    assert!(line.contains("added=1 removed=1 changed=1"), "{line}");

    let app = setup.app_json();
    assert_eq!(server(&app, "b")["state"], "down", "b kept its health");
    assert_eq!(server(&app, "c")["state"], "up");
    assert_eq!(
        server(&app, "a")["weight"],
        50,
        "a runtime weight the file did not change stays"
    );
    for _ in 0..6 {
        assert_eq!(
            server_of_new_session(setup.app),
            sticky,
            "persistence still points at a, not at whatever took a's position"
        );
    }
    assert_eq!(
        established.echo("still here").as_deref(),
        Some("still here")
    );
    assert_eq!(
        on_old.echo("draining").as_deref(),
        Some("draining"),
        "a removed VIP's connections finish"
    );
    assert!(
        TcpStream::connect(setup.old).is_err(),
        "a removed VIP accepts nothing new"
    );
    assert_eq!(
        server_of_new_session(setup.new),
        "d",
        "a new VIP serves at once"
    );

    // The file changes a's weight now: the file wins.
    let third = setup.config(&["c", "a:10", "b"], "90s", &new_vip(&setup));
    reload_with_sighup(&mut lb, &setup, &third);
    assert_eq!(server(&setup.app_json(), "a")["weight"], 10);
    assert_eq!(
        established.echo("after two reloads").as_deref(),
        Some("after two reloads")
    );
}

fn new_vip(setup: &Setup) -> String {
    format!(
        r#"
[[vip]]
name = "new"
listen = ["{}"]
servers = [ {{ name = "d", address = "{}" }} ]
"#,
        setup.new,
        setup.address("d")
    )
}

#[test]
fn an_invalid_file_is_refused_with_its_errors_and_traffic_goes_on() {
    let setup = Setup::new();
    let config = setup.config(&["a", "c"], "2m", "");
    let mut lb = Lb::start(setup.dir.path(), &config);
    let mut established = Session::open(setup.app);

    let broken = config.replace(
        r#"client_timeout = "2m""#,
        r#"client_timeout = "2 parsecs""#,
    ) + "\n[[vip]]\nname = \"app\"\n";
    setup.write(&broken);
    lb.mark();
    lb.process.signal("HUP");
    let refused = lb.process.wait_for("reload refused", EVENT_TIMEOUT);
    assert!(
        refused.contains("lb.toml:"),
        "errors carry file, line and column: {refused}"
    );

    let answer = ctl(setup.admin.address, Some(&setup.admin.token), &["reload"]);
    assert_eq!(answer.code, Some(1));
    assert!(answer.stderr.contains("400"), "{}", answer.stderr);
    let json = &answer.stderr[answer.stderr.find('{').unwrap()..];
    let body: serde_json::Value = serde_json::from_str(json).unwrap();
    let errors: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(errors.len() >= 2, "every error comes back: {errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("client_timeout")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("duplicate VIP name")),
        "{errors:?}"
    );

    assert_eq!(
        established.echo("unaffected").as_deref(),
        Some("unaffected")
    );
    Session::open(setup.app);
    let app = setup.app_json();
    assert_eq!(app["servers"].as_array().unwrap().len(), 2);

    // Fixed again: an API reload applies it.
    setup.write(&setup.config(&["a", "c", "d"], "2m", ""));
    let report = ctl(setup.admin.address, Some(&setup.admin.token), &["reload"]).json();
    assert_eq!(report["changed"], serde_json::json!(["app"]));
    assert_eq!(setup.app_json()["servers"].as_array().unwrap().len(), 3);
}

#[test]
fn a_vip_moved_to_another_port_rebinds_and_the_old_socket_drains() {
    let setup = Setup::new();
    let config = setup.config(&["a"], "2m", "");
    let mut lb = Lb::start(setup.dir.path(), &config);
    let mut established = Session::open(setup.app);
    let moved = local(free_port());
    let line = reload_with_sighup(
        &mut lb,
        &setup,
        &config.replace(&setup.app.to_string(), &moved.to_string()),
    );
    assert!(line.contains("rebound=1"), "{line}");
    assert_eq!(server_of_new_session(moved), "a");
    assert!(
        TcpStream::connect(setup.app).is_err(),
        "the old address is closed"
    );
    assert_eq!(established.echo("moved").as_deref(), Some("moved"));
}
