//! Cookie persistence (HTTP): the value of the inserted cookie, and the header helpers.
//!
//! Defaults (the model's): cookie `SERVERID`, `indirect` and `nocache` on (both applied by the
//! HTTP layer), no max-idle, no max-life.
//!
//! The value is lowercase hex of `tag (8) [first_seen (4) last_seen (4)] mac (8)` bytes, 32
//! or 48 characters:
//! - `tag` names the server without revealing its address or name: a SipHash-2-4, keyed by
//!   the secret, of the VIP and server names. It survives restarts and reloads (as long as
//!   the secret does) whatever ids servers get, and differs between VIPs.
//! - the times (UNIX seconds, 32 bits: until 2106) are carried when `max_idle` or `max_life`
//!   is set, and checked against the caller's `now` when the cookie comes back. Idle time is
//!   tracked with a resolution of a quarter of `max_idle` (see [`CookieCodec::refresh`]).
//! - `mac` is a SipHash-2-4 of the rest keyed by the caller's 128-bit secret. SipHash is a
//!   pseudo-random function designed as a MAC for short inputs; a 64-bit tag leaves a forger
//!   one chance in 2^64 per request sent.
//!
//! Decoding is strict: a value of another length, with any character outside `0-9a-f`, a bad
//! MAC, an unknown server tag, times out of order, or beyond the max ages is rejected, and the
//! client is then scheduled afresh. A value that carries times when none are required is
//! accepted (the max ages were just switched off); one lacking required times is not.

mod header;

use std::hash::Hasher;
use std::time::Duration;

use siphasher::sip::SipHasher24;

pub use header::{find, is_valid_name, set_cookie, strip};

use crate::model::{Persistence, Server, ServerId};
use crate::pool::{Member, Pool};

const TAG_LEN: usize = 8;
const TIMES_LEN: usize = 8;
const MAC_LEN: usize = 8;
const SHORTEST: usize = TAG_LEN + MAC_LEN;
const LONGEST: usize = TAG_LEN + TIMES_LEN + MAC_LEN;
/// Domain separation between the two uses of the secret.
const SERVER_DOMAIN: &[u8] = b"lb/cookie/server\0";
const MAC_DOMAIN: &[u8] = b"lb/cookie/mac\0";

/// The settings of cookie persistence that the value depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSettings {
    /// The cookie's name.
    pub name: String,
    /// A cookie unused this long is ignored.
    pub max_idle: Option<Duration>,
    /// A cookie first set this long ago is ignored.
    pub max_life: Option<Duration>,
}

impl CookieSettings {
    /// The settings of a `cookie` persistence; `None` for any other kind.
    pub fn from_model(persistence: &Persistence) -> Option<Self> {
        match persistence {
            Persistence::Cookie {
                name,
                max_idle,
                max_life,
                ..
            } => Some(CookieSettings {
                name: name.clone(),
                max_idle: *max_idle,
                max_life: *max_life,
            }),
            _ => None,
        }
    }

    fn carries_times(&self) -> bool {
        self.max_idle.is_some() || self.max_life.is_some()
    }
}

/// When a cookie was first set and last seen, in UNIX seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieTimes {
    /// When the client was first sent to the server.
    pub first_seen: u32,
    /// When the cookie was last refreshed.
    pub last_seen: u32,
}

/// What a persistence cookie says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerCookie {
    /// The server it names.
    pub server: ServerId,
    /// Its times, if it carries them.
    pub times: Option<CookieTimes>,
}

/// Encodes and checks the cookie values of one VIP. Rebuild it when the VIP's servers change
/// (a removed server's cookies then become unknown and are ignored).
#[derive(Debug, Clone)]
pub struct CookieCodec {
    settings: CookieSettings,
    /// Keyed, with the MAC domain already written.
    mac: SipHasher24,
    /// `(tag, id)` sorted by tag.
    by_tag: Box<[(u64, ServerId)]>,
    /// `(id, tag)` sorted by id.
    by_id: Box<[(ServerId, u64)]>,
}

