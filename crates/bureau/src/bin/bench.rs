//! `fieldlead-bureau-bench`: the bureau under load on loopback.
//!
//! 1. Manifests accepted per second, with p50/p99 latency, from N concurrent
//!    simulated tablets (default 200), each pushing its sealed leads one after
//!    another over HTTP/1.1 keep-alive. Every manifest is fully verified (hash,
//!    Ed25519 signatures of the manifest and each audit entry, chain) and
//!    committed to SQLite with synchronous=FULL before its 201.
//! 2. Blob ingest MB/s (hash-while-streaming, fsync, rename) against writing and
//!    fsyncing the same bytes to a file on the same disk.
//!
//! Run: `cargo run --release -p fieldlead-bureau --bin fieldlead-bureau-bench -- [DEVICES] [LEADS_PER_DEVICE] [BLOB_MB] [BLOBS]`

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use chrono::DateTime;
use fieldlead_bureau::{Actor, Bureau, Config};
use fieldlead_domain::{
    BusinessRole, EnrolmentRequest, EvidenceEntry, Ground, LeadId, LeadUpload, LogEvent, LogHead,
    Manifest, OutcomeKind, Party, RecordDraft, Sha256, SignedEntry, SignedManifest, SigningKey,
    Signoff, SignoffKind, MANIFEST_FORMAT,
};
use serde_json::json;

fn t(s: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("fixed time")
}

fn draft() -> RecordDraft {
    RecordDraft {
        sending_unit: "重庆市某某质量检验检测研究院".into(),
        task_year: Some(2026),
        task_name: "2026年重庆市电线电缆产品质量监督抽查".into(),
        task_number: "CQ-2026-017".into(),
        product_category: "电线电缆".into(),
        business_name: "重庆某某五金经营部".into(),
        business_uscc: "914403001922038216".into(),
        business_address: "重庆市渝中区解放碑民族路 88 号".into(),
        business_person: "张三".into(),
        business_phone: "023-6380 1234".into(),
        business_role: Some(BusinessRole::Seller),
        product_name: "聚氯乙烯绝缘电线".into(),
        producer_none: true,
        sampler1_name: "李四".into(),
        sampler1_credential: "CQ50001234".into(),
        sampler2_name: "王五".into(),
        sampler2_credential: "CQ50005678".into(),
        place_address: "重庆市渝中区解放碑民族路 88 号门市".into(),
        started_at: Some(t("2026-11-20T10:15:00+08:00")),
        outcome: Some(OutcomeKind::Terminated),
        grounds: vec![Ground::NoFactoryAddress, Ground::NoFactoryName],
        situation: "货架上的电线无厂名厂址，经营者无法提供进货票据。".into(),
        ..RecordDraft::default()
    }
}

