//! The field encoding of payloads, big-endian: integers at their width, strings as a `u16`
//! length and UTF-8 bytes, addresses as a family byte (4 or 6) and their octets, and updates.
//!
//! An update is `key | version | value`: the key is a table byte (1 `last-successful`, 2
//! `source-ip`, 3 `server-admin`), the VIP, then the client address or the server name; the
//! version is `u64 millis | u32 counter | u64 node`; the value is a tag byte (0 deleted, 1
//! server, 2 source-ip, 3 admin state) and its fields. A source-ip entry's expiry travels as
//! the milliseconds it has left at `now_ms`, and comes back as `now_ms` plus those.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Error;
use crate::cluster::replica::{Key, Update, Value, Version, admin_code, admin_from_code};
use crate::model::MAX_WEIGHT;

/// Reads fields off the front of a payload.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(payload: &'a [u8]) -> Self {
        Reader { rest: payload }
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], Error> {
        if count > self.rest.len() {
            return Err(Error::Malformed("payload ends inside a field"));
        }
        let (taken, rest) = self.rest.split_at(count);
        self.rest = rest;
        Ok(taken)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(super) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    pub(super) fn u16(&mut self) -> Result<u16, Error> {
        self.array().map(u16::from_be_bytes)
    }

    pub(super) fn u32(&mut self) -> Result<u32, Error> {
        self.array().map(u32::from_be_bytes)
    }

    pub(super) fn u64(&mut self) -> Result<u64, Error> {
        self.array().map(u64::from_be_bytes)
    }

    pub(super) fn string(&mut self) -> Result<String, Error> {
        let length = self.u16()?;
        let bytes = self.take(usize::from(length))?;
        let text = std::str::from_utf8(bytes).map_err(|_| Error::Malformed("name is not UTF-8"))?;
        Ok(text.to_owned())
    }

    fn ip(&mut self) -> Result<IpAddr, Error> {
        match self.u8()? {
            4 => Ok(IpAddr::V4(Ipv4Addr::from(self.array::<4>()?))),
            6 => Ok(IpAddr::V6(Ipv6Addr::from(self.array::<16>()?))),
            _ => Err(Error::Malformed("unknown address family")),
        }
    }

    pub(super) fn update(&mut self, now_ms: u64) -> Result<Update, Error> {
        let key = match self.u8()? {
            1 => Key::LastSuccessful {
                vip: self.string()?,
            },
            2 => Key::SourceIp {
                vip: self.string()?,
                client: self.ip()?,
            },
            3 => Key::ServerState {
                vip: self.string()?,
                server: self.string()?,
            },
            _ => return Err(Error::Malformed("unknown table")),
        };
        let version = Version {
            millis: self.u64()?,
            counter: self.u32()?,
            node: self.u64()?,
        };
        let value = match self.u8()? {
            0 => Value::Deleted,
            1 => Value::Server(self.string()?),
            2 => Value::SourceIp {
                server: self.string()?,
                expires_at: now_ms.saturating_add(self.u64()?),
            },
            3 => {
                let state =
                    admin_from_code(self.u8()?).ok_or(Error::Malformed("unknown admin state"))?;
                let weight = self.u16()?;
                if weight > MAX_WEIGHT {
                    return Err(Error::Malformed("weight above the maximum"));
                }
                Value::ServerState { state, weight }
            }
            _ => return Err(Error::Malformed("unknown value kind")),
        };
        if !key.accepts(&value) {
            return Err(Error::Malformed("value of another table than its key"));
        }
        Ok(Update {
            key,
            version,
            value,
        })
    }

    /// Whether the whole payload was read.
    pub(super) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// Appends a string; refused above 65535 bytes.
pub(super) fn put_string(out: &mut Vec<u8>, text: &str) -> Result<(), Error> {
    let length =
        u16::try_from(text.len()).map_err(|_| Error::Malformed("name longer than 65535 bytes"))?;
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// Appends a count of items; refused above `u32::MAX`.
pub(super) fn put_count(out: &mut Vec<u8>, count: usize) -> Result<(), Error> {
    let count = u32::try_from(count).map_err(|_| Error::Malformed("too many items"))?;
    out.extend_from_slice(&count.to_be_bytes());
    Ok(())
}

/// Appends an update, its source-ip expiry as the ms left at `now_ms`.
pub(super) fn put_update(out: &mut Vec<u8>, update: &Update, now_ms: u64) -> Result<(), Error> {
    match &update.key {
        Key::LastSuccessful { vip } => {
            out.push(1);
            put_string(out, vip)?;
        }
        Key::SourceIp { vip, client } => {
            out.push(2);
            put_string(out, vip)?;
            match client {
                IpAddr::V4(ip) => {
                    out.push(4);
                    out.extend_from_slice(&ip.octets());
                }
                IpAddr::V6(ip) => {
                    out.push(6);
                    out.extend_from_slice(&ip.octets());
                }
            }
        }
        Key::ServerState { vip, server } => {
            out.push(3);
            put_string(out, vip)?;
            put_string(out, server)?;
        }
    }
    let Version {
        millis,
        counter,
        node,
    } = update.version;
    out.extend_from_slice(&millis.to_be_bytes());
    out.extend_from_slice(&counter.to_be_bytes());
    out.extend_from_slice(&node.to_be_bytes());
    match &update.value {
        Value::Deleted => out.push(0),
        Value::Server(server) => {
            out.push(1);
            put_string(out, server)?;
        }
        Value::SourceIp { server, expires_at } => {
            out.push(2);
            put_string(out, server)?;
            out.extend_from_slice(&expires_at.saturating_sub(now_ms).to_be_bytes());
        }
        Value::ServerState { state, weight } => {
            out.extend_from_slice(&[3, admin_code(*state)]);
            out.extend_from_slice(&weight.to_be_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AdminState;

    fn round_trip(update: &Update, sent_at: u64, received_at: u64) -> Update {
        let mut out = Vec::new();
        put_update(&mut out, update, sent_at).expect("encodable");
        let mut reader = Reader::new(&out);
        let back = reader.update(received_at).expect("decodable");
        assert!(reader.is_empty());
        back
    }

    #[test]
    fn source_ip_expiry_travels_as_remaining_ms() {
        let update = Update {
            key: Key::SourceIp {
                vip: "web".into(),
                client: "2001:db8::".parse().expect("an address"),
            },
            version: Version::default(),
            value: Value::SourceIp {
                server: "s1".into(),
                expires_at: 10_000,
            },
        };
        let back = round_trip(&update, 4_000, 1_000_000);
        let expected = Value::SourceIp {
            server: "s1".into(),
            expires_at: 1_006_000,
        };
        assert_eq!(back.value, expected);
        let expired = round_trip(&update, 20_000, 50);
        assert!(matches!(
            expired.value,
            Value::SourceIp { expires_at: 50, .. }
        ));
    }

    #[test]
    fn values_of_another_table_and_bad_fields_are_refused() {
        let update = Update {
            key: Key::LastSuccessful { vip: "db".into() },
            version: Version::default(),
            value: Value::ServerState {
                state: AdminState::Drain,
                weight: MAX_WEIGHT,
            },
        };
        let mut out = Vec::new();
        put_update(&mut out, &update, 0).expect("encodable");
        let refused = Reader::new(&out).update(0).unwrap_err();
        assert_eq!(
            refused,
            Error::Malformed("value of another table than its key")
        );
        let heavy = out.len() - 2;
        out[heavy..].copy_from_slice(&(MAX_WEIGHT + 1).to_be_bytes());
        let refused = Reader::new(&out).update(0).unwrap_err();
        assert_eq!(refused, Error::Malformed("weight above the maximum"));
        for end in 0..out.len() {
            assert!(Reader::new(&out[..end]).update(0).is_err());
        }
    }

    #[test]
    fn long_names_and_bad_utf8_are_refused() {
        let long = "x".repeat(65536);
        assert!(put_string(&mut Vec::new(), &long).is_err());
        let bytes = [0, 2, 0xc3, 0x28];
        assert_eq!(
            Reader::new(&bytes).string().unwrap_err(),
            Error::Malformed("name is not UTF-8")
        );
    }
}
