//! API v1 black-box tests: each test starts its own bureau on 127.0.0.1:0 with a
//! temp data folder and speaks HTTP to it as a tablet would.

mod support;

use fieldlead_domain::{
    BlobStatus, EnrolmentRequest, PublicKey, PutLeadResponse, Sha256, SigningKey,
};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_gives_token_and_bureau_key_and_each_code_works_once() {
    let tb = TestBureau::start().await;
    let code = tb.code("yuzhong");
    let key = SigningKey::from_seed(&[1; 32]);
    let req = EnrolmentRequest::new(code.clone(), "平板 1", &key);
    let resp = tb.enrol_request(&req).await;
    assert_eq!(resp.status(), 201);
    let e: fieldlead_domain::EnrolmentResponse = resp.json().await.unwrap();
    assert_eq!(e.district.code, "yuzhong");
    assert_eq!(e.bureau_key, tb.bureau.public_key());
    let info: serde_json::Value = tb.get("/api/v1/server", None).await.json().await.unwrap();
    assert_eq!(info["bureau_key"].as_str().unwrap(), e.bureau_key.to_hex());
    // The stored token is a hash: the database never holds the bearer token.
    let db = std::fs::read(tb.dir.path().join("bureau.sqlite3")).unwrap();
    let wal = std::fs::read(tb.dir.path().join("bureau.sqlite3-wal")).unwrap_or_default();
    let needle = e.token.as_bytes();
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(needle.len()).any(|w| w == needle));
    }

    // The same code again, even with a new key: refused.
    let other = EnrolmentRequest::new(code, "平板 2", &SigningKey::from_seed(&[2; 32]));
    let resp = tb.enrol_request(&other).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error(resp).await.code, "enrolment_code_invalid");

    // A proof made for another key is refused before the code is spent.
    let fresh = tb.code("yuzhong");
    let mut forged =
        EnrolmentRequest::new(fresh.clone(), "平板 3", &SigningKey::from_seed(&[3; 32]));
    forged.public_key = SigningKey::from_seed(&[4; 32]).public_key();
    let resp = tb.enrol_request(&forged).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error(resp).await.code, "enrolment_proof");
    let ok = EnrolmentRequest::new(fresh, "平板 3", &SigningKey::from_seed(&[3; 32]));
    assert_eq!(tb.enrol_request(&ok).await.status(), 201);

    // A key enrols once.
    let again = EnrolmentRequest::new(
        tb.code("yuzhong"),
        "平板 3",
        &SigningKey::from_seed(&[3; 32]),
    );
    let resp = tb.enrol_request(&again).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error(resp).await.code, "device_key_taken");

    let resp = tb
        .client
        .post(format!("{}/api/v1/enrol", tb.url))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(error(resp).await.code, "malformed_body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lead_is_created_then_idempotent_then_delivered_with_a_verifiable_receipt() {
    let tb = TestBureau::start().await;
    let tab = tb.enrol("yuzhong", 1).await;
    let lead = seal(&tab.key, &[photo(1, 90), photo(2, 90)]);

    let resp = tb.put_lead(&tab, &lead).await;
    assert_eq!(resp.status(), 201);
    let first: PutLeadResponse = resp.json().await.unwrap();
    assert_eq!(
        first.missing_blobs.len(),
        4,
        "2 photos and 2 signature images"
    );
    assert!(first.receipt.is_none());

    // The identical manifest again: 200, same received_at, nothing duplicated.
    let resp = tb.put_lead(&tab, &lead).await;
    assert_eq!(resp.status(), 200);
    let again: PutLeadResponse = resp.json().await.unwrap();
    assert_eq!(again.received_at, first.received_at);
    assert_eq!(again.missing_blobs, first.missing_blobs);

    // Signed with the bureau's key, for this lead.
    let status = tb
        .lead_status(&tab.token, lead.id())
        .await
        .verify(&tab.enrolment.bureau_key, lead.id())
        .unwrap();
    assert_eq!(status.state, fieldlead_domain::LeadState::Sealed);
    assert_eq!(status.missing_blobs.len(), 4);

    let mut completed = Vec::new();
    for (i, (sha, bytes)) in lead.blobs.iter().enumerate() {
        let resp = tb.put_blob(&tab, sha, 0, bytes.clone()).await;
        assert_eq!(resp.status(), 201);
        let s: BlobStatus = resp.json().await.unwrap();
        assert!(s.complete);
        if i + 1 < lead.blobs.len() {
            assert!(s.completed_leads.is_empty());
        } else {
            completed = s.completed_leads;
        }
    }
    assert_eq!(completed, vec![lead.id()]);

    // Signed with the bureau's key, for this lead.
    let status = tb
        .lead_status(&tab.token, lead.id())
        .await
        .verify(&tab.enrolment.bureau_key, lead.id())
        .unwrap();
    assert_eq!(status.state, fieldlead_domain::LeadState::Delivered);
    assert!(status.missing_blobs.is_empty());
    let receipt = status.receipt.expect("receipt once every blob is here");
    let bureau_key: PublicKey = tab.enrolment.bureau_key;
    receipt
        .verify_for(&bureau_key, &lead.upload.manifest)
        .unwrap();
    assert_eq!(receipt.receipt.received_at, first.received_at);

    // A re-sent manifest now gets the same receipt.
    let resp: PutLeadResponse = tb.put_lead(&tab, &lead).await.json().await.unwrap();
    assert_eq!(resp.receipt, Some(receipt));

    // A blob sent again after it is held: 200, complete, nothing changes.
    let (sha, bytes) = &lead.blobs[0];
    let resp = tb.put_blob(&tab, sha, 0, bytes.clone()).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.json::<BlobStatus>().await.unwrap().complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_manifest_under_the_same_id_is_a_conflict() {
    let tb = TestBureau::start().await;
    let tab = tb.enrol("yuzhong", 1).await;
    let lead = seal(&tab.key, &[photo(1, 90)]);
    assert_eq!(tb.put_lead(&tab, &lead).await.status(), 201);
    // Same lead id, different (validly sealed and signed) content.
    let mut changed = draft();
    changed.product_name = "另一产品".into();
    let other = seal_as(lead.id(), &tab.key, &[photo(1, 90)], changed);
    let resp = tb.put_lead(&tab, &other).await;
    assert_eq!(resp.status(), 409);
    assert_eq!(error(resp).await.code, "lead_conflict");
    let stored = tb.bureau.storage().lead(lead.id()).unwrap().unwrap();
    assert_eq!(stored.manifest_hash, lead.upload.manifest.manifest_hash);
}

/// A load balancer's probe: no login, no cache, the parts that answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_probe_answers_for_the_database_and_the_blob_store() {
    let tb = TestBureau::start().await;
    let r = tb.get("/health", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body, serde_json::json!({"database": "ok", "blobs": "ok"}));
}

