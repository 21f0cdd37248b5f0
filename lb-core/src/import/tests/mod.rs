//! Unit tests of the importer: one small haproxy.cfg per construct, what it becomes, and
//! the report line (with its line number) for what is left out or approximated.

mod balance;
mod checks;
mod global;
mod http;
mod persistence;
mod proxies;
mod servers;
mod timeouts;
mod tripleo;

use super::{Import, NoteKind, compare, haproxy};
use crate::config::{parse, to_toml};
use crate::model::Vip;

/// `defaults` that leave nothing to note (lines 1-5), then `listen web` (line 6) binding
/// 192.0.2.1:80 (line 7); `body` starts at line 8.
fn listen(body: &str) -> String {
    format!(
        "defaults\n  timeout connect 5s\n  timeout client 1m\n  timeout server 1m\n  \
         option redispatch\nlisten web\n  bind 192.0.2.1:80\n{body}"
    )
}

/// [`listen`] with a checked server `a` at 192.0.2.11:8080 (line 8), `body` from line 9.
fn listen_with_server(body: &str) -> String {
    listen(&format!("  server a 192.0.2.11:8080 check\n{body}"))
}

/// Imports `cfg`, checking what every import promises: the configuration passes `lb check`
/// (it reads back equal) and agrees with what the haproxy.cfg said.
fn import(cfg: &str) -> Import {
    let import = haproxy(cfg);
    let written = to_toml(&import.config);
    let reread = parse("lb.toml", &written).unwrap_or_else(|e| panic!("{e}\n{written}"));
    assert_eq!(reread, import.config, "{written}");
    import
}

/// The VIP `name`.
fn vip<'a>(import: &'a Import, name: &str) -> &'a Vip {
    import
        .config
        .vips
        .iter()
        .find(|vip| vip.name == name)
        .unwrap_or_else(|| panic!("no VIP {name}: {:#?}", import.notes))
}

/// The report, one line per note.
fn report(import: &Import) -> String {
    let lines: Vec<String> = import.notes.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

/// Asserts a note of `kind` at `line` whose text holds `text`.
fn assert_note(import: &Import, line: usize, kind: NoteKind, text: &str) {
    let found = import
        .notes
        .iter()
        .any(|note| note.line == line && note.kind == kind && note.to_string().contains(text));
    assert!(
        found,
        "no {} note at line {line} with {text:?}:\n{}",
        kind.as_str(),
        report(import)
    );
}

/// Asserts nothing was noted.
fn assert_clean(import: &Import) {
    assert!(import.notes.is_empty(), "{}", report(import));
}

#[test]
fn a_plain_listen_section_imports_without_a_note() {
    let import = import(&listen_with_server("  server b 192.0.2.12:8080 check\n"));
    assert_clean(&import);
    let web = vip(&import, "web");
    assert_eq!(web.listen, ["192.0.2.1:80".parse().unwrap()]);
    let names: Vec<&str> = web.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(compare(&import.expected, &import.config).is_empty());
}

#[test]
fn compare_finds_what_differs_from_haproxy_cfg() {
    let import = import(&listen_with_server(
        "  server b 192.0.2.12:8080 check weight 3 backup\n  cookie SRV insert\n  mode http\n  \
         option forwardfor\n",
    ));
    assert!(compare(&import.expected, &import.config).is_empty());
    let mut changed = import.config.clone();
    let web = &mut changed.vips[0];
    web.listen[0] = "192.0.2.1:81".parse().unwrap();
    web.servers[1].backup = false;
    web.servers[0].weight = 2;
    web.persistence = crate::model::Persistence::None;
    let mismatches = compare(&import.expected, &changed);
    let text = mismatches.join("\n");
    for wanted in [
        "web (line 6): listens on [192.0.2.1:81] in lb, on [192.0.2.1:80] in haproxy.cfg",
        "VIP web: server b: backup false in lb, true in haproxy.cfg",
        "VIP web: weights [2, 3] in lb are not in the proportions of [1, 3] in haproxy.cfg",
        "VIP web: persistence",
    ] {
        assert!(text.contains(wanted), "{wanted}\n{text}");
    }
    changed.vips.clear();
    assert_eq!(
        compare(&import.expected, &changed),
        ["web (line 6): no VIP in the lb configuration"]
    );
}

#[test]
fn what_lb_would_refuse_is_left_out_with_the_reason() {
    // A cookie name lb cannot carry: the VIP would not pass `lb check`.
    let import = import(&listen_with_server(
        "  mode http\n  option forwardfor\n  cookie a:b insert\n",
    ));
    assert!(import.config.vips.is_empty());
    assert_note(
        &import,
        6,
        NoteKind::LeftOut,
        "`VIP web`: lb would refuse it: vip[0].persistence.name",
    );
}
