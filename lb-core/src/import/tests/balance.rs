//! `balance`, `hash-type` and backups.

use super::{assert_clean, assert_note, import, listen, vip};
use crate::import::NoteKind;
use crate::model::SchedulerKind;

const SERVERS: &str = "  server a 192.0.2.11:80 check\n  server b 192.0.2.12:80 check\n";

fn scheduler(balance: &str) -> (SchedulerKind, crate::import::Import) {
    let import = import(&listen(&format!("{balance}{SERVERS}")));
    (vip(&import, "web").scheduler, import)
}

#[test]
fn each_algorithm_lb_has() {
    for (balance, kind) in [
        ("", SchedulerKind::RoundRobin),
        ("  balance roundrobin\n", SchedulerKind::RoundRobin),
        ("  balance static-rr\n", SchedulerKind::RoundRobin),
        ("  balance leastconn\n", SchedulerKind::LeastConnections),
        ("  balance first\n", SchedulerKind::First),
        ("  balance random\n", SchedulerKind::TwoChoices),
        ("  balance random(2)\n", SchedulerKind::TwoChoices),
        ("  balance random(1)\n", SchedulerKind::Random),
        (
            "  balance source\n  hash-type consistent\n",
            SchedulerKind::SourceHash,
        ),
    ] {
        let (scheduler, import) = scheduler(balance);
        assert_eq!(scheduler, kind, "{balance}");
        assert_clean(&import);
    }
}

#[test]
fn what_differs_from_haproxys_algorithm_is_noted() {
    let (kind, import) = scheduler("  balance source\n");
    assert_eq!(kind, SchedulerKind::SourceHash);
    assert_note(
        &import,
        8,
        NoteKind::Approximated,
        "lb's source hash is consistent",
    );
    let (kind, import) = scheduler("  balance uri\n");
    assert_eq!(kind, SchedulerKind::RoundRobin);
    assert_note(&import, 8, NoteKind::LeftOut, "`balance uri`");
    let (kind, import) = scheduler("  balance random(3)\n");
    assert_eq!(kind, SchedulerKind::TwoChoices);
    assert_note(&import, 8, NoteKind::Approximated, "two-choices");
}

#[test]
fn all_backups_go_to_the_first_usable_one_like_haproxy() {
    let import = import(&listen(
        "  server a 192.0.2.11:80 check backup\n  server b 192.0.2.12:80 check backup\n",
    ));
    assert_clean(&import);
    assert_eq!(vip(&import, "web").scheduler, SchedulerKind::First);
    let import = super::import(&listen(
        "  option allbackups\n  server a 192.0.2.11:80 backup\n  server b 192.0.2.12:80 backup\n",
    ));
    assert_eq!(vip(&import, "web").scheduler, SchedulerKind::RoundRobin);
    let import = super::import(&listen(
        "  server p 192.0.2.10:80\n  server a 192.0.2.11:80 backup\n  server b 192.0.2.12:80 backup\n",
    ));
    assert_note(
        &import,
        10,
        NoteKind::Approximated,
        "lb spreads clients over every usable backup",
    );
}
