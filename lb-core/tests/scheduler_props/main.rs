//! Property tests of the six schedulers, through the pool, driven by generated operation
//! sequences: weights set, servers added and removed (the pool rebuilt each time), health
//! marked down, drain and maintenance, picks with and without retries, connections opened
//! and closed.

mod world;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use lb_core::model::{AdminState, Health, SchedulerKind, ServerId};
use lb_core::pool::Pool;
use lb_core::scheduler::PickContext;
use proptest::prelude::*;
use world::{Op, World, op, random_stream, servers};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Runs `ops` on a VIP of `kind`, checking the rules every scheduler shares at each pick,
/// then `also` with the world and what the pick saw.
fn run(
    kind: SchedulerKind,
    initial: &[(u16, bool)],
    ops: &[Op],
    also: impl Fn(&World, &[ServerId], Option<ServerId>, IpAddr) -> Result<(), TestCaseError>,
) -> Result<World, TestCaseError> {
    let mut world = World::new(kind, initial);
    for op in ops {
        let Some(picked) = world.apply(op) else {
            continue;
        };
        let allowed: Vec<ServerId> = world
            .expected_eligible()
            .into_iter()
            .filter(|id| !picked.exclude.contains(id))
            .collect();
        match picked.chosen {
            None => prop_assert!(
                allowed.is_empty(),
                "{kind:?}: None while {allowed:?} usable"
            ),
            Some(id) => prop_assert!(
                allowed.contains(&id),
                "{kind:?}: picked {id} outside {allowed:?} (excluded {:?})",
                picked.exclude
            ),
        }
        also(&world, &picked.exclude, picked.chosen, picked.client)?;
    }
    Ok(world)
}

