//! Real nginx servers on loopback, started from Debian's `nginx` binary in a temporary
//! directory, each answering every request with its name and what it received.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What an nginx server answers on `/`: its name, then the request fields the tests check.
const ECHO: &str = "name=$server_name xff=[$http_x_forwarded_for] proto=[$http_x_forwarded_proto] \
port=[$http_x_forwarded_port] fwd=[$http_forwarded] cookie=[$http_cookie] \
rule=[$http_x_rule] debug=[$http_x_debug] uri=$request_uri host=$http_host conn=$connection\\n";

/// An nginx master with one worker, stopped on drop.
pub struct Nginx {
    pub address: SocketAddr,
    child: Child,
    prefix: PathBuf,
}

impl Nginx {
    /// Starts nginx named `name` on a free port; `extra` is added to its `server` block.
    pub fn start(name: &str, extra: &str) -> Nginx {
        Nginx::start_with_connections(name, extra, 1024)
    }

    /// Like [`Nginx::start`], its worker taking up to `connections` connections at once.
    pub fn start_with_connections(name: &str, extra: &str, connections: u32) -> Nginx {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let prefix =
            std::env::temp_dir().join(format!("lb-http-{}-{name}-{port}", std::process::id()));
        std::fs::create_dir_all(prefix.join("logs")).unwrap();
        let config = prefix.join("nginx.conf");
        std::fs::write(
            &config,
            format!(
                "worker_processes 1;\nerror_log stderr notice;\npid {pid};\n\
                 events {{ worker_connections {connections}; }}\n\
                 http {{ access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp};\n\
                 fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};\n\
                 keepalive_requests 100000; client_max_body_size 0;\n\
                 server {{ listen 127.0.0.1:{port}; server_name {name};\n\
                 location / {{ default_type text/plain; return 200 \"{ECHO}\"; }}\n{extra} }} }}\n",
                pid = prefix.join("nginx.pid").display(),
                tmp = prefix.display(),
            ),
        )
        .unwrap();
        let mut child = Command::new("nginx")
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&config)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx (Debian package `nginx`) must be installed");
        await_start(name, child.stderr.take().unwrap());
        Nginx {
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            prefix,
        }
    }

    /// The directory nginx serves files from with `root`.
    pub fn dir(&self) -> &PathBuf {
        &self.prefix
    }
}

/// Waits (at most 10 s) for nginx's notice that it started its worker, logged once its
/// listener is open; panics with what nginx printed if it exits or takes longer. Goes on
/// draining `stderr` afterwards, so nginx never blocks on a full pipe.
fn await_start(name: &str, stderr: ChildStderr) {
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut printed = Vec::new();
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("start worker process") => return,
            Ok(line) => printed.push(line),
            Err(_) => panic!(
                "nginx {name} did not start within 10 s:\n{}",
                printed.join("\n")
            ),
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master then stops its worker too.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.prefix);
    }
}
