//! Config drift between the two nodes: a SHA-256 fingerprint per VIP of what must match on both
//! for a failover to send clients where the other node would have, field by field so that
//! `lb ctl cluster` can name what differs.
//!
//! VIPs are matched by name across nodes, so the name is the key, not a counted field. The
//! fields that count ([`FIELDS`]), and why:
//! - `listen`: the addresses move between nodes; a VIP must accept on the same ones on both
//!   (sorted, duplicates dropped).
//! - `mode`, `scheduler`: how a new client is placed.
//! - `persistence`: its kind and every setting of it (a `source-ip` netmask shapes the
//!   replicated keys, its timeout their life), and for cookies the name, flags, ages and a
//!   SHA-256 of `http.cookie_secret` (a cookie set by one node must read on the other; the
//!   secret itself never leaves the node).
//! - `servers`: matched by name, never by position, sorted by name: name, address, weight and
//!   backup flag as configured (replicated entries name servers).
//!
//! Left out, because they tune how a node serves rather than where a client lands, and a
//! rolling change of them should not raise an alarm: timeouts, retries, connection caps,
//! health checks (each node checks for itself), TLS files, HTTP header rules, PROXY protocol,
//! source address, keep-alive, and a server's configured admin state (runtime states replicate
//! in the `server-state` table).
//!
//! The encoding, version 1: each field's digest is SHA-256 over `lb-vip-fingerprint/1/`, the
//! field name, a zero byte, then the field's values. Integers are big-endian (`u8`, `u16`,
//! `u32`, `u64`; durations as `u128` nanoseconds); strings and byte strings are a `u32` length
//! then the bytes; a list is a `u32` count then its items; an option is 0, or 1 then the
//! value; an IP address is 4 or 6 then its octets, a socket address that then its port;
//! enums are their configuration names. The VIP's fingerprint is SHA-256 over
//! `lb-vip-fingerprint/1` and the field digests in [`FIELDS`] order.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ring::digest::{Context, SHA256};

use crate::model::{Persistence, Vip};

/// The counted fields, in encoding order.
pub const FIELDS: [&str; 5] = ["listen", "mode", "scheduler", "persistence", "servers"];

/// Prefixes every digest, so that a change of encoding changes every fingerprint.
const DOMAIN: &str = "lb-vip-fingerprint/1";

/// One SHA-256 digest per counted field, in [`FIELDS`] order: what nodes exchange to name the
/// fields that differ without sending their configurations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldFingerprints(pub [[u8; 32]; FIELDS.len()]);

impl FieldFingerprints {
    /// The field digests of `vip`.
    pub fn of(vip: &Vip) -> Self {
        let mut listen: Vec<SocketAddr> = vip.listen.clone();
        listen.sort_unstable();
        listen.dedup();
        let mut servers: Vec<_> = vip.servers.iter().collect();
        servers.sort_by(|a, b| a.name.cmp(&b.name));
        let fields = [
            field("listen", |out| {
                out.list(&listen, |out, address| out.socket_address(*address));
            }),
            field("mode", |out| out.text(vip.mode.as_str())),
            field("scheduler", |out| out.text(vip.scheduler.as_str())),
            field("persistence", |out| persistence(out, vip)),
            field("servers", |out| {
                out.list(&servers, |out, server| {
                    out.text(&server.name);
                    out.socket_address(server.address);
                    out.bytes(&server.weight.to_be_bytes());
                    out.bytes(&[u8::from(server.backup)]);
                });
            }),
        ];
        FieldFingerprints(fields)
    }

    /// The VIP's fingerprint: one digest over the field digests.
    pub fn combined(&self) -> [u8; 32] {
        let mut context = Context::new(&SHA256);
        context.update(DOMAIN.as_bytes());
        for digest in &self.0 {
            context.update(digest);
        }
        finish(context)
    }

    /// The names of the fields whose digests differ, in [`FIELDS`] order.
    pub fn differences(&self, other: &FieldFingerprints) -> Vec<&'static str> {
        FIELDS
            .iter()
            .zip(self.0.iter().zip(&other.0))
            .filter(|(_, (mine, theirs))| mine != theirs)
            .map(|(name, _)| *name)
            .collect()
    }
}

