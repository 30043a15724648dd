//! Time as the notice's users read it: China Standard Time, UTC+8, all year (no
//! daylight saving). Dates on forms, lists and deadlines are dates in this zone.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// UTC+8.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The date in China at an instant.
pub fn china_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&china()).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_evening_utc_is_already_tomorrow_in_china() {
        let t = DateTime::parse_from_rfc3339("2026-11-20T16:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(china_date(t).to_string(), "2026-11-21");
    }
}
