//! Transparent proxying (`source = "client"`): server connections made from the client's own
//! address, so that servers see the client as if there were no balancer (HAProxy's `source
//! 0.0.0.0 usesrc clientip`).
//!
//! A server socket gets `IP_TRANSPARENT` (`IPV6_TRANSPARENT` for IPv6), which lets it bind an
//! address the host does not hold, and is bound to the client's address with port 0 (the
//! kernel picks the port). The option needs CAP_NET_ADMIN (or CAP_NET_RAW): [`probe`] sets it
//! once on a scratch socket of each family the VIP's servers use, at start and on every
//! reload, so that a balancer that cannot set it fails there, naming the VIP, instead of
//! failing every connection later. There is no fallback to the balancer's own address.
//!
//! The servers' replies to the client's address must come back to the balancer and be
//! delivered to the socket: a route on the servers through the balancer, and policy routing
//! with the `socket` match on it (README, "Transparent proxying"). Without them the server's
//! SYN-ACK never reaches the socket and the connect times out (measured in network
//! namespaces: no `ip rule`, or no DIVERT chain, or a server routing the clients elsewhere, all
//! end in a timeout; nothing fails at once). A TCP handshake that times out is reported
//! with the routing needed ([`missing_route`]).
//!
//! The client's address is used in its canonical form (an IPv4 client of an IPv6 wildcard
//! listener is IPv4). A client whose family differs from the server's cannot be connected
//! from: [`reachable`] refuses that attempt before any socket is made. Health checks never
//! come through here: they keep the balancer's own address.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use lb_core::model::{Source, Vip, format_duration};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::TcpSocket;

use crate::Error;

/// Sets the transparent option once per address family the servers of `vip` use (IPv4 when
/// it has none yet), when `vip` connects from its clients' addresses; the error names the VIP
/// and what the system said.
pub(crate) fn probe(vip: &Vip) -> Result<(), Error> {
    if vip.source != Some(Source::Client) {
        return Ok(());
    }
    let v6 = vip.servers.iter().any(|server| server.address.is_ipv6());
    let v4 = vip.servers.iter().any(|server| server.address.is_ipv4()) || !v6;
    let families = [(v4, Domain::IPV4), (v6, Domain::IPV6)];
    for (_, domain) in families.into_iter().filter(|(used, _)| *used) {
        let failed = |source| Error::Transparent {
            vip: vip.name.clone(),
            source,
        };
        let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP)).map_err(failed)?;
        set_transparent(&SockRef::from(&socket), domain == Domain::IPV6).map_err(failed)?;
    }
    Ok(())
}

/// Whether a connection from `client` to `server` can be made: both of one family.
pub(crate) fn reachable(client: IpAddr, server: SocketAddr) -> io::Result<()> {
    let client = client.to_canonical();
    if client.is_ipv4() == server.is_ipv4() {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "source = \"client\": client {client} cannot connect to {server} of the other \
             address family"
        ),
    ))
}

/// Binds `socket`, made for `server`'s family, to `client`'s address with a port of the
/// kernel's choosing.
pub(crate) fn bind(socket: &TcpSocket, client: IpAddr, server: SocketAddr) -> io::Result<()> {
    reachable(client, server)?;
    set_transparent(&SockRef::from(socket), server.is_ipv6())?;
    socket.bind(SocketAddr::new(client.to_canonical(), 0))
}

fn set_transparent(socket: &SockRef<'_>, v6: bool) -> io::Result<()> {
    let set = if v6 {
        socket.set_ip_transparent_v6(true)
    } else {
        socket.set_ip_transparent_v4(true)
    };
    set.map_err(|error| {
        let option = if v6 {
            "IPV6_TRANSPARENT"
        } else {
            "IP_TRANSPARENT"
        };
        io::Error::new(
            error.kind(),
            format!(
                "cannot set {option} ({error}): source = \"client\" needs CAP_NET_ADMIN (or \
                 CAP_NET_RAW): run lb as root or with AmbientCapabilities=CAP_NET_ADMIN"
            ),
        )
    })
}

/// The error of a connect from `client` to `server` that timed out after `after`: no reply
/// came back, which with a transparent source most often means the routing is missing; the
/// message names it, for `server`'s family.
pub(crate) fn missing_route(client: IpAddr, server: SocketAddr, after: Duration) -> io::Error {
    let (ip, tables, local) = if server.is_ipv6() {
        ("ip -6", "ip6tables", "::/0")
    } else {
        ("ip", "iptables", "0.0.0.0/0")
    };
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "connect from the client's address {} timed out after {}; hint: no reply reached \
             lb. With source = \"client\" the server must route the client's network through \
             lb, and lb must deliver those replies to itself: `{ip} rule add fwmark 1 lookup \
             100`, `{ip} route add local {local} dev lo table 100`, `{tables} -t mangle -N \
             DIVERT`, `{tables} -t mangle -A PREROUTING -p tcp -m socket --transparent -j \
             DIVERT`, `{tables} -t mangle -A DIVERT -j MARK --set-mark 1`, `{tables} -t mangle \
             -A DIVERT -j ACCEPT` (README: Transparent proxying)",
            client.to_canonical(),
            format_duration(after)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_reaches_servers_of_its_family_only() {
        let v4: SocketAddr = "192.0.2.11:80".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::11]:80".parse().unwrap();
        let client4: IpAddr = "198.51.100.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:198.51.100.7".parse().unwrap();
        let client6: IpAddr = "2001:db8:1::7".parse().unwrap();
        assert!(reachable(client4, v4).is_ok());
        assert!(
            reachable(mapped, v4).is_ok(),
            "an IPv4 client of a :: listener"
        );
        assert!(reachable(client6, v6).is_ok());
        let refused = reachable(client4, v6).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::Unsupported);
        assert!(refused.to_string().contains("other address family"));
        assert!(reachable(client6, v4).is_err());
    }

    #[test]
    fn the_hint_names_the_routing_of_the_server_s_family() {
        let client: IpAddr = "198.51.100.7".parse().unwrap();
        let after = Duration::from_millis(300);
        let v4 = missing_route(client, "192.0.2.11:80".parse().unwrap(), after);
        assert_eq!(v4.kind(), io::ErrorKind::TimedOut);
        let text = v4.to_string();
        assert!(
            text.contains("198.51.100.7 timed out after 300ms"),
            "{text}"
        );
        assert!(text.contains("`ip rule add fwmark 1 lookup 100`"), "{text}");
        assert!(text.contains("`ip route add local 0.0.0.0/0 dev lo table 100`"));
        assert!(text.contains("`iptables -t mangle -A PREROUTING -p tcp -m socket"));
        let client: IpAddr = "2001:db8:1::7".parse().unwrap();
        let v6 = missing_route(client, "[2001:db8::11]:80".parse().unwrap(), after).to_string();
        assert!(
            v6.contains("`ip -6 route add local ::/0 dev lo table 100`"),
            "{v6}"
        );
        assert!(v6.contains("`ip6tables -t mangle -N DIVERT`"), "{v6}");
    }
}
