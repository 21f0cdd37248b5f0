//! The running process as signals and the admin API see it: the [`Runtime`], the settings of
//! the admin listener, and how to load the configuration again.
//!
//! A reload ([`Supervisor::reload`], from SIGHUP or `POST /api/reload`) loads the
//! configuration with the embedder's [`Loader`] (the `lb` binary reads and parses its file);
//! an invalid one is refused with every error, logged, and the running configuration keeps
//! serving; a valid one is applied as a diff ([`Runtime::reload`]). Reloads, runtime changes
//! and shutdown are serialised by one lock. The `[admin]` token file applies from the reload
//! on; a changed admin listen address needs a restart (a warning says so).
//!
//! Lifecycle: [`Supervisor::start`] → reloads and changes → [`Supervisor::shutdown`] (after
//! which the runtime is gone and changes are refused).

use std::sync::{Arc, Mutex};

use lb_core::cluster::Cluster as ClusterSettings;
use lb_core::model::{Admin, Config};
use tokio::sync::MutexGuard;
use tracing::{error, warn};

use crate::cluster::{Cluster, ClusterVip};
use crate::{Error, ReloadReport, Runtime};

/// Loads the configuration again: the errors, one per line, when it cannot be read or is
/// invalid.
pub type Loader = Box<dyn Fn() -> Result<Config, Vec<String>> + Send + Sync>;

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The configuration could not be read or is invalid.
    #[error("the configuration is invalid")]
    Invalid(Vec<String>),
    /// A new VIP could not start (its address is taken, say).
    #[error(transparent)]
    Start(#[from] Error),
    /// The process is shutting down.
    #[error("shutting down")]
    ShuttingDown,
}

/// The runtime, the admin settings and the loader, shared by signals and the admin API.
pub struct Supervisor {
    runtime: tokio::sync::Mutex<Option<Runtime>>,
    cluster: Option<Cluster>,
    /// The `[cluster]` settings the pair started with (changes need a restart).
    cluster_settings: Option<ClusterSettings>,
    admin: Mutex<Option<Admin>>,
    load: Loader,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor").finish_non_exhaustive()
    }
}

impl Supervisor {
    /// Starts every VIP of `config`; `load` reads the configuration again on reloads.
    pub async fn start(config: &Config, load: Loader) -> Result<Arc<Supervisor>, Error> {
        let runtime = Runtime::start(config).await?;
        let cluster = match &config.cluster {
            Some(settings) => match Cluster::start(settings, cluster_vips(&runtime)).await {
                Ok(cluster) => Some(cluster),
                Err(failure) => {
                    runtime.stop().await;
                    return Err(failure);
                }
            },
            None => None,
        };
        Ok(Arc::new(Supervisor {
            runtime: tokio::sync::Mutex::new(Some(runtime)),
            cluster,
            cluster_settings: config.cluster.clone(),
            admin: Mutex::new(config.admin.clone()),
            load,
        }))
    }

    /// The runtime, locked (`None` once shut down).
    pub async fn runtime(&self) -> MutexGuard<'_, Option<Runtime>> {
        self.runtime.lock().await
    }

    /// This node of the clustered pair, when `[cluster]` is configured.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref()
    }

    /// The admin listener's settings in force.
    pub fn admin(&self) -> Option<Admin> {
        self.admin
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Loads the configuration and applies it (see the module doc).
    pub async fn reload(&self) -> Result<ReloadReport, ReloadError> {
        let config = match (self.load)() {
            Ok(config) => config,
            Err(errors) => {
                for line in &errors {
                    error!(error = %line, "reload refused");
                }
                return Err(ReloadError::Invalid(errors));
            }
        };
        let mut runtime = self.runtime.lock().await;
        let Some(runtime) = runtime.as_mut() else {
            return Err(ReloadError::ShuttingDown);
        };
        let report = runtime.reload(&config).await.inspect_err(|failure| {
            error!(%failure, "reload refused");
        })?;
        if let Some(cluster) = &self.cluster {
            cluster.set_vips(cluster_vips(runtime)).await;
        }
        if self.cluster_settings.as_ref() != config.cluster.as_ref() {
            warn!("[cluster] changes apply at the next restart");
        }
        let mut admin = self
            .admin
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let listen = |admin: &Option<Admin>| admin.as_ref().map(|admin| admin.listen);
        if listen(&admin) != listen(&config.admin) {
            warn!("[admin] listen changes apply at the next restart");
        }
        if let (Some(running), Some(configured)) = (admin.as_mut(), &config.admin) {
            running.token_file.clone_from(&configured.token_file);
        }
        Ok(report)
    }

    /// Graceful shutdown ([`Runtime::shutdown`]); `None` if it already happened, else whether
    /// every connection finished by itself.
    pub async fn shutdown(&self) -> Option<bool> {
        let runtime = self.runtime.lock().await.take()?;
        if let Some(cluster) = &self.cluster {
            cluster.stop().await;
        }
        Some(runtime.shutdown().await)
    }
}

/// The pair's view of every VIP of `runtime`.
fn cluster_vips(runtime: &Runtime) -> Vec<ClusterVip> {
    runtime.vips().iter().map(ClusterVip::of).collect()
}
