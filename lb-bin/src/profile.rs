//! `lb profile openstack ...`: prints the OpenStack profile as a configuration file that
//! `lb check` accepts; exit 2 when the controllers cannot make a profile.

use std::process::ExitCode;

use lb_core::profile::{OpenstackInput, openstack};

use crate::cli::{Profile, ProfileArgs};

pub(crate) fn run(args: &ProfileArgs) -> ExitCode {
    let Profile::Openstack(args) = &args.profile;
    let input = OpenstackInput {
        port_offset: args.port_offset,
        redis_password: args.redis_password.clone(),
        transparent: args.transparent,
        ..OpenstackInput::new(args.vip, args.controllers.clone())
    };
    match openstack(&input) {
        Ok(config) => {
            print!("{}", lb_core::config::to_toml(&config));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("lb: {error}");
            ExitCode::from(2)
        }
    }
}
