//! XMP: the packet (found by [`super::container::xmp`]) parsed as XML without
//! DTDs, and read for the capture time, orientation and GPS position that EXIF
//! may lack.

use super::{altitude_cm, decimal_fraction, dms_to_e7, parse_datetime, point, Found, MetaSource};

const NS_EXIF: &str = "http://ns.adobe.com/exif/1.0/";
const NS_XMP: &str = "http://ns.adobe.com/xap/1.0/";
const NS_PHOTOSHOP: &str = "http://ns.adobe.com/photoshop/1.0/";
const NS_TIFF: &str = "http://ns.adobe.com/tiff/1.0/";
const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// What the packet says; an unreadable packet is a warning.
pub(super) fn read(packet: &[u8], warnings: &mut Vec<String>) -> Found {
    let text = match std::str::from_utf8(packet) {
        Ok(t) => t,
        Err(_) => {
            warnings.push("XMP 不是 UTF-8 文本，未读取".into());
            return Found::default();
        }
    };
    let text = text
        .trim_start_matches('\u{feff}')
        .trim_matches(|c: char| c == '\0' || c.is_whitespace());
    let doc = match roxmltree::Document::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            warnings.push(format!("XMP 无法解析（{e}），未读取"));
            return Found::default();
        }
    };
    let xmp = Xmp(&doc);
    let mut found = Found::default();
    for (ns, name, source) in [
        (NS_EXIF, "DateTimeOriginal", MetaSource::XmpDateTimeOriginal),
        (NS_XMP, "CreateDate", MetaSource::XmpCreateDate),
        (NS_PHOTOSHOP, "DateCreated", MetaSource::XmpDateCreated),
    ] {
        let Some(value) = xmp.get(ns, name) else {
            continue;
        };
        match parse_datetime(&value) {
            Some(stamp) => found.times.push((source, stamp)),
            None => warnings.push(format!("XMP {name}「{value}」不是完整的时间，未采用")),
        }
    }
    if let Some(value) = xmp.get(NS_TIFF, "Orientation") {
        match value.trim().parse::<u16>() {
            Ok(o @ 1..=8) => found.orientation = Some(o),
            _ => warnings.push(format!("XMP 方向值「{value}」无效，已忽略")),
        }
    }
    let lat = xmp.get(NS_EXIF, "GPSLatitude");
    let lon = xmp.get(NS_EXIF, "GPSLongitude");
    match (lat, lon) {
        (Some(lat), Some(lon)) => {
            match (coordinate(&lat, b'N', b'S'), coordinate(&lon, b'E', b'W')) {
                (Some(lat), Some(lon)) => found.gps = point(lat, lon, warnings, "XMP "),
                _ => warnings.push(format!("XMP GPS 坐标「{lat}」「{lon}」无法识别，未采用")),
            }
        }
        (None, None) => {}
        _ => warnings.push("XMP GPS 只有纬度或只有经度，未采用".into()),
    }
    if found.gps.is_some() {
        if let Some((n, d)) = xmp
            .get(NS_EXIF, "GPSAltitude")
            .as_deref()
            .and_then(rational)
        {
            let below = xmp
                .get(NS_EXIF, "GPSAltitudeRef")
                .is_some_and(|r| r.trim() == "1");
            found.altitude_cm = altitude_cm(n, d, below);
        }
        found.gps_time = xmp
            .get(NS_EXIF, "GPSTimeStamp")
            .and_then(|t| parse_datetime(&t))
            .map(|s| s.datetime);
    }
    found
}

/// Property lookup over a parsed packet.
struct Xmp<'a, 'input>(&'a roxmltree::Document<'input>);

impl Xmp<'_, '_> {
    /// A simple property's value, written as an attribute of an
    /// `rdf:Description` or as an element (the first item of an array).
    fn get(&self, ns: &str, name: &str) -> Option<String> {
        self.0
            .descendants()
            .filter(|n| n.is_element())
            .find_map(|n| {
                if let Some(v) = n.attribute((ns, name)) {
                    return Some(v.to_string());
                }
                if n.tag_name().namespace() != Some(ns) || n.tag_name().name() != name {
                    return None;
                }
                let item = n.descendants().find(|c| c.has_tag_name((NS_RDF, "li")));
                let text = item
                    .unwrap_or(n)
                    .text()
                    .map(str::trim)
                    .filter(|t| !t.is_empty());
                // The rdf:resource form, <exif:X rdf:resource="..."/>, is not a value.
                text.map(str::to_string)
            })
    }
}

/// An XMP GPS coordinate, `"29,33.78N"` or `"29,33,46.8N"` (or plain decimal
/// degrees), as signed 1e-7 degrees.
fn coordinate(text: &str, positive: u8, negative: u8) -> Option<i64> {
    let t = text.trim();
    let (body, sign) = match t.as_bytes().last()?.to_ascii_uppercase() {
        b if b == negative => (&t[..t.len() - 1], -1),
        b if b == positive => (&t[..t.len() - 1], 1),
        _ => match t.strip_prefix('-') {
            Some(rest) => (rest, -1),
            None => (t, 1),
        },
    };
    let parts: Vec<(u64, u64)> = body
        .split(',')
        .map(decimal_fraction)
        .collect::<Option<_>>()?;
    if parts.len() > 3 {
        return None;
    }
    Some(sign * dms_to_e7(&parts)?)
}

/// `"1234/10"` or `"123.4"` as a fraction with a non-zero denominator.
fn rational(text: &str) -> Option<(u64, u64)> {
    let (n, d) = match text.trim().split_once('/') {
        Some((n, d)) => (n.trim().parse().ok()?, d.trim().parse().ok()?),
        None => decimal_fraction(text)?,
    };
    (d != 0).then_some((n, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_in_xmp_form() {
        assert_eq!(coordinate("29,33.78N", b'N', b'S'), Some(295_630_000));
        assert_eq!(coordinate("106,33,18W", b'E', b'W'), Some(-1_065_550_000));
        assert_eq!(coordinate("29.563", b'N', b'S'), Some(295_630_000));
        assert_eq!(coordinate("29,x,1N", b'N', b'S'), None);
        assert_eq!(coordinate("", b'N', b'S'), None);
    }

    #[test]
    fn properties_as_attributes_elements_and_arrays() {
        let packet = br#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreateDate="2021-03-04T05:06:07+08:00"/>
<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/">
<tiff:Orientation>6</tiff:Orientation>
<exif:GPSLatitude>29,33.78N</exif:GPSLatitude><exif:GPSLongitude>106,33.06E</exif:GPSLongitude>
<exif:GPSAltitude>2375/10</exif:GPSAltitude>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"#;
        let mut warnings = Vec::new();
        let found = read(packet, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(found.times[0].0, MetaSource::XmpCreateDate);
        assert_eq!(found.times[0].1.datetime, "2021:03:04 05:06:07");
        assert_eq!(found.times[0].1.offset.as_deref(), Some("+08:00"));
        assert_eq!(found.orientation, Some(6));
        let gps = found.gps.expect("gps");
        assert_eq!((gps.lat_e7(), gps.lon_e7()), (295_630_000, 1_065_510_000));
        assert_eq!(found.altitude_cm, Some(23_750));
    }

    #[test]
    fn a_packet_with_a_dtd_or_broken_xml_is_a_warning() {
        let mut warnings = Vec::new();
        let found = read(
            br#"<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>"#,
            &mut warnings,
        );
        assert!(found.times.is_empty());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        read(b"<x:xmpmeta", &mut warnings);
        assert_eq!(warnings.len(), 2);
    }
}