impl CookieCodec {
    /// The codec of VIP `vip` with `servers`, keyed by `secret` (keep it across restarts and
    /// share it with a standby balancer, or cookies are ignored once after a switch).
    pub fn new(vip: &str, settings: CookieSettings, secret: u128, servers: &[Server]) -> Self {
        debug_assert!(is_valid_name(&settings.name), "invalid cookie name");
        let keyed = SipHasher24::new_with_key(&secret.to_le_bytes());
        let tag_of = |server: &Server| {
            let mut hasher = keyed;
            hasher.write(SERVER_DOMAIN);
            hasher.write(&(vip.len() as u64).to_le_bytes());
            hasher.write(vip.as_bytes());
            hasher.write(server.name.as_bytes());
            hasher.finish()
        };
        let mut by_tag: Box<[(u64, ServerId)]> = servers
            .iter()
            .map(|server| (tag_of(server), server.id))
            .collect();
        by_tag.sort_unstable();
        let mut by_id: Box<[(ServerId, u64)]> = by_tag.iter().map(|&(t, id)| (id, t)).collect();
        by_id.sort_unstable();
        debug_assert!(
            by_tag.windows(2).all(|w| w[0].0 != w[1].0),
            "two servers share a cookie tag"
        );
        let mut mac = keyed;
        mac.write(MAC_DOMAIN);
        CookieCodec {
            settings,
            mac,
            by_tag,
            by_id,
        }
    }

    /// The codec's settings.
    pub fn settings(&self) -> &CookieSettings {
        &self.settings
    }

    /// A new cookie for a client just sent to `server` at `now` (UNIX seconds).
    pub fn issue(&self, server: ServerId, now: u64) -> ServerCookie {
        let now = saturate(now);
        ServerCookie {
            server,
            times: self.settings.carries_times().then_some(CookieTimes {
                first_seen: now,
                last_seen: now,
            }),
        }
    }

    /// The cookie value; `None` if the server is not one this codec was built with.
    pub fn encode(&self, cookie: &ServerCookie) -> Option<String> {
        let slot = self
            .by_id
            .binary_search_by_key(&cookie.server, |&(id, _)| id)
            .ok()?;
        let mut bytes = [0u8; LONGEST];
        bytes[..TAG_LEN].copy_from_slice(&self.by_id[slot].1.to_le_bytes());
        let mut len = TAG_LEN;
        if let Some(times) = cookie.times {
            bytes[len..len + 4].copy_from_slice(&times.first_seen.to_le_bytes());
            bytes[len + 4..len + 8].copy_from_slice(&times.last_seen.to_le_bytes());
            len += TIMES_LEN;
        }
        let mac = self.mac(&bytes[..len]);
        bytes[len..len + MAC_LEN].copy_from_slice(&mac.to_le_bytes());
        len += MAC_LEN;
        Some(hex_encode(&bytes[..len]))
    }

    /// The cookie a value names, if it is authentic, names a known server and is within the
    /// max ages at `now` (UNIX seconds).
    pub fn decode(&self, value: &[u8], now: u64) -> Option<ServerCookie> {
        let mut buffer = [0u8; LONGEST];
        let len = value.len() / 2;
        let carries_times = match len {
            SHORTEST => false,
            LONGEST => true,
            _ => return None,
        };
        let bytes = &mut buffer[..len];
        hex_decode(value, bytes)?;
        let (payload, mac) = bytes.split_at(len - MAC_LEN);
        if self.mac(payload).to_le_bytes() != mac {
            return None;
        }
        let tag = u64::from_le_bytes(payload[..TAG_LEN].try_into().ok()?);
        let slot = self.by_tag.binary_search_by_key(&tag, |&(t, _)| t).ok()?;
        let times = if carries_times {
            let word = |at: usize| Some(u32::from_le_bytes(payload[at..at + 4].try_into().ok()?));
            Some(CookieTimes {
                first_seen: word(TAG_LEN)?,
                last_seen: word(TAG_LEN + 4)?,
            })
        } else {
            None
        };
        let cookie = ServerCookie {
            server: self.by_tag[slot].1,
            times,
        };
        self.is_fresh(&cookie, now).then_some(cookie)
    }

    /// The cookie to send back in place of `cookie` at `now`, if its last-seen time should
    /// move forward: when `max_idle` is set and a quarter of it (at least a second) has passed.
    pub fn refresh(&self, cookie: &ServerCookie, now: u64) -> Option<ServerCookie> {
        let max_idle = self.settings.max_idle?;
        let times = cookie.times?;
        let resolution = (max_idle.as_secs() / 4).max(1);
        (now.saturating_sub(u64::from(times.last_seen)) >= resolution).then_some(ServerCookie {
            times: Some(CookieTimes {
                last_seen: saturate(now),
                ..times
            }),
            ..*cookie
        })
    }

    /// The `Set-Cookie` header value inserting `cookie` (the caller appends `; Secure` on TLS).
    pub fn set_cookie(&self, cookie: &ServerCookie) -> Option<String> {
        Some(set_cookie(&self.settings.name, &self.encode(cookie)?))
    }

