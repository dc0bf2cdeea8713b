//! `exp`, `nbf` and `iat` are NumericDates (RFC 7519, section 2): seconds since the epoch, which
//! may have a fraction (`1767225600.5`). They are kept as whole seconds, the fraction dropped;
//! jsonwebtoken enforces `exp` and `nbf` itself, from the token's own values, with the leeway.

use serde::de::{self, Deserializer, Visitor};

/// A NumericDate, integer or with a fraction, as whole seconds; refused when negative, not a
/// number or beyond `u64`.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    deserializer.deserialize_any(Seconds)
}

/// An optional NumericDate (absent or `null`: none).
pub fn deserialize_option<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    deserializer.deserialize_option(OptionalSeconds)
}

struct Seconds;

impl Visitor<'_> for Seconds {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a NumericDate: non-negative seconds since the epoch")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        Ok(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
        u64::try_from(value).map_err(|_| E::custom("a NumericDate cannot be negative"))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<u64, E> {
        // 2^64 is exactly representable; every finite value below it floors into a u64.
        if value.is_finite() && (0.0..18_446_744_073_709_551_616.0).contains(&value) {
            Ok(value.floor() as u64)
        } else {
            Err(E::custom(
                "a NumericDate must be a non-negative number of seconds",
            ))
        }
    }
}

struct OptionalSeconds;

impl<'de> Visitor<'de> for OptionalSeconds {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a NumericDate or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<u64>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<u64>, D::Error> {
        deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Dates {
        #[serde(deserialize_with = "super::deserialize")]
        exp: u64,
        #[serde(default, deserialize_with = "super::deserialize_option")]
        nbf: Option<u64>,
    }

    fn parse(json: &str) -> Result<Dates, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn whole_and_fractional_seconds_are_accepted() {
        let dates = parse(r#"{"exp": 1767225600}"#).unwrap();
        assert_eq!((dates.exp, dates.nbf), (1_767_225_600, None));
        let dates = parse(r#"{"exp": 1767225600.999, "nbf": 1767225000.25}"#).unwrap();
        assert_eq!((dates.exp, dates.nbf), (1_767_225_600, Some(1_767_225_000)));
        assert_eq!(parse(r#"{"exp": 1e9, "nbf": null}"#).unwrap().nbf, None);
    }

    #[test]
    fn negative_huge_and_non_numeric_dates_are_refused() {
        for bad in [
            r#"{"exp": -1}"#,
            r#"{"exp": -0.5}"#,
            r#"{"exp": 1e20}"#,
            r#"{"exp": "1767225600"}"#,
            r#"{"exp": true}"#,
            r#"{"exp": 1, "nbf": "soon"}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
