//! Reads of a [`Replica`] that the I/O shell makes while reconciling it with the live tables,
//! without copying the whole table.

use std::net::{IpAddr, Ipv4Addr};

use super::{Key, Replica, Value};

impl Replica {
    /// The `source-ip` entries of `vip` (tombstones and expired entries included), by client:
    /// a range of the key order, not a scan of every entry.
    pub fn source_ip_entries<'r>(
        &'r self,
        vip: &'r str,
    ) -> impl Iterator<Item = (IpAddr, &'r Value)> + 'r {
        let first = Key::SourceIp {
            vip: vip.to_owned(),
            client: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        self.entries
            .range(first..)
            .map_while(move |(key, entry)| match key {
                Key::SourceIp { vip: of, client } if of == vip => Some((*client, &entry.value)),
                _ => None,
            })
    }

    /// How many entries are live at `now_ms` (not tombstones, not expired).
    pub fn live_entries(&self, now_ms: u64) -> usize {
        self.entries
            .values()
            .filter(|entry| entry.value.is_live(now_ms))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::replica::MIN_TOMBSTONE_RETENTION_MS;

    #[test]
    fn source_ip_entries_are_those_of_the_vip_only() {
        let mut replica = Replica::new(1, MIN_TOMBSTONE_RETENTION_MS);
        let entry = |server: &str| Value::SourceIp {
            server: server.to_owned(),
            expires_at: 10_000,
        };
        for (vip, client, server) in [
            ("a", "10.0.0.1", "s1"),
            ("b", "10.0.0.2", "s2"),
            ("b", "::1", "s3"),
            ("c", "10.0.0.3", "s4"),
        ] {
            let key = Key::SourceIp {
                vip: vip.to_owned(),
                client: client.parse().unwrap(),
            };
            replica.record(key, entry(server), 1_000);
        }
        replica.record(
            Key::LastSuccessful { vip: "b".into() },
            Value::Server("s1".into()),
            1_000,
        );
        let b: Vec<(IpAddr, &Value)> = replica.source_ip_entries("b").collect();
        assert_eq!(
            b,
            vec![
                ("10.0.0.2".parse().unwrap(), &entry("s2")),
                ("::1".parse().unwrap(), &entry("s3")),
            ]
        );
        assert_eq!(replica.live_entries(1_000), 5);
        assert_eq!(replica.live_entries(10_000), 1, "source-ip entries expired");
    }
}
