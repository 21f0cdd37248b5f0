//! The TCP connect check: a connection that completes in time is a success; nothing is sent
//! and nothing is awaited.

use super::{Outcome, Probe, Step};

/// Passes as soon as it is started, i.e. once connected.
pub(super) struct ConnectProbe;

impl Probe for ConnectProbe {
    fn start(&mut self) -> Step {
        Step::Done(Ok(()))
    }

    fn on_bytes(&mut self, _bytes: &[u8]) -> Step {
        Step::Done(Ok(()))
    }

    fn on_eof(&mut self) -> Outcome {
        Ok(())
    }
}
