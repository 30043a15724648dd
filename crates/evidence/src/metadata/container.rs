//! Where a JPEG, PNG or WebP file keeps its EXIF and XMP, found by walking the
//! file's own structure (segments, chunks) with every length checked. Writers
//! differ: EXIF with or without its `Exif\0\0` name, in a PNG's eXIf chunk or in
//! ImageMagick's hex "Raw profile" text, XMP under its standard or an older
//! segment name. HEIF and TIFF are left to kamadak-exif, and their XMP is
//! looked for in the bytes.

use std::borrow::Cow;

/// The name an XMP APP1 segment starts with, and the older form some writers use.
const JPEG_XMP: [&[u8]; 2] = [
    b"http://ns.adobe.com/xap/1.0/\0",
    b"XMP\0://ns.adobe.com/xap/1.0/\0",
];
/// The keyword of a PNG text chunk holding XMP.
const PNG_XMP: &[u8] = b"XML:com.adobe.xmp";
/// Keywords of ImageMagick's hex-encoded EXIF in PNG text chunks.
const PNG_RAW_EXIF: [&[u8]; 2] = [b"Raw profile type exif", b"Raw profile type APP1"];

/// The containers this module reads itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Container {
    Jpeg,
    Png,
    WebP,
    /// HEIF or TIFF: kamadak-exif finds the EXIF.
    Other,
}

impl Container {
    pub(super) fn of(bytes: &[u8]) -> Container {
        if bytes.starts_with(&[0xff, 0xd8]) {
            Container::Jpeg
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Container::Png
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Container::WebP
        } else {
            Container::Other
        }
    }
}

/// The TIFF-structured EXIF block of a JPEG, PNG or WebP file.
pub(super) fn exif(bytes: &[u8]) -> Option<Cow<'_, [u8]>> {
    match Container::of(bytes) {
        Container::Jpeg => jpeg_segments(bytes)
            .find(|(marker, payload)| *marker == 0xe1 && payload.starts_with(b"Exif\0"))
            .and_then(|(_, payload)| payload.get(6..))
            .map(Cow::Borrowed),
        Container::Png => png_chunks(bytes).find_map(|(kind, data)| match kind {
            b"eXIf" => Some(Cow::Borrowed(without_exif_name(data))),
            b"tEXt" => PNG_RAW_EXIF
                .iter()
                .find_map(|k| keyword_text(data, k))
                .and_then(raw_profile)
                .map(|b| Cow::Owned(without_exif_name(&b).to_vec())),
            _ => None,
        }),
        Container::WebP => webp_chunks(bytes)
            .find(|(kind, _)| kind == b"EXIF")
            .map(|(_, data)| Cow::Borrowed(without_exif_name(data))),
        Container::Other => None,
    }
}

/// The file's XMP packet, if it has one.
pub(super) fn xmp(bytes: &[u8]) -> Option<&[u8]> {
    match Container::of(bytes) {
        Container::Jpeg => jpeg_segments(bytes).find_map(|(marker, payload)| {
            (marker == 0xe1)
                .then(|| JPEG_XMP.iter().find_map(|name| payload.strip_prefix(*name)))
                .flatten()
        }),
        Container::Png => png_chunks(bytes).find_map(|(kind, data)| match kind {
            b"iTXt" => {
                let rest = keyword_text(data, PNG_XMP)?;
                // compression flag, method, language\0, translated keyword\0, text.
                // Compressed XMP is not written by cameras or phones.
                let (&0, rest) = rest.split_first()? else {
                    return None;
                };
                let mut parts = rest.get(1..)?.splitn(3, |&b| b == 0);
                let (_language, _translated) = (parts.next()?, parts.next()?);
                parts.next()
            }
            b"tEXt" => keyword_text(data, PNG_XMP),
            _ => None,
        }),
        Container::WebP => webp_chunks(bytes)
            .find(|(kind, _)| kind == b"XMP ")
            .map(|(_, data)| data),
        Container::Other => {
            let heif = bytes.get(4..8) == Some(b"ftyp");
            let tiff = bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*");
            (heif || tiff).then(|| scan(bytes)).flatten()
        }
    }
}

/// How far into a JPEG a lost marker is looked for.
const RESYNC_WITHIN: usize = 64 * 1024;

/// A JPEG's marker segments (marker, payload) up to the image data.
fn jpeg_segments(bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    let mut at = 2;
    std::iter::from_fn(move || loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while bytes.get(at) == Some(&0xff) && bytes.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        if bytes.get(at) != Some(&0xff) {
            // A segment whose length lies: go on at the next marker, as
            // exiftool does, within the first 64 KiB (metadata is at the start).
            let next = bytes
                .get(at..bytes.len().min(RESYNC_WITHIN))?
                .windows(2)
                .position(|w| w[0] == 0xff && (0xc0..=0xfe).contains(&w[1]))?;
            at += next;
        }
        let marker = *bytes.get(at + 1)?;
        match marker {
            // Start of scan, end of image: no metadata segments follow.
            0xda | 0xd9 => return None,
            // Markers without a length.
            0x01 | 0xd0..=0xd7 => {
                at += 2;
                continue;
            }
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let payload = bytes.get(at + 4..at + 2 + len.max(2))?;
        at += 2 + len;
        return Some((marker, payload));
    })
}

