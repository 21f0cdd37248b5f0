//! A VIP's persistence entries as plain values, read out of and written into its live tables
//! through the [`crate::ServiceHandle`]: what a clustered pair replicates
//! (`crate::cluster`), and what an embedder may save and restore.
//!
//! Source-IP entries travel with their remaining lifetime rather than a time stamp, since each
//! table runs on its own clock; an entry learned with a lifetime longer than the table's
//! timeout gets the timeout. Entries learned from elsewhere are not published as
//! [`crate::VipEvent`]s: they are news to this node's followers only if they come from its own
//! connections.

use std::net::IpAddr;
use std::time::Duration;

use lb_core::model::ServerId;

/// The persistence entries of one VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersistenceEntries {
    /// The VIP keeps none (`none` or `cookie` persistence: a cookie names its server itself).
    None,
    /// The server the last-successful entry names, if any.
    LastSuccessful(Option<ServerId>),
    /// The unexpired source-IP entries, in no particular order.
    SourceIp(Vec<SourceIpLease>),
}

/// One source-IP entry: a client (masked as the table keys it) and its server, for so long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceIpLease {
    /// The masked client address.
    pub client: IpAddr,
    /// The server it goes to.
    pub server: ServerId,
    /// How long the entry lives on unused.
    pub remaining: Duration,
}
