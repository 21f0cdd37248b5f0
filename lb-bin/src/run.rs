//! `lb run -c FILE`: validates the file, starts every VIP with its health checks and the admin
//! listener (when `[admin]` is present), logs `ready` and tells systemd (`READY=1`), then
//! serves until a signal:
//! - SIGHUP reloads the file: an invalid file is refused with every error logged, and the
//!   running configuration keeps serving; a valid one is applied as a diff (see
//!   `lb_proxy::Runtime::reload`);
//! - SIGTERM or SIGINT shut down gracefully: every VIP stops accepting, connections get
//!   `[global] shutdown_timeout` (default 30 s) to finish, the rest are closed, exit 0.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use lb_core::model::Config;
use lb_proxy::{AdminServer, Loader, Supervisor};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::{error, info};

use crate::cli::RunArgs;
use crate::logging;
use crate::notify::notify;

pub(crate) fn run(args: &RunArgs) -> ExitCode {
    let config = match load(&args.config) {
        Ok(config) => config,
        Err((code, message)) => {
            eprintln!("lb: {message}");
            return code;
        }
    };
    logging::init(args.log_format);
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("lb: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.spawn(logging::write_late_lines());
    let code = runtime.block_on(serve(args.config.clone(), config));
    logging::flush();
    code
}

/// The runtime: one worker thread per core the process may run on. On a single core (one
/// CPU, or pinned with `taskset`) everything runs on the main thread, without the cross-thread
/// scheduling a multi-thread runtime pays for on every task wake-up.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut builder = if cores == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

/// Reads and validates `path`: exit 2 when it cannot be read, 1 when it is invalid.
fn load(path: &Path) -> Result<Config, (ExitCode, String)> {
    let name = path.display().to_string();
    let text = read(path).map_err(|message| (ExitCode::from(2), message))?;
    lb_core::config::parse(&name, &text)
        .map_err(|errors| (ExitCode::FAILURE, format!("{name} is invalid:\n{errors}")))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))
}

/// The loader reloads use: every error on its own line (`FILE:LINE:COLUMN: ...`).
fn loader(path: PathBuf) -> Loader {
    Box::new(move || {
        let text = read(&path).map_err(|message| vec![message])?;
        lb_core::config::parse(&path.display().to_string(), &text).map_err(|errors| {
            errors
                .errors
                .iter()
                .map(|error| format!("{}:{error}", errors.file))
                .collect()
        })
    })
}

struct Signals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }
}

async fn serve(path: PathBuf, config: Config) -> ExitCode {
    let mut signals = match Signals::install() {
        Ok(signals) => signals,
        Err(failure) => {
            error!(%failure, "cannot install signal handlers");
            return ExitCode::FAILURE;
        }
    };
    let supervisor = match Supervisor::start(&config, loader(path)).await {
        Ok(supervisor) => supervisor,
        Err(failure) => {
            error!(%failure, "cannot start");
            eprintln!("lb: {failure}");
            return ExitCode::FAILURE;
        }
    };
    let admin = match &config.admin {
        Some(admin) => match AdminServer::start(admin.listen, Arc::clone(&supervisor)).await {
            Ok(server) => Some(server),
            Err(failure) => {
                error!(%failure, "cannot start");
                eprintln!("lb: {failure}");
                supervisor.shutdown().await;
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    log_serving(&supervisor).await;
    info!(vips = config.vips.len(), "ready");
    notify("READY=1");
    let signal = loop {
        tokio::select! {
            _ = signals.hangup.recv() => {
                info!("SIGHUP: reloading");
                notify("RELOADING=1");
                // Errors are logged by the reload itself.
                if supervisor.reload().await.is_ok() {
                    log_serving(&supervisor).await;
                }
                notify("READY=1");
            }
            _ = signals.terminate.recv() => break "SIGTERM",
            _ = signals.interrupt.recv() => break "SIGINT",
        }
    };
    notify("STOPPING=1");
    let deadline = match supervisor.runtime().await.as_ref() {
        Some(runtime) => runtime.global().shutdown_timeout,
        None => config.global.shutdown_timeout,
    };
    info!(signal, deadline = ?deadline, "stopping: no new connections, waiting for open ones");
    if let Some(admin) = admin {
        admin.stop().await;
    }
    let finished = supervisor.shutdown().await.unwrap_or(true);
    info!(every_connection_finished = finished, "stopped");
    ExitCode::SUCCESS
}

async fn log_serving(supervisor: &Supervisor) {
    let runtime = supervisor.runtime().await;
    for vip in runtime.iter().flat_map(|runtime| runtime.vips()) {
        let listen: Vec<String> = vip
            .service
            .local_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        info!(vip = %vip.config.name, mode = %vip.config.mode.as_str(), listen = %listen.join(","),
              servers = vip.service.servers().len(), "serving");
    }
}
