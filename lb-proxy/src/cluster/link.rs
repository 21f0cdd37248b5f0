//! The TCP link to the peer: one task per connection runs the authenticated session
//! ([`lb_core::cluster::wire::Session`]) and hands the node its messages; the node hands it
//! messages to send.
//!
//! One link per pair, and no race to settle it: the node whose name sorts first dials
//! (again every [`REDIAL`] while the link is down), the other only listens. A listener takes a
//! new authenticated connection from the peer over an older one (the peer restarted). Each
//! connection must finish its handshake within [`HANDSHAKE_TIMEOUT`] and then hear from the
//! peer at least every [`SILENCE`] (heartbeats come every 200 ms), or it is closed. Any
//! session error closes the connection; the node counts it by kind.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lb_core::cluster::wire::{Error as WireError, Event, Message, Session};
use ring::rand::SecureRandom;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::wall_ms;

/// How long a connection has to prove the secret.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the peer may stay silent before its link is closed.
pub(crate) const SILENCE: Duration = Duration::from_secs(1);
/// The wait before dialing again.
pub(crate) const REDIAL: Duration = Duration::from_millis(200);
/// Messages waiting to be written to the peer before the node's sends wait.
const QUEUE: usize = 1024;

/// What a connection tells the node.
#[derive(Debug)]
pub(crate) enum LinkEvent {
    /// Authenticated: messages for the peer go to `outgoing`.
    Up {
        /// Tells this connection from later ones.
        id: u64,
        /// Where to send messages for the peer.
        outgoing: mpsc::Sender<Message>,
    },
    /// A message from the peer.
    Message {
        /// The connection it came on.
        id: u64,
        /// The message.
        message: Message,
    },
    /// The connection ended.
    Down {
        /// The connection.
        id: u64,
        /// Why, if on an error.
        error: Option<Failure>,
    },
}

/// Why a connection ended on an error, as the node counts it.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The peer failed to prove the secret, or a frame failed authentication or replayed.
    Authentication(String),
    /// Anything else: a malformed frame, another version, a stranger's name, silence, I/O.
    Protocol(String),
}

/// What every connection needs to know.
#[derive(Debug)]
pub(crate) struct Identity {
    /// This node's name.
    pub(crate) node: String,
    /// The only node name accepted from the other end.
    pub(crate) peer: String,
    /// The shared secret.
    pub(crate) secret: Vec<u8>,
}

/// Accepts connections on `listener` for as long as the task runs.
pub(crate) async fn listen(
    listener: TcpListener,
    identity: Arc<Identity>,
    events: mpsc::Sender<LinkEvent>,
) {
    let mut next_id = 1u64 << 32;
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                debug!(%from, "cluster connection accepted");
                next_id += 1;
                tokio::spawn(run(stream, Arc::clone(&identity), events.clone(), next_id));
            }
            Err(error) => {
                warn!(%error, "cluster: accept failed");
                tokio::time::sleep(REDIAL).await;
            }
        }
    }
}

/// Dials `peer` whenever no link is up (`down` says when one ends), for as long as the task
/// runs.
pub(crate) async fn dial(
    peer: SocketAddr,
    identity: Arc<Identity>,
    events: mpsc::Sender<LinkEvent>,
) {
    let mut id = 0u64;
    loop {
        id += 1;
        let connect = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(peer));
        if let Ok(Ok(stream)) = connect.await {
            // The connection's own task would let this loop dial again at once; awaiting it
            // keeps one link at a time.
            run(stream, Arc::clone(&identity), events.clone(), id).await;
        }
        tokio::time::sleep(REDIAL).await;
    }
}

/// Runs one connection until it fails or the node drops its sender; tells the node `Down`.
async fn run(stream: TcpStream, identity: Arc<Identity>, events: mpsc::Sender<LinkEvent>, id: u64) {
    let _ = stream.set_nodelay(true);
    let error = serve(stream, &identity, &events, id).await.err();
    if let Some(failure) = &error {
        debug!(?failure, "cluster connection closed");
    }
    let _ = events.send(LinkEvent::Down { id, error }).await;
}

