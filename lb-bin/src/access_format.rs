//! The text format of log lines, with a fast path for access lines.
//!
//! Every line reads as tracing-subscriber's default (`Full`) format writes it:
//! `2026-11-26T23:56:06.898177Z  INFO lb::access: http client=127.0.0.1:60948 vip=http ...`.
//! Access lines (one per HTTP request, under load tens of thousands a second) are written by
//! hand here, byte for byte the same as the default: the timestamp's date and time of day are
//! made once a second, numbers are written without the formatting machinery, and there are no
//! colour codes to skip. Every other line, and every line on a terminal (where colours are on),
//! goes through the default format.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::time::SystemTime as SystemClock;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::logging::ACCESS_TARGET;

/// The default text format, and the fast path for access lines.
pub(crate) struct TextFormat {
    default: Format<Full, SystemClock>,
}

impl TextFormat {
    pub(crate) fn new() -> Self {
        TextFormat {
            default: Format::default(),
        }
    }
}

impl<S, N> FormatEvent<S, N> for TextFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let metadata = event.metadata();
        let in_span = ctx.lookup_current().is_some();
        if metadata.target() != ACCESS_TARGET || writer.has_ansi_escapes() || in_span {
            return self.default.format_event(ctx, writer, event);
        }
        write_timestamp(&mut writer, SystemTime::now())?;
        write!(writer, " {:>5} {}: ", metadata.level(), metadata.target())?;
        let mut fields = Fields {
            writer: &mut writer,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// The date and time of day of the last second a line was written in.
struct SecondCache {
    second: u64,
    text: String,
}

thread_local! {
    static SECOND: RefCell<SecondCache> = const {
        RefCell::new(SecondCache { second: u64::MAX, text: String::new() })
    };
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC, as the default format writes it.
fn write_timestamp(writer: &mut impl fmt::Write, now: SystemTime) -> fmt::Result {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let second = since_epoch.as_secs();
    SECOND.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.second != second {
            cache.second = second;
            cache.text.clear();
            let (year, month, day) = civil_date(second / 86_400);
            let time = second % 86_400;
            let (hour, minute, sec) = (time / 3600, time / 60 % 60, time % 60);
            write!(
                cache.text,
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{sec:02}"
            )?;
        }
        writer.write_str(&cache.text)
    })?;
    let micros = since_epoch.subsec_micros();
    let mut digits = [b'0'; 6];
    let mut rest = micros;
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    writer.write_char('.')?;
    writer.write_str(std::str::from_utf8(&digits).map_err(|_| fmt::Error)?)?;
    writer.write_char('Z')
}

/// The proleptic Gregorian (year, month, day) of a count of days since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Writes the fields of an event as the default format does: the message first and bare,
/// then ` name=value`, strings quoted, `Display` values (`%`) as they display.
struct Fields<'w, 'a> {
    writer: &'w mut Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    fn field(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        let name = field.name();
        let name = name.strip_prefix("r#").unwrap_or(name);
        let separator = if self.first { "" } else { " " };
        self.first = false;
        let writer = &mut *self.writer;
        self.result = writer.write_str(separator).and_then(|()| {
            if name != "message" {
                writer.write_str(name)?;
                writer.write_char('=')?;
            }
            value(writer)
        });
    }
}

impl Visit for Fields<'_, '_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.field(field, |writer| {
            writer.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.field(field, |writer| {
            writer.write_str(itoa::Buffer::new().format(value))
        });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.field(field, |writer| writer.write_str(value));
        } else {
            self.field(field, |writer| write!(writer, "{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.field(field, |writer| write!(writer, "{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::info;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;

        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    fn lines(
        subscriber: impl Subscriber + Send + Sync + 'static,
        captured: &Captured,
    ) -> Vec<String> {
        tracing::subscriber::with_default(subscriber, || {
            let client: std::net::SocketAddr = "127.0.0.1:60948".parse().unwrap();
            info!(target: "lb::access", client = %client, vip = %"web", status = 200u16,
                bytes = 17u64, delta = -3i64, quoted = "a \"b\"", flag = true, "http");
            info!(target: "lb::access", r#type = %"tcp", "tcp {}", 42);
            info!(target: "lb::other", answer = 42, "not an access line");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        // The timestamps differ; everything after the first space must not.
        text.lines()
            .map(|line| line.split_once(' ').unwrap().1.to_owned())
            .collect()
    }

    #[test]
    fn access_lines_read_exactly_as_the_default_format_writes_them() {
        let fast = Captured::default();
        let slow = Captured::default();
        let ours = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(fast.clone())
            .event_format(TextFormat::new())
            .finish();
        let default = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(slow.clone())
            .finish();
        let ours = lines(ours, &fast);
        assert_eq!(ours, lines(default, &slow));
        assert_eq!(
            ours[0],
            " INFO lb::access: http client=127.0.0.1:60948 vip=web status=200 bytes=17 \
             delta=-3 quoted=\"a \\\"b\\\"\" flag=true"
        );
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let at = |secs: u64, micros: u32| {
            let mut text = String::new();
            let time = UNIX_EPOCH + std::time::Duration::new(secs, micros * 1000);
            write_timestamp(&mut text, time).unwrap();
            text
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(at(1_795_737_366, 898_177), "2026-11-26T23:56:06.898177Z");
        assert_eq!(at(4_107_542_399, 999_999), "2100-02-28T23:59:59.999999Z");
        // The cached second is replaced when the second changes.
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000000Z");
    }
}
