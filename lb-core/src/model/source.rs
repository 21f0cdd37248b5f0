//! Where a VIP's connections to its servers come from: a fixed local address, or the client's
//! own address (transparent proxying, HAProxy's `source 0.0.0.0 usesrc clientip`).
//!
//! Written in configuration files as an IP address (`"192.0.2.5"`) or `"client"`. Defaults:
//! none (a VIP without `source` lets the system choose the local address).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The source of a VIP's server connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// This local address, any port.
    Address(IpAddr),
    /// The client's address (the one its PROXY header names, where `accept_proxy_from`
    /// applies), any port: the servers see the client as if there were no balancer. Needs
    /// `IP_TRANSPARENT` (CAP_NET_ADMIN) and routing that brings the servers' replies back to
    /// the balancer; health checks still come from the balancer's own address.
    Client,
}

/// Why a `source` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is neither \"client\" nor an IP address (e.g. \"192.0.2.10\")")]
pub struct SourceParseError(pub String);

impl Source {
    /// The configuration word for [`Source::Client`].
    pub const CLIENT: &'static str = "client";

    /// Whether connections come from the client's address.
    pub fn is_client(self) -> bool {
        self == Source::Client
    }
}

impl FromStr for Source {
    type Err = SourceParseError;

    /// Reads `client` or an IP address (IPv4 or IPv6, without brackets or port).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == Source::CLIENT {
            return Ok(Source::Client);
        }
        text.parse()
            .map(Source::Address)
            .map_err(|_| SourceParseError(text.to_owned()))
    }
}

impl fmt::Display for Source {
    /// Writes what [`Source::from_str`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Address(address) => address.fmt(f),
            Source::Client => f.write_str(Source::CLIENT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_client_and_addresses() {
        assert_eq!("client".parse(), Ok(Source::Client));
        assert_eq!(
            "192.0.2.5".parse(),
            Ok(Source::Address("192.0.2.5".parse().unwrap()))
        );
        assert_eq!(
            "2001:db8::5".parse(),
            Ok(Source::Address("2001:db8::5".parse().unwrap()))
        );
        for bad in [
            "Client",
            "clientip",
            "",
            " client",
            "192.0.2.5:80",
            "[2001:db8::5]",
        ] {
            assert_eq!(
                bad.parse::<Source>(),
                Err(SourceParseError(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn what_is_written_reads_back(address: IpAddr, client: bool) {
            let source = if client { Source::Client } else { Source::Address(address) };
            prop_assert_eq!(source.to_string().parse::<Source>(), Ok(source));
        }
    }
}
