//! Dates as the answers write them, `YYYY-MM-DD`, without the formatting machinery: a page of
//! the renewals pipeline writes fifty or more of them, and chrono's `Display` costs ten times
//! what writing ten bytes does.

use chrono::{Datelike, NaiveDate};
use serde::Serializer;

/// Serialises `date` as `YYYY-MM-DD`, exactly as chrono's `Serialize` does (years outside
/// 0–9999, which chrono writes with a sign, go through chrono).
pub fn iso<S: Serializer>(date: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    let Ok(year) = u16::try_from(date.year()) else {
        return serializer.collect_str(date);
    };
    if year > 9999 {
        return serializer.collect_str(date);
    }
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let (year, month, day) = (u32::from(year), date.month(), date.day());
    let bytes = [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ];
    serializer.serialize_str(std::str::from_utf8(&bytes).map_err(serde::ser::Error::custom)?)
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, Days, NaiveDate};
    use serde::Serialize;

    #[derive(Serialize)]
    struct Fast(#[serde(serialize_with = "super::iso")] NaiveDate);

    fn both(date: NaiveDate) -> (String, String) {
        let fast = serde_json::to_string(&Fast(date)).unwrap();
        let chrono = serde_json::to_string(&date).unwrap();
        (fast, chrono)
    }

    #[test]
    fn every_day_of_four_centuries_is_written_as_chrono_writes_it() {
        let mut date = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
        while date.year() < 2300 {
            let (fast, chrono) = both(date);
            assert_eq!(fast, chrono);
            date = date + Days::new(1);
        }
    }

    #[test]
    fn years_at_and_beyond_the_four_digit_edges_are_written_as_chrono_writes_them() {
        for (y, m, d) in [
            (0, 1, 1),
            (9, 2, 3),
            (999, 12, 31),
            (9999, 12, 31),
            (10000, 1, 1),
        ] {
            let (fast, chrono) = both(NaiveDate::from_ymd_opt(y, m, d).unwrap());
            assert_eq!(fast, chrono, "{y}-{m}-{d}");
        }
        let (fast, chrono) = both(NaiveDate::from_ymd_opt(-1, 6, 15).unwrap());
        assert_eq!(fast, chrono);
        let (fast, chrono) = both(NaiveDate::MIN);
        assert_eq!(fast, chrono);
        let (fast, chrono) = both(NaiveDate::MAX);
        assert_eq!(fast, chrono);
    }
}
