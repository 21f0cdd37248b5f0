//! Property tests of the persistence modes, driven by generated operation sequences and
//! simulated time: source-IP tables against a reference model, stickiness through a pool
//! whose servers go down, drain and enter maintenance, last-successful failover without
//! failback, and cookie values and headers.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lb_core::model::{AdminState, Health, SchedulerKind, Server, ServerId};
use lb_core::persistence::cookie::{find, strip};
use lb_core::persistence::{
    ClientKey, CookieCodec, CookieSettings, CookieTimes, LastSuccessful, ServerCookie,
    SourceIpSettings, SourceIpTable, Stickiness, Vacancy,
};
use lb_core::pool::{LiveRegistry, Pool};
use lb_core::scheduler::PickContext;
use proptest::prelude::*;

const SERVERS: u32 = 4;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Clients from a small space (four /24s), so masks group them and entries collide.
fn client() -> impl Strategy<Value = IpAddr> {
    (0u8..4, 0u8..24).prop_map(|(net, host)| IpAddr::V4(Ipv4Addr::new(10, 0, net, host)))
}

fn server_id() -> impl Strategy<Value = ServerId> {
    (0..SERVERS).prop_map(ServerId)
}

fn servers() -> Vec<Server> {
    (0..SERVERS)
        .map(|i| {
            let address = format!("192.0.2.{}:80", i + 1).parse().unwrap();
            Server::new(ServerId(i), format!("s{i}"), address)
        })
        .collect()
}

/// A pool over [`servers`] with the given health and admin states, in configured order.
fn pool(states: &[(Health, AdminState)]) -> Pool {
    let mut servers = servers();
    for (server, &(_, admin)) in servers.iter_mut().zip(states) {
        server.admin = admin;
    }
    let health = |id: ServerId| states[id.0 as usize].0;
    Pool::build(
        SchedulerKind::First,
        &servers,
        health,
        &mut LiveRegistry::default(),
    )
}

fn state() -> impl Strategy<Value = (Health, AdminState)> {
    (
        prop_oneof![3 => Just(Health::Up), 1 => Just(Health::Down)],
        prop_oneof![
            3 => Just(AdminState::Ready),
            1 => Just(AdminState::Drain),
            1 => Just(AdminState::Maintenance)
        ],
    )
}

#[derive(Debug, Clone)]
enum TableOp {
    Record(IpAddr, ServerId),
    Lookup(IpAddr),
    Advance(u64),
    RemoveServer(ServerId),
    Clear,
}

fn table_op() -> impl Strategy<Value = TableOp> {
    prop_oneof![
        8 => (client(), server_id()).prop_map(|(c, s)| TableOp::Record(c, s)),
        8 => client().prop_map(TableOp::Lookup),
        4 => (0u64..40).prop_map(TableOp::Advance),
        1 => server_id().prop_map(TableOp::RemoveServer),
        1 => Just(TableOp::Clear),
    ]
}

/// What the table should say of each key it still holds: its server and last use.
type Model = HashMap<ClientKey, (ServerId, Duration)>;

