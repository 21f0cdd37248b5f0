//! The send/expect script check: steps run in order; `Send` writes its bytes (consecutive
//! sends go out together), `Expect` waits until its bytes appear in what arrived after the
//! previous match (or since the start). The check passes when the last step is done; a script
//! ending with `Send` writes it and passes at once. An empty script passes once connected,
//! like a TCP check.
//!
//! Bytes after a match are kept for the next `Expect`, even across a `Send`: the server may
//! still be finishing the previous answer when the next request goes out, so dropping them
//! would make the verdict depend on how the network cut the stream. Write each `Expect` so that
//! it cannot match the tail of the previous answer.

use lb_core::model::ScriptStep;

use super::find::find_end;
use super::{CheckFailure, Outcome, Probe, Step, quoted};

/// One script check conversation.
pub(super) struct ScriptProbe {
    steps: Vec<ScriptStep>,
    next: usize,
    received: Vec<u8>,
    /// How much of `received` was searched for the current `Expect` without success.
    searched: usize,
}

impl ScriptProbe {
    pub(super) fn new(steps: &[ScriptStep]) -> Self {
        ScriptProbe {
            steps: steps.to_vec(),
            next: 0,
            received: Vec::new(),
            searched: 0,
        }
    }

    /// Runs the steps that can run with what has arrived.
    fn advance(&mut self) -> Step {
        let mut outgoing = Vec::new();
        while let Some(step) = self.steps.get(self.next) {
            match step {
                ScriptStep::Send(bytes) => outgoing.extend_from_slice(bytes),
                ScriptStep::Expect(needle) => match find_end(&self.received, needle, self.searched)
                {
                    Some(end) => {
                        self.received.drain(..end);
                        self.searched = 0;
                    }
                    None => {
                        self.searched = self.received.len();
                        return if outgoing.is_empty() {
                            Step::NeedMore
                        } else {
                            Step::Send(outgoing)
                        };
                    }
                },
            }
            self.next += 1;
        }
        if outgoing.is_empty() {
            Step::Done(Ok(()))
        } else {
            Step::SendAndPass(outgoing)
        }
    }
}

impl Probe for ScriptProbe {
    fn start(&mut self) -> Step {
        self.advance()
    }

    fn on_bytes(&mut self, bytes: &[u8]) -> Step {
        self.received.extend_from_slice(bytes);
        self.advance()
    }

    fn on_eof(&mut self) -> Outcome {
        let expected = match self.steps.get(self.next) {
            Some(ScriptStep::Expect(needle)) => quoted(needle),
            _ => "the next step".to_owned(),
        };
        Err(CheckFailure(format!(
            "connection closed while expecting {expected} (received {})",
            quoted(&self.received)
        )))
    }
}
