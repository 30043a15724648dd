//! Console black-box tests: roles against endpoints, CSRF, login, the handling
//! workflow, the overdue list and the verification panel.

mod support;

use fieldlead_domain::{LeadState, SignedLeadStatus};
use support::*;

struct World {
    tb: TestBureau,
    lead_a: SealedLead,
    lead_b: SealedLead,
    device_a: String,
    device_b: String,
    tablet_a_token: String,
}

async fn world(config: fieldlead_bureau::Config) -> World {
    let tb = TestBureau::start_with(config).await;
    let a = tb.enrol("yuzhong", 1).await;
    let b = tb.enrol("jiangbei", 2).await;
    let lead_a = seal(&a.key, &[photo(1, 90), photo(2, 90)]);
    let lead_b = seal(&b.key, &[photo(3, 90)]);
    tb.deliver(&a, &lead_a).await;
    tb.deliver(&b, &lead_b).await;
    World {
        device_a: a.enrolment.device_id.to_string(),
        device_b: b.enrolment.device_id.to_string(),
        tablet_a_token: a.token,
        tb,
        lead_a,
        lead_b,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_every_role_against_every_console_endpoint() {
    let w = world(test_config()).await;
    let tb = &w.tb;
    let roles = ["officer_a", "reviewer_a", "officer_b", "reviewer_b", "city"];
    let mut sessions = std::collections::HashMap::new();
    for r in roles {
        sessions.insert(r, tb.login(r).await);
    }
    let lead = w.lead_a.id();
    let sha = w.lead_a.blobs[0].0;

    // Reading. Columns: anonymous, then the roles in order.
    let reads: Vec<(String, [u16; 6])> = vec![
        ("/".into(), [303, 200, 200, 200, 200, 200]),
        ("/overdue".into(), [303, 200, 200, 200, 200, 200]),
        ("/audit".into(), [303, 200, 200, 200, 200, 200]),
        (format!("/leads/{lead}"), [303, 200, 200, 404, 404, 200]),
        (
            format!("/leads/{lead}/blobs/{sha}"),
            [303, 200, 200, 404, 404, 200],
        ),
        ("/devices".into(), [303, 200, 403, 200, 403, 200]),
    ];
    for (path, expected) in &reads {
        let got = tb.get(path, None).await.status().as_u16();
        assert_eq!(got, expected[0], "anonymous GET {path}");
        for (i, r) in roles.iter().enumerate() {
            let got = tb
                .get(path, Some(&sessions[r].cookie))
                .await
                .status()
                .as_u16();
            assert_eq!(got, expected[i + 1], "{r} GET {path}");
        }
    }
    // A tablet's bearer token opens no console page.
    let resp = tb
        .client
        .get(format!("{}/leads/{lead}", tb.url))
        .bearer_auth(&w.tablet_a_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    // Changing: every refused caller first, then the one allowed, so each refusal
    // is checked against an unchanged lead.
    let review = format!("/leads/{lead}/review");
    let handling = format!("/leads/{lead}/handling");
    let revoke = format!("/devices/{}/revoke", w.device_a);
    // (path, form fields, expected statuses)
    type Write<'a> = (&'a str, Vec<(&'a str, &'a str)>, [u16; 6]);
    let writes: Vec<Write> = vec![
        (
            &review,
            vec![("state", "approved")],
            [303, 403, 303, 403, 404, 403],
        ),
        (
            &handling,
            vec![("step", "acknowledge")],
            [303, 303, 403, 404, 403, 403],
        ),
        (&revoke, vec![], [303, 303, 403, 404, 403, 303]),
    ];
    for (path, fields, expected) in &writes {
        let got = tb.post_form(path, None, fields).await.status().as_u16();
        assert_eq!(got, expected[0], "anonymous POST {path}");
        // Allowed callers last.
        let mut order: Vec<usize> = (0..roles.len()).collect();
        order.sort_by_key(|i| expected[i + 1] == 303);
        let mut done = false;
        for i in order {
            let r = roles[i];
            let s = &sessions[r];
            let mut form = fields.clone();
            form.push(("csrf", &s.csrf));
            let got = tb
                .post_form(path, Some(&s.cookie), &form)
                .await
                .status()
                .as_u16();
            // Revoking twice is a state conflict: only the first allowed one changes it.
            let want = if expected[i + 1] == 303 && done {
                409
            } else {
                expected[i + 1]
            };
            assert_eq!(got, want, "{r} POST {path}");
            done |= got == 303;
        }
    }
    let row = tb.bureau.storage().lead(lead).unwrap().unwrap();
    assert_eq!(row.handling.state, LeadState::Acknowledged);
    assert_eq!(row.handling.acknowledged_by.as_deref(), Some("officer_a"));
    assert_eq!(
        row.review_state,
        Some(fieldlead_bureau::storage::ReviewState::Approved)
    );

    // Issuing enrolment codes: officers for their district, the city for any.
    let enrol = |who: &'static str, district: &'static str| {
        let s = &sessions[who];
        let form = vec![
            ("csrf".to_string(), s.csrf.clone()),
            ("district".to_string(), district.to_string()),
        ];
        let req = tb
            .client
            .post(format!("{}/devices/enrol", tb.url))
            .header("cookie", &s.cookie)
            .form(&form);
        async move { req.send().await.unwrap() }
    };
    assert_eq!(enrol("reviewer_a", "").await.status(), 403);
    let page = enrol("officer_a", "").await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("渝中区市场监督管理局"));
    // The bureau key's fingerprint, for the tablet to check the key it is sent.
    assert!(page.contains(&tb.bureau.public_key().fingerprint().to_string()));
    assert_eq!(enrol("city", "").await.status(), 422);
    assert_eq!(enrol("city", "jiangbei").await.status(), 200);

    // Scope of lists: officer B never sees district A's lead.
    let inbox_b = tb
        .get("/", Some(&sessions["officer_b"].cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(inbox_b.contains(&w.lead_b.id().to_string()));
    assert!(!inbox_b.contains(&lead.to_string()));
    let inbox_city = tb
        .get("/", Some(&sessions["city"].cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        inbox_city.contains(&lead.to_string()) && inbox_city.contains(&w.lead_b.id().to_string())
    );
    let devices_b = tb
        .get("/devices", Some(&sessions["officer_b"].cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(devices_b.contains(&w.device_b) && !devices_b.contains(&w.device_a));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_login_failures_and_cookie_flags() {
    let config = fieldlead_bureau::Config {
        cookie_secure: true,
        login_failures_per_15min: 3,
        ..test_config()
    };
    let w = world(config).await;
    let tb = &w.tb;
    let s = tb.login("reviewer_a").await;
    let path = format!("/leads/{}/review", w.lead_a.id());
    // A forged form without the session's token changes nothing.
    for token in ["", "0000", &"ab".repeat(32)] {
        let resp = tb
            .post_form(
                &path,
                Some(&s.cookie),
                &[("csrf", token), ("state", "rejected"), ("comment", "x")],
            )
            .await;
        assert_eq!(resp.status(), 403, "csrf {token:?}");
    }
    assert!(tb
        .bureau
        .storage()
        .reviews(w.lead_a.id())
        .unwrap()
        .is_empty());

    // Login itself needs the login page's token (double submit).
    let resp = tb
        .post_form(
            "/login",
            None,
            &[
                ("username", "officer_a"),
                ("password", PASSWORD),
                ("csrf", "x"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 403);

    // Session cookie: HttpOnly, SameSite=Strict, Secure.
    let page = tb.get("/login", None).await;
    let login_cookie = cookie_of(&page, "fl_login_csrf").unwrap();
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    let resp = tb
        .post_form(
            "/login",
            Some(&format!("fl_login_csrf={login_cookie}")),
            &[
                ("username", "officer_a"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let set = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("fl_session="))
        .unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(set.contains(attr), "{set} lacks {attr}");
    }
    assert!(resp.headers().get("content-security-policy").is_some());

    // Wrong passwords: 401 each, then the name is locked (429) even for the right one.
    for _ in 0..3 {
        assert_eq!(
            tb.try_login("officer_b", "wrong password!").await.err(),
            Some(401)
        );
    }
    assert_eq!(tb.try_login("officer_b", PASSWORD).await.err(), Some(429));
    assert_eq!(tb.try_login("nobody", PASSWORD).await.err(), Some(401));
    // Logging out ends the session on the server.
    let s = tb.login("officer_a").await;
    assert_eq!(
        tb.post_form("/logout", Some(&s.cookie), &[("csrf", &s.csrf)])
            .await
            .status(),
        303
    );
    assert_eq!(tb.get("/", Some(&s.cookie)).await.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handling_moves_forward_only_and_the_tablet_sees_it() {
    let w = world(test_config()).await;
    let tb = &w.tb;
    let s = tb.login("officer_a").await;
    let lead = w.lead_a.id();
    let path = format!("/leads/{lead}/handling");
    let post = |mut form: Vec<(&'static str, String)>| {
        form.push(("csrf", s.csrf.clone()));
        let req = tb
            .client
            .post(format!("{}{path}", tb.url))
            .header("cookie", &s.cookie)
            .form(&form);
        async move { req.send().await.unwrap().status().as_u16() }
    };
    // Not yet acknowledged: no decision.
    assert_eq!(post(vec![("step", "file_case".into())]).await, 409);
    assert_eq!(post(vec![("step", "acknowledge".into())]).await, 303);
    assert_eq!(post(vec![("step", "acknowledge".into())]).await, 409);
    // Declining needs a reason.
    assert_eq!(
        post(vec![("step", "decline".into()), ("reason", "  ".into())]).await,
        422
    );
    assert_eq!(
        post(vec![
            ("step", "file_case".into()),
            ("case_number", "渝中市监立〔2026〕17号".into())
        ])
        .await,
        303
    );
    assert_eq!(
        post(vec![("step", "outcome".into()), ("fine_wan", "-1".into())]).await,
        422
    );
    assert_eq!(
        post(vec![
            ("step", "outcome".into()),
            ("fine_wan", "1.5".into()),
            ("confiscation_wan", "0.0321".into()),
            ("remark", "没收违法产品 120 卷".into())
        ])
        .await,
        303
    );
    assert_eq!(
        post(vec![
            ("step", "report".into()),
            ("reported_on", "2099-01-01".into())
        ])
        .await,
        422
    );
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(
        post(vec![
            ("step", "report".into()),
            ("reported_on", today.clone())
        ])
        .await,
        303
    );
    assert_eq!(
        post(vec![("step", "decline".into()), ("reason", "晚了".into())]).await,
        409
    );

    let row = tb.bureau.storage().lead(lead).unwrap().unwrap();
    assert_eq!(row.handling.state, LeadState::ReportedToCity);
    assert_eq!(row.handling.fine.map(|f| f.get()), Some(1_500_000));
    assert_eq!(row.handling.confiscation.map(|f| f.get()), Some(32_100));
    let page = tb
        .get(&format!("/leads/{lead}"), Some(&s.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("1.5") && page.contains("0.0321") && page.contains("渝中市监立〔2026〕17号")
    );

    // The tablet polls its lead's status.
    let status = tb
        .client
        .get(format!("{}/api/v1/leads/{lead}", tb.url))
        .bearer_auth(&w.tablet_a_token)
        .send()
        .await
        .unwrap()
        .json::<SignedLeadStatus>()
        .await
        .unwrap()
        .verify(&tb.bureau.public_key(), lead)
        .unwrap();
    assert_eq!(status.state, LeadState::ReportedToCity);
    assert_eq!(status.decision, Some(fieldlead_domain::Decision::CaseFiled));
    assert_eq!(status.reported_to_city_on.unwrap().to_string(), today);
    assert!(status.acknowledged_at.is_some());

    // Every change is in the audit log with who, before and after.
    let events = tb
        .bureau
        .storage()
        .audit_events(
            fieldlead_bureau::storage::Scope::All,
            Some(&format!("lead:{lead}")),
            50,
        )
        .unwrap();
    let actions: Vec<&str> = events.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "lead_received",
            "lead_delivered",
            "lead_acknowledged",
            "lead_case_filed",
            "lead_outcome_recorded",
            "lead_reported_to_city"
        ]
    );
    let filed = events
        .iter()
        .find(|e| e.action == "lead_case_filed")
        .unwrap();
    assert_eq!(filed.actor, "user:officer_a");
    assert_eq!(filed.before.as_ref().unwrap()["state"], "acknowledged");
    assert_eq!(filed.after.as_ref().unwrap()["state"], "case_filed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overdue_lists_delivered_leads_not_acknowledged_in_time() {
    let config = fieldlead_bureau::Config {
        overdue_hours: 0,
        ..test_config()
    };
    let w = world(config).await;
    let tb = &w.tb;
    let s = tb.login("officer_a").await;
    let page = tb
        .get("/overdue", Some(&s.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&w.lead_a.id().to_string()));
    assert!(!page.contains(&w.lead_b.id().to_string()), "other district");
    let path = format!("/leads/{}/handling", w.lead_a.id());
    tb.post_form(
        &path,
        Some(&s.cookie),
        &[("csrf", &s.csrf), ("step", "acknowledge")],
    )
    .await;
    let page = tb
        .get("/overdue", Some(&s.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(&w.lead_a.id().to_string()));

    // With the default 24 hours, a lead delivered just now is not overdue.
    let fresh = world(test_config()).await;
    let s = fresh.tb.login("city").await;
    let page = fresh
        .tb
        .get("/overdue", Some(&s.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(&fresh.lead_a.id().to_string()));
}

async fn page_when_analysed(
    tb: &TestBureau,
    cookie: &str,
    lead: fieldlead_domain::LeadId,
) -> String {
    for _ in 0..300 {
        let page = tb
            .get(&format!("/leads/{lead}"), Some(cookie))
            .await
            .text()
            .await
            .unwrap();
        if !page.contains("分析中") {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("photo analysis did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_panel_flags_reused_photos_tampering_and_missing_blobs() {
    let tb = TestBureau::start().await;
    let a = tb.enrol("yuzhong", 1).await;
    let b = tb.enrol("jiangbei", 2).await;
    let original = photo(4, 95);
    let first = seal(&a.key, &[original.clone(), photo(6, 90)]);
    tb.deliver(&a, &first).await;
    // The same bytes again in a second lead of the same district.
    let reused = seal(&a.key, std::slice::from_ref(&original));
    tb.deliver(&a, &reused).await;
    // The same scene re-encoded, in another district.
    let reencoded = seal(&b.key, &[photo(4, 50)]);
    tb.deliver(&b, &reencoded).await;

    // A near duplicate is found once the other photo is analysed too: wait for
    // every blob, not only this lead's.
    for _ in 0..300 {
        if tb.bureau.storage().unanalysed_blobs().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let s = tb.login("officer_a").await;
    let page = page_when_analysed(&tb, &s.cookie, reused.id()).await;
    assert!(
        page.contains("有效</span>（Ed25519 签名"),
        "signature status shown"
    );
    assert!(
        page.contains(&sha_hex(&original)),
        "every blob's hash shown"
    );
    assert!(page.contains("同一文件（SHA-256 相同）"));
    assert!(
        page.contains(&format!("/leads/{}", first.id())),
        "links the other lead"
    );
    assert!(
        page.contains("疑似同一画面"),
        "near duplicate by perceptual hash"
    );
    assert!(
        page.contains("其他区县线索"),
        "other district's lead named but not opened"
    );
    assert!(!page.contains(&format!("/leads/{}\"", reencoded.id())));
    assert!(page.contains("哈希一致"));
    assert!(page.contains("无 EXIF 拍摄时间"));

    // The stored bytes changed on the server's disk. Viewing the lead does not
    // re-read every original (the check on arrival is recorded); re-verifying on
    // demand finds it and says so.
    let sha = fieldlead_domain::Sha256::digest(&original);
    let object = tb
        .dir
        .path()
        .join("blobs/objects")
        .join(&sha.to_hex()[..2])
        .join(&sha.to_hex()[2..]);
    let mut bytes = std::fs::read(&object).unwrap();
    bytes[200] ^= 0xff;
    std::fs::write(&object, bytes).unwrap();
    let page = tb
        .get(&format!("/leads/{}", reused.id()), Some(&s.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("存储内容与哈希不符"));
    let r = tb
        .post_form(
            &format!("/leads/{}/reverify", reused.id()),
            Some(&s.cookie),
            &[("csrf", &s.csrf)],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = tb
        .get(&format!("/leads/{}", reused.id()), Some(&s.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("存储内容与哈希不符"));

    // A lead whose photos have not all arrived.
    let partial = seal(&a.key, &[photo(5, 90)]);
    tb.put_lead(&a, &partial).await;
    let page = tb
        .get(&format!("/leads/{}", partial.id()), Some(&s.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("尚未收到"));
    // The signature images are the same bytes as in the first lead, so held already.
    assert!(page.contains("缺 1 个文件"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_panel_compares_exif_time_and_gps_with_the_record() {
    let tb = TestBureau::start().await;
    let a = tb.enrol("yuzhong", 1).await;
    // The record: 2026-11-20 10:15 +08:00 at 29.5630 N, 106.5510 E.
    let on_site = with_exif(
        &photo(1, 90),
        &[
            "-DateTimeOriginal=2026:11:20 10:21:00",
            "-OffsetTimeOriginal=+08:00",
            "-GPSLatitude=29.5632",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=106.5511",
            "-GPSLongitudeRef=E",
            "-Make=HUAWEI",
        ],
    );
    let elsewhere = with_exif(
        &photo(2, 90),
        &[
            "-DateTimeOriginal=2026:11:18 09:00:00",
            "-GPSLatitude=30.5730",
            "-GPSLatitudeRef=N",
            "-GPSLongitude=104.0660",
            "-GPSLongitudeRef=E",
        ],
    );
    let lead = seal(&a.key, &[on_site, elsewhere]);
    tb.deliver(&a, &lead).await;
    let s = tb.login("reviewer_a").await;
    let page = page_when_analysed(&tb, &s.cookie, lead.id()).await;
    // On site: 6 minutes after the start, about 20 m away; nothing flagged.
    assert!(page.contains("2026-11-20 10:21:00 +08:00"), "{page}");
    assert!(page.contains("与抽样开始相差 6 分钟"));
    // Elsewhere: two days earlier (no offset in the file: the record's is assumed),
    // about 270 km away; both flagged.
    assert!(page.contains("2026-11-18 09:00:00 +08:00"));
    assert!(page.contains("按记录时区推定"));
    assert!(page.contains("与抽样开始相差 -2955 分钟"));
    assert!(page.contains("超出允许范围"));
    assert!(page.contains("距离过远"));
    let metres: Vec<i64> = page
        .split("距申报地点 ")
        .skip(1)
        .map(|p| p.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(metres.len(), 2);
    assert!(metres.iter().any(|m| *m < 50), "{metres:?}");
    assert!(
        metres.iter().any(|m| (250_000..290_000).contains(m)),
        "{metres:?}"
    );
    // The manifest's EXIF claims match the bytes: no mismatch note.
    assert!(!page.contains("清单记载拍摄时间"));
    assert!(page.contains("HUAWEI"));
}

fn sha_hex(bytes: &[u8]) -> String {
    fieldlead_domain::Sha256::digest(bytes).to_hex()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachment_7_and_8_export_the_decided_leads_of_the_district() {
    let tb = TestBureau::start().await;
    let a = tb.enrol("yuzhong", 1).await;
    let mut d = draft();
    d.product_name = "移动式插座".into();
    d.product_brand = "某牌".into();
    let filed = seal_with(&a.key, &[photo(1, 90)], d);
    let declined = seal(&a.key, &[photo(2, 90)]);
    tb.deliver(&a, &filed).await;
    tb.deliver(&a, &declined).await;
    let s = tb.login("officer_a").await;
    let step = |lead: fieldlead_domain::LeadId, form: Vec<(&'static str, &'static str)>| {
        let mut form: Vec<(&str, String)> =
            form.into_iter().map(|(k, v)| (k, v.to_string())).collect();
        form.push(("csrf", s.csrf.clone()));
        let req = tb
            .client
            .post(format!("{}/leads/{lead}/handling", tb.url))
            .header("cookie", &s.cookie)
            .form(&form);
        async move { assert_eq!(req.send().await.unwrap().status(), 303) }
    };
    step(filed.id(), vec![("step", "acknowledge")]).await;
    step(filed.id(), vec![("step", "file_case")]).await;
    step(
        filed.id(),
        vec![
            ("step", "outcome"),
            ("fine_wan", "1.5"),
            ("confiscation_wan", "0.2"),
        ],
    )
    .await;
    step(declined.id(), vec![("step", "acknowledge")]).await;
    step(
        declined.id(),
        vec![
            ("step", "decline"),
            ("reason", "经查该批产品已由生产者召回"),
        ],
    )
    .await;

    let sheet = |bytes: Vec<u8>| -> Vec<String> {
        use calamine::Reader;
        let mut book =
            calamine::open_workbook_from_rs::<calamine::Xlsx<_>, _>(std::io::Cursor::new(bytes))
                .unwrap();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        range
            .rows()
            .map(|r| {
                r.iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    };
    let resp = tb.get("/exports/attachment7.xlsx", Some(&s.cookie)).await;
    assert_eq!(resp.status(), 200);
    let rows = sheet(resp.bytes().await.unwrap().to_vec());
    let plug = rows
        .iter()
        .find(|r| r.contains("移动式插座"))
        .expect("filed lead listed");
    assert!(
        plug.contains("某牌") && plug.contains("1.5") && plug.contains("0.2"),
        "{plug}"
    );
    assert!(rows
        .iter()
        .any(|r| r.contains("经查该批产品已由生产者召回")));

    let rows = sheet(
        tb.get("/exports/attachment8.xlsx", Some(&s.cookie))
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec(),
    );
    assert!(rows
        .iter()
        .any(|r| r.contains("聚氯乙烯绝缘电线") && r.contains("经查该批产品已由生产者召回")));
    assert!(
        !rows.iter().any(|r| r.contains("移动式插座")),
        "a filed case is not in 附件8"
    );

    let pdf = tb.get("/exports/attachment7.pdf", Some(&s.cookie)).await;
    assert_eq!(pdf.status(), 200);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));

    // Another district's officer exports only their own (empty) list.
    let b = tb.login("officer_b").await;
    let rows = sheet(
        tb.get("/exports/attachment7.xlsx", Some(&b.cookie))
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec(),
    );
    assert!(!rows.iter().any(|r| r.contains("移动式插座")));
    assert_eq!(
        tb.get("/exports/attachment9.xlsx", Some(&b.cookie))
            .await
            .status(),
        404
    );
    assert_eq!(
        tb.get("/exports/attachment7.xlsx", None).await.status(),
        303
    );
}
