//! Certificates made by rcgen for the TLS tests (a CA and leaves it signs, written as PEM
//! files), and TLS clients that trust that CA.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use lb_core::model::{CertificatePaths, Mode, TlsSettings};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// A certificate authority that issues leaf certificates.
pub struct Authority {
    certificate: rcgen::Certificate,
    key: KeyPair,
}

/// A leaf certificate written to disk.
pub struct Leaf {
    pub paths: CertificatePaths,
    pub der: CertificateDer<'static>,
}

impl Authority {
    pub fn new() -> Authority {
        Authority::named("lb test CA")
    }

    /// An authority whose certificate's common name is `name`.
    pub fn named(name: &str) -> Authority {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let certificate = params.self_signed(&key).unwrap();
        Authority { certificate, key }
    }

    /// A leaf for `names`, written as `<file>.pem` and `<file>.key` in `dir`.
    pub fn issue(&self, dir: &Path, file: &str, names: &[&str]) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let leaf = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.certificate, &self.key)
            .unwrap();
        let paths = CertificatePaths {
            cert: dir.join(format!("{file}.pem")),
            key: dir.join(format!("{file}.key")),
        };
        std::fs::write(&paths.cert, leaf.pem()).unwrap();
        std::fs::write(&paths.key, key.serialize_pem()).unwrap();
        Leaf {
            paths,
            der: leaf.der().clone(),
        }
    }

    /// This CA's certificate written as `<file>.pem` in `dir`: a trust bundle for servers
    /// and clients that verify its leaves.
    pub fn write(&self, dir: &Path, file: &str) -> std::path::PathBuf {
        let path = dir.join(format!("{file}.pem"));
        std::fs::write(&path, self.certificate.pem()).unwrap();
        path
    }

    /// A client trusting this CA and offering `alpn`.
    pub fn client(&self, alpn: &[&str]) -> TlsConnector {
        let mut config = self.config(rustls::crypto::ring::default_provider());
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        TlsConnector::from(Arc::new(config))
    }

    /// A client trusting this CA that lists `first` before rustls' default suites.
    pub fn client_preferring(&self, first: rustls::SupportedCipherSuite) -> TlsConnector {
        let mut provider = rustls::crypto::ring::default_provider();
        provider
            .cipher_suites
            .retain(|suite| suite.suite() != first.suite());
        provider.cipher_suites.insert(0, first);
        TlsConnector::from(Arc::new(self.config(provider)))
    }

    /// A client trusting this CA that sends no SNI (like one connecting by IP address); it
    /// still checks the certificate against the name it connects with.
    pub fn client_without_sni(&self) -> TlsConnector {
        let mut config = self.config(rustls::crypto::ring::default_provider());
        config.enable_sni = false;
        TlsConnector::from(Arc::new(config))
    }

    fn config(&self, provider: rustls::crypto::CryptoProvider) -> ClientConfig {
        let mut roots = RootCertStore::empty();
        roots.add(self.certificate.der().clone()).unwrap();
        ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth()
    }
}

/// TLS settings presenting `leaves`, the first the default, with `mode`'s ALPN.
pub fn tls(leaves: &[&Leaf], mode: Mode) -> TlsSettings {
    TlsSettings {
        certificates: leaves.iter().map(|leaf| leaf.paths.clone()).collect(),
        alpn: TlsSettings::default_alpn(mode),
    }
}

/// A TLS connection to `address` asking for `name` by SNI.
pub async fn connect(
    connector: &TlsConnector,
    address: SocketAddr,
    name: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(address).await?;
    let name = ServerName::try_from(name.to_owned()).unwrap();
    connector.connect(name, tcp).await
}

/// The leaf certificate the server presented.
pub fn presented(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    let (_, session) = stream.get_ref();
    session.peer_certificates().unwrap()[0].clone()
}

/// The names on the certificate a client refused for not carrying the name it asked for
/// (rustls' rendering, e.g. `DnsName("db.example")`); panics on any other failure.
pub fn refused_names(error: &std::io::Error) -> Vec<String> {
    let refusal = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>());
    match refusal {
        Some(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            presented,
            ..
        })) => presented.clone(),
        _ => panic!("not a refusal for the name: {error}"),
    }
}
