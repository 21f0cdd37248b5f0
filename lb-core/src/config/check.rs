//! A VIP's `check` table: the probe kind with its own keys, and the timing keys every kind
//! shares (which `[defaults] check` may set for all VIPs).
//!
//! Defaults: kind `tcp`; the timing of [`crate::model::Check::default`], with
//! `fast_interval` and `down_interval` following `interval` unless set. An `http` check sends
//! `GET /` and expects 2xx or 3xx; `expect` takes `"200"`, `"2xx"`, `"200-499"`, a number, or a
//! list of those. A `script` check's `steps` are `{ send = "..." }` and `{ expect = "..." }`
//! tables, in order.

use super::reader::{Field, Layered, Reader, Table, U32};
use crate::model::{Check, CheckKind, HttpCheck, InitialState, ScriptStep, StatusRange};

/// The keys every kind shares.
const TIMING_KEYS: [&str; 9] = [
    "interval",
    "fast_interval",
    "down_interval",
    "rise",
    "fall",
    "timeout",
    "port",
    "initial",
    "observe_failures",
];

/// The check kinds, in documentation order.
const KINDS: [&str; 5] = ["tcp", "http", "mysql", "redis", "script"];

/// Both initial states, in documentation order.
const INITIAL_STATES: [InitialState; 2] = [InitialState::Up, InitialState::Down];

/// Stands for a status range that could not be read.
const UNREADABLE_RANGE: StatusRange = StatusRange {
    low: 200,
    high: 399,
};

/// The keys of one kind, beside `kind` and the timing keys.
fn kind_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "http" => &["path", "expect", "method", "host", "body"],
        "redis" => &["password"],
        "script" => &["steps"],
        _ => &[],
    }
}

/// The kind that owns `key`, if one does.
fn owner_of(key: &str) -> Option<&'static str> {
    KINDS
        .into_iter()
        .find(|kind| kind_keys(kind).contains(&key))
}

/// The name of an initial state in files.
pub(super) fn initial_name(state: InitialState) -> &'static str {
    match state {
        InitialState::Up => "up",
        InitialState::Down => "down",
    }
}

/// `[defaults] check`: the timing keys only.
pub(super) fn defaults_table<'a>(reader: &mut Reader, field: &Field<'a>) -> Option<Table<'a>> {
    let table = reader.any_table(field)?;
    reader.known_keys(&table, &TIMING_KEYS, |key| {
        (key == "kind" || owner_of(key).is_some())
            .then(|| format!("`{key}` cannot be set in [defaults]; set it in each VIP's check"))
    });
    Some(table)
}

/// A VIP's check: its own table over the defaults' timing keys; model path `target`.
pub(super) fn read(
    reader: &mut Reader,
    own: Option<Field<'_>>,
    defaults: Option<Table<'_>>,
    target: String,
) -> Check {
    let own = own.and_then(|field| reader.any_table(&field));
    let kind = match own.as_ref().and_then(|table| table.get("kind")) {
        Some(field) => reader.choice(&field, "check kind", &KINDS, |kind| kind),
        None => Some("tcp"),
    };
    if let Some(table) = &own {
        let mut known = TIMING_KEYS.to_vec();
        known.push("kind");
        match kind {
            Some(kind) => known.extend(kind_keys(kind)),
            None => KINDS.iter().for_each(|kind| known.extend(kind_keys(kind))),
        }
        reader.known_keys(table, &known, |key| {
            let owner = owner_of(key)?;
            Some(format!(
                "`{key}` applies to {owner} checks, not to {} checks",
                kind.unwrap_or("tcp")
            ))
        });
    }
    let mut check = Check {
        kind: own
            .as_ref()
            .map_or(CheckKind::Tcp, |table| probe(reader, table, kind)),
        ..Check::default()
    };
    timing(
        reader,
        &Layered {
            own,
            defaults,
            target,
        },
        &mut check,
    );
    check
}

fn probe(reader: &mut Reader, table: &Table<'_>, kind: Option<&str>) -> CheckKind {
    match kind {
        Some("http") => CheckKind::Http(http(reader, table)),
        Some("mysql") => CheckKind::Mysql,
        Some("redis") => CheckKind::Redis {
            password: table
                .get("password")
                .and_then(|field| reader.string(&field)),
        },
        Some("script") => CheckKind::Script(script(reader, table)),
        _ => CheckKind::Tcp,
    }
}

fn timing(reader: &mut Reader, layered: &Layered<'_>, check: &mut Check) {
    reader.set(
        layered.get("interval"),
        &mut check.interval,
        Reader::duration,
    );
    check.fast_interval = check.interval;
    check.down_interval = check.interval;
    for (key, slot) in [
        ("fast_interval", &mut check.fast_interval),
        ("down_interval", &mut check.down_interval),
        ("timeout", &mut check.timeout),
    ] {
        reader.set(layered.get(key), slot, Reader::duration);
    }
    for (key, slot) in [("rise", &mut check.rise), ("fall", &mut check.fall)] {
        reader.set(layered.get(key), slot, |reader, field| {
            reader.integer(field, U32)
        });
    }
    check.port = layered
        .get("port")
        .and_then(|field| reader.integer(&field, 1..=u64::from(u16::MAX)));
    reader.set(
        layered.get("initial"),
        &mut check.initial,
        |reader, field| reader.choice(field, "initial state", &INITIAL_STATES, initial_name),
    );
    check.observe_failures = layered
        .get("observe_failures")
        .and_then(|field| reader.integer(&field, U32));
}

fn http(reader: &mut Reader, table: &Table<'_>) -> HttpCheck {
    let mut http = HttpCheck::default();
    reader.set(table.get("method"), &mut http.method, Reader::string);
    reader.set(table.get("path"), &mut http.path, Reader::string);
    http.host = table.get("host").and_then(|field| reader.string(&field));
    http.body_contains = table.get("body").and_then(|field| reader.string(&field));
    if let Some(field) = table.get("expect") {
        http.expect = reader
            .one_or_many(&field)
            .iter()
            .map(|item| status_range(reader, item).unwrap_or(UNREADABLE_RANGE))
            .collect();
    }
    http
}

fn status_range(reader: &mut Reader, field: &Field<'_>) -> Option<StatusRange> {
    if field.type_name() == "integer" {
        let status = reader.integer(field, 100..=599)?;
        return Some(StatusRange {
            low: status,
            high: status,
        });
    }
    reader.parsed(field, |text| {
        StatusRange::parse(text).ok_or_else(|| {
            format!("`{text}` is not a status or range (e.g. \"200\", \"2xx\", \"200-499\")")
        })
    })
}

fn script(reader: &mut Reader, table: &Table<'_>) -> Vec<ScriptStep> {
    let Some(field) = reader.require(table, "steps") else {
        return Vec::new();
    };
    let steps = reader.array(&field).unwrap_or_default();
    steps
        .iter()
        .filter_map(|field| {
            let step = reader.table(field, &["send", "expect"])?;
            match (step.get("send"), step.get("expect")) {
                (Some(send), None) => reader
                    .string(&send)
                    .map(|text| ScriptStep::Send(text.into())),
                (None, Some(expect)) => reader
                    .string(&expect)
                    .map(|text| ScriptStep::Expect(text.into())),
                _ => {
                    let message = "a step is either { send = \"...\" } or { expect = \"...\" }";
                    reader.fail(field, message.to_owned());
                    None
                }
            }
        })
        .collect()
}
