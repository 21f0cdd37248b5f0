#![no_main]
//! Fuzz target cookie: arbitrary bytes as a `Cookie` header value and as a persistence cookie
//! value. The finder, the stripper and the decoder never panic; what is stripped leaves no
//! copy of the cookie and strips to itself; a value the decoder accepts is exactly what the
//! encoder writes for what was decoded (no second spelling of a cookie is ever trusted).
//!
//! The seeds in `corpus/cookie` hold values issued by these codecs at [`NOW`].
use std::sync::OnceLock;
use std::time::Duration;

use lb_core::model::{Server, ServerId};
use lb_core::persistence::{CookieCodec, CookieSettings};

/// When values are checked, in UNIX seconds (the seeds were issued then).
const NOW: u64 = 1_800_000_000;
const SECRET: u128 = 0x6c62_2d66_757a_7a2d_636f_6f6b_6965_2131;

/// A codec with max ages (timed values) and one without (plain values).
fn codecs() -> &'static [CookieCodec; 2] {
    static CODECS: OnceLock<[CookieCodec; 2]> = OnceLock::new();
    CODECS.get_or_init(|| {
        let servers: Vec<Server> = (0..3)
            .map(|i| {
                let address = format!("192.0.2.{}:80", i + 1).parse().unwrap();
                Server::new(ServerId(i), format!("web-{i}"), address)
            })
            .collect();
        let settings = |max_idle: Option<u64>, max_life: Option<u64>| CookieSettings {
            name: "SERVERID".to_owned(),
            max_idle: max_idle.map(Duration::from_secs),
            max_life: max_life.map(Duration::from_secs),
        };
        [
            CookieCodec::new("web", settings(Some(3600), Some(86_400)), SECRET, &servers),
            CookieCodec::new("web", settings(None, None), SECRET, &servers),
        ]
    })
}

fn check_value(codec: &CookieCodec, value: &[u8]) {
    if let Some(cookie) = codec.decode(value, NOW) {
        let encoded = codec.encode(&cookie).expect("a decoded server is known");
        assert_eq!(encoded.as_bytes(), value, "a second spelling was accepted");
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for codec in codecs() {
        check_value(codec, data);
        if let Some(value) = codec.find(data) {
            check_value(codec, value);
        }
        if let Some(rest) = codec.strip(data) {
            assert!(!rest.is_empty());
            assert_eq!(codec.find(&rest), None, "the cookie survived stripping");
            assert_eq!(codec.strip(&rest).as_deref(), Some(&rest[..]));
        }
    }
});
