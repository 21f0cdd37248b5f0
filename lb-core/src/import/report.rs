//! The import report: one [`Note`] per construct of the haproxy.cfg that the lb configuration
//! leaves out or carries only approximately, with its line and the reason.
//!
//! A directive inherited from a `defaults` section is noted once, at its own line, however
//! many proxies inherit it. Notes come out in line order.

use std::collections::HashSet;
use std::fmt;

/// Whether a construct is missing from the output or changed on the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoteKind {
    /// lb has no equivalent: the construct has no effect on the output.
    LeftOut,
    /// Imported, but lb behaves somewhat differently (the reason says how).
    Approximated,
}

impl NoteKind {
    /// `left out` or `approximated`.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::LeftOut => "left out",
            NoteKind::Approximated => "approximated",
        }
    }
}

/// One entry of the report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Note {
    /// The line of the haproxy.cfg, from 1.
    pub line: usize,
    /// Left out or approximated.
    pub kind: NoteKind,
    /// The construct as written (a whole directive, or the part of a line concerned).
    pub construct: String,
    /// Why, and what lb does instead.
    pub reason: String,
}

impl fmt::Display for Note {
    /// `LINE: left out: `CONSTRUCT`: REASON`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: `{}`: {}",
            self.line,
            self.kind.as_str(),
            self.construct,
            self.reason
        )
    }
}

/// The notes gathered while importing.
#[derive(Debug, Default)]
pub(super) struct Report {
    notes: Vec<Note>,
    seen: HashSet<Note>,
}

impl Report {
    /// Notes `construct` (at `line`) as left out.
    pub(super) fn left_out(
        &mut self,
        line: usize,
        construct: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.push(line, NoteKind::LeftOut, construct.into(), reason.into());
    }

    /// Notes `construct` (at `line`) as approximated.
    pub(super) fn approximated(
        &mut self,
        line: usize,
        construct: impl Into<String>,
        reason: impl Into<String>,
    ) {
        self.push(
            line,
            NoteKind::Approximated,
            construct.into(),
            reason.into(),
        );
    }

    fn push(&mut self, line: usize, kind: NoteKind, construct: String, reason: String) {
        let note = Note {
            line,
            kind,
            construct,
            reason,
        };
        if self.seen.insert(note.clone()) {
            self.notes.push(note);
        }
    }

    /// The notes, in line order (notes of one line in the order they were made).
    pub(super) fn finish(mut self) -> Vec<Note> {
        self.notes.sort_by_key(|note| note.line);
        self.notes
    }
}
