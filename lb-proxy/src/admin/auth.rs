//! Who may do what on the admin listener.
//!
//! Changes need `Authorization: Bearer <token>`, where the token is the content of
//! `[admin] token_file` (surrounding whitespace ignored), read on every request so that a
//! rotated file applies at once. Without a configured, readable, non-empty token file every
//! change is refused (403). Reads are open to loopback clients and need the token from
//! anywhere else. Tokens are compared in constant time for a given length.

use std::net::SocketAddr;

use http::HeaderMap;
use http::header::AUTHORIZATION;
use lb_core::model::Admin;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    /// No token, or the wrong one (401).
    Unauthorized,
    /// No token is configured: changes are disabled (403).
    NoToken(String),
}

/// What the request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Change,
}

/// Allows or refuses a request from `peer` with `headers`.
pub(super) fn authorize(
    access: Access,
    peer: SocketAddr,
    headers: &HeaderMap,
    admin: Option<&Admin>,
) -> Result<(), Refusal> {
    if access == Access::Read && peer.ip().is_loopback() {
        return Ok(());
    }
    let expected = configured_token(admin)?;
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(Refusal::Unauthorized)?;
    if same(presented.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Refusal::Unauthorized)
    }
}

fn configured_token(admin: Option<&Admin>) -> Result<String, Refusal> {
    let Some(path) = admin.and_then(|admin| admin.token_file.as_ref()) else {
        return Err(Refusal::NoToken(String::from(
            "changes are disabled: [admin] token_file is not set",
        )));
    };
    let token = std::fs::read_to_string(path).map_err(|error| {
        Refusal::NoToken(format!(
            "changes are disabled: cannot read the token file {}: {error}",
            path.display()
        ))
    })?;
    let token = token.trim();
    if token.is_empty() {
        return Err(Refusal::NoToken(format!(
            "changes are disabled: the token file {} is empty",
            path.display()
        )));
    }
    Ok(token.to_owned())
}

/// Equality that takes the same time whatever the position of the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin_with(token: &str) -> (tempfile::TempDir, Admin) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, format!("{token}\n")).unwrap();
        let admin = Admin {
            token_file: Some(path),
            ..Admin::default()
        };
        (dir, admin)
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        headers
    }

    const LOCAL: &str = "127.0.0.1:40000";
    const REMOTE: &str = "192.0.2.7:40000";

    #[test]
    fn changes_need_the_token_from_the_file_and_reads_are_open_on_loopback_only() {
        let (_dir, admin) = admin_with("s3cret");
        let admin = Some(&admin);
        let local = LOCAL.parse().unwrap();
        let remote = REMOTE.parse().unwrap();
        let none = HeaderMap::new();
        assert_eq!(authorize(Access::Read, local, &none, admin), Ok(()));
        assert_eq!(
            authorize(Access::Read, remote, &none, admin),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(
            authorize(Access::Read, remote, &bearer("s3cret"), admin),
            Ok(())
        );
        assert_eq!(
            authorize(Access::Change, local, &none, admin),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(
            authorize(Access::Change, local, &bearer("s3cres"), admin),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(
            authorize(Access::Change, local, &bearer("s3cret-longer"), admin),
            Err(Refusal::Unauthorized)
        );
        assert_eq!(
            authorize(Access::Change, local, &bearer("s3cret"), admin),
            Ok(())
        );
    }

    #[test]
    fn without_a_token_file_every_change_is_refused() {
        let local = LOCAL.parse().unwrap();
        let refused = authorize(Access::Change, local, &bearer(""), Some(&Admin::default()));
        assert!(matches!(refused, Err(Refusal::NoToken(_))));
        let (_dir, empty) = admin_with("  ");
        let refused = authorize(Access::Change, local, &bearer(""), Some(&empty));
        assert!(matches!(refused, Err(Refusal::NoToken(_))));
    }
}
