//! How values read on paper: Chinese dates, coordinates, and long unbroken runs
//! made breakable so they wrap instead of running off the page.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Timelike};
use fieldlead_domain::GeoPoint;

/// A run of Latin letters or digits longer than this gets a break opportunity.
/// Chinese text breaks between any two characters anyway; a 200-character code
/// or URL would not.
const LONGEST_RUN: usize = 20;

/// Inserts a zero-width space into runs of more than [`LONGEST_RUN`] characters
/// that offer no line break, so the layout can wrap them. Invisible on paper;
/// text extraction joins the pieces again.
pub fn breakable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = 0;
    for c in s.chars() {
        if c.is_whitespace() || is_wide(c) || "-/,;.，、；。".contains(c) {
            run = 0;
        } else {
            run += 1;
            if run > LONGEST_RUN {
                out.push('\u{200B}');
                run = 1;
            }
        }
        out.push(c);
    }
    out
}

/// CJK and full-width characters, between which lines may break.
fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// `2026年3月5日 14:30`, in China Standard Time whatever offset the time was
/// recorded in (the domain's one format for every screen and document).
pub fn date_time(t: &DateTime<FixedOffset>) -> String {
    fieldlead_domain::time::minute_zh(t.with_timezone(&chrono::Utc))
}

/// `2026年3月5日`.
pub fn date(d: &NaiveDate) -> String {
    fieldlead_domain::time::day_zh(*d)
}

/// `北纬 29.563012°，东经 106.551634°`: the domain's wording of a point.
pub fn gps(p: &GeoPoint) -> String {
    p.label_zh()
}

/// An EXIF `DateTimeOriginal` (`2026:03:05 14:31:02`): in China time when the
/// file recorded its offset, else as the camera's clock said it, marked so.
/// Anything unreadable is shown as written.
pub fn exif_time(raw: &str, offset: Option<&str>) -> String {
    let Ok(t) = NaiveDateTime::parse_from_str(raw.trim(), "%Y:%m:%d %H:%M:%S") else {
        return raw.trim().to_string();
    };
    let offset = offset
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .and_then(|o| DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{o}")).ok())
        .map(|d| *d.offset());
    match offset.and_then(|o| t.and_local_timezone(o).single()) {
        Some(at) => date_time(&at),
        None => format!(
            "{} {:02}:{:02}（相机时钟，未记录时区）",
            date(&t.date()),
            t.hour(),
            t.minute()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_latin_runs_get_break_opportunities_and_chinese_is_untouched() {
        let code = "A".repeat(45);
        let b = breakable(&code);
        assert_eq!(b.replace('\u{200B}', ""), code);
        assert_eq!(b.matches('\u{200B}').count(), 2);
        let zh = "重庆市渝中区解放碑步行街八一路一百号".repeat(5);
        assert_eq!(breakable(&zh), zh);
        assert_eq!(breakable("GB/T 1234-2020 abc"), "GB/T 1234-2020 abc");
    }

    #[test]
    fn dates_and_places_read_the_chinese_way() {
        let t = DateTime::parse_from_rfc3339("2026-03-05T09:05:00+08:00").unwrap();
        assert_eq!(date_time(&t), "2026年3月5日 09:05");
        // Recorded elsewhere, printed in China time.
        let tokyo = DateTime::parse_from_rfc3339("2026-03-05T10:05:00+09:00").unwrap();
        assert_eq!(date_time(&tokyo), "2026年3月5日 09:05");
        let p = GeoPoint::from_degrees(29.5630123, 106.5516345).unwrap();
        assert_eq!(gps(&p), "北纬 29.563012°，东经 106.551635°");
        let s = GeoPoint::from_degrees(-33.5, -70.25).unwrap();
        assert_eq!(gps(&s), "南纬 33.500000°，西经 70.250000°");
        assert_eq!(
            exif_time("2026:03:05 14:31:02", Some("+08:00")),
            "2026年3月5日 14:31"
        );
        assert_eq!(
            exif_time("2026:03:05 14:31:02", Some("+09:00")),
            "2026年3月5日 13:31"
        );
        assert_eq!(
            exif_time("2026:03:05 14:31:02", None),
            "2026年3月5日 14:31（相机时钟，未记录时区）"
        );
        assert_eq!(exif_time("garbage", None), "garbage");
    }
}
