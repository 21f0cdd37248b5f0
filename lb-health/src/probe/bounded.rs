//! The guard every probe runs inside: it caps what a probe reads at [`MAX_RESPONSE_BYTES`] in
//! total, and remembers the verdict so that calls after it repeat it.

use super::{CheckFailure, MAX_RESPONSE_BYTES, Outcome, Probe, Step};

/// A probe that reads at most [`MAX_RESPONSE_BYTES`] and keeps its verdict.
pub(super) struct Bounded<P> {
    inner: P,
    received: usize,
    verdict: Option<Outcome>,
}

impl<P: Probe> Bounded<P> {
    pub(super) fn new(inner: P) -> Self {
        Bounded {
            inner,
            received: 0,
            verdict: None,
        }
    }

    fn keep(&mut self, step: Step) -> Step {
        match &step {
            Step::Done(outcome) => self.verdict = Some(outcome.clone()),
            Step::SendAndPass(_) => self.verdict = Some(Ok(())),
            Step::NeedMore | Step::Send(_) => {}
        }
        step
    }
}

impl<P: Probe> Probe for Bounded<P> {
    fn start(&mut self) -> Step {
        if let Some(verdict) = &self.verdict {
            return Step::Done(verdict.clone());
        }
        let step = self.inner.start();
        self.keep(step)
    }

    fn on_bytes(&mut self, bytes: &[u8]) -> Step {
        if let Some(verdict) = &self.verdict {
            return Step::Done(verdict.clone());
        }
        let room = MAX_RESPONSE_BYTES - self.received;
        let (allowed, beyond) = bytes.split_at(bytes.len().min(room));
        self.received += allowed.len();
        let step = if allowed.is_empty() {
            Step::NeedMore
        } else {
            self.inner.on_bytes(allowed)
        };
        let step = match step {
            Step::NeedMore | Step::Send(_) if !beyond.is_empty() => Step::Done(Err(CheckFailure(
                format!("no verdict in the first {MAX_RESPONSE_BYTES} bytes of the response"),
            ))),
            step => step,
        };
        debug_assert!(self.received <= MAX_RESPONSE_BYTES);
        self.keep(step)
    }

    fn on_eof(&mut self) -> Outcome {
        if let Some(verdict) = &self.verdict {
            return verdict.clone();
        }
        let outcome = self.inner.on_eof();
        self.verdict = Some(outcome.clone());
        outcome
    }
}