    /// This VIP's cookie value in a `Cookie` header value.
    pub fn find<'h>(&self, header: &'h [u8]) -> Option<&'h [u8]> {
        find(header, &self.settings.name)
    }

    /// A `Cookie` header value without this VIP's cookie (`indirect` mode).
    pub fn strip(&self, header: &[u8]) -> Option<Vec<u8>> {
        strip(header, &self.settings.name)
    }

    /// The server a request's `Cookie` header value sends it to, with the decoded cookie: only
    /// if the cookie is valid and the server may take sticky traffic (up, not in maintenance).
    pub fn sticky<'p>(
        &self,
        header: &[u8],
        now: u64,
        pool: &'p Pool,
    ) -> Option<(&'p Member, ServerCookie)> {
        let cookie = self.decode(self.find(header)?, now)?;
        Some((pool.sticky(cookie.server)?, cookie))
    }

    fn is_fresh(&self, cookie: &ServerCookie, now: u64) -> bool {
        let Some(times) = cookie.times else {
            return !self.settings.carries_times();
        };
        let within = |since: u32, limit: Option<Duration>| {
            limit.is_none_or(|limit| now.saturating_sub(u64::from(since)) <= limit.as_secs())
        };
        times.first_seen <= times.last_seen
            && within(times.last_seen, self.settings.max_idle)
            && within(times.first_seen, self.settings.max_life)
    }

    fn mac(&self, payload: &[u8]) -> u64 {
        let mut hasher = self.mac;
        hasher.write(payload);
        hasher.finish()
    }
}

fn saturate(unix_seconds: u64) -> u32 {
    u32::try_from(unix_seconds).unwrap_or(u32::MAX)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_encode(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    hex
}

/// Fills `out` from exactly `2 * out.len()` lowercase hex digits.
fn hex_decode(hex: &[u8], out: &mut [u8]) -> Option<()> {
    if hex.len() != 2 * out.len() {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(max_idle: Option<u64>, max_life: Option<u64>) -> CookieCodec {
        let servers = [
            Server::new(ServerId(1), "web-0", "192.0.2.1:80".parse().unwrap()),
            Server::new(ServerId(2), "web-1", "192.0.2.2:80".parse().unwrap()),
        ];
        let settings = CookieSettings {
            name: "SERVERID".to_owned(),
            max_idle: max_idle.map(Duration::from_secs),
            max_life: max_life.map(Duration::from_secs),
        };
        CookieCodec::new("web", settings, 0x1234, &servers)
    }

    #[test]
    fn value_reveals_neither_address_nor_name() {
        let codec = codec(None, None);
        let value = codec.encode(&codec.issue(ServerId(1), 0)).unwrap();
        assert_eq!(value.len(), 32);
        assert!(!value.contains("192") && !value.contains("web"));
        assert!(value.bytes().all(|c| HEX.contains(&c)));
    }

    #[test]
    fn unknown_server_and_other_secret_are_rejected() {
        let codec = codec(None, None);
        assert_eq!(codec.encode(&codec.issue(ServerId(9), 0)), None);
        let value = codec.encode(&codec.issue(ServerId(2), 0)).unwrap();
        let servers = [Server::new(
            ServerId(2),
            "web-1",
            "192.0.2.2:80".parse().unwrap(),
        )];
        let other = CookieCodec::new("web", codec.settings().clone(), 0x4321, &servers);
        assert_eq!(other.decode(value.as_bytes(), 0), None);
        let other_vip = CookieCodec::new("api", codec.settings().clone(), 0x1234, &servers);
        assert_eq!(other_vip.decode(value.as_bytes(), 0), None);
    }

    #[test]
    fn times_are_required_once_max_ages_are_set() {
        let plain = codec(None, None);
        let timed = codec(Some(60), None);
        let untimed_value = plain.encode(&plain.issue(ServerId(1), 100)).unwrap();
        assert_eq!(timed.decode(untimed_value.as_bytes(), 100), None);
        let timed_cookie = timed.issue(ServerId(1), 100);
        let timed_value = timed.encode(&timed_cookie).unwrap();
        assert_eq!(timed_value.len(), 48);
        assert_eq!(
            plain.decode(timed_value.as_bytes(), 10_000),
            Some(timed_cookie)
        );
    }

    #[test]
    fn refresh_moves_last_seen_after_a_quarter_of_max_idle() {
        let codec = codec(Some(60), Some(3600));
        let cookie = codec.issue(ServerId(1), 1000);
        assert_eq!(codec.refresh(&cookie, 1014), None);
        let refreshed = codec.refresh(&cookie, 1015).unwrap();
        let times = refreshed.times.unwrap();
        assert_eq!((times.first_seen, times.last_seen), (1000, 1015));
        let value = codec.encode(&refreshed).unwrap();
        assert_eq!(codec.decode(value.as_bytes(), 1075), Some(refreshed));
        assert_eq!(codec.decode(value.as_bytes(), 1076), None, "idle 61 s");
    }
}
