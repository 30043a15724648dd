//! Format sniffing from the bytes themselves; the file name is only checked against it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The container format of a photo, as found in its bytes.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    /// HEIC/HEIF: accepted as opaque hashed bytes, never decoded or converted.
    Heic,
}

impl Format {
    /// File-name extensions (lowercase) that this format is saved under.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Format::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            Format::Png => &["png"],
            Format::Webp => &["webp"],
            Format::Heic => &["heic", "heif", "hif"],
        }
    }
}

impl Format {
    /// The media type a browser or web view may show inline: JPEG, PNG and WebP.
    /// HEIC is `None`: browsers do not show it, so it is served as a download.
    pub fn browser_type(self) -> Option<&'static str> {
        match self {
            Format::Jpeg => Some("image/jpeg"),
            Format::Png => Some("image/png"),
            Format::Webp => Some("image/webp"),
            Format::Heic => None,
        }
    }
}

/// The `Content-Type` to serve stored bytes under: an image type only for the
/// formats a browser shows safely (found in the bytes, never trusted from a name),
/// anything else `application/octet-stream`, which downloads.
pub fn content_type(bytes: &[u8]) -> &'static str {
    sniff(bytes)
        .and_then(Format::browser_type)
        .unwrap_or("application/octet-stream")
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Webp => "WebP",
            Format::Heic => "HEIC",
        })
    }
}

/// Brands of an ISO-BMFF `ftyp` box that mean an HEVC-coded HEIF image.
const HEIF_BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
];

/// The format of `bytes`, or `None` if it is no photo format we accept.
pub fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Format::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some(Format::Webp);
    }
    if is_heif(bytes) {
        return Some(Format::Heic);
    }
    None
}

fn is_heif(bytes: &[u8]) -> bool {
    if bytes.len() < 16 || &bytes[4..8] != b"ftyp" {
        return false;
    }
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    if size < 16 || size > bytes.len() || !size.is_multiple_of(4) {
        return false;
    }
    let major = &bytes[8..12];
    // AVIF shares the `mif1` brand but is AV1-coded: not a HEIC photo.
    if major == b"avif" || major == b"avis" {
        return false;
    }
    // Major brand, then minor version, then compatible brands to the end of the box.
    std::iter::once(major)
        .chain(bytes[16..size].chunks_exact(4))
        .any(|brand| HEIF_BRANDS.iter().any(|b| b.as_slice() == brand))
}

/// The lowercase extension of a file name, if it has one.
pub fn extension_of(name: &str) -> Option<String> {
    let file = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (stem, ext) = file.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_browser_safe_formats_get_an_image_type() {
        use super::content_type;
        assert_eq!(content_type(&[0xFF, 0xD8, 0xFF, 0xE0]), "image/jpeg");
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(content_type(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(
            content_type(b"<svg onload=alert(1)>"),
            "application/octet-stream"
        );
        assert_eq!(content_type(b"\x89PN"), "application/octet-stream");
    }

    use super::*;

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len() as u32;
        let mut b = size.to_be_bytes().to_vec();
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0, 0, 0, 0]);
        for c in compatible {
            b.extend_from_slice(*c);
        }
        b.extend_from_slice(b"\0\0\0\x08meta");
        b
    }

    #[test]
    fn heic_by_major_or_compatible_brand() {
        assert_eq!(sniff(&ftyp(b"heic", &[b"mif1"])), Some(Format::Heic));
        assert_eq!(sniff(&ftyp(b"mif1", &[b"heic"])), Some(Format::Heic));
        assert_eq!(
            sniff(&ftyp(b"isom", &[b"mp42"])),
            None,
            "an MP4 video is not a photo"
        );
        assert_eq!(sniff(&ftyp(b"avif", &[b"mif1"])), None, "AVIF is not HEIC");
    }

    #[test]
    fn magic_numbers() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Format::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8L"), Some(Format::Webp));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"%PDF-1.7"), None);
    }

    #[test]
    fn extensions_are_case_insensitive_and_need_a_stem() {
        assert_eq!(extension_of("IMG_0001.JPG").as_deref(), Some("jpg"));
        assert_eq!(extension_of("dir.d/photo").as_deref(), None);
        assert_eq!(extension_of(".hidden"), None);
        assert_eq!(extension_of("a.b.heic").as_deref(), Some("heic"));
    }
}
