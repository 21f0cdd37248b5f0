//! Readiness notification for systemd (`Type=notify`), without a library: when
//! `NOTIFY_SOCKET` is set, each state (`READY=1`, `RELOADING=1`, `STOPPING=1`, `STATUS=...`)
//! is one datagram to that unix socket (a path, or an abstract name written `@name`).
//! Without `NOTIFY_SOCKET` nothing is sent; a failure to send is logged and otherwise
//! ignored (the service manager then times out, which says more than failing here would).

use std::ffi::OsStr;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

use tracing::warn;

/// Tells the service manager `state`, if there is one.
pub(crate) fn notify(state: &str) {
    if let Some(target) = std::env::var_os("NOTIFY_SOCKET") {
        if let Err(error) = send(&target, state) {
            warn!(%error, state, "cannot notify the service manager");
        }
    }
}

/// Sends `state` to the notify socket `target`.
fn send(target: &OsStr, state: &str) -> std::io::Result<usize> {
    let socket = UnixDatagram::unbound()?;
    let address = match target.as_bytes().strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name)?,
        None => SocketAddr::from_pathname(target)?,
    };
    socket.send_to_addr(state.as_bytes(), &address)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_arrives_as_one_datagram_on_a_path_or_abstract_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        send(path.as_os_str(), "READY=1").unwrap();
        let mut buffer = [0u8; 64];
        let read = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..read], b"READY=1");

        let name = format!("lb-notify-test-{}", std::process::id());
        let abstract_address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&abstract_address).unwrap();
        send(OsStr::new(&format!("@{name}")), "STOPPING=1").unwrap();
        let read = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..read], b"STOPPING=1");
    }
}
