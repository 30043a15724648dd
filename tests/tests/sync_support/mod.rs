//! What the sync end-to-end tests share (the `sync_*` test files): the real
//! bureau server in a runtime of its own so it can be killed abruptly, a TCP proxy
//! that cuts connections at seeded random points and can throttle, and the tablet
//! side (sealing leads with photos, enrolling, pointing the tablet elsewhere).
//! Each test file uses only some of it.
#![allow(dead_code, unused_imports)]

pub use std::io::Cursor;
pub use std::net::SocketAddr;
pub use std::path::{Path, PathBuf};
pub use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
pub use std::sync::{Arc, Mutex};
pub use std::time::{Duration, Instant};

pub use chrono::{DateTime, FixedOffset, Utc};
pub use fieldlead_bureau::storage::{LeadFilter, Scope};
pub use fieldlead_bureau::{Actor, Bureau, Config, DataPaths};
pub use fieldlead_device::{Device, OutboxState, SyncError, SyncPhase};
pub use fieldlead_domain::{
    manifest_blobs, EnrolmentInvite, KeyFingerprint, LeadId, Party, RecordDraft, Sha256, SigningKey,
};
pub use fieldlead_evidence::EvidenceStore;
pub use tokio::io::{AsyncReadExt, AsyncWriteExt};
pub use tokio::net::{TcpListener, TcpStream};

// The city's pair (PostgreSQL, S3) when the suite runs on it: the bureau
// crate's own test servers (FIELDLEAD_TEST_BACKENDS=postgres+s3).
#[path = "../../../crates/bureau/tests/support/backends.rs"]
pub mod backends;
#[path = "../../../crates/bureau/tests/support/postgres.rs"]
pub mod postgres;
#[path = "../../../crates/bureau/tests/support/s3.rs"]
pub mod s3;

use backends::CityBackends;

pub const YUZHONG: &str = "渝中区市场监督管理局";
pub const JIANGBEI: &str = "江北区市场监督管理局";

// ---------------------------------------------------------------------------
// The bureau, in a runtime of its own so it can be killed abruptly.

pub struct Server {
    pub data: PathBuf,
    pub runtime: Option<tokio::runtime::Runtime>,
    pub bureau: Option<Arc<Bureau>>,
    pub url: String,
    /// PostgreSQL and S3 when the suite runs on them; kept across a kill.
    backends: Option<Arc<CityBackends>>,
}

pub fn config() -> Config {
    Config {
        cookie_secure: false,
        // Fault-injection rounds make many small requests; the limiter is not under test.
        device_rate_per_sec: 10_000.0,
        device_burst: 10_000,
        ..Config::default()
    }
}

/// Bytes of a blob's partial upload held by the bureau, whichever device sends it
/// (each uploader has its own folder under `uploads/`).
pub fn partial_len(data: &Path, sha: &Sha256) -> u64 {
    let Ok(folders) = std::fs::read_dir(DataPaths::new(data).uploads()) else {
        return 0;
    };
    folders
        .flatten()
        .filter_map(|f| std::fs::metadata(f.path().join(format!("{}.part", sha.to_hex()))).ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0)
}

impl Server {
    pub fn start(data: &Path) -> Server {
        Bureau::init(data).unwrap();
        let s = Server::serve(data);
        let b = s.bureau();
        b.create_district("yuzhong", YUZHONG, &Actor::Cli).unwrap();
        b.create_district("jiangbei", JIANGBEI, &Actor::Cli)
            .unwrap();
        s
    }

    /// Serves an existing data folder on a new port.
    pub fn serve(data: &Path) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let backends = CityBackends::for_data(data);
        let mut config = config();
        if let Some(b) = &backends {
            b.apply(&mut config);
        }
        let bureau = Arc::new(Bureau::open(data, config).unwrap());
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let b = Arc::clone(&bureau);
        {
            let _guard = runtime.enter();
            let listener = TcpListener::from_std(std_listener).unwrap();
            runtime.spawn(async move {
                let _ = fieldlead_bureau::server::serve(b, listener, std::future::pending()).await;
            });
        }
        Server {
            data: data.to_path_buf(),
            runtime: Some(runtime),
            bureau: Some(bureau),
            url: format!("http://{addr}"),
            backends,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.url.trim_start_matches("http://").parse().unwrap()
    }

    pub fn bureau(&self) -> &Arc<Bureau> {
        self.bureau.as_ref().unwrap()
    }

