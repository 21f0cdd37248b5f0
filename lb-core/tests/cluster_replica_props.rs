//! Property tests of the replicated tables (`lb_core::cluster::replica`): three nodes make
//! random local changes and deliver each other's updates in any order, with duplicates and
//! replays; each node always holds, per key, the newest version it has seen (so a delete is
//! never undone by an older update), re-applying is harmless, and once everything is delivered
//! all digests and snapshots agree. With one node holding a VIP, its `last-successful` value
//! ends up on both nodes whatever the other wrote, and however late.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use lb_core::cluster::replica::{Applied, Key, MIN_TOMBSTONE_RETENTION_MS, Replica, Update, Value};
use lb_core::model::AdminState;
use proptest::prelude::*;

const VIPS: [&str; 2] = ["db", "web"];
const SERVERS: [&str; 3] = ["s1", "s2", "s3"];
/// Source-ip entries last this long after their record (one timeout per table, as in a VIP).
const TTL: u64 = 3_000;
const START: u64 = 1_700_000_000_000;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn key() -> impl Strategy<Value = Key> {
    let vip = (0..VIPS.len()).prop_map(|i| VIPS[i].to_owned());
    prop_oneof![
        vip.clone().prop_map(|vip| Key::LastSuccessful { vip }),
        (vip.clone(), 0u8..3).prop_map(|(vip, host)| Key::SourceIp {
            vip,
            client: IpAddr::V4(Ipv4Addr::new(10, 0, 0, host)),
        }),
        (vip, 0..SERVERS.len()).prop_map(|(vip, server)| Key::ServerState {
            vip,
            server: SERVERS[server].to_owned(),
        }),
    ]
}

/// What to write: `None` deletes, else a server, admin state and weight, of which the key's
/// table takes what it needs.
type Change = Option<(usize, AdminState, u16)>;

fn change() -> impl Strategy<Value = Change> {
    let state = prop_oneof![
        Just(AdminState::Ready),
        Just(AdminState::Drain),
        Just(AdminState::Maintenance)
    ];
    prop_oneof![
        1 => Just(None),
        4 => (0..SERVERS.len(), state, 0u16..=256).prop_map(Some),
    ]
}

