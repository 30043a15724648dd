//! Sync end to end (issue 6): the real bureau server on 127.0.0.1:0 with its own
//! temp data folder, the real tablet store and sync client, and faults injected
//! between them: a TCP proxy that cuts connections at seeded random points, a
//! bureau killed mid-blob (its runtime dropped, like a killed process) and
//! restarted on the same data, a client future dropped mid-sync and the tablet
//! re-opened from its folder. Each test checks what a sampler or the bureau would
//! notice: every lead delivered exactly once, every blob hash-verified, receipts
//! that verify, errors that say what is wrong.

use std::io::Cursor;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use fieldlead_bureau::storage::{LeadFilter, Scope};
use fieldlead_bureau::{Actor, Bureau, Config, DataPaths};
use fieldlead_device::{Device, OutboxState, SyncError, SyncPhase};
use fieldlead_domain::{
    manifest_blobs, EnrolmentInvite, KeyFingerprint, LeadId, Party, RecordDraft, Sha256, SigningKey,
};
use fieldlead_evidence::EvidenceStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const YUZHONG: &str = "渝中区市场监督管理局";
const JIANGBEI: &str = "江北区市场监督管理局";

// ---------------------------------------------------------------------------
// The bureau, in a runtime of its own so it can be killed abruptly.

struct Server {
    data: PathBuf,
    runtime: Option<tokio::runtime::Runtime>,
    bureau: Option<Arc<Bureau>>,
    url: String,
}

