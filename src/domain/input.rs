//! Checks on the fields a client sends that the API stores: names, e-mail addresses, service
//! lists, and (in [`dates`]) dates and timestamps.

mod dates;

pub use dates::{
    EARLIEST_DATE, EARLIEST_TIMESTAMP, Expected, InvalidDate, LATEST_DATE, LATEST_TIMESTAMP, date,
    timestamp,
};

/// The longest customer name, in characters.
pub const CUSTOMER_NAME_MAX: usize = 200;

/// The longest user display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 256;

/// Characters a name or an e-mail address may not contain once trimmed: control characters and
/// the invisible formatting ones of [`name`], as a regular expression class for the OpenAPI
/// document.
pub const NAME_FORBIDDEN_CLASS: &str =
    r"\u0000-\u001f\u007f-\u009f\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\ufeff";

/// The characters trimming removes (Unicode's `White_Space`, as [`char::is_whitespace`]), as a
/// regular expression class for the OpenAPI document. Spelled out because `\s` means something
/// else in each dialect that reads the document: ECMA-262 adds U+FEFF and leaves out U+0085,
/// Python adds U+001C–U+001F.
pub const WHITESPACE_CLASS: &str =
    r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// The longest e-mail address, in characters as sent.
pub const EMAIL_MAX: usize = 320;

/// A text field that is not acceptable, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct InvalidText {
    pub field: &'static str,
    pub reason: &'static str,
}

/// A human-readable name: at most `max` characters as sent (the document's `maxLength`),
/// trimmed, then at least one character and no control or invisible formatting ones.
pub fn name(field: &'static str, value: &str, max: usize) -> Result<String, InvalidText> {
    let trimmed = value.trim();
    let invalid = |reason| Err(InvalidText { field, reason });
    if value.chars().count() > max {
        return invalid("is too long");
    }
    if trimmed.is_empty() {
        return invalid("must not be empty");
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        return invalid("must not contain control or invisible formatting characters");
    }
    Ok(trimmed.to_owned())
}

/// An e-mail address: one `@` between a non-empty local part and a domain with a dot that
/// neither starts nor ends it; no spaces, control or invisible formatting characters; at most
/// [`EMAIL_MAX`] characters as sent. Stored as given (trimmed); compared case-insensitively by
/// the database.
pub fn email(value: &str) -> Result<String, InvalidText> {
    let trimmed = value.trim();
    let invalid = |reason| {
        Err(InvalidText {
            field: "email",
            reason,
        })
    };
    if value.chars().count() > EMAIL_MAX {
        return invalid("is too long");
    }
    if trimmed
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || is_invisible_format(c))
    {
        return invalid("must not contain spaces or control characters");
    }
    match trimmed.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.') =>
        {
            Ok(trimmed.to_owned())
        }
        _ => invalid("is not an e-mail address"),
    }
}

/// Checks a list of service codes: every entry must be in `allowed` (described as `scope` in the
/// message, e.g. "a service code of the catalog") and none may be listed twice.
pub fn service_list(
    codes: &[String],
    allowed: impl Fn(&str) -> bool,
    scope: &str,
) -> Result<(), String> {
    for (i, code) in codes.iter().enumerate() {
        if !allowed(code) {
            return Err(format!("{code:?} is not {scope}"));
        }
        if codes[..i].contains(code) {
            return Err(format!("{code:?} is listed twice"));
        }
    }
    Ok(())
}

/// Zero-width and bidirectional formatting characters, which make names look like other names.
/// The zero-width joiner and non-joiner are not among them: emoji sequences and scripts such as
/// Persian and Devanagari need them to spell ordinary names.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        let cases: [(&str, Result<&str, &str>); 10] = [
            ("Contoso Ltd", Ok("Contoso Ltd")),
            ("Dev 👩\u{200D}💻 Team", Ok("Dev 👩\u{200D}💻 Team")),
            ("می\u{200C}خواهم", Ok("می\u{200C}خواهم")),
            (
                "zero\u{200B}width",
                Err("must not contain control or invisible formatting characters"),
            ),
            ("  Fabrikam  ", Ok("Fabrikam")),
            ("Società Ørsted 株式会社", Ok("Società Ørsted 株式会社")),
            ("", Err("must not be empty")),
            ("   ", Err("must not be empty")),
            (
                "bad\u{0007}bell",
                Err("must not contain control or invisible formatting characters"),
            ),
            (
                "right\u{202E}left",
                Err("must not contain control or invisible formatting characters"),
            ),
        ];
        for (input, expected) in cases {
            let got = name("name", input, 200);
            match expected {
                Ok(value) => assert_eq!(got.as_deref(), Ok(value), "{input:?}"),
                Err(reason) => assert_eq!(got.unwrap_err().reason, reason, "{input:?}"),
            }
        }
        assert!(name("name", &"x".repeat(201), 200).is_err());
        assert!(name("name", &"é".repeat(200), 200).is_ok());
        assert!(name("name", &format!(" {} ", "x".repeat(198)), 200).is_ok());
        assert!(name("name", &format!(" {} ", "x".repeat(199)), 200).is_err());
    }

    #[test]
    fn service_lists_refuse_unknown_and_repeated_codes() {
        let allowed = |c: &str| c == "EXCHANGE" || c == "TEAMS";
        let list = |codes: &[&str]| codes.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(
            service_list(&list(&["EXCHANGE", "TEAMS"]), allowed, "known"),
            Ok(())
        );
        assert_eq!(service_list(&list(&[]), allowed, "known"), Ok(()));
        assert_eq!(
            service_list(&list(&["EXCHANGE", "INTUNE"]), allowed, "known"),
            Err("\"INTUNE\" is not known".to_owned())
        );
        assert_eq!(
            service_list(&list(&["TEAMS", "TEAMS"]), allowed, "known"),
            Err("\"TEAMS\" is listed twice".to_owned())
        );
    }

    #[test]
    fn emails_need_one_at_and_a_dotted_domain() {
        let good = ["ada@contoso.com", " bob.smith+csp@fabrikam.co.uk "];
        let bad = [
            "",
            "no-at",
            "@contoso.com",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@com.",
            "a\u{7}@b.com",
        ];
        for input in good {
            assert!(email(input).is_ok(), "{input:?}");
        }
        for input in bad {
            assert!(email(input).is_err(), "{input:?}");
        }
        assert!(email(&format!("{}@x.com", "a".repeat(320))).is_err());
        let longest = format!("{}@x.com", "é".repeat(EMAIL_MAX - 8));
        assert_eq!(email(&format!(" {longest} ")), Ok(longest.clone()));
        assert!(email(&format!("  {longest} ")).is_err());
    }

    /// The classes the OpenAPI document's patterns are built from name exactly the characters
    /// the checks treat alike (every one of them is in the Basic Multilingual Plane).
    #[test]
    fn the_document_classes_name_exactly_the_characters_the_checks_use() {
        let class = |class: &str| regex::Regex::new(&format!("^[{class}]$")).unwrap();
        let (whitespace, forbidden) = (class(WHITESPACE_CLASS), class(NAME_FORBIDDEN_CLASS));
        for c in (0..=0xFFFF).filter_map(char::from_u32) {
            let text = c.to_string();
            assert_eq!(whitespace.is_match(&text), c.is_whitespace(), "{c:?}");
            let refused_in_a_name = name("name", &format!("a{c}b"), 10).is_err();
            assert_eq!(forbidden.is_match(&text), refused_in_a_name, "{c:?}");
        }
    }
}