/// A lead a tablet locked before its app learnt 任务来源 and 抽样单编号
/// (manifest format 1) is still received, with its receipt, and its page says
/// what it could not record; a format this bureau does not know is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_locked_before_the_tablets_upgrade_is_still_received() {
    let tb = TestBureau::start().await;
    let tab = tb.enrol("yuzhong", 1).await;
    let old = seal_edited(
        fieldlead_domain::LeadId::new(),
        &tab.key,
        &[photo(1, 90)],
        draft(),
        |m| {
            m.format = 1;
            m.record.sampling_number = None;
            m.record.task.level = None;
            m.record.task.document_number = None;
        },
    );
    tb.deliver(&tab, &old).await;
    let s = tb.login("officer_a").await;
    let page = tb.page(&s, &format!("/leads/{}", old.id())).await;
    assert!(page.contains("未记录（线索在平板升级前锁定）"), "{page}");

    let future = seal_edited(
        fieldlead_domain::LeadId::new(),
        &tab.key,
        &[photo(2, 90)],
        draft(),
        |m| m.format = 3,
    );
    let r = tb.put_lead(&tab, &future).await;
    assert_eq!(r.status(), 422);
    assert_eq!(error(r).await.code, "manifest_format");
    assert!(tb.bureau.storage().lead(future.id()).unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_manifest_signature_and_chain_are_refused_with_a_reason() {
    let tb = TestBureau::start().await;
    let tab = tb.enrol("yuzhong", 1).await;
    let lead = seal(&tab.key, &[photo(1, 90)]);
    let id = lead.id().to_string();

    // A field changed after signing.
    let edited = String::from_utf8(lead.body())
        .unwrap()
        .replace("聚氯乙烯绝缘电线", "聚氯乙烯绝缘电缆");
    let resp = tb.put_lead_raw(&tab.token, &id, edited.into_bytes()).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error(resp).await.code, "manifest_hash");

    // A signature by another key over the right hash.
    let mut forged = lead.upload.clone();
    forged.manifest.signature =
        SigningKey::from_seed(&[99; 32]).sign(forged.manifest.manifest_hash.as_bytes());
    let resp = tb
        .put_lead_raw(&tab.token, &id, serde_json::to_vec(&forged).unwrap())
        .await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error(resp).await.code, "manifest_signature");

    // An audit entry dropped: the reason names the entry.
    let mut short = lead.upload.clone();
    short.log.remove(1);
    let resp = tb
        .put_lead_raw(&tab.token, &id, serde_json::to_vec(&short).unwrap())
        .await;
    assert_eq!(resp.status(), 422);
    let e = error(resp).await;
    assert_eq!(e.code, "entry_sequence");
    assert_eq!(e.detail.unwrap()["entry_index"], 1);

    // An audit entry's payload edited.
    let mut edited = lead.upload.clone();
    edited.log[0].entry.payload = serde_json::json!({"task": "改过"});
    let resp = tb
        .put_lead_raw(&tab.token, &id, serde_json::to_vec(&edited).unwrap())
        .await;
    assert_eq!(error(resp).await.code, "entry_hash");

    // A lead sealed by another device's key, sent with this device's token.
    let foreign = seal(&SigningKey::from_seed(&[77; 32]), &[photo(3, 90)]);
    let resp = tb.put_lead(&tab, &foreign).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error(resp).await.code, "device_key_mismatch");

    // The path and the body disagree on the id.
    let resp = tb
        .put_lead_raw(
            &tab.token,
            &fieldlead_domain::LeadId::new().to_string(),
            lead.body(),
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error(resp).await.code, "path_lead_id_mismatch");

    // Well-formed JSON with an invalid field value (a bad USCC check digit).
    let bad_field = String::from_utf8(lead.body())
        .unwrap()
        .replace("914403001922038216", "914403001922038217");
    let resp = tb
        .put_lead_raw(&tab.token, &id, bad_field.into_bytes())
        .await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error(resp).await.code, "invalid_fields");

    // Nothing of the above was stored.
    assert!(tb.bureau.storage().lead(lead.id()).unwrap().is_none());
    assert_eq!(tb.put_lead(&tab, &lead).await.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_with_wrong_bytes_is_refused_and_nothing_is_kept() {
    let tb = TestBureau::start().await;
    let tab = tb.enrol("yuzhong", 1).await;
    let lead = seal(&tab.key, &[photo(1, 90)]);
    tb.put_lead(&tab, &lead).await;
    let (sha, bytes) = &lead.blobs[0];
    let mut altered = bytes.clone();
    altered[bytes.len() / 2] ^= 0x01;
    let resp = tb.put_blob(&tab, sha, 0, altered).await;
    assert_eq!(resp.status(), 422);
    assert_eq!(error(resp).await.code, "blob_hash_mismatch");
    let status: BlobStatus = tb.blob_status(&tab, sha).await;
    assert_eq!((status.offset, status.complete), (0, false));
    assert!(std::fs::read_dir(tb.dir.path().join("uploads"))
        .unwrap()
        .next()
        .is_none());
    // The right bytes afterwards are accepted.
    assert_eq!(tb.put_blob(&tab, sha, 0, bytes.clone()).await.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_upload_resumes_from_the_offset_the_server_reports_even_after_a_restart() {
    let tb = TestBureau::start().await;
    let tab = tb.enrol("yuzhong", 1).await;
    let (_lead, sha, bytes) = tb.put_lead_with_large_photo(&tab).await;
    let half = bytes.len() / 2;

    let resp = tb.put_blob(&tab, &sha, 0, bytes[..half].to_vec()).await;
    assert_eq!(resp.status(), 200);
    let s: BlobStatus = resp.json().await.unwrap();
    assert_eq!((s.offset, s.complete), (half as u64, false));

    // The server restarts on the same data folder.
    let tb = tb.restart().await;
    let s: BlobStatus = tb.blob_status(&tab, &sha).await;
    assert_eq!(s.offset, half as u64);

    // Starting again from zero is refused with the held offset: bytes are never resent.
    let resp = tb.put_blob(&tab, &sha, 0, bytes.clone()).await;
    assert_eq!(resp.status(), 409);
    let e = error(resp).await;
    assert_eq!(e.code, "offset_mismatch");
    assert_eq!(e.detail.unwrap()["offset"], half as u64);

    let resp = tb
        .put_blob(&tab, &sha, half as u64, bytes[half..].to_vec())
        .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(tb.stored(&sha), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_bodies_are_refused() {
    let config = fieldlead_bureau::Config {
        max_manifest_bytes: 64 * 1024,
        ..test_config()
    };
    let tb = TestBureau::start_with(config).await;
    let tab = tb.enrol("yuzhong", 1).await;
    let lead = seal(&tab.key, &[photo(1, 90)]);
    let id = lead.id().to_string();

    let resp = tb
        .put_lead_raw(&tab.token, &id, vec![b' '; 65 * 1024])
        .await;
    assert_eq!(resp.status(), 413);
    assert_eq!(error(resp).await.code, "too_large");

    for body in [&b"{\"manifest\": "[..], b"\xff\xfe", b"[]", b""] {
        let resp = tb.put_lead_raw(&tab.token, &id, body.to_vec()).await;
        assert!(
            resp.status() == 400 || resp.status() == 422,
            "{:?} -> {}",
            body,
            resp.status()
        );
    }

    tb.put_lead(&tab, &lead).await;
    let (sha, bytes) = &lead.blobs[0];
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"trailing bytes");
    let resp = tb.put_blob(&tab, sha, 0, longer).await;
    assert_eq!(resp.status(), 413);
    // Nothing of the refused request is kept.
    let s: BlobStatus = tb.blob_status(&tab, sha).await;
    assert_eq!(s.offset, 0);

    let resp = tb.put_blob_raw(&tab.token, sha, "-5", bytes.clone()).await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_ids_and_path_traversal_never_reach_the_disk() {
    let tb = TestBureau::start().await;
    let tab = tb.enrol("yuzhong", 1).await;
    for path in [
        "/api/v1/blobs/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/v1/blobs/..%2Fbureau.key",
        "/api/v1/blobs/ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
        "/api/v1/blobs/abc",
        "/api/v1/leads/..%2F..%2Fbureau.sqlite3",
        "/api/v1/leads/not-a-uuid",
        "/api/v1/leads/0192F5C4-0000-7000-8000-000000000000",
    ] {
        let resp = tb.get_with_token(&tab.token, path).await;
        assert_eq!(resp.status(), 400, "{path}");
        assert_eq!(error(resp).await.code, "malformed_id", "{path}");
    }
    for path in [
        "/api/v1/blobs/../../bureau.key",
        "/api/v1/nothing",
        "/api/v1/leads",
    ] {
        let resp = tb.get_with_token(&tab.token, path).await;
        assert_eq!(resp.status(), 404, "{path}");
        assert_eq!(error(resp).await.code, "not_found");
    }
    // A well-formed hash that no lead of this district names: not accepted.
    let stranger = Sha256::digest(b"not part of any lead");
    let resp = tb
        .put_blob(&tab, &stranger, 0, b"not part of any lead".to_vec())
        .await;
    assert_eq!(resp.status(), 404);
    let store = tb.bureau.blob_store();
    assert!(!store.contains(&stranger).unwrap());
    assert_eq!(
        store
            .partial_bytes(&tab.enrolment.device_id.to_string())
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_revocation_scope_and_replay() {
    let tb = TestBureau::start().await;
    let a = tb.enrol("yuzhong", 1).await;
    let a2 = tb.enrol("yuzhong", 2).await;
    let b = tb.enrol("jiangbei", 3).await;
    let lead = seal(&a.key, &[photo(1, 90)]);
    let id = lead.id().to_string();

    // No token, a malformed one, an unknown one.
    let resp = tb
        .client
        .put(format!("{}/api/v1/leads/{id}", tb.url))
        .body(lead.body())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(error(resp).await.code, "bad_token");
    assert_eq!(tb.put_lead_raw("x", &id, lead.body()).await.status(), 401);
    assert_eq!(
        tb.put_lead_raw(&"ab".repeat(32), &id, lead.body())
            .await
            .status(),
        401
    );

    // A lead goes into its device's district only, and is visible only to that device.
    assert_eq!(tb.put_lead(&a, &lead).await.status(), 201);
    let row = tb.bureau.storage().lead(lead.id()).unwrap().unwrap();
    assert_eq!(row.district.code, "yuzhong");
    for other in [&a2, &b] {
        let resp = tb
            .get_with_token(&other.token, &format!("/api/v1/leads/{id}"))
            .await;
        assert_eq!(resp.status(), 404);
    }
    // A device of another district cannot upload (or probe) this lead's blobs.
    let (sha, bytes) = &lead.blobs[0];
    assert_eq!(tb.put_blob(&b, sha, 0, bytes.clone()).await.status(), 404);
    // Device B replaying A's lead: refused, it is not B's key.
    let resp = tb.put_lead(&b, &lead).await;
    assert_eq!(error(resp).await.code, "device_key_mismatch");

    // Replaying A's identical request stores nothing new.
    assert_eq!(tb.put_lead(&a, &lead).await.status(), 200);
    let leads = tb
        .bureau
        .storage()
        .leads(fieldlead_bureau::storage::Scope::All, &Default::default())
        .unwrap();
    assert_eq!(leads.len(), 1);

    // Revoked: every request with the old token is refused, a replay too.
    tb.bureau
        .revoke_device(None, a.enrolment.device_id)
        .unwrap();
    let resp = tb.put_lead(&a, &lead).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(error(resp).await.code, "device_revoked");
    let later = seal(&a.key, &[photo(5, 90)]);
    assert_eq!(tb.put_lead(&a, &later).await.status(), 403);
    assert!(tb.bureau.storage().lead(later.id()).unwrap().is_none());
    assert_eq!(tb.put_blob(&a, sha, 0, bytes.clone()).await.status(), 403);
    // The audit log says who revoked it.
    let events = tb
        .bureau
        .storage()
        .audit_events(
            fieldlead_bureau::storage::Scope::All,
            Some(&format!("device:{}", a.enrolment.device_id)),
            10,
        )
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.action == "device_revoked" && e.actor == "cli"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_over_its_rate_limit_gets_429_with_retry_after() {
    let config = fieldlead_bureau::Config {
        device_rate_per_sec: 0.5,
        device_burst: 3,
        ..test_config()
    };
    let tb = TestBureau::start_with(config).await;
    let tab = tb.enrol("yuzhong", 1).await;
    let other = tb.enrol("yuzhong", 2).await;
    let lead = seal(&tab.key, &[photo(1, 90)]);
    for _ in 0..3 {
        assert!(tb.put_lead(&tab, &lead).await.status().is_success());
    }
    let resp = tb.put_lead(&tab, &lead).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());
    assert_eq!(error(resp).await.code, "rate_limited");
    // Another device is not slowed down by the first.
    let own = seal(&other.key, &[photo(2, 90)]);
    assert_eq!(tb.put_lead(&other, &own).await.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = fieldlead_bureau::Config {
        header_read_timeout_secs: 1,
        ..test_config()
    };
    let tb = TestBureau::start_with(config).await;
    let mut slow = tokio::net::TcpStream::connect(tb.addr).await.unwrap();
    slow.write_all(b"GET /api/v1/server HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        slow.read_to_end(&mut buf),
    )
    .await
    .expect("the server closes the connection");
    assert!(read.is_ok() || buf.is_empty());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    // Others are served meanwhile.
    let ok = tb.get("/api/v1/server", None).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_time_out_and_a_stalled_blob_keeps_what_arrived() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = fieldlead_bureau::Config {
        request_timeout_secs: 1,
        upload_idle_timeout_secs: 1,
        ..test_config()
    };
    let tb = TestBureau::start_with(config).await;
    let tab = tb.enrol("yuzhong", 1).await;
    let (lead, sha, bytes) = tb.put_lead_with_large_photo(&tab).await;

    async fn stalled(addr: std::net::SocketAddr, head: String, part: &[u8]) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(part).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("the server answers a stalled request")
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    // A manifest body that stops arriving: 408 after the request timeout.
    let head = format!(
        "PUT /api/v1/leads/{} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: 5000\r\n\r\n",
        lead.id(),
        tab.token
    );
    let answer = stalled(tb.addr, head, b"{\"manifest\":").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A blob that stops half-way: 408 after the idle timeout, and the half is kept.
    let half = bytes.len() / 2;
    let head = format!(
        "PUT /api/v1/blobs/{sha} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Length: {}\r\n\r\n",
        tab.token,
        bytes.len()
    );
    let answer = stalled(tb.addr, head, &bytes[..half]).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"timeout\""), "{answer}");
    let s: BlobStatus = tb.blob_status(&tab, &sha).await;
    assert_eq!(s.offset, half as u64);
    let resp = tb
        .put_blob(&tab, &sha, half as u64, bytes[half..].to_vec())
        .await;
    assert_eq!(resp.status(), 201);
}
