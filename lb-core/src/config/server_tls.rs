//! A VIP's `server_tls` table: TLS from the VIP to its servers (re-encryption).
//!
//! ```toml
//! [[vip]]
//! server_tls = { ca = "/etc/pki/ca.pem", server_name = "controller.internal", verify = true, cert = "client.pem", key = "client.key", alpn = ["http/1.1"] }
//! ```
//!
//! `ca` is the PEM bundle of trusted authorities, required while `verify` is true (the
//! default); `verify = false` accepts any server certificate (insecure, HAProxy's
//! `verify none`). `server_name` is sent by SNI and checked against the certificates; without
//! it each server's IP address is checked against the certificate's IP addresses. `cert` and
//! `key` (both or neither) are a client certificate for servers that ask for one. `alpn`
//! defaults to `["http/1.1"]` on http VIPs and to none on tcp VIPs. Files are read when the
//! VIP starts or reloads.

use std::path::PathBuf;

use super::reader::{Field, Reader};
use crate::model::{CertificatePaths, Mode, ServerTls};

/// The keys of the `server_tls` table.
const KEYS: [&str; 6] = ["ca", "server_name", "verify", "cert", "key", "alpn"];

/// Reads the table of a VIP of `mode` (`None` where it cannot be read).
pub(super) fn read(reader: &mut Reader, field: &Field<'_>, mode: Mode) -> Option<ServerTls> {
    let table = reader.table(field, &KEYS)?;
    let mut settings = ServerTls {
        ca: None,
        server_name: None,
        verify: true,
        client_certificate: None,
        alpn: ServerTls::default_alpn(mode),
    };
    let mut path = |key| {
        let field = table.get(key)?;
        reader
            .string(&field)
            .map(|path| (field, PathBuf::from(path)))
    };
    settings.ca = path("ca").map(|(_, ca)| ca);
    settings.client_certificate = match (path("cert"), path("key")) {
        (Some((_, cert)), Some((_, key))) => Some(CertificatePaths { cert, key }),
        (Some((alone, _)), None) => {
            alone_without(reader, &alone, "key");
            None
        }
        (None, Some((alone, _))) => {
            alone_without(reader, &alone, "cert");
            None
        }
        (None, None) => None,
    };
    settings.server_name = table
        .get("server_name")
        .and_then(|field| reader.string(&field));
    reader.set(table.get("verify"), &mut settings.verify, Reader::boolean);
    if let Some(field) = table.get("alpn") {
        settings.alpn = reader
            .one_or_many(&field)
            .iter()
            .filter_map(|protocol| reader.string(protocol))
            .collect();
    }
    Some(settings)
}

/// Reports half a client certificate: `alone` is written, `missing` is not.
fn alone_without(reader: &mut Reader, alone: &Field<'_>, missing: &str) {
    reader.fail(
        alone,
        format!("a client certificate needs both `cert` and `key`: `{missing}` is missing"),
    );
}
