//! `lb run -c FILE`: validates the file, starts every VIP with its health checks, logs
//! `ready`, and runs until SIGINT or SIGTERM, then stops every VIP and exits 0.

use std::process::ExitCode;

use lb_core::model::Config;
use lb_proxy::Runtime;
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info};

use crate::cli::RunArgs;
use crate::logging;

pub(crate) fn run(args: &RunArgs) -> ExitCode {
    let name = args.config.display().to_string();
    let config = match std::fs::read_to_string(&args.config) {
        Ok(text) => match lb_core::config::parse(&name, &text) {
            Ok(config) => config,
            Err(errors) => {
                eprintln!("lb: {name} is invalid:\n{errors}");
                return ExitCode::FAILURE;
            }
        },
        Err(error) => {
            eprintln!("lb: cannot read {name}: {error}");
            return ExitCode::from(2);
        }
    };
    logging::init(args.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("lb: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> ExitCode {
    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        error!("cannot install signal handlers");
        return ExitCode::FAILURE;
    };
    let running = match Runtime::start(&config).await {
        Ok(running) => running,
        Err(failure) => {
            error!(%failure, "cannot start");
            eprintln!("lb: {failure}");
            return ExitCode::FAILURE;
        }
    };
    for vip in running.vips() {
        let listen: Vec<String> = vip
            .service
            .local_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        info!(vip = %vip.config.name, mode = %vip.config.mode.as_str(), listen = %listen.join(","),
              servers = vip.config.servers.len(), "serving");
    }
    info!(vips = running.vips().len(), "ready");
    let signal = tokio::select! {
        _ = terminate.recv() => "SIGTERM",
        _ = interrupt.recv() => "SIGINT",
    };
    info!(signal, "stopping");
    running.stop().await;
    info!("stopped");
    ExitCode::SUCCESS
}
