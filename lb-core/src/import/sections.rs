//! The sections of a haproxy.cfg: `global`, `defaults`, `frontend`, `backend` and `listen`,
//! each with its header and the lines up to the next section.
//!
//! Every other section (`peers`, `userlist`, `resolvers`, `cache`, ...) is noted as left out
//! once, at its header, with its lines. Lines that cannot be read, lines before the first
//! section and HAProxy's conditional blocks (`.if` ... `.endif`, left out whole: the importer
//! evaluates no condition) are noted too. `listen NAME ADDRESS` (the old form) reads as a
//! `listen NAME` with a `bind ADDRESS` line; `from NAME` names the `defaults` section a proxy
//! inherits (otherwise the last `defaults` before it).

use super::lexer::{LexError, Line};
use super::report::Report;

/// Which kind of section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Process-wide settings.
    Global,
    /// Settings inherited by the proxies after it.
    Defaults,
    /// Accepts clients and hands them to a backend.
    Frontend,
    /// Servers and how they are picked.
    Backend,
    /// A frontend and its backend in one.
    Listen,
}

/// One section and its lines.
#[derive(Debug, Clone)]
pub(super) struct Section {
    /// Which kind.
    pub(super) kind: Kind,
    /// Its name (`""` for `global` and an unnamed `defaults`).
    pub(super) name: String,
    /// The header line.
    pub(super) header: Line,
    /// The `defaults` section named by `from`, if any.
    pub(super) from: Option<String>,
    /// The directives, in order.
    pub(super) body: Vec<Line>,
}

/// Sections HAProxy has and lb does not, with the reason.
const LEFT_OUT: [(&str, &str); 14] = [
    ("userlist", "lb has no HTTP authentication"),
    (
        "peers",
        "lb replicates persistence between the two nodes of a pair itself: see [cluster]",
    ),
    (
        "resolvers",
        "lb resolves no names: servers need IP addresses",
    ),
    ("mailers", "lb sends no mail: alert on its logs or metrics"),
    ("program", "lb starts no programs"),
    ("http-errors", "lb answers errors with its own pages"),
    ("ring", "lb logs to stderr"),
    ("log-forward", "lb forwards no logs"),
    ("cache", "lb caches no responses"),
    ("fcgi-app", "lb speaks no FastCGI"),
    (
        "crt-store",
        "lb reads certificates from the files each VIP names",
    ),
    ("traces", "lb has no trace buffers"),
    ("acme", "lb requests no certificates"),
    ("namespace_list", "lb runs in one network namespace"),
];

/// Splits the lines into sections, noting what is left out.
pub(super) fn split(lines: Vec<Result<Line, LexError>>, report: &mut Report) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    // Inside a section that is left out: its lines go with it.
    let mut skipping = false;
    // Nesting depth of the `.if` block being left out.
    let mut conditional = 0_usize;
    for line in lines {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                unreadable(&error, &mut skipping, &mut conditional, report);
                continue;
            }
        };
        let keyword = line.word(0);
        if conditional > 0 {
            match keyword {
                ".if" => conditional += 1,
                ".endif" => conditional -= 1,
                _ => {}
            }
            continue;
        }
        if keyword.starts_with('.') {
            if keyword == ".if" {
                conditional = 1;
                report.left_out(
                    line.number,
                    line.text,
                    "a conditional block: the importer evaluates no condition, so the block's \
                     lines up to its `.endif` are left out",
                );
            } else {
                report.left_out(line.number, line.text, "a directive for HAProxy's startup");
            }
            continue;
        }
        match header(&line, report) {
            Header::Open(section) => {
                skipping = false;
                sections.push(section);
                continue;
            }
            Header::LeftOut => {
                skipping = true;
                continue;
            }
            Header::None => {}
        }
        if let Some((_, reason)) = LEFT_OUT.iter().find(|(name, _)| *name == keyword) {
            skipping = true;
            report.left_out(
                line.number,
                line.text,
                format!("the whole section: {reason}"),
            );
            continue;
        }
        match sections.last_mut() {
            _ if skipping => {}
            Some(section) => section.body.push(line),
            None => report.left_out(line.number, line.text, "outside any section"),
        }
    }
    sections
}

/// Notes a line that cannot be read; one that opens a section or a conditional block takes
/// the lines up to the next section (or the block's end) with it.
fn unreadable(error: &LexError, skipping: &mut bool, conditional: &mut usize, report: &mut Report) {
    let keyword = error.text.split_whitespace().next().unwrap_or("");
    let opens_section = ["global", "defaults", "frontend", "backend", "listen"].contains(&keyword)
        || LEFT_OUT.iter().any(|(name, _)| *name == keyword);
    let what = if *conditional > 0 {
        return;
    } else if keyword == ".if" {
        *conditional = 1;
        "; the conditional block up to its `.endif` goes with it"
    } else if opens_section {
        *skipping = true;
        "; the whole section goes with it"
    } else {
        ""
    };
    report.left_out(
        error.number,
        error.text.clone(),
        format!("{}{what}", error.reason),
    );
}

/// What a line is to [`split`].
enum Header {
    /// It opens a section the importer reads.
    Open(Section),
    /// It opens a section that is left out (and noted).
    LeftOut,
    /// It is no section header of the importer's.
    None,
}

/// The section `line` opens, if it is a section header the importer reads.
fn header(line: &Line, report: &mut Report) -> Header {
    let kind = match line.word(0) {
        "global" => Kind::Global,
        "defaults" => Kind::Defaults,
        "frontend" => Kind::Frontend,
        "backend" => Kind::Backend,
        "listen" => Kind::Listen,
        _ => return Header::None,
    };
    let mut section = Section {
        kind,
        name: String::new(),
        header: line.clone(),
        from: None,
        body: Vec::new(),
    };
    let mut rest = &line.words[1..];
    if kind == Kind::Global {
        if !rest.is_empty() {
            report.left_out(line.number, line.text.clone(), "`global` takes no argument");
        }
        return Header::Open(section);
    }
    match rest.first() {
        Some(name) if name != "from" => {
            section.name = name.clone();
            rest = &rest[1..];
        }
        _ if kind == Kind::Defaults => {}
        _ => {
            report.left_out(
                line.number,
                line.text.clone(),
                "the whole section: a proxy needs a name (HAProxy refuses it too)",
            );
            return Header::LeftOut;
        }
    }
    match rest {
        [] => {}
        [from, name] if from == "from" => section.from = Some(name.clone()),
        [address] if kind == Kind::Listen => section.body.push(Line {
            number: line.number,
            words: vec!["bind".to_owned(), address.clone()],
            text: line.text.clone(),
        }),
        _ => report.left_out(
            line.number,
            line.text.clone(),
            "unexpected words after the section's name",
        ),
    }
    Header::Open(section)
}
