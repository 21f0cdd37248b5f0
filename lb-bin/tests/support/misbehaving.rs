//! A server that answers HTTP like a healthy one until told to misbehave, then fails in one
//! chosen way: it refuses connections, resets them, takes requests and never answers, or
//! trickles its response a byte a second. Its healthy answer is `200` with its name as the
//! body, to HTTP/1.1 requests on a kept-alive connection as to HTTP/1.0 ones, so it stands
//! beside nginx servers behind an http or a tcp VIP, checked by an http check.
//!
//! A connection takes the behaviour in force when each of its requests arrives (a reset
//! comes on accept): connections kept alive from before misbehave from their next request.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::thread;
use std::time::Duration;

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Behaviour {
    /// `200` with its name, like any healthy server.
    Healthy,
    /// Stops listening, as a server stopped gracefully does: every new connection is
    /// refused (a reset to the SYN); a request on a connection it has is answered with
    /// `Connection: close`, and the connection closed. The kernel resets the connections
    /// still in the listen queue as the listener closes: handshaken, not accepted yet.
    Refuses,
    /// Accepts and resets every connection at once (`SO_LINGER` 0, then close), and resets
    /// each kept-alive connection at its next request.
    Resets,
    /// Takes requests and never answers, keeping connections open (a blackhole).
    Blackhole,
    /// Answers `200`, but a byte a second.
    Trickles,
}

impl Behaviour {
    fn from_u8(value: u8) -> Behaviour {
        [
            Behaviour::Healthy,
            Behaviour::Refuses,
            Behaviour::Resets,
            Behaviour::Blackhole,
            Behaviour::Trickles,
        ][usize::from(value)]
    }
}

/// A running misbehaving server.
pub struct Misbehaving {
    /// Its address.
    pub address: SocketAddr,
    listener: Arc<TcpListener>,
    behaviour: Arc<AtomicU8>,
}

impl Misbehaving {
    /// Starts a healthy server named `name` on a free port.
    pub fn start(name: &str) -> Misbehaving {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let address = listener.local_addr().unwrap();
        let behaviour = Arc::new(AtomicU8::new(Behaviour::Healthy as u8));
        let (accepting, now) = (Arc::clone(&listener), Arc::clone(&behaviour));
        let name = name.to_owned();
        thread::spawn(move || {
            // Ends when the listener is shut down (`Refuses`).
            for stream in accepting.incoming().map_while(Result::ok) {
                let (now, name) = (Arc::clone(&now), name.clone());
                thread::spawn(move || serve(stream, &now, &name));
            }
        });
        Misbehaving {
            address,
            listener,
            behaviour,
        }
    }

    /// From now on, answers as `behaviour` says (`Refuses` is for good: the port stays
    /// bound, nothing listens on it any more).
    pub fn misbehave(&self, behaviour: Behaviour) {
        self.behaviour.store(behaviour as u8, Ordering::SeqCst);
        if behaviour == Behaviour::Refuses {
            // On Linux, shutting a listening socket down stops it listening and wakes the
            // accepting thread; the socket keeps its port, so nothing else takes it.
            socket2::SockRef::from(&*self.listener)
                .shutdown(Shutdown::Both)
                .expect("shut the listener down");
        }
    }
}

impl Drop for Misbehaving {
    /// Stops listening, which ends the accepting thread; open connections end with their peer.
    fn drop(&mut self) {
        let _ = socket2::SockRef::from(&*self.listener).shutdown(Shutdown::Both);
    }
}

/// Serves one connection's requests as `behaviour` says at each of them.
fn serve(mut stream: TcpStream, behaviour: &AtomicU8, name: &str) {
    let body = format!("{name}\n");
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut received = Vec::new();
    loop {
        let now = Behaviour::from_u8(behaviour.load(Ordering::SeqCst));
        if now == Behaviour::Resets {
            return reset(stream);
        }
        let Some(head) = read_head(&mut stream, &mut received) else {
            return;
        };
        let now = Behaviour::from_u8(behaviour.load(Ordering::SeqCst));
        let keep_alive = !head.contains("http/1.0") && !head.contains("connection: close");
        match now {
            Behaviour::Healthy => {
                if stream.write_all(response.as_bytes()).is_err() || !keep_alive {
                    return;
                }
            }
            Behaviour::Refuses => {
                let last = response.replacen("\r\n", "\r\nConnection: close\r\n", 1);
                let _ = stream.write_all(last.as_bytes());
                return;
            }
            Behaviour::Resets => return reset(stream),
            Behaviour::Blackhole => {
                // Reads whatever comes, until the peer closes.
                let mut sink = [0u8; 4096];
                while let Ok(1..) = stream.read(&mut sink) {}
                return;
            }
            Behaviour::Trickles => {
                for byte in response.as_bytes() {
                    if stream.write_all(std::slice::from_ref(byte)).is_err() {
                        return;
                    }
                    thread::sleep(Duration::from_secs(1));
                }
                return;
            }
        }
    }
}

/// Closes `stream` with a reset.
fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
}

/// Reads up to the end of a request head (lowercased); `None` once the peer closes first.
/// Bytes read past the head stay in `received` for the next request.
fn read_head(stream: &mut TcpStream, received: &mut Vec<u8>) -> Option<String> {
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head: Vec<u8> = received.drain(..end + 4).collect();
            return Some(String::from_utf8_lossy(&head).to_ascii_lowercase());
        }
        match stream.read(&mut buffer) {
            Ok(0) => return None,
            Ok(read) => received.extend_from_slice(&buffer[..read]),
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}
