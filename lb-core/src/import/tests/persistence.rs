//! Persistence: `cookie`, `stick-table`, `stick on`.

use std::time::Duration;

use super::{assert_clean, assert_note, import, listen, vip};
use crate::import::NoteKind;
use crate::model::Persistence;

const HTTP: &str = "  mode http\n  option forwardfor\n";

#[test]
fn cookie_insert_indirect_nocache_becomes_cookie_persistence() {
    let import = import(&listen(&format!(
        "{HTTP}  cookie SERVERID insert indirect nocache maxidle 30m maxlife 12h httponly\n  \
         server a 192.0.2.11:80 check cookie a\n"
    )));
    assert_eq!(
        vip(&import, "web").persistence,
        Persistence::Cookie {
            name: "SERVERID".to_owned(),
            indirect: true,
            nocache: true,
            max_idle: Some(Duration::from_secs(30 * 60)),
            max_life: Some(Duration::from_secs(12 * 3600)),
        }
    );
    assert_note(
        &import,
        11,
        NoteKind::Approximated,
        "lb's cookie values are its own",
    );
    assert!(super::compare(&import.expected, &import.config).is_empty());
}

#[test]
fn cookie_modes_and_options_lb_lacks_are_noted() {
    let import = import(&listen(&format!(
        "{HTTP}  cookie JSESSIONID prefix domain .example.com\n  server a 192.0.2.11:80 check\n"
    )));
    assert_note(
        &import,
        10,
        NoteKind::Approximated,
        "`prefix`: lb inserts a cookie of its own",
    );
    assert_note(&import, 10, NoteKind::LeftOut, "`domain .example.com`");
    assert_note(&import, 11, NoteKind::Approximated, "no `cookie` value");
    let import = super::import(&listen(
        "  cookie SRV insert\n  server a 192.0.2.11:80 check\n",
    ));
    assert_eq!(vip(&import, "web").persistence, Persistence::None);
    assert_note(
        &import,
        8,
        NoteKind::LeftOut,
        "cookie persistence needs an http VIP",
    );
}

#[test]
fn tripleos_stick_on_dst_becomes_last_successful() {
    let import = import(&listen(
        "  stick-table type ip size 1000\n  stick on dst\n  \
         server a 192.0.2.11:3306 backup check\n  server b 192.0.2.12:3306 backup check\n",
    ));
    assert_clean(&import);
    let web = vip(&import, "web");
    assert_eq!(
        web.persistence,
        Persistence::LastSuccessful {
            clear_on_drain: false
        }
    );
    assert!(super::compare(&import.expected, &import.config).is_empty());
    let import = super::import(&listen(
        "  stick-table type ip size 1000\n  stick match dst\n  stick store-request dst\n  \
         server a 192.0.2.11:3306 check\n",
    ));
    assert_clean(&import);
    assert_eq!(
        vip(&import, "web").persistence.kind_name(),
        "last-successful"
    );
}

#[test]
fn stick_on_src_with_expire_becomes_source_ip() {
    let import = import(&listen(
        "  stick-table type ip size 20k expire 15m\n  stick on src\n  server a 192.0.2.11:80 check\n",
    ));
    assert_clean(&import);
    match &vip(&import, "web").persistence {
        Persistence::SourceIp { timeout, size, .. } => {
            assert_eq!((*timeout, *size), (Duration::from_secs(900), 20 * 1024));
        }
        other => panic!("{other:?}"),
    }
    let import = super::import(&listen(
        "  stick-table type ip size 1k\n  stick on src\n  server a 192.0.2.11:80 check\n",
    ));
    assert_note(
        &import,
        9,
        NoteKind::Approximated,
        "lb drops them after 30m idle",
    );
}

#[test]
fn stick_rules_lb_cannot_follow_are_noted() {
    let import = import(&listen(
        "  stick-table type string len 32 size 1k peers pair store gpc0\n  \
         stick on req.cook(sid)\n  stick on src if { path_beg /a }\n  stick match src\n  \
         server a 192.0.2.11:80 check\n",
    ));
    assert_eq!(vip(&import, "web").persistence, Persistence::None);
    assert_note(&import, 8, NoteKind::LeftOut, "`peers pair`");
    assert_note(&import, 8, NoteKind::LeftOut, "`store gpc0`");
    assert_note(
        &import,
        9,
        NoteKind::LeftOut,
        "lb keeps clients by source address",
    );
    assert_note(&import, 10, NoteKind::LeftOut, "no condition");
    assert_note(
        &import,
        11,
        NoteKind::LeftOut,
        "`stick match` needs `stick store-request`",
    );
}
