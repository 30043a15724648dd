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

/// `2026年3月5日 14:30`, in the offset the time was recorded in.
pub fn date_time(t: &DateTime<FixedOffset>) -> String {
    format!(
        "{} {:02}:{:02}",
        date(&t.date_naive()),
        t.hour(),
        t.minute()
    )
}

/// `2026年3月5日`.
pub fn date(d: &NaiveDate) -> String {
    d.format("%Y年%-m月%-d日").to_string()
}

/// `北纬 29.563012°，东经 106.551634°`: six decimals are about 10 cm.
pub fn gps(p: &GeoPoint) -> String {
    let (lat, lon) = (p.lat(), p.lon());
    format!(
        "{} {:.6}°，{} {:.6}°",
        if lat >= 0.0 { "北纬" } else { "南纬" },
        lat.abs(),
        if lon >= 0.0 { "东经" } else { "西经" },
        lon.abs()
    )
}

/// An EXIF `DateTimeOriginal` (`2026:03:05 14:31:02`) as `2026-03-05 14:31:02`,
/// with its offset when the file had one. Anything else is shown as written.
pub fn exif_time(raw: &str, offset: Option<&str>) -> String {
    let shown = match NaiveDateTime::parse_from_str(raw.trim(), "%Y:%m:%d %H:%M:%S") {
        Ok(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => raw.trim().to_string(),
    };
    match offset {
        Some(o) if !o.trim().is_empty() => format!("{shown} ({})", o.trim()),
        _ => shown,
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
        let p = GeoPoint::from_degrees(29.5630123, 106.5516345).unwrap();
        assert_eq!(gps(&p), "北纬 29.563012°，东经 106.551635°");
        let s = GeoPoint::from_degrees(-33.5, -70.25).unwrap();
        assert_eq!(gps(&s), "南纬 33.500000°，西经 70.250000°");
        assert_eq!(
            exif_time("2026:03:05 14:31:02", Some("+08:00")),
            "2026-03-05 14:31:02 (+08:00)"
        );
        assert_eq!(exif_time("garbage", None), "garbage");
    }
}