/// A sealed lead like a tablet's: 8 photos, 2 signatures, 12 audit entries.
fn seal(key: &SigningKey, blobs: &[(Sha256, u64)]) -> anyhow::Result<LeadUpload> {
    let lead = LeadId::new();
    let mut log: Vec<SignedEntry> = Vec::new();
    log.push(SignedEntry::next(
        None,
        lead,
        t("2026-11-20T10:15:00+08:00"),
        LogEvent::Created,
        json!({}),
        key,
    )?);
    for (sha, _) in blobs {
        let e = SignedEntry::next(
            log.last(),
            lead,
            t("2026-11-20T10:20:00+08:00"),
            LogEvent::EvidenceAdded,
            json!({"sha256": sha.to_hex()}),
            key,
        )?;
        log.push(e);
    }
    let mut evidence: Vec<EvidenceEntry> = blobs
        .iter()
        .enumerate()
        .map(|(i, (sha, bytes))| EvidenceEntry {
            sha256: *sha,
            bytes: *bytes,
            format: "jpeg".into(),
            caption: format!("现场照片 {}", i + 1),
            width: Some(4000),
            height: Some(3000),
            exif_datetime: Some("2026:11:20 10:20:00".into()),
            exif_offset: Some("+08:00".into()),
            exif_gps: None,
            make: Some("HUAWEI".into()),
            model: None,
            phash: Some("00ff00ff00ff00ff".into()),
            added_at: t("2026-11-20T10:20:00+08:00"),
        })
        .collect();
    evidence.sort_by_key(|e| e.sha256);
    let signed = |party, name: &str, n: u8| Signoff {
        party,
        name: name.into(),
        signoff: SignoffKind::Signed {
            image_sha256: Sha256::digest(&[n; 8]),
            image_bytes: 2048,
        },
        at: t("2026-11-20T10:28:00+08:00"),
    };
    let head = log.last().context("log")?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        lead_id: lead,
        device_key: key.public_key(),
        record: draft()
            .validate(lead)
            .map_err(|p| anyhow::anyhow!("{p:?}"))?,
        evidence,
        signoffs: vec![
            signed(Party::Sampler1, "李四", 1),
            signed(Party::Sampler2, "王五", 2),
            Signoff {
                party: Party::Business,
                name: "张三".into(),
                signoff: SignoffKind::Refused {
                    witness: "刘七".into(),
                },
                at: t("2026-11-20T10:29:00+08:00"),
            },
        ],
        log_head: LogHead {
            seq: head.entry.seq,
            entry_hash: head.entry_hash,
        },
        sealed_at: t("2026-11-20T10:30:00+08:00"),
    };
    let signed = SignedManifest::sign(manifest, key)?;
    let seal = SignedEntry::next(
        log.last(),
        lead,
        t("2026-11-20T10:30:00+08:00"),
        LogEvent::Sealed,
        json!({"manifest_hash": signed.manifest_hash.to_hex()}),
        key,
    )?;
    log.push(seal);
    Ok(LeadUpload {
        manifest: signed,
        log,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let devices = args.first().copied().unwrap_or(200);
    let per_device = args.get(1).copied().unwrap_or(25);
    let blob_mb = args.get(2).copied().unwrap_or(3);
    let blob_count = args.get(3).copied().unwrap_or(32);

    let dir = tempfile::Builder::new()
        .prefix("bureau-bench")
        .tempdir_in(std::env::current_dir()?)?;
    Bureau::init(dir.path())?;
    let config = Config {
        device_rate_per_sec: 1e6,
        // Throughput is measured here, not the per-device quotas.
        device_leads_per_day: u32::MAX,
        max_concurrent_requests: 4096,
        device_burst: 1_000_000,
        cookie_secure: false,
        ..Config::default()
    };
    let bureau = Arc::new(Bureau::open(dir.path(), config)?);
    let district = bureau.create_district("bench", "压测区市场监督管理局", &Actor::Cli)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let server = Arc::clone(&bureau);
    tokio::spawn(async move {
        let _ = fieldlead_bureau::server::serve(server, listener, std::future::pending()).await;
    });

    println!("preparing {devices} devices x {per_device} sealed leads ...");
    let mut tablets = Vec::new();
    for i in 0..devices {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        let key = SigningKey::from_seed(&seed);
        let code = bureau.issue_enrolment_code(&district, &Actor::Cli)?.code;
        // Enrolment is rate-limited per address; these are bookkeeping values only.
        let ip = IpAddr::from([127, 1, (i / 256) as u8, (i % 256) as u8]);
        let e = bureau.enrol(
            &EnrolmentRequest::new(code, &format!("bench {i}"), &key),
            ip,
        )?;
        let leads: Vec<(LeadId, Vec<u8>)> = (0..per_device)
            .map(|j| {
                let blobs: Vec<(Sha256, u64)> = (0..8u64)
                    .map(|k| {
                        (
                            Sha256::digest(format!("{i}-{j}-{k}").as_bytes()),
                            3_000_000 + k,
                        )
                    })
                    .collect();
                let u = seal(&key, &blobs)?;
                Ok((u.manifest.manifest.lead_id, serde_json::to_vec(&u)?))
            })
            .collect::<anyhow::Result<_>>()?;
        tablets.push((e.token, leads));
    }
    let body_len = tablets[0].1[0].1.len();

    // The CPU floor: parsing and verifying a manifest on one core, no HTTP, no disk.
    let sample: Vec<&Vec<u8>> = tablets
        .iter()
        .flat_map(|t| t.1.iter().map(|l| &l.1))
        .take(1000)
        .collect();
    let start = Instant::now();
    for body in &sample {
        let u: LeadUpload = serde_json::from_slice(body)?;
        fieldlead_domain::verify_lead(&u.manifest, &u.log)?;
    }
    let verify_each = start.elapsed() / sample.len() as u32;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(devices)
        .build()?;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (token, leads) in tablets {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(leads.len());
            for (id, body) in leads {
                let t0 = Instant::now();
                let resp = client
                    .put(format!("{url}/api/v1/leads/{id}"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                ensure!(
                    resp.status() == 201,
                    "status {}: {}",
                    resp.status(),
                    resp.text().await?
                );
                resp.bytes().await?;
                latencies.push(t0.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let n = latencies.len();
    println!();
    println!("| manifests | devices | body | parse+verify, 1 core | wall | accepted/s | p50 | p99 | max |");
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {n} | {devices} | {:.1} KiB | {:.2} ms | {:.2} s | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms |",
        body_len as f64 / 1024.0,
        verify_each.as_secs_f64() * 1e3,
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies[n - 1].as_secs_f64() * 1e3,
    );

    // Blob ingest.
    let blob_bytes = blob_mb * 1024 * 1024;
    let blobs: Vec<Vec<u8>> = (0..blob_count)
        .map(|i| pseudo_random(blob_bytes, i as u64 + 7))
        .collect();
    let key = SigningKey::from_seed(&[0xB1; 32]);
    let code = bureau.issue_enrolment_code(&district, &Actor::Cli)?.code;
    let e = bureau.enrol(
        &EnrolmentRequest::new(code, "bench blobs", &key),
        IpAddr::from([127, 2, 0, 1]),
    )?;
    let refs: Vec<(Sha256, u64)> = blobs
        .iter()
        .map(|b| (Sha256::digest(b), b.len() as u64))
        .collect();
    let mut uploads = Vec::new();
    for chunk in refs.chunks(8) {
        let u = seal(&key, chunk)?;
        let resp = client
            .put(format!(
                "{url}/api/v1/leads/{}",
                u.manifest.manifest.lead_id
            ))
            .bearer_auth(&e.token)
            .body(serde_json::to_vec(&u)?)
            .send()
            .await?;
        ensure!(resp.status() == 201, "lead for blobs: {}", resp.status());
        uploads.push(u);
    }
    let total = (blob_bytes * blob_count) as f64 / 1e6;
    let start = Instant::now();
    for (b, (sha, _)) in blobs.iter().zip(&refs) {
        let resp = client
            .put(format!("{url}/api/v1/blobs/{sha}"))
            .bearer_auth(&e.token)
            .body(b.clone())
            .send()
            .await?;
        ensure!(
            resp.status() == 201,
            "blob: {} {}",
            resp.status(),
            resp.text().await?
        );
    }
    let ingest = start.elapsed();

    // The yardstick: the same bytes written and fsynced to new files on the same disk.
    let copy_dir = dir.path().join("copy");
    std::fs::create_dir_all(&copy_dir)?;
    let start = Instant::now();
    for (i, b) in blobs.iter().enumerate() {
        use std::io::Write;
        let mut f = std::fs::File::create(copy_dir.join(format!("{i}.bin")))?;
        f.write_all(b)?;
        f.sync_all()?;
    }
    let copy = start.elapsed();
    println!();
    println!("| blobs | size | bureau ingest (HTTP, SHA-256, fsync, rename) | write+fsync same bytes | ratio |");
    println!("|---|---|---|---|---|");
    println!(
        "| {blob_count} | {blob_mb} MiB | {:.0} MB/s | {:.0} MB/s | {:.0}% |",
        total / ingest.as_secs_f64(),
        total / copy.as_secs_f64(),
        100.0 * copy.as_secs_f64() / ingest.as_secs_f64()
    );
    Ok(())
}
