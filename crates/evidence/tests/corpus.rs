//! Photo metadata against exiftool, on real files from many cameras and phones,
//! broken and unusual ones among them (`tests/corpus`, sources and licences in
//! its SOURCES.md): every hash, GPS position, capture time, orientation, make,
//! model and software that exiftool reads is read the same, and every file
//! exiftool warns about still gives everything else it holds.
//!
//! exiftool runs once over the folder (`scripts/setup` installs it). Set
//! `FIELDLEAD_EXIF_CORPUS` to check another folder of photos the same way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use fieldlead_evidence::{inspect_bytes, ExifSummary, MetaSource};
use serde_json::{Map, Value};

fn corpus() -> PathBuf {
    if let Some(dir) = std::env::var_os("FIELDLEAD_EXIF_CORPUS") {
        return dir.into();
    }
    // The runner's manifest folder, read at run time: a test binary built in
    // another checkout must not look in that checkout's folder.
    let root = std::env::var_os("CARGO_MANIFEST_DIR").expect("run through cargo");
    Path::new(&root).join("tests/corpus")
}

/// exiftool's reading of every file: `-n` (numbers, not prose), `-a -G1` (every
/// copy of a tag, named by the group it was found in).
fn exiftool(dir: &Path) -> BTreeMap<String, Map<String, Value>> {
    let out = Command::new("exiftool")
        .args([
            "-j",
            "-n",
            "-a",
            "-G1",
            "-q",
            "-q",
            "-charset",
            "filename=utf8",
        ])
        .args([
            "-DateTimeOriginal",
            "-CreateDate",
            "-DateCreated",
            "-OffsetTimeOriginal",
            "-OffsetTimeDigitized",
            "-Orientation",
            "-Make",
            "-Model",
            "-Software",
            "-GPSLatitude",
            "-GPSLongitude",
            "-GPSAltitude",
            "-GPSAltitudeRef",
            "-GPSDateTime",
            "-Warning",
        ])
        .arg(dir)
        .output()
        .expect("exiftool runs (scripts/setup installs libimage-exiftool-perl)");
    let list: Vec<Map<String, Value>> =
        serde_json::from_slice(&out.stdout).expect("exiftool's JSON");
    list.into_iter()
        .map(|m| {
            let name = Path::new(m["SourceFile"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, m)
        })
        .collect()
}

fn sha256sums(files: &[PathBuf]) -> BTreeMap<String, String> {
    let out = Command::new("sha256sum").args(files).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (sum, path) = l.split_once("  ").unwrap();
            let name = Path::new(path).file_name().unwrap().to_string_lossy();
            (name.into_owned(), sum.to_string())
        })
        .collect()
}

/// A capture time exiftool printed, as `(YYYY:MM:DD HH:MM:SS, zone)`, if it is
/// a whole date and time (a bare date, zeros or blanks are no capture time).
fn capture(text: &str) -> Option<(String, Option<String>)> {
    let t = text.trim();
    let b = t.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if !(digits(0..4) && digits(5..7) && digits(8..10) && digits(11..13) && digits(14..16)) {
        return None;
    }
    // exiftool shows a time as written: "2004/05/09 16:00:21", "2003:08:27:00:09:15".
    let date = t[..10].replace(['/', '-'], ":");
    if t.starts_with("0000") || &t[5..7] == "00" || &t[8..10] == "00" {
        return None;
    }
    let (seconds, mut rest) = if b.get(16) == Some(&b':') && digits(17..19) {
        (&t[17..19], 19)
    } else {
        ("00", 16)
    };
    if b.get(rest) == Some(&b'.') {
        rest += 1;
        while b.get(rest).is_some_and(u8::is_ascii_digit) {
            rest += 1;
        }
    }
    let zone = match &t[rest..] {
        "" => None,
        "Z" => Some("+00:00".to_string()),
        z => Some(z.to_string()),
    };
    Some((format!("{date} {}:{seconds}", &t[11..16]), zone))
}

