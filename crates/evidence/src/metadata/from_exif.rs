//! EXIF, read with kamadak-exif in its continue-on-error mode: every readable
//! entry of the primary image (IFD0, its Exif and GPS IFDs), whatever else in the
//! file is broken; values are taken by tag number and accepted in any type a
//! writer used for them.

use std::io::Cursor;

use exif::{Context, Exif, Field, In, Value};

use super::container::{self, Container};
use super::{
    altitude_cm, dms_to_e7, parse_datetime, parse_offset, point, Found, MetaSource, Stamp,
};

const DATE_TIME_ORIGINAL: u16 = 0x9003;
const CREATE_DATE: u16 = 0x9004;
const OFFSET_TIME_ORIGINAL: u16 = 0x9011;
const OFFSET_TIME_DIGITIZED: u16 = 0x9012;
const ORIENTATION: u16 = 0x0112;
const MAKE: u16 = 0x010f;
const MODEL: u16 = 0x0110;
const SOFTWARE: u16 = 0x0131;
const GPS_LATITUDE_REF: u16 = 1;
const GPS_LATITUDE: u16 = 2;
const GPS_LONGITUDE_REF: u16 = 3;
const GPS_LONGITUDE: u16 = 4;
const GPS_ALTITUDE_REF: u16 = 5;
const GPS_ALTITUDE: u16 = 6;
const GPS_TIME_STAMP: u16 = 7;
const GPS_DATE_STAMP: u16 = 29;

/// What the file's EXIF holds; problems go to `warnings`.
pub(super) fn read(bytes: &[u8], warnings: &mut Vec<String>) -> Found {
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let read = match (Container::of(bytes), container::exif(bytes)) {
        (Container::Other, _) | (Container::Jpeg, None) => {
            reader.read_from_container(&mut Cursor::new(bytes))
        }
        (_, Some(raw)) => reader.read_raw(raw.into_owned()),
        (Container::Png | Container::WebP, None) => return Found::default(),
    };
    let exif = match read {
        Ok(exif) => exif,
        Err(exif::Error::PartialResult(partial)) => {
            let (exif, errors) = partial.into_inner();
            for e in errors {
                warnings.push(format!(
                    "EXIF 中有无法读取的条目，已跳过（{}）",
                    in_words(&e)
                ));
            }
            exif
        }
        // No EXIF, or a container kamadak-exif does not know (the format was
        // sniffed before; XMP may still be found).
        Err(exif::Error::NotFound(_) | exif::Error::InvalidFormat("Unknown image format")) => {
            return Found::default()
        }
        Err(e) => {
            warnings.push(format!("EXIF 无法读取（{}）", in_words(&e)));
            return Found::default();
        }
    };
    let fields = Fields(&exif);
    let mut found = Found {
        make: fields.text(&[Context::Tiff], MAKE, true),
        model: fields.text(&[Context::Tiff], MODEL, true),
        software: fields.text(&[Context::Tiff], SOFTWARE, true),
        ..Found::default()
    };
    // Some cameras put DateTimeOriginal in IFD0 instead of the Exif IFD.
    let places = [Context::Exif, Context::Tiff];
    for (tag, offset_tag, source, name) in [
        (
            DATE_TIME_ORIGINAL,
            OFFSET_TIME_ORIGINAL,
            MetaSource::ExifDateTimeOriginal,
            "DateTimeOriginal",
        ),
        (
            CREATE_DATE,
            OFFSET_TIME_DIGITIZED,
            MetaSource::ExifCreateDate,
            "CreateDate",
        ),
    ] {
        let Some(text) = fields.text(&places, tag, false) else {
            continue;
        };
        match parse_datetime(&text) {
            Some(Stamp { datetime, offset }) => {
                let offset = offset.or_else(|| {
                    let written = fields.text(&places, offset_tag, false)?;
                    let parsed = parse_offset(&written).flatten();
                    if parsed.is_none() {
                        warnings.push(format!("EXIF 时区「{written}」无法识别，已忽略"));
                    }
                    parsed
                });
                found.times.push((source, Stamp { datetime, offset }));
            }
            None => warnings.push(format!("EXIF {name}「{}」不是有效的时间", text.trim())),
        }
    }
    if let Some(field) = fields.get(&[Context::Tiff], ORIENTATION) {
        match integer(&field.value) {
            Some(o @ 1..=8) => found.orientation = Some(o as u16),
            _ => warnings.push(format!(
                "EXIF 方向值「{}」无效，已忽略",
                field.value.display_as(field.tag)
            )),
        }
    }
    gps(&fields, &mut found, warnings);
    found
}

