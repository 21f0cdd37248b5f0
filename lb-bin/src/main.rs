//! `lb`: the load balancer's command line.
//!
//! - `lb run -c FILE [--log-format text|json]`: runs every VIP in the foreground; logs each
//!   health transition and connection error with VIP and server names, and one access line
//!   per connection; reloads on SIGHUP; stops gracefully on SIGINT or SIGTERM (exit 0);
//!   exit 1 with the errors when the file is invalid or a VIP cannot bind.
//! - `lb ctl [--admin ADDR] [--token-file FILE] ACTION`: the admin API from the shell.
//! - `lb check -c FILE`: validates a configuration; prints `ok` (exit 0) or every error, one
//!   per line as `FILE:LINE:COLUMN: PATH: MESSAGE` (exit 1); exit 2 when the file cannot be
//!   read. After `ok`, a `note:` when VIPs use `source = "client"`, naming the routing that
//!   transparent proxying needs.
//! - `lb profile openstack --vip ADDR --controller NAME=ADDR ... [--port-offset N]
//!   [--transparent]`: prints the built-in OpenStack profile as a configuration file.
//! - `lb keepalived -c FILE [--check] [--net-namespace NAME] [--script-user USER]`: prints
//!   keepalived.conf for this node of a pair; `--check` has `keepalived -t` test it first.
//! - `lb import FILE [--check]`: prints an lb configuration made from an HAProxy one, and on
//!   stderr what was left out or approximated; exit 1 when anything was, 2 when the file
//!   cannot be read.

mod access_format;
mod check;
mod cli;
mod ctl;
mod import;
mod keepalived;
mod logging;
mod notify;
mod profile;
mod run;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(args) => run::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Profile(args) => profile::run(&args),
        Command::Keepalived(args) => keepalived::run(&args),
        Command::Ctl(args) => ctl::run(&args),
        Command::Import(args) => import::run(&args),
    }
}
