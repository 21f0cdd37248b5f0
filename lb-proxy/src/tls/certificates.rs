//! Reads a VIP's certificate chains and private keys from their PEM files.
//!
//! A chain is every `CERTIFICATE` block of its file, leaf first; the key file's first private
//! key (PKCS#8, PKCS#1 or SEC1) is used and must belong to the leaf. Every mistake names the
//! file it was found in.

use std::path::Path;
use std::sync::Arc;

use lb_core::model::CertificatePaths;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Why a certificate could not be loaded: the file and what is wrong with it.
#[derive(Debug)]
pub(super) struct LoadError {
    pub(super) file: String,
    pub(super) reason: String,
}

/// Reads one certificate chain and its key.
pub(super) fn load(
    paths: &CertificatePaths,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, LoadError> {
    let chain = CertificateDer::pem_file_iter(&paths.cert)
        .and_then(|blocks| blocks.collect::<Result<Vec<_>, _>>())
        .map_err(|error| failure(&paths.cert, error))?;
    if chain.is_empty() {
        return Err(failure(&paths.cert, "no CERTIFICATE block"));
    }
    let key =
        PrivateKeyDer::from_pem_file(&paths.key).map_err(|error| failure(&paths.key, error))?;
    let certified =
        CertifiedKey::from_der(chain, key, provider).map_err(|error| failure(&paths.key, error))?;
    Ok(Arc::new(certified))
}

fn failure(file: &Path, reason: impl ToString) -> LoadError {
    LoadError {
        file: file.display().to_string(),
        reason: reason.to_string(),
    }
}
