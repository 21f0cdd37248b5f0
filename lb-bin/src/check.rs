//! `lb check -c FILE`: `ok` and exit 0, or every error on its own line and exit 1; exit 2 when
//! the file cannot be read.

use std::process::ExitCode;

use crate::cli::CheckArgs;

pub(crate) fn run(args: &CheckArgs) -> ExitCode {
    let name = args.config.display().to_string();
    let text = match std::fs::read_to_string(&args.config) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("lb: cannot read {name}: {error}");
            return ExitCode::from(2);
        }
    };
    match lb_core::config::parse(&name, &text) {
        Ok(_) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(errors) => {
            println!("{errors}");
            ExitCode::FAILURE
        }
    }
}
