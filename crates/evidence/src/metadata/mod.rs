//! The metadata that matters for evidence: when, with what, where, which way up,
//! and where each of those was read.
//!
//! Real files are untidy: a damaged or unexpected entry costs that entry only,
//! never the rest of the file, and each problem becomes a warning (as exiftool
//! warns). The capture time is taken from EXIF DateTimeOriginal, else EXIF
//! CreateDate (DateTimeDigitized), else XMP; orientation and GPS from EXIF, else
//! XMP; the summary names the source of each, so a reviewer reads "capture time
//! from XMP" rather than nothing. The corpus test (`tests/corpus.rs`) checks all
//! of it against exiftool on real cameras' and phones' files.

mod container;
mod from_exif;
mod from_xmp;

use fieldlead_domain::GeoPoint;
use serde::{Deserialize, Serialize};

/// What a photo's metadata says about its capture. Every field is optional: many
/// files (screenshots, edited copies) carry none of it. Every key is always
/// written (null when absent); summaries stored before the sources, altitude,
/// fix time and warnings were read have none of those.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExifSummary {
    /// The capture time in EXIF's form, `"2022:08:14 14:12:31"` (camera local
    /// time): as written in EXIF, or converted from an XMP date. Where it was
    /// read is `datetime_source`.
    pub datetime_original: Option<String>,
    /// The UTC offset of `datetime_original` if the camera recorded it, e.g.
    /// `"+08:00"` (EXIF OffsetTimeOriginal or OffsetTimeDigitized beside the
    /// time it belongs to, or the zone of an XMP date).
    pub offset_time_original: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub software: Option<String>,
    /// Orientation, 1..=8 (EXIF's values; XMP uses the same).
    pub orientation: Option<u16>,
    pub gps: Option<GeoPoint>,
    #[serde(default)]
    pub datetime_source: Option<MetaSource>,
    #[serde(default)]
    pub orientation_source: Option<MetaSource>,
    #[serde(default)]
    pub gps_source: Option<MetaSource>,
    /// Altitude of the GPS fix in centimetres above sea level (negative below).
    #[serde(default)]
    pub gps_altitude_cm: Option<i32>,
    /// When the GPS fix was taken, UTC, `"2022:08:14 06:12:30"`.
    #[serde(default)]
    pub gps_time: Option<String>,
    /// What could not be read, or was read with a guess, in words for the
    /// reviewer.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Where a value of the summary was read.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaSource {
    /// EXIF DateTimeOriginal (0x9003).
    ExifDateTimeOriginal,
    /// EXIF CreateDate, also called DateTimeDigitized (0x9004).
    ExifCreateDate,
    /// EXIF: IFD0 (orientation) or the GPS IFD.
    Exif,
    /// XMP `exif:DateTimeOriginal`.
    XmpDateTimeOriginal,
    /// XMP `xmp:CreateDate`.
    XmpCreateDate,
    /// XMP `photoshop:DateCreated`.
    XmpDateCreated,
    /// XMP: `tiff:Orientation`, `exif:GPSLatitude` and `exif:GPSLongitude`.
    Xmp,
}

impl MetaSource {
    /// How the reviewer reads it: "拍摄时间（来自 …）".
    pub fn label_zh(self) -> &'static str {
        match self {
            MetaSource::ExifDateTimeOriginal => "EXIF 原始拍摄时间",
            MetaSource::ExifCreateDate => "EXIF 数字化时间",
            MetaSource::Exif => "EXIF",
            MetaSource::XmpDateTimeOriginal => "XMP 原始拍摄时间",
            MetaSource::XmpCreateDate => "XMP 创建时间",
            MetaSource::XmpDateCreated => "XMP 图像创建日期",
            MetaSource::Xmp => "XMP",
        }
    }

    /// Whether a reviewer should know the value was not where cameras normally
    /// put it (anything but EXIF DateTimeOriginal and plain EXIF).
    pub fn is_fallback(self) -> bool {
        !matches!(self, MetaSource::ExifDateTimeOriginal | MetaSource::Exif)
    }
}

