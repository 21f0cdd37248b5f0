//! The health state machine under generated event sequences in simulated time, checked
//! against a sliding-window model of the rise/fall rules, plus the messages operators read.

use std::time::Duration;

use lb_core::model::{Check, Health, InitialState};
use lb_health::{CheckFailure, Event, HealthMachine, Transition};
use proptest::prelude::*;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn refused() -> Event {
    Event::Probe(Err(CheckFailure::new("connection refused")))
}

fn passed() -> Event {
    Event::Probe(Ok(()))
}

/// Settings with distinct intervals so that each rule is visible.
fn check(rise: u32, fall: u32, initial: InitialState, observe: Option<u32>) -> Check {
    Check {
        rise,
        fall,
        initial,
        observe_failures: observe,
        interval: ms(2000),
        fast_interval: ms(500),
        down_interval: ms(7000),
        ..Check::default()
    }
}

#[derive(Debug, Clone)]
enum Op {
    Probe(bool),
    Passive(bool),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<bool>().prop_map(Op::Probe),
        2 => any::<bool>().prop_map(Op::Passive),
        1 => (0u64..10_000).prop_map(Op::Wait),
    ]
}

fn settings() -> impl Strategy<Value = Check> {
    (
        1u32..5,
        1u32..6,
        prop_oneof![Just(InitialState::Up), Just(InitialState::Down)],
        proptest::option::of(1u32..5),
        (1u64..3000, 1u64..3000, 1u64..9000),
    )
        .prop_map(
            |(rise, fall, initial, observe, (interval, fast, down))| Check {
                interval: ms(interval),
                fast_interval: ms(fast),
                down_interval: ms(down),
                ..check(rise, fall, initial, observe)
            },
        )
}

/// The rules written as windows over the history since the last transition: a state flips
/// when its last `threshold` results all contradict it.
struct Model {
    check: Check,
    health: Health,
    probes: Vec<bool>,
    passive: Vec<bool>,
}

impl Model {
    fn new(check: &Check) -> Self {
        Model {
            check: check.clone(),
            health: match check.initial {
                InitialState::Up => Health::Up,
                InitialState::Down => Health::Down,
            },
            probes: Vec::new(),
            passive: Vec::new(),
        }
    }

    fn up(&self) -> bool {
        self.health == Health::Up
    }

    /// Results at the end of the probe history that contradict the current state.
    fn contrary_run(&self) -> usize {
        let up = self.up();
        self.probes.iter().rev().take_while(|&&ok| ok != up).count()
    }

    fn flip(&mut self) {
        self.health = if self.up() { Health::Down } else { Health::Up };
        self.probes.clear();
        self.passive.clear();
    }

    /// Whether this probe result flips the state.
    fn probe(&mut self, ok: bool) -> bool {
        self.probes.push(ok);
        let threshold = if self.up() {
            self.check.fall
        } else {
            self.check.rise
        };
        let flips = self.contrary_run() == threshold as usize;
        if flips {
            self.flip();
        }
        flips
    }

    /// Whether this passive report flips the state.
    fn passive(&mut self, ok: bool) -> bool {
        let Some(limit) = self.check.observe_failures else {
            return false;
        };
        if !self.up() {
            return false;
        }
        self.passive.push(ok);
        let failures = self.passive.iter().rev().take_while(|&&ok| !ok).count();
        let flips = failures == limit as usize;
        if flips {
            self.flip();
        }
        flips
    }

