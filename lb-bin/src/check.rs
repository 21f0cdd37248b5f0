//! `lb check -c FILE`: `ok` and exit 0, or every error on its own line and exit 1; exit 2 when
//! the file cannot be read. A valid file whose VIPs use `source = "client"` gets a note after
//! `ok`, naming those VIPs and the routing that transparent proxying needs (it cannot be
//! checked from the file).

use std::process::ExitCode;

use lb_core::model::{Config, Source};

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
        Ok(config) => {
            println!("ok");
            if let Some(note) = transparency_note(&config) {
                println!("{note}");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            println!("{errors}");
            ExitCode::FAILURE
        }
    }
}

/// The reminder printed when any VIP connects from its clients' addresses.
fn transparency_note(config: &Config) -> Option<String> {
    let names: Vec<&str> = config
        .vips
        .iter()
        .filter(|vip| vip.source == Some(Source::Client))
        .map(|vip| vip.name.as_str())
        .collect();
    if names.is_empty() {
        return None;
    }
    Some(format!(
        "note: source = \"client\" on {}: lb connects to their servers from the clients' \
         addresses (TPROXY), which needs\n\
         - CAP_NET_ADMIN for lb (root, or AmbientCapabilities=CAP_NET_ADMIN): `lb run` refuses \
         to start without it;\n\
         - on the servers, a route to the clients through lb (their default gateway);\n\
         - on lb, the replies delivered to lb rather than forwarded: `ip rule add fwmark 1 \
         lookup 100`, `ip route add local 0.0.0.0/0 dev lo table 100` and the mangle table's \
         DIVERT chain (`iptables -t mangle -A PREROUTING -p tcp -m socket --transparent -j \
         DIVERT`, marking 1); `ip -6 rule`, `ip -6 route add local ::/0` and ip6tables for IPv6.\n\
         Without them every connect times out. See the README, \"Transparent proxying\".",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_core::model::Vip;

    #[test]
    fn the_note_names_the_transparent_vips_and_the_routing() {
        let vip = |name: &str, source| {
            let mut vip = Vip::new(name, "192.0.2.10:80".parse().unwrap());
            vip.source = source;
            vip
        };
        let mut config = Config {
            vips: vec![
                vip("plain", None),
                vip("fixed", Some(Source::Address("192.0.2.1".parse().unwrap()))),
            ],
            ..Config::default()
        };
        assert_eq!(transparency_note(&config), None);
        config.vips.push(vip("keystone", Some(Source::Client)));
        config.vips.push(vip("nova", Some(Source::Client)));
        let note = transparency_note(&config).unwrap();
        assert!(
            note.starts_with("note: source = \"client\" on keystone, nova:"),
            "{note}"
        );
        for needed in [
            "CAP_NET_ADMIN",
            "ip rule add fwmark 1 lookup 100",
            "ip route add local 0.0.0.0/0 dev lo table 100",
            "-m socket --transparent -j DIVERT",
            "ip6tables",
        ] {
            assert!(note.contains(needed), "{needed}: {note}");
        }
    }
}
