//! Real redis-server instances on loopback, and a minimal RESP client.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;

use super::process::Process;
use super::{EVENT_TIMEOUT, free_port, local};

/// A redis-server on 127.0.0.1, master or replica.
pub struct Redis {
    /// Its address.
    pub address: SocketAddr,
    /// The process.
    pub process: Process,
}

impl Redis {
    /// Starts a master (`replica_of` = None) or a replica, and waits until it is ready (for a
    /// replica: until its first sync with the master succeeded).
    pub fn start(dir: &Path, name: &str, replica_of: Option<SocketAddr>) -> Redis {
        let port = free_port();
        let data = dir.join(name);
        std::fs::create_dir_all(&data).unwrap();
        let mut command = Command::new("redis-server");
        command.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ]);
        command.args([
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "no",
        ]);
        command.arg("--dir").arg(&data);
        if let Some(master) = replica_of {
            command.args(["--replicaof", "127.0.0.1", &master.port().to_string()]);
        }
        let process = Process::spawn(name, command);
        process.wait_for("Ready to accept connections", EVENT_TIMEOUT);
        if replica_of.is_some() {
            process.wait_for(
                "MASTER <-> REPLICA sync: Finished with success",
                EVENT_TIMEOUT,
            );
        }
        Redis {
            address: local(port),
            process,
        }
    }

    /// Runs one command directly against this server.
    pub fn command(&self, args: &[&str]) -> String {
        RespClient::connect(self.address)
            .expect("connect to redis")
            .command(args)
    }
}

/// A blocking RESP client, just enough for tests: sends a command, reads one reply as text
/// (`+OK`, `-ERR ...`, `:1`, or the bulk string's contents).
pub struct RespClient {
    reader: BufReader<TcpStream>,
}

impl RespClient {
    /// Connects.
    pub fn connect(address: SocketAddr) -> std::io::Result<RespClient> {
        let stream = TcpStream::connect(address)?;
        stream.set_read_timeout(Some(EVENT_TIMEOUT))?;
        Ok(RespClient {
            reader: BufReader::new(stream),
        })
    }

    /// Sends one command and reads its reply; an I/O error reads as `-IO <error>`.
    pub fn command(&mut self, args: &[&str]) -> String {
        self.try_command(args)
            .unwrap_or_else(|e| format!("-IO {e}"))
    }

    fn try_command(&mut self, args: &[&str]) -> std::io::Result<String> {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        self.reader.get_mut().write_all(request.as_bytes())?;
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let line = line.trim_end().to_owned();
        let Some(length) = line.strip_prefix('$') else {
            return Ok(line);
        };
        let length: i64 = length.parse().map_err(std::io::Error::other)?;
        if length < 0 {
            return Ok(String::from("(nil)"));
        }
        let mut body = vec![0u8; length as usize + 2];
        std::io::Read::read_exact(&mut self.reader, &mut body)?;
        body.truncate(length as usize);
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}
