//! Clients that vanish: hundreds of connections aborted with a reset at once, on a TCP VIP
//! mid-session, on an HTTP VIP mid-request and mid-response, and 5,000 TCP sessions to a real
//! nginx reset at once, leave no session open to a server, no socket and no task behind (the
//! process's own, read from /proc and the runtime).

mod http_support;

use std::net::SocketAddr;
use std::time::Duration;

use http_support::counting::CountingServer;
use http_support::nginx::Nginx;
use http_support::{STEP, http_vip};
use lb_core::model::Mode;
use lb_proxy::{Service, ServiceHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Connections aborted at once per case.
const CLIENTS: usize = 300;
/// Sessions aborted at once in the largest case.
const MANY_CLIENTS: usize = 5_000;

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

/// `count` clients, each connected to `vip`, sending `request` and reading `read` bytes of
/// the answer (a session known to be under way), then all reset at once.
async fn abort_at_once(vip: SocketAddr, count: usize, request: &'static [u8], read: usize) {
    let mut clients = Vec::with_capacity(count);
    for _ in 0..count {
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
    thousands_of_tcp_sessions_reset_at_once().await;
}

async fn tcp_sessions_reset_at_once() {
    let server = CountingServer::start(false, "").await;
    let mut vip = http_vip(&[server.address]);
    vip.mode = Mode::Tcp;
    let service = Service::start(vip).unwrap();
    let (fds, tasks) = (open_fds(), alive_tasks());
    abort_at_once(service.local_addrs()[0], CLIENTS, b"echo me", 7).await;
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
    abort_at_once(address, CLIENTS, mid_response, 1024).await;
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

/// This process's open-file limit: (soft, hard), from /proc.
fn file_limit() -> (u64, u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("an open files line in /proc/self/limits");
    let mut numbers = line.split_whitespace().filter_map(|n| n.parse().ok());
    let soft = numbers.next().unwrap_or(u64::MAX); // "unlimited"
    (soft, numbers.next().unwrap_or(u64::MAX))
}

/// Raises this process's soft open-file limit to `needed` (`prlimit --pid`, on itself);
/// false when the hard limit is lower.
fn allow_files(needed: u64) -> bool {
    let (soft, hard) = file_limit();
    if soft >= needed {
        return true;
    }
    if hard < needed {
        return false;
    }
    let raised = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={needed}:{hard}"))
        .status()
        .is_ok_and(|status| status.success());
    raised && file_limit().0 >= needed
}

/// `MANY_CLIENTS` sessions through a TCP VIP to nginx (in its own process: this one holds
/// three sockets per session, the client's and both of lb's), each known to be under way
/// (the first bytes of nginx's answer came back), then all reset at once.
async fn thousands_of_tcp_sessions_reset_at_once() {
    let needed = 3 * MANY_CLIENTS as u64 + 500;
    if !allow_files(needed) {
        let (soft, hard) = file_limit();
        eprintln!(
            "skipped {MANY_CLIENTS} sessions reset at once: it needs {needed} open files, \
             the limit is {soft} (hard {hard})"
        );
        return;
    }
    // Started once the limit is raised, which nginx inherits.
    let nginx = Nginx::start_with_connections("many", "", MANY_CLIENTS as u32 + 100);
    let mut vip = http_vip(&[nginx.address]);
    vip.mode = Mode::Tcp;
    vip.max_connections = MANY_CLIENTS as u32 + 100;
    let service = Service::start(vip).unwrap();
    let (fds, tasks) = (open_fds(), alive_tasks());
    let request = b"GET / HTTP/1.1\r\nHost: web\r\n\r\n";
    let started = std::time::Instant::now();
    abort_at_once(service.local_addrs()[0], MANY_CLIENTS, request, 15).await;
    let opened = started.elapsed();
    nothing_left(&service, fds, tasks).await;
    println!(
        "{MANY_CLIENTS} sessions opened in {opened:?}, reset at once, all closed {:?} later",
        started.elapsed() - opened
    );
    let stats = service.stats();
    assert_eq!(stats.established, MANY_CLIENTS as u64, "{stats:?}");
    service.stop().await;
}
