//! Runs one health probe over a real socket: connects to the check address (the server's, or
//! the check port), feeds the `lb-health` codec what arrives, writes what it asks, and turns
//! the check timeout into a failure. Reads in 4 KiB steps; the codec bounds what it keeps.
//! With `server_tls`, `http` checks run over TLS as the traffic does (HAProxy's `check-ssl`;
//! a refused certificate fails the check), other kinds in cleartext.

use std::net::SocketAddr;

use lb_core::model::{Check, CheckKind, format_duration};
use lb_health::{CheckFailure, Outcome, Step, check_address, probe_for};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tls::{Originator, ServerStream};

/// Probes `server` once under `check`, within `check.timeout`; `tls` is the VIP's TLS to its
/// servers, if any.
pub(crate) async fn probe(check: &Check, server: SocketAddr, tls: Option<&Originator>) -> Outcome {
    let address = check_address(check, server);
    let tls = tls.filter(|_| matches!(check.kind, CheckKind::Http(_)));
    match tokio::time::timeout(check.timeout, converse(check, server, address, tls)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(CheckFailure::new(format!(
            "{} check on {address} timed out after {}",
            check.kind.as_str(),
            format_duration(check.timeout)
        ))),
    }
}

async fn converse(
    check: &Check,
    server: SocketAddr,
    address: SocketAddr,
    tls: Option<&Originator>,
) -> Outcome {
    let failure =
        |what: &str, error: std::io::Error| CheckFailure::new(format!("{what} {address}: {error}"));
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| failure("connect", e))?;
    let mut stream = ServerStream::establish(tls, server.ip(), stream)
        .await
        .map_err(|e| failure("connect", e))?;
    let mut probe = probe_for(check, server);
    let mut step = probe.start();
    let mut buffer = [0u8; 4096];
    loop {
        step = match step {
            Step::Done(outcome) => return outcome,
            Step::SendAndPass(bytes) => {
                // The verdict is in; the last bytes are a courtesy (QUIT).
                let _ = stream.write_all(&bytes).await;
                return Ok(());
            }
            Step::Send(bytes) => {
                stream
                    .write_all(&bytes)
                    .await
                    .map_err(|e| failure("write to", e))?;
                Step::NeedMore
            }
            Step::NeedMore => match stream.read(&mut buffer).await {
                Ok(0) => return probe.on_eof(),
                Ok(read) => probe.on_bytes(&buffer[..read]),
                Err(error) => return Err(failure("read from", error)),
            },
        };
    }
}
