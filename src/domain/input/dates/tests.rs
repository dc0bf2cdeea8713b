use chrono::{DateTime, NaiveDate, Utc};

use super::*;

fn day(value: &str) -> NaiveDate {
    value.parse().unwrap()
}

fn instant(value: &str) -> DateTime<Utc> {
    value.parse().unwrap()
}

/// What the message says the client sent (`got …`), or the parsed value.
fn got<T>(result: Result<T, InvalidDate>) -> Result<T, String> {
    result.map_err(|e| e.got)
}

#[test]
fn dates_inside_the_range_are_accepted_as_given() {
    for value in ["1970-01-01", "2026-02-28", "2028-02-29", "2999-12-31"] {
        assert_eq!(date("termStart", value), Ok(day(value)), "{value}");
    }
}

#[test]
fn dates_outside_the_range_or_the_format_say_what_was_sent() {
    let cases: [(&str, &str); 19] = [
        ("1969-12-31", r#""1969-12-31", before the range"#),
        ("3000-01-01", r#""3000-01-01", after the range"#),
        ("0000-01-01", r#""0000-01-01", before the range"#),
        ("-5000-01-01", r#""-5000-01-01", before the range"#),
        ("+10000-01-01", r#""+10000-01-01", after the range"#),
        ("10000-01-01", r#""10000-01-01", after the range"#),
        ("+2026-01-01", r#""+2026-01-01", after the range"#),
        (
            "2026-02-30",
            r#""2026-02-30", which is not a day of the calendar"#,
        ),
        (
            "2026-13-01",
            r#""2026-13-01", which is not a day of the calendar"#,
        ),
        (
            "2027-02-29",
            r#""2027-02-29", which is not a day of the calendar"#,
        ),
        ("2026-01-01T00:00:00Z", "a timestamp"),
        ("2026-01-01 10:00:00+01:00", "a timestamp"),
        ("", "an empty string"),
        ("yesterday", r#""yesterday""#),
        ("2026-1-01", r#""2026-1-01""#),
        ("26-01-01", r#""26-01-01""#),
        (" 2026-01-01", r#"" 2026-01-01""#),
        ("2026-01-01x", r#""2026-01-01x""#),
        ("2026-01-01\u{0}", r#""2026-01-01\0""#),
    ];
    for (value, expected) in cases {
        assert_eq!(
            got(date("termStart", value)),
            Err(expected.to_owned()),
            "{value:?}"
        );
    }
}

#[test]
fn timestamps_inside_the_range_are_accepted_in_utc() {
    let cases = [
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"),
        ("1970-01-01T01:00:00+01:00", "1970-01-01T00:00:00Z"),
        ("2026-06-30T12:34:56.789Z", "2026-06-30T12:34:56.789Z"),
        ("2026-06-30t12:34:56z", "2026-06-30T12:34:56Z"),
        ("2999-12-31T23:59:59Z", "2999-12-31T23:59:59Z"),
        ("3000-01-01T00:59:59+01:00", "2999-12-31T23:59:59Z"),
        (
            "2026-01-01T00:00:00.123456789Z",
            "2026-01-01T00:00:00.123456Z",
        ),
        (
            "2999-12-31T23:59:58.9999999Z",
            "2999-12-31T23:59:58.999999Z",
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(
            timestamp("startsAt", value),
            Ok(instant(expected)),
            "{value}"
        );
    }
}

#[test]
fn timestamps_outside_the_range_or_the_format_say_what_was_sent() {
    let cases: [(&str, &str); 17] = [
        (
            "1969-12-31T23:59:59Z",
            r#""1969-12-31T23:59:59Z", before the range"#,
        ),
        (
            "1970-01-01T00:30:00+01:00",
            r#""1970-01-01T00:30:00+01:00", before the range"#,
        ),
        (
            "2999-12-31T23:59:59.5Z",
            r#""2999-12-31T23:59:59.5Z", after the range"#,
        ),
        (
            "2999-12-31T23:59:59-01:00",
            r#""2999-12-31T23:59:59-01:00", after the range"#,
        ),
        (
            "0000-01-01T00:00:00Z",
            r#""0000-01-01T00:00:00Z", before the range"#,
        ),
        (
            "-4714-01-01T00:00:00Z",
            r#""-4714-01-01T00:00:00Z", before the range"#,
        ),
        (
            "+12345-01-01T00:00:00Z",
            r#""+12345-01-01T00:00:00Z", after the range"#,
        ),
        (
            "2026-02-30T00:00:00Z",
            r#""2026-02-30T00:00:00Z", which is not a day of the calendar"#,
        ),
        ("2026-01-01", "a date"),
        ("2026-01-01T00:00:00", r#""2026-01-01T00:00:00""#),
        ("2026-01-01T24:00:00Z", r#""2026-01-01T24:00:00Z""#),
        (
            "2026-01-01T00:00:00+24:00",
            r#""2026-01-01T00:00:00+24:00""#,
        ),
        ("2026-01-01T00:00Z", r#""2026-01-01T00:00Z""#),
        ("", "an empty string"),
        ("now", r#""now""#),
        ("1735689600", r#""1735689600""#),
        (
            "2026-01-01T00:00:00Z and then some more text after it",
            r#""2026-01-01T00:00:00Z and then some more " (cut short)"#,
        ),
    ];
    for (value, expected) in cases {
        assert_eq!(
            got(timestamp("startsAt", value)),
            Err(expected.to_owned()),
            "{value:?}"
        );
    }
}

#[test]
fn the_message_names_the_field_the_format_and_the_range() {
    let error = date("currentPeriodEnd", "2026-01-01T00:00:00Z").unwrap_err();
    assert_eq!(error.code().as_str(), "invalid_date");
    assert_eq!(
        error.to_string(),
        "currentPeriodEnd: expected a date (YYYY-MM-DD), got a timestamp; \
         accepted: 1970-01-01 through 2999-12-31"
    );
    let error = timestamp("endsAt", "2027-01-01").unwrap_err();
    assert_eq!(error.code().as_str(), "invalid_timestamp");
    assert_eq!(
        error.to_string(),
        "endsAt: expected a timestamp (RFC 3339, e.g. 2026-01-01T00:00:00Z), got a date; \
         accepted: 1970-01-01T00:00:00Z through 2999-12-31T23:59:59Z"
    );
}

#[test]
fn the_bounds_are_the_documented_ones() {
    assert_eq!(EARLIEST_DATE, day("1970-01-01"));
    assert_eq!(LATEST_DATE, day("2999-12-31"));
    assert_eq!(EARLIEST_TIMESTAMP, instant("1970-01-01T00:00:00Z"));
    assert_eq!(LATEST_TIMESTAMP, instant("2999-12-31T23:59:59Z"));
}
