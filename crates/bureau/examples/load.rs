//! The bureau under load on loopback (`examples/load.rs`).
//!
//! 1. Manifests accepted per second, with p50/p99 latency, from N concurrent
//!    simulated tablets (default 200), each pushing its sealed leads one after
//!    another over HTTP/1.1 keep-alive. Every manifest is fully verified (hash,
//!    Ed25519 signatures of the manifest and each audit entry, chain) and
//!    committed to SQLite with synchronous=FULL before its 201.
//! 2. Blob ingest MB/s (hash-while-streaming, fsync, rename) against writing and
//!    fsyncing the same bytes to a file on the same disk.
//!
//! Run: `cargo run --release -p fieldlead-bureau --example load -- [DEVICES] [LEADS_PER_DEVICE] [BLOB_MB] [BLOBS]`

#[path = "bench_support/mod.rs"]
mod bench_support;

use std::sync::Arc;
use std::time::Instant;

use bench_support::{
    enrol, parse_verify_time, percentile, pseudo_random, push_manifests, sealed_bodies, send_blobs,
    tablet_key, Load,
};
use fieldlead_bureau::{Actor, Bureau, Config};
use fieldlead_domain::SigningKey;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let Load {
        devices,
        per_device,
        blob_mb,
        blob_count,
    } = Load::from_args()?;

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
        let key = tablet_key(i);
        let token = enrol(&bureau, &district, &key, i)?;
        let leads = sealed_bodies(&key, &i.to_string(), per_device)?;
        tablets.push((token, leads));
    }
    let body_len = tablets[0].1[0].1.len();

    // The CPU floor: parsing and verifying a manifest on one core, no HTTP, no disk.
    let sample: Vec<&Vec<u8>> = tablets
        .iter()
        .flat_map(|t| t.1.iter().map(|l| &l.1))
        .take(1000)
        .collect();
    let verify_each = parse_verify_time(sample.into_iter())?;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(devices)
        .build()?;
    let work = tablets
        .into_iter()
        .map(|(token, leads)| (url.clone(), token, leads))
        .collect();
    let (latencies, elapsed) = push_manifests(&client, work).await?;
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
    let blob_token = enrol(&bureau, &district, &key, devices)?;
    let total = (blob_bytes * blob_count) as f64 / 1e6;
    let ingest = send_blobs(&client, &url, &blob_token, &key, &blobs).await?;

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