fn config() -> Config {
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
fn partial_len(data: &Path, sha: &Sha256) -> u64 {
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
    fn start(data: &Path) -> Server {
        Bureau::init(data).unwrap();
        let s = Server::serve(data);
        let b = s.bureau();
        b.create_district("yuzhong", YUZHONG, &Actor::Cli).unwrap();
        b.create_district("jiangbei", JIANGBEI, &Actor::Cli)
            .unwrap();
        s
    }

    /// Serves an existing data folder on a new port.
    fn serve(data: &Path) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let bureau = Arc::new(Bureau::open(data, config()).unwrap());
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
        }
    }

    fn addr(&self) -> SocketAddr {
        self.url.trim_start_matches("http://").parse().unwrap()
    }

    fn bureau(&self) -> &Arc<Bureau> {
        self.bureau.as_ref().unwrap()
    }

    /// Drops every task and connection at once, mid-request, like `kill -9`.
    fn kill(&mut self) {
        self.bureau = None;
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    fn invite(&self, district: &str, printed_name: &str) -> EnrolmentInvite {
        let b = self.bureau();
        let d = b.district(district).unwrap();
        let code = b.issue_enrolment_code(&d, &Actor::Cli).unwrap().code;
        EnrolmentInvite::new(&self.url, code, printed_name, self.fingerprint())
    }

    /// The fingerprint printed beside this bureau's codes.
    fn fingerprint(&self) -> KeyFingerprint {
        self.bureau().public_key().fingerprint()
    }

    /// A bare enrolment code, for the typed-in path.
    fn code(&self, district: &str) -> String {
        let b = self.bureau();
        let d = b.district(district).unwrap();
        b.issue_enrolment_code(&d, &Actor::Cli)
            .unwrap()
            .code
            .to_string()
    }

    fn lead_count(&self) -> usize {
        self.bureau()
            .storage()
            .leads(Scope::All, &LeadFilter::default())
            .unwrap()
            .len()
    }

    /// Every blob of the lead is held and its bytes hash to its name.
    fn assert_lead_complete(&self, dev: &Device, id: LeadId) {
        let b = self.bureau();
        let row = b.storage().lead(id).unwrap().expect("lead at the bureau");
        let signed = dev.manifest(id).unwrap().unwrap();
        assert_eq!(row.manifest_hash, signed.manifest_hash);
        let store = EvidenceStore::open(&DataPaths::new(&self.data).blobs()).unwrap();
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

    fn partial_len(&self, sha: &Sha256) -> u64 {
        partial_len(&self.data, sha)
    }

    fn holds(&self, sha: &Sha256) -> bool {
        EvidenceStore::open(&DataPaths::new(&self.data).blobs())
            .unwrap()
            .contains(sha)
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
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Plan {
    rng: Rng,
    cuts_left: u32,
    /// Cut the upload direction somewhere in its first this many bytes.
    max_up: u64,
}

#[derive(Clone)]
struct Proxy {
    url: String,
    upstream: Arc<Mutex<SocketAddr>>,
    plan: Arc<Mutex<Plan>>,
    cuts: Arc<AtomicU32>,
    /// Upload bytes per second, 0 for unthrottled.
    throttle: u64,
}

#[derive(PartialEq)]
enum Pumped {
    Eof,
    Cut,
    Broken,
}

async fn pump(
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
    async fn start(
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

    fn repoint(&self, upstream: SocketAddr) {
        *self.upstream.lock().unwrap() = upstream;
    }

    async fn relay(&self, client: TcpStream) {
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

fn draft() -> RecordDraft {
    fieldlead_domain::sample::terminated_draft()
}

/// A small JPEG; `seed` makes each one different. `noise` adds incompressible
/// detail so the file is larger (about `side`² bytes).
fn photo(seed: u64, side: u32) -> Vec<u8> {
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
fn big_photo(seed: u64) -> Vec<u8> {
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
fn seal(dev: &mut Device, photos: &[Vec<u8>]) -> LeadId {
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

async fn enrolled(dir: &Path, server: &Server, label: &str) -> Device {
    let mut dev = Device::open(dir).unwrap();
    dev.enrol(&server.invite("yuzhong", YUZHONG), label)
        .await
        .unwrap();
    dev
}

fn all_delivered(dev: &mut Device) -> bool {
    dev.outbox()
        .unwrap()
        .iter()
        .all(|i| i.state == OutboxState::Delivered)
}

/// Points the tablet at another address (the proxy) without re-enrolling.
fn point_at(dev: &mut Device, url: &str) {
    let mut s = dev.settings().unwrap();
    s.bureau_url = url.to_string();
    dev.save_settings(&s).unwrap();
}

// ---------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tablets_deliver_twenty_leads_once_each_with_verified_receipts() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut devices = Vec::new();
    let mut leads = Vec::new();
    for (n, dir) in dirs.iter().enumerate() {
        let mut dev = enrolled(dir.path(), &server, &format!("平板 {n}")).await;
        for l in 0..10u64 {
            let photos: Vec<Vec<u8>> = (0..5)
                .map(|p| photo(n as u64 * 10_000 + l * 10 + p, 48))
                .collect();
            leads.push((n, seal(&mut dev, &photos)));
        }
        devices.push(dev);
    }
    for dev in &mut devices {
        let mut events = Vec::new();
        let report = dev.sync_once(|p| events.push(p)).await.unwrap();
        assert_eq!(report.delivered.len(), 10, "{report:?}");
        assert!(report.failed.is_empty());
        assert!(!report.clock_skew_flagged);
        // Each lead's progress ends at its full size.
        for id in &report.delivered {
            let last = events.iter().rev().find(|e| e.lead_id == *id).unwrap();
            assert_eq!(last.phase, SyncPhase::Delivered);
            assert_eq!(last.bytes_sent, last.bytes_total);
            assert!(last.bytes_total > 0);
        }
    }
    assert_eq!(server.lead_count(), 20);
    for (n, id) in &leads {
        let dev = &mut devices[*n];
        server.assert_lead_complete(dev, *id);
        assert_eq!(
            dev.record(*id).unwrap().state,
            fieldlead_domain::LeadState::Delivered
        );
    }
    // The report time is the bureau's, on every outbox line.
    for dev in &mut devices {
        for item in dev.outbox().unwrap() {
            let at = item.received_at.expect("report time");
            assert!((Utc::now() - at).num_seconds().abs() < 120);
            assert_eq!(item.bytes_sent, item.bytes_total);
            assert_eq!(
                item.bureau_state,
                Some(fieldlead_domain::LeadState::Delivered)
            );
        }
        // A second round sends nothing and changes nothing.
        let again = dev.sync_once(|_| {}).await.unwrap();
        assert!(again.delivered.is_empty() && again.failed.is_empty());
        assert_eq!(again.bytes_uploaded, 0);
    }
    assert_eq!(server.lead_count(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_sends_from_a_restored_tablet_make_one_lead() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled(dir.path(), &server, "平板 1").await;
    let id = seal(&mut dev, &[photo(1, 48), photo(2, 48)]);
    dev.outbox().unwrap();
    drop(dev);
    // The same tablet restored from a backup taken before it synced: it sends the
    // same lead again.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    let mut first = Device::open(dir.path()).unwrap();
    let mut second = Device::open(copy.path()).unwrap();
    let a = first.sync_once(|_| {}).await.unwrap();
    let b = second.sync_once(|_| {}).await.unwrap();
    assert_eq!(a.delivered, vec![id]);
    assert_eq!(b.delivered, vec![id]);
    assert_eq!(server.lead_count(), 1);
    // Both hold the same receipt: same report time, nothing duplicated.
    assert_eq!(
        first.receipt(id).unwrap().unwrap().receipt.received_at,
        second.receipt(id).unwrap().unwrap().receipt.received_at
    );
    assert_eq!(b.bytes_uploaded, 0, "the blobs were not sent twice");
    server.assert_lead_complete(&first, id);
}

fn copy_dir(from: &Path, to: &Path) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_blob_resumes_from_its_offset_without_resending() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start(data.path());
    // About 2 MB/s, so the kill lands while the big photo is on the wire.
    let proxy = Proxy::start(server.addr(), 1, 0, 1, 2_000_000).await;
    let dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled(dir.path(), &server, "平板 1").await;
    point_at(&mut dev, &proxy.url);
    let big = big_photo(7);
    let big_sha = Sha256::digest(&big);
    assert!(big.len() > 3_000_000);
    let id = seal(&mut dev, &[big.clone(), photo(5, 48)]);

    let runtime = Arc::new(Mutex::new(server.runtime.take()));
    let killed = Arc::new(AtomicBool::new(false));
    let (rt, k) = (Arc::clone(&runtime), Arc::clone(&killed));
    let data_path = data.path().to_path_buf();
    let first = dev
        .sync_once(move |p| {
            // Kill once the bureau has written a good part of the big photo.
            let held = partial_len(&data_path, &big_sha);
            if p.phase == SyncPhase::Blobs && held >= 1_000_000 && !k.swap(true, Ordering::SeqCst) {
                if let Some(rt) = rt.lock().unwrap().take() {
                    rt.shutdown_background();
                }
            }
        })
        .await
        .unwrap();
    assert!(
        killed.load(Ordering::SeqCst),
        "the bureau was killed mid-blob"
    );
    assert!(first.delivered.is_empty());
    assert_eq!(first.failed.len(), 1, "{first:?}");
    assert!(!first.failed[0].final_failure);
    server.kill();
    drop(server);

    // Restart on the same data; the partial upload survived the kill.
    let server = Server::serve(data.path());
    proxy.repoint(server.addr());
    let held = server.partial_len(&big_sha);
    assert!(held > 0, "the bureau kept what arrived");
    assert!((held as usize) < big.len());
    let signed = dev.manifest(id).unwrap().unwrap();
    let still_missing: u64 = manifest_blobs(&signed.manifest)
        .unwrap()
        .iter()
        .map(|b| {
            if server.holds(&b.sha256) {
                0
            } else {
                b.bytes - server.partial_len(&b.sha256)
            }
        })
        .sum();
    let second = dev.sync_now(|_| {}).await.unwrap();
    assert_eq!(second.delivered, vec![id], "{second:?}");
    assert_eq!(
        second.bytes_uploaded, still_missing,
        "only the bytes the bureau did not hold were sent"
    );
    assert_eq!(server.lead_count(), 1);
    server.assert_lead_complete(&dev, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_random_connection_cuts_lose_and_duplicate_nothing() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let proxy = Proxy::start(server.addr(), 0x5eed_0006, 60, 120_000, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled(dir.path(), &server, "平板 1").await;
    point_at(&mut dev, &proxy.url);
    let mut ids = Vec::new();
    for l in 0..10u64 {
        let photos: Vec<Vec<u8>> = (0..3).map(|p| photo(100 + l * 10 + p, 300)).collect();
        ids.push(seal(&mut dev, &photos));
    }
    let started = Instant::now();
    let mut rounds = 0;
    while !all_delivered(&mut dev) {
        assert!(started.elapsed() < Duration::from_secs(120), "bounded time");
        rounds += 1;
        assert!(rounds < 5000);
        // Errors are expected here: the proxy cuts the round's connection.
        let _ = dev.sync_now(|_| {}).await;
    }
    // Keep going until the proxy has made all its cuts, on already-delivered leads.
    assert!(
        proxy.cuts.load(Ordering::SeqCst) >= 50,
        "cuts made: {}",
        proxy.cuts.load(Ordering::SeqCst)
    );
    assert_eq!(server.lead_count(), ids.len());
    for id in &ids {
        server.assert_lead_complete(&dev, *id);
    }
    for item in dev.outbox().unwrap() {
        assert_eq!(item.state, OutboxState::Delivered);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_killed_mid_sync_again_and_again_resumes_from_its_outbox() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    // Throttled so a kill lands inside uploads, not only between them.
    let proxy = Proxy::start(server.addr(), 2, 0, 1, 3_000_000).await;
    let dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled(dir.path(), &server, "平板 1").await;
    point_at(&mut dev, &proxy.url);
    let mut ids = Vec::new();
    for l in 0..5u64 {
        let photos: Vec<Vec<u8>> = (0..3).map(|p| photo(500 + l * 10 + p, 300)).collect();
        ids.push(seal(&mut dev, &photos));
    }
    drop(dev);
    let mut rng = Rng(0xc1_1e47);
    let mut kills = 0;
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(180), "bounded time");
        // Re-open from the folder, as the app does after being killed.
        let mut dev = Device::open(dir.path()).unwrap();
        if all_delivered(&mut dev) {
            break;
        }
        let budget = Duration::from_millis(50 + rng.below(300));
        if tokio::time::timeout(budget, dev.sync_now(|_| {}))
            .await
            .is_err()
        {
            kills += 1;
        }
    }
    assert!(kills >= 5, "killed {kills} times");
    let dev = Device::open(dir.path()).unwrap();
    assert_eq!(server.lead_count(), ids.len());
    for id in &ids {
        server.assert_lead_complete(&dev, *id);
    }
}

fn three_days_behind() -> DateTime<FixedOffset> {
    (Utc::now() - chrono::Duration::days(3)).fixed_offset()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tablet_clock_days_off_gets_the_bureau_time_and_a_skew_flag() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled(dir.path(), &server, "平板 1")
        .await
        .with_clock(three_days_behind);
    let id = seal(&mut dev, &[photo(9, 48)]);
    let before = Utc::now();
    let report = dev.sync_once(|_| {}).await.unwrap();
    assert_eq!(report.delivered, vec![id]);
    assert!(report.clock_skew_flagged);
    let skew = report.clock_skew_secs.unwrap();
    assert!((skew + 3 * 86_400).abs() < 120, "skew {skew}");
    let receipt = dev.receipt(id).unwrap().unwrap();
    // The report time is the bureau's clock, not the tablet's.
    assert!((receipt.receipt.received_at - before).num_seconds().abs() < 60);
    let item = dev
        .outbox()
        .unwrap()
        .into_iter()
        .find(|i| i.lead_id == id)
        .unwrap();
    assert!(item.clock_skew_flagged);
    assert_eq!(item.received_at, Some(receipt.receipt.received_at));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_altered_after_sealing_is_named_and_never_sent() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled(dir.path(), &server, "平板 1").await;
    let good = seal(&mut dev, &[photo(20, 48)]);
    let altered_photo = photo(21, 48);
    let sha = Sha256::digest(&altered_photo);
    let bad = seal(&mut dev, &[photo(22, 48), altered_photo]);
    let path = dev.evidence_store().object_path(&sha);
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();

    let report = dev.sync_once(|_| {}).await.unwrap();
    assert_eq!(report.delivered, vec![good], "the other lead still goes");
    assert_eq!(report.failed.len(), 1);
    let f = &report.failed[0];
    assert_eq!((f.lead_id, f.code.as_str()), (bad, "evidence_altered"));
    assert_eq!(f.sha256, Some(sha), "the tablet says which photo");
    assert!(f.message.contains("现场照片 2"), "{}", f.message);
    assert!(f.final_failure);
    assert!(server.bureau().storage().lead(bad).unwrap().is_none());
    assert!(!server.holds(&sha));
    let item = dev
        .outbox()
        .unwrap()
        .into_iter()
        .find(|i| i.lead_id == bad)
        .unwrap();
    assert_eq!(item.state, OutboxState::Failed);
    assert_eq!(item.last_error_code.as_deref(), Some("evidence_altered"));
    // "Sync now" does not resend a lead that can never be accepted.
    let again = dev.sync_now(|_| {}).await.unwrap();
    assert!(again.failed.is_empty() && again.delivered.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_tablet_gets_a_clear_error_and_nothing_is_stored() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled(dir.path(), &server, "平板 1").await;
    let id = seal(&mut dev, &[photo(30, 48)]);
    let device_id = dev.enrolment().unwrap().unwrap().device_id;
    server.bureau().revoke_device(None, device_id).unwrap();
    let err = dev.sync_once(|_| {}).await.unwrap_err();
    assert!(matches!(err, SyncError::DeviceRevoked), "{err:?}");
    assert_eq!(err.code(), "device_revoked");
    assert!(err.to_string().contains("停用"));
    assert_eq!(server.lead_count(), 0);
    let item = &dev.outbox().unwrap()[0];
    assert_eq!(item.lead_id, id);
    assert_eq!(item.state, OutboxState::Queued, "kept for later");
    assert!(dev.receipt(id).unwrap().is_none());
    let enrolment = dev.enrolment().unwrap().unwrap();
    assert!(enrolment.revoked_at.is_some(), "the app can say so");

    // A code that does not work leaves the revoked enrolment as it was.
    let bad = dev
        .enrol_with_code(
            &server.url,
            "ABCD-EFGH-JKMN",
            &server.fingerprint().to_string(),
            "平板 1",
        )
        .await
        .unwrap_err();
    assert!(!matches!(bad, SyncError::AlreadyEnrolled(_)), "{bad:?}");
    assert_eq!(dev.enrolment().unwrap(), Some(enrolment));

    // The bureau issues a fresh code: the tablet keeps its id at the bureau, gets a
    // new token, and the kept lead goes through at once (its backoff is forgotten).
    let again = dev
        .enrol(&server.invite("yuzhong", YUZHONG), "平板 1")
        .await
        .unwrap();
    assert_eq!(again.device_id, device_id);
    assert!(again.revoked_at.is_none());
    let report = dev.sync_once(|_| {}).await.unwrap();
    assert_eq!(report.delivered, vec![id]);
    server.assert_lead_complete(&dev, id);
    // Enrolling over an active enrolment is still refused.
    let twice = dev
        .enrol(&server.invite("yuzhong", YUZHONG), "平板 1")
        .await
        .unwrap_err();
    assert!(matches!(twice, SyncError::AlreadyEnrolled(_)), "{twice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_district_is_refused_with_a_clear_error_and_nothing_stored() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    // An invite printed for 江北 carrying a 渝中 code: the tablet does not enrol.
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let err = dev
        .enrol(&server.invite("yuzhong", JIANGBEI), "平板 1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "wrong_district");
    assert!(err.to_string().contains(JIANGBEI));
    assert!(dev.enrolment().unwrap().is_none());
    assert!(dev.settings().unwrap().bureau_url.is_empty());

    // A tablet of one bureau pointed at another district's server: not recognised,
    // nothing stored there.
    let other_data = tempfile::tempdir().unwrap();
    let other = Server::start(other_data.path());
    let dir2 = tempfile::tempdir().unwrap();
    let mut dev2 = enrolled(dir2.path(), &server, "平板 2").await;
    let id = seal(&mut dev2, &[photo(40, 48)]);
    point_at(&mut dev2, &other.url);
    let err = dev2.sync_once(|_| {}).await.unwrap_err();
    assert_eq!(err.code(), "device_not_recognised", "{err:?}");
    assert_eq!(other.lead_count(), 0);
    assert!(dev2.receipt(id).unwrap().is_none());

    // Offline: a clear error; every lead waits in the outbox with a backoff, so
    // the automatic round does not hammer a dead network lead after lead.
    let id2 = seal(&mut dev2, &[photo(41, 48)]);
    point_at(&mut dev2, "http://127.0.0.1:9");
    let err = dev2.sync_now(|_| {}).await.unwrap_err();
    assert_eq!(err.code(), "offline", "{err:?}");
    assert!(err.to_string().contains("联网后会自动报送"));
    let due = dev2.next_sync_due().unwrap().expect("a retry is scheduled");
    assert!(due > Utc::now());
    let outbox = dev2.outbox().unwrap();
    assert_eq!(outbox.len(), 2);
    assert!(outbox
        .iter()
        .all(|i| i.state == OutboxState::Queued && i.next_attempt_at.is_some()));
    assert!(outbox.iter().any(|i| i.lead_id == id2));
    let skipped = dev2.sync_once(|_| {}).await.unwrap();
    assert_eq!(skipped.waiting, 2, "backing off, not retrying");
}

/// A copy of a bundle with one entry's bytes changed (the last byte flipped).
fn tamper(from: &Path, to: &Path, entry: &str) {
    use std::io::{Read, Write};
    let mut src = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let name = f.name().to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        if name == entry {
            let last = bytes.len() - 3;
            bytes[last] ^= 0x55;
        }
        // Rewritten as stored before: only the bytes change, not how they are kept.
        let method = f.compression();
        out.start_file(
            name,
            zip::write::SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        out.write_all(&bytes).unwrap();
    }
    out.finish().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_verifies_offline_names_what_fails_and_imports_once_with_a_receipt() {
    use fieldlead_evidence::bundle::verify_bundle;
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled(dir.path(), &server, "平板 1").await;
    let shelf = photo(60, 48);
    let shelf_sha = Sha256::digest(&shelf);
    let id = seal(&mut dev, &[photo(61, 48), shelf]);
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("lead.zip");
    dev.export_bundle(id, &bundle).unwrap();

    let report = verify_bundle(&bundle, None).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.lead_id, id);
    assert_eq!(report.blobs_checked, 5, "2 photos and 3 signature images");
    assert!(!report.has_receipt);

    // One photo changed on the stick: the report names it, nothing else.
    let bad = out.path().join("bad.zip");
    tamper(&bundle, &bad, &format!("blobs/{}", shelf_sha.to_hex()));
    let report = verify_bundle(&bad, None).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].code, "bundle_blob_altered");
    assert_eq!(report.problems[0].sha256, Some(shelf_sha));
    assert!(report.problems[0].message.contains("现场照片 2"));
    // The log changed: the chain check says so.
    let bad_log = out.path().join("bad_log.zip");
    tamper(&bundle, &bad_log, "log.jsonl");
    let problems = match verify_bundle(&bad_log, None) {
        Ok(r) => r
            .problems
            .iter()
            .map(|p| p.code.clone())
            .collect::<Vec<_>>(),
        Err(e) => vec![e.code().to_string()],
    };
    assert!(!problems.is_empty());

    // The bureau refuses the altered bundle whole, and stores nothing.
    let err = server.bureau().import_bundle(&bad).unwrap_err();
    assert_eq!(err.code(), "bundle_invalid");
    assert!(err.to_string().contains("现场照片 2"));
    assert_eq!(server.lead_count(), 0);

    // The intact one: imported with the API's checks, receipt issued; once only.
    let imported = server.bureau().import_bundle(&bundle).unwrap();
    assert!(imported.created);
    assert_eq!(imported.blobs_written, 5);
    let receipt = imported.receipt.expect("receipt");
    let signed = dev.manifest(id).unwrap().unwrap();
    receipt
        .verify_for(&server.bureau().public_key(), &signed)
        .unwrap();
    let again = server.bureau().import_bundle(&bundle).unwrap();
    assert!(!again.created);
    assert_eq!(again.blobs_written, 0);
    assert_eq!(server.lead_count(), 1);

    // The tablet syncing afterwards gets the same receipt, sending no blob bytes.
    let report = dev.sync_once(|_| {}).await.unwrap();
    assert_eq!(report.delivered, vec![id]);
    assert_eq!(report.bytes_uploaded, 0);
    assert_eq!(dev.receipt(id).unwrap().unwrap(), receipt);
    server.assert_lead_complete(&dev, id);

    // Exported again after delivery, the bundle carries the receipt, and its
    // signature checks with the bureau key.
    let delivered = out.path().join("delivered.zip");
    dev.export_bundle(id, &delivered).unwrap();
    let report = verify_bundle(&delivered, Some(&server.bureau().public_key())).unwrap();
    assert!(report.is_ok() && report.has_receipt && report.receipt_signature_checked);

    // A bundle signed by a tablet this bureau never enrolled is refused.
    let stranger_dir = tempfile::tempdir().unwrap();
    let mut stranger = Device::open(stranger_dir.path()).unwrap();
    let sid = seal(&mut stranger, &[photo(62, 48)]);
    let sb = out.path().join("stranger.zip");
    stranger.export_bundle(sid, &sb).unwrap();
    let err = server.bureau().import_bundle(&sb).unwrap_err();
    assert_eq!(err.code(), "device_unknown");
    assert_eq!(server.lead_count(), 1);
}

// ---------------------------------------------------------------------------
// What the tablet trusts (issue 10): https only, the bureau's key checked against
// the invite's fingerprint, answers read with a size cap, signed statuses.

/// This machine's own address on its default route, found without sending
/// anything (connecting a UDP socket only picks a route), or `None` without one.
/// Connections to it stay inside this machine, like loopback, but the address is
/// not a loopback one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_machine_is_refused_before_any_connection() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let fingerprint = server.fingerprint().to_string();
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();

    // A plain-http address that is not loopback, with a listener behind it. The
    // unspecified address 0.0.0.0 is not loopback to the tablet's rule, yet a
    // connection to it lands on this machine: were the rule ever broken, this test
    // would see the connection here and no packet would leave the machine.
    let listener = std::net::TcpListener::bind(("0.0.0.0", 0)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://0.0.0.0:{}", listener.local_addr().unwrap().port());
    let started = Instant::now();
    let err = dev
        .enrol_with_code(&url, &server.code("yuzhong"), &fingerprint, "平板 1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "bureau_url_insecure", "{err:?}");
    assert!(err.to_string().contains("https://"), "{err}");
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(dev.enrolment().unwrap().is_none());
    assert!(dev.settings().unwrap().bureau_url.is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "no connection was opened: {accepted:?}"
    );
    // Saving it as the bureau's address is refused the same way.
    let mut s = dev.settings().unwrap();
    s.bureau_url = url.clone();
    assert_eq!(
        dev.save_settings(&s).unwrap_err().code(),
        "bureau_url_insecure"
    );

    // An http address stored by an older build is refused before every round, and
    // the round changes nothing: no attempt counted, no backoff, nothing sent.
    let mut dev = enrolled(dir.path(), &server, "平板 1").await;
    let id = seal(&mut dev, &[photo(70, 48)]);
    assert_eq!(dev.outbox().unwrap().len(), 1);
    let db = rusqlite::Connection::open(dir.path().join(fieldlead_device::DB_FILE)).unwrap();
    db.execute(
        "UPDATE settings SET settings_json = json_set(settings_json, '$.bureau_url', ?1)",
        [&url],
    )
    .unwrap();
    let before = dev.outbox().unwrap();
    let started = Instant::now();
    let err = dev.sync_now(|_| {}).await.unwrap_err();
    assert_eq!(err.code(), "bureau_url_insecure", "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(dev.outbox().unwrap(), before, "the round changed nothing");
    assert_eq!(before[0].attempts, 0);
    assert_eq!(server.lead_count(), 0);
    // The loopback address back in place, the lead goes.
    point_at(&mut dev, &server.url);
    assert_eq!(dev.sync_now(|_| {}).await.unwrap().delivered, vec![id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bureau_key_other_than_the_invites_fingerprint_is_refused_and_nothing_stored() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let devices_at_bureau = || server.bureau().storage().devices(Scope::All).unwrap().len();
    let other_key = SigningKey::from_seed(&[42u8; 32]).public_key();
    let other = other_key.fingerprint();
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();

    // An invite that names another key than the real bureau's: refused before the
    // code or the tablet's key is sent, nothing stored on either side.
    let invite = server.invite("yuzhong", YUZHONG);
    let mut misprinted = invite.clone();
    misprinted.bureau_key_fingerprint = other;
    let err = dev.enrol(&misprinted, "平板 1").await.unwrap_err();
    assert_eq!(err.code(), "bureau_key_mismatch", "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&other.to_string()) && message.contains(&server.fingerprint().to_string()),
        "both fingerprints are named: {message}"
    );
    assert!(dev.enrolment().unwrap().is_none(), "no enrolment stored");
    assert!(dev.settings().unwrap().bureau_url.is_empty());
    assert_eq!(devices_at_bureau(), 0, "the code was not used");

    // Typed in from paper: the fingerprint is required, and checked the same way.
    let code = invite.code.to_string();
    let err = dev
        .enrol_with_code(&server.url, &code, " ", "平板 1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "fingerprint_missing");
    let err = dev
        .enrol_with_code(&server.url, &code, "3F2A-91C0", "平板 1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "fingerprint_format");
    let err = dev
        .enrol_with_code(&server.url, &code, &other.to_string(), "平板 1")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "bureau_key_mismatch");
    assert!(dev.enrolment().unwrap().is_none());
    assert_eq!(devices_at_bureau(), 0);

    // The enrolment answer itself names another key (changed in transit after the
    // bureau's own key was checked): the answer is refused, nothing stored.
    let real = format!(
        "}},\"bureau_key\":\"{}\"",
        server.bureau().public_key().to_hex()
    );
    let swapped = format!("}},\"bureau_key\":\"{}\"", other_key.to_hex());
    let (proxy, rewrites) =
        rewriting_proxy(server.addr(), real.into_bytes(), swapped.into_bytes()).await;
    let dir2 = tempfile::tempdir().unwrap();
    let mut dev2 = Device::open(dir2.path()).unwrap();
    let mut via_proxy = server.invite("yuzhong", YUZHONG);
    via_proxy.server = proxy;
    let err = dev2.enrol(&via_proxy, "平板 2").await.unwrap_err();
    assert_eq!(err.code(), "bureau_key_mismatch", "{err:?}");
    assert_eq!(
        rewrites.load(Ordering::SeqCst),
        1,
        "only the enrolment answer changed"
    );
    assert!(dev2.enrolment().unwrap().is_none());
    assert!(dev2.settings().unwrap().bureau_url.is_empty());

    // The first tablet, with the right fingerprint typed in lower case with spaces:
    // the same code still works, and the app can show the fingerprint it checked.
    let typed = server
        .fingerprint()
        .to_string()
        .to_lowercase()
        .replace('-', " ");
    let enrolment = dev
        .enrol_with_code(&server.url, &code, &typed, "平板 1")
        .await
        .unwrap();
    assert_eq!(
        enrolment.bureau_key_fingerprint,
        server.fingerprint().to_string()
    );
    assert_eq!(enrolment.bureau_key, server.bureau().public_key().to_hex());
}

/// A server on 127.0.0.1 that answers each connection in turn with one of
/// `heads` and then `body_len` bytes of JSON whitespace, counting what it managed
/// to write before the client hung up.
async fn flooding_server(heads: Vec<String>, body_len: u64) -> (String, Arc<Mutex<Vec<u64>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(Mutex::new(Vec::new()));
    let w = Arc::clone(&written);
    tokio::spawn(async move {
        for head in heads {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            // Read the request head (the small enrolment body may follow; unread).
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let mut sent = 0u64;
            if conn.write_all(head.as_bytes()).await.is_ok() {
                let chunk = vec![b' '; 64 * 1024];
                let chunked = head.contains("chunked");
                while sent < body_len {
                    let framed = if chunked {
                        [
                            format!("{:x}\r\n", chunk.len()).into_bytes(),
                            chunk.clone(),
                            b"\r\n".to_vec(),
                        ]
                        .concat()
                    } else {
                        chunk.clone()
                    };
                    if conn.write_all(&framed).await.is_err() {
                        break;
                    }
                    sent += chunk.len() as u64;
                }
            }
            w.lock().unwrap().push(sent);
        }
    });
    (url, written)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_answer_is_refused_without_reading_it_whole() {
    const HUGE: u64 = 512 * 1024 * 1024;
    let (url, written) = flooding_server(
        vec![
            // Streamed with no declared length: the cap stops the reading.
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".into(),
            // An error body declared huge: refused from its header.
            format!("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {HUGE}\r\n\r\n"),
        ],
        HUGE,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let fingerprint = SigningKey::from_seed(&[1u8; 32]).public_key().fingerprint();
    for _ in 0..2 {
        let started = Instant::now();
        let err = dev
            .enrol_with_code(&url, "ABCD-EFGH-JKMN", &fingerprint.to_string(), "平板 1")
            .await
            .unwrap_err();
        assert_eq!(err.code(), "answer_too_large", "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(20));
        assert!(dev.enrolment().unwrap().is_none());
    }
    // The server could not push more than the cap plus what the sockets buffer.
    let deadline = Instant::now() + Duration::from_secs(10);
    while written.lock().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "the server saw both hang-ups");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for sent in written.lock().unwrap().iter() {
        assert!(
            *sent < 64 * 1024 * 1024,
            "the client stopped reading: {sent} bytes written"
        );
    }
}

/// A proxy on 127.0.0.1 that changes the bureau's answers in transit: each `from`
/// in the answer stream becomes `to`, of the same length so the declared
/// Content-Length still holds. Counts the changes made.
async fn rewriting_proxy(
    upstream: SocketAddr,
    from: Vec<u8>,
    to: Vec<u8>,
) -> (String, Arc<AtomicU32>) {
    let (from, to) = (Arc::new(from), Arc::new(to));
    assert_eq!(from.len(), to.len());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let rewrites = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&rewrites);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let counter = Arc::clone(&counter);
            let (from, to) = (Arc::clone(&from), Arc::clone(&to));
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = async move {
                    let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    let _ = sw.shutdown().await;
                };
                let down = async move {
                    let mut pending: Vec<u8> = Vec::new();
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let read = if pending.is_empty() {
                            sr.read(&mut buf).await
                        } else {
                            match tokio::time::timeout(Duration::from_millis(50), sr.read(&mut buf))
                                .await
                            {
                                Ok(read) => read,
                                // Nothing more came: the held tail ends an answer.
                                Err(_) => {
                                    if cw.write_all(&pending).await.is_err() {
                                        return;
                                    }
                                    pending.clear();
                                    continue;
                                }
                            }
                        };
                        let n = match read {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        pending.extend_from_slice(&buf[..n]);
                        let mut at = 0;
                        while let Some(pos) = pending[at..]
                            .windows(from.len())
                            .position(|w| w == from.as_slice())
                        {
                            let start = at + pos;
                            pending[start..start + from.len()].copy_from_slice(&to);
                            counter.fetch_add(1, Ordering::SeqCst);
                            at = start + from.len();
                        }
                        // Hold back a tail that may be the start of a match split
                        // across reads, until more comes or a pause says it will not.
                        let keep = (1..from.len())
                            .rev()
                            .find(|k| pending.len() >= *k && pending.ends_with(&from[..*k]))
                            .unwrap_or(0);
                        let flush = pending.len() - keep;
                        if cw.write_all(&pending[..flush]).await.is_err() {
                            return;
                        }
                        pending.drain(..flush);
                    }
                    let _ = cw.write_all(&pending).await;
                    let _ = cw.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (url, rewrites)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_altered_in_transit_is_refused_shown_as_such_and_not_applied() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path());
    let dir = tempfile::tempdir().unwrap();
    let mut dev = enrolled(dir.path(), &server, "平板 1").await;
    let id = seal(&mut dev, &[photo(80, 48)]);
    assert_eq!(dev.sync_once(|_| {}).await.unwrap().delivered, vec![id]);
    let item = dev.outbox().unwrap().remove(0);
    assert_eq!(
        item.bureau_state,
        Some(fieldlead_domain::LeadState::Delivered)
    );
    assert_eq!(item.status_error_code, None);

    // On the way back the status says "declined" (a space keeps the length). Taken
    // as true, the sampler would see the lead declined and the tablet would stop
    // asking about it for good.
    let (proxy, rewrites) = rewriting_proxy(
        server.addr(),
        br#""state":"delivered""#.to_vec(),
        br#""state":"declined" "#.to_vec(),
    )
    .await;
    point_at(&mut dev, &proxy);
    let report = dev.sync_now(|_| {}).await.unwrap();
    assert!(report.failed.is_empty() && report.delivered.is_empty());
    assert!(
        rewrites.load(Ordering::SeqCst) >= 1,
        "the proxy changed the answer"
    );
    let item = dev.outbox().unwrap().remove(0);
    assert_eq!(
        item.bureau_state,
        Some(fieldlead_domain::LeadState::Delivered),
        "the last verified status stays"
    );
    assert_eq!(item.state, OutboxState::Delivered);
    assert_eq!(item.status_error_code.as_deref(), Some("status_signature"));
    assert!(
        item.status_error.as_deref().unwrap().contains("签名"),
        "{item:?}"
    );
    assert_eq!(
        dev.record(id).unwrap().state,
        fieldlead_domain::LeadState::Delivered,
        "not declined on the tablet"
    );

    // Straight to the bureau again: the status verifies and the refusal is cleared.
    point_at(&mut dev, &server.url);
    dev.sync_now(|_| {}).await.unwrap();
    let item = dev.outbox().unwrap().remove(0);
    assert_eq!(item.status_error_code, None);
    assert_eq!(
        item.bureau_state,
        Some(fieldlead_domain::LeadState::Delivered)
    );
}