    /// Drops every task and connection at once, mid-request, like `kill -9`.
    pub fn kill(&mut self) {
        self.bureau = None;
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    pub fn invite(&self, district: &str, printed_name: &str) -> EnrolmentInvite {
        let b = self.bureau();
        let d = b.district(district).unwrap();
        let code = b.issue_enrolment_code(&d, &Actor::Cli).unwrap().code;
        EnrolmentInvite::new(&self.url, code, printed_name, self.fingerprint())
    }

    /// The fingerprint printed beside this bureau's codes.
    pub fn fingerprint(&self) -> KeyFingerprint {
        self.bureau().public_key().fingerprint()
    }

    /// A bare enrolment code, for the typed-in path.
    pub fn code(&self, district: &str) -> String {
        let b = self.bureau();
        let d = b.district(district).unwrap();
        b.issue_enrolment_code(&d, &Actor::Cli)
            .unwrap()
            .code
            .to_string()
    }

    pub fn lead_count(&self) -> usize {
        self.bureau()
            .storage()
            .leads(Scope::All, &LeadFilter::default())
            .unwrap()
            .len()
    }

    /// Every blob of the lead is held and its bytes hash to its name.
    pub fn assert_lead_complete(&self, dev: &Device, id: LeadId) {
        let b = self.bureau();
        let row = b.storage().lead(id).unwrap().expect("lead at the bureau");
        let signed = dev.manifest(id).unwrap().unwrap();
        assert_eq!(row.manifest_hash, signed.manifest_hash);
        let store = b.blob_store();
        for blob in manifest_blobs(&signed.manifest).unwrap() {
            assert!(
                store.verify(&blob.sha256).unwrap(),
                "blob {} verifies",
                blob.sha256
            );
        }
        let receipt = dev.receipt(id).unwrap().expect("receipt stored");
        receipt.verify_for(&b.public_key(), &signed).unwrap();
    }

    pub fn partial_len(&self, sha: &Sha256) -> u64 {
        partial_len(&self.data, sha)
    }

    pub fn holds(&self, sha: &Sha256) -> bool {
        self.bureau().blob_store().contains(sha).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------
// A TCP proxy that cuts connections at seeded random points and can throttle.

/// xorshift64*: a seeded, reproducible source of cut points.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub struct Plan {
    pub rng: Rng,
    pub cuts_left: u32,
    /// Cut the upload direction somewhere in its first this many bytes.
    pub max_up: u64,
}

#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    pub upstream: Arc<Mutex<SocketAddr>>,
    pub plan: Arc<Mutex<Plan>>,
    pub cuts: Arc<AtomicU32>,
    /// Upload bytes per second, 0 for unthrottled.
    pub throttle: u64,
}

#[derive(PartialEq)]
pub enum Pumped {
    Eof,
    Cut,
    Broken,
}

pub async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    cut_after: Option<u64>,
    throttle: u64,
) -> Pumped {
    let mut buf = vec![0u8; 16 * 1024];
    let mut passed = 0u64;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) => {
                let _ = to.shutdown().await;
                return Pumped::Eof;
            }
            Ok(n) => n,
            Err(_) => return Pumped::Broken,
        };
        if let Some(limit) = cut_after {
            if passed + n as u64 >= limit {
                let _ = to.write_all(&buf[..(limit - passed) as usize]).await;
                return Pumped::Cut;
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return Pumped::Broken;
        }
        passed += n as u64;
        if let Some(micros) = (n as u64 * 1_000_000).checked_div(throttle) {
            tokio::time::sleep(Duration::from_micros(micros)).await;
        }
    }
}