/// What kamadak-exif found wrong, in Chinese for the reviewer.
fn in_words(e: &exif::Error) -> &'static str {
    match e {
        exif::Error::InvalidFormat(what) => match *what {
            "Truncated TIFF header"
            | "Truncated IFD count"
            | "Truncated IFD"
            | "Truncated next IFD offset"
            | "Truncated field value" => "数据被截断",
            "Invalid TIFF byte order" | "Invalid forty two" => "TIFF 文件头无效",
            "Too many IFDs" | "Limit the IFD count to 8" => "目录过多",
            "Already visited IFD detected" => "目录循环引用",
            "Invalid pointer" => "目录指针类型或位置错误",
            "Unexpected next IFD" => "子目录后有多余的目录",
            "Invalid entry count" => "条目数量无效",
            _ => "格式错误",
        },
        exif::Error::Io(_) => "读取出错",
        exif::Error::NotFound(_) => "未找到",
        _ => "内容无效",
    }
}

/// The first value of an integer field of any integer type (some writers use
/// signed ones).
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Byte(v) => v.first().map(|&n| i64::from(n)),
        Value::Short(v) => v.first().map(|&n| i64::from(n)),
        Value::Long(v) => v.first().map(|&n| i64::from(n)),
        Value::SByte(v) => v.first().map(|&n| i64::from(n)),
        Value::SShort(v) => v.first().map(|&n| i64::from(n)),
        Value::SLong(v) => v.first().map(|&n| i64::from(n)),
        _ => None,
    }
}

/// The primary image's fields, looked up by tag number in the given places.
struct Fields<'a>(&'a Exif);

impl Fields<'_> {
    fn get(&self, contexts: &[Context], number: u16) -> Option<&Field> {
        contexts.iter().find_map(|ctx| {
            self.0.fields().find(|f| {
                f.ifd_num == In::PRIMARY && f.tag.context() == *ctx && f.tag.number() == number
            })
        })
    }

    /// A text field's first string, whichever of ASCII, BYTE or UNDEFINED it was
    /// written as; NUL padding dropped, and for names the space padding some
    /// cameras add. Empty counts as absent.
    fn text(&self, contexts: &[Context], number: u16, trim: bool) -> Option<String> {
        let raw: &[u8] = match &self.get(contexts, number)?.value {
            Value::Ascii(parts) => parts.first()?,
            Value::Byte(b) | Value::Undefined(b, _) => b,
            _ => return None,
        };
        let raw = raw.split(|&b| b == 0).next().unwrap_or(raw);
        // A camera's text is not a person's: control and bidi characters are
        // dropped rather than refused, so the photo can still be sealed; bytes
        // that are no UTF-8 read as "?", as exiftool shows them.
        let lossy = String::from_utf8_lossy(raw).replace('\u{fffd}', "?");
        let s = fieldlead_domain::text::strip_forbidden(&lossy);
        let s = if trim { s.trim() } else { s.as_str() };
        (!s.trim().is_empty()).then(|| s.to_string())
    }

    /// The numbers of a field as exact fractions, whatever numeric type.
    fn fractions(&self, number: u16) -> Option<Vec<(u64, u64, bool)>> {
        let field = self.get(&[Context::Gps], number)?;
        let v: Vec<(u64, u64, bool)> = match &field.value {
            Value::Rational(r) => r
                .iter()
                .map(|r| (u64::from(r.num), u64::from(r.denom), false))
                .collect(),
            Value::SRational(r) => r
                .iter()
                .map(|r| {
                    let negative = (r.num < 0) != (r.denom < 0) && r.num != 0;
                    (
                        u64::from(r.num.unsigned_abs()),
                        u64::from(r.denom.unsigned_abs()),
                        negative,
                    )
                })
                .collect(),
            Value::Byte(_) | Value::Short(_) | Value::Long(_) => (0..)
                .map_while(|i| field.value.get_uint(i))
                .map(|n| (u64::from(n), 1, false))
                .collect(),
            Value::Float(_) | Value::Double(_) => {
                let floats: Vec<f64> = match &field.value {
                    Value::Float(f) => f.iter().map(|&x| f64::from(x)).collect(),
                    Value::Double(d) => d.clone(),
                    _ => Vec::new(),
                };
                floats
                    .into_iter()
                    .filter(|x| x.is_finite())
                    .map(|x| ((x.abs() * 1e9).round() as u64, 1_000_000_000, x < 0.0))
                    .collect()
            }
            Value::Ascii(parts) => {
                // "29 33 46.8" or "29.5630": the numbers in the text.
                let text = String::from_utf8_lossy(parts.first()?).into_owned();
                text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .filter(|s| !s.is_empty())
                    .map(|s| super::decimal_fraction(s).map(|(n, d)| (n, d, false)))
                    .collect::<Option<_>>()?
            }
            _ => return None,
        };
        (!v.is_empty()).then_some(v)
    }

    /// The first letter of a reference field (`N`, `S`, `E`, `W`), uppercased.
    fn reference(&self, number: u16) -> Option<u8> {
        let field = self.get(&[Context::Gps], number)?;
        let raw: &[u8] = match &field.value {
            Value::Ascii(parts) => parts.first()?,
            Value::Byte(b) | Value::Undefined(b, _) => b,
            _ => return None,
        };
        raw.iter()
            .find(|b| !b.is_ascii_whitespace() && **b != 0)
            .map(u8::to_ascii_uppercase)
    }
}

