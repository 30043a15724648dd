//! A 64-bit DCT perceptual hash, so the bureau can spot the same scene re-used in
//! another lead even after re-encoding or resizing.

use image::imageops::{self, FilterType};
use image::DynamicImage;

const SIDE: usize = 32;
const LOW: usize = 8;

/// pHash: greyscale, 32x32, 2-D DCT-II, the 8x8 lowest frequencies, one bit per
/// coefficient above their median. Bit 63 is the DC term.
pub fn perceptual_hash(image: &DynamicImage) -> u64 {
    let grey = imageops::resize(
        &image.to_luma8(),
        SIDE as u32,
        SIDE as u32,
        FilterType::Triangle,
    );
    let pixels: Vec<f64> = grey.pixels().map(|p| f64::from(p.0[0])).collect();
    let basis = dct_basis();

    // Separable DCT, keeping only the low frequencies: rows first, then columns.
    let mut rows = [[0.0f64; LOW]; SIDE];
    for (y, row) in rows.iter_mut().enumerate() {
        for (u, out) in row.iter_mut().enumerate() {
            *out = (0..SIDE).map(|x| pixels[y * SIDE + x] * basis[u][x]).sum();
        }
    }
    let mut low = [0.0f64; LOW * LOW];
    for v in 0..LOW {
        for u in 0..LOW {
            low[v * LOW + u] = (0..SIDE).map(|y| rows[y][u] * basis[v][y]).sum();
        }
    }

    let mut sorted = low;
    sorted.sort_by(f64::total_cmp);
    let median = (sorted[LOW * LOW / 2 - 1] + sorted[LOW * LOW / 2]) / 2.0;
    low.iter()
        .fold(0u64, |hash, &c| (hash << 1) | u64::from(c > median))
}

/// cos((2x + 1) u π / 2N) for the first LOW frequencies; the DCT's scale factors do
/// not change which coefficients lie above the median except for u = 0, whose
/// factor is constant across the block row, so they are left out.
fn dct_basis() -> [[f64; SIDE]; LOW] {
    let mut basis = [[0.0; SIDE]; LOW];
    for (u, row) in basis.iter_mut().enumerate() {
        for (x, b) in row.iter_mut().enumerate() {
            *b = ((2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / (2 * SIDE) as f64).cos();
        }
    }
    basis
}

/// Number of differing bits between two perceptual hashes (0 = same picture).
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, Luma};

    fn scene(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageLuma8(GrayImage::from_fn(w, h, |x, y| {
            let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
            let disc = ((fx - 0.3).powi(2) + (fy - 0.6).powi(2)) < 0.04;
            let bar = (0.6..0.8).contains(&fx) && fy < 0.5;
            Luma([if disc {
                230
            } else if bar {
                20
            } else {
                (fx * 120.0 + fy * 60.0) as u8
            }])
        }))
    }

    #[test]
    fn same_scene_at_another_size_hashes_nearly_alike() {
        let a = perceptual_hash(&scene(640, 480));
        let b = perceptual_hash(&scene(320, 240));
        assert!(hamming(a, b) <= 4, "{a:016x} vs {b:016x}");
    }

    #[test]
    fn different_scenes_hash_far_apart() {
        let a = perceptual_hash(&scene(640, 480));
        let b = perceptual_hash(&scene(640, 480).fliph().rotate180());
        assert!(hamming(a, b) >= 16, "{a:016x} vs {b:016x}");
    }

    #[test]
    fn hamming_counts_bits() {
        assert_eq!(hamming(0, 0), 0);
        assert_eq!(hamming(0b1011, 0b0001), 2);
        assert_eq!(hamming(0, u64::MAX), 64);
    }
}

/// Serde form of an optional perceptual hash: 16 lowercase hex characters or null.
pub mod hex_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(h) => s.serialize_str(&format!("{h:016x}")),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(t) if t.len() == 16 => u64::from_str_radix(&t, 16)
                .map(Some)
                .map_err(serde::de::Error::custom),
            Some(t) => Err(serde::de::Error::custom(format!(
                "perceptual hash {t:?} is not 16 hex characters"
            ))),
        }
    }
}
