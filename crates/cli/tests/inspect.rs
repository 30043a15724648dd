//! `fieldlead inspect` run as a sampler or the bureau would run it: the real binary,
//! real files, JSON lines on stdout.

#[path = "../../evidence/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fieldlead(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fieldlead"))
        .arg("inspect")
        .args(args)
        .output()
        .expect("run fieldlead")
}

fn lines(output: &Output) -> Vec<Value> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    String::from_utf8(output.stdout.clone())
        .expect("UTF-8 stdout")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The package's folder as the test runner names it when the test runs: a
/// target folder shared by two checkouts may run a binary built in the other,
/// whose compile-time path is gone.
fn fixture(name: &str) -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../evidence/tests/fixtures")
        .join(name)
}

/// A photo written by the image encoder, tagged by the real exiftool.
fn tagged_photo(dir: &Path) -> PathBuf {
    let path = dir.join("IMG_20240601_093000.jpg");
    std::fs::write(
        &path,
        support::jpeg_bytes(&support::photo_like(1024, 768, 11), 88),
    )
    .unwrap();
    support::exiftool(
        &path,
        &[
            "-DateTimeOriginal=2024:06:01 09:30:00",
            "-OffsetTimeOriginal=+08:00",
            "-Make=Xiaomi",
            "-Model=Redmi Pad SE",
            "-GPSLatitude=29.563",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=106.551",
            "-GPSLongitudeRef=E",
            "-Orientation=8",
        ],
    );
    path
}

#[test]
fn good_photo_prints_its_facts_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let photo = tagged_photo(dir.path());
    let before = support::files_under(dir.path());
    let output = fieldlead(&[&photo]);
    assert!(output.status.success(), "{output:?}");
    let lines = lines(&output);
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    let bytes = std::fs::read(&photo).unwrap();
    assert_eq!(line["path"], photo.to_str().unwrap());
    assert_eq!(
        line["sha256"],
        fieldlead_domain::Sha256::digest(&bytes).to_hex()
    );
    assert_eq!(line["bytes"], bytes.len());
    assert_eq!(line["format"], "jpeg");
    assert_eq!(
        (&line["width"], &line["height"]),
        (&Value::from(1024), &Value::from(768))
    );
    assert_eq!(line["preview"], true);
    let exif = &line["exif"];
    assert_eq!(exif["datetime_original"], "2024:06:01 09:30:00");
    assert_eq!(exif["offset_time_original"], "+08:00");
    assert_eq!(exif["make"], "Xiaomi");
    assert_eq!(exif["model"], "Redmi Pad SE");
    assert_eq!(exif["software"], Value::Null);
    assert_eq!(exif["orientation"], 8);
    assert_eq!(
        exif["gps"],
        serde_json::json!({"lat_e7": 295_630_000, "lon_e7": 1_065_510_000})
    );
    // Orientation 8 turns the landscape original upright as portrait.
    assert_eq!(
        line["thumbnail"],
        serde_json::json!({"width": 384, "height": 512})
    );
    assert_eq!(
        support::files_under(dir.path()),
        before,
        "inspect stores nothing"
    );
}

#[test]
fn bad_file_prints_a_coded_error_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("现场笔记.jpg");
    std::fs::write(&notes, "不是照片").unwrap();
    let output = fieldlead(&[&notes]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let lines = lines(&output);
    assert_eq!(
        lines,
        vec![serde_json::json!({
            "path": notes.to_str().unwrap(),
            "error": {
                "code": "not_an_image",
                "message": "该文件不是可识别的照片（支持 JPEG、PNG、WebP、HEIC），请选择相机或手机拍摄的照片",
            }
        })]
    );
}

