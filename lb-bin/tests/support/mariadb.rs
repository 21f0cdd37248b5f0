//! Real MariaDB servers on loopback (a private datadir each, no grant tables), each with a
//! Galera-clustercheck-style HTTP responder on another port: 200 while `mariadb-admin ping`
//! reaches the server, 503 otherwise, as the xinetd clustercheck script answers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use super::EVENT_TIMEOUT;
use super::process::Process;

/// A mariadbd with its clustercheck responder.
pub struct MariaDb {
    /// The SQL address.
    pub address: SocketAddr,
    /// The clustercheck (HTTP) address.
    pub check_address: SocketAddr,
    /// The server process; `None` while stopped.
    pub process: Option<Process>,
    /// `@@server_id`, which tells the servers apart in query results.
    pub server_id: u32,
    datadir: PathBuf,
    socket: PathBuf,
    name: String,
    stopping: Arc<AtomicBool>,
}

impl MariaDb {
    /// Creates a datadir, starts the server on `address` with `server_id`, waits until it is
    /// ready, and starts the clustercheck on `check_address`.
    pub fn start(
        dir: &Path,
        name: &str,
        server_id: u32,
        address: SocketAddr,
        check_address: SocketAddr,
    ) -> MariaDb {
        let datadir = dir.join(name);
        let status = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--user=root",
                "--skip-test-db",
                "--skip-name-resolve",
            ])
            .arg(format!("--datadir={}", datadir.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run mariadb-install-db");
        assert!(status.success(), "mariadb-install-db failed for {name}");
        let mut server = MariaDb {
            address,
            check_address,
            server_id,
            process: None,
            socket: datadir.join("mysqld.sock"),
            datadir,
            name: name.to_owned(),
            stopping: Arc::new(AtomicBool::new(false)),
        };
        server.resume();
        clustercheck(address, check_address, Arc::clone(&server.stopping));
        server
    }

    /// Starts (again) the server process and waits until it accepts connections.
    pub fn resume(&mut self) {
        let mut command = Command::new("mariadbd");
        command.args([
            "--no-defaults",
            "--user=root",
            "--skip-grant-tables",
            "--skip-log-bin",
        ]);
        command.arg("--innodb-buffer-pool-size=16M");
        command.arg(format!("--bind-address={}", self.address.ip()));
        command.arg(format!("--port={}", self.address.port()));
        command.arg(format!("--server-id={}", self.server_id));
        command.arg(format!("--datadir={}", self.datadir.display()));
        command.arg(format!("--socket={}", self.socket.display()));
        let process = Process::spawn(&self.name, command);
        process.wait_for("ready for connections", EVENT_TIMEOUT);
        self.process = Some(process);
    }

    /// Kills the server at once; the clustercheck then answers 503.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.kill();
    }
}

/// Runs one statement through `address` with the mariadb client; returns its output or error.
pub fn query(address: SocketAddr, sql: &str) -> Result<String, String> {
    let output = Command::new("mariadb")
        .args([
            "--protocol=tcp",
            "-uroot",
            "-N",
            "-B",
            "--connect-timeout=10",
        ])
        .arg(format!("-h{}", address.ip()))
        .arg(format!("-P{}", address.port()))
        .args(["-e", sql])
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// Starts the clustercheck responder on `address` for the server at `sql`.
fn clustercheck(sql: SocketAddr, address: SocketAddr, stopping: Arc<AtomicBool>) {
    let listener = TcpListener::bind(address).expect("bind clustercheck");
    thread::spawn(move || {
        for stream in listener.incoming() {
            if stopping.load(Ordering::SeqCst) {
                return;
            }
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let alive = Command::new("mariadb-admin")
                .args(["--protocol=tcp", "-uroot", "--connect-timeout=2"])
                .arg(format!("-h{}", sql.ip()))
                .arg(format!("-P{}", sql.port()))
                .arg("ping")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            let (status, body) = if alive {
                ("200 OK", "Galera cluster node is synced.\r\n")
            } else {
                (
                    "503 Service Unavailable",
                    "Galera cluster node is not synced.\r\n",
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
}