    fn interval(&self) -> Duration {
        if self.contrary_run() > 0 {
            self.check.fast_interval
        } else if self.up() {
            self.check.interval
        } else {
            self.check.down_interval
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Under any sequence of probes, passive reports and waits, the machine flips exactly when
    /// `rise` successes or `fall` failures (or the passive count) complete in a row, reports
    /// the model's state at every step, and schedules probes by the interval rules.
    #[test]
    fn transitions_and_schedule_follow_the_rules(check in settings(), ops in prop::collection::vec(op(), 0..200)) {
        let mut now = ms(1_000);
        let mut machine = HealthMachine::new(&check, now);
        let mut model = Model::new(&check);
        prop_assert_eq!(machine.next_check_at(), now, "the first probe is due at once");
        let mut last_probe = None;
        for op in ops {
            let before = machine.health();
            let (transition, expected_flip) = match op {
                Op::Probe(ok) => {
                    let outcome = if ok { Ok(()) } else { Err(CheckFailure(format!("refused at {now:?}"))) };
                    last_probe = Some(now);
                    (machine.on_event(now, Event::Probe(outcome)), model.probe(ok))
                }
                Op::Passive(ok) => {
                    let outcome = if ok { Ok(()) } else { Err(CheckFailure::new("reset by peer")) };
                    (machine.on_event(now, Event::Passive(outcome)), model.passive(ok))
                }
                Op::Wait(millis) => {
                    let due = machine.next_check_at();
                    now += ms(millis);
                    prop_assert_eq!(machine.next_check_at(), due, "time alone changes nothing");
                    (None, false)
                }
            };
            prop_assert_eq!(transition.is_some(), expected_flip);
            prop_assert_eq!(machine.health(), model.health);
            if let Some(Transition { from, to, reason }) = &transition {
                prop_assert_eq!(*from, before);
                prop_assert_eq!(*to, model.health);
                prop_assert!(from != to);
                match op {
                    Op::Probe(true) => prop_assert_eq!(reason, &format!("{0}/{0} successes", check.rise)),
                    Op::Probe(false) => prop_assert_eq!(reason, &format!("{0}/{0} failures: refused at {now:?}", check.fall)),
                    _ => prop_assert!(reason.ends_with("connection failures seen by the proxy: reset by peer")),
                }
            }
            let expected_due = last_probe.map_or(ms(1_000), |at| at + model.interval());
            prop_assert_eq!(machine.next_check_at(), expected_due);
            now += ms(1);
        }
    }

    /// Failures that never come `fall` in a row leave an up server up, however many there are.
    #[test]
    fn isolated_failures_never_take_a_server_down(
        fall in 2u32..6,
        runs in prop::collection::vec(1u32..6, 1..40),
    ) {
        let mut machine = HealthMachine::new(&check(2, fall, InitialState::Up, None), ms(0));
        for (at, run) in runs.into_iter().enumerate() {
            let now = ms(at as u64 * 1000);
            for _ in 0..run.min(fall - 1) {
                prop_assert_eq!(machine.on_event(now, refused()), None);
            }
            prop_assert_eq!(machine.on_event(now, passed()), None);
            prop_assert_eq!(machine.health(), Health::Up);
        }
    }

    /// A server that starts down stays down until exactly `rise` successes in a row.
    #[test]
    fn initial_down_needs_rise_successes(rise in 1u32..8, failures_first in 0u32..4) {
        let mut machine = HealthMachine::new(&check(rise, 3, InitialState::Down, None), ms(0));
        prop_assert_eq!(machine.health(), Health::Down);
        for _ in 0..failures_first {
            prop_assert_eq!(machine.on_event(ms(1), refused()), None);
        }
        for success in 1..=rise {
            let transition = machine.on_event(ms(u64::from(success) * 500), passed());
            prop_assert_eq!(transition.is_some(), success == rise);
            let expected = if success == rise { Health::Up } else { Health::Down };
            prop_assert_eq!(machine.health(), expected);
        }
    }

    /// With `observe_failures = n`, the n-th consecutive connection failure seen by the proxy
    /// takes an up server down at once, and a success in between starts the count over.
    #[test]
    fn passive_failures_take_a_server_down_at_the_configured_count(
        limit in 1u32..6,
        interrupted_after in 0u32..6,
    ) {
        let mut machine = HealthMachine::new(&check(2, 5, InitialState::Up, Some(limit)), ms(0));
        let failure = || Event::Passive(Err(CheckFailure::new("connection refused")));
        for _ in 0..interrupted_after.min(limit - 1) {
            prop_assert_eq!(machine.on_event(ms(1), failure()), None);
        }
        prop_assert_eq!(machine.on_event(ms(1), Event::Passive(Ok(()))), None);
        for count in 1..=limit {
            let transition = machine.on_event(ms(2), failure());
            prop_assert_eq!(transition.is_some(), count == limit);
        }
        prop_assert_eq!(machine.health(), Health::Down);
    }

    /// Driven like the runner drives it (probe when due), a server that dies is marked down
    /// within `interval + (fall - 1) * fast_interval`, and once it recovers it is back up
    /// within `down_interval + (rise - 1) * fast_interval`.
    #[test]
    fn detection_time_is_bounded_by_the_intervals(
        (rise, fall) in (1u32..5, 1u32..6),
        (interval, fast, down) in (100u64..3000, 100u64..3000, 100u64..9000),
        dies_at in 0u64..30_000,
        down_for in 1u64..30_000,
    ) {
        let check = Check {
            interval: ms(interval),
            fast_interval: ms(fast),
            down_interval: ms(down),
            ..check(rise, fall, InitialState::Up, None)
        };
        let (dies_at, recovers_at) = (ms(dies_at), ms(dies_at + down_for));
        let mut machine = HealthMachine::new(&check, ms(0));
        let (mut marked_down, mut marked_up) = (None, None);
        while machine.next_check_at() < recovers_at + ms(60_000) {
            let now = machine.next_check_at();
            let alive = now < dies_at || now >= recovers_at;
            let outcome = if alive { Ok(()) } else { Err(CheckFailure::new("timeout")) };
            match machine.on_event(now, Event::Probe(outcome)) {
                Some(t) if t.to == Health::Down => marked_down = Some(now),
                Some(_) => marked_up = Some(now),
                None => {}
            }
        }
        prop_assert_eq!(machine.health(), Health::Up);
        let fast = check.fast_interval;
        let first_failure_by = dies_at + check.interval;
        if let Some(down) = marked_down {
            prop_assert!(down >= dies_at);
            prop_assert!(down <= first_failure_by + fast * (check.fall - 1));
            let up = marked_up.expect("a recovered server comes back up");
            prop_assert!(up >= recovers_at);
            prop_assert!(up <= recovers_at + check.down_interval + fast * (check.rise - 1));
        } else {
            prop_assert!(
                recovers_at < first_failure_by + fast * (check.fall - 1),
                "a long enough outage is always detected"
            );
        }
    }
}

#[test]
fn the_reason_names_the_count_and_the_last_error() {
    let mut machine = HealthMachine::new(&check(2, 3, InitialState::Up, None), ms(0));
    assert_eq!(machine.on_event(ms(0), refused()), None);
    assert_eq!(machine.on_event(ms(500), refused()), None);
    let last = Event::Probe(Err(CheckFailure::new(
        "HTTP 503 Service Unavailable (expected 200)",
    )));
    assert_eq!(
        machine.on_event(ms(1000), last),
        Some(Transition {
            from: Health::Up,
            to: Health::Down,
            reason: "3/3 failures: HTTP 503 Service Unavailable (expected 200)".to_owned(),
        })
    );
    assert_eq!(machine.on_event(ms(8000), passed()), None);
    assert_eq!(
        machine.on_event(ms(8500), passed()).map(|t| t.reason),
        Some("2/2 successes".to_owned())
    );
}

#[test]
fn the_detail_shows_progress_and_the_last_error() {
    let mut machine = HealthMachine::new(&check(2, 3, InitialState::Down, Some(2)), ms(0));
    assert_eq!(machine.to_string(), "down");
    machine.on_event(ms(0), passed());
    assert_eq!(machine.to_string(), "down, 1/2 successes");
    machine.on_event(ms(500), passed());
    assert_eq!(machine.to_string(), "up");
    machine.on_event(ms(2500), refused());
    assert_eq!(machine.to_string(), "up, 1/3 failures: connection refused");
    machine.on_event(ms(3000), passed());
    assert_eq!(machine.to_string(), "up");
    machine.on_event(
        ms(3100),
        Event::Passive(Err(CheckFailure::new("connection reset"))),
    );
    let transition = machine.on_event(
        ms(3200),
        Event::Passive(Err(CheckFailure::new("connection reset"))),
    );
    assert_eq!(
        transition.map(|t| t.reason),
        Some("2/2 connection failures seen by the proxy: connection reset".to_owned())
    );
    assert_eq!(machine.to_string(), "down: connection reset");
}

#[test]
fn passive_reports_are_ignored_when_observation_is_off() {
    let mut machine = HealthMachine::new(&check(2, 3, InitialState::Up, None), ms(0));
    for _ in 0..100 {
        let failure = Event::Passive(Err(CheckFailure::new("connection refused")));
        assert_eq!(machine.on_event(ms(0), failure), None);
    }
    assert_eq!(machine.health(), Health::Up);
}

#[test]
fn a_reload_keeps_the_health_and_restarts_the_counts() {
    let mut machine = HealthMachine::new(&check(2, 3, InitialState::Up, None), ms(0));
    for at in 0..3 {
        machine.on_event(ms(at), refused());
    }
    assert_eq!(machine.health(), Health::Down);
    machine.on_event(ms(10), passed());
    machine.reconfigure(&check(3, 3, InitialState::Up, None));
    assert_eq!(
        machine.health(),
        Health::Down,
        "a reload does not reset health to the initial state"
    );
    assert_eq!(machine.on_event(ms(20), passed()), None);
    assert_eq!(machine.on_event(ms(30), passed()), None);
    assert!(
        machine.on_event(ms(40), passed()).is_some(),
        "the new rise of 3 applies"
    );
    assert_eq!(machine.next_check_at(), ms(40) + ms(2000));
}
