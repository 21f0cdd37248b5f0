//! keepalived.conf for this node, made from `[cluster.vrrp]` (what `lb keepalived` prints):
//! right by construction, so that operators do not have to know keepalived's traps.
//!
//! What it writes, and why:
//! - `global_defs`: `router_id` = the node's name; `vrrp_version 3` there (keepalived 2.2.7
//!   ignores it inside an instance and keeps VRRPv2's one-second minimum); script security
//!   with [`KeepalivedOptions::script_user`]; `max_auto_priority` (real-time scheduling against
//!   late adverts on a busy host); GARP: a second burst after 1 s, 3 per burst, a refresh every
//!   60 s, and a new burst when a lower-priority advert or two masters are seen.
//! - `net_namespace NAME` at the top level (keepalived reads it there, not in `global_defs`)
//!   when lb runs in a network namespace: keepalived opens its process tracker before it
//!   enters the namespace, so `track_process` keeps working (under `ip netns exec` it cannot).
//! - `vrrp_track_process lb_process`: lb as started, `<lb> run -c <config>` with the absolute
//!   paths of [`KeepalivedOptions`], matched on its whole command line (keepalived 2.2.7
//!   compares argv\[0\] exactly and, with `param_match partial`, the parameters given as a
//!   prefix: more options may follow, and two nodes on one host tell apart by their config
//!   file). Weight 0: a crash puts the node in FAULT at once. No `delay`: keepalived refuses
//!   `delay 0`, and none is its default.
//! - `vrrp_script lb_health`: `<lb> ctl --admin <[admin] listen> health` (a wildcard admin
//!   address is asked on loopback) every second, 1 s timeout, 2 failures to fail, 2 successes
//!   to recover; every 0.3 s with a 0.3 s timeout from keepalived 2.3.2, whose scripts take
//!   fractions of seconds.
//! - `vrrp_instance lb`: `state BACKUP` and `nopreempt` on both nodes (the VIPs move only when
//!   the master fails; weights stay 0, as with `nopreempt` a backup accepts lower-priority
//!   adverts), unicast adverts from `src_address` to `peer_address` only, and every distinct
//!   VIP address of the configuration on `interface` (`/32`, `/128`). Wildcard and loopback
//!   listen addresses cannot move and are named in a comment.
//!
//! One instance carries every VIP: adverts travel in the family of `src_address`, whose VIPs
//! go in `virtual_ipaddress` (keepalived needs at least one); VIPs of the other family go in
//! `virtual_ipaddress_excluded` and move with them. (keepalived 2.2.7 refuses a second instance with IPv6 VIPs and IPv4 unicast
//! addresses, and `[cluster.vrrp]` has one address pair; one instance also needs no sync
//! group.)
//!
//! What the keepalived version lacks is named in a comment at the top of the output, never
//! dropped silently: VRRP advert authentication (`auth_hmac`, keepalived 2.4.0, which lb does
//! not write yet; `check_unicast_src` drops adverts from any other address) and sub-second
//! scripts before 2.3.2.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cluster::Vrrp;
use crate::model::Config;

/// What the configuration does not say: where lb and its file are, and which keepalived runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepalivedOptions {
    /// The lb binary, as lb is started (argv\[0\] of `lb run`) and as the check script runs it.
    pub lb_binary: PathBuf,
    /// The configuration file, as lb is started with it (`lb run -c <this>`): absolute.
    pub config_file: PathBuf,
    /// The network namespace lb runs in, if any (keepalived's `net_namespace`).
    pub net_namespace: Option<String>,
    /// The user keepalived runs the check script as (`script_user`): root where keepalived
    /// runs as root.
    pub script_user: String,
    /// The keepalived that will read the file.
    pub version: KeepalivedVersion,
}

/// A keepalived release, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeepalivedVersion {
    /// Major release.
    pub major: u16,
    /// Minor release.
    pub minor: u16,
    /// Patch release.
    pub patch: u16,
}

impl KeepalivedVersion {
    /// Debian 12's keepalived: the oldest the output is written for.
    pub const DEBIAN_12: KeepalivedVersion = KeepalivedVersion::new(2, 2, 7);
    /// The first whose `vrrp_script` intervals and timeouts take fractions of seconds.
    const SUBSECOND_SCRIPTS: KeepalivedVersion = KeepalivedVersion::new(2, 3, 2);
    /// The first with `auth_hmac`.
    const AUTH_HMAC: KeepalivedVersion = KeepalivedVersion::new(2, 4, 0);

    /// `major.minor.patch`.
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        KeepalivedVersion {
            major,
            minor,
            patch,
        }
    }

    /// The version in `keepalived --version`'s banner (`Keepalived v2.2.7 (01/16,2022)`).
    pub fn from_banner(banner: &str) -> Option<Self> {
        banner.split_whitespace().find_map(|word| {
            let mut numbers = word.strip_prefix('v')?.split('.').map(str::parse::<u16>);
            let major = numbers.next()?.ok()?;
            let minor = numbers.next()?.ok()?;
            let patch = numbers.next().unwrap_or(Ok(0)).ok()?;
            Some(KeepalivedVersion::new(major, minor, patch))
        })
    }
}

