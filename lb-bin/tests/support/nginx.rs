//! Real nginx servers on loopback, each answering every request with its own name.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use super::process::Process;
use super::{EVENT_TIMEOUT, free_port, local};

/// An nginx master with one worker, serving `<name>` on every path.
pub struct Nginx {
    /// Its address.
    pub address: SocketAddr,
    /// The process (nginx in the foreground).
    pub process: Process,
    /// Whether it was stopped or killed already (its pid may belong to another process now).
    gone: bool,
}

/// Starts `count` nginx servers, `nginx-0`, `nginx-1`, ..., and answers them with their
/// entries for a VIP's `servers = [ ... ]` list.
pub fn servers(dir: &Path, count: usize) -> (Vec<Nginx>, String) {
    let servers: Vec<Nginx> = (0..count)
        .map(|i| Nginx::start(dir, &format!("nginx-{i}")))
        .collect();
    let entries: Vec<String> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| format!(r#"{{ name = "nginx-{i}", address = "{}" }}"#, s.address))
        .collect();
    (servers, entries.join(", "))
}

impl Nginx {
    /// Starts nginx on a free port and waits until it accepts connections.
    pub fn start(dir: &Path, name: &str) -> Nginx {
        Nginx::start_on(dir, name, free_port())
    }

    /// Starts nginx on `port` (again, after [`Nginx::stop`]: same name, same directory) and
    /// waits until it accepts connections.
    pub fn start_on(dir: &Path, name: &str, port: u16) -> Nginx {
        let prefix = dir.join(name);
        std::fs::create_dir_all(prefix.join("logs")).unwrap();
        let config = prefix.join("nginx.conf");
        std::fs::write(
            &config,
            format!(
                "worker_processes 1;\nerror_log stderr notice;\npid {pid};\n\
                 events {{ worker_connections 4096; }}\n\
                 http {{ access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp};\n\
                 fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};\n\
                 server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"{name}\\n\"; }} }} }}\n",
                pid = prefix.join("nginx.pid").display(),
                tmp = prefix.display(),
            ),
        )
        .unwrap();
        let mut command = Command::new("nginx");
        command
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&config)
            .args(["-g", "daemon off;"]);
        let process = Process::spawn(name, command);
        // nginx logs "start worker process" once its listener is open.
        process.wait_for("start worker process", EVENT_TIMEOUT);
        Nginx {
            address: local(port),
            process,
            gone: false,
        }
    }

    /// Stops nginx gracefully (SIGQUIT), as an operator's `nginx -s quit` or a service stop
    /// does: it stops listening (connections not accepted yet are reset), closes its idle
    /// kept-alive connections, finishes the requests under way, and exits; waits for that.
    pub fn stop(&mut self) {
        self.process.signal("QUIT");
        self.process.wait_exit(EVENT_TIMEOUT);
        self.gone = true;
    }

    /// Kills the master and its worker at once (SIGKILL), like a server that loses power:
    /// one `kill` for all of them, since a running master respawns a killed worker and a
    /// worker orphaned by a killed master goes on serving on the port.
    pub fn kill(&mut self) {
        if self.gone {
            return;
        }
        self.signal_all("KILL");
        self.process.kill();
        self.gone = true;
    }

    /// Sends `signal` ("STOP", "CONT", "KILL", ...) to the master and its worker at once.
    pub fn signal_all(&self, signal: &str) {
        let parent = self.process.pid().to_string();
        let workers = Command::new("pgrep")
            .args(["-P", &parent])
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
            .unwrap_or_default();
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(&parent)
            .args(workers.split_whitespace())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.kill();
    }
}
