//! The I/O of a clustered pair (`[cluster]`): the replication link to the peer, the host's
//! addresses (which VIPs this node holds, since keepalived moves them), and what both mean
//! for the running VIPs. The rules live in `lb_core::cluster`: the replicated tables and their
//! merge ([`lb_core::cluster::replica`]) and the authenticated wire protocol
//! ([`lb_core::cluster::wire`]).
//!
//! What flows: each VIP's events ([`crate::VipEvent`]: the last-successful server moving, a
//! source-IP entry made or moved, an admin state or weight set) become versioned updates sent
//! to the peer at once; a reconciliation every [`RECONCILE`] catches what events do not say
//! (a source-IP entry kept alive by use, deletes, missed events). Updates from the peer change
//! the live tables through the VIP's [`crate::ServiceHandle`]. When the link comes up each
//! node sends its whole table, then `SyncDone`; heartbeats every [`HEARTBEAT`] say which VIPs
//! the sender holds and fingerprint their configuration, so split brain and drift show.
//!
//! Lifecycle: [`Cluster::start`] reads the secret, binds `listen` and starts in `syncing`;
//! [`Cluster::set_vips`] after every reload; [`Cluster::stop`].
//!
//! Modules: `addresses` (the host's addresses, from rtnetlink), `holding` (which VIPs are
//! held; closing a lost VIP's sessions), `link` (the TCP connection and its session), `node`
//! (the task that owns the replica and applies both ways), `status` (what is reported).

mod addresses;
mod holding;
mod link;
mod metrics;
mod node;
mod status;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lb_core::cluster::Cluster as Settings;
use lb_core::model::Vip;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub(crate) use metrics::register as register_metrics;
pub use status::{ClusterCounters, ClusterStatus, PeerStatus, SyncState, VipStatus};

use crate::{Error, RunningVip, ServiceHandle};
use link::Identity;
use node::{Command, Node};

/// How often a node tells its peer what it holds.
pub const HEARTBEAT: Duration = Duration::from_millis(200);
/// How often the live tables are compared with the replica.
pub const RECONCILE: Duration = Duration::from_secs(1);
/// The shortest secret accepted, in bytes.
pub const MIN_SECRET: usize = 16;

/// A VIP as the pair sees it: its configuration and its service.
#[derive(Debug, Clone)]
pub struct ClusterVip {
    /// The configuration it runs.
    pub config: Vip,
    /// Its service.
    pub service: Arc<ServiceHandle>,
}

impl ClusterVip {
    /// The pair's view of a running VIP.
    pub fn of(running: &RunningVip) -> Self {
        ClusterVip {
            config: running.config.clone(),
            service: Arc::clone(&running.service),
        }
    }
}

/// This node of a running pair.
#[derive(Debug)]
pub struct Cluster {
    commands: mpsc::Sender<Command>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Cluster {
    /// Reads the secret file, binds the replication address and starts replicating `vips`.
    /// Fails naming the file or address. Must be called within a Tokio runtime.
    pub async fn start(settings: &Settings, vips: Vec<ClusterVip>) -> Result<Cluster, Error> {
        let secret = read_secret(settings)?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| Error::ClusterListen {
                    address: settings.listen,
                    source,
                })?;
        let identity = Arc::new(Identity {
            node: settings.node.clone(),
            peer: settings.peer.name.clone(),
            secret,
        });
        let (link_events, link_receiver) = mpsc::channel(1024);
        let mut tasks = vec![tokio::spawn(link::listen(
            listener,
            Arc::clone(&identity),
            link_events.clone(),
        ))];
        if settings.node < settings.peer.name {
            tasks.push(tokio::spawn(link::dial(
                settings.peer.address,
                identity,
                link_events,
            )));
        }
        let (commands, command_receiver) = mpsc::channel(16);
        let node = Node::new(settings.clone(), vips);
        tasks.push(tokio::spawn(node.run(command_receiver, link_receiver)));
        Ok(Cluster {
            commands,
            tasks: Mutex::new(tasks),
        })
    }

    /// Replicates `vips` from now on (after a reload).
    pub async fn set_vips(&self, vips: Vec<ClusterVip>) {
        let _ = self.commands.send(Command::SetVips(vips)).await;
    }

    /// The pair as this node sees it now.
    pub async fn status(&self) -> Option<ClusterStatus> {
        let (answer, status) = oneshot::channel();
        self.commands.send(Command::Status(answer)).await.ok()?;
        status.await.ok()
    }

    /// Stops replicating and closes the link.
    pub async fn stop(&self) {
        let tasks = std::mem::take(
            &mut *self
                .tasks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// The secret, its surrounding whitespace trimmed; refused when unreadable or short.
fn read_secret(settings: &Settings) -> Result<Vec<u8>, Error> {
    let refuse = |reason: String| Error::ClusterSecret {
        file: settings.secret_file.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(&settings.secret_file).map_err(|error| refuse(error.to_string()))?;
    let secret = bytes.trim_ascii().to_vec();
    if secret.len() < MIN_SECRET {
        return Err(refuse(format!(
            "the secret is {} bytes; at least {MIN_SECRET} are needed",
            secret.len()
        )));
    }
    Ok(secret)
}

/// Milliseconds since the Unix epoch: the replica's clock.
pub(crate) fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}
