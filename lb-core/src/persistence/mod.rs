//! Persistence: keeping clients on the server they were first sent to.
//!
//! One module per mode of [`crate::model::Persistence`]; `none` needs no state.
//! - [`source_ip`]: a sharded, bounded, expiring table from client address (masked) to server.
//! - [`cookie`]: the value of an inserted HTTP cookie, authenticated with a keyed MAC, and the
//!   `Cookie` / `Set-Cookie` header helpers the HTTP layer needs.
//! - [`last_successful`]: one lock-free entry per VIP naming the last server that accepted a
//!   connection, with no failback.
//!
//! Persistence only proposes: a persisted server is used only if
//! [`Pool::sticky`](crate::pool::Pool::sticky) still accepts it (up and not in maintenance),
//! so no mode ever sends a client to a down or maintenance server. Tables name servers by
//! stable [`ServerId`](crate::model::ServerId), live beside the pool and survive its rebuilds.
//! Every table exposes its entries for replication to a standby balancer.
//!
//! The flow of a connection, for the table modes (source IP, last successful):
//! 1. ask the table: [`Stickiness::Sticky`] names a usable server, [`Stickiness::Vacant`]
//!    says to schedule ([`Pool::pick`](crate::pool::Pool::pick));
//! 2. connect, retrying elsewhere on failure (the sticky server too may refuse);
//! 3. give the server that accepted back to the table's `record` with the answer's token.

pub mod cookie;
pub mod last_successful;
mod lru;
pub mod source_ip;

use crate::pool::Member;

pub use cookie::{CookieCodec, CookieSettings, CookieTimes, ServerCookie};
pub use last_successful::{LastSuccessful, Vacancy};
pub use source_ip::{ClientKey, SourceIpEntry, SourceIpSettings, SourceIpTable};

/// What a persistence table says of a new connection. Both answers carry the token (`R`)
/// under which to record the server that finally accepts the connection.
#[derive(Debug, Clone, Copy)]
pub enum Stickiness<'p, R> {
    /// The persisted server, which may take sticky traffic: try it first.
    Sticky(&'p Member, R),
    /// Nothing usable is persisted: schedule.
    Vacant(R),
}

impl<'p, R> Stickiness<'p, R> {
    /// The persisted server, if usable.
    pub fn member(&self) -> Option<&'p Member> {
        match self {
            Stickiness::Sticky(member, _) => Some(member),
            Stickiness::Vacant(_) => None,
        }
    }

    /// The token to record the accepting server under.
    pub fn into_token(self) -> R {
        match self {
            Stickiness::Sticky(_, token) | Stickiness::Vacant(token) => token,
        }
    }
}
