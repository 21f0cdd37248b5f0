//! Property tests of the reload diff (`lb_core::reload`): over generated running server lists
//! (runtime changes included), previous and new files, a kept server keeps its id and its
//! runtime admin state and weight unless the file changed them, new servers get fresh ids
//! never used before, the file decides names, addresses and order, and applying the same file
//! again, any number of times, changes nothing (runtime changes survive). VIPs are matched by name, rebound when their listen addresses change.

use std::net::SocketAddr;

use lb_core::model::{AdminState, Config, Server, ServerId, Vip};
use lb_core::reload::{Change, Running, in_place, plan};
use proptest::prelude::*;

const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];

fn address(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9000 + port))
}

fn admin() -> impl Strategy<Value = AdminState> {
    prop_oneof![
        Just(AdminState::Ready),
        Just(AdminState::Drain),
        Just(AdminState::Maintenance)
    ]
}

/// Servers with distinct names from [`NAMES`], addresses from three ports, ids as given.
fn servers(first_id: u32) -> impl Strategy<Value = Vec<Server>> {
    proptest::sample::subsequence(NAMES.to_vec(), 0..=NAMES.len())
        .prop_flat_map(|names| {
            let count = names.len();
            (
                Just(names),
                proptest::collection::vec((0u16..3, 0u16..4, admin()), count),
            )
        })
        .prop_map(move |(names, details)| {
            names
                .into_iter()
                .zip(details)
                .zip(first_id..)
                .map(|((name, (port, weight, admin)), id)| {
                    let mut server = Server::new(ServerId(id), name, address(port));
                    server.weight = weight * 50;
                    server.admin = admin;
                    server
                })
                .collect()
        })
}

fn vip(servers: Vec<Server>) -> Vip {
    let mut vip = Vip::new("api", address(80));
    vip.servers = servers;
    vip
}

/// A running VIP: loaded from `previous` (ids from 0), then changed at runtime to `running`
/// (ids from 100, some names shared with the file), with ids below `next_id` used.
fn world() -> impl Strategy<Value = (Vec<Server>, Vec<Server>, Vec<Server>)> {
    (servers(0), servers(100), servers(0))
}

proptest! {
    #[test]
    fn kept_servers_keep_their_ids_and_new_ones_get_fresh_ids(
        (previous, running_servers, file) in world()
    ) {
        let config = vip(previous);
        let running = Running { config: &config, servers: &running_servers, next_id: 200 };
        let applied = in_place(&running, &vip(file.clone()));
        let servers = &applied.vip.servers;
        prop_assert_eq!(servers.len(), file.len());
        let mut fresh = 0;
        for (server, filed) in servers.iter().zip(&file) {
            prop_assert_eq!(&server.name, &filed.name, "the file decides names and order");
            prop_assert_eq!(server.address, filed.address);
            prop_assert_eq!(server.backup, filed.backup);
            match running_servers.iter().find(|r| r.name == server.name && r.address == server.address) {
                Some(kept) => prop_assert_eq!(server.id, kept.id, "a kept server keeps its id"),
                None => {
                    prop_assert_eq!(server.id, ServerId(200 + fresh), "fresh ids, in order");
                    fresh += 1;
                }
            }
        }
        prop_assert_eq!(applied.next_id, 200 + fresh);
        let mut ids: Vec<u32> = servers.iter().map(|s| s.id.0).collect();
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), servers.len(), "ids are unique");
    }

    #[test]
    fn runtime_admin_state_and_weight_stay_unless_the_file_changed_them(
        (previous, running_servers, file) in world()
    ) {
        let config = vip(previous.clone());
        let running = Running { config: &config, servers: &running_servers, next_id: 200 };
        let applied = in_place(&running, &vip(file.clone()));
        for (server, filed) in applied.vip.servers.iter().zip(&file) {
            let kept = running_servers.iter().find(|r| r.name == server.name && r.address == server.address);
            let before = previous.iter().find(|s| s.name == server.name);
            let (admin, weight) = match (kept, before) {
                (Some(kept), Some(before)) => (
                    if before.admin == filed.admin { kept.admin } else { filed.admin },
                    if before.weight == filed.weight { kept.weight } else { filed.weight },
                ),
                _ => (filed.admin, filed.weight),
            };
            prop_assert_eq!(server.admin, admin);
            prop_assert_eq!(server.weight, weight);
        }
    }

    #[test]
    fn applying_the_same_file_again_changes_nothing((previous, running_servers, file) in world()) {
        let config = vip(previous);
        let running = Running { config: &config, servers: &running_servers, next_id: 200 };
        let first = in_place(&running, &vip(file.clone()));
        let again = Running { config: &first.loaded, servers: &first.vip.servers, next_id: first.next_id };
        let second = in_place(&again, &vip(file));
        prop_assert!(!second.changes_anything(), "{:?}", second);
        prop_assert_eq!(&second.loaded, &first.loaded);
        prop_assert_eq!(second.vip, first.vip);
        prop_assert_eq!(second.next_id, first.next_id);
    }
}

#[test]
fn vips_are_started_rebound_changed_or_removed_by_name() {
    let running_api = vip(vec![Server::new(ServerId(0), "a", address(0))]);
    let mut running_db = running_api.clone();
    running_db.name = "db".to_owned();
    let mut gone = running_api.clone();
    gone.name = "gone".to_owned();
    let running: Vec<Running<'_>> = [&running_api, &running_db, &gone]
        .into_iter()
        .map(|config| Running {
            config,
            servers: &config.servers,
            next_id: 1,
        })
        .collect();
    let mut next = Config::default();
    let mut api = running_api.clone();
    api.retries = 7;
    let mut db = running_db.clone();
    db.listen = vec![address(81)];
    let mut new = running_api.clone();
    new.name = "new".to_owned();
    next.vips = vec![api, db, new];
    let plan = plan(&running, &next);
    let changes: Vec<(&str, &Change)> = plan
        .vips
        .iter()
        .map(|(vip, change)| (vip.name.as_str(), change))
        .collect();
    assert!(
        matches!(changes[0], ("api", Change::InPlace(applied)) if applied.settings_changed && !applied.servers_changed)
    );
    assert_eq!(changes[1], ("db", &Change::Rebind));
    assert_eq!(changes[2], ("new", &Change::Start));
    assert_eq!(plan.removed, ["gone"]);
}
