//! Good photos: what intake stores and what it learns from them.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use fieldlead_domain::{GeoPoint, Sha256};
use fieldlead_evidence::{
    hamming, inspect_bytes, inspect_path, EvidenceStore, Format, Intake, MetaSource,
    THUMBNAIL_LONG_EDGE,
};
use image::{GenericImageView, Rgb, RgbImage};
use support::*;

fn camera_jpeg(dir: &Path, name: &str, tags: &[&str]) -> std::path::PathBuf {
    let path = dir.join(name);
    fs::write(&path, jpeg_bytes(&photo_like(1600, 1200, 1), 90)).unwrap();
    if !tags.is_empty() {
        exiftool(&path, tags);
    }
    path
}

fn thumbnail_of(store: &EvidenceStore, intake: &Intake) -> image::DynamicImage {
    let thumb = intake.thumbnail.as_ref().expect("a thumbnail");
    image::load_from_memory_with_format(
        &store.read(&thumb.sha256).unwrap(),
        image::ImageFormat::Jpeg,
    )
    .unwrap()
}

#[test]
fn camera_jpeg_is_stored_with_capture_time_camera_and_place() {
    let dir = tempfile::tempdir().unwrap();
    let photo = camera_jpeg(
        dir.path(),
        "IMG_20220814_141231.jpg",
        &[
            "-DateTimeOriginal=2022:08:14 14:12:31",
            "-OffsetTimeOriginal=+08:00",
            "-Make=HUAWEI",
            "-Model=MatePad 11",
            "-Software=HarmonyOS 4.2.0",
            "-GPSLatitude=29.563",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=106.551",
            "-GPSLongitudeRef=E",
        ],
    );
    let original = fs::read(&photo).unwrap();
    let store = EvidenceStore::open(&dir.path().join("store")).unwrap();
    let intake = store.intake_path(&photo).unwrap();

    assert_eq!(intake.sha256, Sha256::digest(&original));
    assert_eq!(intake.bytes, original.len() as u64);
    assert_eq!(intake.format, Format::Jpeg);
    assert_eq!((intake.width, intake.height), (Some(1600), Some(1200)));
    assert!(intake.preview);
    assert_eq!(
        intake.exif.datetime_original.as_deref(),
        Some("2022:08:14 14:12:31")
    );
    assert_eq!(intake.exif.offset_time_original.as_deref(), Some("+08:00"));
    assert_eq!(intake.exif.make.as_deref(), Some("HUAWEI"));
    assert_eq!(intake.exif.model.as_deref(), Some("MatePad 11"));
    assert_eq!(intake.exif.software.as_deref(), Some("HarmonyOS 4.2.0"));
    assert_eq!(
        intake.exif.gps,
        Some(GeoPoint::new(295_630_000, 1_065_510_000).unwrap())
    );
    assert_eq!(intake.exif.orientation, None);

    // The original is stored byte for byte and untouched on disk.
    assert_eq!(
        fs::read(store.object_path(&intake.sha256)).unwrap(),
        original
    );
    assert_eq!(fs::read(&photo).unwrap(), original);
    assert!(store.verify(&intake.sha256).unwrap());

    let thumb = intake.thumbnail.clone().unwrap();
    assert_eq!((thumb.width, thumb.height), (THUMBNAIL_LONG_EDGE, 384));
    assert_eq!(thumbnail_of(&store, &intake).dimensions(), (512, 384));
    assert!(intake.phash.is_some());
}

#[test]
fn southern_and_western_coordinates_are_negative() {
    let dir = tempfile::tempdir().unwrap();
    let photo = camera_jpeg(
        dir.path(),
        "rio.jpg",
        &[
            "-GPSLatitude=22.9068467",
            "-GPSLatitudeRef=S",
            "-GPSLongitude=43.1728965",
            "-GPSLongitudeRef=W",
        ],
    );
    let store = EvidenceStore::open(&dir.path().join("store")).unwrap();
    let intake = store.intake_path(&photo).unwrap();
    assert_eq!(
        intake.exif.gps,
        Some(GeoPoint::new(-229_068_467, -431_728_965).unwrap())
    );
}

/// Where the picture's upright top-left corner sits in the stored pixels, per EXIF
/// orientation: 1 TL, 2 TR, 3 BR, 4 BL, 5 TL, 6 BL, 7 BR, 8 TR (5-8 are transposed).
fn stored_corner(orientation: u16) -> (bool, bool) {
    // (right, bottom)
    match orientation {
        1 | 5 => (false, false),
        2 | 8 => (true, false),
        3 | 7 => (true, true),
        4 | 6 => (false, true),
        _ => unreachable!(),
    }
}

