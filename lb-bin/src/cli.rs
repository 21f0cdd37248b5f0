//! The command line's shape (clap derive): one subcommand per job.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A load balancer and reverse proxy.
///
/// `lb run -c lb.toml` serves a configuration; `lb check` validates one; `lb ctl` shows and
/// changes a running `lb` through its admin listener; `lb profile` prints a ready-made one;
/// `lb keepalived` prints keepalived.conf for a node of a pair; `lb import` makes one of an
/// HAProxy configuration.
#[derive(Debug, Parser)]
#[command(name = "lb", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What `lb` is asked to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run every VIP of a configuration file in the foreground.
    ///
    /// SIGHUP reloads the file (an invalid file is refused and logged; the running
    /// configuration keeps serving). SIGTERM or SIGINT stop accepting, let open connections
    /// finish for up to `[global] shutdown_timeout` (30 s by default), then exit 0. With
    /// `[admin]` in the file, the admin listener serves the status page, /metrics and the
    /// JSON API. Under systemd (`Type=notify`), readiness is reported on $NOTIFY_SOCKET.
    Run(RunArgs),
    /// Validate a configuration file: prints `ok`, or every error with its line.
    Check(CheckArgs),
    /// Print a built-in profile as a configuration file.
    Profile(ProfileArgs),
    /// Print keepalived.conf for this node of a pair, from `[cluster.vrrp]`.
    ///
    /// lb must then be started as `<this lb binary> run -c <FILE as an absolute path>` (more
    /// options may follow): keepalived tracks that process. Errors of the file go to stderr
    /// (exit 1; exit 2 when it cannot be read).
    Keepalived(KeepalivedArgs),
    /// Show or change a running `lb` through its admin listener (`[admin]` in its file).
    ///
    /// Prints the JSON answer on success (exit 0); prints the error and exits 1 when the
    /// request is refused, 2 when the admin listener cannot be reached. Changes need the
    /// token of `[admin] token_file` (`--token-file`); reads do not, from loopback.
    Ctl(CtlArgs),
    /// Print an lb configuration made from an HAProxy one (haproxy.cfg).
    ///
    /// The TOML goes to stdout and passes `lb check`; the report goes to stderr, one line per
    /// construct left out or approximated (FILE:LINE: left out: `CONSTRUCT`: REASON). Exit 0
    /// when everything was imported as it is, 1 when the report lists anything (or `--check`
    /// finds a difference), 2 when the file cannot be read.
    Import(ImportArgs),
}

/// `lb import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The HAProxy configuration file.
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// Read the printed configuration back and compare each VIP with what haproxy.cfg says:
    /// listen addresses, servers, weights, backup flags and persistence; print every
    /// difference.
    #[arg(long)]
    pub(crate) check: bool,
}

/// `lb ctl`.
#[derive(Debug, Args)]
pub(crate) struct CtlArgs {
    /// The admin listener's address (`[admin] listen`).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9900")]
    pub(crate) admin: SocketAddr,
    /// A file holding the admin token (`[admin] token_file`), needed for changes.
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) action: CtlAction,
}

/// What `lb ctl` asks.
#[derive(Debug, Subcommand)]
pub(crate) enum CtlAction {
    /// List every VIP with its servers, states and counters (GET /api/vips).
    Vips,
    /// Show one VIP with its servers (GET /api/vips/VIP).
    Vip {
        /// The VIP's name.
        vip: String,
    },
    /// Set a server's state: `ready` (takes traffic when healthy), `drain` (no new
    /// connections; open ones and sticky clients stay) or `maintenance` (out at once, open
    /// connections closed).
    State {
        /// The VIP's name.
        vip: String,
        /// The server's name.
        server: String,
        /// The new state.
        #[arg(value_parser = ["ready", "drain", "maintenance"])]
        state: String,
    },
    /// Set a server's weight (0-256; 0 takes no new connections).
    Weight {
        /// The VIP's name.
        vip: String,
        /// The server's name.
        server: String,
        /// The new weight.
        weight: u32,
    },
    /// Add a server to a VIP, ready, in the check's initial state. Runtime additions last
    /// until the next reload: add the server to the file to keep it.
    AddServer {
        /// The VIP's name.
        vip: String,
        /// The new server's name (unique in the VIP).
        name: String,
        /// Where traffic goes, as IP:PORT.
        address: SocketAddr,
        /// Its weight (0-256).
        #[arg(long, default_value_t = 100)]
        weight: u32,
        /// Use it only when no primary server is usable.
        #[arg(long)]
        backup: bool,
    },
    /// Remove a server from a VIP: no new connections, open ones finish (set `maintenance`
    /// first to close them).
    RemoveServer {
        /// The VIP's name.
        vip: String,
        /// The server's name.
        server: String,
    },
    /// Exit 0 when this node may hold the VIPs, 1 (with the reason) when not: still syncing
    /// its peer's tables, or shutting down; 2 when lb cannot be reached. keepalived's check
    /// script (`lb keepalived`) calls it (GET /api/cluster/health).
    Health,
    /// Show the clustered pair from this node: the peer, the sync state, who holds each VIP,
    /// split brain and the configuration fields that differ between the nodes, per VIP
    /// (GET /api/cluster).
    Cluster,
    /// Forget every persistence entry of a VIP (source-ip table, last-successful server).
    ClearPersistence {
        /// The VIP's name.
        vip: String,
    },
    /// Reload the configuration file, as SIGHUP does; prints what changed, or every error.
    Reload,
    /// Print the Prometheus metrics (GET /metrics).
    Metrics,
}

/// `lb keepalived`.
#[derive(Debug, Args)]
pub(crate) struct KeepalivedArgs {
    /// The configuration file, as `lb run -c` is given it (made absolute).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) config: PathBuf,
    /// Test the output with `keepalived -t` first, and print it only if keepalived accepts it.
    #[arg(long)]
    pub(crate) check: bool,
    /// The network namespace lb runs in (keepalived's `net_namespace`, so that it can still
    /// track the lb process).
    #[arg(long, value_name = "NAME")]
    pub(crate) net_namespace: Option<String>,
    /// The user keepalived runs the health script as [default: the user running this].
    #[arg(long, value_name = "USER")]
    pub(crate) script_user: Option<String>,
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
    /// Log line format on stderr, access log included (one `lb::access` line per
    /// connection); the level comes from RUST_LOG (default `info`; `info,lb::access=off`
    /// turns the access log off).
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
    /// Connect to the servers of the TCP VIPs from the client's address (`source = "client"`,
    /// TPROXY), so that keystone, the APIs, sshd and the noVNC proxy log the real clients;
    /// mysql and redis are left as they are. Needs CAP_NET_ADMIN and the routing of the README's
    /// "Transparent proxying".
    #[arg(long)]
    pub(crate) transparent: bool,
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
    fn every_subcommand_and_option_is_explained_in_help() {
        fn explained(command: &clap::Command, path: &str) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                let documented = arg.get_help().is_some() || arg.get_long_help().is_some();
                assert!(
                    documented || ["help", "version"].contains(&id),
                    "{path} {id}"
                );
            }
            for sub in command.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                assert!(sub.get_about().is_some(), "{path}");
                explained(sub, &path);
            }
        }
        explained(&Cli::command(), "lb");
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