/// A capture time found in one place, before the choice among places.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    /// `YYYY:MM:DD HH:MM:SS`.
    datetime: String,
    offset: Option<String>,
}

/// What one kind of metadata (EXIF or XMP) holds, each in its own place.
#[derive(Debug, Default)]
struct Found {
    times: Vec<(MetaSource, Stamp)>,
    orientation: Option<u16>,
    gps: Option<GeoPoint>,
    altitude_cm: Option<i32>,
    gps_time: Option<String>,
    make: Option<String>,
    model: Option<String>,
    software: Option<String>,
}

impl ExifSummary {
    /// Reads the summary from a JPEG, PNG, WebP, HEIF or TIFF file. Missing or
    /// unreadable metadata is an empty summary (with warnings), not an error: the
    /// photo is still evidence.
    pub fn read(bytes: &[u8]) -> ExifSummary {
        let mut warnings = Vec::new();
        let exif = from_exif::read(bytes, &mut warnings);
        let xmp = container::xmp(bytes)
            .map(|packet| from_xmp::read(packet, &mut warnings))
            .unwrap_or_default();
        ExifSummary::choose(exif, xmp, warnings)
    }

    /// EXIF first, XMP where EXIF has nothing usable.
    fn choose(exif: Found, xmp: Found, warnings: Vec<String>) -> ExifSummary {
        let time = exif.times.iter().chain(&xmp.times).next().cloned();
        let (orientation, orientation_source) = match (exif.orientation, xmp.orientation) {
            (Some(o), _) => (Some(o), Some(MetaSource::Exif)),
            (None, Some(o)) => (Some(o), Some(MetaSource::Xmp)),
            (None, None) => (None, None),
        };
        let (gps, gps_source, gps_altitude_cm, gps_time) = match (exif.gps, xmp.gps) {
            (Some(p), _) => (
                Some(p),
                Some(MetaSource::Exif),
                exif.altitude_cm,
                exif.gps_time,
            ),
            (None, Some(p)) => (
                Some(p),
                Some(MetaSource::Xmp),
                xmp.altitude_cm,
                xmp.gps_time,
            ),
            (None, None) => (None, None, None, None),
        };
        ExifSummary {
            datetime_original: time.as_ref().map(|(_, s)| s.datetime.clone()),
            offset_time_original: time.as_ref().and_then(|(_, s)| s.offset.clone()),
            datetime_source: time.map(|(source, _)| source),
            make: exif.make,
            model: exif.model,
            software: exif.software,
            orientation,
            orientation_source,
            gps,
            gps_source,
            gps_altitude_cm,
            gps_time,
            warnings,
        }
    }
}

/// A date and time in EXIF's form, from EXIF text (`2022:08:14 14:12:31`, also
/// with `-` or `/` in the date, a `T`, or without seconds) or an XMP date
/// (`2022-08-14T14:12:31.5+08:00`); with the zone that came with it. `None`
/// for a blank, zero or partial value (a date without a time is no capture time).
fn parse_datetime(text: &str) -> Option<Stamp> {
    let t = text.trim().trim_end_matches('\0').trim();
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .map(|d| {
                std::str::from_utf8(d)
                    .unwrap_or("0")
                    .parse::<u32>()
                    .unwrap_or(0)
            })
    };
    let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    // A colon between date and time is a known camera slip.
    if !(sep(4, b":-/") && sep(7, b":-/") && sep(10, b" T:")) {
        return None;
    }
    let (hour, minute) = (digits(11..13)?, digits(14..16)?);
    if !sep(13, b":") {
        return None;
    }
    let (second, mut rest) = if sep(16, b":") {
        (digits(17..19)?, 19)
    } else {
        (0, 16)
    };
    // Fractions of a second are dropped; EXIF keeps them apart (SubSecTime).
    if sep(rest, b".,") {
        rest += 1;
        while b.get(rest).is_some_and(u8::is_ascii_digit) {
            rest += 1;
        }
    }
    let valid = (1..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour <= 24
        && minute <= 59
        && second <= 60;
    if !valid {
        return None;
    }
    let offset = parse_offset(&t[rest..]);
    if offset.is_none() && !t[rest..].trim().is_empty() {
        return None;
    }
    Some(Stamp {
        datetime: format!("{year:04}:{month:02}:{day:02} {hour:02}:{minute:02}:{second:02}"),
        offset: offset.flatten(),
    })
}

