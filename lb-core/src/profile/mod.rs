//! The built-in OpenStack profile: VIP address and controllers to the 23 VIPs.
//!
//! [`openstack`] is a pure function from an [`OpenstackInput`] to a valid [`Config`] (it runs
//! [`validate`] on what it builds and refuses an input that breaks a rule): the control
//! plane of a Red Hat OpenStack deployment (the service table in `services.rs`), each VIP
//! listening on `vip:port` with one server per controller at `controller:port` (as in TripleO,
//! where the VIP and the controllers' addresses differ). A port offset, applied to every
//! listen, server and check port, lets the whole profile run unprivileged on loopback.
//!
//! Defaults behind every VIP (TripleO's HAProxy settings): a check every 2 s, up after 2
//! successes, down after 5 failures, 10 s check timeout; connect 10 s, queue 2 m, HTTP request
//! head 10 s; 3 connect retries; 4096 connections per VIP and 20480 in all. Servers keep the
//! model's default weight and are all primaries.
//!
//! The single-writer services (mysql and redis) differ:
//! - the `first` scheduler with last-successful persistence. TripleO marks every Galera server
//!   `backup` so HAProxy uses the first available one; with no primary, backups are picked in
//!   configured order, which is exactly `first` over primaries. Same behaviour, one concept
//!   fewer;
//! - servers start down and are used only once their check has proven them (a node that is
//!   not synced, or a Redis replica, must never take a write);
//! - a server marked down has its established sessions closed, so clients reconnect to the
//!   new writer at once;
//! - mysql sessions get TCP keep-alive on both sides;
//! - mysql is checked every second (fast and down intervals too) through Galera's
//!   clustercheck on port 9200, which answers 200 only when the node is synced.
//!
//! With [`OpenstackInput::transparent`], every `tcp` VIP but mysql and redis connects to its
//! servers from the client's address (`source = "client"`), so that the services' own logs
//! (keystone, the APIs, sshd, the noVNC proxy) name the real clients. mysql and redis are left
//! as they are: their clients are the controllers themselves, whose replies to their own
//! address would never pass back through the balancer, and MySQL grants name client hosts.
//! horizon (`http`) has `X-Forwarded-For` already.

mod services;

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::model::{
    Check, Config, Global, InitialState, Mode, Server, ServerId, Source, ValidationError, Vip,
    validate,
};
use services::{SERVICES, Service, Stickiness};

/// What the profile is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenstackInput {
    /// The address every VIP listens on.
    pub vip: IpAddr,
    /// The controllers, by name, in the order `first` prefers them.
    pub controllers: Vec<(String, IpAddr)>,
    /// Added to every port (listen, server and check ports); 0 for the real ports.
    pub port_offset: u16,
    /// Redis's `requirepass`, sent with `AUTH` by the redis check when set.
    pub redis_password: Option<String>,
    /// `source = "client"` on the `tcp` VIPs but mysql and redis (see the module doc).
    pub transparent: bool,
}

impl OpenstackInput {
    /// An input with the real ports, no Redis password, not transparent.
    pub fn new(vip: IpAddr, controllers: Vec<(String, IpAddr)>) -> Self {
        OpenstackInput {
            vip,
            controllers,
            port_offset: 0,
            redis_password: None,
            transparent: false,
        }
    }
}

/// Why an input cannot make a profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Every VIP needs at least one server.
    #[error("the OpenStack profile needs at least one controller")]
    NoControllers,
    /// Two controllers with one name.
    #[error("controller name `{0}` is given twice")]
    DuplicateController(String),
    /// A controller on the VIP address would make every VIP forward to itself.
    #[error("controller `{0}` has the VIP's address; the VIP must be an address of its own")]
    ControllerOnVip(String),
    /// The offset pushes a port past 65535.
    #[error(
        "port offset {offset} takes {service} port {port} past 65535 (the largest offset is {})",
        u16::MAX - port
    )]
    PortOverflow {
        /// The service whose port overflows.
        service: &'static str,
        /// The unshifted port.
        port: u16,
        /// The offset asked for.
        offset: u16,
    },
    /// The profile breaks a rule of [`validate`] (a controller name that cannot name a server,
    /// for instance); the first problem found.
    #[error("the profile would be invalid: {0}")]
    Invalid(ValidationError),
}

/// The OpenStack control plane in front of `input.controllers`.
pub fn openstack(input: &OpenstackInput) -> Result<Config, ProfileError> {
    check_controllers(input)?;
    let vips = SERVICES
        .iter()
        .map(|service| vip(service, input))
        .collect::<Result<_, _>>()?;
    let config = Config {
        global: Global {
            max_connections: 20_480,
            ..Global::default()
        },
        admin: None,
        vips,
        cluster: None,
    };
    match validate(&config).into_iter().next() {
        Some(error) => Err(ProfileError::Invalid(error)),
        None => Ok(config),
    }
}

fn check_controllers(input: &OpenstackInput) -> Result<(), ProfileError> {
    if input.controllers.is_empty() {
        return Err(ProfileError::NoControllers);
    }
    let mut names = HashSet::new();
    for (name, address) in &input.controllers {
        if !names.insert(name.as_str()) {
            return Err(ProfileError::DuplicateController(name.clone()));
        }
        if *address == input.vip {
            return Err(ProfileError::ControllerOnVip(name.clone()));
        }
    }
    Ok(())
}

fn shifted(service: &Service, port: u16, offset: u16) -> Result<u16, ProfileError> {
    port.checked_add(offset).ok_or(ProfileError::PortOverflow {
        service: service.name,
        port,
        offset,
    })
}

fn vip(service: &Service, input: &OpenstackInput) -> Result<Vip, ProfileError> {
    let port = shifted(service, service.port, input.port_offset)?;
    let check_port = service
        .probe
        .port()
        .map(|port| shifted(service, port, input.port_offset))
        .transpose()?;
    let single_writer = service.stickiness == Stickiness::SingleWriter;
    let interval = service.probe.interval();
    let mut vip = Vip::new(service.name, SocketAddr::new(input.vip, port));
    vip.mode = service.mode;
    vip.scheduler = service.scheduler;
    vip.persistence = service.stickiness.persistence();
    vip.check = Check {
        kind: service.probe.kind(input.redis_password.as_deref()),
        interval,
        fast_interval: interval,
        down_interval: interval,
        rise: 2,
        fall: 5,
        timeout: Duration::from_secs(10),
        port: check_port,
        initial: if single_writer {
            InitialState::Down
        } else {
            InitialState::Up
        },
        observe_failures: None,
    };
    vip.timeouts = service.idle.timeouts();
    vip.client_keepalive = service.idle.keepalive();
    vip.server_keepalive = service.idle.keepalive();
    vip.retries = 3;
    vip.max_connections = 4096;
    vip.shutdown_sessions_on_down = single_writer;
    if input.transparent && vip.mode == Mode::Tcp && !single_writer {
        vip.source = Some(Source::Client);
    }
    vip.servers = input
        .controllers
        .iter()
        .zip(0..)
        .map(|((name, address), id)| {
            Server::new(ServerId(id), name.clone(), SocketAddr::new(*address, port))
        })
        .collect();
    Ok(vip)
}

#[cfg(test)]
mod tests;
