//! Decoding a photo under limits and deriving the one small, upright image that
//! both the thumbnail and the perceptual hash come from.

use std::io::Cursor;

use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::error::LimitErrorKind;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageError};

use crate::error::IntakeError;
use crate::intake::IntakeLimits;
use crate::sniff::Format;
use crate::THUMBNAIL_LONG_EDGE;

const THUMBNAIL_QUALITY: u8 = 80;

/// What a decodable photo yields besides its bytes.
#[derive(Debug)]
pub(crate) struct Rendered {
    pub width: u32,
    pub height: u32,
    pub thumbnail_jpeg: Vec<u8>,
    pub thumbnail_width: u32,
    pub thumbnail_height: u32,
    pub phash: u64,
}

/// Checks the container's completeness and the declared size, then decodes once and
/// renders the thumbnail and pHash. `orientation` is the EXIF value (1..=8).
pub(crate) fn render(
    bytes: &[u8],
    format: Format,
    limits: &IntakeLimits,
    orientation: Option<u16>,
) -> Result<Rendered, IntakeError> {
    let image = match format {
        Format::Jpeg => {
            check_jpeg_complete(bytes)?;
            let decoder = JpegDecoder::new(Cursor::new(bytes)).map_err(header_error)?;
            check_declared(decoder.dimensions(), bytes.len(), limits)?;
            decode(decoder, limits)?
        }
        Format::Png => {
            check_png_complete(bytes)?;
            let decoder = PngDecoder::new(Cursor::new(bytes)).map_err(header_error)?;
            check_declared(decoder.dimensions(), bytes.len(), limits)?;
            decode(decoder, limits)?
        }
        Format::Webp => {
            check_webp_complete(bytes)?;
            let decoder = WebPDecoder::new(Cursor::new(bytes)).map_err(header_error)?;
            check_declared(decoder.dimensions(), bytes.len(), limits)?;
            decode(decoder, limits)?
        }
        Format::Heic => unreachable!("HEIC is kept opaque and never rendered"),
    };
    let (width, height) = (image.width(), image.height());

    // Downscale first and orient the small image: rotating 12 megapixels would cost
    // more than the whole thumbnail.
    let mut small = if width.max(height) > THUMBNAIL_LONG_EDGE {
        downscale(&image, THUMBNAIL_LONG_EDGE)
    } else {
        image
    };
    if let Some(o) = orientation.and_then(|o| Orientation::from_exif(o as u8)) {
        small.apply_orientation(o);
    }
    let phash = crate::phash::perceptual_hash(&small);
    let rgb = small.into_rgb8();
    let mut thumbnail_jpeg = Vec::with_capacity(64 * 1024);
    JpegEncoder::new_with_quality(&mut thumbnail_jpeg, THUMBNAIL_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| IntakeError::Corrupt {
            detail: format!("缩略图编码失败：{e}"),
        })?;
    Ok(Rendered {
        width,
        height,
        thumbnail_jpeg,
        thumbnail_width: rgb.width(),
        thumbnail_height: rgb.height(),
        phash,
    })
}

/// Shrinks so the long edge is `long_edge`, keeping the aspect ratio. The SIMD
/// resizer is several times faster than `image`'s own on a 12-megapixel photo; the
/// pixel layouts it does not handle fall back to `image`.
fn downscale(image: &DynamicImage, long_edge: u32) -> DynamicImage {
    let (w, h) = (u64::from(image.width()), u64::from(image.height()));
    let long = u64::from(long_edge);
    let scaled = |a: u64, b: u64| ((a * long + b / 2) / b).clamp(1, long) as u32;
    let (tw, th) = if w >= h {
        (long_edge, scaled(h, w))
    } else {
        (scaled(w, h), long_edge)
    };
    let mut small = DynamicImage::new(tw, th, image.color());
    let options = fast_image_resize::ResizeOptions::new().resize_alg(
        fast_image_resize::ResizeAlg::Convolution(fast_image_resize::FilterType::Bilinear),
    );
    match fast_image_resize::Resizer::new().resize(image, &mut small, &options) {
        Ok(()) => small,
        Err(_) => image.resize_exact(tw, th, image::imageops::FilterType::Triangle),
    }
}

