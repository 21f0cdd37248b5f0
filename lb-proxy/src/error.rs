//! Errors of the embedding API: what can go wrong when starting or changing a service.

use std::io;
use std::net::SocketAddr;

use lb_core::model::{MAX_WEIGHT, ServerId, ValidationError};

/// Why a service could not start or a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A listening socket could not be set up (address in use, no permission, bad address).
    #[error("VIP `{vip}`: cannot listen on {address}: {source}")]
    Bind {
        /// The VIP's name.
        vip: String,
        /// The address that failed.
        address: SocketAddr,
        /// What the system said.
        source: io::Error,
    },
    /// The VIP has no listen address.
    #[error("VIP `{vip}` has no listen address")]
    NoListenAddress {
        /// The VIP's name.
        vip: String,
    },
    /// A VIP's TLS certificates could not be loaded (the reason names the file).
    #[error("VIP `{vip}`: TLS: {reason}")]
    Tls {
        /// The VIP's name.
        vip: String,
        /// The file and what is wrong with it.
        reason: String,
    },
    /// The VIP connects from its clients' addresses (`source = "client"`) and the transparent
    /// socket option cannot be set (no CAP_NET_ADMIN, or a kernel without it).
    #[error("VIP `{vip}`: {source}")]
    Transparent {
        /// The VIP's name.
        vip: String,
        /// What the system said, with what lb needs.
        source: io::Error,
    },
    /// The cluster's secret file cannot be used.
    #[error("[cluster] secret_file {file}: {reason}")]
    ClusterSecret {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The cluster's replication address cannot be listened on.
    #[error("[cluster] listen {address}: {source}")]
    ClusterListen {
        /// The address.
        address: SocketAddr,
        /// What the system said.
        source: io::Error,
    },
    /// The admin listener was configured on an address a VIP listens on.
    #[error("[admin] listen {address} is also VIP `{vip}`'s address")]
    AdminOnVip {
        /// The admin address.
        address: SocketAddr,
        /// The VIP listening there.
        vip: String,
    },
    /// The VIP's settings cannot run (see [`lb_core::model::validate_vip`]).
    #[error("VIP `{vip}` is invalid: {}", join(errors))]
    Invalid {
        /// The VIP's name.
        vip: String,
        /// Every problem, with the field it concerns.
        errors: Vec<ValidationError>,
    },
    /// A weight above [`MAX_WEIGHT`].
    #[error("VIP `{vip}`: weight {weight} is out of range (0-{MAX_WEIGHT})")]
    Weight {
        /// The VIP's name.
        vip: String,
        /// The weight asked for.
        weight: u16,
    },
    /// A change named a server the VIP does not have.
    #[error("VIP `{vip}` has no server {server}")]
    UnknownServer {
        /// The VIP's name.
        vip: String,
        /// The id asked for.
        server: ServerId,
    },
}

fn join(errors: &[ValidationError]) -> String {
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    errors.join("; ")
}
