//! One failed result's whole 后处理 in a real browser (headless Chromium over
//! WebDriver): entered on the board page, 附件1 issued and served, an objection
//! and 附件2 (the city), the applicant at the institute, 附件4 failed, 附件5
//! issued and served (the district), a failed re-check, the city's 公告 and the
//! second re-check, with the board showing each due date the notice sets.

mod support;

use std::time::Duration;

use fantoccini::{Client, Locator};
use support::*;

type Step = Result<(), fantoccini::error::CmdError>;

/// The browser on one console.
struct Browser<'a> {
    c: &'a Client,
    url: &'a str,
}

impl Browser<'_> {
    /// Waits until the page holds `needle` (the page a submit leads to may take
    /// a moment to load); fails with the page it is on.
    async fn wait_for(&self, needle: &str) -> Step {
        for _ in 0..200 {
            if let Ok(page) = self.c.source().await {
                if page.contains(needle) {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let page = self.c.source().await?;
        panic!("the page never showed {needle:?}:\n{page}");
    }

    async fn open(&self, path: &str) -> Step {
        self.c.goto(&format!("{}{path}", self.url)).await?;
        self.wait_for("</html>").await
    }

    async fn login(&self, user: &str) -> Step {
        self.open("/login").await?;
        self.c
            .find(Locator::Css("#username"))
            .await?
            .send_keys(user)
            .await?;
        self.c
            .find(Locator::Css("#password"))
            .await?
            .send_keys(PASSWORD)
            .await?;
        self.c
            .find(Locator::Css("#login-submit"))
            .await?
            .click()
            .await?;
        self.wait_for("退出").await
    }

    async fn logout(&self) -> Step {
        self.c
            .find(Locator::Css("form[action=\"/logout\"] button"))
            .await?
            .click()
            .await?;
        self.wait_for("id=\"username\"").await
    }

    /// Fills the named fields of the form `form` (a CSS selector) as a user
    /// would, through the page's own inputs and selects, and submits it with
    /// its own button. Dates are set as values: typing into a date input
    /// depends on the browser's locale.
    async fn submit(&self, form: &str, fields: &[(&str, &str)]) -> Step {
        for (name, value) in fields {
            let found = self
                .c
                .execute(
                    "const f = document.querySelector(arguments[0]);
                     if (!f) return 'no form';
                     const d = f.closest('details'); if (d) d.open = true;
                     const e = f.querySelector('[name=\"' + arguments[1] + '\"]');
                     if (!e) return 'no field';
                     e.value = arguments[2];
                     return e.value === arguments[2] ? 'ok' : 'refused';",
                    vec![(*form).into(), (*name).into(), (*value).into()],
                )
                .await?;
            assert_eq!(found, "ok", "{form} [{name}] = {value}");
        }
        self.c
            .find(Locator::Css(&format!("{form} button[type=\"submit\"]")))
            .await?
            .click()
            .await
    }

    /// Prepares a document on the case page, previews it and issues it.
    async fn issue(&self, document: &str, fields: &[(&str, &str)], number: &str) -> Step {
        self.submit(
            &format!("form.document-form[data-document=\"{document}\"]"),
            fields,
        )
        .await?;
        self.wait_for("id=\"issue-document\"").await?;
        assert!(self.c.source().await?.contains("class=\"page\""));
        self.c
            .find(Locator::Css("#issue-document button[type=\"submit\"]"))
            .await?
            .click()
            .await?;
        self.wait_for(number).await
    }

    /// Records a serving step, posted by the 邮寄 with its tracking number.
    async fn serve(&self, step: &str, fields: &[(&str, &str)], state: &str) -> Step {
        let mut all = fields.to_vec();
        all.extend([
            ("service_method", "post"),
            ("service_by", "李四"),
            ("service_tracking", "SF1234567890"),
        ]);
        self.submit(&format!("form[data-step=\"{step}\"]"), &all)
            .await?;
        self.wait_for(&format!("id=\"case-state\">{state}<")).await
    }

    async fn step(&self, step: &str, fields: &[(&str, &str)], state: &str) -> Step {
        self.submit(&format!("form[data-step=\"{step}\"]"), fields)
            .await?;
        self.wait_for(&format!("id=\"case-state\">{state}<")).await
    }

    /// The deadline board's table.
    async fn board(&self) -> Result<String, fantoccini::error::CmdError> {
        self.open("/cases").await?;
        self.c
            .find(Locator::Id("deadline-board"))
            .await?
            .text()
            .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failed_result_through_the_whole_postprocessing_in_a_browser() {
    let tb = TestBureau::start().await;
    let (_driver, c) = support::browser::headless_chromium().await;
    let b = Browser {
        c: &c,
        url: &tb.url,
    };

    let result = async {
        // The district enters the institute's result by hand.
        b.login("officer_a").await?;
        b.open("/cases").await?;
        b.submit(
            "form.single-result",
            &[
                ("报告编号", "CQ2026-B001"),
                ("任务", "2026年重庆市电热水壶产品质量监督抽查"),
                ("产品名称", "电热水壶"),
                ("品牌", "某某牌"),
                ("规格型号", "SH-1712 1.7L"),
                ("生产日期或批号", "20260105"),
                ("受检单位", "重庆某某电器有限公司"),
                ("受检单位地址", "重庆市渝中区民族路88号"),
                ("受检单位类型", "生产者"),
                ("抽样日期", "2026-02-10"),
                ("检验结论", "不合格"),
                ("不合格项目", "泄漏电流"),
                ("报告收到日期", "2026-03-02"),
            ],
        )
        .await?;
        b.wait_for("id=\"case-state\">待送达结果通知书<").await?;
        let case_url = c.current_url().await?.to_string();
        // 三.1: 5 working days from Mon 2 March.
        let board = b.board().await?;
        assert!(board.contains("2026年3月9日"), "{board}");
        assert!(board.contains("CQ2026-B001"));
        c.goto(&case_url).await?;

        // 附件1, issued and served on the business.
        b.issue(
            "result_notice",
            &[
                ("date", "2026-03-03"),
                ("cc", "重庆市市场监督管理局质量监督处"),
            ],
            "渝中市监〔2026〕1号",
        )
        .await?;
        b.serve("result_served", &[("on", "2026-03-04")], "异议期")
            .await?;
        // 15 days to object from the 送达 of 4 March.
        assert!(b.board().await?.contains("2026年3月19日"));

        // The city: the objection, 附件2, the applicant at the institute, 附件4.
        b.logout().await?;
        b.login("city").await?;
        c.goto(&case_url).await?;
        b.step(
            "objection_lodged",
            &[("party", "business"), ("on", "2026-03-10")],
            "异议待决定",
        )
        .await?;
        // 10 working days from 10 March for the city's decision.
        assert!(b.board().await?.contains("2026年3月24日"));
        c.goto(&case_url).await?;
        b.issue(
            "reinspection_agency",
            &[
                ("date", "2026-03-13"),
                ("agency_name", "重庆市某某检测研究院"),
                ("agency_phone", "023-12345678"),
            ],
            "渝市监〔2026〕1号",
        )
        .await?;
        b.serve(
            "reinspection_granted",
            &[("served", "2026-03-16")],
            "准予复检，待办理",
        )
        .await?;
        // 7 days from the 送达 of 附件2 to go to the institute.
        assert!(b.board().await?.contains("2026年3月23日"));
        c.goto(&case_url).await?;
        b.step("applicant_appeared", &[("on", "2026-03-18")], "复检中")
            .await?;
        b.issue(
            "reinspection_result",
            &[
                ("date", "2026-04-17"),
                ("agency_name", "重庆市某某检测研究院"),
                ("commissioned_on", "2026-03-18"),
            ],
            "渝市监〔2026〕2号",
        )
        .await?;
        b.serve(
            "reinspection_result",
            &[("verdict", "fail"), ("served", "2026-04-20")],
            "待责令改正",
        )
        .await?;

        // The district: 附件5 at once, then the re-check.
        b.logout().await?;
        b.login("officer_a").await?;
        c.goto(&case_url).await?;
        b.issue(
            "rectification_order",
            &[
                ("date", "2026-04-21"),
                (
                    "rectification",
                    "立即停止生产、销售不合格产品，查明原因并整改，召回已售产品",
                ),
            ],
            "渝中市监〔2026〕2号",
        )
        .await?;
        b.serve(
            "rectification_ordered",
            &[("ordered", "2026-04-21"), ("served", "2026-04-22")],
            "责令改正中",
        )
        .await?;
        // From the 送达 of 22 April: 60 days end on Sun 21 June, the last day of
        // the Dragon Boat holiday, so Mon 22 June; the re-check within 75 days.
        let board = b.board().await?;
        assert!(board.contains("2026年6月22日"), "{board}");
        assert!(board.contains("2026年7月6日"), "{board}");
        c.goto(&case_url).await?;
        b.step(
            "rechecked",
            &[("on", "2026-06-30"), ("passed", "no")],
            "已上报市局待公告",
        )
        .await?;

        // The city publishes; the second re-check after day 60, before day 90.
        b.logout().await?;
        b.login("city").await?;
        c.goto(&case_url).await?;
        b.step("published", &[("on", "2026-07-10")], "已公告待再次复查")
            .await?;
        let board = b.board().await?;
        assert!(board.contains("2026年9月9日 至 2026年10月7日"), "{board}");

        b.logout().await?;
        b.login("officer_a").await?;
        c.goto(&case_url).await?;
        // Too early: refused with the window, and the case stays.
        b.submit(
            "form[data-step=\"rechecked\"]",
            &[("on", "2026-09-01"), ("passed", "no")],
        )
        .await?;
        b.wait_for("2026年9月9日至2026年10月7日").await?;
        c.goto(&case_url).await?;
        support::browser::screenshot(&c, "console-case").await?;
        b.wait_for("id=\"case-state\">已公告待再次复查<").await?;
        b.step(
            "rechecked",
            &[("on", "2026-09-15"), ("passed", "no")],
            "待责令停业整顿",
        )
        .await?;
        assert!(b.board().await?.contains("2026年9月15日"));
        support::browser::screenshot(&c, "console-board").await?;
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    support::browser::finish(c, result).await;

    // Every document issued, numbered in its issuer's sequence, and every step
    // in the case's audit trail.
    let officer = tb.user("officer_a");
    let cases = tb
        .bureau
        .storage()
        .cases(fieldlead_bureau::storage::Scope::All, &Default::default())
        .unwrap();
    let case = tb.bureau.case_for(&officer, cases[0].id).unwrap();
    let numbers: Vec<&str> = case.documents.iter().map(|d| d.number.as_str()).collect();
    assert_eq!(
        numbers,
        [
            "渝中市监〔2026〕1号",
            "渝市监〔2026〕1号",
            "渝市监〔2026〕2号",
            "渝中市监〔2026〕2号"
        ]
    );
    assert_eq!(case.services.len(), 4);
    // Each 送达 names the document issued here that it served.
    let served: Vec<_> = case.services.iter().map(|v| v.issued).collect();
    let issued: Vec<_> = case.documents.iter().map(|d| Some(d.id)).collect();
    assert_eq!(served, issued);
    let history = tb
        .bureau
        .audit_for(&officer, Some(&format!("case:{}", case.id)))
        .unwrap();
    for action in [
        "result_imported",
        "document_issued",
        "result_served",
        "objection_lodged",
        "reinspection_granted",
        "applicant_appeared",
        "reinspection_result",
        "rectification_ordered",
        "rechecked",
        "published",
    ] {
        assert!(history.iter().any(|e| e.action == action), "{action}");
    }
}