async fn serve(
    mut stream: TcpStream,
    identity: &Identity,
    events: &mpsc::Sender<LinkEvent>,
    id: u64,
) -> Result<(), Failure> {
    let (mut session, hello) =
        Session::new(&identity.node, &identity.secret, rand_nonce()?).map_err(protocol)?;
    stream.write_all(&hello).await.map_err(io)?;
    let mut input = Vec::with_capacity(16 * 1024);
    let deadline = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT;
    // The handshake: until the peer proved the secret.
    while !session.is_authenticated() {
        let read = tokio::time::timeout_at(deadline, stream.read_buf(&mut input));
        match read.await {
            Err(_) => return Err(Failure::Protocol("handshake timed out".into())),
            Ok(Err(error)) => return Err(io(error)),
            Ok(Ok(0)) => return Err(Failure::Protocol("closed during the handshake".into())),
            Ok(Ok(_)) => {}
        }
        while let Some((event, used)) = session.receive(&input, wall_ms()).map_err(wire)? {
            input.drain(..used);
            if let Event::Hello { peer, auth } = event {
                if peer != identity.peer {
                    return Err(Failure::Protocol(format!(
                        "a node named `{peer}` connected; the peer is `{}`",
                        identity.peer
                    )));
                }
                stream.write_all(&auth).await.map_err(io)?;
            }
            if session.is_authenticated() {
                break;
            }
        }
    }
    let (outgoing, mut to_send) = mpsc::channel(QUEUE);
    if events.send(LinkEvent::Up { id, outgoing }).await.is_err() {
        return Ok(());
    }
    // Frames that came with the AUTH.
    deliver(&mut session, &mut input, events, id).await?;
    // The peer is dead once it has been silent for SILENCE, whatever this side sends; a write
    // that cannot complete by then (the peer reads nothing) ends the link too.
    let mut heard = tokio::time::Instant::now();
    let silent = || Failure::Protocol(format!("no word from the peer for {SILENCE:?}"));
    loop {
        let deadline = heard + SILENCE;
        tokio::select! {
            read = tokio::time::timeout_at(deadline, stream.read_buf(&mut input)) => {
                match read {
                    Err(_) => return Err(silent()),
                    Ok(Err(error)) => return Err(io(error)),
                    Ok(Ok(0)) => return Err(Failure::Protocol("the peer closed the link".into())),
                    Ok(Ok(_)) => {
                        heard = tokio::time::Instant::now();
                        deliver(&mut session, &mut input, events, id).await?;
                    }
                }
            }
            message = to_send.recv() => {
                let Some(message) = message else { return Ok(()) };
                let bytes = session.encode(&message, wall_ms()).map_err(wire)?;
                match tokio::time::timeout_at(deadline, stream.write_all(&bytes)).await {
                    Err(_) => return Err(silent()),
                    Ok(written) => written.map_err(io)?,
                }
            }
        }
    }
}

/// Hands every whole frame in `input` to the node.
async fn deliver(
    session: &mut Session,
    input: &mut Vec<u8>,
    events: &mpsc::Sender<LinkEvent>,
    id: u64,
) -> Result<(), Failure> {
    while let Some((event, used)) = session.receive(input, wall_ms()).map_err(wire)? {
        input.drain(..used);
        if let Event::Message(message) = event {
            if events
                .send(LinkEvent::Message { id, message })
                .await
                .is_err()
            {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Fresh nonce bytes from the system's secure random source: the session keys depend on
/// them, so a frame recorded from an earlier connection never authenticates on this one.
fn rand_nonce() -> Result<[u8; 16], Failure> {
    let mut nonce = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| Failure::Protocol("no random bytes from the system".into()))?;
    Ok(nonce)
}

fn wire(error: WireError) -> Failure {
    match error {
        WireError::Authentication | WireError::Replay { .. } | WireError::Gap { .. } => {
            Failure::Authentication(error.to_string())
        }
        other => Failure::Protocol(other.to_string()),
    }
}

fn protocol(error: WireError) -> Failure {
    Failure::Protocol(error.to_string())
}

fn io(error: std::io::Error) -> Failure {
    Failure::Protocol(error.to_string())
}