fn decode(
    mut decoder: impl ImageDecoder,
    limits: &IntakeLimits,
) -> Result<DynamicImage, IntakeError> {
    let (width, height) = decoder.dimensions();
    decoder
        .set_limits(limits.image_limits())
        .map_err(|e| decode_error(e, width, height, limits))?;
    DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e, width, height, limits))
}

/// A header that cannot even be parsed: cut short, or not really this format.
fn header_error(e: ImageError) -> IntakeError {
    match e {
        ImageError::IoError(ref io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            IntakeError::Truncated
        }
        other => IntakeError::Corrupt {
            detail: other.to_string(),
        },
    }
}

fn decode_error(e: ImageError, width: u32, height: u32, limits: &IntakeLimits) -> IntakeError {
    match e {
        // The decoder needs more memory than the limits allow: the picture is too big.
        ImageError::Limits(ref l)
            if matches!(
                l.kind(),
                LimitErrorKind::InsufficientMemory | LimitErrorKind::DimensionError
            ) =>
        {
            IntakeError::TooManyPixels {
                width,
                height,
                max_pixels: limits.max_pixels,
            }
        }
        other => header_error(other),
    }
}

/// Up to this many pixels a picture is decoded whatever its size in bytes: that is
/// cheap, and a small flat image may compress below a byte per thousand pixels.
const BOMB_FLOOR_PIXELS: u64 = 1 << 20;

