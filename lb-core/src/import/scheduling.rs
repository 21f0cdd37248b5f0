//! Which server a new client gets: `balance` as lb's scheduler, and persistence (`cookie`,
//! `stick on`) as lb's.
//!
//! `roundrobin` and `static-rr` become `round-robin`, `leastconn` `least-connections`,
//! `source` `source-hash` (consistent, noted unless `hash-type consistent` said so too),
//! `first` `first`, `random` (HAProxy's default of two draws) `two-choices`, `random(1)`
//! `random`; no `balance` is HAProxy's round-robin. HAProxy sends to the first usable backup
//! only (unless `option allbackups`): when every server is a backup, lb's `first` does the
//! same; with primaries and several backups, lb spreading over the backups is noted.
//!
//! `cookie NAME insert` becomes cookie persistence on http VIPs. `stick on dst` (or
//! `stick match dst` with `stick store-request dst`) with an `ip` stick table, TripleO's
//! single-writer idiom for Galera, becomes `last-successful`; `stick on src` becomes
//! `source-ip` with the table's `size` and `expire` (30 m, noted, without `expire`).

use std::time::Duration;

use super::build::{Member, Pair};
use super::persist::{Key, StickRule};
use super::proxy::{At, Balance, Proxy};
use super::report::Report;
use super::verify::ExpectedPersistence;
use crate::model::{Mode, Persistence, SchedulerKind};

