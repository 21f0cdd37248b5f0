//! The OpenStack demo: the whole 23-VIP profile in front of three simulated controllers, on
//! loopback, without root.
//!
//! `cargo run --example openstack` generates the profile for controllers 127.0.0.11-13 behind
//! the VIP address 127.0.0.10 with every port offset by 20000, starts simulated services on
//! every controller, runs the balancer in-process, prints the VIPs and server states, sends
//! sample traffic that shows the distribution and each persistence mode, stops controller-0,
//! shows the failover (mysql and redis move, no failback), and exits. About 30 seconds.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use lb_core::model::{CheckKind, Config, Health, Mode, Vip};
use lb_core::profile::{OpenstackInput, openstack};
use lb_examples::sim::client::{http_get, mysql_greeting, redis_info};
use lb_examples::sim::{Controller, Protocol, ServiceSpec};
use lb_proxy::Runtime;

const OFFSET: u16 = 20_000;
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10));
/// The longest the demo waits for any health change before giving up.
const PATIENCE: Duration = Duration::from_secs(30);

type Demo = Result<(), Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() -> Demo {
    tracing_subscriber::fmt()
        .with_env_filter("lb_proxy::health=info,warn")
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let names = ["controller-0", "controller-1", "controller-2"];
    let controllers: Vec<(String, IpAddr)> = (0u8..)
        .zip(names)
        .map(|(i, name)| {
            (
                name.to_owned(),
                IpAddr::V4(Ipv4Addr::new(127, 0, 0, 11 + i)),
            )
        })
        .collect();
    let input = OpenstackInput {
        port_offset: OFFSET,
        ..OpenstackInput::new(VIP, controllers.clone())
    };
    let config = openstack(&input)?;

    println!(
        "== Starting 3 simulated controllers and the balancer ({} VIPs)",
        config.vips.len()
    );
    let services = services(&config);
    let mut running = Vec::new();
    for (i, (name, address)) in controllers.iter().enumerate() {
        running.push(Controller::start(name, *address, &services, i == 0).await?);
    }
    let balancer = Runtime::start(&config).await?;
    wait_for(&balancer, "mysql", "controller-0", Health::Up).await?;
    wait_for(&balancer, "redis", "controller-0", Health::Up).await?;
    print_states(&balancer);

    println!("\n== Sample traffic");
    distribution(&config, "keystone_public", 30).await?;
    distribution(&config, "cinder", 30).await?;
    source_affinity(&config, "nova_metadata").await?;
    source_affinity(&config, "nova_novncproxy").await?;
    let cookie = cookie_persistence(&config).await?;
    writers(&config, "before the failover").await?;

    println!("\n== Stopping controller-0 (power loss); controller-1 becomes the Redis master");
    let started = Instant::now();
    let controller0 = running.remove(0);
    controller0.stop().await;
    running[0].set_redis_master(true);
    writers(
        &config,
        "right after the stop (retries move new clients at once)",
    )
    .await?;
    wait_for(&balancer, "keystone_public", "controller-0", Health::Down).await?;
    wait_for(&balancer, "redis", "controller-1", Health::Up).await?;
    println!(
        "   controller-0 marked down and Redis moved after {:.1?}",
        started.elapsed()
    );
    print_states(&balancer);
    distribution(&config, "keystone_public", 30).await?;
    let reply = http_get(address(&config, "horizon"), None, Some(&cookie)).await?;
    let reissued = reply
        .set_cookie
        .as_deref()
        .and_then(|c| c.split(';').next())
        .unwrap_or("none");
    println!(
        "   horizon with the old cookie: served by {}, new cookie `{reissued}`",
        reply.controller()
    );
    writers(&config, "after the failover").await?;

    println!("\n== controller-0 comes back (its Redis now a replica)");
    running.insert(
        0,
        Controller::start(names[0], controllers[0].1, &services, false).await?,
    );
    wait_for(&balancer, "mysql", "controller-0", Health::Up).await?;
    writers(&config, "after controller-0 recovered (no failback)").await?;

    println!("\n== Stopping");
    balancer.stop().await;
    for controller in running {
        controller.stop().await;
    }
    println!("done in {:.1?}", started.elapsed());
    Ok(())
}

/// What each controller must run: every distinct server port of the profile, plus the
/// clustercheck ports, each with the protocol its check and the demo clients speak.
fn services(config: &Config) -> Vec<ServiceSpec> {
    let mut specs = Vec::new();
    for vip in &config.vips {
        let protocol = match (&vip.check.kind, vip.name.as_str()) {
            (CheckKind::Redis { .. }, _) => Protocol::Redis,
            (_, "mysql") => Protocol::Mysql,
            _ => Protocol::Http,
        };
        let port = vip.servers[0].address.port();
        specs.push(ServiceSpec {
            name: vip.name.clone(),
            port,
            protocol,
        });
        if let Some(check_port) = vip.check.port.filter(|&p| p != port) {
            specs.push(ServiceSpec {
                name: format!("{}-check", vip.name),
                port: check_port,
                protocol: Protocol::ClusterCheck,
            });
        }
    }
    specs
}

