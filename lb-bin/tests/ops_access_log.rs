//! The access log of the real `lb` binary: one line per TCP connection, under the
//! `lb::access` target, as text or JSON.

mod support;

use std::net::TcpStream;
use std::process::Command;

use support::backend::{Backend, Session};
use support::lb::wait_ready;
use support::process::Process;
use support::{EVENT_TIMEOUT, free_port, local};

/// `lb run --log-format <format>` with VIP `app` over backend `a`, and VIP `dead` whose
/// only server is down.
fn start(
    dir: &std::path::Path,
    format: &str,
) -> (Process, std::net::SocketAddr, std::net::SocketAddr) {
    let a = Backend::start("a");
    let (app, dead) = (local(free_port()), local(free_port()));
    let config = format!(
        r#"
[[vip]]
name = "app"
listen = ["{app}"]
servers = [ {{ name = "a", address = "{a}" }} ]
[[vip]]
name = "dead"
listen = ["{dead}"]
retries = 0
check = {{ kind = "tcp", initial = "down" }}
servers = [ {{ name = "gone", address = "{gone}" }} ]
"#,
        a = a.address,
        gone = local(free_port()),
    );
    let path = dir.join("lb.toml");
    std::fs::write(&path, config).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_lb"));
    command
        .args(["run", "--log-format", format, "-c"])
        .arg(&path)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1");
    let process = Process::spawn("lb", command);
    wait_ready(&process);
    (process, app, dead)
}

fn one_session(app: std::net::SocketAddr) {
    let mut session = Session::open(app);
    assert_eq!(session.echo("hello").as_deref(), Some("hello"));
}

#[test]
fn a_text_line_per_connection_says_who_where_how_long_how_much_and_why_it_ended() {
    let dir = tempfile::tempdir().unwrap();
    let (lb, app, dead) = start(dir.path(), "text");
    one_session(app);
    let line = lb.wait_for("termination=finished", EVENT_TIMEOUT);
    assert!(line.contains("lb::access"), "{line}");
    assert!(line.contains("client=127.0.0.1:"), "{line}");
    assert!(
        line.contains("vip=\"app\"") || line.contains("vip=app"),
        "{line}"
    );
    assert!(
        line.contains("server=\"a\"") || line.contains("server=a"),
        "{line}"
    );
    assert!(
        line.contains("connect_ms=") && line.contains("total_ms="),
        "{line}"
    );
    assert!(
        line.contains("bytes_in=6 bytes_out=8"),
        "`hello\\n` in, `a\\nhello\\n` out: {line}"
    );

    drop(TcpStream::connect(dead).unwrap());
    let refused = lb.wait_for("termination=no-server", EVENT_TIMEOUT);
    assert!(
        refused.contains("server=\"-\"") || refused.contains("server=-"),
        "{refused}"
    );
    assert!(refused.contains("connect_ms=-"), "{refused}");
}

#[test]
fn json_lines_carry_the_same_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (lb, app, _) = start(dir.path(), "json");
    one_session(app);
    let line = lb.wait_for(r#""termination":"finished""#, EVENT_TIMEOUT);
    let record: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["target"], "lb::access");
    let fields = &record["fields"];
    assert_eq!(fields["vip"], "app");
    assert_eq!(fields["server"], "a");
    assert_eq!(fields["bytes_in"], 6);
    assert_eq!(fields["bytes_out"], 8);
    assert!(fields["client"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(fields["total_ms"].is_u64());
}
