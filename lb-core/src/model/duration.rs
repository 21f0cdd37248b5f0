//! Human durations as operators write them: `500ms`, `10s`, `2m`, `90m`, `1h`, `1d`.
//!
//! A bare number is refused: the unit is always explicit. Units may be combined (`1h30m`).

use std::time::Duration;

/// Why a duration string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationParseError {
    /// The string was empty.
    #[error("empty duration")]
    Empty,
    /// A number was not followed by one of the known units.
    #[error("missing or unknown unit in `{0}` (use ms, s, m, h or d, e.g. `10s`)")]
    Unit(String),
    /// A character that is neither a digit nor a unit.
    #[error("`{0}` is not a duration (e.g. `500ms`, `10s`, `2m`, `1h`)")]
    Syntax(String),
    /// The value does not fit.
    #[error("duration `{0}` is too large")]
    Overflow(String),
}

/// Parses `500ms`, `10s`, `2m`, `90m`, `1h`, `1d` or a combination like `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationParseError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationParseError::Empty);
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationParseError::Syntax(text.to_owned()));
        }
        let value: u64 = rest[..digits]
            .parse()
            .map_err(|_| DurationParseError::Overflow(text.to_owned()))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let factor_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(DurationParseError::Unit(text.to_owned())),
        };
        rest = &rest[unit_len..];
        total_ms = value
            .checked_mul(factor_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| DurationParseError::Overflow(text.to_owned()))?;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Formats a duration in the largest unit that represents it exactly (`90m`, `2s`, `500ms`).
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    for (factor, unit) in [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ] {
        if ms != 0 && ms % factor == 0 {
            return format!("{}{unit}", ms / factor);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_every_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
    }

    #[test]
    fn refuses_missing_or_unknown_units() {
        assert!(matches!(
            parse_duration("10"),
            Err(DurationParseError::Unit(_))
        ));
        assert!(matches!(
            parse_duration("10 parsecs"),
            Err(DurationParseError::Unit(_))
        ));
        assert!(matches!(
            parse_duration("s"),
            Err(DurationParseError::Syntax(_))
        ));
        assert_eq!(parse_duration(" "), Err(DurationParseError::Empty));
        assert!(matches!(
            parse_duration("99999999999999999999d"),
            Err(DurationParseError::Overflow(_))
        ));
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(ms in 0u64..10_000_000_000) {
            let duration = Duration::from_millis(ms);
            prop_assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
        }
    }
}
