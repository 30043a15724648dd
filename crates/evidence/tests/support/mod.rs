//! Shared by the integration tests and the bench: photo-like pictures made here,
//! EXIF written by the real exiftool, and checks on what a store holds.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;

use image::codecs::jpeg::JpegEncoder;
use image::{GrayImage, Rgb, RgbImage};

/// A deterministic picture with what makes photos hard to compress and to hash:
/// smooth light, hard-edged objects and sensor noise.
pub fn photo_like(width: u32, height: u32, seed: u64) -> RgbImage {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut noise = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng >> 56) as i32 - 128
    };
    let (w, h) = (width as f32, height as f32);
    let shift = (seed % 7) as f32 / 7.0;
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / w, y as f32 / h);
        // sky-to-floor gradient
        let mut px = [
            (60.0 + 150.0 * fy) as i32,
            (90.0 + 100.0 * (fx + shift).fract()) as i32,
            (200.0 - 120.0 * fy) as i32,
        ];
        // a product box, a round label and a shelf edge
        if (0.15..0.45).contains(&fx) && (0.3..0.8).contains(&fy) {
            px = [200, 180, 40];
        }
        if (fx - 0.7).powi(2) * w / h + (fy - 0.4).powi(2) * h / w < 0.02 {
            px = [220, 30, 30];
        }
        if (0.85..0.87).contains(&fy) {
            px = [20, 20, 20];
        }
        let n = noise() / 12;
        Rgb(px.map(|c| (c + n).clamp(0, 255) as u8))
    })
}

pub fn jpeg_bytes(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .expect("encode JPEG");
    out
}

pub fn grey_jpeg_bytes(image: &GrayImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .expect("encode JPEG");
    out
}

/// Writes tags with the real exiftool, as a camera's file would carry them.
pub fn exiftool(file: &Path, tags: &[&str]) {
    let output = Command::new("exiftool")
        .args(["-q", "-q", "-overwrite_original", "-n"])
        .args(tags)
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run exiftool ({e}): run the project's setup script, which installs \
                 the Debian package libimage-exiftool-perl"
            )
        });
    assert!(
        output.status.success(),
        "exiftool {tags:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.expect("read dir entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The store holds no object and no temp file.
pub fn assert_store_empty(root: &Path) {
    let objects = files_under(&root.join("objects"));
    let temps = files_under(&root.join("tmp"));
    assert!(objects.is_empty(), "objects left behind: {objects:?}");
    assert!(temps.is_empty(), "temp files left behind: {temps:?}");
}

/// CRC-32 (ISO-HDLC) as PNG chunks use it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A small valid PNG whose IHDR is rewritten to declare `width` x `height`, with a
/// correct chunk CRC, as a crafted decompression bomb would be.
pub fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    GrayImage::new(1, 1)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode PNG");
    assert_eq!(&png[12..16], b"IHDR");
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// The smallest thing that sniffs as HEIC: an `ftyp` box with HEIF brands, then
/// opaque bytes standing in for the `meta` and `mdat` boxes.
pub fn heic_bytes() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&24u32.to_be_bytes());
    b.extend_from_slice(b"ftypheic");
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(b"mif1heic");
    b.extend_from_slice(&16u32.to_be_bytes());
    b.extend_from_slice(b"mdat\x00\x01\x02\x03\xDE\xAD\xBE\xEF");
    b
}