fn value(key: &Key, change: Change, now: u64) -> Value {
    let Some((server, state, weight)) = change else {
        return Value::Deleted;
    };
    let server = SERVERS[server].to_owned();
    match key {
        Key::LastSuccessful { .. } => Value::Server(server),
        Key::SourceIp { .. } => Value::SourceIp {
            server,
            expires_at: now + TTL,
        },
        Key::ServerState { .. } => Value::ServerState { state, weight },
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A local change on a node.
    Record(usize, Key, Change),
    /// Delivers one in-flight update (chosen by the index) from one node to another.
    Deliver(usize, usize, prop::sample::Index),
    /// Delivers again an update delivered before.
    Replay(usize, usize, prop::sample::Index),
    /// Time passes, in ms.
    Advance(u64),
    /// A node drops expired entries.
    Expire(usize),
}

fn op(nodes: usize) -> impl Strategy<Value = Op> {
    let node = 0..nodes;
    prop_oneof![
        6 => (node.clone(), key(), change()).prop_map(|(n, k, c)| Op::Record(n, k, c)),
        6 => (node.clone(), node.clone(), any::<prop::sample::Index>())
            .prop_map(|(f, t, i)| Op::Deliver(f, t, i)),
        2 => (node.clone(), node.clone(), any::<prop::sample::Index>())
            .prop_map(|(f, t, i)| Op::Replay(f, t, i)),
        2 => (0u64..1_500).prop_map(Op::Advance),
        1 => node.prop_map(Op::Expire),
    ]
}

/// Nodes, their links, and for each node the newest update it has seen per key.
struct Cluster {
    replicas: Vec<Replica>,
    /// `[from][to]`: sent, not yet delivered.
    in_flight: Vec<Vec<Vec<Update>>>,
    /// `[from][to]`: delivered at least once.
    delivered: Vec<Vec<Vec<Update>>>,
    newest: Vec<HashMap<Key, Update>>,
    /// The VIP node 0 holds, if any.
    held: Option<&'static str>,
    now: u64,
}

impl Cluster {
    fn new(nodes: usize, held: Option<&'static str>) -> Self {
        Cluster {
            replicas: (0..nodes)
                .map(|n| Replica::new(n as u64 + 1, MIN_TOMBSTONE_RETENTION_MS))
                .collect(),
            in_flight: vec![vec![Vec::new(); nodes]; nodes],
            delivered: vec![vec![Vec::new(); nodes]; nodes],
            newest: vec![HashMap::new(); nodes],
            held,
            now: START,
        }
    }

    fn send(&mut self, from: usize, update: &Update) {
        for to in 0..self.replicas.len() {
            if to != from {
                self.in_flight[from][to].push(update.clone());
            }
        }
    }

    /// Stores `update` in the model of `node` when it is the newest seen there.
    fn note(&mut self, node: usize, update: &Update) {
        let newest = self.newest[node].entry(update.key.clone());
        let newest = newest.or_insert_with(|| update.clone());
        if update.version > newest.version {
            *newest = update.clone();
        }
    }

    fn record(&mut self, node: usize, key: Key, change: Change) {
        let value = value(&key, change, self.now);
        let update = self.replicas[node].record(key, value, self.now);
        self.note(node, &update);
        self.send(node, &update);
    }

    /// Applies `update` at `to`; answers with what `apply` said.
    fn deliver(&mut self, from: usize, to: usize, update: Update) -> Applied {
        let held = if to == 0 { self.held } else { None };
        let applied = self.replicas[to].apply(&update, self.now, |vip| Some(vip) == held);
        match &applied {
            Applied::Applied { .. } => self.note(to, &update),
            Applied::Stale => {}
            Applied::Overruled(answer) => {
                self.note(to, answer);
                self.send(to, answer);
            }
        }
        self.delivered[from][to].push(update);
        applied
    }

    fn expire(&mut self, node: usize) {
        self.replicas[node].expire(self.now);
        let now = self.now;
        for update in self.newest[node].values_mut() {
            if matches!(update.value, Value::SourceIp { expires_at, .. } if expires_at <= now) {
                update.value = Value::Deleted;
            }
        }
    }

    /// Delivers everything in flight, in an order drawn from `seed`, until nothing is left.
    fn drain(&mut self, mut seed: u64) {
        let nodes = self.replicas.len();
        loop {
            let links: Vec<(usize, usize)> = (0..nodes)
                .flat_map(|from| (0..nodes).map(move |to| (from, to)))
                .filter(|&(from, to)| !self.in_flight[from][to].is_empty())
                .collect();
            if links.is_empty() {
                return;
            }
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let (from, to) = links[(seed >> 33) as usize % links.len()];
            let queue = &mut self.in_flight[from][to];
            let update = queue.remove((seed >> 17) as usize % queue.len());
            self.deliver(from, to, update);
        }
    }

    /// Every node holds the newest version it has seen of every key, and nothing else.
    fn check_newest(&self) -> Result<(), TestCaseError> {
        for (node, replica) in self.replicas.iter().enumerate() {
            for (key, update) in &self.newest[node] {
                let expected = Some((update.version, &update.value));
                prop_assert_eq!(replica.get(key), expected, "node {} key {:?}", node, key);
            }
            for update in replica.snapshot(self.now) {
                prop_assert!(self.newest[node].contains_key(&update.key));
            }
        }
        Ok(())
    }
}

fn run(cluster: &mut Cluster, ops: Vec<Op>) -> Result<(), TestCaseError> {
    for op in ops {
        match op {
            Op::Record(node, key, change) => cluster.record(node, key, change),
            Op::Deliver(from, to, pick) => {
                if from != to && !cluster.in_flight[from][to].is_empty() {
                    let queue = &mut cluster.in_flight[from][to];
                    let update = queue.remove(pick.index(queue.len()));
                    cluster.deliver(from, to, update);
                }
            }
            Op::Replay(from, to, pick) => {
                if from != to && !cluster.delivered[from][to].is_empty() {
                    let old = &cluster.delivered[from][to];
                    let update = old[pick.index(old.len())].clone();
                    let before = cluster.replicas[to].snapshot(cluster.now);
                    prop_assert_eq!(cluster.deliver(from, to, update), Applied::Stale);
                    prop_assert_eq!(cluster.replicas[to].snapshot(cluster.now), before);
                }
            }
            Op::Advance(ms) => cluster.now += ms,
            Op::Expire(node) => cluster.expire(node),
        }
        cluster.check_newest()?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Plain last-writer-wins (no node holds a VIP): per key each node holds the newest
    /// version it has seen (tombstones included: no resurrection), replays change nothing,
    /// and once every update is delivered, in any order and with replays of everything, the
    /// three nodes have the same digest and the same snapshot.
    #[test]
    fn replicas_converge_under_any_delivery_order(
        ops in prop::collection::vec(op(3), 1..150),
        seed in any::<u64>(),
    ) {
        let mut cluster = Cluster::new(3, None);
        run(&mut cluster, ops)?;
        cluster.drain(seed);
        for from in 0..3 {
            for to in 0..3 {
                for update in cluster.delivered[from][to].clone() {
                    cluster.deliver(from, to, update);
                }
            }
        }
        cluster.check_newest()?;
        let now = cluster.now;
        let digest = cluster.replicas[0].digest(now);
        let snapshot = cluster.replicas[0].snapshot(now);
        for replica in &cluster.replicas[1..] {
            prop_assert_eq!(replica.digest(now), digest);
            prop_assert_eq!(&replica.snapshot(now), &snapshot);
        }
    }

    /// A node that missed everything converges from another node's snapshot alone.
    #[test]
    fn a_snapshot_brings_an_empty_node_level(
        ops in prop::collection::vec(op(2), 1..100),
        seed in any::<u64>(),
    ) {
        let mut cluster = Cluster::new(2, None);
        run(&mut cluster, ops)?;
        cluster.drain(seed);
        let now = cluster.now;
        let mut late = Replica::new(9, MIN_TOMBSTONE_RETENTION_MS);
        for update in cluster.replicas[0].snapshot(now) {
            let applied = late.apply(&update, now, |_| false);
            prop_assert_eq!(applied, Applied::Applied { previous: None });
        }
        prop_assert_eq!(late.digest(now), cluster.replicas[1].digest(now));
        prop_assert_eq!(late.snapshot(now), cluster.replicas[1].snapshot(now));
    }

    /// Applying updates is idempotent: applying the same updates again, in any order, is
    /// stale every time and changes no entry.
    #[test]
    fn apply_is_idempotent(
        ops in prop::collection::vec(op(2), 1..100),
        order in any::<u64>(),
    ) {
        let mut cluster = Cluster::new(2, None);
        run(&mut cluster, ops)?;
        cluster.drain(order);
        let now = cluster.now;
        let replica = &mut cluster.replicas[1];
        let snapshot = replica.snapshot(now);
        let mut again = cluster.delivered[0][1].clone();
        again.reverse();
        for update in again.iter().chain(snapshot.iter()) {
            prop_assert_eq!(replica.apply(update, now, |_| false), Applied::Stale);
        }
        prop_assert_eq!(replica.snapshot(now), snapshot);
    }

    /// A delete stands against every older update of its key, delivered late in any order.
    #[test]
    fn a_deleted_key_never_comes_back(
        key in key(),
        changes in prop::collection::vec(change(), 1..20),
        order in any::<prop::sample::Index>(),
    ) {
        let mut writer = Replica::new(1, MIN_TOMBSTONE_RETENTION_MS);
        let mut reader = Replica::new(2, MIN_TOMBSTONE_RETENTION_MS);
        let mut older: Vec<Update> = changes
            .into_iter()
            .enumerate()
            .map(|(i, change)| {
                let now = START + i as u64;
                writer.record(key.clone(), value(&key, change, now), now)
            })
            .collect();
        let now = START + 100;
        let delete = writer.record(key.clone(), Value::Deleted, now);
        reader.apply(&delete, now, |_| false);
        let first = order.index(older.len());
        older.rotate_left(first);
        for update in &older {
            prop_assert_eq!(reader.apply(update, now, |_| false), Applied::Stale);
            prop_assert_eq!(reader.get(&key), Some((delete.version, &Value::Deleted)));
        }
        prop_assert_eq!(reader.digest(now), Replica::new(3, 0).digest(now));
        prop_assert_eq!(reader.snapshot(now), vec![delete]);
    }
}

/// Only `last-successful` changes, so that the holder rule is exercised often.
fn last_successful_op() -> impl Strategy<Value = Op> {
    let key = (0..VIPS.len()).prop_map(|i| Key::LastSuccessful {
        vip: VIPS[i].to_owned(),
    });
    prop_oneof![
        6 => (0usize..2, key, change()).prop_map(|(n, k, c)| Op::Record(n, k, c)),
        6 => (0usize..2, any::<prop::sample::Index>()).prop_map(|(f, i)| Op::Deliver(f, 1 - f, i)),
        2 => (0usize..2, any::<prop::sample::Index>()).prop_map(|(f, i)| Op::Replay(f, 1 - f, i)),
        1 => (0u64..50).prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// Node 0 holds `db`: once everything is delivered both nodes agree, and when node 0's last
    /// own change of `db` named a server, that server is `db`'s entry on both nodes, however
    /// newer node 1's changes were. `web` (held by nobody) is plain last-writer-wins.
    #[test]
    fn the_holders_last_successful_stands_on_both_nodes(
        ops in prop::collection::vec(last_successful_op(), 1..120),
        seed in any::<u64>(),
    ) {
        let mut cluster = Cluster::new(2, Some("db"));
        let db = Key::LastSuccessful { vip: "db".into() };
        let mut holders_last = None;
        for op in ops {
            if let Op::Record(0, key, change) = &op {
                if *key == db {
                    holders_last = Some(value(key, *change, cluster.now));
                }
            }
            match op {
                Op::Record(node, key, change) => cluster.record(node, key, change),
                Op::Deliver(from, to, pick) => {
                    if !cluster.in_flight[from][to].is_empty() {
                        let queue = &mut cluster.in_flight[from][to];
                        let update = queue.remove(pick.index(queue.len()));
                        cluster.deliver(from, to, update);
                    }
                }
                Op::Replay(from, to, pick) => {
                    if !cluster.delivered[from][to].is_empty() {
                        let old = &cluster.delivered[from][to];
                        let update = old[pick.index(old.len())].clone();
                        prop_assert_eq!(cluster.deliver(from, to, update), Applied::Stale);
                    }
                }
                Op::Advance(ms) => cluster.now += ms,
                Op::Expire(node) => cluster.expire(node),
            }
        }
        cluster.drain(seed);
        let now = cluster.now;
        let [holder, other] = &cluster.replicas[..] else {
            unreachable!("two nodes");
        };
        prop_assert_eq!(holder.digest(now), other.digest(now));
        prop_assert_eq!(holder.snapshot(now), other.snapshot(now));
        if let Some(server @ Value::Server(_)) = holders_last {
            prop_assert_eq!(holder.get(&db).map(|(_, value)| value), Some(&server));
            prop_assert_eq!(other.get(&db).map(|(_, value)| value), Some(&server));
        }
    }
}
