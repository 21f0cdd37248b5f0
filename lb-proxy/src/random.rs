//! Cheap per-thread random numbers for scheduling (random, two-choices) and hash seeds.
//!
//! A xorshift64* generator per thread, seeded from the standard library's per-process random
//! hash keys; good enough to spread load, not for secrets.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

thread_local! {
    static STATE: Cell<u64> = Cell::new(RandomState::new().hash_one(0u64) | 1);
}

/// The next number of this thread's generator.
pub(crate) fn random_u64() -> u64 {
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}