/// Refuses a picture whose declared size is over the cap, before any pixel is
/// decoded. Far more pixels than the bytes could plausibly encode means a crafted
/// decompression bomb rather than a big photo, below the cap too: decoding costs
/// time and memory by the declared pixels, and the JPEG decoder fills a scan cut
/// short with grey, so a kilobyte could otherwise make a tablet decode, and keep,
/// a 100-megapixel grey picture.
fn check_declared(
    (width, height): (u32, u32),
    len: usize,
    limits: &IntakeLimits,
) -> Result<(), IntakeError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 {
        return Err(IntakeError::Corrupt {
            detail: format!("声明尺寸为 {width}×{height}"),
        });
    }
    let bytes = len as u64;
    if pixels > BOMB_FLOOR_PIXELS && pixels / bytes.max(1) > limits.max_pixels_per_byte {
        return Err(IntakeError::DecompressionBomb {
            width,
            height,
            bytes,
        });
    }
    if pixels > limits.max_pixels {
        return Err(IntakeError::TooManyPixels {
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

/// Walks the JPEG marker segments and entropy-coded scans to the EOI marker. The
/// decoder used here fills a cut-off scan with grey instead of failing, so a file
/// cut short in transfer must be caught by its structure.
fn check_jpeg_complete(b: &[u8]) -> Result<(), IntakeError> {
    let n = b.len();
    let malformed = |what: &str| IntakeError::Corrupt {
        detail: format!("JPEG 结构错误：{what}"),
    };
    let mut i = 2; // after SOI
    loop {
        if i + 1 >= n {
            return Err(IntakeError::Truncated);
        }
        if b[i] != 0xFF {
            return Err(malformed("标记缺失"));
        }
        let mut marker = b[i + 1];
        i += 2;
        while marker == 0xFF {
            // fill bytes before a marker
            let Some(&m) = b.get(i) else {
                return Err(IntakeError::Truncated);
            };
            marker = m;
            i += 1;
        }
        match marker {
            0xD9 => return Ok(()),
            0x01 | 0xD0..=0xD7 => continue,
            _ => {
                if i + 2 > n {
                    return Err(IntakeError::Truncated);
                }
                let len = usize::from(u16::from_be_bytes([b[i], b[i + 1]]));
                if len < 2 {
                    return Err(malformed("段长度无效"));
                }
                i += len;
                if i > n {
                    return Err(IntakeError::Truncated);
                }
                if marker == 0xDA {
                    // Entropy-coded data: 0xFF is either stuffed (FF 00) or a restart
                    // marker, until the next real marker.
                    loop {
                        let Some(off) = b[i..].iter().position(|&x| x == 0xFF) else {
                            return Err(IntakeError::Truncated);
                        };
                        i += off;
                        match b.get(i + 1) {
                            None => return Err(IntakeError::Truncated),
                            Some(0x00 | 0xD0..=0xD7) => i += 2,
                            Some(_) => break,
                        }
                    }
                }
            }
        }
    }
}

/// Walks the PNG chunks to IEND.
fn check_png_complete(b: &[u8]) -> Result<(), IntakeError> {
    let mut i = 8;
    loop {
        if i + 8 > b.len() {
            return Err(IntakeError::Truncated);
        }
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let kind = &b[i + 4..i + 8];
        let end = i
            .checked_add(12)
            .and_then(|x| x.checked_add(len))
            .ok_or(IntakeError::Truncated)?;
        if end > b.len() {
            return Err(IntakeError::Truncated);
        }
        if kind == b"IEND" {
            return Ok(());
        }
        i = end;
    }
}

/// A RIFF container states its own length.
fn check_webp_complete(b: &[u8]) -> Result<(), IntakeError> {
    let declared = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if b.len() < declared.saturating_add(8) {
        return Err(IntakeError::Truncated);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_walk_finds_eoi_past_stuffing_and_restarts() {
        let mut j = vec![0xFF, 0xD8];
        j.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0x00, 0x00]); // APP1 holding FF D9
        j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x04, 0x01, 0x02]); // SOS header
        j.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]); // scan data
        let complete = [j.as_slice(), &[0xFF, 0xD9]].concat();
        assert!(check_jpeg_complete(&complete).is_ok());
        for cut in 2..complete.len() {
            assert!(
                matches!(
                    check_jpeg_complete(&complete[..cut]),
                    Err(IntakeError::Truncated)
                ),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn downscale_keeps_the_aspect_ratio_for_every_pixel_layout() {
        let layouts = [
            DynamicImage::new_luma8(2000, 1000),
            DynamicImage::new_rgb8(1000, 3000),
            DynamicImage::new_rgba16(1024, 768),
            DynamicImage::new_rgb32f(600, 600),
            DynamicImage::new_luma_a8(5000, 3),
        ];
        let expected = [(512, 256), (171, 512), (512, 384), (512, 512), (512, 1)];
        for (image, want) in layouts.iter().zip(expected) {
            let small = downscale(image, 512);
            assert_eq!((small.width(), small.height()), want, "{:?}", image.color());
            assert_eq!(small.color(), image.color());
        }
    }

    #[test]
    fn declared_size_is_a_bomb_only_at_an_absurd_ratio() {
        let limits = IntakeLimits::default();
        // 100 MP from 5 MB: a big photo, within the cap.
        assert!(check_declared((10_000, 10_000), 5_000_000, &limits).is_ok());
        // 100 MP from a kilobyte: a bomb, though within the cap.
        assert!(matches!(
            check_declared((10_000, 10_000), 1_000, &limits),
            Err(IntakeError::DecompressionBomb { .. })
        ));
        // A megapixel is decoded whatever the file size.
        assert!(check_declared((1024, 1024), 1, &limits).is_ok());
        assert!(matches!(
            check_declared((20_000, 20_000), 5_000, &limits),
            Err(IntakeError::DecompressionBomb { .. })
        ));
        assert!(matches!(
            check_declared((20_000, 10_000), 3_000_000, &limits),
            Err(IntakeError::TooManyPixels { .. })
        ));
        assert!(matches!(
            check_declared((0, 10), 10, &limits),
            Err(IntakeError::Corrupt { .. })
        ));
    }
}
