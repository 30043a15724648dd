//! The EXIF fields that matter for evidence: when, with what, where, which way up.

use std::io::Cursor;

use exif::{Exif, In, Rational, Tag, Value};
use fieldlead_domain::GeoPoint;
use serde::{Deserialize, Serialize};

/// What a photo's EXIF says about its capture. Every field is optional: many files
/// (screenshots, edited copies) carry none of it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExifSummary {
    /// Exactly as written, e.g. `"2022:08:14 14:12:31"` (camera local time).
    pub datetime_original: Option<String>,
    /// The UTC offset of `datetime_original` if the camera recorded it, e.g. `"+08:00"`.
    pub offset_time_original: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub software: Option<String>,
    /// EXIF orientation, 1..=8.
    pub orientation: Option<u16>,
    pub gps: Option<GeoPoint>,
}

impl ExifSummary {
    /// Reads the summary from any container kamadak-exif understands (JPEG, PNG,
    /// WebP, HEIF, TIFF). Missing or unreadable EXIF is an empty summary, not an
    /// error: the photo is still evidence.
    pub fn read(bytes: &[u8]) -> ExifSummary {
        match exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) {
            Ok(exif) => ExifSummary::from_exif(&exif),
            Err(_) => ExifSummary::default(),
        }
    }

    fn from_exif(exif: &Exif) -> ExifSummary {
        ExifSummary {
            datetime_original: ascii(exif, Tag::DateTimeOriginal, false),
            offset_time_original: ascii(exif, Tag::OffsetTimeOriginal, true),
            make: ascii(exif, Tag::Make, true),
            model: ascii(exif, Tag::Model, true),
            software: ascii(exif, Tag::Software, true),
            orientation: exif
                .get_field(Tag::Orientation, In::PRIMARY)
                .and_then(|f| f.value.get_uint(0))
                .filter(|o| (1..=8).contains(o))
                .map(|o| o as u16),
            gps: gps(exif),
        }
    }
}

/// An ASCII field's first string; NUL padding is dropped, and for names the space
/// padding some cameras add. Empty strings count as absent.
fn ascii(exif: &Exif, tag: Tag, trim: bool) -> Option<String> {
    let field = exif.get_field(tag, In::PRIMARY)?;
    let Value::Ascii(ref parts) = field.value else {
        return None;
    };
    let raw = parts.first()?;
    // A camera's text is not a person's: control and bidi characters are dropped
    // rather than refused, so the photo can still be sealed as evidence.
    let s = fieldlead_domain::text::strip_forbidden(&String::from_utf8_lossy(raw));
    let s = s.trim_end_matches('\0');
    let s = if trim { s.trim() } else { s };
    (!s.is_empty()).then(|| s.to_string())
}

fn gps(exif: &Exif) -> Option<GeoPoint> {
    let lat = coordinate(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'N', b'S')?;
    let lon = coordinate(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'E', b'W')?;
    GeoPoint::new(lat, lon).ok()
}

/// Degrees, minutes, seconds and a hemisphere reference as integer 1e-7 degrees.
/// Without a valid reference the hemisphere would be a guess, and a wrong place is
/// worse than none.
fn coordinate(exif: &Exif, value: Tag, reference: Tag, positive: u8, negative: u8) -> Option<i32> {
    let sign = match exif.get_field(reference, In::PRIMARY)?.value {
        Value::Ascii(ref parts) => match parts.first()?.first()?.to_ascii_uppercase() {
            b if b == positive => 1,
            b if b == negative => -1,
            _ => return None,
        },
        _ => return None,
    };
    let Value::Rational(ref dms) = exif.get_field(value, In::PRIMARY)?.value else {
        return None;
    };
    let e7 = dms_to_e7(dms)?;
    i32::try_from(sign * e7).ok()
}

/// Exact rational arithmetic, rounded once at the end (half away from zero).
fn dms_to_e7(dms: &[Rational]) -> Option<i64> {
    let part = |i: usize, scale: u128| -> Option<(u128, u128)> {
        match dms.get(i) {
            Some(r) if r.denom != 0 => Some((u128::from(r.num), u128::from(r.denom) * scale)),
            Some(_) => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn r(num: u32, denom: u32) -> Rational {
        Rational { num, denom }
    }

    #[test]
    fn dms_converts_exactly_and_rounds_half_up() {
        // 29°33'46.8" = 29.563°
        assert_eq!(
            dms_to_e7(&[r(29, 1), r(33, 1), r(468, 10)]),
            Some(295_630_000)
        );
        // decimal minutes only
        assert_eq!(dms_to_e7(&[r(106, 1), r(3306, 100)]), Some(1_065_510_000));
        // 0.00000005° rounds to 1e-7
        assert_eq!(dms_to_e7(&[r(5, 100_000_000)]), Some(1));
        assert_eq!(
            dms_to_e7(&[r(1, 0), r(0, 1), r(0, 1)]),
            None,
            "0 denominators mean no fix"
        );
        assert_eq!(dms_to_e7(&[]), None);
        let huge = [
            r(u32::MAX, u32::MAX - 1),
            r(u32::MAX, u32::MAX),
            r(u32::MAX, u32::MAX),
        ];
        assert_eq!(dms_to_e7(&huge), Some(10_169_444));
    }

    #[test]
    fn no_exif_is_an_empty_summary() {
        assert_eq!(
            ExifSummary::read(b"not a container"),
            ExifSummary::default()
        );
    }
}
