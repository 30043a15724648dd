//! Bad inputs: each is refused with its own code and leaves nothing in the store.

mod support;

use std::fs;

use fieldlead_evidence::{inspect_path, EvidenceStore, IntakeError, IntakeLimits};
use image::GrayImage;
use support::*;

/// Takes `bytes` in as a file called `name`, expects the refusal `code`, and checks
/// that the store is left exactly as empty as it was and the source file untouched.
fn refused(name: &str, bytes: &[u8], code: &str) -> IntakeError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, bytes).unwrap();
    let root = dir.path().join("store");
    let store = EvidenceStore::open(&root).unwrap();

    let err = store.intake_path(&path).expect_err("must be refused");
    assert_eq!(err.code(), code, "{name}: {err}");
    assert_store_empty(&root);
    assert_eq!(
        fs::read(&path).unwrap(),
        bytes,
        "the original is never rewritten"
    );

    let by_stream = store
        .intake_reader(bytes, Some(name))
        .expect_err("must be refused");
    assert_eq!(by_stream.code(), code);
    assert_store_empty(&root);

    assert_eq!(
        inspect_path(&path).expect_err("must be refused").code(),
        code
    );
    err
}

fn good_jpeg() -> Vec<u8> {
    jpeg_bytes(&photo_like(800, 600, 9), 90)
}

#[test]
fn empty_file() {
    let err = refused("empty.jpg", b"", "empty");
    assert!(err.to_string().contains("空"), "{err}");
}

#[test]
fn truncated_jpeg() {
    let jpeg = good_jpeg();
    for keep in [jpeg.len() * 3 / 5, jpeg.len() - 2, 400] {
        refused("cut.jpg", &jpeg[..keep], "truncated");
    }
}

#[test]
fn truncated_png() {
    let mut png = Vec::new();
    photo_like(300, 200, 4)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    refused("cut.png", &png[..png.len() / 2], "truncated");
}

#[test]
fn extension_disagreeing_with_the_bytes() {
    let err = refused("photo.png", &good_jpeg(), "extension_mismatch");
    assert!(
        err.to_string().contains(".png") && err.to_string().contains("JPEG"),
        "{err}"
    );
    refused("scan.pdf", &good_jpeg(), "extension_mismatch");
    refused("IMG_1.jpg", &heic_bytes(), "extension_mismatch");
}

#[test]
fn not_an_image() {
    refused(
        "notes.jpg",
        "抽样单编号 2024-001\n".as_bytes(),
        "not_an_image",
    );
    refused(
        "report.pdf",
        b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n",
        "not_an_image",
    );
}

#[test]
fn decompression_bomb() {
    let bomb = png_declaring(20_000, 20_000);
    assert!(bomb.len() < 100);
    let err = refused("tiny.png", &bomb, "decompression_bomb");
    assert!(err.to_string().contains("20000×20000"), "{err}");
}

#[test]
fn a_kilobyte_jpeg_declaring_a_hundred_megapixels_is_a_decompression_bomb() {
    // Found fuzzing the photo intake: a complete 16x16 JPEG whose frame header says
    // 9999x9999 was accepted, the decoder filling the missing scan with grey, at
    // the cost of seconds and a third of a gigabyte per kilobyte sent.
    let mut jpeg = jpeg_bytes(&photo_like(16, 16, 3), 90);
    assert!(jpeg.len() < 2_000, "{} bytes", jpeg.len());
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    jpeg[sof + 5..sof + 7].copy_from_slice(&9999u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&9999u16.to_be_bytes());
    let err = refused("tiny.jpg", &jpeg, "decompression_bomb");
    assert!(err.to_string().contains("9999×9999"), "{err}");
}