/// A PNG's chunks (type, data), CRCs unchecked (a bad CRC costs nothing here).
fn png_chunks(bytes: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut at = 8usize;
    std::iter::from_fn(move || {
        let head = bytes.get(at..at.checked_add(8)?)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let start = at + 8;
        let data = bytes.get(start..start.checked_add(len)?)?;
        at = start.checked_add(len)?.checked_add(4)?;
        Some((&head[4..8], data))
    })
}

/// A WebP file's RIFF chunks (fourcc, data).
fn webp_chunks(bytes: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut at = 12usize;
    std::iter::from_fn(move || {
        let head = bytes.get(at..at.checked_add(8)?)?;
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let start = at + 8;
        let data = bytes.get(start..start.checked_add(len)?)?;
        at = start.checked_add(len)?.checked_add(len % 2)?;
        Some((&head[..4], data))
    })
}

/// The text of a PNG text chunk with this keyword.
fn keyword_text<'a>(data: &'a [u8], keyword: &[u8]) -> Option<&'a [u8]> {
    data.strip_prefix(keyword)?.strip_prefix(b"\0")
}

/// EXIF as some writers store it in PNG and WebP: after JPEG's `Exif\0\0`.
fn without_exif_name(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"Exif\0\0").unwrap_or(data)
}

/// ImageMagick's "Raw profile": `\nexif\n   <length>\n<hex, in lines>`.
fn raw_profile(text: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(text).ok()?;
    let mut lines = text.trim_start().lines();
    let _name = lines.next()?;
    let len: usize = lines.next()?.trim().parse().ok()?;
    let hex: String = lines
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let bytes = hex::decode(hex.get(..len.checked_mul(2)?)?).ok()?;
    Some(bytes)
}

/// The first `<x:xmpmeta …>…</x:xmpmeta>` in the bytes.
fn scan(bytes: &[u8]) -> Option<&[u8]> {
    const END: &[u8] = b"</x:xmpmeta>";
    let start = find(bytes, b"<x:xmpmeta")?;
    let end = find(&bytes[start..], END)? + start + END.len();
    Some(&bytes[start..end])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: &[u8] = b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>";

    #[test]
    fn packets_and_exif_are_found_in_each_container() {
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0];
        for payload in [&b"Exif\0\0MM\0*"[..], &[JPEG_XMP[1], PACKET].concat()] {
            jpeg.extend([0xff, 0xe1]);
            jpeg.extend(((payload.len() + 2) as u16).to_be_bytes());
            jpeg.extend(payload);
        }
        jpeg.extend([0xff, 0xda, 0, 2]);
        assert_eq!(xmp(&jpeg), Some(PACKET));
        assert_eq!(exif(&jpeg).as_deref(), Some(&b"MM\0*"[..]));

        let mut webp = b"RIFF\0\0\0\0WEBPVP8 \x01\0\0\0\0\0".to_vec();
        for (kind, data) in [(b"EXIF", &b"Exif\0\0II*\0"[..]), (b"XMP ", PACKET)] {
            webp.extend(kind);
            webp.extend((data.len() as u32).to_le_bytes());
            webp.extend(data);
            if data.len() % 2 == 1 {
                webp.push(0);
            }
        }
        assert_eq!(xmp(&webp), Some(PACKET));
        assert_eq!(exif(&webp).as_deref(), Some(&b"II*\0"[..]));

        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let itxt = [PNG_XMP, b"\0\0\0\0\0", PACKET].concat();
        let raw = [PNG_RAW_EXIF[0], b"\0\nexif\n       4\n4d4d002a\n"].concat();
        for (kind, data) in [(b"iTXt", itxt), (b"tEXt", raw)] {
            png.extend((data.len() as u32).to_be_bytes());
            png.extend(kind);
            png.extend(&data);
            png.extend([0; 4]);
        }
        assert_eq!(xmp(&png), Some(PACKET));
        assert_eq!(exif(&png).as_deref(), Some(&b"MM\0*"[..]));
    }

    #[test]
    fn truncated_and_lying_lengths_find_nothing() {
        assert_eq!(xmp(b"\xff\xd8\xff"), None);
        assert_eq!(xmp(b"\xff\xd8\xff\xe1\xff\xff<x:xmpmeta"), None);
        assert_eq!(exif(b"\x89PNG\r\n\x1a\n\xff\xff\xff\xffeXIf"), None);
        assert_eq!(exif(b"RIFF\0\0\0\0WEBPEXIF\xff\xff\xff\xff"), None);
        assert_eq!(
            xmp(b"text that mentions <x:xmpmeta></x:xmpmeta>"),
            None,
            "not a photo"
        );
    }
}
