//! `lb keepalived -c FILE [--check] [--net-namespace NAME] [--script-user USER]`: prints
//! keepalived.conf for this node of a pair ([`lb_core::cluster::keepalived`] says what it
//! holds).
//!
//! The file is read and validated as `lb check` does (errors on stderr, exit 1; exit 2 when
//! it cannot be read). The output names this `lb` binary and the file's absolute path, as
//! `lb run -c` must then be started with them. It is written for the installed keepalived
//! (`keepalived --version`; 2.2.7 when none is found, with a warning). The health script runs
//! as `--script-user`, by default the user running this command (root under sudo).
//!
//! `--check` first tests the output with `keepalived -t -f` (keepalived's own configuration
//! test, which also wants `interface` to exist here) and prints it only when keepalived
//! accepts it; otherwise keepalived's complaints go to stderr and the exit code is 1, or 2 when
//! keepalived cannot be run.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, ExitCode};

use lb_core::cluster::keepalived::{KeepalivedOptions, KeepalivedVersion, render};

use crate::cli::KeepalivedArgs;

pub(crate) fn run(args: &KeepalivedArgs) -> ExitCode {
    let name = args.config.display().to_string();
    let text = match std::fs::read_to_string(&args.config) {
        Ok(text) => text,
        Err(error) => return fail(2, &format!("cannot read {name}: {error}")),
    };
    let config = match lb_core::config::parse(&name, &text) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    let (lb_binary, config_file) =
        match (std::env::current_exe(), std::path::absolute(&args.config)) {
            (Ok(binary), Ok(file)) => (binary, file),
            (Err(error), _) => return fail(2, &format!("cannot find the lb binary: {error}")),
            (_, Err(error)) => return fail(2, &format!("cannot make {name} absolute: {error}")),
        };
    let version = match installed_version() {
        Some(version) => version,
        None if args.check => return fail(2, "cannot run `keepalived --version`"),
        None => {
            let version = KeepalivedVersion::DEBIAN_12;
            eprintln!("lb: keepalived not found: writing for keepalived {version}");
            version
        }
    };
    let options = KeepalivedOptions {
        lb_binary,
        config_file,
        net_namespace: args.net_namespace.clone(),
        script_user: args.script_user.clone().unwrap_or_else(running_user),
        version,
    };
    let output = match render(&config, &options) {
        Ok(output) => output,
        Err(error) => return fail(1, &format!("{name}: {error}")),
    };
    if args.check {
        if let Err(code) = keepalived_accepts(&output) {
            return code;
        }
    }
    print!("{output}");
    ExitCode::SUCCESS
}

/// The version `keepalived --version` reports (on stderr), if keepalived runs.
fn installed_version() -> Option<KeepalivedVersion> {
    let output = Command::new("keepalived").arg("--version").output().ok()?;
    let banner = [output.stderr, output.stdout].concat();
    KeepalivedVersion::from_banner(&String::from_utf8_lossy(&banner))
}

/// Runs `keepalived -t` on `output` in a file of its own; its complaints go to stderr.
fn keepalived_accepts(output: &str) -> Result<(), ExitCode> {
    let file = std::env::temp_dir().join(format!("lb-keepalived-{}.conf", std::process::id()));
    // A new file only: never write through a link someone left at that name.
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&file)
        .and_then(|mut opened| opened.write_all(output.as_bytes()));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&file);
        let shown = file.display();
        return Err(fail(2, &format!("cannot write {shown}: {error}")));
    }
    let test = Command::new("keepalived")
        .arg("-t")
        .arg("-f")
        .arg(&file)
        .output();
    let _ = std::fs::remove_file(&file);
    let test = test.map_err(|error| fail(2, &format!("cannot run keepalived -t: {error}")))?;
    if test.status.success() {
        return Ok(());
    }
    let complaints = [test.stdout, test.stderr].concat();
    eprint!("{}", String::from_utf8_lossy(&complaints));
    Err(fail(
        1,
        &format!("keepalived -t refused the configuration ({})", test.status),
    ))
}

/// The name of the user running this command, from /etc/passwd; root when it cannot be found.
fn running_user() -> String {
    let uid = std::fs::metadata(Path::new("/proc/self")).map(|meta| meta.uid());
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = uid.ok().and_then(|uid| {
        passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let entry_uid: u32 = fields.nth(1)?.parse().ok()?;
            (entry_uid == uid).then(|| name.to_owned())
        })
    });
    name.unwrap_or_else(|| "root".to_owned())
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("lb: {message}");
    ExitCode::from(code)
}
