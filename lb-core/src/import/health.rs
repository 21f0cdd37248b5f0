//! The VIP's health check from the backend's check directives and its servers' options.
//!
//! lb checks every server of a VIP alike: the timing comes from the first server with
//! `check` (HAProxy's defaults where it says nothing: `inter` 2s, `fastinter` and
//! `downinter` equal to `inter`, `rise` 2, `fall` 3), and a server that differs is noted.
//! The check's timeout is `timeout check`, or `inter` without it (HAProxy's rule);
//! `port` probes another port; `observe layer4` with `on-error mark-down` becomes
//! `observe_failures` (`error-limit`, default 10). Servers start up, as in HAProxy.
//! HAProxy never checks a server without `check`; lb checks every server, noted.

use std::time::Duration;

use super::build::Member;
use super::checks::Probe;
use super::proxy::Proxy;
use super::report::Report;
use super::server::ServerOptions;
use crate::model::{Check, CheckKind, HttpCheck, ScriptStep};

/// The check of the backend `back`, whose usable servers are `members`.
pub(super) fn check(back: &Proxy, members: &[Member<'_>], report: &mut Report) -> Check {
    let checked: Vec<&Member<'_>> = members.iter().filter(|m| m.spec.options.check).collect();
    let reference = checked.first().copied().or(members.first());
    if checked.is_empty() {
        report.approximated(
            back.header.number,
            back.header.text.clone(),
            "no server has `check`: HAProxy never checks them and counts them up; lb checks \
             every server",
        );
    }
    for member in members.iter().filter(|m| !m.spec.options.check) {
        if !checked.is_empty() {
            report.approximated(
                member.spec.line,
                format!("server {}", member.spec.name),
                "no `check`: HAProxy never checks this server; lb checks it like the others",
            );
        }
    }
    let options = reference.map_or_else(ServerOptions::default, |m| m.spec.options.clone());
    for member in checked.iter().skip(1) {
        if timing(&member.spec.options) != timing(&options) {
            report.approximated(
                member.spec.line,
                format!("server {}", member.spec.name),
                format!(
                    "lb checks every server of a VIP alike: as `{}` (interval, rise, fall, port)",
                    reference.map_or("", |m| m.name.as_str())
                ),
            );
        }
    }
    let interval = options.inter.unwrap_or(Duration::from_secs(2));
    let timeout = back
        .timeouts
        .check
        .map(|at| at.value)
        .filter(|timeout| !timeout.is_zero())
        .unwrap_or(interval);
    Check {
        kind: kind(back, report),
        interval,
        fast_interval: options.fastinter.unwrap_or(interval),
        down_interval: options.downinter.unwrap_or(interval),
        rise: options.rise.unwrap_or(2),
        fall: options.fall.unwrap_or(3),
        timeout,
        port: options.port.or(back.check.connect_port),
        observe_failures: observe(&options, reference, report),
        ..Check::default()
    }
}

/// What lb checks alike on every server.
fn timing(options: &ServerOptions) -> impl PartialEq + use<> {
    (
        options.inter,
        options.fastinter,
        options.downinter,
        options.rise,
        options.fall,
        options.port,
        (
            options.observe,
            options.error_limit,
            options.mark_down_on_error,
        ),
    )
}

fn observe(
    options: &ServerOptions,
    reference: Option<&Member<'_>>,
    report: &mut Report,
) -> Option<u32> {
    if !options.observe {
        return None;
    }
    if options.mark_down_on_error {
        return Some(options.error_limit.unwrap_or(10));
    }
    if let Some(member) = reference {
        report.left_out(
            member.spec.line,
            "observe layer4",
            "lb marks a server down after failed connects (`on-error mark-down`); HAProxy's \
             default `on-error fail-check` has no equivalent",
        );
    }
    None
}

/// The probe.
fn kind(back: &Proxy, report: &mut Report) -> CheckKind {
    let spec = &back.check;
    let Some(probe) = &spec.probe else {
        return CheckKind::Tcp;
    };
    match &probe.value {
        Probe::Http => {
            let http = &spec.http;
            let valid_method =
                !http.method.is_empty() && http.method.bytes().all(|b| b.is_ascii_uppercase());
            let valid_path = http.path.starts_with('/') && http.path.bytes().all(|b| b > b' ');
            let valid_host = http
                .host
                .as_ref()
                .is_none_or(|host| host.bytes().all(|b| b > b' ' && b != 0x7f));
            if !(valid_method && valid_path && valid_host) {
                report.left_out(
                    probe.line,
                    "option httpchk",
                    format!(
                        "`{} {}` is not a request lb can send: servers get a tcp connect check",
                        http.method, http.path
                    ),
                );
                return CheckKind::Tcp;
            }
            let default = HttpCheck::default();
            CheckKind::Http(HttpCheck {
                method: http.method.clone(),
                path: http.path.clone(),
                host: http.host.clone(),
                expect: http.expect.clone().unwrap_or(default.expect),
                body_contains: http.body.clone(),
            })
        }
        Probe::Mysql => CheckKind::Mysql,
        Probe::Redis => CheckKind::Script(vec![
            ScriptStep::Send(b"PING\r\n".to_vec()),
            ScriptStep::Expect(b"+PONG".to_vec()),
        ]),
        Probe::TcpCheck if spec.script_broken.is_none() && !spec.script.is_empty() => {
            CheckKind::Script(spec.script.clone())
        }
        Probe::TcpCheck => CheckKind::Tcp,
        Probe::Unsupported(name) => {
            report.left_out(
                probe.line,
                format!("option {name}"),
                "lb has no such check: servers get a tcp connect check",
            );
            CheckKind::Tcp
        }
    }
}
