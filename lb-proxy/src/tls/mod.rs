//! TLS termination with rustls (the `ring` provider): a VIP's [`Terminator`] holds its
//! certificates and performs the server side of each client's handshake.
//!
//! TLS 1.2 and 1.3 only, with rustls' default cipher suites (AEAD with forward secrecy: AES-GCM
//! and ChaCha20-Poly1305) in rustls' order of preference, which wins over the client's; no
//! client certificates. The certificate is chosen by SNI ([`resolver`]); ALPN offers the VIP's
//! protocols (by default `h2` and `http/1.1` on `http` VIPs, none on `tcp` VIPs). Certificates
//! are read when the settings are built: at service start and on every reconfiguration, so a
//! reload picks up renewed files. The handshake follows any PROXY header, over the bytes read
//! with it (see `crate::pipeline::downstream`); on `tcp` VIPs plaintext is forwarded by
//! [`relay()`].
//!
//! Defaults: the handshake must finish within the client timeout on `tcp` VIPs and the
//! request-head timeout on `http` VIPs; a client that fails it is closed and counted
//! (`tls_handshake` errors).
//!
//! TLS to servers (`server_tls`) is the other direction: an [`Originator`] per generation
//! ([`upstream`]) makes each server connection a [`ServerStream`] over TLS, the handshake
//! being part of the connect (within the connect timeout; a refused certificate is a failed
//! connect, retried on another server). A `tcp` session with TLS on either side is forwarded
//! by [`relay()`], splice being kept for cleartext on both sides.

mod certificates;
mod insecure;
mod relay;
mod resolver;
mod server;
mod upstream;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use lb_core::model::{Mode, Vip};
use rustls::ServerConfig;
use rustls::crypto::ring;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::Error;
pub(crate) use relay::relay;
use resolver::SniResolver;
pub(crate) use server::ServerStream;
pub(crate) use upstream::Originator;

/// The TLS side of one VIP.
pub(crate) struct Terminator {
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for Terminator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminator")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl Terminator {
    /// The terminator of `vip`, `None` without `tls`; fails naming the VIP and the file when
    /// a certificate or key cannot be read or does not fit.
    pub(crate) fn new(vip: &Vip) -> Result<Option<Self>, Error> {
        let Some(settings) = &vip.tls else {
            return Ok(None);
        };
        let failed = |reason: String| Error::Tls {
            vip: vip.name.clone(),
            reason,
        };
        let provider = Arc::new(ring::default_provider());
        let certificates = settings
            .certificates
            .iter()
            .map(|paths| certificates::load(paths, &provider))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| failed(format!("{}: {}", error.file, error.reason)))?;
        if certificates.is_empty() {
            return Err(failed("no certificate configured".to_owned()));
        }
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|error| failed(error.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SniResolver::new(certificates)));
        // The server's order (strongest first) wins over the client's.
        config.ignore_client_order = true;
        config.alpn_protocols = settings
            .alpn
            .iter()
            .map(|protocol| protocol.as_bytes().to_vec())
            .collect();
        let handshake_timeout = match vip.mode {
            Mode::Tcp => vip.timeouts.client,
            Mode::Http => vip.timeouts.http_request,
        };
        Ok(Some(Terminator {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            handshake_timeout,
        }))
    }

    /// Performs the handshake with the client on `stream` within the handshake timeout.
    pub(crate) async fn accept<S>(&self, stream: S) -> io::Result<TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        tokio::time::timeout(self.handshake_timeout, self.acceptor.accept(stream))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))?
    }
}
