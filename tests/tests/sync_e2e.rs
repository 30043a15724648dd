//! Sync end to end (issue 6): the real bureau server on 127.0.0.1:0 with its own
//! temp data folder, the real tablet store and sync client, and faults injected
//! between them (see `sync_support`). Each test checks what a sampler or the
//! bureau would notice: every lead delivered exactly once, every blob
//! hash-verified, receipts that verify, errors that say what is wrong.
//!
//! This file: many leads from two tablets, and duplicates from a restored tablet.

mod sync_support;

#[allow(unused_imports)]
use sync_support::*;

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
    let (folders, server, mut dev) = bureau_and_tablet().await;
    let id = seal(&mut dev, &[photo(1, 48), photo(2, 48)]);
    dev.outbox().unwrap();
    drop(dev);
    // The same tablet restored from a backup taken before it synced: it sends the
    // same lead again.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(folders.tablet.path(), copy.path());
    let mut first = Device::open(folders.tablet.path()).unwrap();
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
