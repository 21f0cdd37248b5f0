//! Networks written as `address/prefix` (`10.0.0.0/8`, `fd00::/64`) or a bare address (a
//! single host), and the transport settings that name them: the PROXY protocol version sent to
//! servers and TCP keep-alive.
//!
//! Defaults: a bare address is a host network (`/32`, `/128`); keep-alive probes after 60 s of
//! silence, every 10 s, and gives up after 6 unanswered probes (a dead peer is found within two
//! minutes).

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// An IP network: every address sharing the first `prefix` bits of `address`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

/// Why a network could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a network (e.g. `10.0.0.0/8`, `192.0.2.7`, `fd00::/64`)")]
pub struct NetworkParseError(pub String);

impl Network {
    /// The network of `address` with `prefix` bits; `None` when `prefix` is longer than the
    /// address (32 for IPv4, 128 for IPv6). Host bits are cleared.
    pub fn new(address: IpAddr, prefix: u8) -> Option<Self> {
        let bits = match address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        (prefix <= bits).then(|| Network {
            address: mask(address, prefix),
            prefix,
        })
    }

    /// The network holding exactly `address`.
    pub fn host(address: IpAddr) -> Self {
        let prefix = if address.is_ipv4() { 32 } else { 128 };
        Network { address, prefix }
    }

    /// Parses `address/prefix` or a bare address.
    pub fn parse(text: &str) -> Result<Self, NetworkParseError> {
        let error = || NetworkParseError(text.to_owned());
        let text = text.trim();
        match text.split_once('/') {
            None => text.parse().map(Network::host).map_err(|_| error()),
            Some((address, prefix)) => {
                let address = address.parse().map_err(|_| error())?;
                let prefix = prefix.parse().map_err(|_| error())?;
                Network::new(address, prefix).ok_or_else(error)
            }
        }
    }

    /// Whether `address` lies in the network. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
    /// is matched as the IPv4 address it carries.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.address.is_ipv4() && mask(address, self.prefix) == self.address
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

fn mask(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & bits).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & bits).into())
        }
    }
}

/// The PROXY protocol version sent to servers, so they see the client's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProxyVersion {
    /// The human-readable text header (`PROXY TCP4 ...\r\n`).
    V1,
    /// The binary header.
    V2,
}

impl ProxyVersion {
    /// The name used in configuration files: `v1` or `v2`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyVersion::V1 => "v1",
            ProxyVersion::V2 => "v2",
        }
    }

    /// Parses `v1` or `v2`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "v1" => Some(ProxyVersion::V1),
            "v2" => Some(ProxyVersion::V2),
            _ => None,
        }
    }
}

/// TCP keep-alive probing of an idle connection (`SO_KEEPALIVE` with its three knobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive {
    /// Silence before the first probe (default 60 s).
    pub idle: Duration,
    /// Time between probes (default 10 s).
    pub interval: Duration,
    /// Unanswered probes before the connection is dropped (default 6).
    pub count: u32,
}

impl Default for KeepAlive {
    fn default() -> Self {
        KeepAlive {
            idle: Duration::from_secs(60),
            interval: Duration::from_secs(10),
            count: 6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_networks_and_hosts() {
        let net = Network::parse("10.1.2.3/8").unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains("10.200.0.1".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.9.9.9".parse().unwrap()));
        let host = Network::parse("192.0.2.7").unwrap();
        assert!(host.contains("192.0.2.7".parse().unwrap()));
        assert!(!host.contains("192.0.2.8".parse().unwrap()));
        let v6 = Network::parse("fd00::/64").unwrap();
        assert!(v6.contains("fd00::1:2".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(
            Network::parse("0.0.0.0/0")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
        for bad in [
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0/8",
            "host",
            "10.0.0.0/x",
            "",
        ] {
            assert!(Network::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn proxy_versions_have_names() {
        for version in [ProxyVersion::V1, ProxyVersion::V2] {
            assert_eq!(ProxyVersion::from_name(version.as_str()), Some(version));
        }
        assert_eq!(ProxyVersion::from_name("v3"), None);
    }

    proptest! {
        #[test]
        fn a_network_contains_exactly_its_prefix(base: u32, other: u32, prefix in 0u8..=32) {
            let net = Network::new(IpAddr::V4(base.into()), prefix).unwrap();
            let same_prefix = u64::from(base ^ other) >> (32 - u32::from(prefix)) == 0;
            prop_assert_eq!(net.contains(IpAddr::V4(other.into())), same_prefix);
            prop_assert_eq!(Network::parse(&net.to_string()), Ok(net));
        }
    }
}