/// A UTC offset as `+08:00`: `Z` is `+00:00`. `Some(None)` for nothing at all,
/// `None` for something that is no offset.
fn parse_offset(text: &str) -> Option<Option<String>> {
    let t = text.trim().trim_end_matches('\0').trim();
    if t.is_empty() {
        return Some(None);
    }
    if t == "Z" {
        return Some(Some("+00:00".into()));
    }
    let b = t.as_bytes();
    let sign = match b.first()? {
        b'+' => '+',
        b'-' => '-',
        _ => return None,
    };
    let num = |r: std::ops::Range<usize>| {
        b.get(r)
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .and_then(|d| std::str::from_utf8(d).ok()?.parse::<u32>().ok())
    };
    let (h, m) = match b.len() {
        6 if b[3] == b':' => (num(1..3)?, num(4..6)?),
        5 => (num(1..3)?, num(3..5)?),
        3 => (num(1..3)?, 0),
        _ => return None,
    };
    (h <= 14 && m <= 59).then(|| Some(format!("{sign}{h:02}:{m:02}")))
}

/// Degrees, minutes and seconds as exact fractions (numerator, denominator),
/// missing parts zero, as integer 1e-7 degrees, rounded once (half away from
/// zero). `None` for a zero denominator (no fix) or a value out of range.
fn dms_to_e7(dms: &[(u64, u64)]) -> Option<i64> {
    let part = |i: usize, scale: u128| -> Option<(u128, u128)> {
        match dms.get(i) {
            Some(&(_, 0)) => None,
            Some(&(n, d)) => Some((u128::from(n), u128::from(d) * scale)),
            // Some writers give only degrees, or degrees and decimal minutes.
            None if i > 0 => Some((0, 1)),
            None => None,
        }
    };
    let (dn, dd) = part(0, 1)?;
    let (mn, md) = part(1, 60)?;
    let (sn, sd) = part(2, 3600)?;
    // value = dn/dd + mn/md + sn/sd; e7 = round(value * 1e7). Denominators that
    // overflow even u128 are not written by real devices; fall back to f64 for them.
    let exact = (|| {
        let denom = dd.checked_mul(md)?.checked_mul(sd)?;
        let numer = (dn.checked_mul(md)?.checked_mul(sd)?)
            .checked_add(mn.checked_mul(dd)?.checked_mul(sd)?)?
            .checked_add(sn.checked_mul(dd)?.checked_mul(md)?)?
            .checked_mul(10_000_000)?;
        Some((numer.checked_add(denom / 2)?) / denom)
    })();
    let e7 = match exact {
        Some(e7) => e7,
        None => {
            let v = dn as f64 / dd as f64 + mn as f64 / md as f64 + sn as f64 / sd as f64;
            (v * 1e7).round() as u128
        }
    };
    i64::try_from(e7).ok()
}

/// An altitude of `num / denom` metres (`below` sea level, or not) in whole
/// centimetres, rounded half up; `None` for a zero denominator or out of range.
fn altitude_cm(num: u64, denom: u64, below: bool) -> Option<i32> {
    if denom == 0 {
        return None;
    }
    let cm = (u128::from(num) * 100 + u128::from(denom) / 2) / u128::from(denom);
    i32::try_from(cm)
        .ok()
        .map(|cm| if below { -cm } else { cm })
}