/// The fingerprint of `vip`: equal on two nodes when every counted field is.
pub fn fingerprint(vip: &Vip) -> [u8; 32] {
    FieldFingerprints::of(vip).combined()
}

/// The counted fields in which `a` and `b` differ (`"scheduler"`, `"servers"`...), in
/// [`FIELDS`] order; empty when their fingerprints are equal.
pub fn differences(a: &Vip, b: &Vip) -> Vec<&'static str> {
    FieldFingerprints::of(a).differences(&FieldFingerprints::of(b))
}

fn persistence(out: &mut Encoder, vip: &Vip) {
    let persistence = &vip.persistence;
    out.text(persistence.kind_name());
    match persistence {
        Persistence::None => {}
        Persistence::SourceIp {
            timeout,
            size,
            netmask_v4,
            netmask_v6,
        } => {
            out.duration(*timeout);
            out.bytes(&(*size as u64).to_be_bytes());
            out.bytes(&[*netmask_v4, *netmask_v6]);
        }
        Persistence::Cookie {
            name,
            indirect,
            nocache,
            max_idle,
            max_life,
        } => {
            out.text(name);
            out.bytes(&[u8::from(*indirect), u8::from(*nocache)]);
            for age in [max_idle, max_life] {
                out.option(age.as_ref(), |out, age| out.duration(*age));
            }
            let secret = vip.http.cookie_secret.map(|secret| {
                let mut context = Context::new(&SHA256);
                context.update(b"lb-cookie-secret/1");
                context.update(&secret.to_be_bytes());
                finish(context)
            });
            out.option(secret.as_ref(), |out, digest| out.bytes(digest));
        }
        Persistence::LastSuccessful { clear_on_drain } => {
            out.bytes(&[u8::from(*clear_on_drain)]);
        }
    }
}

/// The digest of one field: `encode` writes its values.
fn field(name: &str, encode: impl FnOnce(&mut Encoder)) -> [u8; 32] {
    let mut out = Encoder(Context::new(&SHA256));
    out.0.update(DOMAIN.as_bytes());
    out.0.update(b"/");
    out.0.update(name.as_bytes());
    out.0.update(&[0]);
    encode(&mut out);
    finish(out.0)
}

fn finish(context: Context) -> [u8; 32] {
    let mut digest = [0; 32];
    digest.copy_from_slice(context.finish().as_ref());
    digest
}

/// Feeds values to a digest in the canonical encoding.
struct Encoder(Context);

impl Encoder {
    /// Raw bytes of a fixed-size value.
    fn bytes(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn length(&mut self, length: usize) {
        // Configuration values are far below 4 GiB; saturating keeps the encoding total.
        let length = u32::try_from(length).unwrap_or(u32::MAX);
        self.bytes(&length.to_be_bytes());
    }

    fn text(&mut self, text: &str) {
        self.length(text.len());
        self.bytes(text.as_bytes());
    }

    fn duration(&mut self, duration: Duration) {
        self.bytes(&duration.as_nanos().to_be_bytes());
    }

    fn socket_address(&mut self, address: SocketAddr) {
        match address.ip() {
            IpAddr::V4(ip) => {
                self.bytes(&[4]);
                self.bytes(&ip.octets());
            }
            IpAddr::V6(ip) => {
                self.bytes(&[6]);
                self.bytes(&ip.octets());
            }
        }
        self.bytes(&address.port().to_be_bytes());
    }

    fn list<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) {
        self.length(items.len());
        for each in items {
            item(self, each);
        }
    }

