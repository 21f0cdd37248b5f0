//! Simulated controllers for the OpenStack demo.
//!
//! A [`Controller`] listens on its own loopback address (127.0.0.11, .12, ...) on every service
//! port of the profile and answers like the service would, enough for health checks and for a
//! demo client to see which controller served it:
//! - HTTP APIs: every request gets `200` and a body `<controller> <service>`;
//! - Redis: RESP `PING`, `AUTH`, `INFO replication` (`role:master` on the master only), `QUIT`;
//! - MySQL: a protocol-10 greeting whose server version names the controller, and a Galera
//!   clustercheck on port 9200 (+offset) answering 200 while synced, 503 otherwise.
//!
//! [`Controller::stop`] closes every listener and established connection at once, like a
//! controller that loses power.

pub mod client;
mod http;
mod mysql;
mod redis;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What a simulated service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// An HTTP API (also used for plain TCP services: a connect is all their checks need).
    Http,
    /// Redis.
    Redis,
    /// A MySQL greeting.
    Mysql,
    /// Galera's clustercheck over HTTP.
    ClusterCheck,
}

/// One service a controller runs.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// Service name, echoed in responses.
    pub name: String,
    /// Port on the controller's address.
    pub port: u16,
    /// What it speaks.
    pub protocol: Protocol,
}

/// Switches shared between a controller's services and the demo driving it.
#[derive(Debug)]
pub struct Roles {
    /// Whether this controller's Redis reports `role:master`.
    pub redis_master: AtomicBool,
    /// Whether this controller's Galera node reports synced.
    pub galera_synced: AtomicBool,
}

/// A running simulated controller.
#[derive(Debug)]
pub struct Controller {
    /// Its name, e.g. `controller-0`.
    pub name: Arc<str>,
    /// Its loopback address.
    pub address: IpAddr,
    /// Its switchable roles.
    pub roles: Arc<Roles>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Controller {
    /// Binds every service and starts answering.
    pub async fn start(
        name: &str,
        address: IpAddr,
        services: &[ServiceSpec],
        redis_master: bool,
    ) -> std::io::Result<Controller> {
        let name: Arc<str> = Arc::from(name);
        let roles = Arc::new(Roles {
            redis_master: AtomicBool::new(redis_master),
            galera_synced: AtomicBool::new(true),
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for service in services {
            let listener = TcpListener::bind(SocketAddr::new(address, service.port)).await?;
            let context = Session {
                controller: Arc::clone(&name),
                service: Arc::from(service.name.as_str()),
                roles: Arc::clone(&roles),
            };
            tasks.spawn(serve(listener, service.protocol, context, stopped.clone()));
        }
        Ok(Controller {
            name,
            address,
            roles,
            stop,
            tasks,
        })
    }

    /// Closes every listener and connection, like a controller that loses power.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }

    /// Sets whether this controller's Redis is the master.
    pub fn set_redis_master(&self, master: bool) {
        self.roles.redis_master.store(master, Ordering::SeqCst);
    }
}

/// What a connection handler knows about where it runs.
#[derive(Debug, Clone)]
struct Session {
    controller: Arc<str>,
    service: Arc<str>,
    roles: Arc<Roles>,
}

async fn serve(
    listener: TcpListener,
    protocol: Protocol,
    session: Session,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let session = session.clone();
                connections.spawn(handle(stream, protocol, session));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

async fn handle(stream: TcpStream, protocol: Protocol, session: Session) {
    let _ = match protocol {
        Protocol::Http => http::serve_api(stream, &session).await,
        Protocol::ClusterCheck => http::serve_clustercheck(stream, &session).await,
        Protocol::Redis => redis::serve(stream, &session).await,
        Protocol::Mysql => mysql::serve(stream, &session).await,
    };
}