impl fmt::Display for KeepalivedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Why no keepalived.conf can be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The configuration has no `[cluster.vrrp]`.
    #[error(
        "the configuration has no [cluster.vrrp] table: keepalived needs its interface, \
         router_id, src_address and peer_address"
    )]
    NoVrrp,
    /// The configuration has no `[admin]` listener for the check script.
    #[error(
        "the configuration has no [admin] listener: keepalived's check script runs `lb ctl \
         health` through it"
    )]
    NoAdmin,
    /// No VIP address of the family of `src_address` (adverts need one to announce).
    #[error(
        "no VIP listens on an {family} address keepalived can move: VRRP adverts go from \
         src_address, and keepalived needs a VIP of their family (wildcard and loopback \
         addresses stay on their host)"
    )]
    NoAddress {
        /// `IPv4` or `IPv6`, the family of `src_address`.
        family: &'static str,
    },
    /// A path or name keepalived.conf cannot carry safely (quotes, spaces, `#`...).
    #[error(
        "{what} `{text}` cannot be written in keepalived.conf: use letters, digits and \
         `/._-+:@,=~%` only"
    )]
    Unwritable {
        /// What it is (`the lb binary`, `the configuration file`...).
        what: &'static str,
        /// The text, as far as it could be read.
        text: String,
    },
}

/// keepalived.conf for this node of `config`, which should be valid
/// ([`crate::model::validate`]).
pub fn render(config: &Config, options: &KeepalivedOptions) -> Result<String, RenderError> {
    let cluster = config.cluster.as_ref();
    let (Some(cluster), Some(vrrp)) = (cluster, cluster.and_then(|c| c.vrrp.as_ref())) else {
        return Err(RenderError::NoVrrp);
    };
    let admin = config.admin.as_ref().ok_or(RenderError::NoAdmin)?;
    let lb = path("the lb binary", &options.lb_binary)?;
    let file = path("the configuration file", &options.config_file)?;
    let interface = safe("the interface", &vrrp.interface)?;
    let user = safe("the script user", &options.script_user)?;
    let (addresses, fixed) = vip_addresses(config);
    let (announced, excluded): (Vec<IpAddr>, Vec<IpAddr>) = addresses
        .into_iter()
        .partition(|ip| ip.is_ipv4() == vrrp.src_address.is_ipv4());
    if announced.is_empty() {
        let family = if vrrp.src_address.is_ipv4() {
            "IPv4"
        } else {
            "IPv6"
        };
        return Err(RenderError::NoAddress { family });
    }
    let version = options.version;
    let mut out = Out::default();
    out.line(&format!(
        "# keepalived.conf for lb node `{}`, written by `lb keepalived` from {file}",
        cluster.node
    ));
    out.line(&format!(
        "# for keepalived {version}: write it again rather than edit it."
    ));
    out.line("#");
    out.line("# lb must run as (more options may follow)");
    out.line(&format!("#   {lb} run -c {file}"));
    out.line("# for the process tracker to find it: it puts this node in FAULT when lb dies.");
    lacking(&mut out, version, vrrp);
    if let Some(namespace) = &options.net_namespace {
        let namespace = safe("the network namespace", namespace)?;
        out.line("");
        out.line("# keepalived enters lb's network namespace after opening its process tracker.");
        out.line(&format!("net_namespace {namespace}"));
    }
    out.line("");
    out.open("global_defs");
    out.line(&format!("router_id {}", cluster.node));
    out.line("vrrp_version 3");
    out.line("enable_script_security");
    out.line(&format!("script_user {user}"));
    out.line("max_auto_priority");
    out.line("vrrp_garp_master_delay 1");
    out.line("vrrp_garp_master_repeat 3");
    out.line("vrrp_garp_master_refresh 60");
    out.line("vrrp_garp_lower_prio_repeat 3");
    out.line("vrrp_higher_prio_send_advert true");
    out.close();
    out.line("");
    out.open("vrrp_track_process lb_process");
    out.line(&format!("process {lb} run -c {file}"));
    out.line("param_match partial");
    out.line("weight 0");
    out.close();
    out.line("");
    let script_period = if version >= KeepalivedVersion::SUBSECOND_SCRIPTS {
        "0.3"
    } else {
        "1"
    };
    out.open("vrrp_script lb_health");
    out.line(&format!(
        "script \"{lb} ctl --admin {} health\"",
        reachable(admin.listen)
    ));
    out.line(&format!("interval {script_period}"));
    out.line(&format!("timeout {script_period}"));
    out.line("fall 2");
    out.line("rise 2");
    out.close();
    out.line("");
    instance(&mut out, vrrp, interface, &announced, &excluded, &fixed);
    Ok(out.text)
}

