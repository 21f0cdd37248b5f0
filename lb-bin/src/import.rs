//! `lb import FILE [--check]`: the lb configuration made of an HAProxy one on stdout, the
//! report on stderr (`FILE:LINE: left out: `CONSTRUCT`: REASON`, then a summary line).
//!
//! Exit 0 when nothing was left out or approximated, 1 when something was (or `--check`
//! found a difference), 2 when the file cannot be read. A file that is not UTF-8 is read
//! with its invalid bytes replaced (they can only matter in comments or values lb refuses).
//! `--check` reads the printed TOML back as `lb check` does and compares each VIP with what
//! the haproxy.cfg says ([`lb_core::import::compare`]).

use std::process::ExitCode;

use lb_core::config::{parse, to_toml};
use lb_core::import::{NoteKind, compare, haproxy};

use crate::cli::ImportArgs;

pub(crate) fn run(args: &ImportArgs) -> ExitCode {
    let name = args.file.display().to_string();
    let bytes = match std::fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("lb: cannot read {name}: {error}");
            return ExitCode::from(2);
        }
    };
    let import = haproxy(&String::from_utf8_lossy(&bytes));
    let toml = to_toml(&import.config);
    let shown: String = name.chars().filter(|c| !c.is_control()).collect();
    print!("# Made by `lb import {shown}`: see its report for what differs from HAProxy.\n{toml}");
    for note in &import.notes {
        eprintln!("{name}:{note}");
    }
    let count = |kind| import.notes.iter().filter(|n| n.kind == kind).count();
    eprintln!(
        "lb import: {} VIPs; {} constructs left out, {} approximated",
        import.config.vips.len(),
        count(NoteKind::LeftOut),
        count(NoteKind::Approximated)
    );
    let mut differences = 0;
    if args.check {
        differences = match parse("the printed configuration", &toml) {
            Ok(config) => {
                let mismatches = compare(&import.expected, &config);
                for mismatch in &mismatches {
                    eprintln!("{name}: check: {mismatch}");
                }
                mismatches.len()
            }
            Err(errors) => {
                eprintln!("{errors}");
                errors.errors.len()
            }
        };
        if differences == 0 {
            eprintln!(
                "lb import: check: every VIP has the listen addresses, servers, weights, \
                 backup flags and persistence {name} gives it"
            );
        }
    }
    if import.notes.is_empty() && differences == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
