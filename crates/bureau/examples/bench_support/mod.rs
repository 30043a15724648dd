//! What the bureau's load examples share: sealed leads, tablets enrolled for a
//! bench, percentiles and incompressible bytes.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use chrono::Utc;
use fieldlead_bureau::storage::{AuditEntry, Enrolment, NewDevice};
use fieldlead_bureau::{secrets, Actor, Bureau};
use fieldlead_domain::{sample, DeviceId, LeadId, LeadUpload, SigningKey};

/// The load, from the command line: `[DEVICES] [LEADS_PER_DEVICE] [BLOB_MB]
/// [BLOBS]`, by default 200 tablets of 25 leads and 32 blobs of 3 MiB.
pub struct Load {
    pub devices: usize,
    pub per_device: usize,
    pub blob_mb: usize,
    pub blob_count: usize,
}

impl Load {
    pub fn from_args() -> anyhow::Result<Load> {
        let args: Vec<usize> = std::env::args()
            .skip(1)
            .map(|a| a.parse())
            .collect::<Result<_, _>>()
            .context("arguments: [DEVICES] [LEADS_PER_DEVICE] [BLOB_MB] [BLOBS]")?;
        let arg = |i: usize, default| args.get(i).copied().unwrap_or(default);
        Ok(Load {
            devices: arg(0, 200),
            per_device: arg(1, 25),
            blob_mb: arg(2, 3),
            blob_count: arg(3, 32),
        })
    }
}

/// A sealed lead like a tablet's: the sample record, 2 signature images, one
/// audit entry per blob. `blobs` stand in for photos: only their hashes and sizes
/// matter to the manifest.
pub fn seal(key: &SigningKey, blobs: &[Vec<u8>]) -> LeadUpload {
    sample::sealed_lead_with(
        LeadId::new(),
        key,
        blobs,
        sample::terminated_draft(),
        |_| {},
    )
    .upload
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
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

/// Tablet `i`'s signing key (the same in every run).
pub fn tablet_key(i: usize) -> SigningKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    SigningKey::from_seed(&seed)
}

/// `count` sealed leads of tablet `tag`, each with 8 stand-in photos, as the
/// request bodies a tablet sends: (lead id, body).
pub fn sealed_bodies(
    key: &SigningKey,
    tag: &str,
    count: usize,
) -> anyhow::Result<Vec<(LeadId, Vec<u8>)>> {
    (0..count)
        .map(|j| {
            let fake: Vec<Vec<u8>> = (0..8u64)
                .map(|k| format!("{tag}-{j}-{k}").into_bytes())
                .collect();
            let u = seal(key, &fake);
            Ok((u.manifest.manifest.lead_id, serde_json::to_vec(&u)?))
        })
        .collect()
}

/// One core's time to parse and verify one of `bodies` (no HTTP, no disk): the
/// floor of the bureau's work per manifest, and with the cores its ceiling.
pub fn parse_verify_time<'a>(
    bodies: impl ExactSizeIterator<Item = &'a Vec<u8>>,
) -> anyhow::Result<Duration> {
    let n = bodies.len().max(1) as u32;
    let start = Instant::now();
    for body in bodies {
        let u: LeadUpload = serde_json::from_slice(body)?;
        fieldlead_domain::verify_lead(&u.manifest, &u.log)?;
    }
    Ok(start.elapsed() / n)
}

/// Enrols a tablet through the storage, as the API would after checking its
/// code: the enrolment limits (a few a minute) are not what a bench measures.
/// Its bearer token.
pub fn enrol(
    admin: &Bureau,
    district: &fieldlead_bureau::model::District,
    key: &SigningKey,
    i: usize,
) -> anyhow::Result<String> {
    let district_id = district.id;
    let code = admin.issue_enrolment_code(district, &Actor::Cli)?.code;
    let token = secrets::new_token();
    let device = NewDevice {
        id: DeviceId::new(),
        public_key: key.public_key(),
        token_hash: secrets::token_hash(&token),
        label: format!("bench {i}"),
    };
    let subject = format!("device:{}", device.id);
    admin
        .storage()
        .enrol_device(
            &secrets::token_hash(code.as_str()),
            Enrolment {
                device,
                district_id,
                returning: false,
            },
            AuditEntry {
                at: Utc::now(),
                actor: subject.clone(),
                district_id: Some(district_id),
                action: "device_enrolled".into(),
                subject,
                before: None,
                after: None,
            },
        )?
        .context("enrolment code spent")?;
    Ok(token)
}

/// One simulated tablet's work: the instance it talks to, its token, and its
/// sealed leads (id, request body).
pub type TabletWork = (String, String, Vec<(LeadId, Vec<u8>)>);

/// Every tablet pushes its leads one after another, all tablets at once; each
/// `PUT` must answer 201. Every request's latency, sorted, and the wall time.
pub async fn push_manifests(
    client: &reqwest::Client,
    tablets: Vec<TabletWork>,
) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (url, token, leads) in tablets {
        let client = client.clone();
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
    Ok((latencies, elapsed))
}

/// Blob ingest: leads naming `blobs` (8 to a lead) are put first, then every
/// blob is sent whole through `PUT /api/v1/blobs/{sha256}`, one after another.
/// The time the blobs took.
pub async fn send_blobs(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    key: &SigningKey,
    blobs: &[Vec<u8>],
) -> anyhow::Result<Duration> {
    for chunk in blobs.chunks(8) {
        let u = seal(key, chunk);
        let resp = client
            .put(format!(
                "{url}/api/v1/leads/{}",
                u.manifest.manifest.lead_id
            ))
            .bearer_auth(token)
            .body(serde_json::to_vec(&u)?)
            .send()
            .await?;
        ensure!(resp.status() == 201, "lead for blobs: {}", resp.status());
    }
    let start = Instant::now();
    for b in blobs {
        let sha = fieldlead_domain::Sha256::digest(b);
        let resp = client
            .put(format!("{url}/api/v1/blobs/{sha}"))
            .bearer_auth(token)
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
    Ok(start.elapsed())
}