#[test]
fn genuine_200_megapixel_photo_is_too_many_pixels() {
    // Smooth bands: a real 16000x12500 JPEG that encodes in seconds.
    let (w, h) = (16_000u32, 12_500u32);
    let mut raw = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        let shade = (y * 255 / h) as u8;
        raw.resize(raw.len() + w as usize, shade);
    }
    let jpeg = grey_jpeg_bytes(&GrayImage::from_raw(w, h, raw).unwrap(), 80);
    let err = refused("panorama.jpg", &jpeg, "too_many_pixels");
    assert!(
        matches!(
            err,
            IntakeError::TooManyPixels {
                width: 16_000,
                height: 12_500,
                max_pixels: 100_000_000
            }
        ),
        "{err:?}"
    );
}

#[test]
fn corrupt_frame_header() {
    let mut jpeg = good_jpeg();
    // Zero the height in the SOF0 frame header.
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG");
    jpeg[sof + 5] = 0;
    jpeg[sof + 6] = 0;
    refused("zero.jpg", &jpeg, "corrupt");
}

#[test]
fn file_over_the_byte_cap() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jpg");
    fs::write(&path, good_jpeg()).unwrap();
    let limits = IntakeLimits {
        max_bytes: 10_000,
        ..IntakeLimits::default()
    };
    let root = dir.path().join("store");
    let store = EvidenceStore::open(&root)
        .unwrap()
        .with_limits(limits.clone());
    assert_eq!(store.intake_path(&path).unwrap_err().code(), "too_large");
    let stream = fs::read(&path).unwrap();
    assert_eq!(
        store
            .intake_reader(stream.as_slice(), None)
            .unwrap_err()
            .code(),
        "too_large"
    );
    assert_eq!(
        fieldlead_evidence::inspect_path_with_limits(&path, &limits)
            .unwrap_err()
            .code(),
        "too_large"
    );
    assert_store_empty(&root);
}

#[test]
fn unreadable_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = EvidenceStore::open(&root).unwrap();
    for path in [dir.path().join("missing.jpg"), dir.path().to_path_buf()] {
        let err = store.intake_path(&path).unwrap_err();
        assert_eq!(err.code(), "unreadable", "{}", path.display());
        assert!(err.to_string().contains(&path.display().to_string()));
    }
    assert_store_empty(&root);
}

#[test]
fn a_refusal_keeps_what_was_already_stored() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = EvidenceStore::open(&root).unwrap();
    let jpeg = good_jpeg();
    let kept = store
        .intake_reader(jpeg.as_slice(), Some("ok.jpg"))
        .unwrap();
    let before = files_under(&root.join("objects"));
    assert_eq!(
        store
            .intake_reader(&jpeg[..jpeg.len() / 2], None)
            .unwrap_err()
            .code(),
        "truncated"
    );
    assert_eq!(files_under(&root.join("objects")), before);
    assert!(files_under(&root.join("tmp")).is_empty());
    assert!(store.verify(&kept.sha256).unwrap());
}

#[test]
fn every_refusal_has_a_distinct_code_and_a_chinese_message() {
    let errors = [
        IntakeError::Empty,
        IntakeError::Truncated,
        IntakeError::NotAnImage,
        IntakeError::ExtensionMismatch {
            extension: "png".into(),
            actual: fieldlead_evidence::Format::Jpeg,
        },
        IntakeError::DecompressionBomb {
            width: 1,
            height: 1,
            bytes: 1,
        },
        IntakeError::TooManyPixels {
            width: 1,
            height: 1,
            max_pixels: 1,
        },
        IntakeError::TooLarge { bytes: 1, max: 1 },
        IntakeError::Corrupt { detail: "x".into() },
        IntakeError::Unreadable {
            what: "x".into(),
            source: std::io::ErrorKind::NotFound.into(),
        },
    ];
    let mut codes: Vec<_> = errors.iter().map(|e| e.code()).collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len());
    for e in &errors {
        // Every message tells the sampler what to do next.
        let text = e.to_string();
        assert!(text.contains('请'), "{text}");
    }
}