#[test]
fn thumbnail_is_upright_for_every_orientation_in_exif_or_only_in_xmp() {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::open(&dir.path().join("store")).unwrap();
    let (w, h) = (800u32, 400u32);
    let writers = [
        ("-Orientation", MetaSource::Exif),
        ("-XMP-tiff:Orientation", MetaSource::Xmp),
    ];
    for ((tag, source), orientation) in writers
        .into_iter()
        .flat_map(|w| (1..=8u16).map(move |o| (w, o)))
    {
        let (right, bottom) = stored_corner(orientation);
        let stored = RgbImage::from_fn(w, h, |x, y| {
            let in_x = if right { x >= w - 200 } else { x < 200 };
            let in_y = if bottom { y >= h - 100 } else { y < 100 };
            if in_x && in_y {
                Rgb([230, 20, 20])
            } else {
                Rgb([20, 40, 200])
            }
        });
        let path = dir.path().join(format!("o{orientation}-{source:?}.jpg"));
        fs::write(&path, jpeg_bytes(&stored, 92)).unwrap();
        exiftool(&path, &[&format!("{tag}={orientation}")]);

        let intake = store.intake_path(&path).unwrap();
        assert_eq!(intake.exif.orientation, Some(orientation));
        assert_eq!(intake.exif.orientation_source, Some(source));
        // The original's own dimensions are reported as stored.
        assert_eq!((intake.width, intake.height), (Some(w), Some(h)));
        let thumb = thumbnail_of(&store, &intake).to_rgb8();
        let expected = if orientation >= 5 {
            (256, 512)
        } else {
            (512, 256)
        };
        assert_eq!(thumb.dimensions(), expected, "orientation {orientation}");
        let t = intake.thumbnail.as_ref().unwrap();
        assert_eq!((t.width, t.height), expected);
        let (tw, th) = thumb.dimensions();
        let top_left = thumb.get_pixel(8, 8);
        let bottom_right = thumb.get_pixel(tw - 8, th - 8);
        assert!(
            top_left[0] > 180 && top_left[2] < 80,
            "orientation {orientation}: top-left is {top_left:?}"
        );
        assert!(
            bottom_right[2] > 150,
            "orientation {orientation}: bottom-right is {bottom_right:?}"
        );
        // The red block spans a quarter of the upright width in every orientation.
        assert!(
            thumb.get_pixel(tw / 4 - 8, 8)[0] > 180,
            "orientation {orientation}"
        );
        assert!(
            thumb.get_pixel(tw / 4 + 8, 8)[2] > 150,
            "orientation {orientation}"
        );
    }
}

#[test]
fn png_and_lossless_webp_are_taken_in() {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::open(&dir.path().join("store")).unwrap();
    let picture = photo_like(640, 480, 2);

    let png = dir.path().join("label.png");
    picture.save(&png).unwrap();
    let intake = store.intake_path(&png).unwrap();
    assert_eq!(intake.format, Format::Png);
    assert_eq!((intake.width, intake.height), (Some(640), Some(480)));
    assert_eq!(
        intake.thumbnail.as_ref().map(|t| (t.width, t.height)),
        Some((512, 384))
    );

    let mut webp = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .encode(picture.as_raw(), 640, 480, image::ExtendedColorType::Rgb8)
        .unwrap();
    let webp_intake = store
        .intake_reader(webp.as_slice(), Some("label.webp"))
        .unwrap();
    assert_eq!(webp_intake.format, Format::Webp);
    assert_eq!(webp_intake.sha256, Sha256::digest(&webp));
    assert_eq!(
        (webp_intake.width, webp_intake.height),
        (Some(640), Some(480))
    );
    assert!(webp_intake.preview);
    // Same pixels, other container: the perceptual hash sees the same picture.
    assert_eq!(
        hamming(intake.phash.unwrap(), webp_intake.phash.unwrap()),
        0
    );
}

#[test]
fn heic_is_kept_as_opaque_bytes_without_preview() {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::open(&dir.path().join("store")).unwrap();
    let heic = heic_bytes();
    let intake = store
        .intake_reader(heic.as_slice(), Some("IMG_0042.HEIC"))
        .unwrap();
    assert_eq!(intake.format, Format::Heic);
    assert!(!intake.preview);
    assert_eq!(
        (
            intake.width,
            intake.height,
            intake.thumbnail.clone(),
            intake.phash
        ),
        (None, None, None, None)
    );
    assert_eq!(store.read(&intake.sha256).unwrap(), heic, "never converted");
    assert_eq!(files_under(&dir.path().join("store/objects")).len(), 1);
}

