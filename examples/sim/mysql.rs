//! A MySQL/MariaDB greeting: on connect, a protocol-10 handshake packet whose server version
//! names the controller (`10.11.6-MariaDB-<controller>`), then the connection is held open
//! until the client leaves. Enough for a `mysql` check and for a demo client to see which
//! controller answered; no authentication.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::Session;

pub(super) async fn serve(mut stream: TcpStream, session: &Session) -> std::io::Result<()> {
    stream.write_all(&greeting(&session.controller)).await?;
    let mut sink = [0u8; 1024];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

/// The handshake packet: 3-byte length, sequence 0, then the protocol-10 payload.
fn greeting(controller: &str) -> Vec<u8> {
    let mut payload = vec![10u8];
    payload.extend_from_slice(format!("10.11.6-MariaDB-{controller}").as_bytes());
    payload.push(0);
    payload.extend_from_slice(&1u32.to_le_bytes()); // connection id
    payload.extend_from_slice(b"12345678\0"); // auth data, part 1
    payload.extend_from_slice(&0xf7ffu16.to_le_bytes()); // capabilities, low
    payload.push(8); // latin1
    payload.extend_from_slice(&2u16.to_le_bytes()); // status: autocommit
    payload.extend_from_slice(&0x81bfu16.to_le_bytes()); // capabilities, high
    payload.push(21); // auth data length
    payload.extend_from_slice(&[0u8; 10]);
    payload.extend_from_slice(b"123456789012\0"); // auth data, part 2
    payload.extend_from_slice(b"mysql_native_password\0");
    let length = u32::try_from(payload.len())
        .expect("greeting is small")
        .to_le_bytes();
    let mut packet = vec![length[0], length[1], length[2], 0];
    packet.extend_from_slice(&payload);
    packet
}
