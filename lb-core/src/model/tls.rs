//! TLS on both sides of a VIP: termination ([`TlsSettings`]: the certificates it presents and
//! the protocols it offers) and TLS to its servers ([`ServerTls`], re-encryption).
//!
//! The first certificate is the default; the others are chosen when the client's SNI matches
//! one of the names they carry. Reading and checking the PEM files is the proxy's job, at
//! service start and on reload.
//!
//! Defaults: ALPN offers `h2` then `http/1.1` on `http` VIPs and nothing on `tcp` VIPs
//! ([`TlsSettings::default_alpn`]). To servers: certificates are verified against `ca`, the
//! name checked (and sent by SNI) is each server's IP address unless `server_name` is set, no
//! client certificate, ALPN offers `http/1.1` on `http` VIPs and nothing on `tcp` VIPs
//! ([`ServerTls::default_alpn`]).

use std::path::PathBuf;

use super::Mode;

/// TLS termination settings of a VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// The certificates, the default first (at least one).
    pub certificates: Vec<CertificatePaths>,
    /// Application protocols offered by ALPN, in order of preference.
    pub alpn: Vec<String>,
}

/// Where one certificate chain and its private key are, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePaths {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsSettings {
    /// The ALPN protocols a VIP of `mode` offers unless configured otherwise.
    pub fn default_alpn(mode: Mode) -> Vec<String> {
        match mode {
            Mode::Http => vec!["h2".to_owned(), "http/1.1".to_owned()],
            Mode::Tcp => Vec::new(),
        }
    }
}

/// TLS from the VIP to its servers, like HAProxy's `server ... ssl verify required ca-file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTls {
    /// PEM bundle of the certificate authorities trusted to sign the servers' certificates
    /// (needed when `verify` is on).
    pub ca: Option<PathBuf>,
    /// The name sent by SNI and checked against each server's certificate; `None` checks each
    /// server's IP address against the certificate's IP addresses (and sends no SNI).
    pub server_name: Option<String>,
    /// Check the servers' certificates (default). `false` accepts any certificate: the
    /// traffic is encrypted but anyone on the path can pose as a server (HAProxy's
    /// `verify none`); insecure.
    pub verify: bool,
    /// A client certificate presented to servers that ask for one (mutual TLS).
    pub client_certificate: Option<CertificatePaths>,
    /// Application protocols offered by ALPN, in order of preference.
    pub alpn: Vec<String>,
}

impl ServerTls {
    /// Verified TLS to the servers of a VIP of `mode`, trusting the authorities in `ca`.
    pub fn verified(ca: impl Into<PathBuf>, mode: Mode) -> Self {
        ServerTls {
            ca: Some(ca.into()),
            server_name: None,
            verify: true,
            client_certificate: None,
            alpn: ServerTls::default_alpn(mode),
        }
    }

    /// The ALPN protocols offered to the servers of a VIP of `mode` unless configured
    /// otherwise: an `http` VIP speaks HTTP/1.1 to its servers.
    pub fn default_alpn(mode: Mode) -> Vec<String> {
        match mode {
            Mode::Http => vec!["http/1.1".to_owned()],
            Mode::Tcp => Vec::new(),
        }
    }
}