fn text(m: &Map<String, Value>, key: &str) -> Option<String> {
    match m.get(key)? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(m: &Map<String, Value>, key: &str) -> Option<f64> {
    m.get(key)?.as_f64()
}

/// What exiftool's reading means for the summary, by the summary's rules.
#[derive(Debug, Default)]
struct Expected {
    time: Option<(MetaSource, String, Option<String>)>,
    orientation: Option<(MetaSource, u16)>,
    gps: Option<(MetaSource, f64, f64)>,
    altitude_m: Option<f64>,
    gps_time: Option<String>,
    make: Option<String>,
    model: Option<String>,
    software: Option<String>,
}

fn expected(m: &Map<String, Value>) -> Expected {
    let time_sources = [
        (
            "ExifIFD:DateTimeOriginal",
            Some("ExifIFD:OffsetTimeOriginal"),
            MetaSource::ExifDateTimeOriginal,
        ),
        (
            "IFD0:DateTimeOriginal",
            Some("ExifIFD:OffsetTimeOriginal"),
            MetaSource::ExifDateTimeOriginal,
        ),
        (
            "ExifIFD:CreateDate",
            Some("ExifIFD:OffsetTimeDigitized"),
            MetaSource::ExifCreateDate,
        ),
        (
            "IFD0:CreateDate",
            Some("ExifIFD:OffsetTimeDigitized"),
            MetaSource::ExifCreateDate,
        ),
        (
            "XMP-exif:DateTimeOriginal",
            None,
            MetaSource::XmpDateTimeOriginal,
        ),
        ("XMP-xmp:CreateDate", None, MetaSource::XmpCreateDate),
        (
            "XMP-photoshop:DateCreated",
            None,
            MetaSource::XmpDateCreated,
        ),
    ];
    let time = time_sources.iter().find_map(|(key, offset_key, source)| {
        let (datetime, zone) = capture(&text(m, key)?)?;
        let zone = zone.or_else(|| {
            let o = text(m, (*offset_key)?)?;
            (o.len() == 6 && (o.starts_with('+') || o.starts_with('-'))).then_some(o)
        });
        Some((*source, datetime, zone))
    });
    let orientation = [
        ("IFD0:Orientation", MetaSource::Exif),
        ("XMP-tiff:Orientation", MetaSource::Xmp),
    ]
    .iter()
    .find_map(|(key, source)| {
        let o = number(m, key)?;
        (1.0..=8.0).contains(&o).then_some((*source, o as u16))
    });
    // EXIF's position (exiftool's Composite of the GPS IFD), else XMP's.
    let exif_gps = number(m, "Composite:GPSLatitude")
        .zip(number(m, "Composite:GPSLongitude"))
        .filter(|_| m.contains_key("GPS:GPSLatitude"));
    let gps = match exif_gps {
        Some((lat, lon)) => Some((MetaSource::Exif, lat, lon)),
        None => number(m, "XMP-exif:GPSLatitude")
            .zip(number(m, "XMP-exif:GPSLongitude"))
            .map(|(lat, lon)| (MetaSource::Xmp, lat, lon)),
    };
    let exif_gps = exif_gps.is_some();
    let (alt_key, ref_key) = if exif_gps {
        ("GPS:GPSAltitude", "GPS:GPSAltitudeRef")
    } else {
        ("XMP-exif:GPSAltitude", "XMP-exif:GPSAltitudeRef")
    };
    let altitude_m = number(m, alt_key).map(|a| {
        if number(m, ref_key) == Some(1.0) {
            -a
        } else {
            a
        }
    });
    let gps_time = text(m, "Composite:GPSDateTime")
        .filter(|_| exif_gps)
        .and_then(|t| capture(&t))
        .map(|(t, _)| t);
    Expected {
        time,
        orientation,
        gps,
        altitude_m: altitude_m.filter(|_| gps.is_some()),
        gps_time: gps_time.filter(|_| gps.is_some()),
        make: text(m, "IFD0:Make"),
        model: text(m, "IFD0:Model"),
        software: text(m, "IFD0:Software"),
    }
}

#[test]
fn metadata_is_read_as_exiftool_reads_it_on_every_file_of_the_corpus() {
    let dir = corpus();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    files.sort();
    let tool = exiftool(&dir);
    let sums = sha256sums(&files);
    let mut problems = Vec::new();
    let mut seen = BTreeMap::<&str, BTreeSet<String>>::new();
    let mut beyond = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(path).unwrap();
        let summary = ExifSummary::read(&bytes);
        // Intake, where the file is a photo it takes, reads the same and hashes
        // it as sha256sum does.
        match inspect_bytes(&bytes) {
            Ok(inspection) => {
                if inspection.exif != summary {
                    problems.push(format!(
                        "{name}: intake's summary differs from the reader's"
                    ));
                }
                if inspection.sha256.to_hex() != sums[&name] {
                    problems.push(format!(
                        "{name}: sha256 {} != sha256sum {}",
                        inspection.sha256, sums[&name]
                    ));
                }
            }
            Err(e) => {
                seen.entry("not taken by intake")
                    .or_default()
                    .insert(format!("{name} ({})", e.code()));
            }
        }
        let Some(m) = tool.get(&name) else {
            problems.push(format!("{name}: exiftool gave no reading"));
            continue;
        };
        let want = expected(m);
        let warned = text(m, "ExifTool:Warning").is_some();
        if warned {
            seen.entry("exiftool warned")
                .or_default()
                .insert(name.clone());
        }
        if !summary.warnings.is_empty() {
            seen.entry("we warned").or_default().insert(name.clone());
        }
        // Equal to exiftool's reading; or, where exiftool gave up on the part
        // that holds it (and warned), read beyond it.
        let mut check = |field: &str, same: bool, exiftool_none: bool, shown: String| {
            if same {
                return;
            }
            if exiftool_none && warned {
                beyond.push(format!("{name} {field}"));
            } else {
                problems.push(format!(
                    "{name}: {field} {shown} (our warnings: {:?})",
                    summary.warnings
                ));
            }
        };
        let got_time = summary
            .datetime_source
            .zip(summary.datetime_original.clone())
            .map(|(s, t)| (s, t, summary.offset_time_original.clone()));
        check(
            "capture time",
            got_time == want.time,
            want.time.is_none(),
            format!("{got_time:?}, exiftool {:?}", want.time),
        );
        if let Some((source, _, _)) = &want.time {
            seen.entry("capture time")
                .or_default()
                .insert(format!("{source:?}"));
        }
        let got_orientation = summary.orientation_source.zip(summary.orientation);
        check(
            "orientation",
            got_orientation == want.orientation,
            want.orientation.is_none(),
            format!("{got_orientation:?}, exiftool {:?}", want.orientation),
        );
        if let Some((source, _)) = want.orientation {
            seen.entry("orientation")
                .or_default()
                .insert(format!("{source:?}"));
        }
        let close = |e7: i32, deg: f64| (f64::from(e7) - deg * 1e7).abs() <= 1.0;
        let same_gps = match (&summary.gps, &want.gps) {
            (None, None) => true,
            (Some(p), Some((source, lat, lon))) => {
                close(p.lat_e7(), *lat)
                    && close(p.lon_e7(), *lon)
                    && summary.gps_source == Some(*source)
            }
            _ => false,
        };
        check(
            "gps",
            same_gps,
            want.gps.is_none(),
            format!(
                "{:?} {:?}, exiftool {:?}",
                summary.gps_source, summary.gps, want.gps
            ),
        );
        if want.gps.is_some() {
            seen.entry("gps").or_default().insert(name.clone());
        }
        let got_alt = summary.gps_altitude_cm.map(|cm| f64::from(cm) / 100.0);
        let same_alt = match (got_alt, want.altitude_m) {
            (None, None) => true,
            (Some(a), Some(b)) => (a - b).abs() <= 0.0051,
            _ => false,
        };
        check(
            "altitude",
            same_alt,
            want.altitude_m.is_none(),
            format!("{got_alt:?} m, exiftool {:?}", want.altitude_m),
        );
        check(
            "gps time",
            summary.gps_time == want.gps_time,
            want.gps_time.is_none(),
            format!("{:?}, exiftool {:?}", summary.gps_time, want.gps_time),
        );
        for (field, got, want) in [
            ("make", &summary.make, &want.make),
            ("model", &summary.model, &want.model),
            ("software", &summary.software, &want.software),
        ] {
            // exiftool's JSON gives "1.00" as the number 1.0.
            let numeric = |s: &str| s.trim().parse::<f64>().ok();
            let same = got.as_deref().map(str::trim) == want.as_deref()
                || got
                    .as_deref()
                    .and_then(numeric)
                    .is_some_and(|g| want.as_deref().and_then(numeric) == Some(g));
            check(
                field,
                same,
                want.is_none(),
                format!("{got:?}, exiftool {want:?}"),
            );
        }
        if let Some(make) = &want.make {
            seen.entry("makes").or_default().insert(make.to_lowercase());
        }
    }
    if !beyond.is_empty() {
        seen.insert("read beyond exiftool", beyond.into_iter().collect());
    }
    for (what, names) in &seen {
        println!(
            "{what} ({}): {}",
            names.len(),
            names.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    assert!(
        problems.is_empty(),
        "{} of {} files differ from exiftool:\n{}",
        problems.len(),
        files.len(),
        problems.join("\n")
    );
    // The corpus is what makes this test mean something: many makers, phones
    // with GPS, broken files, and values only XMP or CreateDate holds.
    let count = |what: &str| seen.get(what).map_or(0, BTreeSet::len);
    assert!(count("makes") >= 20, "makers: {:?}", seen.get("makes"));
    assert!(count("gps") >= 8, "files with GPS: {}", count("gps"));
    assert!(
        count("exiftool warned") >= 10,
        "files exiftool warns about: {}",
        count("exiftool warned")
    );
    // No real file here has EXIF CreateDate without DateTimeOriginal, or
    // DateTimeOriginal in IFD0: the reader's unit tests write those.
    for source in [
        "ExifDateTimeOriginal",
        "XmpDateTimeOriginal",
        "XmpCreateDate",
    ] {
        assert!(
            seen["capture time"].contains(source),
            "no capture time from {source}"
        );
    }
    assert!(
        seen["orientation"].contains("Xmp"),
        "no orientation from XMP"
    );
}
