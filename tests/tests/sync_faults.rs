//! Sync end to end (issue 6): the real bureau server on 127.0.0.1:0 with its own
//! temp data folder, the real tablet store and sync client, and faults injected
//! between them (see `sync_support`). Each test checks what a sampler or the
//! bureau would notice: every lead delivered exactly once, every blob
//! hash-verified, receipts that verify, errors that say what is wrong.
//!
//! This file: faults between the two: a bureau killed mid-blob, connections cut at
//! random, the client killed mid-sync again and again, a tablet clock days off.

mod sync_support;

#[allow(unused_imports)]
use sync_support::*;

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
    let (_folders, server, mut dev) = bureau_and_tablet().await;
    let proxy = Proxy::start(server.addr(), 0x5eed_0006, 60, 120_000, 0).await;
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
    let (folders, server, mut dev) = bureau_and_tablet().await;
    // Throttled so a kill lands inside uploads, not only between them.
    let proxy = Proxy::start(server.addr(), 2, 0, 1, 3_000_000).await;
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
        let mut dev = Device::open(folders.tablet.path()).unwrap();
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
    let dev = Device::open(folders.tablet.path()).unwrap();
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
    let item = outbox_item(&mut dev, id);
    assert!(item.clock_skew_flagged);
    assert_eq!(item.received_at, Some(receipt.receipt.received_at));
}
