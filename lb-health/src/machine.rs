//! The per-server health state machine: rise/fall thresholds, probe scheduling and passive
//! observation. It is fed events with the current time and answers with transitions; it does
//! no I/O and reads no clock, so the I/O runner only sleeps until [`HealthMachine::next_check_at`].
//!
//! Rules (the numbers come from the VIP's [`Check`]; see its defaults):
//! - A server starts in `check.initial`; its first probe is due at once.
//! - An up server goes down after `fall` consecutive failed probes; a success clears the count.
//! - A down server comes up after `rise` consecutive successful probes; a failure clears the
//!   count. `InitialState::Down` therefore means "down until `rise` successes".
//! - Probes are spaced from the completion of the last one: `fast_interval` while a transition
//!   is under way (some failures of an up server, some successes of a down one),
//!   `down_interval` while down with no success yet, `interval` otherwise.
//! - Passive observation (`observe_failures = Some(n)`): `n` consecutive connection failures
//!   reported by the proxy take an up server down at once; a reported success clears the count.
//!   Passive reports never bring a server up and are ignored while it is down.
//! - Thresholds of 0 (which configuration validation rejects) behave as 1.
//!
//! Admin states (ready, drain, maintenance) are not health: they live in the pool.

use std::fmt;
use std::time::Duration;

use lb_core::model::{Check, Health, InitialState};

use crate::probe::{CheckFailure, Outcome};

/// What the machine is told about a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An active probe completed (a timeout is a failure).
    Probe(Outcome),
    /// The proxy opened a connection to the server (`Ok`) or failed to (`Err`).
    Passive(Outcome),
}

/// A change of health, with the reason to log and show to operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// Health before the event.
    pub from: Health,
    /// Health after the event.
    pub to: Health,
    /// Why, e.g. `5/5 failures: connection refused` or `2/2 successes`.
    pub reason: String,
}

/// The thresholds and intervals a machine applies, taken from a [`Check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Thresholds {
    rise: u32,
    fall: u32,
    passive_fall: Option<u32>,
    interval: Duration,
    fast_interval: Duration,
    down_interval: Duration,
}

impl Thresholds {
    fn of(check: &Check) -> Self {
        Thresholds {
            rise: check.rise.max(1),
            fall: check.fall.max(1),
            passive_fall: check.observe_failures.map(|n| n.max(1)),
            interval: check.interval,
            fast_interval: check.fast_interval,
            down_interval: check.down_interval,
        }
    }
}

/// The health of one server, driven by probe results and passive reports.
#[derive(Debug, Clone)]
pub struct HealthMachine {
    thresholds: Thresholds,
    health: Health,
    /// Consecutive probe results contrary to `health` (failures while up, successes while down).
    streak: u32,
    /// Consecutive connection failures reported by the proxy while up.
    passive_failures: u32,
    last_failure: Option<CheckFailure>,
    created_at: Duration,
    probed_at: Option<Duration>,
}

impl HealthMachine {
    /// A machine for one server checked with `check`, created at `now`.
    pub fn new(check: &Check, now: Duration) -> Self {
        HealthMachine {
            thresholds: Thresholds::of(check),
            health: match check.initial {
                InitialState::Up => Health::Up,
                InitialState::Down => Health::Down,
            },
            streak: 0,
            passive_failures: 0,
            last_failure: None,
            created_at: now,
            probed_at: None,
        }
    }

    /// Applies new settings (a reload) without forgetting the server's health; counts in
    /// progress start over under the new thresholds.
    pub fn reconfigure(&mut self, check: &Check) {
        self.thresholds = Thresholds::of(check);
        self.streak = 0;
        self.passive_failures = 0;
    }

    /// What checks currently say of the server.
    pub fn health(&self) -> Health {
        self.health
    }

    /// When the next probe is due: at creation for the first one, then the last probe's
    /// completion plus the interval of the current phase.
    pub fn next_check_at(&self) -> Duration {
        match self.probed_at {
            None => self.created_at,
            Some(at) => at.saturating_add(self.current_interval()),
        }
    }

    /// Feeds one event that happened at `now`; returns the transition it caused, if any.
    pub fn on_event(&mut self, now: Duration, event: Event) -> Option<Transition> {
        let transition = match event {
            Event::Probe(outcome) => {
                self.probed_at = Some(now);
                self.on_probe(outcome)
            }
            Event::Passive(outcome) => self.on_passive(outcome),
        };
        debug_assert!(
            self.streak < self.needed(),
            "a complete streak must flip the state"
        );
        debug_assert!(
            self.thresholds
                .passive_fall
                .is_none_or(|fall| self.passive_failures < fall),
            "a complete passive count must take the server down"
        );
        transition
    }

    fn on_probe(&mut self, outcome: Outcome) -> Option<Transition> {
        let succeeded = outcome.is_ok();
        if succeeded == (self.health == Health::Up) {
            self.streak = 0;
        } else {
            self.streak += 1;
        }
        let needed = self.needed();
        let reason = (self.streak == needed).then(|| match &outcome {
            Ok(()) => format!("{needed}/{needed} successes"),
            Err(failure) => format!("{needed}/{needed} failures: {failure}"),
        });
        if let Err(failure) = outcome {
            self.last_failure = Some(failure);
        }
        reason.map(|reason| self.flip(reason))
    }

    fn on_passive(&mut self, outcome: Outcome) -> Option<Transition> {
        let fall = self.thresholds.passive_fall?;
        if self.health == Health::Down {
            return None;
        }
        match outcome {
            Ok(()) => {
                self.passive_failures = 0;
                None
            }
            Err(failure) => {
                self.passive_failures += 1;
                if self.passive_failures < fall {
                    return None;
                }
                let reason =
                    format!("{fall}/{fall} connection failures seen by the proxy: {failure}");
                self.last_failure = Some(failure);
                Some(self.flip(reason))
            }
        }
    }

    fn flip(&mut self, reason: String) -> Transition {
        let from = self.health;
        self.health = match from {
            Health::Up => Health::Down,
            Health::Down => Health::Up,
        };
        self.streak = 0;
        self.passive_failures = 0;
        if self.health == Health::Up {
            self.last_failure = None;
        }
        Transition {
            from,
            to: self.health,
            reason,
        }
    }

    /// Consecutive contrary results that flip the current state.
    fn needed(&self) -> u32 {
        match self.health {
            Health::Up => self.thresholds.fall,
            Health::Down => self.thresholds.rise,
        }
    }

    fn current_interval(&self) -> Duration {
        if self.streak > 0 {
            self.thresholds.fast_interval
        } else if self.health == Health::Down {
            self.thresholds.down_interval
        } else {
            self.thresholds.interval
        }
    }
}

/// The health detail shown to operators: `up`, `up, 2/5 failures: connection refused`,
/// `down: HTTP 503 Service Unavailable (expected 200)` or `down, 1/2 successes`.
impl fmt::Display for HealthMachine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.health {
            Health::Up => f.write_str("up")?,
            Health::Down => f.write_str("down")?,
        }
        if self.streak > 0 {
            let what = match self.health {
                Health::Up => "failures",
                Health::Down => "successes",
            };
            write!(f, ", {}/{} {what}", self.streak, self.needed())?;
        }
        // The last failure explains a failing streak of an up server, or a down server that
        // has not started to recover.
        let failing = match self.health {
            Health::Up => self.streak > 0,
            Health::Down => self.streak == 0,
        };
        match &self.last_failure {
            Some(failure) if failing => write!(f, ": {failure}"),
            _ => Ok(()),
        }
    }
}