/// The comment naming what this keepalived version cannot be given.
fn lacking(out: &mut Out, version: KeepalivedVersion, vrrp: &Vrrp) {
    out.line("#");
    out.line("# Not written:");
    if version < KeepalivedVersion::AUTH_HMAC {
        out.line(&format!(
            "# - VRRP advert authentication: auth_hmac needs keepalived {}; adverts from",
            KeepalivedVersion::AUTH_HMAC
        ));
    } else {
        out.line("# - VRRP advert authentication: lb does not write auth_hmac yet; adverts from");
    }
    out.line(&format!(
        "#   any address but {} are dropped (check_unicast_src).",
        vrrp.peer_address
    ));
    if version < KeepalivedVersion::SUBSECOND_SCRIPTS {
        out.line(&format!(
            "# - health checks more often than every second: vrrp_script needs keepalived {}",
            KeepalivedVersion::SUBSECOND_SCRIPTS
        ));
        out.line("#   (a crash of lb is seen at once all the same, by track_process).");
    }
}

fn instance(
    out: &mut Out,
    vrrp: &Vrrp,
    interface: &str,
    announced: &[IpAddr],
    excluded: &[IpAddr],
    fixed: &[IpAddr],
) {
    out.open("vrrp_instance lb");
    out.line("state BACKUP");
    out.line("nopreempt");
    out.line(&format!("interface {interface}"));
    out.line(&format!("virtual_router_id {}", vrrp.router_id));
    out.line(&format!("priority {}", vrrp.priority));
    out.line(&format!("advert_int {}", seconds(vrrp.advert_interval)));
    out.line(&format!("unicast_src_ip {}", vrrp.src_address));
    out.open("unicast_peer");
    out.line(&vrrp.peer_address.to_string());
    out.close();
    out.line("check_unicast_src");
    let host = |ip: &IpAddr| {
        let prefix = if ip.is_ipv4() { 32 } else { 128 };
        format!("{ip}/{prefix} dev {interface}")
    };
    out.open("virtual_ipaddress");
    announced.iter().for_each(|ip| out.line(&host(ip)));
    out.close();
    if !excluded.is_empty() {
        out.line("# Adverts carry one address family: these move with the instance, unannounced.");
        out.open("virtual_ipaddress_excluded");
        excluded.iter().for_each(|ip| out.line(&host(ip)));
        out.close();
    }
    if !fixed.is_empty() {
        let fixed: Vec<String> = fixed.iter().map(IpAddr::to_string).collect();
        out.line(&format!(
            "# Not moved (wildcard or loopback listen addresses): {}",
            fixed.join(", ")
        ));
    }
    out.open("track_process");
    out.line("lb_process");
    out.close();
    out.open("track_script");
    out.line("lb_health");
    out.close();
    out.close();
}

/// Every distinct VIP listen address in file order: those keepalived can move, and the
/// wildcard and loopback ones it cannot.
fn vip_addresses(config: &Config) -> (Vec<IpAddr>, Vec<IpAddr>) {
    let (mut movable, mut fixed) = (Vec::new(), Vec::new());
    let listen = config.vips.iter().flat_map(|vip| &vip.listen);
    for ip in listen.map(|address| address.ip().to_canonical()) {
        let list = if ip.is_unspecified() || ip.is_loopback() {
            &mut fixed
        } else {
            &mut movable
        };
        if !list.contains(&ip) {
            list.push(ip);
        }
    }
    (movable, fixed)
}

/// Where the check script reaches the admin listener: loopback for a wildcard address.
fn reachable(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// A duration in seconds with up to two decimals, as `advert_int` takes it (`1`, `0.2`).
fn seconds(duration: Duration) -> String {
    let centis = duration.as_millis() / 10;
    let (whole, fraction) = (centis / 100, centis % 100);
    match fraction {
        0 => whole.to_string(),
        _ if fraction % 10 == 0 => format!("{whole}.{}", fraction / 10),
        _ => format!("{whole}.{fraction:02}"),
    }
}

fn path<'a>(what: &'static str, path: &'a Path) -> Result<&'a str, RenderError> {
    let text = path.to_str().ok_or_else(|| RenderError::Unwritable {
        what,
        text: path.to_string_lossy().into_owned(),
    })?;
    safe(what, text)
}

/// `text` when it needs no quoting in keepalived.conf (where `#` and `!` start comments and
/// spaces split words), or the error naming `what` it is.
fn safe<'a>(what: &'static str, text: &'a str) -> Result<&'a str, RenderError> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"/._-+:@,=~%".contains(&b);
    if !text.is_empty() && text.bytes().all(plain) {
        Ok(text)
    } else {
        Err(RenderError::Unwritable {
            what,
            text: text.to_owned(),
        })
    }
}

/// keepalived.conf text being written, blocks indented by four spaces.
#[derive(Default)]
struct Out {
    text: String,
    depth: usize,
}

impl Out {
    fn line(&mut self, line: &str) {
        if !line.is_empty() {
            let _ = write!(self.text, "{:width$}", "", width = 4 * self.depth);
        }
        self.text.push_str(line);
        self.text.push('\n');
    }

    fn open(&mut self, block: &str) {
        self.line(&format!("{block} {{"));
        self.depth += 1;
    }

    fn close(&mut self) {
        self.depth -= 1;
        self.line("}");
    }
}

#[cfg(test)]
mod tests;