#[test]
fn mixed_files_print_every_line_in_order_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let photo = tagged_photo(dir.path());
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let jpeg = std::fs::read(&photo).unwrap();
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, &jpeg[..jpeg.len() / 2]).unwrap();
    let missing = dir.path().join("missing.jpg");
    let renamed = dir.path().join("photo.webp");
    std::fs::write(&renamed, &jpeg).unwrap();

    let output = fieldlead(&[
        &photo,
        &empty,
        &cut,
        &missing,
        &renamed,
        &fixture("nikon-d2h.jpg"),
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let lines = lines(&output);
    let codes: Vec<&Value> = lines.iter().map(|l| &l["error"]["code"]).collect();
    assert_eq!(
        codes,
        [
            &Value::Null,
            &Value::from("empty"),
            &Value::from("truncated"),
            &Value::from("unreadable"),
            &Value::from("extension_mismatch"),
            &Value::Null,
        ]
    );
    assert_eq!(lines[0]["format"], "jpeg");
    assert_eq!(lines[5]["exif"]["model"], "NIKON D2H");
    for refused in &lines[1..5] {
        assert!(
            refused["error"]["message"].as_str().unwrap().contains('请'),
            "{refused}"
        );
    }
}

#[test]
fn json_lines_have_a_stable_shape() {
    let dir = tempfile::tempdir().unwrap();
    let photo = tagged_photo(dir.path());
    let heic = dir.path().join("IMG_0001.heic");
    std::fs::write(&heic, support::heic_bytes()).unwrap();
    let output = fieldlead(&[&photo, &heic]);
    assert!(output.status.success(), "{output:?}");
    let lines = lines(&output);

    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    for line in &lines {
        assert_eq!(
            keys(line),
            [
                "bytes",
                "exif",
                "format",
                "height",
                "path",
                "phash",
                "preview",
                "sha256",
                "thumbnail",
                "width"
            ]
        );
        assert_eq!(
            keys(&line["exif"]),
            [
                "datetime_original",
                "datetime_source",
                "gps",
                "gps_altitude_cm",
                "gps_source",
                "gps_time",
                "make",
                "model",
                "offset_time_original",
                "orientation",
                "orientation_source",
                "software",
                "warnings"
            ]
        );
        let sha = line["sha256"].as_str().unwrap();
        assert!(
            sha.len() == 64
                && sha
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
    let phash = lines[0]["phash"]
        .as_str()
        .expect("a JPEG has a perceptual hash");
    assert!(
        phash.len() == 16 && phash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{phash}"
    );

    // HEIC: hashed, no preview, nothing decoded.
    let heic_line = &lines[1];
    assert_eq!(heic_line["format"], "heic");
    assert_eq!(heic_line["preview"], false);
    for absent in ["phash", "width", "height", "thumbnail"] {
        assert_eq!(heic_line[absent], Value::Null, "{absent}");
    }
    assert_eq!(heic_line["exif"]["gps"], Value::Null);
}

#[test]
fn genuine_camera_photos_report_their_original_exif() {
    let output = fieldlead(&[&fixture("nikon-d2h.jpg"), &fixture("iphone-4s.jpg")]);
    assert!(output.status.success(), "{output:?}");
    let lines = lines(&output);

    let nikon = &lines[0];
    assert_eq!(
        nikon["sha256"],
        "c3034419772b425134fd69f5cdc43143038b36c9202d8a93ca74d207da09aa2e"
    );
    assert_eq!(
        (&nikon["width"], &nikon["height"]),
        (&Value::from(500), &Value::from(375))
    );
    assert_eq!(
        nikon["exif"],
        serde_json::json!({
            "datetime_original": "2003:11:23 18:07:37",
            "offset_time_original": null,
            "make": "NIKON CORPORATION",
            "model": "NIKON D2H",
            "software": "Opanda PowerExif",
            "orientation": 1,
            // 39°54'56" N, 116°23'27" E
            "gps": {"lat_e7": 399_155_556, "lon_e7": 1_163_908_333},
            "gps_time": "2003:11:23 18:07:37",
            "gps_altitude_cm": null,
            // Where each came from, and nothing to warn about.
            "datetime_source": "exif_date_time_original",
            "orientation_source": "exif",
            "gps_source": "exif",
            "warnings": [],
        })
    );

    let iphone = &lines[1];
    assert_eq!(iphone["exif"]["make"], "Apple");
    assert_eq!(iphone["exif"]["model"], "iPhone 4S");
    assert_eq!(iphone["exif"]["datetime_original"], "2014:09:01 15:03:47");
    assert_eq!(iphone["exif"]["orientation"], 6);
    // 59°19'57.17" N, 18°3'53.79" E
    assert_eq!(
        iphone["exif"]["gps"],
        serde_json::json!({"lat_e7": 593_325_472, "lon_e7": 180_649_417})
    );
    // Stored 205x102, shown upright as 102x205.
    assert_eq!(
        iphone["thumbnail"],
        serde_json::json!({"width": 102, "height": 205})
    );
}

#[test]
fn no_file_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_fieldlead"))
        .arg("inspect")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("FILE"));
}
