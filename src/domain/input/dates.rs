//! Dates and timestamps the API accepts: one range and one format for each, parsed here and
//! nowhere else, with an error that names the field as the client sent it.
//!
//! The range is wide enough for any real subscription or relationship, and narrow enough that
//! every value has a four-digit year: Postgres writes other years in JSON as `+12345-…` or
//! `…-01-01 BC`, which no RFC 3339 reader reads back, and it refuses years before 4713 BC.

use crate::domain::ErrorCode;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, SubsecRound, Utc};

/// The earliest date accepted; the earliest timestamp is its midnight, UTC.
pub const EARLIEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();

/// The latest date accepted; the latest timestamp is its last second, UTC.
pub const LATEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(2999, 12, 31).unwrap();

/// The earliest timestamp accepted: 1970-01-01T00:00:00Z.
pub const EARLIEST_TIMESTAMP: DateTime<Utc> = EARLIEST_DATE.and_time(NaiveTime::MIN).and_utc();

/// The latest timestamp accepted: 2999-12-31T23:59:59Z.
pub const LATEST_TIMESTAMP: DateTime<Utc> = LATEST_DATE
    .and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap())
    .and_utc();

/// What a field holds: a calendar date or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339 with an offset (`Z` or `±hh:mm`), normalised to UTC.
    Timestamp,
}

impl Expected {
    /// The stable problem code of a refused value.
    pub fn code(self) -> ErrorCode {
        match self {
            Expected::Date => ErrorCode::InvalidDate,
            Expected::Timestamp => ErrorCode::InvalidTimestamp,
        }
    }

    fn format(self) -> &'static str {
        match self {
            Expected::Date => "a date (YYYY-MM-DD)",
            Expected::Timestamp => "a timestamp (RFC 3339, e.g. 2026-01-01T00:00:00Z)",
        }
    }

    fn range(self) -> &'static str {
        match self {
            Expected::Date => "1970-01-01 through 2999-12-31",
            Expected::Timestamp => "1970-01-01T00:00:00Z through 2999-12-31T23:59:59Z",
        }
    }
}

/// A date or timestamp field that is not acceptable: the field, what it should hold and what
/// was sent instead ("a timestamp", "\"3000-01-01\", after the range", "a number").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: expected {}, got {got}; accepted: {}", expected.format(), expected.range())]
pub struct InvalidDate {
    pub field: &'static str,
    pub expected: Expected,
    pub got: String,
}

impl InvalidDate {
    /// The stable problem code.
    pub fn code(&self) -> ErrorCode {
        self.expected.code()
    }
}

crate::domain::codes::refusal!(InvalidDate);

/// A calendar date, `YYYY-MM-DD`, from [`EARLIEST_DATE`] through [`LATEST_DATE`].
pub fn date(field: &'static str, value: &str) -> Result<NaiveDate, InvalidDate> {
    let refuse = |got: Got| {
        Err(InvalidDate {
            field,
            expected: Expected::Date,
            got: got.describe(value),
        })
    };
    let Some((shape, rest)) = split_date(value) else {
        return refuse(Got::Malformed);
    };
    if !rest.is_empty() {
        return refuse(if looks_like_time(rest) {
            Got::Timestamp
        } else {
            Got::Malformed
        });
    }
    let date = match shape.calendar_date() {
        Ok(date) => date,
        Err(got) => return refuse(got),
    };
    if date < EARLIEST_DATE {
        refuse(Got::Before)
    } else if date > LATEST_DATE {
        refuse(Got::After)
    } else {
        Ok(date)
    }
}