impl Proxy {
    pub async fn start(
        upstream: SocketAddr,
        seed: u64,
        cuts: u32,
        max_up: u64,
        throttle: u64,
    ) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            url: format!("http://{}", listener.local_addr().unwrap()),
            upstream: Arc::new(Mutex::new(upstream)),
            plan: Arc::new(Mutex::new(Plan {
                rng: Rng(seed),
                cuts_left: cuts,
                max_up,
            })),
            cuts: Arc::new(AtomicU32::new(0)),
            throttle,
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let p = p.clone();
                tokio::spawn(async move { p.relay(client).await });
            }
        });
        proxy
    }

    pub fn repoint(&self, upstream: SocketAddr) {
        *self.upstream.lock().unwrap() = upstream;
    }

    pub async fn relay(&self, client: TcpStream) {
        let (cut_up, cut_down) = {
            let mut plan = self.plan.lock().unwrap();
            // Keep-alive carries a whole round on one connection, so every
            // connection is cut while cuts remain: mostly mid-upload, sometimes in
            // the answer.
            if plan.cuts_left > 0 {
                if plan.rng.below(4) == 0 {
                    (None, Some(plan.rng.below(600)))
                } else {
                    let max = plan.max_up;
                    (Some(plan.rng.below(max)), None)
                }
            } else {
                (None, None)
            }
        };
        let upstream = *self.upstream.lock().unwrap();
        let Ok(server) = TcpStream::connect(upstream).await else {
            return;
        };
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        let up = pump(cr, sw, cut_up, self.throttle);
        let down = pump(sr, cw, cut_down, 0);
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        while !(up_done && down_done) {
            let r = tokio::select! {
                r = &mut up, if !up_done => { up_done = true; r }
                r = &mut down, if !down_done => { down_done = true; r }
            };
            match r {
                Pumped::Eof => {}
                Pumped::Cut => {
                    let mut plan = self.plan.lock().unwrap();
                    plan.cuts_left = plan.cuts_left.saturating_sub(1);
                    self.cuts.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                Pumped::Broken => return,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The tablet side.

pub fn draft() -> RecordDraft {
    fieldlead_domain::sample::terminated_draft()
}

/// A small JPEG; `seed` makes each one different. `noise` adds incompressible
/// detail so the file is larger (about `side`² bytes).
pub fn photo(seed: u64, side: u32) -> Vec<u8> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let img = image::RgbImage::from_fn(side, side, |x, y| {
        let n = if side > 64 { rng.below(256) as u8 } else { 0 };
        image::Rgb([(x as u8) ^ (seed as u8), (y as u8).wrapping_add(n), n])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
        .encode_image(&img)
        .unwrap();
    out
}

/// A PNG of noise: a few megabytes that do not compress.
pub fn big_photo(seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let img = image::RgbImage::from_fn(1100, 1000, |_, _| {
        let v = rng.next();
        image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Seals a lead with these photos on the tablet, as a sampler would.
pub fn seal(dev: &mut Device, photos: &[Vec<u8>]) -> LeadId {
    let r = dev.create_record(draft()).unwrap();
    for (i, p) in photos.iter().enumerate() {
        dev.attach_evidence_reader(r.id, Cursor::new(p), None, &format!("现场照片 {}", i + 1))
            .unwrap();
    }
    for (party, seed) in [
        (Party::Sampler1, 1u64),
        (Party::Sampler2, 2),
        (Party::Business, 3),
    ] {
        dev.sign(
            r.id,
            party,
            &photo(seed * 1000 + r.id.to_string().len() as u64, 40),
        )
        .unwrap();
    }
    dev.seal(r.id).unwrap();
    r.id
}

pub async fn enrolled(dir: &Path, server: &Server, label: &str) -> Device {
    let mut dev = Device::open(dir).unwrap();
    dev.enrol(&server.invite("yuzhong", YUZHONG), label)
        .await
        .unwrap();
    dev
}

/// The temp folders of a bureau and its tablet; bound before them, so removed last.
pub struct Folders {
    pub bureau: tempfile::TempDir,
    pub tablet: tempfile::TempDir,
}

/// A bureau on a fresh data folder, and a tablet ("平板 1") enrolled with it in 渝中:
/// `let (folders, server, mut dev) = bureau_and_tablet().await;`.
pub async fn bureau_and_tablet() -> (Folders, Server, Device) {
    let bureau = tempfile::tempdir().unwrap();
    let server = Server::start(bureau.path());
    let tablet = tempfile::tempdir().unwrap();
    let dev = enrolled(tablet.path(), &server, "平板 1").await;
    (Folders { bureau, tablet }, server, dev)
}

/// The tablet's outbox entry for this lead.
pub fn outbox_item(dev: &mut Device, lead: LeadId) -> fieldlead_device::OutboxItem {
    dev.outbox()
        .unwrap()
        .into_iter()
        .find(|i| i.lead_id == lead)
        .unwrap()
}

pub fn all_delivered(dev: &mut Device) -> bool {
    dev.outbox()
        .unwrap()
        .iter()
        .all(|i| i.state == OutboxState::Delivered)
}

/// Points the tablet at another address (the proxy) without re-enrolling.
pub fn point_at(dev: &mut Device, url: &str) {
    let mut s = dev.settings().unwrap();
    s.bureau_url = url.to_string();
    dev.save_settings(&s).unwrap();
}

pub fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
