//! A VIP's `tls` table: TLS termination on its listen addresses.
//!
//! ```toml
//! [[vip]]
//! tls = { certificates = [ { cert = "a.pem", key = "a.key" }, { cert = "b.pem", key = "b.key" } ], alpn = ["h2", "http/1.1"] }
//! ```
//!
//! `certificates` is required (at least one; the first is the default, the others are chosen
//! by SNI); each needs `cert` and `key`, paths to PEM files read when the VIP starts or
//! reloads. `alpn` defaults to `["h2", "http/1.1"]` on http VIPs and to none on tcp VIPs.

use std::path::PathBuf;

use super::reader::{Field, Reader};
use crate::model::{CertificatePaths, Mode, TlsSettings};

/// The keys of the `tls` table.
const KEYS: [&str; 2] = ["certificates", "alpn"];
/// The keys of one certificate.
const CERTIFICATE_KEYS: [&str; 2] = ["cert", "key"];
/// Stands for a path that could not be read (the file is refused anyway).
const UNREADABLE_PATH: &str = "(unreadable)";

/// Reads the table of a VIP of `mode` (`None` where it cannot be read).
pub(super) fn read(reader: &mut Reader, field: &Field<'_>, mode: Mode) -> Option<TlsSettings> {
    let table = reader.table(field, &KEYS)?;
    let certificates = reader
        .require(&table, "certificates")
        .and_then(|field| reader.array(&field))
        .unwrap_or_default()
        .iter()
        .map(|item| certificate(reader, item))
        .collect();
    let alpn = match table.get("alpn") {
        Some(field) => reader
            .one_or_many(&field)
            .iter()
            .filter_map(|protocol| reader.string(protocol))
            .collect(),
        None => TlsSettings::default_alpn(mode),
    };
    Some(TlsSettings { certificates, alpn })
}

/// One certificate; a path that cannot be read is a placeholder, so that the others keep
/// their index in later messages and the mistake is reported once.
fn certificate(reader: &mut Reader, field: &Field<'_>) -> CertificatePaths {
    let unreadable = || PathBuf::from(UNREADABLE_PATH);
    let Some(table) = reader.table(field, &CERTIFICATE_KEYS) else {
        return CertificatePaths {
            cert: unreadable(),
            key: unreadable(),
        };
    };
    let mut path = |key| {
        let field = reader.require(&table, key)?;
        reader.string(&field).map(PathBuf::from)
    };
    CertificatePaths {
        cert: path("cert").unwrap_or_else(unreadable),
        key: path("key").unwrap_or_else(unreadable),
    }
}