/// An RFC 3339 timestamp with an offset, from [`EARLIEST_TIMESTAMP`] through
/// [`LATEST_TIMESTAMP`], in UTC. Fractions below a microsecond are dropped, as the database
/// keeps microseconds.
pub fn timestamp(field: &'static str, value: &str) -> Result<DateTime<Utc>, InvalidDate> {
    let refuse = |got: Got| {
        Err(InvalidDate {
            field,
            expected: Expected::Timestamp,
            got: got.describe(value),
        })
    };
    let Some((shape, rest)) = split_date(value) else {
        return refuse(Got::Malformed);
    };
    if rest.is_empty() {
        return refuse(Got::Date);
    }
    if let Err(got) = shape.calendar_date() {
        return refuse(got);
    }
    let Ok(parsed) = DateTime::parse_from_rfc3339(value) else {
        return refuse(Got::Malformed);
    };
    let instant = parsed.with_timezone(&Utc).trunc_subsecs(6);
    if instant < EARLIEST_TIMESTAMP {
        refuse(Got::Before)
    } else if instant > LATEST_TIMESTAMP {
        refuse(Got::After)
    } else {
        Ok(instant)
    }
}

/// What a refused value was, for the message.
enum Got {
    Malformed,
    Timestamp,
    Date,
    NotADay,
    Before,
    After,
}

impl Got {
    fn describe(self, value: &str) -> String {
        let sent = Sent(value);
        match self {
            Got::Malformed if value.is_empty() => "an empty string".to_owned(),
            Got::Malformed => format!("{sent}"),
            Got::Timestamp => "a timestamp".to_owned(),
            Got::Date => "a date".to_owned(),
            Got::NotADay => format!("{sent}, which is not a day of the calendar"),
            Got::Before => format!("{sent}, before the range"),
            Got::After => format!("{sent}, after the range"),
        }
    }
}

/// A client's value quoted for a message: escaped, and cut short when long.
struct Sent<'a>(&'a str);

impl fmt::Display for Sent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 40;
        if self.0.chars().count() > SHOWN {
            let head: String = self.0.chars().take(SHOWN).collect();
            write!(f, "{:?} (cut short)", head)
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

/// The date at the start of a value: an optional sign, a year of any length, and two-digit
/// month and day, all separated by `-`.
struct DateShape<'a> {
    sign: Option<char>,
    year: &'a str,
    month: u32,
    day: u32,
}

impl DateShape<'_> {
    /// The calendar date, or why it is none: a year of other than four digits (or with a sign)
    /// lies outside the range whatever follows; a month or day that does not exist is not a day.
    fn calendar_date(&self) -> Result<NaiveDate, Got> {
        if self.sign == Some('-') {
            return Err(Got::Before);
        }
        if self.sign == Some('+') || self.year.len() > 4 {
            return Err(if self.year.bytes().all(|b| b == b'0') {
                Got::Before
            } else {
                Got::After
            });
        }
        if self.year.len() < 4 {
            return Err(Got::Malformed);
        }
        let year = self.year.parse().map_err(|_| Got::Malformed)?;
        NaiveDate::from_ymd_opt(year, self.month, self.day).ok_or(Got::NotADay)
    }
}

/// Splits `value` into its leading date and the rest, or `None` when it does not start with one.
fn split_date(value: &str) -> Option<(DateShape<'_>, &str)> {
    let (sign, unsigned) = match value.chars().next() {
        Some(c @ ('+' | '-')) => (Some(c), &value[1..]),
        _ => (None, value),
    };
    let year_len = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    let after_year = &unsigned[year_len..];
    let bytes = after_year.as_bytes();
    let two_digits = |at: usize| -> Option<u32> {
        let (tens, ones) = (*bytes.get(at)?, *bytes.get(at + 1)?);
        (tens.is_ascii_digit() && ones.is_ascii_digit())
            .then(|| u32::from(tens - b'0') * 10 + u32::from(ones - b'0'))
    };
    if year_len == 0 || bytes.first() != Some(&b'-') || bytes.get(3) != Some(&b'-') {
        return None;
    }
    let shape = DateShape {
        sign,
        year: &unsigned[..year_len],
        month: two_digits(1)?,
        day: two_digits(4)?,
    };
    Some((shape, &after_year[6..]))
}

/// Whether what follows a date is the time of a timestamp: `T` (or a space) and a digit.
fn looks_like_time(rest: &str) -> bool {
    let mut chars = rest.chars();
    matches!(chars.next(), Some('T' | 't' | ' '))
        && chars.next().is_some_and(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests;
