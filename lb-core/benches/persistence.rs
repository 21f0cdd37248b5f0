//! Criterion benchmarks of persistence: a source-IP lookup that hits in a full table of
//! 1,000,000 entries (clients spread over the table, so mostly cache misses, and one client
//! over and over, cache-hot), recording a new client in that full table (which evicts), and
//! the cookie: decoding a timed value, finding and decoding it in a `Cookie` header, encoding.
//!
//! Run: `cargo bench -p lb-core --bench persistence -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::Criterion;
use lb_core::model::{Server, ServerId};
use lb_core::persistence::{CookieCodec, CookieSettings, SourceIpSettings, SourceIpTable};

const ENTRIES: u32 = 1_000_000;
const SERVERS: u32 = 8;
/// Seconds since the UNIX epoch at which cookies are issued and read.
const NOW_UNIX: u64 = 1_800_000_000;

fn client(index: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + index))
}

/// A stride through `0..ENTRIES` that visits clients in a cache-hostile order.
fn spread(step: u32) -> u32 {
    (u64::from(step) * 0x9e37_79b1 % u64::from(ENTRIES)) as u32
}

fn full_table() -> SourceIpTable {
    let settings = SourceIpSettings {
        timeout: Duration::from_secs(30 * 60),
        size: ENTRIES as usize,
        netmask_v4: 32,
        netmask_v6: 128,
    };
    let table = SourceIpTable::new(settings, 0x5eed);
    for index in 0..ENTRIES {
        table.record(
            table.key(client(index)),
            ServerId(index % SERVERS),
            Duration::ZERO,
        );
    }
    assert_eq!(table.len(), ENTRIES as usize);
    table
}

fn source_ip(c: &mut Criterion) {
    let table = full_table();
    let now = Duration::from_secs(1);
    let mut group = c.benchmark_group("source_ip_1M");
    let mut step = 0;
    group.bench_function("lookup_hit_spread", |b| {
        b.iter(|| {
            step += 1;
            let key = table.key(client(spread(step)));
            let server = table.lookup(black_box(key), now);
            debug_assert!(server.is_some());
            server
        })
    });
    let hot = table.key(client(12_345));
    group.bench_function("lookup_hit_hot", |b| {
        b.iter(|| table.lookup(black_box(hot), now))
    });
    let mut newcomer = ENTRIES;
    group.bench_function("record_new_evicting", |b| {
        b.iter(|| {
            newcomer += 1;
            table.record(table.key(client(newcomer)), ServerId(1), now);
        })
    });
    group.finish();
}

fn cookie(c: &mut Criterion) {
    let servers: Vec<Server> = (0..SERVERS)
        .map(|i| {
            let address = format!("192.0.2.{}:8080", i + 1).parse().unwrap();
            Server::new(ServerId(i), format!("controller-{i}"), address)
        })
        .collect();
    let settings = CookieSettings {
        name: "SERVERID".to_owned(),
        max_idle: Some(Duration::from_secs(1800)),
        max_life: Some(Duration::from_secs(86_400)),
    };
    let codec = CookieCodec::new("horizon", settings, 0x0123_4567_89ab_cdef, &servers);
    let cookie = codec.issue(ServerId(3), NOW_UNIX);
    let value = codec.encode(&cookie).unwrap();
    let header = format!("sessionid=abcdef0123456789; SERVERID={value}; csrftoken=xyz");
    assert_eq!(codec.decode(value.as_bytes(), NOW_UNIX), Some(cookie));

    let mut group = c.benchmark_group("cookie");
    group.bench_function("decode", |b| {
        b.iter(|| codec.decode(black_box(value.as_bytes()), NOW_UNIX))
    });
    group.bench_function("find_and_decode", |b| {
        b.iter(|| codec.decode(codec.find(black_box(header.as_bytes()))?, NOW_UNIX))
    });
    group.bench_function("encode", |b| b.iter(|| codec.encode(black_box(&cookie))));
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    source_ip(&mut criterion);
    cookie(&mut criterion);
    criterion.final_summary();
}
