//! TLS from a VIP to its servers (`server_tls`, re-encryption): the client side of the
//! handshake on each new server connection, like HAProxy's `server ... ssl verify required
//! ca-file ca.pem sni str(name)`.
//!
//! An [`Originator`] is built once per service generation (start and every reload) from the
//! VIP's settings: the `ca` bundle and any client certificate are read then, and a file that
//! cannot be read, or holds no usable certificate, fails the start or reload naming it.
//! TLS 1.2 and 1.3 only, rustls' default suites (the `ring` provider), session resumption
//! with rustls' in-memory cache.
//!
//! Defaults: the server's certificate must chain to `ca` and carry `server_name`, or, without
//! one, the server's IP address (then no SNI is sent); no client certificate; ALPN offers
//! `http/1.1` on `http` VIPs and nothing on `tcp` VIPs. With `verify = false` any certificate
//! is accepted (the handshake's signatures are still checked, so the session is encrypted,
//! but anyone on the path can pose as the server).

use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use lb_core::model::{ServerTls, Vip};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::{CryptoProvider, ring};
use rustls::sign::SingleCertAndKey;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::certificates;
use super::insecure::AnyCertificate;
use crate::Error;

/// The TLS client of one VIP generation towards its servers.
pub(crate) struct Originator {
    connector: TlsConnector,
    /// The name sent by SNI and verified; `None`: each server's IP address.
    server_name: Option<ServerName<'static>>,
}

impl std::fmt::Debug for Originator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Originator")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl Originator {
    /// The originator of `vip`, `None` without `server_tls`; fails naming the VIP, the
    /// setting and the file when a file cannot be read or does not fit.
    pub(crate) fn new(vip: &Vip) -> Result<Option<Arc<Self>>, Error> {
        let Some(settings) = &vip.server_tls else {
            return Ok(None);
        };
        let failed = |reason: String| Error::Tls {
            vip: vip.name.clone(),
            reason: format!("server_tls: {reason}"),
        };
        let provider = Arc::new(ring::default_provider());
        let verifier = verifier(settings, &provider).map_err(failed)?;
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|error| failed(error.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match &settings.client_certificate {
            None => builder.with_no_client_auth(),
            Some(paths) => {
                let certified = certificates::load(paths, &provider)
                    .map_err(|error| failed(format!("{}: {}", error.file, error.reason)))?;
                builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified)))
            }
        };
        config.alpn_protocols = settings
            .alpn
            .iter()
            .map(|protocol| protocol.as_bytes().to_vec())
            .collect();
        let server_name = settings
            .server_name
            .as_ref()
            .map(|name| {
                ServerName::try_from(name.clone())
                    .map_err(|error| failed(format!("server_name `{name}`: {error}")))
            })
            .transpose()?;
        Ok(Some(Arc::new(Originator {
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })))
    }

    /// Performs the handshake with the server at `server` over `stream`; a refused
    /// certificate fails with rustls' reason (`invalid peer certificate: UnknownIssuer`).
    /// The caller bounds the wait.
    pub(crate) async fn handshake(
        &self,
        server: IpAddr,
        stream: TcpStream,
    ) -> io::Result<TlsStream<TcpStream>> {
        let name = self
            .server_name
            .clone()
            .unwrap_or_else(|| ServerName::IpAddress(server.into()));
        self.connector
            .connect(name, stream)
            .await
            .map_err(|error| io::Error::new(error.kind(), format!("TLS handshake: {error}")))
    }
}

/// The certificate check `settings` ask for.
fn verifier(
    settings: &ServerTls,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    if !settings.verify {
        return Ok(Arc::new(AnyCertificate::new(Arc::clone(provider))));
    }
    let ca = settings
        .ca
        .as_deref()
        .ok_or("`verify` is on and no `ca` is set")?;
    let roots = roots(ca).map_err(|reason| format!("{}: {reason}", ca.display()))?;
    let verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
            .build()
            .map_err(|error| format!("{}: {error}", ca.display()))?;
    Ok(verifier)
}

/// Every `CERTIFICATE` block of the PEM bundle at `ca`, as trusted roots.
fn roots(ca: &Path) -> Result<RootCertStore, String> {
    let certificates = CertificateDer::pem_file_iter(ca)
        .and_then(|blocks| blocks.collect::<Result<Vec<_>, _>>())
        .map_err(|error| error.to_string())?;
    if certificates.is_empty() {
        return Err("no CERTIFICATE block".to_owned());
    }
    let mut roots = RootCertStore::empty();
    for (index, certificate) in certificates.into_iter().enumerate() {
        roots
            .add(certificate)
            .map_err(|error| format!("certificate {index}: {error}"))?;
    }
    Ok(roots)
}
