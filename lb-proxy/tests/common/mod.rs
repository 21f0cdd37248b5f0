//! Loopback servers, clients and VIPs for the integration tests. Every wait is bounded.

#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use lb_core::model::{SchedulerKind, Server, ServerId, Vip};
use lb_proxy::{ServiceHandle, Stats};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The longest any single step of a test may take.
pub const STEP: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`STEP`].
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP, future)
        .await
        .expect("step took longer than 10 s")
}

/// A server on 127.0.0.1 that greets each connection with its name and a newline, then
/// echoes until end of stream, which it passes on.
pub struct Echo {
    pub address: SocketAddr,
    pub accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Echo {
    pub async fn start(name: &'static str) -> Echo {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    stream.write_all(format!("{name}\n").as_bytes()).await?;
                    let (mut read, mut write) = stream.split();
                    tokio::io::copy(&mut read, &mut write).await?;
                    write.shutdown().await
                });
            }
        });
        Echo {
            address,
            accepted,
            task,
        }
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A server on 127.0.0.1 that reads each connection to its end and reports the bytes.
pub struct Recorder {
    pub address: SocketAddr,
    pub received: mpsc::UnboundedReceiver<Vec<u8>>,
    task: JoinHandle<()>,
}

impl Recorder {
    pub async fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (sender, received) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    let mut bytes = Vec::new();
                    let _ = stream.read_to_end(&mut bytes).await;
                    let _ = sender.send(bytes);
                });
            }
        });
        Recorder {
            address,
            received,
            task,
        }
    }

    pub async fn next(&mut self) -> Vec<u8> {
        within(self.received.recv())
            .await
            .expect("recorder stopped")
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback address where nothing listens (connections are refused).
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A VIP on 127.0.0.1 (any port) over `servers`, named `s1`, `s2`, ... with ids 1, 2, ...
pub fn vip(scheduler: SchedulerKind, servers: &[SocketAddr]) -> Vip {
    let mut vip = Vip::new("test", "127.0.0.1:0".parse().unwrap());
    vip.scheduler = scheduler;
    vip.timeouts.connect = Duration::from_secs(2);
    vip.servers = servers
        .iter()
        .zip(1..)
        .map(|(&address, id)| Server::new(ServerId(id), format!("s{id}"), address))
        .collect();
    vip
}

/// Two [`Echo`] servers, `a` and `b`, and a VIP over them with `scheduler`.
pub async fn echo_pair(scheduler: SchedulerKind) -> ([Echo; 2], Vip) {
    let servers = [Echo::start("a").await, Echo::start("b").await];
    let vip = vip(scheduler, &[servers[0].address, servers[1].address]);
    (servers, vip)
}

/// A client connected to the service's first address.
pub async fn client(service: &ServiceHandle) -> BufReader<TcpStream> {
    BufReader::new(
        within(TcpStream::connect(service.local_addrs()[0]))
            .await
            .unwrap(),
    )
}

/// The greeting line of an [`Echo`] server through `client`.
pub async fn greeting(client: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    within(client.read_line(&mut line)).await.unwrap();
    line.trim_end().to_owned()
}

/// Sends `message` and reads its echo.
pub async fn echo(client: &mut BufReader<TcpStream>, message: &str) -> String {
    client
        .get_mut()
        .write_all(format!("{message}\n").as_bytes())
        .await
        .unwrap();
    greeting(client).await
}

/// Whether `client` sees end of stream (a clean close) next.
pub async fn closed_cleanly(client: &mut BufReader<TcpStream>) -> bool {
    let mut rest = Vec::new();
    matches!(within(client.read_to_end(&mut rest)).await, Ok(0))
}

/// Waits until the service's counters satisfy `test`, at most [`STEP`]; panics with the last
/// counters seen otherwise. Polls every 5 ms: the counters are plain atomics that announce
/// no change.
pub async fn until_stats(service: &ServiceHandle, test: impl Fn(&Stats) -> bool) -> Stats {
    let polling = async {
        loop {
            let stats = service.stats();
            if test(&stats) {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    match tokio::time::timeout(STEP, polling).await {
        Ok(stats) => stats,
        Err(_) => panic!(
            "the counters did not reach the expected state within 10 s: {:?}",
            service.stats()
        ),
    }
}