/// The GPS IFD: position (as exiftool reads it: a reference other than S or W,
/// or none, is north or east, said in a warning), altitude and fix time.
fn gps(fields: &Fields<'_>, found: &mut Found, warnings: &mut Vec<String>) {
    let coordinate = |value: u16,
                      reference: u16,
                      (positive, negative): (u8, u8),
                      axis: &str,
                      warnings: &mut Vec<String>| {
        let parts = fields.fractions(value)?;
        let dms: Vec<(u64, u64)> = parts.iter().map(|&(n, d, _)| (n, d)).collect();
        let Some(e7) = dms_to_e7(&dms) else {
            warnings.push(format!("EXIF GPS {axis}的值无效（分母为 0），未采用"));
            return None;
        };
        let mut sign = if parts.iter().any(|&(_, _, neg)| neg) {
            -1
        } else {
            1
        };
        match fields.reference(reference) {
            Some(r) if r == negative => sign = -sign,
            Some(r) if r == positive => {}
            Some(r) => warnings.push(format!(
                "EXIF GPS {axis}参照「{}」无法识别，按{}读取",
                char::from(r),
                if negative == b'S' { "北纬" } else { "东经" }
            )),
            None => warnings.push(format!(
                "EXIF GPS 缺少{axis}参照，按{}读取",
                if negative == b'S' { "北纬" } else { "东经" }
            )),
        }
        Some(sign * e7)
    };
    let lat = coordinate(
        GPS_LATITUDE,
        GPS_LATITUDE_REF,
        (b'N', b'S'),
        "纬度",
        warnings,
    );
    let lon = coordinate(
        GPS_LONGITUDE,
        GPS_LONGITUDE_REF,
        (b'E', b'W'),
        "经度",
        warnings,
    );
    match (lat, lon) {
        (Some(lat), Some(lon)) => found.gps = point(lat, lon, warnings, "EXIF "),
        (Some(_), None) | (None, Some(_)) => {
            warnings.push("EXIF GPS 只有纬度或只有经度，未采用".into())
        }
        (None, None) => {}
    }
    if found.gps.is_none() {
        return;
    }
    if let Some(&(n, d, negative)) = fields
        .fractions(GPS_ALTITUDE)
        .and_then(|v| v.first().copied())
        .as_ref()
    {
        let below = fields
            .get(&[Context::Gps], GPS_ALTITUDE_REF)
            .and_then(|f| integer(&f.value))
            == Some(1);
        found.altitude_cm = altitude_cm(n, d, below != negative);
    }
    let date = fields.text(&[Context::Gps], GPS_DATE_STAMP, true);
    let time = fields.fractions(GPS_TIME_STAMP);
    if let (Some(date), Some(time)) = (date, time) {
        let hms: Option<Vec<u64>> = time
            .iter()
            .take(3)
            .map(|&(n, d, _)| (d != 0).then(|| n / d))
            .collect();
        let stamp = hms.and_then(|hms| {
            let (h, m, s) = (
                hms.first()?,
                hms.get(1).unwrap_or(&0),
                hms.get(2).unwrap_or(&0),
            );
            parse_datetime(&format!("{} {h:02}:{m:02}:{s:02}", date.trim()))
        });
        match stamp {
            Some(s) => found.gps_time = Some(s.datetime),
            None => warnings.push(format!("EXIF GPS 时间「{}」无效，已忽略", date.trim())),
        }
    }
}

