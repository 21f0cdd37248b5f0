//! The access log of HTTP mode, from the real `lb` binary in front of a real nginx: one line
//! per request with method, path, status, server, timings, bytes and how it ended.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use support::lb::Lb;
use support::nginx::Nginx;
use support::{EVENT_TIMEOUT, free_port, local};

/// Sends one `GET path` with `Connection: close` and returns the whole response.
fn get(vip: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(vip).unwrap();
    stream.set_read_timeout(Some(EVENT_TIMEOUT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn every_request_gets_a_line_with_status_server_timings_bytes_and_termination() {
    let dir = tempfile::tempdir().unwrap();
    let nginx = Nginx::start(dir.path(), "nginx-0");
    let (web, dead) = (local(free_port()), local(free_port()));
    let lb = Lb::start(
        dir.path(),
        &format!(
            r#"
[[vip]]
name = "web"
listen = ["{web}"]
mode = "http"
servers = [ {{ name = "nginx-0", address = "{}" }} ]
[[vip]]
name = "dead"
listen = ["{dead}"]
mode = "http"
check = {{ kind = "tcp", initial = "down" }}
servers = [ {{ name = "gone", address = "{}" }} ]
"#,
            nginx.address,
            local(free_port()),
        ),
    );

    assert!(get(web, "/hello?x=1").starts_with("HTTP/1.1 200"));
    let line = lb.process.wait_for("path=/hello", EVENT_TIMEOUT);
    for field in [
        "lb::access",
        "client=127.0.0.1:",
        "vip=web",
        "server=nginx-0",
        "method=GET",
        "status=200",
        "head_ms=",
        "total_ms=",
        "bytes_out=8", // nginx answers `nginx-0\n`
        "termination=finished",
    ] {
        assert!(line.contains(field), "{field} missing from {line}");
    }

    assert!(get(dead, "/nothing").starts_with("HTTP/1.1 503"));
    let line = lb.process.wait_for("path=/nothing", EVENT_TIMEOUT);
    for field in ["vip=dead", "server=-", "status=503", "termination=local"] {
        assert!(line.contains(field), "{field} missing from {line}");
    }
}
