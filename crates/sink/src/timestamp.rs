//! UTC renderings of a `SystemTime` for the three places the output uses one.
//!
//! Built from date components with `format!` rather than a `time` format description, so that rendering
//! cannot fail at run time.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// The instant in UTC. Times before 1970 or after year 9999 can only come from a caller's bug or a wildly
/// wrong clock; they render as the epoch rather than aborting the crawl.
fn utc(t: SystemTime) -> OffsetDateTime {
    let nanos = t.duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    i128::try_from(nanos)
        .ok()
        .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 with milliseconds, as in pages.jsonl: `2026-11-21T11:24:07.123Z`.
pub(crate) fn rfc3339_millis(t: SystemTime) -> String {
    let d = utc(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.millisecond()
    )
}

/// WARC-Date: whole seconds, which every WARC 1.0 and 1.1 reader accepts.
pub(crate) fn warc_date(t: SystemTime) -> String {
    let d = utc(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// `YYYYmmddHHMMSS`, for WARC file names (sorts chronologically as text).
pub(crate) fn compact(t: SystemTime) -> String {
    let d = utc(t);
    format!("{:04}{:02}{:02}{:02}{:02}{:02}", d.year(), u8::from(d.month()), d.day(), d.hour(), d.minute(), d.second())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::time::Duration;

    fn at(nanos: i128) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap())
    }

    #[test]
    fn renders_the_three_forms() {
        let t = at(time::macros::datetime!(2026-11-21 11:24:07.123456 UTC).unix_timestamp_nanos());
        assert_eq!(rfc3339_millis(t), "2026-11-21T11:24:07.123Z");
        assert_eq!(warc_date(t), "2026-11-21T11:24:07Z");
        assert_eq!(compact(t), "20261121112407");
    }

    #[test]
    fn out_of_range_times_fall_back_to_the_epoch() {
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(rfc3339_millis(before), "1970-01-01T00:00:00.000Z");
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(warc_date(far), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_millis(UNIX_EPOCH + Duration::from_millis(1)), "1970-01-01T00:00:00.001Z");
    }
}
