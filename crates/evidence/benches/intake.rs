//! Photo intake of a 12-megapixel camera JPEG against `vipsthumbnail` on the same
//! file, plus the stages of intake measured alone so the figures show what
//! dominates. Run: `cargo bench -p fieldlead-evidence --bench intake`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use fieldlead_domain::Sha256;
use fieldlead_evidence::{EvidenceStore, ExifSummary};

fn camera_photo(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("IMG_20240315_101500.jpg");
    std::fs::write(
        &path,
        support::jpeg_bytes(&support::photo_like(4000, 3000, 7), 90),
    )
    .unwrap();
    support::exiftool(
        &path,
        &[
            "-DateTimeOriginal=2024:03:15 10:15:00",
            "-OffsetTimeOriginal=+08:00",
            "-Make=HUAWEI",
            "-Model=MatePad 11",
            "-GPSLatitude=29.563",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=106.551",
            "-GPSLongitudeRef=E",
            "-Orientation=6",
        ],
    );
    path
}

fn intake(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let photo = camera_photo(dir.path());
    let bytes = std::fs::read(&photo).unwrap();
    eprintln!("photo: 4000x3000 JPEG, {} bytes", bytes.len());

    paired_medians(dir.path(), &photo);

    let mut group = c.benchmark_group("photo_intake_12mp");
    group.sample_size(15);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(8));

    // A fresh store per iteration, so every intake really writes and fsyncs.
    group.bench_function("fieldlead_intake", |b| {
        b.iter_batched(
            || {
                let root = tempfile::tempdir_in(dir.path()).unwrap();
                let store = EvidenceStore::open(root.path()).unwrap();
                (root, store)
            },
            |(root, store)| {
                let intake = store.intake_path(&photo).unwrap();
                assert!(intake.thumbnail.is_some());
                root
            },
            BatchSize::PerIteration,
        )
    });

    let out = dir.path().join("vips_thumb.jpg");
    group.bench_function("vipsthumbnail_s512", |b| {
        b.iter(|| {
            let status = Command::new("vipsthumbnail")
                .arg(&photo)
                .args(["-s", "512", "-o"])
                .arg(&out)
                .status()
                .expect("vipsthumbnail (Debian package libvips-tools) must be installed");
            assert!(status.success());
        })
    });
    group.finish();

    // The stages alone, to see what dominates.
    let mut stages = c.benchmark_group("intake_stages_12mp");
    stages.sample_size(10);
    stages.warm_up_time(Duration::from_secs(1));
    stages.measurement_time(Duration::from_secs(4));
    stages.bench_function("sha256", |b| b.iter(|| Sha256::digest(&bytes)));
    // EXIF and XMP: the segment walk, the IFDs, the packet (issue 15).
    stages.bench_function("metadata", |b| b.iter(|| ExifSummary::read(&bytes)));
    stages.bench_function("decode", |b| {
        b.iter(|| image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap())
    });
    let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
    stages.bench_function("downscale_to_512_image_thumbnail", |b| {
        b.iter(|| decoded.thumbnail(512, 512))
    });
    // What intake uses: fast_image_resize, bilinear convolution.
    stages.bench_function("downscale_to_512_fast_image_resize", |b| {
        let options = fast_image_resize::ResizeOptions::new().resize_alg(
            fast_image_resize::ResizeAlg::Convolution(fast_image_resize::FilterType::Bilinear),
        );
        let mut resizer = fast_image_resize::Resizer::new();
        b.iter(|| {
            let mut small = image::DynamicImage::new(512, 384, decoded.color());
            resizer.resize(&decoded, &mut small, &options).unwrap();
            small
        })
    });
    stages.bench_function("write_and_fsync", |b| {
        b.iter_batched(
            || tempfile::tempdir_in(dir.path()).unwrap(),
            |root| {
                EvidenceStore::open(root.path())
                    .unwrap()
                    .put_bytes(&bytes)
                    .unwrap();
                root
            },
            BatchSize::PerIteration,
        )
    });
    stages.finish();
}

/// Alternates the two, so a build or a burst of I/O on the shared 2-core machine
/// hits both alike; prints the medians and their ratio beside criterion's figures.
fn paired_medians(dir: &Path, photo: &Path) {
    let out = dir.join("paired_thumb.jpg");
    let (mut ours, mut vips) = (Vec::new(), Vec::new());
    for _ in 0..21 {
        let root = tempfile::tempdir_in(dir).unwrap();
        let store = EvidenceStore::open(root.path()).unwrap();
        let start = Instant::now();
        store.intake_path(photo).unwrap();
        ours.push(start.elapsed());

        let start = Instant::now();
        let status = Command::new("vipsthumbnail")
            .arg(photo)
            .args(["-s", "512", "-o"])
            .arg(&out)
            .status()
            .expect("vipsthumbnail (Debian package libvips-tools) must be installed");
        vips.push(start.elapsed());
        assert!(status.success());
    }
    ours.sort();
    vips.sort();
    let (ours, vips) = (ours[ours.len() / 2], vips[vips.len() / 2]);
    eprintln!(
        "paired medians of 21: fieldlead intake {:.1} ms, vipsthumbnail {:.1} ms, ratio {:.2}",
        ours.as_secs_f64() * 1e3,
        vips.as_secs_f64() * 1e3,
        ours.as_secs_f64() / vips.as_secs_f64()
    );
}

criterion_group!(benches, intake);
criterion_main!(benches);
