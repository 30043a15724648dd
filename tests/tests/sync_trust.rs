//! Sync end to end (issue 6): the real bureau server on 127.0.0.1:0 with its own
//! temp data folder, the real tablet store and sync client, and faults injected
//! between them (see `sync_support`). Each test checks what a sampler or the
//! bureau would notice: every lead delivered exactly once, every blob
//! hash-verified, receipts that verify, errors that say what is wrong.
//!
//! This file: what the tablet trusts (issue 10): https only, the bureau's key
//! checked against the invite's fingerprint, answers read with a size cap, signed
//! statuses.

mod sync_support;

#[allow(unused_imports)]
use sync_support::*;

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
    let (_folders, server, mut dev) = bureau_and_tablet().await;
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
