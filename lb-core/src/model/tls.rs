//! TLS termination on a VIP: the certificates it presents and the protocols it offers.
//!
//! The first certificate is the default; the others are chosen when the client's SNI matches
//! one of the names they carry. Reading and checking the PEM files is the proxy's job, at
//! service start and on reload.
//!
//! Defaults: ALPN offers `h2` then `http/1.1` on `http` VIPs and nothing on `tcp` VIPs
//! ([`TlsSettings::default_alpn`]).

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
