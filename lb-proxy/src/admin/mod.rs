//! The admin listener: a small HTTP/1.1 server on its own address (`[admin] listen`,
//! `127.0.0.1:9900` by default; never a VIP's address) serving the status page, Prometheus
//! metrics and the JSON API that reads and changes the running configuration.
//!
//! Routes (see [`routes`]): `GET /` (status page), `GET /metrics`, `GET /api/vips`,
//! `GET /api/vips/{vip}`, `PUT /api/vips/{vip}/servers/{server}/state`,
//! `PUT /api/vips/{vip}/servers/{server}/weight`, `POST /api/vips/{vip}/servers`,
//! `DELETE /api/vips/{vip}/servers/{server}`, `DELETE /api/vips/{vip}/persistence`,
//! `POST /api/reload`, and for a clustered pair `GET /api/cluster` (the pair as this node
//! sees it) and `GET /api/cluster/health` (200 when this node may hold the VIPs, 503 with the
//! reason when not: keepalived's check). Changes need `Authorization: Bearer <token>` (see [`auth`]); reads are
//! open to loopback clients and need the token from anywhere else.
//!
//! Lifecycle: [`AdminServer::start`] binds (or fails naming the address) → serves each
//! connection in its own task → [`AdminServer::stop`] closes the listener.

mod auth;
mod body;
mod reply;
mod routes;
mod status;
mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{debug, info};

use crate::{Error, Supervisor};

/// The running admin listener.
#[derive(Debug)]
pub struct AdminServer {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl AdminServer {
    /// Binds `listen` and serves the admin API for `supervisor`. Refuses an address a VIP
    /// listens on. Must be called within a Tokio runtime.
    pub async fn start(
        listen: SocketAddr,
        supervisor: Arc<Supervisor>,
    ) -> Result<AdminServer, Error> {
        if let Some(runtime) = supervisor.runtime().await.as_ref() {
            let taken = runtime
                .vips()
                .iter()
                .find(|running| running.config.listen.iter().any(|&a| overlaps(a, listen)));
            if let Some(running) = taken {
                return Err(Error::AdminOnVip {
                    address: listen,
                    vip: running.config.name.clone(),
                });
            }
        }
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| Error::Bind {
                vip: String::from("[admin]"),
                address: listen,
                source,
            })?;
        let local_addr = listener.local_addr().unwrap_or(listen);
        info!(listen = %local_addr, "admin listener ready");
        let task = tokio::spawn(accept(listener, supervisor));
        Ok(AdminServer { local_addr, task })
    }

    /// The address listened on (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Closes the listener; requests in progress finish on their own.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Whether a VIP on `vip` and the admin listener on `admin` would share a socket.
fn overlaps(vip: SocketAddr, admin: SocketAddr) -> bool {
    vip.port() == admin.port()
        && (vip.ip() == admin.ip() || vip.ip().is_unspecified() || admin.ip().is_unspecified())
}

async fn accept(listener: TcpListener, supervisor: Arc<Supervisor>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let supervisor = Arc::clone(&supervisor);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let supervisor = Arc::clone(&supervisor);
                async move {
                    Ok::<_, std::convert::Infallible>(
                        routes::handle(request, peer, &supervisor).await,
                    )
                }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                debug!(%peer, %error, "admin connection");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_listener_may_not_share_a_vip_socket() {
        let at = |text: &str| text.parse::<SocketAddr>().unwrap();
        assert!(overlaps(at("127.0.0.1:9900"), at("127.0.0.1:9900")));
        assert!(overlaps(at("0.0.0.0:9900"), at("127.0.0.1:9900")));
        assert!(!overlaps(at("127.0.0.1:9901"), at("127.0.0.1:9900")));
        assert!(!overlaps(at("192.0.2.1:9900"), at("127.0.0.1:9900")));
    }
}
