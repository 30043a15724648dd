//! The bureau as an attacker probes it (issue 10): each test reproduces one finding
//! against a real server on 127.0.0.1:0 with requests as a tablet or a browser
//! would send them, and states the guarantee that now holds.

mod support;

use std::time::Duration;

use fieldlead_bureau::Config;
use fieldlead_domain::{BlobStatus, EnrolmentRequest, LeadId, PutLeadResponse, SigningKey};
use support::*;

/// Sends the next piece of a trickling upload's body.
type Pieces = tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>;
/// The answer to a trickling upload, once its body is done.
type Answer = tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>;

/// Starts an upload of `len` bytes whose body arrives only as the test sends it.
fn trickle_upload(
    tb: &TestBureau,
    t: &Tablet,
    sha: &fieldlead_domain::Sha256,
    len: usize,
) -> (Pieces, Answer) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async {
        rx.recv().await.map(|c| (c, rx))
    }));
    let send = tb
        .client
        .put(format!("{}/api/v1/blobs/{sha}", tb.url))
        .bearer_auth(&t.token)
        .header("upload-offset", "0")
        .header("content-length", len.to_string())
        .body(body)
        .send();
    (tx, tokio::spawn(send))
}

// ---------------------------------------------------------------------------
// 1. Evidence stays in its district

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_district_cannot_claim_or_read_another_districts_photo_by_its_hash() {
    let tb = TestBureau::start().await;
    let a = tb.enrol("yuzhong", 1).await;
    let b = tb.enrol("jiangbei", 2).await;
    let secret = photo(9, 92);
    let sha = fieldlead_domain::Sha256::digest(&secret);
    let lead_a = seal(&a.key, std::slice::from_ref(&secret));
    tb.deliver(&a, &lead_a).await;

    // District B's tablet names A's photo (its hash and size are on A's printed
    // form) in a lead of its own, and uploads only its own signature images.
    let lead_b = seal(&b.key, std::slice::from_ref(&secret));
    let r = tb.put_lead(&b, &lead_b).await;
    assert_eq!(r.status(), 201);
    let answer: PutLeadResponse = r.json().await.unwrap();
    assert!(
        answer.missing_blobs.iter().any(|m| m.sha256 == sha),
        "A's photo must count as missing for B's lead"
    );
    assert!(answer.receipt.is_none());
    for (s, bytes) in &lead_b.blobs {
        if *s != sha {
            tb.put_blob(&b, s, 0, bytes.clone()).await;
        }
    }
    // Claiming completion without the bytes gets nothing.
    let st = tb.blob_status(&b, &sha).await;
    assert_eq!((st.complete, st.offset), (false, 0));
    let r = tb.put_blob(&b, &sha, 0, Vec::new()).await;
    assert_eq!(r.status(), 200);
    let st: BlobStatus = r.json().await.unwrap();
    assert!(!st.complete);

    // B's officer cannot download A's original nor its thumbnail through B's lead.
    let officer_b = tb.login("officer_b").await;
    for path in [
        format!("/leads/{}/blobs/{sha}", lead_b.id()),
        format!("/leads/{}/thumbs/{sha}", lead_b.id()),
    ] {
        let r = tb.get(&path, Some(&officer_b.cookie)).await;
        assert_eq!(r.status(), 404, "{path}");
    }
    // Only B's own upload of the very bytes makes the lead complete, with a receipt.
    let r = tb.put_blob(&b, &sha, 0, secret.clone()).await;
    assert_eq!(r.status(), 201);
    let st: BlobStatus = r.json().await.unwrap();
    assert_eq!(st.completed_leads, vec![lead_b.id()]);
    let r = tb
        .get(
            &format!("/leads/{}/blobs/{sha}", lead_b.id()),
            Some(&officer_b.cookie),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), secret.as_slice());
    // One copy per hash on disk all the same.
    let objects = walk(&tb.dir.path().join("blobs/objects"));
    assert_eq!(
        objects
            .iter()
            .filter(|p| p.ends_with(&sha.to_hex()[2..]))
            .count(),
        1
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// 2. Every sealed lead validated on the server

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_lead_that_breaks_the_form_rules_is_refused_by_field_and_nothing_is_stored() {
    let tb = TestBureau::start().await;
    let t = tb.enrol("yuzhong", 1).await;
    type Edit = Box<dyn FnOnce(&mut fieldlead_domain::Manifest)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "business_name",
            Box::new(|m| m.record.business.name = "重庆\u{202E}部营经金五".into()),
        ),
        (
            "product_name",
            Box::new(|m| m.record.product.name = "长".repeat(301)),
        ),
        (
            "sampler2_credential",
            Box::new(|m| m.record.samplers[1] = m.record.samplers[0].clone()),
        ),
        (
            "evidence[0].caption",
            Box::new(|m| m.evidence[0].caption = "货架\u{1b}[2J".into()),
        ),
        ("evidence", Box::new(|m| m.evidence.clear())),
    ];
    for (field, edit) in cases {
        let lead = seal_edited(LeadId::new(), &t.key, &[photo(1, 90)], draft(), edit);
        let r = tb.put_lead(&t, &lead).await;
        assert_eq!(r.status(), 422, "{field}");
        let e = error(r).await;
        assert_eq!(e.code, "invalid_fields", "{field}: {}", e.message);
        let problems = &e.detail.unwrap()["problems"];
        assert!(
            problems
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["field"] == field && !p["message"].as_str().unwrap().is_empty()),
            "{field}: {problems}"
        );
        assert!(tb.bureau.storage().lead(lead.id()).unwrap().is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_with_a_repeated_key_is_refused_and_the_stored_form_is_canonical() {
    let tb = TestBureau::start().await;
    let t = tb.enrol("yuzhong", 1).await;
    let lead = seal(&t.key, &[photo(1, 90)]);
    // The same document with a second "manifest_hash" key appended to the signed
    // manifest object: one parser would read the first, another the last.
    let text = String::from_utf8(lead.body()).unwrap();
    let doubled = text.replacen(
        "\"manifest_hash\":",
        &format!(
            "\"manifest_hash\":\"{}\",\"manifest_hash\":",
            "0".repeat(64)
        ),
        1,
    );
    let r = tb
        .put_lead_raw(&t.token, &lead.id().to_string(), doubled.into_bytes())
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(error(r).await.code, "duplicate_key");
    assert!(tb.bureau.storage().lead(lead.id()).unwrap().is_none());

    // Sent pretty-printed, stored canonical: one spelling of what was signed.
    let pretty = serde_json::to_vec_pretty(&lead.upload).unwrap();
    let r = tb
        .put_lead_raw(&t.token, &lead.id().to_string(), pretty)
        .await;
    assert_eq!(r.status(), 201);
    let row = tb.bureau.storage().lead(lead.id()).unwrap().unwrap();
    assert_eq!(row.upload, lead.upload);
    let stored: String = rusqlite::Connection::open(tb.dir.path().join("bureau.sqlite3"))
        .unwrap()
        .query_row(
            "SELECT upload_json FROM leads WHERE id = ?1",
            [lead.id().to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        stored.as_bytes(),
        fieldlead_domain::canonical_json(&lead.upload)
            .unwrap()
            .as_slice()
    );
}

// ---------------------------------------------------------------------------
// 3. Logins cannot exhaust or lock out the server

async fn login_status(tb: &TestBureau, username: &str, password: &str) -> u16 {
    match tb.try_login(username, password).await {
        Ok(_) => 303,
        Err(s) => s,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_parallel_wrong_passwords_are_not_all_evaluated() {
    let tb = TestBureau::start().await;
    let tries: Vec<_> = (0..30)
        .map(|i| {
            let tb = &tb;
            async move { login_status(tb, "officer_a", &format!("wrong password {i}")).await }
        })
        .collect();
    let statuses = futures_util::future::join_all(tries).await;
    let evaluated = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(evaluated + throttled, 30, "{statuses:?}");
    // Five free tries, counted as they start: the other 25 never reach Argon2.
    assert!(evaluated <= 5, "{evaluated} wrong passwords were checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_delays_but_never_locks_out_the_owner() {
    let config = Config {
        login_failures_per_15min: 3,
        login_max_delay_secs: 2,
        ..test_config()
    };
    let tb = TestBureau::start_with(config).await;
    // Failures spread out enough to be evaluated push the delay to its cap.
    let mut failures = 0;
    while failures < 6 {
        match login_status(&tb, "officer_a", &format!("guess {failures}")).await {
            401 => failures += 1,
            429 => tokio::time::sleep(Duration::from_millis(2100)).await,
            s => panic!("{s}"),
        }
    }
    // Right after a failure the owner is asked to wait, at most the cap ...
    assert_eq!(login_status(&tb, "officer_a", PASSWORD).await, 429);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // ... and then gets in: there is no hard lockout.
    assert_eq!(login_status(&tb, "officer_a", PASSWORD).await, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_guessing_across_many_names_is_stopped() {
    let config = Config {
        login_failures_per_address_per_hour: 5,
        ..test_config()
    };
    let tb = TestBureau::start_with(config).await;
    for i in 0..5 {
        assert_eq!(login_status(&tb, &format!("nobody{i}"), "x").await, 401);
    }
    assert_eq!(login_status(&tb, "nobody9", "x").await, 429);
    // The real account from the same address is limited too (it is the address
    // that guessed), but the account itself carries no failure.
    assert_eq!(login_status(&tb, "officer_a", PASSWORD).await, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_or_unknown_user_name_never_reaches_the_audit_log() {
    let tb = TestBureau::start().await;
    let huge = "名".repeat(20_000);
    let started = std::time::Instant::now();
    assert_eq!(login_status(&tb, &huge, "x").await, 401);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(login_status(&tb, "intruder\u{202E}nimda", "x").await, 401);
    let events = tb
        .bureau
        .storage()
        .audit_events(fieldlead_bureau::storage::Scope::All, None, 1000)
        .unwrap();
    let failed: Vec<_> = events
        .iter()
        .filter(|e| e.action == "login_failed")
        .collect();
    assert_eq!(failed.len(), 1, "the huge name is refused before anything");
    for e in &events {
        assert!(e.subject.len() < 100, "{}", e.subject);
        assert!(!e.subject.contains("intruder"), "{}", e.subject);
    }
}

// ---------------------------------------------------------------------------
// 4. Uploads cannot be griefed

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_from_one_tablet_never_blocks_another_tablets_upload_of_the_same_photo() {
    let tb = TestBureau::start().await;
    let t1 = tb.enrol("yuzhong", 1).await;
    let t2 = tb.enrol("yuzhong", 2).await;
    let shared = photo(3, 90);
    let sha = fieldlead_domain::Sha256::digest(&shared);
    let lead1 = seal(&t1.key, std::slice::from_ref(&shared));
    let lead2 = seal(&t2.key, std::slice::from_ref(&shared));
    tb.put_lead(&t1, &lead1).await;
    tb.put_lead(&t2, &lead2).await;
    // Tablet 1 starts the upload with junk and leaves it there.
    let r = tb.put_blob(&t1, &sha, 0, vec![0x55; 100]).await;
    assert_eq!(r.status(), 200);
    // Tablet 2 uploads the real bytes from zero, at once.
    let r = tb.put_blob(&t2, &sha, 0, shared.clone()).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // Its district now holds the photo; tablet 1's junk is its own problem only.
    assert!(tb.blob_status(&t1, &sha).await.complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_partial_uploads_are_removed_after_the_configured_age() {
    let tb = TestBureau::start().await;
    let t = tb.enrol("yuzhong", 1).await;
    let (_lead, sha, bytes) = tb.put_lead_with_large_photo(&t).await;
    tb.put_blob(&t, &sha, 0, bytes[..100].to_vec()).await;
    assert_eq!(tb.blob_status(&t, &sha).await.offset, 100);
    assert_eq!(
        tb.bureau.sweep_partials().unwrap(),
        0,
        "fresh partials stay"
    );
    // Eight days untouched (the default age is seven).
    for f in walk(&tb.dir.path().join("uploads")) {
        let file = std::fs::File::options().write(true).open(&f).unwrap();
        file.set_modified(std::time::SystemTime::now() - Duration::from_secs(8 * 86400))
            .unwrap();
    }
    assert_eq!(tb.bureau.sweep_partials().unwrap(), 1);
    assert_eq!(tb.blob_status(&t, &sha).await.offset, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_has_quotas_for_leads_and_unfinished_uploads_and_retries_cost_none() {
    let config = Config {
        device_leads_per_day: 1,
        device_partial_quota_bytes: 1000,
        ..test_config()
    };
    let tb = TestBureau::start_with(config).await;
    let t = tb.enrol("yuzhong", 1).await;
    let big = photo(1, 100);
    assert!(big.len() > 1000);
    let lead = seal(&t.key, std::slice::from_ref(&big));
    assert_eq!(tb.put_lead(&t, &lead).await.status(), 201);
    // The same lead again is answered from what is stored: no quota, no new work.
    assert_eq!(tb.put_lead(&t, &lead).await.status(), 200);
    let second = seal(&t.key, &[photo(2, 90)]);
    let r = tb.put_lead(&t, &second).await;
    assert_eq!(r.status(), 429);
    assert_eq!(error(r).await.code, "quota_exceeded");
    // A photo larger than what the device may hold unfinished is refused up front.
    let sha = fieldlead_domain::Sha256::digest(&big);
    let r = tb.put_blob(&t, &sha, 0, big[..10].to_vec()).await;
    assert_eq!(r.status(), 429);
    assert_eq!(error(r).await.code, "quota_exceeded");
}

#[test]
fn the_default_limits_are_those_of_a_tablet_not_of_a_flood() {
    let c = Config::default();
    assert!(c.device_rate_per_sec <= 10.0 && c.device_burst <= 100);
    assert!(c.device_leads_per_day <= 1000);
    assert!(c.max_concurrent_requests <= 1024);
}

// ---------------------------------------------------------------------------
// 5. Bounded work

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_concurrency_limit_get_503_at_once() {
    let config = Config {
        max_concurrent_requests: 1,
        ..test_config()
    };
    let tb = TestBureau::start_with(config).await;
    let t = tb.enrol("yuzhong", 1).await;
    let (_lead, sha, bytes) = tb.put_lead_with_large_photo(&t).await;
    // A slow upload holds the only slot: its body trickles in.
    let (tx, slow) = trickle_upload(&tb, &t, &sha, bytes.len());
    tx.send(Ok(bytes[..10].to_vec())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let r = tb.get("/api/v1/server", None).await;
    assert_eq!(r.status(), 503);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(error(r).await.code, "busy");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused, not queued"
    );
    tx.send(Ok(bytes[10..].to_vec())).await.unwrap();
    drop(tx);
    assert_eq!(slow.await.unwrap().unwrap().status(), 201);
    assert_eq!(tb.get("/api/v1/server", None).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_is_served_whole_but_never_cached_and_internals_never_leak() {
    let tb = TestBureau::start().await;
    let t = tb.enrol("yuzhong", 1).await;
    let original = photo(1, 95);
    let lead = seal(&t.key, std::slice::from_ref(&original));
    tb.deliver(&t, &lead).await;
    let s = tb.login("officer_a").await;
    let sha = fieldlead_domain::Sha256::digest(&original);
    let original_path = format!("/leads/{}/blobs/{sha}", lead.id());
    let r = tb.get(&original_path, Some(&s.cookie)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(
        r.headers()["content-length"],
        original.len().to_string().as_str()
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), original.as_slice());

    // The file vanished from the server's disk: the answer names no path.
    std::fs::remove_file(tb.object_path(&sha).expect("the data folder's blob store")).unwrap();
    let r = tb.get(&original_path, Some(&s.cookie)).await;
    assert_eq!(r.status(), 500);
    let page = r.text().await.unwrap();
    assert!(page.contains("事件编号"), "{page}");
    assert!(!page.contains("blobs/objects"), "{page}");
    assert!(
        !page.contains(&tb.dir.path().display().to_string()),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_limits_believe_forwarded_for_only_from_the_trusted_proxy() {
    let config = Config {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..test_config()
    };
    let tb = TestBureau::start_with(config).await;
    let key = SigningKey::from_seed(&[7; 32]);
    let wrong = fieldlead_domain::EnrolmentCode::from_random(&[3; 24]);
    let attempt = |client_ip: &'static str| {
        let req = EnrolmentRequest::new(wrong.clone(), "x", &key);
        tb.enrol_builder(&req)
            .header("x-forwarded-for", format!("6.6.6.6, {client_ip}"))
            .send()
    };
    // One client behind the proxy guessing codes is stopped after its burst ...
    let mut last = 0;
    for _ in 0..11 {
        last = attempt("203.0.113.9").await.unwrap().status().as_u16();
    }
    assert_eq!(last, 429);
    // ... while another client behind the same proxy is not.
    assert_eq!(
        attempt("198.51.100.7").await.unwrap().status().as_u16(),
        422
    );
}

// ---------------------------------------------------------------------------
// 7. Smaller findings

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_device_comes_back_only_in_its_own_district() {
    let tb = TestBureau::start().await;
    let t = tb.enrol("yuzhong", 1).await;
    tb.bureau
        .revoke_device(None, t.enrolment.device_id)
        .unwrap();
    let send = |district: &str| {
        let req = EnrolmentRequest::new(tb.code(district), "平板 1", &t.key);
        tb.enrol_builder(&req).send()
    };
    let r = send("jiangbei").await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(error(r).await.code, "device_other_district");
    let device = tb
        .bureau
        .storage()
        .device(t.enrolment.device_id)
        .unwrap()
        .unwrap();
    assert_eq!(device.district.code, "yuzhong");
    assert!(device.revoked_at.is_some());
    let r = send("yuzhong").await.unwrap();
    assert_eq!(r.status(), 201);
    let back: fieldlead_domain::EnrolmentResponse = r.json().await.unwrap();
    assert_eq!(back.device_id, t.enrolment.device_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_stops_an_upload_in_flight_and_keeps_nothing() {
    let tb = TestBureau::start().await;
    let t = tb.enrol("yuzhong", 1).await;
    let (_lead, sha, bytes) = tb.put_lead_with_large_photo(&t).await;
    let (tx, upload) = trickle_upload(&tb, &t, &sha, bytes.len());
    tx.send(Ok(bytes[..100].to_vec())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    tb.bureau
        .revoke_device(None, t.enrolment.device_id)
        .unwrap();
    let _ = tx.send(Ok(bytes[100..].to_vec())).await;
    drop(tx);
    let r = upload.await.unwrap().unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(error(r).await.code, "device_revoked");
    assert!(walk(&tb.dir.path().join("uploads")).is_empty());
    assert!(!tb
        .bureau
        .storage()
        .district_holds(t.enrolment_district_id(&tb), sha)
        .unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_length_that_would_overflow_is_refused_not_wrapped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let tb = TestBureau::start().await;
    let t = tb.enrol("yuzhong", 1).await;
    let (_lead, sha, bytes) = tb.put_lead_with_large_photo(&t).await;
    tb.put_blob(&t, &sha, 0, bytes[..10].to_vec()).await;
    // held (10) + this length passes u64::MAX.
    let huge = u64::MAX - 5;
    let mut s = tokio::net::TcpStream::connect(tb.addr).await.unwrap();
    s.write_all(
        format!(
            "PUT /api/v1/blobs/{sha} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Upload-Offset: 10\r\nContent-Length: {huge}\r\nConnection: close\r\n\r\n",
            t.token
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    // The upload itself is untouched.
    assert_eq!(tb.blob_status(&t, &sha).await.offset, 10);
}

trait DistrictOf {
    fn enrolment_district_id(&self, tb: &TestBureau) -> i64;
}

impl DistrictOf for Tablet {
    fn enrolment_district_id(&self, tb: &TestBureau) -> i64 {
        tb.bureau
            .district(&self.enrolment.district.code)
            .unwrap()
            .id
    }
}
