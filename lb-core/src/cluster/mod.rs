//! A clustered pair, as pure logic: what the `[cluster]` table says, the keepalived
//! configuration made from it, the replicated tables and their merge rules, and the wire codec
//! the two nodes speak. The I/O (the peer link, watching the host's addresses) is in
//! `lb_proxy::cluster`.

pub mod fingerprint;
pub mod keepalived;
pub mod replica;
mod settings;
pub mod wire;

pub use settings::{Cluster, Peer, Table, Vrrp};
