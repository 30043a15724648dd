//! Console black-box tests of who may do what: every role against every console
//! endpoint, CSRF, login failures, cookie flags and logout.

mod support;

use fieldlead_domain::LeadState;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_every_role_against_every_console_endpoint() {
    let w = world(test_config()).await;
    let tb = &w.tb;
    let roles = [
        "officer_a",
        "reviewer_a",
        "officer_b",
        "reviewer_b",
        "city",
        "enforcement_a",
    ];
    let mut sessions = std::collections::HashMap::new();
    for r in roles {
        sessions.insert(r, tb.login(r).await);
    }
    let lead = w.lead_a.id();
    let sha = w.lead_a.blobs[0].0;
    // A 后处理 case of district A.
    let officer_a = tb
        .bureau
        .storage()
        .user_credentials("officer_a")
        .unwrap()
        .unwrap()
        .0;
    let date = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let case = tb
        .bureau
        .import_results(
            &officer_a,
            None,
            vec![fieldlead_domain::sample::inspection_result(
                "CQ-ACCESS-1",
                fieldlead_domain::postprocess::Verdict::Pass,
                date("2026-10-09"),
            )],
        )
        .unwrap()[0];

    // Reading. Columns: anonymous, then the roles in order.
    let reads: Vec<(String, [u16; 7])> = vec![
        ("/".into(), [303, 200, 200, 200, 200, 200, 200]),
        ("/overdue".into(), [303, 200, 200, 200, 200, 200, 200]),
        ("/audit".into(), [303, 200, 200, 200, 200, 200, 200]),
        (
            format!("/leads/{lead}"),
            [303, 200, 200, 404, 404, 200, 200],
        ),
        (
            format!("/leads/{lead}/blobs/{sha}"),
            [303, 200, 200, 404, 404, 200, 200],
        ),
        ("/devices".into(), [303, 200, 403, 200, 403, 200, 403]),
        // 后处理: reviewers have no part in it; another district's case is unknown.
        ("/cases".into(), [303, 200, 403, 200, 403, 200, 200]),
        (
            "/cases/deadlines.xlsx".into(),
            [303, 200, 403, 200, 403, 200, 200],
        ),
        (
            format!("/cases/{case}"),
            [303, 200, 403, 404, 403, 200, 200],
        ),
        // Section 四: the 后处理 side and the enforcement side; reviewers have no part.
        ("/enforcement".into(), [303, 200, 403, 200, 403, 200, 200]),
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
        .get_with_token(&w.tablet_a_token, &format!("/leads/{lead}"))
        .await;
    assert_eq!(resp.status(), 303);

    // Changing: every refused caller first, then the one allowed, so each refusal
    // is checked against an unchanged lead.
    let review = format!("/leads/{lead}/review");
    let handling = format!("/leads/{lead}/handling");
    let revoke = format!("/devices/{}/revoke", w.device_a);
    // (path, form fields, expected statuses)
    type Write<'a> = (&'a str, Vec<(&'a str, &'a str)>, [u16; 7]);
    let writes: Vec<Write> = vec![
        (
            &review,
            vec![("state", "approved")],
            [303, 403, 303, 403, 404, 403, 403],
        ),
        (
            &handling,
            vec![("step", "acknowledge")],
            [303, 303, 403, 404, 403, 403, 403],
        ),
        (&revoke, vec![], [303, 303, 403, 404, 403, 303, 403]),
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
            let got = tb
                .submit(&sessions[r], path, fields)
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
    let sessions = &sessions;
    let enrol = |who: &'static str, district: &'static str| async move {
        tb.submit(&sessions[who], "/devices/enrol", &[("district", district)])
            .await
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
    let inbox_b = tb.page(&sessions["officer_b"], "/").await;
    assert!(inbox_b.contains(&w.lead_b.id().to_string()));
    assert!(!inbox_b.contains(&lead.to_string()));
    let inbox_city = tb.page(&sessions["city"], "/").await;
    assert!(
        inbox_city.contains(&lead.to_string()) && inbox_city.contains(&w.lead_b.id().to_string())
    );
    let devices_b = tb.page(&sessions["officer_b"], "/devices").await;
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
    let resp = tb.post_login("officer_a", PASSWORD).await;
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
    assert_eq!(tb.submit(&s, "/logout", &[]).await.status(), 303);
    assert_eq!(tb.get("/", Some(&s.cookie)).await.status(), 303);
}
