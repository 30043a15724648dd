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

/// A day as the notice writes one: 2026年3月5日.
pub fn day_zh(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// An instant as every screen and document shows it, in China Standard Time
/// whatever the machine's own zone or locale: 2026年3月5日 14:30.
pub fn minute_zh(t: DateTime<Utc>) -> String {
    use chrono::Timelike;
    let local = t.with_timezone(&china());
    format!(
        "{} {:02}:{:02}",
        day_zh(local.date_naive()),
        local.hour(),
        local.minute()
    )
}

/// A span of time in words: 45分钟, 3小时12分, 2天3小时.
pub fn duration_zh(d: chrono::Duration) -> String {
    let minutes = d.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours, mins) {
        (0, 0, m) => format!("{m}分钟"),
        (0, h, 0) => format!("{h}小时"),
        (0, h, m) => format!("{h}小时{m}分"),
        (d, 0, _) => format!("{d}天"),
        (d, h, _) => format!("{d}天{h}小时"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_in_chinese() {
        let m = chrono::Duration::minutes;
        assert_eq!(duration_zh(m(45)), "45分钟");
        assert_eq!(duration_zh(m(180)), "3小时");
        assert_eq!(duration_zh(m(192)), "3小时12分");
        assert_eq!(duration_zh(m(3 * 1440 + 61)), "3天1小时");
        assert_eq!(duration_zh(m(2 * 1440)), "2天");
        assert_eq!(duration_zh(m(-5)), "0分钟");
    }

    #[test]
    fn times_read_as_the_notice_writes_them_in_china_time() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(minute_zh(t("2026-03-05T06:30:59Z")), "2026年3月5日 14:30");
        assert_eq!(minute_zh(t("2026-12-31T16:05:00Z")), "2027年1月1日 00:05");
        assert_eq!(
            day_zh(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()),
            "2026年10月1日"
        );
    }

    #[test]
    fn late_evening_utc_is_already_tomorrow_in_china() {
        let t = DateTime::parse_from_rfc3339("2026-11-20T16:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(china_date(t).to_string(), "2026-11-21");
    }
}
