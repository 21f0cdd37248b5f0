//! `lb ctl`: the admin API from the shell, over a minimal HTTP/1.1 client (one request per
//! connection, `Connection: close`), printing the JSON answer.
//!
//! Exit codes: 0 on a 2xx answer (body on stdout), 1 on any other answer (the error on
//! stderr), 2 when the admin listener cannot be reached or the token file cannot be read.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::cli::{CtlAction, CtlArgs};

/// How long `lb ctl` waits for the admin listener (a reload may bind many sockets).
const TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn run(args: &CtlArgs) -> ExitCode {
    let token = match &args.token_file {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(token) => Some(token.trim().to_owned()),
            Err(error) => {
                eprintln!("lb ctl: cannot read {}: {error}", path.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let (method, path, body) = request_for(&args.action);
    match send(args.admin, method, &path, body.as_deref(), token.as_deref()) {
        Ok((status, body)) if (200..300).contains(&status) => {
            print!("{body}");
            ExitCode::SUCCESS
        }
        Ok((status, body)) => {
            eprint!("lb ctl: {status}: {body}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!(
                "lb ctl: cannot reach the admin listener at {}: {error}",
                args.admin
            );
            ExitCode::from(2)
        }
    }
}

/// The method, path and JSON body of `action`.
fn request_for(action: &CtlAction) -> (&'static str, String, Option<String>) {
    let server =
        |vip: &str, server: &str, what: &str| format!("/api/vips/{vip}/servers/{server}{what}");
    match action {
        CtlAction::Vips => ("GET", "/api/vips".into(), None),
        CtlAction::Vip { vip } => ("GET", format!("/api/vips/{vip}"), None),
        CtlAction::State { vip, server: name, state } => (
            "PUT",
            server(vip, name, "/state"),
            Some(json!({ "state": state }).to_string()),
        ),
        CtlAction::Weight { vip, server: name, weight } => (
            "PUT",
            server(vip, name, "/weight"),
            Some(json!({ "weight": weight }).to_string()),
        ),
        CtlAction::AddServer { vip, name, address, weight, backup } => (
            "POST",
            format!("/api/vips/{vip}/servers"),
            Some(json!({ "name": name, "address": address.to_string(), "weight": weight, "backup": backup }).to_string()),
        ),
        CtlAction::RemoveServer { vip, server: name } => ("DELETE", server(vip, name, ""), None),
        CtlAction::ClearPersistence { vip } => ("DELETE", format!("/api/vips/{vip}/persistence"), None),
        CtlAction::Reload => ("POST", "/api/reload".into(), None),
        CtlAction::Metrics => ("GET", "/metrics".into(), None),
        CtlAction::Health => ("GET", "/api/cluster/health".into(), None),
        CtlAction::Cluster => ("GET", "/api/cluster".into(), None),
    }
}

/// Sends one request and returns the status code and body.
fn send(
    admin: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&admin, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    parse(&response).ok_or_else(|| std::io::Error::other("malformed HTTP response"))
}

/// The status and body of a whole HTTP/1.1 response with a Content-Length body.
fn parse(response: &str) -> Option<(u16, String)> {
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_map_to_the_documented_routes_and_bodies() {
        let (method, path, body) = request_for(&CtlAction::State {
            vip: "web".into(),
            server: "a".into(),
            state: "drain".into(),
        });
        assert_eq!(
            (method, path.as_str()),
            ("PUT", "/api/vips/web/servers/a/state")
        );
        assert_eq!(body.as_deref(), Some(r#"{"state":"drain"}"#));
        let (method, path, _) = request_for(&CtlAction::RemoveServer {
            vip: "web".into(),
            server: "a".into(),
        });
        assert_eq!(
            (method, path.as_str()),
            ("DELETE", "/api/vips/web/servers/a")
        );
    }

    #[test]
    fn a_response_reads_as_status_and_body() {
        let response = "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse(response), Some((404, "{}".to_owned())));
        assert_eq!(parse("garbage"), None);
    }
}
