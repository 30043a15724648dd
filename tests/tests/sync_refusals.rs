//! Sync end to end (issue 6): the real bureau server on 127.0.0.1:0 with its own
//! temp data folder, the real tablet store and sync client, and faults injected
//! between them (see `sync_support`). Each test checks what a sampler or the
//! bureau would notice: every lead delivered exactly once, every blob
//! hash-verified, receipts that verify, errors that say what is wrong.
//!
//! This file: what is refused and says why: a photo altered after sealing, a
//! revoked tablet, the wrong district, and bundles carried on a USB stick.

mod sync_support;

#[allow(unused_imports)]
use sync_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_altered_after_sealing_is_named_and_never_sent() {
    let (_folders, server, mut dev) = bureau_and_tablet().await;
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
    let item = outbox_item(&mut dev, bad);
    assert_eq!(item.state, OutboxState::Failed);
    assert_eq!(item.last_error_code.as_deref(), Some("evidence_altered"));
    // "Sync now" does not resend a lead that can never be accepted.
    let again = dev.sync_now(|_| {}).await.unwrap();
    assert!(again.failed.is_empty() && again.delivered.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_tablet_gets_a_clear_error_and_nothing_is_stored() {
    let (_folders, server, mut dev) = bureau_and_tablet().await;
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
    let (_folders, server, mut dev) = bureau_and_tablet().await;
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
