//! How commands print: human text, or `--output json` for scripts (one JSON document on
//! stdout).

use clap::ValueEnum;

/// The output format.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, ValueEnum)]
pub(crate) enum Output {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document.
    Json,
}

impl Output {
    /// Prints `value` as JSON, or as the text `render` makes of it.
    pub(crate) fn show(
        self,
        value: &serde_json::Value,
        render: impl FnOnce(&serde_json::Value) -> String,
    ) {
        match self {
            Output::Json => println!("{value}"),
            Output::Text => println!("{}", render(value)),
        }
    }
}

/// A unix time as a UTC date and time, `2026-12-01 11:30:00 UTC` (the seconds themselves
/// where the date is out of range).
pub(crate) fn utc(unix_seconds: u64) -> String {
    let Ok(at) = i64::try_from(unix_seconds)
        .map_err(drop)
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).map_err(drop))
    else {
        return format!("unix time {unix_seconds}");
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn times_are_shown_as_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_764_588_645), "2025-12-01 11:30:45 UTC");
        assert_eq!(utc(u64::MAX), format!("unix time {}", u64::MAX));
    }
}
