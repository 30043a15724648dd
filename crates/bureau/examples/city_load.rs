//! The bureau as a city runs it, side by side in one run (`examples/city_load.rs`):
//! the embedded store (SQLite and a blob folder), and PostgreSQL with an
//! S3-compatible store (moto, as in the tests) behind one and two instances.
//!
//! Every instance is a real `fieldlead-bureau serve` process (the release
//! binary beside this example), so its memory is its own; the simulated tablets
//! run in this process. For each configuration:
//!
//! 1. Manifests accepted per second, p50/p99, from N tablets (default 200), each
//!    pushing its sealed leads one after another over keep-alive HTTP/1.1, the
//!    tablets spread over the instances. Beside it, the verification ceiling
//!    measured in the same run, just before that configuration: cores ÷ one
//!    core's parse+verify time (the median of three passes).
//! 2. Blob ingest: blobs sent through `PUT /api/v1/blobs/{sha256}` against the
//!    same bytes written without the bureau: write+fsync to the same disk for the
//!    blob folder, `curl --aws-sigv4` PUTs to the same object store for S3.
//! 3. Peak memory (VmHWM) of each instance.
//!
//! Run: `cargo build --release -p fieldlead-bureau --bins --examples &&
//! target/release/examples/city_load [DEVICES] [LEADS_PER_DEVICE] [BLOB_MB] [BLOBS]`
//! (needs PostgreSQL's initdb and moto, as `scripts/test` installs them).

#[path = "bench_support/mod.rs"]
mod bench_support;
#[path = "../tests/support/postgres.rs"]
#[allow(dead_code)]
mod postgres;
#[path = "../tests/support/s3.rs"]
#[allow(dead_code)]
mod s3;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use bench_support::{
    enrol, parse_verify_time, percentile, pseudo_random, push_manifests, sealed_bodies, send_blobs,
    tablet_key, Load,
};
use fieldlead_bureau::{Actor, Bureau, Config};
use fieldlead_domain::SigningKey;

/// Where the data lives in one configuration.
struct Setup {
    name: &'static str,
    database_url: Option<String>,
    blobs_url: Option<String>,
    s3_env: Vec<(String, String)>,
    instances: usize,
}

impl Setup {
    fn config(&self) -> Config {
        let mut c = Config {
            device_rate_per_sec: 1e6,
            device_leads_per_day: u32::MAX,
            max_concurrent_requests: 4096,
            device_burst: 1_000_000,
            cookie_secure: false,
            database_url: self.database_url.clone(),
            blobs_url: self.blobs_url.clone(),
            ..Config::default()
        };
        c.object_store_env = fieldlead_bureau::config::ObjectStoreEnv(self.s3_env.clone());
        c
    }
}

/// One `fieldlead-bureau serve` process.
struct Instance {
    child: Child,
    url: String,
}

impl Instance {
    fn start(binary: &Path, data: &Path, setup: &Setup) -> anyhow::Result<Instance> {
        let mut cmd = Command::new(binary);
        cmd.args(["serve", "--data"])
            .arg(data)
            .args(["--listen", "127.0.0.1:0"])
            .env("FIELDLEAD_BUREAU_DEVICE_RATE_PER_SEC", "1000000.0")
            .env("FIELDLEAD_BUREAU_DEVICE_BURST", "1000000")
            .env(
                "FIELDLEAD_BUREAU_DEVICE_LEADS_PER_DAY",
                u32::MAX.to_string(),
            )
            .env("FIELDLEAD_BUREAU_MAX_CONCURRENT_REQUESTS", "4096")
            .env("FIELDLEAD_BUREAU_COOKIE_SECURE", "false")
            .envs(setup.s3_env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(url) = &setup.database_url {
            cmd.env("FIELDLEAD_DATABASE_URL", url);
        }
        if let Some(url) = &setup.blobs_url {
            cmd.env("FIELDLEAD_BLOBS_URL", url);
        }
        let mut child = cmd.spawn().context("fieldlead-bureau serve")?;
        let mut first = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut first)?;
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .with_context(|| format!("no address in {first:?}"))?
            .to_string();
        Ok(Instance { child, url })
    }

    /// CPU seconds this process has used (user and system).
    fn cpu_secs(&self) -> f64 {
        cpu_secs(&format!("/proc/{}/stat", self.child.id()))
    }

    /// Peak resident memory so far, MiB.
    fn peak_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / 1024.0)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The same bytes stored without the bureau: seconds taken, and how.
type Yardstick<'a> = dyn Fn(&[Vec<u8>]) -> anyhow::Result<(f64, &'static str)> + Sync + 'a;

