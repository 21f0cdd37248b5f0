//! Shared by the check-codec fuzz targets (a module, not a target): plays the server's bytes to
//! a probe the way the I/O runner does, cut into chunks whose sizes follow a seed byte, and
//! checks the contract every probe keeps: a verdict within 64 KiB or at close, and the same
//! verdict repeated once given.

use lb_core::model::Check;
use lb_health::{MAX_RESPONSE_BYTES, Outcome, Step, probe_for};

/// Everything the probe wrote, and its verdict.
pub type Transcript = (Vec<u8>, Outcome);

/// Plays `bytes` in chunks of 1 to 256 bytes drawn from `seed` (whole when `None`), then closes.
pub fn play(check: &Check, bytes: &[u8], seed: Option<u8>) -> Transcript {
    let server = "192.0.2.11:3306".parse().expect("a valid address");
    let mut probe = probe_for(check, server);
    let mut sent = Vec::new();
    let mut step = probe.start();
    let mut state = u32::from(seed.unwrap_or(0)) | 0x100;
    let mut rest = bytes;
    let mut fed = 0;
    loop {
        match step {
            Step::Done(outcome) => return finish(probe.as_mut(), sent, outcome),
            Step::SendAndPass(bytes) => {
                sent.extend_from_slice(&bytes);
                return finish(probe.as_mut(), sent, Ok(()));
            }
            Step::Send(bytes) => sent.extend_from_slice(&bytes),
            Step::NeedMore => {}
        }
        assert!(
            fed <= MAX_RESPONSE_BYTES,
            "read {fed} bytes without a verdict"
        );
        if rest.is_empty() {
            let outcome = probe.on_eof();
            return finish(probe.as_mut(), sent, outcome);
        }
        let size = match seed {
            None => rest.len(),
            Some(_) => {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                1 + (state % 256) as usize
            }
        };
        let (chunk, after) = rest.split_at(size.min(rest.len()));
        rest = after;
        fed += chunk.len();
        step = probe.on_bytes(chunk);
    }
}

/// Checks that the verdict sticks, then returns the transcript.
fn finish(probe: &mut dyn lb_health::Probe, sent: Vec<u8>, outcome: Outcome) -> Transcript {
    assert_eq!(probe.on_bytes(b"more"), Step::Done(outcome.clone()));
    assert_eq!(probe.on_eof(), outcome);
    (sent, outcome)
}
