//! The command line's shape (clap derive): one subcommand per job.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A load balancer and reverse proxy.
#[derive(Debug, Parser)]
#[command(name = "lb", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What `lb` is asked to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run every VIP of a configuration file in the foreground until SIGINT or SIGTERM.
    Run(RunArgs),
    /// Validate a configuration file: prints `ok`, or every error with its line.
    Check(CheckArgs),
    /// Print a built-in profile as a configuration file.
    Profile(ProfileArgs),
}

/// `lb check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The configuration file.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) config: PathBuf,
}

/// `lb run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// The configuration file.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) config: PathBuf,
    /// Log line format on stderr; the level comes from RUST_LOG (default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// `2026-11-26T20:00:00Z  INFO lb_proxy::health: health changed vip=… server=… health=up`
    Text,
    /// One JSON object per line.
    Json,
}

/// `lb profile`.
#[derive(Debug, Args)]
pub(crate) struct ProfileArgs {
    #[command(subcommand)]
    pub(crate) profile: Profile,
}

/// The built-in profiles.
#[derive(Debug, Subcommand)]
pub(crate) enum Profile {
    /// The Red Hat OpenStack control plane: 23 VIPs in front of the controllers.
    Openstack(OpenstackArgs),
}

/// `lb profile openstack`.
#[derive(Debug, Args)]
pub(crate) struct OpenstackArgs {
    /// The address every VIP listens on.
    #[arg(long, value_name = "ADDR")]
    pub(crate) vip: IpAddr,
    /// A controller, as NAME=ADDR; repeat for each, in the order `first` prefers them.
    #[arg(long = "controller", value_name = "NAME=ADDR", required = true, value_parser = controller)]
    pub(crate) controllers: Vec<(String, IpAddr)>,
    /// Added to every listen, server and check port (to run without root).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) port_offset: u16,
    /// Redis's `requirepass`, sent with AUTH by the redis check.
    #[arg(long, value_name = "PASSWORD")]
    pub(crate) redis_password: Option<String>,
}

fn controller(text: &str) -> Result<(String, IpAddr), String> {
    let (name, address) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not NAME=ADDR (e.g. controller-0=192.0.2.11)"))?;
    let address = address
        .parse()
        .map_err(|_| format!("`{address}` is not an IP address"))?;
    Ok((name.to_owned(), address))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn controllers_read_as_name_equals_address() {
        assert_eq!(
            controller("controller-0=192.0.2.11"),
            Ok(("controller-0".to_owned(), "192.0.2.11".parse().unwrap()))
        );
        assert!(controller("controller-0").is_err());
        assert!(controller("c=nowhere").is_err());
    }
}
