#![no_main]
//! Fuzz target `redis_check`: the first byte picks the chunking and whether `AUTH` is sent; the
//! rest is the server's replies. The Redis probe never panics, keeps its verdict, and passes
//! only after sending `INFO replication` and `QUIT`. (Its verdict may depend on the chunking:
//! bytes beyond the awaited reply fail it.)

#[path = "probe_driver.rs"]
mod probe_driver;

use lb_core::model::{Check, CheckKind};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&seed, replies)) = data.split_first() else {
        return;
    };
    let check = Check {
        kind: CheckKind::Redis {
            password: (seed & 1 == 1).then(|| "s3cret".to_owned()),
        },
        ..Check::default()
    };
    let (sent, verdict) = probe_driver::play(&check, replies, Some(seed));
    if verdict.is_ok() {
        assert!(sent.ends_with(b"*2\r\n$4\r\nINFO\r\n$11\r\nreplication\r\n*1\r\n$4\r\nQUIT\r\n"));
    }
});
