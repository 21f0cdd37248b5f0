//! The admin listener from a test: `lb ctl` run as an operator runs it, and a raw HTTP/1.1
//! client for what `lb ctl` does not send (a wrong token, a bad body).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{EVENT_TIMEOUT, free_port, local};

/// The admin listener a test configures: a free loopback address and a token file.
pub struct Listener {
    /// Where it listens.
    pub address: SocketAddr,
    /// The file holding the token.
    pub token: PathBuf,
}

impl Listener {
    /// A free address, and `token` written to `dir/token`.
    pub fn new(dir: &Path, token: &str) -> Listener {
        let path = dir.join("token");
        std::fs::write(&path, format!("{token}\n")).unwrap();
        Listener {
            address: local(free_port()),
            token: path,
        }
    }

    /// The `[admin]` section of a config file.
    pub fn section(&self) -> String {
        format!(
            "[admin]\nlisten = \"{}\"\ntoken_file = \"{}\"\n",
            self.address,
            self.token.display()
        )
    }
}

/// What `lb ctl` did: exit code, stdout, stderr.
pub struct Ctl {
    /// The exit code.
    pub code: Option<i32>,
    /// What it printed on stdout (the JSON answer on success).
    pub stdout: String,
    /// What it printed on stderr (the error otherwise).
    pub stderr: String,
}

impl Ctl {
    /// The stdout as JSON, asserting the command succeeded.
    pub fn json(&self) -> serde_json::Value {
        assert_eq!(self.code, Some(0), "lb ctl failed: {}", self.stderr);
        serde_json::from_str(&self.stdout).expect("lb ctl prints JSON")
    }
}

/// Runs `lb ctl --admin <admin> [--token-file <token>] <args>`.
pub fn ctl(admin: SocketAddr, token: Option<&Path>, args: &[&str]) -> Ctl {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lb"));
    command.arg("ctl").arg("--admin").arg(admin.to_string());
    if let Some(token) = token {
        command.arg("--token-file").arg(token);
    }
    let output = command.args(args).output().expect("lb ctl runs");
    Ctl {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Sends one request with the given extra header lines; returns the status and the body.
pub fn http(
    admin: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(admin).expect("connect to the admin listener");
    stream.set_read_timeout(Some(EVENT_TIMEOUT)).unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// Finds server `name` in a VIP's JSON.
pub fn server<'v>(vip: &'v serde_json::Value, name: &str) -> &'v serde_json::Value {
    vip["servers"]
        .as_array()
        .expect("a servers list")
        .iter()
        .find(|server| server["name"] == name)
        .unwrap_or_else(|| panic!("no server {name} in {vip}"))
}
