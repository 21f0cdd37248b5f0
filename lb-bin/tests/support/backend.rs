//! Plain TCP servers written for the operations tests, each on its own loopback port:
//! - [`Backend`]: greets every connection with `<name>\n`, then echoes each line back;
//! - [`Streamer`]: sends a fixed number of bytes slowly (a long download), then closes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use super::EVENT_TIMEOUT;

/// A greeting echo server.
pub struct Backend {
    /// Its address.
    pub address: SocketAddr,
}

impl Backend {
    /// Starts `name` on a free port.
    pub fn start(name: &str) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let name = name.to_owned();
        thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let name = name.clone();
                thread::spawn(move || greet_and_echo(stream, &name));
            }
        });
        Backend { address }
    }
}

fn greet_and_echo(mut stream: TcpStream, name: &str) {
    if writeln!(stream, "{name}").is_err() {
        return;
    }
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    for line in BufReader::new(reader).lines().map_while(Result::ok) {
        if writeln!(stream, "{line}").is_err() {
            return;
        }
    }
}

/// A client session through a VIP to a [`Backend`].
pub struct Session {
    reader: BufReader<TcpStream>,
    /// The server's greeting: which backend took the connection.
    pub server: String,
}

impl Session {
    /// Connects to `vip` and reads the greeting.
    pub fn open(vip: SocketAddr) -> Session {
        let stream = TcpStream::connect(vip).expect("connect to the VIP");
        stream.set_read_timeout(Some(EVENT_TIMEOUT)).unwrap();
        let mut reader = BufReader::new(stream);
        let mut server = String::new();
        reader.read_line(&mut server).expect("a greeting");
        assert!(
            !server.is_empty(),
            "the connection closed before a greeting"
        );
        Session {
            reader,
            server: server.trim_end().to_owned(),
        }
    }

    /// Sends `line` and returns the echo; `None` once the session is closed.
    pub fn echo(&mut self, line: &str) -> Option<String> {
        writeln!(self.reader.get_mut(), "{line}").ok()?;
        let mut echoed = String::new();
        match self.reader.read_line(&mut echoed) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(echoed.trim_end().to_owned()),
        }
    }
}

/// The server a new session through `vip` lands on.
pub fn server_of_new_session(vip: SocketAddr) -> String {
    Session::open(vip).server
}

/// A server that sends `total` bytes in `chunk`-sized writes every `pause`, then closes.
pub struct Streamer {
    /// Its address.
    pub address: SocketAddr,
}

impl Streamer {
    /// Starts streaming to every connection.
    pub fn start(total: usize, chunk: usize, pause: Duration) -> Streamer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        thread::spawn(move || {
            for mut stream in listener.incoming().map_while(Result::ok) {
                thread::spawn(move || {
                    let data = vec![b'x'; chunk];
                    let mut sent = 0;
                    while sent < total {
                        let n = chunk.min(total - sent);
                        if stream.write_all(&data[..n]).is_err() {
                            return;
                        }
                        sent += n;
                        thread::sleep(pause);
                    }
                });
            }
        });
        Streamer { address }
    }
}

/// Waits for the first bytes to arrive on `stream` (the session is forwarding) and counts them.
pub fn first_bytes(stream: &mut TcpStream) -> usize {
    stream.set_read_timeout(Some(EVENT_TIMEOUT)).unwrap();
    let mut buffer = [0u8; 16 * 1024];
    let read = stream
        .read(&mut buffer)
        .expect("the first bytes through the VIP");
    assert!(read > 0, "the session closed before any byte arrived");
    read
}

/// Reads everything from `stream` until the peer closes; the byte count, or the error.
pub fn read_to_end(mut stream: TcpStream) -> std::io::Result<usize> {
    stream.set_read_timeout(Some(EVENT_TIMEOUT * 2))?;
    let mut total = 0;
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buffer)? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}
