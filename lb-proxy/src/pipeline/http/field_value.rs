//! Field values read as bytes (RFC 9110 section 5.6): whitespace trimmed (spaces and tabs
//! only), the elements of a comma-separated list, and decimal numbers. Shared by the request
//! guard and both HTTP/1 head parsers, so that they read a value the same way.

/// `value` without the spaces and tabs around it.
pub(crate) fn trim(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}

/// The comma-separated, trimmed, non-empty elements of a list value.
pub(crate) fn elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&byte| byte == b',')
        .map(trim)
        .filter(|element| !element.is_empty())
}

/// Whether the list `value` has an element equal to `wanted`, case aside.
pub(crate) fn lists(value: &[u8], wanted: &[u8]) -> bool {
    elements(value).any(|element| element.eq_ignore_ascii_case(wanted))
}

/// `digits` as a number: 1 to 18 ASCII digits (no sign, no space), so that it cannot
/// overflow.
pub(crate) fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0, |number, digit| number * 10 + u64::from(digit - b'0')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lists_are_read_element_by_element() {
        let value = b" close ,, Keep-Alive\t";
        assert_eq!(
            elements(value).collect::<Vec<_>>(),
            [&b"close"[..], b"Keep-Alive"]
        );
        assert!(lists(value, b"keep-alive") && !lists(value, b"upgrade"));
        assert_eq!(trim(b"\t 5 \t"), b"5");
    }

    #[test]
    fn decimals_are_digits_only() {
        assert_eq!(decimal(b"0"), Some(0));
        assert_eq!(decimal(b"007"), Some(7));
        for invalid in [
            &b""[..],
            b"+1",
            b"-1",
            b" 1",
            b"1 ",
            b"0x1",
            b"1_0",
            b"1234567890123456789",
        ] {
            assert_eq!(decimal(invalid), None, "{invalid:?}");
        }
    }

    proptest! {
        #[test]
        fn decimals_read_what_they_print(number in 0u64..1_000_000_000_000_000_000) {
            prop_assert_eq!(decimal(number.to_string().as_bytes()), Some(number));
        }
    }
}
