//! The canonical bytes of a live entry, hashed into a table digest.
//!
//! Each field is written with its length or a tag, so that no two different entries give the
//! same bytes. A source-ip entry's expiry is left out: it travels as remaining ms, so the two
//! nodes' local expiry times differ by the transit time even once they agree.

use std::net::IpAddr;

use ring::digest::Context;

use super::entry::admin_code;
use super::{Key, Value, Version};

/// Feeds one live entry into `hash`.
pub(super) fn feed(hash: &mut Context, key: &Key, version: Version, value: &Value) {
    match key {
        Key::LastSuccessful { vip } => {
            hash.update(&[1]);
            feed_str(hash, vip);
        }
        Key::SourceIp { vip, client } => {
            hash.update(&[2]);
            feed_str(hash, vip);
            match client {
                IpAddr::V4(ip) => {
                    hash.update(&[4]);
                    hash.update(&ip.octets());
                }
                IpAddr::V6(ip) => {
                    hash.update(&[6]);
                    hash.update(&ip.octets());
                }
            }
        }
        Key::ServerState { vip, server } => {
            hash.update(&[3]);
            feed_str(hash, vip);
            feed_str(hash, server);
        }
    }
    hash.update(&version.millis.to_be_bytes());
    hash.update(&version.counter.to_be_bytes());
    hash.update(&version.node.to_be_bytes());
    match value {
        Value::Server(server) => {
            hash.update(&[1]);
            feed_str(hash, server);
        }
        Value::SourceIp { server, .. } => {
            hash.update(&[2]);
            feed_str(hash, server);
        }
        Value::ServerState { state, weight } => {
            hash.update(&[3, admin_code(*state)]);
            hash.update(&weight.to_be_bytes());
        }
        Value::Deleted => hash.update(&[0]),
    }
}

fn feed_str(hash: &mut Context, text: &str) {
    hash.update(&(text.len() as u64).to_be_bytes());
    hash.update(text.as_bytes());
}
