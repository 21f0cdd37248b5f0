//! Picks the certificate a client gets: the first whose names match the client's SNI (as
//! webpki matches them, wildcards included), else the default (the first configured), which
//! is also what a client without SNI gets.

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::ServerName;
use webpki::EndEntityCert;

/// The certificates of one VIP, the default first.
#[derive(Debug)]
pub(super) struct SniResolver {
    certificates: Vec<Arc<CertifiedKey>>,
}

impl SniResolver {
    /// Chooses among `certificates` (at least one; the first is the default).
    pub(super) fn new(certificates: Vec<Arc<CertifiedKey>>) -> Self {
        debug_assert!(!certificates.is_empty(), "a TLS VIP needs a certificate");
        SniResolver { certificates }
    }

    fn matching(&self, name: &str) -> Option<&Arc<CertifiedKey>> {
        let name = ServerName::try_from(name).ok()?;
        self.certificates.iter().find(|certified| {
            let Some(leaf) = certified.cert.first() else {
                return false;
            };
            EndEntityCert::try_from(leaf)
                .and_then(|leaf| leaf.verify_is_valid_for_subject_name(&name))
                .is_ok()
        })
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        hello
            .server_name()
            .and_then(|name| self.matching(name))
            .or_else(|| self.certificates.first())
            .cloned()
    }
}