/// A decimal number as an exact fraction: `"33.78"` is (3378, 100).
fn decimal_fraction(text: &str) -> Option<(u64, u64)> {
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) || frac.len() > 12 {
        return None;
    }
    let denom = 10u64.checked_pow(frac.len() as u32)?;
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    Some((int.checked_mul(denom)?.checked_add(frac)?, denom))
}

/// A latitude and longitude in 1e-7 degrees as a point; out of range is a
/// warning and no point.
fn point(lat: i64, lon: i64, warnings: &mut Vec<String>, place: &str) -> Option<GeoPoint> {
    let p = i32::try_from(lat)
        .ok()
        .zip(i32::try_from(lon).ok())
        .and_then(|(lat, lon)| GeoPoint::new(lat, lon).ok());
    if p.is_none() {
        warnings.push(format!("{place}的 GPS 坐标超出范围，未采用"));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dms_converts_exactly_and_rounds_half_up() {
        // 29°33'46.8" = 29.563°
        assert_eq!(dms_to_e7(&[(29, 1), (33, 1), (468, 10)]), Some(295_630_000));
        // decimal minutes only
        assert_eq!(dms_to_e7(&[(106, 1), (3306, 100)]), Some(1_065_510_000));
        // 0.00000005° rounds to 1e-7
        assert_eq!(dms_to_e7(&[(5, 100_000_000)]), Some(1));
        assert_eq!(
            dms_to_e7(&[(1, 0), (0, 1), (0, 1)]),
            None,
            "0 denominators mean no fix"
        );
        assert_eq!(dms_to_e7(&[]), None);
        let m = u64::from(u32::MAX);
        assert_eq!(dms_to_e7(&[(m, m - 1), (m, m), (m, m)]), Some(10_169_444));
    }

    #[test]
    fn capture_times_are_read_in_every_form_cameras_and_xmp_write() {
        let s = |d: &str, o: Option<&str>| {
            Some(Stamp {
                datetime: d.into(),
                offset: o.map(Into::into),
            })
        };
        assert_eq!(
            parse_datetime("2022:08:14 14:12:31"),
            s("2022:08:14 14:12:31", None)
        );
        assert_eq!(
            parse_datetime("2022:08:14 14:12:31\0"),
            s("2022:08:14 14:12:31", None)
        );
        assert_eq!(
            parse_datetime("2022-08-14T14:12:31.25+08:00"),
            s("2022:08:14 14:12:31", Some("+08:00"))
        );
        assert_eq!(
            parse_datetime("2022-08-14T14:12Z"),
            s("2022:08:14 14:12:00", Some("+00:00"))
        );
        assert_eq!(
            parse_datetime("2022/08/14 14:12:31"),
            s("2022:08:14 14:12:31", None)
        );
        assert_eq!(
            parse_datetime("2003:08:27:00:09:15"),
            s("2003:08:27 00:09:15", None)
        );
        for bad in [
            "0000:00:00 00:00:00",
            "    :  :     :  :  ",
            "2022-08-14",
            "2022:13:01 00:00:00",
            "2022:08:14 14:12:31 junk",
            "",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad:?}");
        }
        assert_eq!(parse_offset("+0800"), Some(Some("+08:00".into())));
        assert_eq!(parse_offset("-05:30"), Some(Some("-05:30".into())));
        assert_eq!(parse_offset("   :  "), None);
    }

    #[test]
    fn decimals_are_exact_fractions() {
        assert_eq!(decimal_fraction("33.78"), Some((3378, 100)));
        assert_eq!(decimal_fraction("106"), Some((106, 1)));
        assert_eq!(decimal_fraction(".5"), Some((5, 10)));
        assert_eq!(decimal_fraction("-1"), None);
        assert_eq!(decimal_fraction(""), None);
    }

    #[test]
    fn no_metadata_is_an_empty_summary() {
        assert_eq!(
            ExifSummary::read(b"not a container"),
            ExifSummary::default()
        );
    }
}
