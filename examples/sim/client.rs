//! Demo clients: one request through a VIP, from a chosen loopback source address, reporting
//! which controller answered. Every call has a 5 s limit.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(5);

/// What an HTTP request through a VIP got back.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The `Set-Cookie` header, if any.
    pub set_cookie: Option<String>,
    /// The body: `<controller> <service>` from a simulated API.
    pub body: String,
}

impl Reply {
    /// The controller named in the body.
    pub fn controller(&self) -> &str {
        self.body.split_whitespace().next().unwrap_or("?")
    }
}

/// Connects to `vip`, from `source` when given.
pub async fn connect(vip: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let socket = if vip.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(source) = source {
        socket.bind(SocketAddr::new(source, 0))?;
    }
    timeout(LIMIT, socket.connect(vip))
        .await
        .map_err(std::io::Error::other)?
}

/// `GET /` through `vip` (HTTP/1.1, `Connection: close`), with an optional Cookie header.
pub async fn http_get(
    vip: SocketAddr,
    source: Option<IpAddr>,
    cookie: Option<&str>,
) -> std::io::Result<Reply> {
    let mut stream = connect(vip, source).await?;
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let request = format!("GET / HTTP/1.1\r\nHost: {vip}\r\n{cookie}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    timeout(LIMIT, stream.read_to_end(&mut response))
        .await
        .map_err(std::io::Error::other)??;
    parse(&String::from_utf8_lossy(&response))
}

fn parse(response: &str) -> std::io::Result<Reply> {
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let set_cookie = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, value)| value.trim().to_owned());
    Ok(Reply {
        status,
        set_cookie,
        body: body.trim().to_owned(),
    })
}

/// The server version in the MySQL greeting read through `vip` (it names the controller).
pub async fn mysql_greeting(vip: SocketAddr) -> std::io::Result<String> {
    let mut stream = connect(vip, None).await?;
    let mut header = [0u8; 4];
    timeout(LIMIT, stream.read_exact(&mut header))
        .await
        .map_err(std::io::Error::other)??;
    let length =
        usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let mut payload = vec![0u8; length];
    timeout(LIMIT, stream.read_exact(&mut payload))
        .await
        .map_err(std::io::Error::other)??;
    let version = payload.get(1..).unwrap_or_default();
    let end = version
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(version.len());
    Ok(String::from_utf8_lossy(&version[..end]).into_owned())
}

/// The controller that answers `INFO` through the Redis VIP, and its role.
pub async fn redis_info(vip: SocketAddr) -> std::io::Result<String> {
    let mut stream = connect(vip, None).await?;
    stream.write_all(b"*1\r\n$4\r\nINFO\r\n").await?;
    let mut reply = vec![0u8; 4096];
    let read = timeout(LIMIT, stream.read(&mut reply))
        .await
        .map_err(std::io::Error::other)??;
    let text = String::from_utf8_lossy(&reply[..read]);
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .unwrap_or("?")
            .to_owned()
    };
    Ok(format!(
        "{} ({})",
        field("demo_controller:"),
        field("role:")
    ))
}
