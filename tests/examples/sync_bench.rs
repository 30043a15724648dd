//! Sync throughput (issue 6): LEADS leads of PHOTOS photos (about 3 MB each,
//! incompressible) delivered by the real tablet sync client to the real bureau over
//! loopback, against curl uploading the same number and size of files (one curl
//! process per lead, its blobs on one connection) to the same server in the same
//! run. Also reports the process's peak RSS growth during the client's run.
//!
//! `cargo run --release -p fieldlead-tests --example sync_bench -- [LEADS] [PHOTOS]`
//! (defaults 100 and 8). With `FIELDLEAD_TEST_BACKENDS=postgres+s3` the bureau
//! runs on a throwaway PostgreSQL and S3-compatible server (as the tests do).

#[path = "../../crates/bureau/tests/support/backends.rs"]
#[allow(dead_code)]
mod backends;
#[path = "../../crates/bureau/tests/support/postgres.rs"]
#[allow(dead_code)]
mod postgres;
#[path = "../../crates/bureau/tests/support/s3.rs"]
#[allow(dead_code)]
mod s3;

use std::io::Cursor;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use fieldlead_bureau::{Actor, Bureau, Config};
use fieldlead_device::Device;
use fieldlead_domain::{manifest_blobs, EnrolmentInvite, LeadId, LeadUpload, Party, RecordDraft};

fn draft() -> RecordDraft {
    fieldlead_domain::sample::terminated_draft()
}