#[test]
fn real_heic_is_stored_unchanged_with_its_exif() {
    let dir = tempfile::tempdir().unwrap();
    let heic = dir.path().join("IMG_0107.HEIC");
    fs::copy(
        // The folder the runner names now, not the one this binary was built in (a
        // target folder shared by two checkouts may run one built in the other).
        std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
            .join("tests/fixtures/libheif.heic"),
        &heic,
    )
    .unwrap();
    exiftool(
        &heic,
        &[
            "-DateTimeOriginal=2024:05:01 08:00:00",
            "-Make=Apple",
            "-GPSLatitude=31.2304",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=121.4737",
            "-GPSLongitudeRef=E",
        ],
    );
    let original = fs::read(&heic).unwrap();
    let store = EvidenceStore::open(&dir.path().join("store")).unwrap();
    let intake = store.intake_path(&heic).unwrap();
    assert_eq!(intake.format, Format::Heic);
    assert!(!intake.preview);
    assert_eq!(
        intake.exif.datetime_original.as_deref(),
        Some("2024:05:01 08:00:00")
    );
    assert_eq!(intake.exif.make.as_deref(), Some("Apple"));
    assert_eq!(
        intake.exif.software.as_deref(),
        Some("libheif + kamadak-exif")
    );
    assert_eq!(
        intake.exif.gps,
        Some(GeoPoint::new(312_304_000, 1_214_737_000).unwrap())
    );
    assert_eq!(store.read(&intake.sha256).unwrap(), original);
}

#[test]
fn identical_bytes_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let photo = camera_jpeg(dir.path(), "a.jpg", &["-Make=Canon"]);
    let copy = dir.path().join("copy of a.JPG");
    fs::copy(&photo, &copy).unwrap();
    let store = EvidenceStore::open(&dir.path().join("store")).unwrap();
    let first = store.intake_path(&photo).unwrap();
    let second = store.intake_path(&copy).unwrap();
    assert_eq!(first, second);
    // the original and its thumbnail, once each
    assert_eq!(files_under(&dir.path().join("store/objects")).len(), 2);
    assert!(files_under(&dir.path().join("store/tmp")).is_empty());
}

#[test]
fn recompressed_copy_is_recognised_by_perceptual_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::open(&dir.path().join("store")).unwrap();
    let scene = photo_like(1200, 900, 3);
    let original = store
        .intake_reader(jpeg_bytes(&scene, 92).as_slice(), None)
        .unwrap();
    let smaller = image::imageops::resize(&scene, 600, 450, image::imageops::FilterType::Triangle);
    let resent = store
        .intake_reader(jpeg_bytes(&smaller, 60).as_slice(), None)
        .unwrap();
    let other = store
        .intake_reader(
            jpeg_bytes(&image::imageops::rotate180(&scene), 92).as_slice(),
            None,
        )
        .unwrap();
    assert_ne!(original.sha256, resent.sha256);
    let near = hamming(original.phash.unwrap(), resent.phash.unwrap());
    let far = hamming(original.phash.unwrap(), other.phash.unwrap());
    assert!(near <= 6, "re-sent copy differs by {near} bits");
    assert!(far >= 20, "a different picture differs by only {far} bits");
}

#[test]
fn inspection_matches_intake_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let photo = camera_jpeg(dir.path(), "b.jpg", &["-Orientation=6", "-Model=iPad Air"]);
    let inspection = inspect_path(&photo).unwrap();
    assert_eq!(
        inspect_bytes(&fs::read(&photo).unwrap()).unwrap(),
        inspection
    );
    let store = EvidenceStore::open(&dir.path().join("store")).unwrap();
    let intake = store.intake_path(&photo).unwrap();
    assert_eq!(inspection.sha256, intake.sha256);
    assert_eq!(inspection.exif, intake.exif);
    assert_eq!(inspection.phash, intake.phash);
    let thumb = inspection.thumbnail.unwrap();
    assert_eq!((thumb.width, thumb.height), (384, 512));
    assert_eq!(
        Sha256::digest(&thumb.jpeg),
        intake.thumbnail.unwrap().sha256
    );
    assert_eq!(files_under(&dir.path().join("store/objects")).len(), 2);
}

#[test]
fn intake_serialises_with_snake_case_format_and_hex_digests() {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::open(dir.path()).unwrap();
    let intake = store.intake_reader(heic_bytes().as_slice(), None).unwrap();
    let json = serde_json::to_value(&intake).unwrap();
    assert_eq!(json["format"], "heic");
    assert_eq!(json["sha256"], intake.sha256.to_hex());
    let back: Intake = serde_json::from_value(json).unwrap();
    assert_eq!(back, intake);
}
