//! The rules stated in the document against the checks the service runs.

use super::*;
use crate::domain::input::{self, EARLIEST_DATE, LATEST_DATE};

#[test]
fn the_year_pattern_spans_the_accepted_dates() {
    assert_eq!(EARLIEST_DATE.to_string(), "1970-01-01");
    assert_eq!(LATEST_DATE.to_string(), "2999-12-31");
    assert_eq!(YEAR_RANGE, "^(19[7-9][0-9]|2[0-9]{3})-");
}

/// The e-mail pattern and the service's check agree on every character of the Basic
/// Multilingual Plane (where every space, control and invisible formatting character is) in
/// each place of an address, and on addresses of every shape the check tells apart.
#[test]
fn the_email_pattern_accepts_exactly_what_the_service_accepts() {
    let pattern = regex::Regex::new(&email_pattern()).unwrap();
    let agree = |value: &str| {
        assert_eq!(
            pattern.is_match(value),
            input::email(value).is_ok(),
            "{value:?}"
        );
    };
    for c in (0..=0xFFFF).filter_map(char::from_u32).chain(['😀', '𝔸']) {
        agree(&format!("{c}ab@c.d"));
        agree(&format!("a{c}b@c.d"));
        agree(&format!("ab@{c}c.d"));
        agree(&format!("ab@c{c}d.e"));
        agree(&format!("ab@c.d{c}"));
    }
    let shapes = [
        "a@b.c",
        " \u{3000}ada@contoso.com\t\n",
        "a@b..c",
        "a.b@c.d",
        "a@b",
        "a@.b",
        "a@b.",
        "@b.c",
        "a@@b.c",
        "a@b@c.d",
        "a b@c.d",
        "a\u{FEFF}@b.c",
        "a\u{1C}@b.c",
        "\u{1C}a@b.c",
        "\u{85}a@b.c\u{85}",
        "",
    ];
    for value in shapes {
        agree(value);
    }
}

/// The name pattern and the service's check agree on every character of the Basic
/// Multilingual Plane inside a name and around it, and on names of every shape it tells
/// apart.
#[test]
fn the_name_pattern_accepts_exactly_what_the_service_accepts() {
    let pattern = regex::Regex::new(&name_pattern()).unwrap();
    let agree = |value: &str| {
        assert_eq!(
            pattern.is_match(value),
            input::name("name", value, usize::MAX).is_ok(),
            "{value:?}"
        );
    };
    for c in (0..=0xFFFF).filter_map(char::from_u32).chain(['😀', '𝔸']) {
        agree(&format!("{c}"));
        agree(&format!("{c}ab"));
        agree(&format!("a{c}b"));
        agree(&format!("ab{c}"));
    }
    for value in [
        "",
        " ",
        "\t\n",
        " a ",
        "a b",
        "a\tb",
        "\u{3000}a\u{85}",
        "a\u{200D}b",
    ] {
        agree(value);
    }
}

/// `maxLength` counts the characters as sent, surrounding spaces included, and so does the
/// service: with the pattern, it accepts exactly what the service accepts around the limit.
#[test]
fn the_length_limits_count_the_characters_as_sent() {
    let name = regex::Regex::new(&name_pattern()).unwrap();
    let email = regex::Regex::new(&email_pattern()).unwrap();
    for padding in 0..3 {
        let spaces = " ".repeat(padding);
        for core in 8..=12 {
            let value = format!("{spaces}{}{spaces}", "x".repeat(core));
            let documented = value.chars().count() <= 10 && name.is_match(&value);
            assert_eq!(
                documented,
                input::name("name", &value, 10).is_ok(),
                "{value:?}"
            );
        }
        for local in EMAIL_MAX - 8..=EMAIL_MAX - 4 {
            let value = format!("{spaces}{}@b.cd{spaces}", "a".repeat(local));
            let documented = value.chars().count() <= EMAIL_MAX && email.is_match(&value);
            assert_eq!(documented, input::email(&value).is_ok(), "{value:?}");
        }
    }
}

/// A pattern without its anchors, as the generator reads it (it matches whole strings).
fn unanchored(pattern: &str) -> &str {
    pattern.trim_start_matches('^').trim_end_matches('$')
}

// What a client generates from the document, as Schemathesis does, the service takes.
proptest::proptest! {
    #[test]
    fn every_name_the_name_pattern_generates_is_accepted(
        value in proptest::string::string_regex(unanchored(&name_pattern())).unwrap()
    ) {
        proptest::prop_assert!(input::name("name", &value, usize::MAX).is_ok(), "{:?}", value);
    }

    #[test]
    fn every_address_the_email_pattern_generates_is_accepted(
        value in proptest::string::string_regex(unanchored(&email_pattern())).unwrap()
    ) {
        if value.chars().count() <= EMAIL_MAX {
            proptest::prop_assert!(input::email(&value).is_ok(), "{:?}", value);
        }
    }
}