/// A 1024x1024 PNG of noise: about 3.1 MB; `seed` makes the bytes unique.
fn photo(noise: &[u8], seed: u64) -> Vec<u8> {
    let mut px = noise.to_vec();
    px[..8].copy_from_slice(&seed.to_le_bytes());
    let img = image::RgbImage::from_raw(1024, 1024, px).unwrap();
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn signature(seed: u64) -> Vec<u8> {
    let img = image::GrayImage::from_fn(64, 24, |x, y| {
        image::Luma([((x * 3 + y * 5) as u8) ^ (seed as u8) ^ ((seed >> 8) as u8)])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn seal_leads(dev: &mut Device, noise: &[u8], base: u64, leads: u64, photos: u64) -> Vec<LeadId> {
    (0..leads)
        .map(|l| {
            let r = dev.create_record(draft()).unwrap();
            for p in 0..photos {
                let bytes = photo(noise, base + l * 100 + p);
                dev.attach_evidence_reader(r.id, Cursor::new(bytes), None, "现场照片")
                    .unwrap();
            }
            for (i, party) in [Party::Sampler1, Party::Sampler2, Party::Business]
                .into_iter()
                .enumerate()
            {
                dev.sign(r.id, party, &signature(base + l * 100 + 50 + i as u64))
                    .unwrap();
            }
            dev.seal(r.id).unwrap();
            r.id
        })
        .collect()
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn token_of(dir: &Path) -> String {
    let conn = rusqlite::Connection::open(dir.join(fieldlead_device::DB_FILE)).unwrap();
    conn.query_row("SELECT token FROM enrolment", [], |r| r.get(0))
        .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("LEADS PHOTOS"))
        .collect();
    let leads = args.first().copied().unwrap_or(100);
    let photos = args.get(1).copied().unwrap_or(8);
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("bureau");
    Bureau::init(&data).unwrap();
    let mut config = Config {
        device_rate_per_sec: 10_000.0,
        // Throughput is measured here, not the per-device quotas.
        device_leads_per_day: u32::MAX,
        max_concurrent_requests: 4096,
        device_burst: 10_000,
        ..Config::default()
    };
    let city = backends::CityBackends::for_data(&data);
    if let Some(c) = &city {
        c.apply(&mut config);
    }
    let store = if city.is_some() {
        "PostgreSQL + S3"
    } else {
        "SQLite + folder"
    };
    let bureau = Arc::new(Bureau::open(&data, config).unwrap());
    bureau
        .create_district("yuzhong", "渝中区市场监督管理局", &Actor::Cli)
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let b = Arc::clone(&bureau);
    tokio::spawn(async move {
        fieldlead_bureau::server::serve(b, listener, std::future::pending())
            .await
            .unwrap();
    });
    let invite = |b: &Bureau| {
        let d = b.district("yuzhong").unwrap();
        EnrolmentInvite::new(
            &url,
            b.issue_enrolment_code(&d, &Actor::Cli).unwrap().code,
            "渝中区市场监督管理局",
            b.public_key().fingerprint(),
        )
    };
    let mut noise = vec![0u8; 1024 * 1024 * 3];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for byte in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *byte = x as u8;
    }

    eprintln!("sealing {leads} leads x {photos} photos on two tablets ...");
    let tab_dir = root.path().join("tablet");
    let mut tab = Device::open(&tab_dir).unwrap();
    tab.enrol(&invite(&bureau), "bench").await.unwrap();
    seal_leads(&mut tab, &noise, 1_000_000, leads, photos);
    let curl_dir = root.path().join("curl");
    let mut curl_tab = Device::open(&curl_dir).unwrap();
    curl_tab.enrol(&invite(&bureau), "curl").await.unwrap();
    let curl_leads = seal_leads(&mut curl_tab, &noise, 9_000_000, leads, photos);

    // The sync client.
    let rss_before = peak_rss_kb();
    let start = Instant::now();
    let report = tab.sync_once(|_| {}).await.unwrap();
    let client_secs = start.elapsed().as_secs_f64();
    let rss_after = peak_rss_kb();
    assert_eq!(report.delivered.len() as u64, leads, "{report:?}");
    let client_bytes = report.bytes_uploaded;

    // curl: the manifest, then the same files, one process per lead.
    let token = token_of(&curl_dir);
    let staging = root.path().join("manifests");
    std::fs::create_dir_all(&staging).unwrap();
    let mut bodies = Vec::new();
    for id in &curl_leads {
        let manifest = curl_tab.manifest(*id).unwrap().unwrap();
        let upload = LeadUpload {
            manifest: manifest.clone(),
            log: curl_tab.audit_log(*id).unwrap(),
        };
        let path = staging.join(format!("{id}.json"));
        std::fs::write(&path, serde_json::to_vec(&upload).unwrap()).unwrap();
        bodies.push((id, path, manifest));
    }
    let mut curl_bytes = 0u64;
    let start = Instant::now();
    for (id, body, manifest) in &bodies {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-f", "-o", "/dev/null", "-H"])
            .arg(format!("Authorization: Bearer {token}"))
            .args([
                "-H",
                "Content-Type: application/json",
                "-X",
                "PUT",
                "--data-binary",
            ])
            .arg(format!("@{}", body.display()))
            .arg(format!("{url}/api/v1/leads/{id}"));
        for blob in manifest_blobs(&manifest.manifest).unwrap() {
            curl_bytes += blob.bytes;
            cmd.arg("--next")
                .args(["-sS", "-f", "-o", "/dev/null", "-H"])
                .arg(format!("Authorization: Bearer {token}"))
                .arg("-T")
                .arg(curl_tab.evidence_store().object_path(&blob.sha256))
                .arg(format!("{url}/api/v1/blobs/{}", blob.sha256));
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let curl_secs = start.elapsed().as_secs_f64();
    let mb = |bytes: u64, secs: f64| bytes as f64 / 1e6 / secs;
    println!(
        "| {store} | {leads} x {photos} | {:.0} MB | {:.1} s | {:.0} MB/s | {:.1} s | {:.0} MB/s | {:.0}% | {} MB |",
        client_bytes as f64 / 1e6,
        client_secs,
        mb(client_bytes, client_secs),
        curl_secs,
        mb(curl_bytes, curl_secs),
        100.0 * mb(client_bytes, client_secs) / mb(curl_bytes, curl_secs),
        rss_after.saturating_sub(rss_before) / 1024,
    );
}