proptest! {
    #![proptest_config(config(48))]

    /// Never a down, maintenance, drained or weight-0 server; backups only when no primary is
    /// usable; never an excluded server; `None` exactly when nothing is left.
    #[test]
    fn every_scheduler_picks_only_usable_servers(
        initial in servers(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        for kind in SchedulerKind::ALL {
            run(kind, &initial, &ops, |_, _, _, _| Ok(()))?;
        }
    }

    /// The pick has the least active connections per unit of weight among the usable,
    /// non-excluded servers, with opens and closes interleaved and the pool rebuilt.
    #[test]
    fn least_connections_picks_a_least_loaded_server(
        initial in servers(),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        run(SchedulerKind::LeastConnections, &initial, &ops, |world, exclude, chosen, _| {
            let Some(chosen) = chosen else { return Ok(()) };
            // The pick already opened its connection: count the load it saw.
            let (active, weight) = world.load(chosen);
            let seen = (active - 1, weight);
            for id in world.expected_eligible() {
                if exclude.contains(&id) {
                    continue;
                }
                let (other_active, other_weight) = world.load(id);
                prop_assert!(
                    seen.0 * other_weight <= other_active * seen.1,
                    "picked {chosen} at {seen:?}, {id} has {:?}", (other_active, other_weight)
                );
            }
            Ok(())
        })?;
    }

    /// With the set unchanged, a client always lands on the same server, and a pool built
    /// separately with the servers in another order (another balancer) agrees.
    #[test]
    fn source_hash_is_stable_and_shared(
        initial in servers(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let world = run(SchedulerKind::SourceHash, &initial, &ops, |world, exclude, chosen, client| {
            let context = PickContext { client, random: 0, exclude };
            prop_assert_eq!(world.pool.pick(&context).map(|m| m.id), chosen);
            Ok(())
        })?;
        let mut reversed = world.pool.members().to_vec();
        reversed.reverse();
        let other = Pool::new(SchedulerKind::SourceHash, reversed);
        for client in client_addresses(0xc633_6400, 256) {
            let context = PickContext::new(client, 0);
            prop_assert_eq!(
                other.pick(&context).map(|m| m.id),
                world.pool.pick(&context).map(|m| m.id)
            );
        }
    }

    /// Any window of one full cycle gives each usable server exactly its weight's share, after
    /// any sequence of changes. From the start of a cycle, in every prefix of `k` picks a server
    /// of weight `w` out of `W` gets at most `ceil(k * w / W)` picks and never falls two behind
    /// `k * w / W` (smooth interleaving: `a a a a a b c` breaks the first bound at `k = 5`).
    #[test]
    fn round_robin_is_exact_over_every_cycle_and_smooth(
        initial in servers(),
        ops in prop::collection::vec(op(), 0..40),
    ) {
        let mut world = World::new(SchedulerKind::RoundRobin, &initial);
        for op in &ops {
            world.apply(op);
        }
        let weights: HashMap<ServerId, u64> = world
            .expected_eligible()
            .into_iter()
            .map(|id| (id, u64::from(world.member(id).weight)))
            .collect();
        let divisor = weights.values().copied().fold(0, gcd);
        let total: u64 = weights.values().sum::<u64>() / divisor.max(1);
        let window = world.shares(total as usize, || 0);
        for (id, weight) in &weights {
            prop_assert_eq!(window.get(id).copied().unwrap_or(0) as u64, weight / divisor);
        }
        world.rebuild();
        let mut counts: HashMap<ServerId, u64> = HashMap::new();
        for k in 1..=total {
            let member = world.pool.pick(&PickContext::new(Ipv4Addr::LOCALHOST.into(), 0));
            let id = member.expect("a usable server").id;
            *counts.entry(id).or_insert(0) += 1;
            for (other, weight) in &weights {
                let count = counts.get(other).copied().unwrap_or(0);
                let ideal = k * weight / divisor;
                prop_assert!(count <= ideal.div_ceil(total), "{other} ahead: {count} of {k}");
                prop_assert!(count * total + 2 * total > ideal, "{other} behind: {count} of {k}");
            }
        }
    }

    /// Whatever the weights, servers of equal load take turns: `n` short connections in a row
    /// go to `n` different servers.
    #[test]
    fn least_connections_ties_rotate(weights in prop::collection::vec(1u16..=256, 1..10)) {
        let initial: Vec<(u16, bool)> = weights.iter().map(|&w| (w, false)).collect();
        let mut world = World::new(SchedulerKind::LeastConnections, &initial);
        for _round in 0..3 {
            let mut seen = Vec::new();
            for _ in 0..weights.len() {
                let id = world.pick_and_open(Ipv4Addr::LOCALHOST.into(), 0, &[]).unwrap();
                world.apply(&Op::Close(0));
                prop_assert!(!seen.contains(&id), "{id} again before every server had a turn");
                seen.push(id);
            }
        }
    }

    /// Taking one server out (removed, down, maintenance, drained or weight 0) moves only its
    /// clients, and they all find another server.
    #[test]
    fn source_hash_removal_moves_only_that_servers_clients(
        weights in prop::collection::vec(1u16..=256, 2..12),
        victim in any::<prop::sample::Index>(),
        how in 0usize..5,
        first_client in any::<u32>(),
    ) {
        let initial: Vec<(u16, bool)> = weights.iter().map(|&w| (w, false)).collect();
        let mut world = World::new(SchedulerKind::SourceHash, &initial);
        let before = client_map(&world, first_client);
        let victim = world.servers[victim.index(weights.len())].id;
        let position = world.servers.iter().position(|s| s.id == victim).unwrap();
        match how {
            0 => world.remove(victim),
            1 => { world.apply(&Op::SetHealth(position, Health::Down)); }
            2 => { world.apply(&Op::SetAdmin(position, AdminState::Maintenance)); }
            3 => { world.apply(&Op::SetAdmin(position, AdminState::Drain)); }
            _ => { world.apply(&Op::SetWeight(position, 0)); }
        }
        world.rebuild();
        let after = client_map(&world, first_client);
        for (client, (was, now)) in before.iter().zip(&after).enumerate() {
            let (was, now) = (was.unwrap(), now.unwrap());
            if was == victim {
                prop_assert_ne!(now, victim);
            } else {
                prop_assert_eq!(now, was, "client {} moved off a server still there", client);
            }
        }
    }

    /// Adding a server to `n` of equal weight moves only clients to it, about 1/(n+1) of them.
    #[test]
    fn source_hash_addition_moves_about_one_in_n_plus_one(
        n in 2usize..12,
        first_client in any::<u32>(),
    ) {
        let mut world = World::new(SchedulerKind::SourceHash, &vec![(100, false); n]);
        let before = client_map(&world, first_client);
        let added = world.add(100, false);
        world.rebuild();
        let after = client_map(&world, first_client);
        let mut moved = 0;
        for (was, now) in before.iter().zip(&after) {
            if was != now {
                prop_assert_eq!(*now, Some(added));
                moved += 1;
            }
        }
        let fraction = moved as f64 / before.len() as f64;
        let expected = 1.0 / (n + 1) as f64;
        prop_assert!(
            (0.7 * expected..=1.3 * expected).contains(&fraction),
            "{fraction:.3} moved, expected about {expected:.3}"
        );
    }

    /// Random picks follow the weights: over 20,000 picks each server's share is within 0.025
    /// of weight / total (the standard deviation is under 0.004).
    #[test]
    fn random_shares_follow_weights(
        weights in prop::collection::vec(1u16..=10, 2..7),
        seed in any::<u64>(),
    ) {
        assert_shares_follow_weights(SchedulerKind::Random, &weights, seed)?;
    }

    /// Two-choices with no load left behind (every connection closes before the next pick)
    /// follows the weights like random.
    #[test]
    fn two_choices_shares_follow_weights_when_idle(
        weights in prop::collection::vec(1u16..=10, 2..7),
        seed in any::<u64>(),
    ) {
        assert_shares_follow_weights(SchedulerKind::TwoChoices, &weights, seed)?;
    }

    /// Two-choices under a steady load of 40 open connections, each closing at random: the
    /// share of new connections still follows the weights within 0.05.
    #[test]
    fn two_choices_shares_follow_weights_under_load(
        weights in prop::collection::vec(1u16..=10, 2..7),
        seed in any::<u64>(),
    ) {
        let initial: Vec<(u16, bool)> = weights.iter().map(|&w| (w, false)).collect();
        let mut world = World::new(SchedulerKind::TwoChoices, &initial);
        let mut random = random_stream(seed);
        let mut counts: HashMap<ServerId, usize> = HashMap::new();
        let picks = 20_000;
        for step in 0..picks {
            let id = world.pick_and_open(Ipv4Addr::LOCALHOST.into(), random(), &[]).unwrap();
            *counts.entry(id).or_insert(0) += 1;
            if step >= 40 {
                world.apply(&Op::Close(random() as usize));
            }
        }
        assert_counts_follow(&world, &weights, &counts, picks, 0.05)?;
    }
}

#[test]
fn round_robin_interleaves_five_one_one_like_nginx() {
    let world = World::new(
        SchedulerKind::RoundRobin,
        &[(5, false), (1, false), (1, false)],
    );
    let names: String = (0..14)
        .map(|_| {
            let context = PickContext::new(Ipv4Addr::LOCALHOST.into(), 0);
            let id = world.pool.pick(&context).unwrap().id;
            (b'a' + id.0 as u8) as char
        })
        .collect();
    assert_eq!(names, "aabacaaaabacaa");
}

#[test]
fn an_empty_pool_answers_none_for_every_scheduler() {
    for kind in SchedulerKind::ALL {
        let world = World::new(kind, &[]);
        let context = PickContext::new(Ipv4Addr::LOCALHOST.into(), 7);
        assert!(world.pool.pick(&context).is_none(), "{kind:?}");
    }
}

/// `count` consecutive IPv4 client addresses from `first`.
fn client_addresses(first: u32, count: u32) -> impl Iterator<Item = IpAddr> {
    (0..count).map(move |offset| IpAddr::V4(Ipv4Addr::from(first.wrapping_add(offset))))
}

/// The server each of 4,000 consecutive client addresses lands on.
fn client_map(world: &World, first_client: u32) -> Vec<Option<ServerId>> {
    client_addresses(first_client, 4000)
        .map(|client| {
            world
                .pool
                .pick(&PickContext::new(client, 0))
                .map(|member| member.id)
        })
        .collect()
}

fn assert_shares_follow_weights(
    kind: SchedulerKind,
    weights: &[u16],
    seed: u64,
) -> Result<(), TestCaseError> {
    let initial: Vec<(u16, bool)> = weights.iter().map(|&w| (w, false)).collect();
    let world = World::new(kind, &initial);
    let picks = 20_000;
    let counts = world.shares(picks, random_stream(seed));
    assert_counts_follow(&world, weights, &counts, picks, 0.025)
}

fn assert_counts_follow(
    world: &World,
    weights: &[u16],
    counts: &HashMap<ServerId, usize>,
    picks: usize,
    tolerance: f64,
) -> Result<(), TestCaseError> {
    let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
    for (server, &weight) in world.servers.iter().zip(weights) {
        let share = counts.get(&server.id).copied().unwrap_or(0) as f64 / picks as f64;
        let expected = f64::from(weight) / total;
        prop_assert!(
            (share - expected).abs() <= tolerance,
            "{} has {share:.3}, weight share {expected:.3}",
            server.id
        );
    }
    Ok(())
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}