/// The scheduler of the backend `back`, whose usable servers are `members`.
pub(super) fn scheduler(
    back: &Proxy,
    members: &[Member<'_>],
    report: &mut Report,
) -> SchedulerKind {
    let backups: Vec<&Member<'_>> = members.iter().filter(|m| m.spec.options.backup).collect();
    if backups.len() >= 2 && !back.all_backups {
        if backups.len() == members.len() {
            return SchedulerKind::First;
        }
        report.approximated(
            backups[1].spec.line,
            format!("server {} backup", backups[1].name),
            "once no primary is usable, lb spreads clients over every usable backup; HAProxy \
             uses the first only (as with `option allbackups`, lb's way, HAProxy would spread)",
        );
    }
    let Some(At { line, value }) = &back.balance else {
        return SchedulerKind::RoundRobin;
    };
    let mut note = |reason: &str| report.approximated(*line, balance_text(value), reason);
    match value {
        Balance::RoundRobin => SchedulerKind::RoundRobin,
        Balance::LeastConn => SchedulerKind::LeastConnections,
        Balance::First => SchedulerKind::First,
        Balance::Source => {
            if !back.consistent_hash {
                note(
                    "lb's source hash is consistent (removing a server moves only its clients; \
                     HAProxy's map-based hash moves most), so clients land on other servers \
                     than HAProxy's",
                );
            }
            SchedulerKind::SourceHash
        }
        Balance::Random(1) => SchedulerKind::Random,
        Balance::Random(2) => SchedulerKind::TwoChoices,
        Balance::Random(_) => {
            note("lb draws two servers and takes the less loaded (two-choices)");
            SchedulerKind::TwoChoices
        }
        Balance::Other(algorithm) => {
            report.left_out(
                *line,
                format!("balance {algorithm}"),
                "lb balances by round-robin, least-connections, source-hash, first, random or \
                 two-choices: round-robin is used",
            );
            SchedulerKind::RoundRobin
        }
    }
}

fn balance_text(balance: &Balance) -> String {
    let name = match balance {
        Balance::RoundRobin => "roundrobin".to_owned(),
        Balance::LeastConn => "leastconn".to_owned(),
        Balance::Source => "source".to_owned(),
        Balance::First => "first".to_owned(),
        Balance::Random(draws) => format!("random({draws})"),
        Balance::Other(name) => name.clone(),
    };
    format!("balance {name}")
}

/// The persistence of `pair` on a VIP of `mode`.
pub(super) fn persistence(pair: Pair<'_>, mode: Mode, report: &mut Report) -> Persistence {
    let back = pair.back;
    let stick = stick_key(back, report);
    if let Some(cookie) = &back.cookie {
        if mode == Mode::Http {
            if let Some(stick) = &stick {
                report.left_out(
                    stick.line,
                    "stick",
                    "lb keeps one kind of persistence per VIP: the cookie",
                );
            }
            note_cookie_values(back, report);
            let spec = &cookie.value;
            return Persistence::Cookie {
                name: spec.name.clone(),
                indirect: spec.indirect,
                nocache: spec.nocache,
                max_idle: spec.max_idle,
                max_life: spec.max_life,
            };
        }
        if back.owns(cookie.line) {
            report.left_out(
                cookie.line,
                format!("cookie {}", cookie.value.name),
                "cookie persistence needs an http VIP (HAProxy ignores it in tcp mode too)",
            );
        }
    }
    let Some(At { line, value: key }) = stick else {
        return Persistence::None;
    };
    let table = back.stick_table.as_ref().map(|table| &table.value);
    match key {
        Key::Destination => {
            if pair
                .front
                .binds
                .iter()
                .map(|b| b.addresses.len())
                .sum::<usize>()
                > 1
            {
                report.approximated(
                    line,
                    "stick on dst",
                    "HAProxy keeps one server per address the VIP listens on; lb one for the \
                     whole VIP",
                );
            }
            if table.is_some_and(|table| table.expire.is_some()) {
                report.approximated(
                    line,
                    "stick on dst",
                    "lb's last-successful server is kept until it fails, without expiry",
                );
            }
            Persistence::LastSuccessful {
                clear_on_drain: false,
            }
        }
        Key::Source => {
            let mut persistence = Persistence::source_ip();
            if let Persistence::SourceIp { timeout, size, .. } = &mut persistence {
                match table
                    .and_then(|table| table.expire)
                    .filter(|e| !e.is_zero())
                {
                    Some(expire) => *timeout = expire,
                    None => report.approximated(
                        line,
                        "stick on src",
                        "the stick table has no `expire`: HAProxy keeps entries until the \
                         table is full, lb drops them after 30m idle",
                    ),
                }
                if let Some(entries) = table.and_then(|table| table.size).filter(|s| *s > 0) {
                    *size = usize::try_from(entries).unwrap_or(usize::MAX);
                }
            }
            persistence
        }
    }
}

/// Notes what lb does with the servers' `cookie` values.
fn note_cookie_values(back: &Proxy, report: &mut Report) {
    for spec in &back.servers {
        match &spec.options.cookie {
            Some(value) => report.approximated(
                spec.line,
                format!("cookie {value}"),
                "lb's cookie values are its own (a keyed tag per server), so a client holding \
                 an HAProxy cookie is placed afresh once",
            ),
            None => report.approximated(
                spec.line,
                format!("server {}", spec.name),
                "no `cookie` value: HAProxy keeps no client on this server, lb does",
            ),
        }
    }
}

/// The key of the backend's stick rules, when they make a persistence lb has.
fn stick_key(back: &Proxy, report: &mut Report) -> Option<At<Key>> {
    let first = back.stick.first()?;
    let key = |rule: &StickRule| match rule {
        StickRule::On(key) | StickRule::Match(key) | StickRule::Store(key) => *key,
    };
    let mut refuse = |line: usize, reason: &str| {
        report.left_out(line, "stick", reason);
        None
    };
    if let Some(other) = back
        .stick
        .iter()
        .find(|rule| key(&rule.value) != key(&first.value))
    {
        return refuse(other.line, "lb keeps one kind of persistence per VIP");
    }
    let matches = back
        .stick
        .iter()
        .any(|rule| matches!(rule.value, StickRule::On(_) | StickRule::Match(_)));
    let stores = back
        .stick
        .iter()
        .any(|rule| matches!(rule.value, StickRule::On(_) | StickRule::Store(_)));
    if !(matches && stores) {
        return refuse(
            first.line,
            "lb's persistence both records and follows entries: `stick match` needs `stick \
             store-request` (or write `stick on`)",
        );
    }
    match &back.stick_table {
        None => refuse(
            first.line,
            "no stick-table in this proxy (HAProxy refuses it too)",
        ),
        Some(table) if !matches!(table.value.kind.as_str(), "ip" | "ipv6") => refuse(
            table.line,
            "lb keeps addresses: the stick table must be of type ip or ipv6",
        ),
        Some(_) => Some(At::new(first.line, key(&first.value))),
    }
}

/// The persistence HAProxy gives `pair`, for `--check`.
pub(super) fn expected_persistence(pair: Pair<'_>) -> ExpectedPersistence {
    let back = pair.back;
    if let Some(cookie) = back
        .cookie
        .as_ref()
        .filter(|_| pair.front.mode == Mode::Http)
    {
        return ExpectedPersistence::Cookie {
            name: cookie.value.name.clone(),
        };
    }
    let on = |wanted: Key| {
        back.stick.iter().any(|rule| {
            matches!(rule.value, StickRule::On(key) | StickRule::Match(key) if key == wanted)
        })
    };
    let table = back.stick_table.as_ref().map(|table| &table.value);
    if table.is_none() {
        return ExpectedPersistence::None;
    }
    if on(Key::Destination) {
        ExpectedPersistence::LastSuccessful
    } else if on(Key::Source) {
        ExpectedPersistence::SourceIp {
            timeout: table
                .and_then(|table| table.expire)
                .filter(|e| *e > Duration::ZERO),
            size: table.and_then(|table| table.size),
        }
    } else {
        ExpectedPersistence::None
    }
}