fn vip<'c>(config: &'c Config, name: &str) -> &'c Vip {
    config
        .vips
        .iter()
        .find(|vip| vip.name == name)
        .expect("the profile has this VIP")
}

fn address(config: &Config, name: &str) -> SocketAddr {
    vip(config, name).listen[0]
}

fn print_states(balancer: &Runtime) {
    println!(
        "\n{:<20} {:<18} {:<5} {:<18} {:<16} controller-N:health",
        "VIP", "listen", "mode", "scheduler", "persistence"
    );
    for running in balancer.vips() {
        let vip = &running.config;
        let pool = running.service.pool();
        let states: Vec<String> = vip
            .servers
            .iter()
            .map(|server| {
                let state = match pool.member(server.id).map(|m| m.health) {
                    Some(Health::Up) => "up",
                    _ => "DOWN",
                };
                let short = server.name.rsplit('-').next().unwrap_or(&server.name);
                format!("{short}:{state}")
            })
            .collect();
        let mode = if vip.mode == Mode::Http {
            "http"
        } else {
            "tcp"
        };
        println!(
            "{:<20} {:<18} {:<5} {:<18} {:<16} {}",
            vip.name,
            vip.listen[0].to_string(),
            mode,
            vip.scheduler.as_str(),
            vip.persistence.kind_name(),
            states.join(" ")
        );
    }
}

/// Waits until the checks say `server` of `vip` is `health`.
async fn wait_for(balancer: &Runtime, vip: &str, server: &str, health: Health) -> Demo {
    let running = balancer.vip(vip).ok_or("no such VIP")?;
    let id = running.config.server(server).ok_or("no such server")?.id;
    let reached = running
        .service
        .wait_for_pool(|pool| pool.member(id).map(|m| m.health) == Some(health));
    tokio::time::timeout(PATIENCE, reached)
        .await
        .map_err(|_| format!("{vip}/{server} did not become {health:?}").into())
}

async fn distribution(config: &Config, name: &str, requests: usize) -> Demo {
    let vip = vip(config, name);
    let mut counts = BTreeMap::new();
    for _ in 0..requests {
        let reply = http_get(vip.listen[0], None, None).await?;
        *counts.entry(reply.controller().to_owned()).or_insert(0) += 1;
    }
    println!(
        "   {name} ({}): {requests} requests -> {counts:?}",
        vip.scheduler.as_str()
    );
    Ok(())
}

/// Three clients (three source addresses), four connections each: each stays on one server.
async fn source_affinity(config: &Config, name: &str) -> Demo {
    let mut seen = Vec::new();
    for client in 1..=3u8 {
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 1, client));
        let mut servers = Vec::new();
        for _ in 0..4 {
            servers.push(
                http_get(address(config, name), Some(source), None)
                    .await?
                    .controller()
                    .to_owned(),
            );
        }
        servers.dedup();
        seen.push(format!("{source} -> {}", servers.join(",")));
    }
    let vip = vip(config, name);
    println!(
        "   {name} ({}, {}): {}",
        vip.scheduler.as_str(),
        vip.persistence.kind_name(),
        seen.join("; ")
    );
    Ok(())
}

/// Horizon: the first reply inserts SERVERID; requests that carry it stay on that server.
/// Returns the cookie.
async fn cookie_persistence(config: &Config) -> Result<String, Box<dyn std::error::Error>> {
    let horizon = address(config, "horizon");
    let first = http_get(horizon, None, None).await?;
    let cookie = first
        .set_cookie
        .as_deref()
        .and_then(|c| c.split(';').next())
        .ok_or("no cookie")?;
    let mut servers = Vec::new();
    for _ in 0..5 {
        servers.push(
            http_get(horizon, None, Some(cookie))
                .await?
                .controller()
                .to_owned(),
        );
    }
    servers.dedup();
    println!(
        "   horizon (http, cookie): first reply from {} set `{cookie}`; 5 more with it -> {}",
        first.controller(),
        servers.join(",")
    );
    Ok(cookie.to_owned())
}

/// Galera and Redis: every new connection goes to the single writer.
async fn writers(config: &Config, when: &str) -> Demo {
    let mut mysql = Vec::new();
    for _ in 0..5 {
        let version = mysql_greeting(address(config, "mysql")).await?;
        mysql.push(version.split("MariaDB-").nth(1).unwrap_or("?").to_owned());
    }
    mysql.dedup();
    let redis = redis_info(address(config, "redis"))
        .await
        .unwrap_or_else(|e| format!("no usable server yet ({e})"));
    println!(
        "   writers {when}: mysql -> {} | redis -> {redis}",
        mysql.join(",")
    );
    Ok(())
}
