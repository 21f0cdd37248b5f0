//! Pure health logic of `lb`: the per-server rise/fall state machine and the check protocols as
//! codecs over bytes. No I/O and no clock: `now` is an argument.
//!
//! - [`HealthMachine`]: feed it probe results and the proxy's connection outcomes with the
//!   current time; it answers with [`Transition`]s and says when the next probe is due.
//! - [`probe_for`]: the [`Probe`] codec of a check (TCP, HTTP, Redis, MySQL, send/expect script)
//!   for one server; [`check_address`] says where to connect.
//!
//! The I/O runner (in `lb-proxy`) connects, times out, moves bytes and sleeps; nothing here does.
//!
//! ```
//! use std::time::Duration;
//! use lb_core::model::{Check, CheckKind, Health, InitialState};
//! use lb_health::{Event, HealthMachine, Step, probe_for};
//!
//! // A Galera node that must prove itself before it gets traffic.
//! let check = Check { kind: CheckKind::Mysql, initial: InitialState::Down, rise: 1, ..Check::default() };
//! let mut machine = HealthMachine::new(&check, Duration::ZERO);
//! assert_eq!(machine.next_check_at(), Duration::ZERO);
//!
//! // At that time the runner connects and plays the probe.
//! let mut probe = probe_for(&check, "192.0.2.11:3306".parse().unwrap());
//! assert_eq!(probe.start(), Step::NeedMore);
//! let greeting = b"\x09\x00\x00\x00\x0a10.11.6\x00";
//! assert_eq!(probe.on_bytes(&greeting[..3]), Step::NeedMore);
//! let Step::Done(outcome) = probe.on_bytes(&greeting[3..]) else { panic!("a verdict") };
//!
//! let now = Duration::from_millis(4);
//! let transition = machine.on_event(now, Event::Probe(outcome)).expect("1/1 successes");
//! assert_eq!((transition.to, transition.reason.as_str()), (Health::Up, "1/1 successes"));
//! assert_eq!(machine.next_check_at(), now + check.interval);
//! ```

mod machine;
mod probe;

pub use machine::{Event, HealthMachine, Transition};
pub use probe::{CheckFailure, MAX_RESPONSE_BYTES, Outcome, Probe, Step, check_address, probe_for};