proptest! {
    #![proptest_config(config(256))]

    /// Under any sequence the table holds at most `size` entries; a hit names the server last
    /// recorded for the key and is never expired; a just-recorded client is found; removed
    /// servers and cleared tables are never answered; the replication snapshot agrees.
    #[test]
    fn source_ip_table_follows_its_model(
        size in 0usize..40,
        timeout in 1u64..60,
        netmask_v4 in prop_oneof![Just(24u8), Just(30), Just(32)],
        seed in any::<u64>(),
        ops in prop::collection::vec(table_op(), 1..200),
    ) {
        let timeout = Duration::from_secs(timeout);
        let settings = SourceIpSettings { timeout, size, netmask_v4, netmask_v6: 128 };
        let table = SourceIpTable::new(settings, seed);
        let mut model = Model::new();
        let mut now = Duration::ZERO;
        for op in ops {
            match op {
                TableOp::Record(client, server) => {
                    let key = table.key(client);
                    table.record(key, server, now);
                    model.insert(key, (server, now));
                    if size > 0 {
                        prop_assert_eq!(table.lookup(key, now), Some(server));
                    }
                }
                TableOp::Lookup(client) => {
                    let key = table.key(client);
                    match table.lookup(key, now) {
                        Some(server) => {
                            let Some(&(expected, last_used)) = model.get(&key) else {
                                let message = "hit on a key never recorded, removed or cleared";
                                return Err(TestCaseError::fail(message));
                            };
                            prop_assert_eq!(server, expected);
                            prop_assert!(now - last_used < timeout, "expired entry hit");
                            model.insert(key, (server, now));
                        }
                        None => {
                            model.remove(&key);
                        }
                    }
                }
                TableOp::Advance(seconds) => now += Duration::from_secs(seconds),
                TableOp::RemoveServer(server) => {
                    table.remove_server(server);
                    model.retain(|_, (s, _)| *s != server);
                }
                TableOp::Clear => {
                    table.clear();
                    model.clear();
                    prop_assert!(table.is_empty());
                }
            }
            prop_assert!(table.len() <= size, "{} entries for size {}", table.len(), size);
            for entry in table.entries(now) {
                let expected = model.get(&entry.client).copied();
                prop_assert_eq!(Some((entry.server, entry.last_used)), expected);
                prop_assert!(now - entry.last_used < timeout);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// The whole `size` is usable: up to `size` distinct clients are all kept, and one more
    /// evicts exactly one.
    #[test]
    fn source_ip_table_keeps_up_to_size_clients(size in 1usize..300, seed in any::<u64>()) {
        let settings = SourceIpSettings {
            timeout: Duration::from_secs(60),
            size,
            netmask_v4: 32,
            netmask_v6: 128,
        };
        let table = SourceIpTable::new(settings, seed);
        let client = |i: usize| table.key(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32)));
        for i in 0..size {
            table.record(client(i), ServerId(i as u32 % SERVERS), Duration::ZERO);
        }
        prop_assert_eq!(table.len(), size);
        for i in 0..size {
            let expected = Some(ServerId(i as u32 % SERVERS));
            prop_assert_eq!(table.lookup(client(i), Duration::ZERO), expected);
        }
        table.record(client(size), ServerId(0), Duration::ZERO);
        prop_assert_eq!(table.len(), size);
        let kept = (0..=size)
            .filter(|&i| table.lookup(client(i), Duration::ZERO).is_some())
            .count();
        prop_assert_eq!(kept, size);
    }
}

#[derive(Debug, Clone)]
enum StickyOp {
    SetState(usize, (Health, AdminState)),
    Connect(IpAddr, u64),
    Advance(u64),
    RemoveServer(ServerId),
}

fn sticky_op() -> impl Strategy<Value = StickyOp> {
    prop_oneof![
        2 => (0..SERVERS as usize, state()).prop_map(|(i, s)| StickyOp::SetState(i, s)),
        6 => (client(), any::<u64>()).prop_map(|(c, r)| StickyOp::Connect(c, r)),
        2 => (0u64..30).prop_map(StickyOp::Advance),
        1 => server_id().prop_map(StickyOp::RemoveServer),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// Through a pool, a source-IP sticky answer is never a down or maintenance server, and a
    /// client whose unexpired server may still take sticky traffic goes back to it. A client
    /// whose server is unusable is rescheduled and its entry rewritten.
    #[test]
    fn source_ip_sticks_only_to_usable_servers(
        initial in prop::collection::vec(state(), SERVERS as usize),
        seed in any::<u64>(),
        ops in prop::collection::vec(sticky_op(), 1..200),
    ) {
        let timeout = Duration::from_secs(60);
        let settings = SourceIpSettings { timeout, size: 1000, netmask_v4: 32, netmask_v6: 128 };
        let table = SourceIpTable::new(settings, seed);
        let mut states = initial;
        let mut pool = pool(&states);
        let mut model = Model::new();
        let mut now = Duration::ZERO;
        for op in ops {
            match op {
                StickyOp::SetState(index, state) => {
                    states[index] = state;
                    pool = self::pool(&states);
                }
                StickyOp::Advance(seconds) => now += Duration::from_secs(seconds),
                StickyOp::RemoveServer(server) => {
                    table.remove_server(server);
                    model.retain(|_, (s, _)| *s != server);
                }
                StickyOp::Connect(client, random) => {
                    let key = table.key(client);
                    // A lookup refreshes an unexpired entry even if its server is unusable.
                    let recorded = model
                        .get(&key)
                        .map(|(server, _)| *server)
                        .filter(|_| now - model[&key].1 < timeout);
                    match recorded {
                        Some(server) => model.insert(key, (server, now)),
                        None => model.remove(&key),
                    };
                    let persisted = recorded.and_then(|server| pool.sticky(server));
                    let answer = table.sticky(client, now, &pool);
                    prop_assert_eq!(answer.member().map(|m| m.id), persisted.map(|m| m.id));
                    let chosen = match answer {
                        Stickiness::Sticky(member, _) => {
                            let live = &states[member.id.0 as usize];
                            prop_assert!(live.0 == Health::Up && live.1 != AdminState::Maintenance);
                            Some(member)
                        }
                        Stickiness::Vacant(_) => pool.pick(&PickContext::new(client, random)),
                    };
                    if let Some(member) = chosen {
                        table.record(answer.into_token(), member.id, now);
                        model.insert(key, (member.id, now));
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
enum FailoverOp {
    SetState(usize, (Health, AdminState)),
    /// A new connection; `refused` makes the persisted server refuse it.
    Connect {
        refused: bool,
    },
}

fn failover_op() -> impl Strategy<Value = FailoverOp> {
    prop_oneof![
        (0..SERVERS as usize, state()).prop_map(|(i, s)| FailoverOp::SetState(i, s)),
        prop::bool::weighted(0.1).prop_map(|refused| FailoverOp::Connect { refused }),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// Last-successful: traffic stays on the server that last accepted a connection while it
    /// may take sticky traffic (a recovered earlier server never takes it back), moves to the
    /// first usable server in configured order when it may not, and never reaches a down or
    /// maintenance server. With `clear_on_drain`, a drained holder loses new clients at once.
    #[test]
    fn last_successful_never_fails_back(
        clear_on_drain in any::<bool>(),
        ops in prop::collection::vec(failover_op(), 1..200),
    ) {
        let entry = LastSuccessful::new(clear_on_drain);
        let mut states = vec![(Health::Up, AdminState::Ready); SERVERS as usize];
        let mut pool = pool(&states);
        let mut holder: Option<ServerId> = None;
        for op in ops {
            match op {
                FailoverOp::SetState(index, state) => {
                    states[index] = state;
                    pool = self::pool(&states);
                }
                FailoverOp::Connect { refused } => {
                    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
                    let usable_holder = holder.and_then(|id| pool.sticky(id));
                    let drained = usable_holder.is_some_and(|m| m.admin == AdminState::Drain);
                    if clear_on_drain && drained {
                        holder = None;
                    }
                    let keeps = holder.and(usable_holder);
                    let answer = entry.sticky(&pool);
                    prop_assert_eq!(answer.member().map(|m| m.id), keeps.map(|m| m.id));
                    let mut exclude = Vec::new();
                    if let (Some(member), true) = (answer.member(), refused) {
                        exclude.push(member.id);
                    }
                    let context = PickContext { client, random: 0, exclude: &exclude };
                    let chosen = match answer.member() {
                        Some(member) if !refused => Some(member),
                        _ => pool.pick(&context),
                    };
                    if let Some(member) = chosen {
                        let (health, admin) = states[member.id.0 as usize];
                        prop_assert!(health == Health::Up && admin != AdminState::Maintenance);
                        entry.record(answer.into_token(), member.id);
                        holder = Some(member.id);
                    }
                    prop_assert_eq!(entry.server(), holder);
                }
            }
        }
    }
}

/// The scenario the property generalises, spelled out: A fails, B takes over, A recovers,
/// B keeps the traffic until B fails.
#[test]
fn failover_stays_on_the_new_server_after_recovery() {
    let entry = LastSuccessful::new(false);
    let up = (Health::Up, AdminState::Ready);
    let down = (Health::Down, AdminState::Ready);
    let connect = |pool: &Pool| {
        let answer = entry.sticky(pool);
        let member = match answer.member() {
            Some(member) => member,
            None => pool
                .pick(&PickContext::new(Ipv4Addr::LOCALHOST.into(), 0))
                .unwrap(),
        };
        let id = member.id;
        entry.record(answer.into_token(), id);
        id
    };
    assert_eq!(connect(&pool(&[up, up, up, up])), ServerId(0));
    assert_eq!(connect(&pool(&[down, up, up, up])), ServerId(1));
    assert_eq!(
        connect(&pool(&[up, up, up, up])),
        ServerId(1),
        "no failback"
    );
    assert_eq!(connect(&pool(&[up, down, up, up])), ServerId(0));
}

/// A connection decided before a failover that succeeds late on the old server does not
/// move the entry back.
#[test]
fn late_success_on_the_old_server_does_not_fail_back() {
    let entry = LastSuccessful::new(false);
    let all_up = pool(&[(Health::Up, AdminState::Ready); SERVERS as usize]);
    entry.set(Some(ServerId(0)));
    let slow = entry.sticky(&all_up).into_token();
    let failed_over: Vacancy = entry.sticky(&all_up).into_token();
    assert!(entry.record(failed_over, ServerId(1)), "the entry moved");
    assert!(
        !entry.record(slow, ServerId(0)),
        "the entry did not move back"
    );
    assert_eq!(entry.server(), Some(ServerId(1)));
}

fn codec(max_idle: Option<u64>, max_life: Option<u64>) -> CookieCodec {
    let settings = CookieSettings {
        name: "SERVERID".to_owned(),
        max_idle: max_idle.map(Duration::from_secs),
        max_life: max_life.map(Duration::from_secs),
    };
    CookieCodec::new("web", settings, (0x00c0_ffee_u128 << 64) | 42, &servers())
}

/// A cookie with times, and a `now` within `max_idle` of its last sighting and `max_life` of
/// its first.
fn timed_cookie(max_idle: u64, max_life: u64) -> impl Strategy<Value = (ServerCookie, u64)> {
    (server_id(), 0u32..u32::MAX / 2, 0..max_life, 0..=max_idle).prop_map(
        move |(server, first_seen, age, idle)| {
            let last_seen = first_seen + (age as u32).saturating_sub(idle as u32);
            let now = u64::from(last_seen) + idle;
            let times = CookieTimes {
                first_seen,
                last_seen,
            };
            (
                ServerCookie {
                    server,
                    times: Some(times),
                },
                now,
            )
        },
    )
}

proptest! {
    #![proptest_config(config(256))]

    /// decode(encode(x)) == x within the max ages, and any single-byte change is rejected.
    #[test]
    fn cookie_round_trips_and_rejects_any_tampering(
        (cookie, now) in timed_cookie(600, 86_400),
        at in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
    ) {
        let codec = codec(Some(600), Some(86_400));
        let value = codec.encode(&cookie).unwrap();
        prop_assert_eq!(codec.decode(value.as_bytes(), now), Some(cookie));
        let mut tampered = value.clone().into_bytes();
        let at = at.index(tampered.len());
        prop_assume!(tampered[at] != replacement);
        tampered[at] = replacement;
        prop_assert_eq!(codec.decode(&tampered, now), None);
    }

    /// A value unused for longer than `max_idle`, or first set longer than `max_life` ago, is
    /// rejected; one without times is accepted for ever when no max age is set.
    #[test]
    fn cookie_beyond_its_max_ages_is_rejected(
        (cookie, now) in timed_cookie(600, 86_400),
        late in 1u64..1_000_000,
        idle_side in any::<bool>(),
    ) {
        let codec = codec(Some(600), Some(86_400));
        let value = codec.encode(&cookie).unwrap();
        let times = cookie.times.unwrap();
        let too_late = if idle_side {
            u64::from(times.last_seen) + 600 + late
        } else {
            u64::from(times.first_seen) + 86_400 + late
        };
        prop_assert_eq!(codec.decode(value.as_bytes(), too_late), None);
        prop_assert_eq!(codec.decode(value.as_bytes(), now), Some(cookie));

        let plain = self::codec(None, None);
        let forever = plain.issue(cookie.server, 0);
        let value = plain.encode(&forever).unwrap();
        prop_assert_eq!(plain.decode(value.as_bytes(), too_late), Some(forever));
    }

    /// Arbitrary bytes are never taken for a cookie.
    #[test]
    fn cookie_garbage_is_rejected(
        value in prop::collection::vec(any::<u8>(), 0..64),
        now in any::<u64>(),
    ) {
        prop_assert_eq!(codec(Some(600), None).decode(&value, now), None);
        prop_assert_eq!(codec(None, None).decode(&value, now), None);
    }

    /// The cookie is found among others whatever the spacing and quoting, and stripping it
    /// leaves exactly the others, in order.
    #[test]
    fn cookie_header_find_and_strip(
        others in prop::collection::vec(("[a-zA-Z][a-zA-Z0-9_]{0,8}", "[a-zA-Z0-9]{0,8}"), 0..5),
        at in any::<prop::sample::Index>(),
        quoted in any::<bool>(),
        spaces in prop::collection::vec(0usize..3, 5),
        server in server_id(),
    ) {
        let others: Vec<String> = others
            .into_iter()
            .filter(|(name, _)| name != "SERVERID")
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let codec = codec(None, None);
        let value = codec.encode(&codec.issue(server, 0)).unwrap();
        let ours = if quoted {
            let space = " ".repeat(spaces[0]);
            format!("SERVERID{space}={space}\"{value}\"")
        } else {
            format!("SERVERID={value}")
        };
        let mut pairs = others.clone();
        pairs.insert(at.index(others.len() + 1), ours);
        let separator = format!("{};{}", " ".repeat(spaces[1]), " ".repeat(spaces[2]));
        let (before, after) = (" ".repeat(spaces[3]), " ".repeat(spaces[4]));
        let header = format!("{before}{}{after}", pairs.join(&separator));

        prop_assert_eq!(codec.find(header.as_bytes()), Some(value.as_bytes()));
        let stripped = codec.strip(header.as_bytes());
        let expected = (!others.is_empty()).then(|| others.join("; ").into_bytes());
        prop_assert_eq!(&stripped, &expected);
        if let Some(stripped) = stripped {
            prop_assert_eq!(find(&stripped, "SERVERID"), None);
            prop_assert_eq!(strip(&stripped, "SERVERID"), Some(stripped.clone()));
        }
    }

    /// A cookie never sends a request to a down or maintenance server, and always to its own
    /// server when that one may take sticky traffic.
    #[test]
    fn cookie_sticks_only_to_usable_servers(
        states in prop::collection::vec(state(), SERVERS as usize),
        server in server_id(),
        now in 0u64..1_000_000,
    ) {
        let pool = pool(&states);
        let codec = codec(Some(600), None);
        let set_cookie = codec.set_cookie(&codec.issue(server, now)).unwrap();
        let pair = set_cookie.split(';').next().unwrap();
        let header = format!("lang=en; {pair}");
        let (health, admin) = states[server.0 as usize];
        let usable = health == Health::Up && admin != AdminState::Maintenance;
        let sticky = codec.sticky(header.as_bytes(), now, &pool);
        prop_assert_eq!(sticky.map(|(member, _)| member.id), usable.then_some(server));
    }
}
