#![no_main]
//! Fuzz target proxy_protocol: the PROXY v1/v2 header decoder never panics, never claims more
//! bytes than it was given or than the limits allow, asks for more only below the limits, and
//! what it decodes encodes back to a header that decodes to the same value.
use lb_core::model::ProxyVersion;
use lb_core::proxy_protocol::{Decoded, V1_MAX_LENGTH, V2_MAX_LENGTH, decode, encode};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(Decoded::Complete { header, length }) => {
            assert!(length <= data.len() && length <= V2_MAX_LENGTH.max(V1_MAX_LENGTH));
            for version in [ProxyVersion::V1, ProxyVersion::V2] {
                let mut bytes = Vec::new();
                encode(version, &header, &mut bytes);
                assert_eq!(
                    decode(&bytes),
                    Ok(Decoded::Complete {
                        header,
                        length: bytes.len()
                    })
                );
            }
        }
        Ok(Decoded::NeedMore) => assert!(data.len() < V2_MAX_LENGTH),
        Err(_) => {}
    }
});