    fn option<T>(&mut self, value: Option<&T>, encode: impl FnOnce(&mut Self, &T)) {
        match value {
            None => self.bytes(&[0]),
            Some(value) => {
                self.bytes(&[1]);
                encode(self, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Mode, SchedulerKind, Server, ServerId};

    fn vip() -> Vip {
        let mut vip = Vip::new("web", SocketAddr::from(([192, 0, 2, 10], 80)));
        vip.servers = ["a", "b", "c"]
            .into_iter()
            .zip(11..)
            .map(|(name, host)| {
                let address = SocketAddr::from(([192, 0, 2, host], 80));
                Server::new(ServerId(u32::from(host)), name, address)
            })
            .collect();
        vip
    }

    #[test]
    fn equal_vips_have_equal_fingerprints() {
        assert_eq!(fingerprint(&vip()), fingerprint(&vip()));
        assert_eq!(differences(&vip(), &vip()), Vec::<&str>::new());
    }

    #[test]
    fn servers_are_matched_by_name_not_position() {
        let mut reordered = vip();
        reordered.servers.reverse();
        for (slot, server) in reordered.servers.iter_mut().enumerate() {
            server.id = ServerId(u32::try_from(slot).unwrap());
        }
        reordered.listen.push(reordered.listen[0]);
        assert_eq!(fingerprint(&reordered), fingerprint(&vip()));
    }

    #[test]
    fn node_local_settings_do_not_count() {
        let mut tuned = vip();
        tuned.timeouts.client = Duration::from_secs(5400);
        tuned.retries = 0;
        tuned.check.rise = 9;
        tuned.max_connections = 1;
        tuned.servers[0].admin = crate::model::AdminState::Drain;
        assert_eq!(fingerprint(&tuned), fingerprint(&vip()));
    }

    /// A counted field and a change of it.
    type Change = (&'static str, fn(&mut Vip));

    #[test]
    fn every_counted_field_changes_the_fingerprint() {
        let changes: [Change; 10] = [
            ("listen", |vip| vip.listen[0].set_port(81)),
            ("mode", |vip| vip.mode = Mode::Http),
            ("scheduler", |vip| vip.scheduler = SchedulerKind::First),
            ("persistence", |vip| {
                vip.persistence = Persistence::source_ip()
            }),
            ("persistence", |vip| {
                vip.persistence = Persistence::cookie();
                vip.http.cookie_secret = Some(7);
            }),
            ("servers", |vip| vip.servers[1].name = "d".to_owned()),
            ("servers", |vip| vip.servers[1].address.set_port(81)),
            ("servers", |vip| vip.servers[1].weight = 1),
            ("servers", |vip| vip.servers[1].backup = true),
            ("servers", |vip| {
                vip.servers.pop();
            }),
        ];
        for (field, change) in changes {
            let mut changed = vip();
            change(&mut changed);
            assert_ne!(fingerprint(&changed), fingerprint(&vip()), "{field}");
            assert_eq!(differences(&changed, &vip()), [field]);
        }
    }

    #[test]
    fn persistence_settings_and_the_cookie_secret_count() {
        let mut cookie = vip();
        cookie.mode = Mode::Http;
        cookie.persistence = Persistence::cookie();
        let mut other_secret = cookie.clone();
        other_secret.http.cookie_secret = Some(1);
        let mut other_name = cookie.clone();
        if let Persistence::Cookie { name, .. } = &mut other_name.persistence {
            *name = "LB".to_owned();
        }
        let mut sticky = vip();
        sticky.persistence = Persistence::source_ip();
        let mut wider = sticky.clone();
        if let Persistence::SourceIp { netmask_v4, .. } = &mut wider.persistence {
            *netmask_v4 = 24;
        }
        for (a, b) in [
            (&cookie, &other_secret),
            (&cookie, &other_name),
            (&sticky, &wider),
        ] {
            assert_eq!(differences(a, b), ["persistence"]);
        }
    }

    #[test]
    fn the_encoding_is_the_documented_one_and_stable() {
        // Computed apart from this code, from the encoding in the module doc. A change means
        // nodes of two lb versions see drift everywhere: change DOMAIN's version with it.
        let hex: String = fingerprint(&vip())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(
            hex,
            "db0b0f86ae3b5b88b45edaf5fb7deb6ec11a80c3c64b86c6e62ab2b590220f94"
        );
    }
}