#[cfg(test)]
mod tests {
    use exif::experimental::Writer;
    use exif::{Rational, SRational, Tag};

    use super::super::ExifSummary;
    use super::*;

    /// A JPEG holding only an APP1 EXIF segment with these fields.
    fn jpeg_with(fields: &[Field]) -> Vec<u8> {
        let mut writer = Writer::new();
        for f in fields {
            writer.push_field(f);
        }
        let mut tiff = Cursor::new(Vec::new());
        writer.write(&mut tiff, false).unwrap();
        let tiff = tiff.into_inner();
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe1];
        jpeg.extend(((tiff.len() + 8) as u16).to_be_bytes());
        jpeg.extend(b"Exif\0\0");
        jpeg.extend(tiff);
        jpeg.extend([0xff, 0xd9]);
        jpeg
    }

    fn field(ctx: Context, number: u16, value: Value) -> Field {
        Field {
            tag: Tag(ctx, number),
            ifd_num: In::PRIMARY,
            value,
        }
    }

    fn ascii(s: &str) -> Value {
        Value::Ascii(vec![s.as_bytes().to_vec()])
    }

    fn r(num: u32, denom: u32) -> Rational {
        Rational { num, denom }
    }

    #[test]
    fn capture_time_falls_back_to_create_date_and_is_found_in_ifd0_too() {
        let s = ExifSummary::read(&jpeg_with(&[
            field(Context::Exif, CREATE_DATE, ascii("2024:05:06 07:08:09")),
            field(Context::Exif, OFFSET_TIME_DIGITIZED, ascii("+08:00")),
            field(Context::Exif, OFFSET_TIME_ORIGINAL, ascii("+09:00")),
        ]));
        assert_eq!(s.datetime_original.as_deref(), Some("2024:05:06 07:08:09"));
        assert_eq!(s.datetime_source, Some(MetaSource::ExifCreateDate));
        assert_eq!(
            s.offset_time_original.as_deref(),
            Some("+08:00"),
            "its own offset"
        );

        let s = ExifSummary::read(&jpeg_with(&[
            field(
                Context::Tiff,
                DATE_TIME_ORIGINAL,
                ascii("2024:05:06 07:08:10"),
            ),
            field(Context::Exif, CREATE_DATE, ascii("2024:05:06 07:08:09")),
        ]));
        assert_eq!(s.datetime_original.as_deref(), Some("2024:05:06 07:08:10"));
        assert_eq!(s.datetime_source, Some(MetaSource::ExifDateTimeOriginal));

        // A zero DateTimeOriginal is passed over, with a warning.
        let s = ExifSummary::read(&jpeg_with(&[
            field(
                Context::Exif,
                DATE_TIME_ORIGINAL,
                ascii("0000:00:00 00:00:00"),
            ),
            field(Context::Exif, CREATE_DATE, ascii("2024:05:06 07:08:09")),
        ]));
        assert_eq!(s.datetime_source, Some(MetaSource::ExifCreateDate));
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    }

    #[test]
    fn gps_in_the_forms_devices_write() {
        let lat = Value::Rational(vec![r(29, 1), r(33, 1), r(468, 10)]);
        let lon = Value::Rational(vec![r(106, 1), r(3306, 100)]);
        // Lower-case references, altitude below sea level, a fix time.
        let s = ExifSummary::read(&jpeg_with(&[
            field(Context::Gps, GPS_LATITUDE_REF, ascii("s")),
            field(Context::Gps, GPS_LATITUDE, lat.clone()),
            field(Context::Gps, GPS_LONGITUDE_REF, ascii("w")),
            field(Context::Gps, GPS_LONGITUDE, lon.clone()),
            field(Context::Gps, GPS_ALTITUDE_REF, Value::Byte(vec![1])),
            field(
                Context::Gps,
                GPS_ALTITUDE,
                Value::Rational(vec![r(125, 10)]),
            ),
            field(Context::Gps, GPS_DATE_STAMP, ascii("2024:05:06")),
            field(
                Context::Gps,
                GPS_TIME_STAMP,
                Value::Rational(vec![r(23, 1), r(8, 1), r(95, 10)]),
            ),
        ]));
        let p = s.gps.expect("position");
        assert_eq!((p.lat_e7(), p.lon_e7()), (-295_630_000, -1_065_510_000));
        assert_eq!(s.gps_source, Some(MetaSource::Exif));
        assert_eq!(s.gps_altitude_cm, Some(-1250));
        assert_eq!(s.gps_time.as_deref(), Some("2024:05:06 23:08:09"));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);

        // No references at all: north and east, as exiftool reads it, said twice.
        let s = ExifSummary::read(&jpeg_with(&[
            field(Context::Gps, GPS_LATITUDE, lat),
            field(Context::Gps, GPS_LONGITUDE, lon),
        ]));
        let p = s.gps.expect("position");
        assert_eq!((p.lat_e7(), p.lon_e7()), (295_630_000, 1_065_510_000));
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);

        // Signed rationals carry their own sign; decimal degrees as text.
        let s = ExifSummary::read(&jpeg_with(&[
            field(
                Context::Gps,
                GPS_LATITUDE,
                Value::SRational(vec![SRational {
                    num: -29563,
                    denom: 1000,
                }]),
            ),
            field(Context::Gps, GPS_LONGITUDE_REF, ascii("E")),
            field(Context::Gps, GPS_LONGITUDE, ascii("106.551")),
        ]));
        let p = s.gps.expect("position");
        assert_eq!((p.lat_e7(), p.lon_e7()), (-295_630_000, 1_065_510_000));

        // A zero denominator is no fix, and says so.
        let s = ExifSummary::read(&jpeg_with(&[
            field(Context::Gps, GPS_LATITUDE_REF, ascii("N")),
            field(
                Context::Gps,
                GPS_LATITUDE,
                Value::Rational(vec![r(0, 0), r(0, 0), r(0, 0)]),
            ),
            field(Context::Gps, GPS_LONGITUDE_REF, ascii("E")),
            field(
                Context::Gps,
                GPS_LONGITUDE,
                Value::Rational(vec![r(106, 1)]),
            ),
        ]));
        assert_eq!(s.gps, None);
        assert!(!s.warnings.is_empty());
    }

    #[test]
    fn orientation_of_any_integer_type_and_text_fields_of_any_byte_type() {
        let s = ExifSummary::read(&jpeg_with(&[
            field(Context::Tiff, ORIENTATION, Value::SLong(vec![6])),
            field(
                Context::Tiff,
                MAKE,
                Value::Undefined(b"HMD Global\0".to_vec(), 0),
            ),
            field(Context::Tiff, MODEL, ascii("Nokia 8.3 5G  ")),
        ]));
        assert_eq!(
            (s.orientation, s.orientation_source),
            (Some(6), Some(MetaSource::Exif))
        );
        assert_eq!(s.make.as_deref(), Some("HMD Global"));
        assert_eq!(s.model.as_deref(), Some("Nokia 8.3 5G"));

        let s = ExifSummary::read(&jpeg_with(&[field(
            Context::Tiff,
            ORIENTATION,
            Value::Short(vec![9]),
        )]));
        assert_eq!(s.orientation, None);
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    }
}
