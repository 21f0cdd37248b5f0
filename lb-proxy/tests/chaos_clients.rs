//! Clients that vanish: hundreds of connections aborted with a reset at once, on a TCP VIP
//! mid-session, on an HTTP VIP mid-request and mid-response, leave no session open to a
//! server, no socket and no task behind (the process's own, read from /proc and the runtime).

mod http_support;

use std::net::SocketAddr;
use std::time::Duration;

use http_support::counting::CountingServer;
use http_support::{STEP, http_vip};
use lb_core::model::Mode;
use lb_proxy::{Service, ServiceHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Connections aborted at once per case.
const CLIENTS: usize = 300;

/// Sockets this process holds, from its descriptors in /proc (the pipes that splice keeps
/// cached per thread for reuse are not counted).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Waits until `settled` holds, polling every 10 ms for at most a step: descriptors and tasks
/// announce no change. Panics with `what` otherwise.
async fn until(what: &str, mut settled: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + STEP;
    while !settled() {
        let (fds, tasks) = (open_fds(), alive_tasks());
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} ({fds} sockets, {tasks} tasks now)"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `CLIENTS` clients, each connected to `vip`, sending `request` and reading `read` bytes of
/// the answer (a session known to be under way), then all reset at once.
async fn abort_at_once(vip: SocketAddr, request: &'static [u8], read: usize) {
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let mut client = TcpStream::connect(vip).await.unwrap();
        client.write_all(request).await.unwrap();
        let mut answer = vec![0u8; read];
        tokio::time::timeout(STEP, client.read_exact(&mut answer))
            .await
            .expect("an answer within a step")
            .unwrap();
        clients.push(client);
    }
    reset(clients);
}

/// Closes every client with a reset (`SO_LINGER` of 0), at once.
fn reset(clients: Vec<TcpStream>) {
    for client in clients {
        socket2::SockRef::from(&client)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
}

/// Nothing the aborted clients had is left: no server connection counted open, as many
/// descriptors and tasks as before them.
async fn nothing_left(service: &ServiceHandle, fds: usize, tasks: usize) {
    until("every server connection closed", || {
        service
            .stats()
            .servers
            .iter()
            .all(|server| server.active == 0)
    })
    .await;
    let descriptors = format!("the sockets back to the {fds} there were");
    until(&descriptors, || open_fds() <= fds).await;
    let alive = format!("the tasks back to the {tasks} there were");
    until(&alive, || alive_tasks() <= tasks).await;
}

// One test, the cases in turn: the descriptors and tasks counted are the whole process's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_reset_at_once_leave_nothing_behind() {
    tcp_sessions_reset_at_once().await;
    http_clients_reset_mid_request_and_mid_response().await;
}

async fn tcp_sessions_reset_at_once() {
    let server = CountingServer::start(false, "").await;
    let mut vip = http_vip(&[server.address]);
    vip.mode = Mode::Tcp;
    let service = Service::start(vip).unwrap();
    let (fds, tasks) = (open_fds(), alive_tasks());
    abort_at_once(service.local_addrs()[0], b"echo me", 7).await;
    nothing_left(&service, fds, tasks).await;
    service.stop().await;
}

/// A server that answers every request with the head of a 1 GB response and its first KiB,
/// then sends nothing more until lb closes the connection: a response stays under way, and
/// only the client's reset can end it before the server timeout.
async fn stalled_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request).await;
                let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n";
                if stream.write_all(head).await.is_err()
                    || stream.write_all(&[b'x'; 1024]).await.is_err()
                {
                    return;
                }
                while let Ok(1..) = stream.read(&mut request).await {}
            });
        }
    });
    (address, task)
}

async fn http_clients_reset_mid_request_and_mid_response() {
    let (server, accepting) = stalled_server().await;
    let service = Service::start(http_vip(&[server])).unwrap();
    let address = service.local_addrs()[0];
    let (fds, tasks) = (open_fds(), alive_tasks());
    let mid_response = b"GET /big HTTP/1.1\r\nHost: web\r\n\r\n";
    abort_at_once(address, mid_response, 1024).await;
    nothing_left(&service, fds, tasks).await;
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let mut client = TcpStream::connect(address).await.unwrap();
        client
            .write_all(b"POST /upload HTTP/1.1\r\nHo")
            .await
            .unwrap();
        clients.push(client);
    }
    let accepted = CLIENTS as u64 * 2;
    until("lb has accepted every mid-request client", || {
        service.stats().accepted == accepted
    })
    .await;
    reset(clients);
    nothing_left(&service, fds, tasks).await;
    service.stop().await;
    accepting.abort();
}
