//! The codec against the specification's examples and generated headers.

use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;

use super::*;

fn proxied(source: &str, destination: &str) -> Header {
    Header::Proxied {
        source: source.parse().unwrap(),
        destination: destination.parse().unwrap(),
    }
}

fn encoded(version: ProxyVersion, header: &Header) -> Vec<u8> {
    let mut out = Vec::new();
    encode(version, header, &mut out);
    out
}

#[test]
fn v1_reads_the_specification_examples() {
    let line = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
    assert_eq!(
        decode(line),
        Ok(Decoded::Complete {
            header: proxied("192.168.0.1:56324", "192.168.0.11:443"),
            length: 47,
        })
    );
    assert_eq!(
        decode(b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n"),
        Ok(Decoded::Complete {
            header: Header::Local,
            length: 59,
        })
    );
    assert_eq!(
        decode(b"PROXY TCP6 ::1 2001:db8::2 1 2\r\n"),
        Ok(Decoded::Complete {
            header: proxied("[::1]:1", "[2001:db8::2]:2"),
            length: 32,
        })
    );
}

#[test]
fn v1_refuses_malformed_lines() {
    for bad in [
        &b"PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n"[..],
        b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 7\r\n",
        b"PROXY TCP4 ::1 ::2 1 2\r\n",
        b"PROXY TCP6 1.2.3.4 1.2.3.5 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 1.2.3.5 +1 2\r\n",
        b"PROXY TCP4 1.2.3.4 1.2.3.5 65536 2\r\n",
        b"PROXY TCP4  1.2.3.4 1.2.3.5 1 2\r\n",
        b"PROXY UDP4 1.2.3.4 1.2.3.5 1 2\r\n",
        b"PROXY TCP4 1.2.3.4 1.2.3.5 1 2\n",
    ] {
        assert!(
            matches!(decode(bad), Err(DecodeError::V1(_))),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    assert!(decode(&[b'P'; 200]).is_err());
    let endless: Vec<u8> = b"PROXY "
        .iter()
        .chain([b'x'; 101].iter())
        .copied()
        .collect();
    assert_eq!(
        decode(&endless),
        Err(DecodeError::V1("no CRLF within 107 bytes"))
    );
}

#[test]
fn v2_reads_addresses_skips_tlvs_and_treats_local_as_local() {
    let mut with_tlv = encoded(ProxyVersion::V2, &proxied("10.0.0.1:1000", "10.0.0.2:80"));
    with_tlv[15] += 5;
    with_tlv.extend_from_slice(&[0x04, 0x00, 0x02, 0xab, 0xcd, b'd', b'a', b't', b'a']);
    assert_eq!(
        decode(&with_tlv),
        Ok(Decoded::Complete {
            header: proxied("10.0.0.1:1000", "10.0.0.2:80"),
            length: 33,
        })
    );
    let local = encoded(ProxyVersion::V2, &Header::Local);
    assert_eq!(local.len(), 16);
    assert_eq!(
        decode(&local),
        Ok(Decoded::Complete {
            header: Header::Local,
            length: 16,
        })
    );
}

#[test]
fn v2_refuses_bad_versions_commands_families_and_lengths() {
    let good = encoded(ProxyVersion::V2, &proxied("10.0.0.1:1", "10.0.0.2:2"));
    let with = |at: usize, value: u8| {
        let mut bytes = good.clone();
        bytes[at] = value;
        decode(&bytes)
    };
    assert_eq!(with(12, 0x11), Err(DecodeError::V2("unsupported version")));
    assert_eq!(with(12, 0x2f), Err(DecodeError::V2("unknown command")));
    assert_eq!(
        with(13, 0x41),
        Err(DecodeError::V2("unknown address family"))
    );
    assert_eq!(
        with(15, 4),
        Err(DecodeError::V2("payload shorter than its addresses"))
    );
    assert_eq!(
        with(14, 0x09),
        Err(DecodeError::V2("longer than 2064 bytes"))
    );
}

#[test]
fn other_bytes_are_not_a_header() {
    assert_eq!(decode(b"GET / HTTP/1.1\r\n"), Err(DecodeError::NotProxy));
    assert_eq!(decode(b"\r\nX"), Err(DecodeError::NotProxy));
    assert_eq!(decode(b""), Ok(Decoded::NeedMore));
}

#[test]
fn mixed_families_are_sent_as_ipv6() {
    let header = proxied("192.0.2.1:5000", "[2001:db8::1]:443");
    let expected = proxied("[::ffff:192.0.2.1]:5000", "[2001:db8::1]:443");
    for version in [ProxyVersion::V1, ProxyVersion::V2] {
        let bytes = encoded(version, &header);
        assert_eq!(
            decode(&bytes),
            Ok(Decoded::Complete {
                header: expected,
                length: bytes.len(),
            })
        );
    }
}

fn address() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<u32>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(ip.into()), port)),
        (any::<u128>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(ip.into()), port)),
    ]
}

fn header() -> impl Strategy<Value = Header> {
    prop_oneof![
        1 => Just(Header::Local),
        6 => (address(), address()).prop_map(|(source, destination)| Header::Proxied { source, destination }),
    ]
}

fn version() -> impl Strategy<Value = ProxyVersion> {
    prop_oneof![Just(ProxyVersion::V1), Just(ProxyVersion::V2)]
}

proptest! {
    #[test]
    fn a_header_reads_back_as_written_whatever_follows(
        version in version(),
        header in header(),
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = encoded(version, &header);
        let length = bytes.len();
        bytes.extend_from_slice(&data);
        prop_assert_eq!(
            decode(&bytes),
            Ok(Decoded::Complete { header: same_family(&header), length })
        );
    }

    #[test]
    fn every_strict_prefix_of_a_header_needs_more(
        version in version(),
        header in header(),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = encoded(version, &header);
        let prefix = &bytes[..cut.index(bytes.len())];
        prop_assert_eq!(decode(prefix), Ok(Decoded::NeedMore));
    }

    #[test]
    fn any_input_decodes_within_bounds(
        input in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            proptest::collection::vec(any::<u8>(), 0..300)
                .prop_map(|tail| b"PROXY ".iter().chain(&tail).copied().collect()),
            proptest::collection::vec(any::<u8>(), 0..300)
                .prop_map(|tail| super::v2::SIGNATURE.iter().chain(&tail).copied().collect()),
        ],
    ) {
        match decode(&input) {
            Ok(Decoded::Complete { length, .. }) => {
                prop_assert!(length <= input.len());
                prop_assert!(length <= V2_MAX_LENGTH);
            }
            Ok(Decoded::NeedMore) => prop_assert!(input.len() < V2_MAX_LENGTH),
            Err(_) => {}
        }
    }
}
