//! The console in a real browser: headless Chromium driven over WebDriver
//! (chromedriver). Needs the Debian packages `chromium` and `chromium-driver`.

mod support;

use std::time::Duration;

use fantoccini::Locator;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewer_logs_in_opens_a_lead_sees_the_verification_panel_and_sets_a_review_state() {
    let tb = TestBureau::start().await;
    let tablet = tb.enrol("yuzhong", 1).await;
    let lead = seal(&tablet.key, &[photo(1, 90), photo(2, 90)]);
    tb.deliver(&tablet, &lead).await;
    // Let the photo analysis finish so the page shows thumbnails.
    tb.wait_for_analysis().await;

    let (_driver, c) = support::browser::headless_chromium().await;

    let result = async {
        c.goto(&format!("{}/", tb.url)).await?;
        // Not logged in: the console sends the browser to the login page.
        assert!(c.current_url().await?.path().ends_with("/login"));
        c.find(Locator::Css("#username"))
            .await?
            .send_keys("reviewer_a")
            .await?;
        c.find(Locator::Css("#password"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        c.find(Locator::Css("#login-submit")).await?.click().await?;

        // The inbox lists the lead; open it.
        let link = c.wait().for_element(Locator::Css("a.lead-link")).await?;
        link.click().await?;
        let panel = c.wait().for_element(Locator::Id("verification")).await?;
        let text = panel.text().await?;
        assert!(text.contains("校验结果"), "{text}");
        let signature = c
            .find(Locator::Id("signature-status"))
            .await?
            .text()
            .await?;
        assert!(signature.contains("有效"), "{signature}");
        for (sha, _) in &lead.blobs {
            assert!(text.contains(&sha.to_hex()), "hash {sha} shown");
        }
        assert!(text.contains("哈希一致"));
        support::browser::screenshot(&c, "console-lead").await?;

        // Zoom: clicking a thumbnail opens the original full size. The page's script
        // is deferred: wait until the document has loaded before clicking.
        for _ in 0..100 {
            let state = c.execute("return document.readyState", vec![]).await?;
            if state == "complete" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        c.find(Locator::Css("img.zoomable")).await?.click().await?;
        let zoom = c
            .wait()
            .for_element(Locator::Css("#zoom:not([hidden])"))
            .await?;
        let src = c
            .find(Locator::Css("#zoom img"))
            .await?
            .attr("src")
            .await?
            .unwrap_or_default();
        assert!(src.contains("/blobs/"), "{src}");
        zoom.click().await?;

        // Set a review state with a comment.
        c.find(Locator::Id("review-has_issues"))
            .await?
            .click()
            .await?;
        c.find(Locator::Id("review-comment"))
            .await?
            .send_keys("第 2 张照片无法看清标签，请补充说明")
            .await?;
        c.find(Locator::Id("review-submit")).await?.click().await?;
        // Until the browser has loaded the page the form redirects to, the old page's
        // element may be found and then go stale: look it up afresh each time.
        let mut shown = String::new();
        for _ in 0..100 {
            if let Ok(e) = c.find(Locator::Id("review-state")).await {
                if let Ok(text) = e.text().await {
                    shown = text;
                    if shown == "存在问题" {
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(shown, "存在问题");
        let page = c.source().await?;
        assert!(page.contains("第 2 张照片无法看清标签"));
        c.goto(&format!("{}/", tb.url)).await?;
        support::browser::screenshot(&c, "console-leads").await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    support::browser::finish(c, result).await;

    let reviews = tb.bureau.storage().reviews(lead.id()).unwrap();
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].reviewer, "reviewer_a");
    assert_eq!(
        reviews[0].state,
        fieldlead_bureau::storage::ReviewState::HasIssues
    );
}
