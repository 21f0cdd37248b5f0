//! Criterion benchmarks of the schedulers: one pick at 3, 100 and 1000 servers for each
//! scheduler (through `Pool::pick`, with a different client and random number each time and
//! some connections open), the cost least-connections adds to a connection's open and close,
//! and the cost of building a pool at 1000 servers.
//!
//! Run: `cargo bench -p lb-core --bench schedulers -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use criterion::{BenchmarkId, Criterion};
use lb_core::model::{Health, SchedulerKind, Server, ServerId};
use lb_core::pool::{LiveRegistry, Pool};
use lb_core::scheduler::PickContext;

const SIZES: [u32; 3] = [3, 100, 1000];

/// `count` servers with weights spread over 1..=256, each with 0 to 4 open connections.
fn pool(kind: SchedulerKind, count: u32) -> Pool {
    let servers: Vec<Server> = (0..count).map(server).collect();
    let pool = Pool::build(kind, &servers, |_| Health::Up, &mut LiveRegistry::default());
    for (index, member) in pool.members().iter().enumerate() {
        for _ in 0..index * 7 % 5 {
            member.live.connection_opened();
        }
    }
    pool
}

fn server(index: u32) -> Server {
    let address = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + index)), 8080);
    let mut server = Server::new(ServerId(index), format!("server-{index}"), address);
    server.weight = (index * 37 % 256 + 1) as u16;
    server
}

fn pick(c: &mut Criterion) {
    let mut group = c.benchmark_group("pick");
    for kind in SchedulerKind::ALL {
        for count in SIZES {
            let pool = pool(kind, count);
            let mut seed = 0u64;
            group.bench_function(BenchmarkId::new(kind.as_str(), count), |b| {
                b.iter(|| {
                    seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let client = IpAddr::V4(Ipv4Addr::from((seed >> 32) as u32));
                    let context = PickContext::new(client, seed);
                    black_box(pool.pick(black_box(&context)).map(|member| member.id))
                })
            });
        }
    }
    group.finish();
}

fn open_close(c: &mut Criterion) {
    let mut group = c.benchmark_group("open+close");
    for kind in [SchedulerKind::LeastConnections, SchedulerKind::RoundRobin] {
        let pool = pool(kind, 1000);
        let live = &pool.members()[500].live;
        group.bench_function(BenchmarkId::new(kind.as_str(), 1000), |b| {
            b.iter(|| {
                live.connection_opened();
                live.connection_closed();
            })
        });
    }
    group.finish();
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    let servers: Vec<Server> = (0..1000).map(server).collect();
    for kind in SchedulerKind::ALL {
        group.bench_function(BenchmarkId::new(kind.as_str(), 1000), |b| {
            let mut registry = LiveRegistry::default();
            b.iter(|| Pool::build(kind, &servers, |_| Health::Up, &mut registry))
        });
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    pick(&mut criterion);
    open_close(&mut criterion);
    build(&mut criterion);
    criterion.final_summary();
}
