//! Drives a probe the way the I/O runner does, with the server's transmissions cut into
//! chunks as the network may deliver them.

use std::net::SocketAddr;

use lb_core::model::{Check, CheckKind};
use lb_health::{Outcome, Step, probe_for};
use proptest::prelude::*;
use proptest::sample::Index;

/// The traffic address of the server under check.
pub(crate) fn server() -> SocketAddr {
    "192.0.2.11:3306".parse().expect("a valid address")
}

pub(crate) fn check(kind: CheckKind) -> Check {
    Check {
        kind,
        ..Check::default()
    }
}

/// What a probe did in one conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transcript {
    /// Everything the probe wrote, in order.
    pub(crate) sent: Vec<u8>,
    /// The verdict, `None` while the probe still waits.
    pub(crate) verdict: Option<Outcome>,
}

/// Runs a probe for `check` against server transmissions, each already cut into chunks; the
/// server closes after the last one when `close` is set.
pub(crate) fn converse(check: &Check, transmissions: &[Vec<&[u8]>], close: bool) -> Transcript {
    let mut probe = probe_for(check, server());
    let mut transcript = Transcript {
        sent: Vec::new(),
        verdict: None,
    };
    let mut step = probe.start();
    let chunks = transmissions.iter().flatten();
    for chunk in chunks {
        if transcript.record(step) {
            return transcript;
        }
        step = probe.on_bytes(chunk);
    }
    if !transcript.record(step) && close {
        transcript.verdict = Some(probe.on_eof());
    }
    transcript
}

/// Runs a probe against whole transmissions.
pub(crate) fn converse_whole(check: &Check, transmissions: &[&[u8]], close: bool) -> Transcript {
    let transmissions: Vec<Vec<&[u8]>> = transmissions.iter().map(|bytes| vec![*bytes]).collect();
    converse(check, &transmissions, close)
}

impl Transcript {
    /// Notes a step; `true` once there is a verdict.
    fn record(&mut self, step: Step) -> bool {
        match step {
            Step::NeedMore => false,
            Step::Send(bytes) => {
                self.sent.extend_from_slice(&bytes);
                false
            }
            Step::SendAndPass(bytes) => {
                self.sent.extend_from_slice(&bytes);
                self.verdict = Some(Ok(()));
                true
            }
            Step::Done(outcome) => {
                self.verdict = Some(outcome);
                true
            }
        }
    }

    /// The failure text; panics when the probe did not fail.
    pub(crate) fn failure(&self) -> String {
        match &self.verdict {
            Some(Err(failure)) => failure.to_string(),
            other => panic!("expected a failure, got {other:?}"),
        }
    }
}

/// Cuts `bytes` at the given positions (taken modulo its length).
pub(crate) fn cut<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|index| index.index(bytes.len() + 1))
        .collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|pair| &bytes[pair[0]..pair[1]]).collect()
}

/// Cut positions for several transmissions.
pub(crate) fn cuts(transmissions: usize) -> impl Strategy<Value = Vec<Vec<Index>>> {
    prop::collection::vec(prop::collection::vec(any::<Index>(), 0..12), transmissions)
}

/// Asserts that every chunking of the transmissions gives the transcript of whole ones.
pub(crate) fn same_in_any_chunking(
    check: &Check,
    transmissions: &[&[u8]],
    close: bool,
    cuts: &[Vec<Index>],
) -> Result<(), TestCaseError> {
    let whole = converse_whole(check, transmissions, close);
    let chunked: Vec<Vec<&[u8]>> = transmissions
        .iter()
        .zip(cuts)
        .map(|(bytes, cuts)| cut(bytes, cuts))
        .collect();
    prop_assert_eq!(converse(check, &chunked, close), whole);
    Ok(())
}