/// User and system CPU seconds from a `/proc/…/stat` file (clock ticks of 10 ms).
fn cpu_secs(stat: &str) -> f64 {
    std::fs::read_to_string(stat)
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

/// Busy and total CPU seconds of the whole machine, from `/proc/stat`.
fn machine_cpu() -> (f64, f64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    ((total - idle) / 100.0, total / 100.0)
}

struct Row {
    name: &'static str,
    instances: usize,
    accepted: f64,
    p50: Duration,
    p99: Duration,
    ingest_mbs: f64,
    yardstick_mbs: f64,
    yardstick: &'static str,
    peak_mib: Vec<f64>,
    /// CPU per accepted manifest, ms: the instances, this process (the tablets),
    /// and everything else on the machine (the database, the object store).
    server_ms: f64,
    client_ms: f64,
    other_ms: f64,
}

#[allow(clippy::too_many_arguments)]
async fn run(
    binary: &Path,
    work: &Path,
    setup: &Setup,
    devices: usize,
    per_device: usize,
    blobs: &[Vec<u8>],
    yardstick: &Yardstick<'_>,
) -> anyhow::Result<Row> {
    let folders: Vec<PathBuf> = (0..setup.instances)
        .map(|i| work.join(format!("{}-{i}", setup.name.replace([' ', '+'], "-"))))
        .collect();
    for (i, f) in folders.iter().enumerate() {
        Bureau::init(f)?;
        if i > 0 {
            // One key for every instance of a bureau.
            std::fs::copy(folders[0].join("bureau.key"), f.join("bureau.key"))?;
        }
    }
    // Setup beside the instances: a district and the tablets.
    let admin = tokio::task::block_in_place(|| Bureau::open_beside(&folders[0], setup.config()))?;
    let district = admin.create_district("bench", "压测区市场监督管理局", &Actor::Cli)?;
    let mut tablets = Vec::new();
    for i in 0..devices + 1 {
        let key = tablet_key(i);
        let token = tokio::task::block_in_place(|| enrol(&admin, &district, &key, i))?;
        tablets.push((key, token));
    }
    let (blob_key, blob_token) = tablets.pop().context("blob tablet")?;
    drop(admin);
    let instances: Vec<Instance> = folders
        .iter()
        .map(|f| Instance::start(binary, f, setup))
        .collect::<anyhow::Result<_>>()?;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(devices)
        .build()?;
    let mut work_items = Vec::new();
    for (i, (key, token)) in tablets.into_iter().enumerate() {
        let leads = sealed_bodies(&key, &i.to_string(), per_device)?;
        work_items.push((instances[i % instances.len()].url.clone(), token, leads));
    }
    let cpu_before: Vec<f64> = instances.iter().map(Instance::cpu_secs).collect();
    let client_before = cpu_secs("/proc/self/stat");
    let (busy_before, _) = machine_cpu();
    let (latencies, elapsed) = push_manifests(&client, work_items).await?;
    let (busy_after, _) = machine_cpu();
    let n = latencies.len() as f64;
    let server: f64 = instances
        .iter()
        .zip(&cpu_before)
        .map(|(i, before)| i.cpu_secs() - before)
        .sum();
    let client_cpu = cpu_secs("/proc/self/stat") - client_before;
    let other = (busy_after - busy_before - server - client_cpu).max(0.0);

    // Blob ingest through the first instance.
    let total = blobs.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let ingest = send_blobs(&client, &instances[0].url, &blob_token, &blob_key, blobs).await?;
    let (yard_secs, yard_name) = tokio::task::block_in_place(|| yardstick(blobs))?;
    Ok(Row {
        name: setup.name,
        instances: setup.instances,
        accepted: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        ingest_mbs: total / ingest.as_secs_f64(),
        yardstick_mbs: total / yard_secs,
        yardstick: yard_name,
        peak_mib: instances.iter().map(Instance::peak_mib).collect(),
        server_ms: server * 1e3 / n,
        client_ms: client_cpu * 1e3 / n,
        other_ms: other * 1e3 / n,
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let Load {
        devices,
        per_device,
        blob_mb,
        blob_count,
    } = Load::from_args()?;
    let binary = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .context("target folder")?
        .join("fieldlead-bureau");
    ensure!(
        binary.exists(),
        "{} is missing: cargo build --release -p fieldlead-bureau --bins --examples",
        binary.display()
    );
    let work = tempfile::Builder::new()
        .prefix("bureau-city-bench")
        .tempdir_in(std::env::current_dir()?)?;

    // The verification ceiling: one core's parse+verify, measured again just
    // before each configuration (the load of this shared host drifts within a
    // run), the median of three passes over 300 manifests.
    let bodies = sealed_bodies(&SigningKey::from_seed(&[9; 32]), "c", 300)?;
    let verify_now = || -> anyhow::Result<Duration> {
        let mut passes = (0..3)
            .map(|_| parse_verify_time(bodies.iter().map(|(_, body)| body)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        passes.sort();
        Ok(passes[1])
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let blobs: Vec<Vec<u8>> = (0..blob_count)
        .map(|i| pseudo_random(blob_mb * 1024 * 1024, i as u64 + 7))
        .collect();

    println!("starting PostgreSQL and the S3-compatible server ...");
    let pg = tokio::task::block_in_place(postgres::PgCluster::start);
    let s3 = s3::S3Server::start();
    let s3_env = s3.env();
    let mut setups = vec![Setup {
        name: "SQLite + folder",
        database_url: None,
        blobs_url: None,
        s3_env: Vec::new(),
        instances: 1,
    }];
    for instances in [1, 2] {
        setups.push(Setup {
            name: "PostgreSQL + S3",
            database_url: Some(tokio::task::block_in_place(|| pg.new_database())),
            blobs_url: Some(s3.new_bucket()),
            s3_env: s3_env.clone(),
            instances,
        });
    }

    // Yardsticks: the same bytes without the bureau, to the same place.
    let disk = work.path().join("copy");
    std::fs::create_dir_all(&disk)?;
    let write_fsync = |blobs: &[Vec<u8>]| -> anyhow::Result<(f64, &'static str)> {
        let start = Instant::now();
        for (i, b) in blobs.iter().enumerate() {
            let mut f = std::fs::File::create(disk.join(format!("{i}.bin")))?;
            f.write_all(b)?;
            f.sync_all()?;
        }
        Ok((start.elapsed().as_secs_f64(), "write+fsync"))
    };
    let plain = s3.new_bucket();
    let bucket = plain
        .trim_start_matches("s3://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let endpoint = s3.endpoint();
    let user = {
        let get = |k: &str| s3_env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        format!(
            "{}:{}",
            get("AWS_ACCESS_KEY_ID").unwrap_or_default(),
            get("AWS_SECRET_ACCESS_KEY").unwrap_or_default()
        )
    };
    let curl_dir = work.path().join("curl");
    std::fs::create_dir_all(&curl_dir)?;
    let curl_sigv4 = |blobs: &[Vec<u8>]| -> anyhow::Result<(f64, &'static str)> {
        let files: Vec<PathBuf> = blobs
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let p = curl_dir.join(format!("{i}.bin"));
                std::fs::write(&p, b).map(|()| p)
            })
            .collect::<Result<_, _>>()?;
        let start = Instant::now();
        for (i, f) in files.iter().enumerate() {
            let out = Command::new("curl")
                .args([
                    "-sS",
                    "-f",
                    "--aws-sigv4",
                    "aws:amz:us-east-1:s3",
                    "--user",
                    &user,
                    "-T",
                ])
                .arg(f)
                .arg(format!("{endpoint}/{bucket}/plain/{i}.bin"))
                .output()?;
            ensure!(
                out.status.success(),
                "curl: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok((start.elapsed().as_secs_f64(), "curl --aws-sigv4 PUT"))
    };

    let mut rows = Vec::new();
    let mut verify_times = Vec::new();
    for setup in &setups {
        let verify_each = verify_now()?;
        verify_times.push(verify_each);
        println!(
            "{} x{} (parse+verify {:.2} ms) ...",
            setup.name,
            setup.instances,
            verify_each.as_secs_f64() * 1e3
        );
        let yardstick: &Yardstick<'_> = if setup.blobs_url.is_some() {
            &curl_sigv4
        } else {
            &write_fsync
        };
        rows.push(
            run(
                &binary,
                work.path(),
                setup,
                devices,
                per_device,
                &blobs,
                yardstick,
            )
            .await?,
        );
    }

    println!();
    println!(
        "{devices} tablets x {per_device} manifests, {cores} cores; {blob_count} blobs of {blob_mb} MiB"
    );
    println!();
    println!("| store | instances | accepted/s | parse+verify on one core | ceiling | of ceiling | p50 | p99 | CPU per manifest: bureau / tablets / rest | blob ingest | yardstick | ingest/yardstick | peak RSS per instance |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (r, verify_each) in rows.iter().zip(&verify_times) {
        let ceiling = cores as f64 / verify_each.as_secs_f64();
        println!(
            "| {} | {} | {:.0} | {:.2} ms | {ceiling:.0}/s | {:.0}% | {:.0} ms | {:.0} ms | {:.2} / {:.2} / {:.2} ms | {:.0} MB/s | {:.0} MB/s ({}) | {:.0}% | {} |",
            r.name,
            r.instances,
            r.accepted,
            verify_each.as_secs_f64() * 1e3,
            100.0 * r.accepted / ceiling,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.server_ms,
            r.client_ms,
            r.other_ms,
            r.ingest_mbs,
            r.yardstick_mbs,
            r.yardstick,
            100.0 * r.ingest_mbs / r.yardstick_mbs,
            r.peak_mib
                .iter()
                .map(|m| format!("{m:.0} MiB"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
