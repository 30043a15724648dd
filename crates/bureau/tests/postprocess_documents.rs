//! 后处理 documents and section 四 through the bureau's service: 附件1 to 附件5
//! previewed, issued (numbered per issuer and year, printed with their QR code,
//! the PDF kept by hash, never changed) and corrected by a superseding document;
//! the report file attached; failed products passed to enforcement on a 附件6 and
//! answered into 附件7 and 附件8; cases assigned and counted overdue.

mod support;

use chrono::{Datelike, NaiveDate};
use fieldlead_bureau::model::{ReportKind, User};
use fieldlead_bureau::service::{DocumentForm, EnforcementList};
use fieldlead_bureau::BureauError;
use fieldlead_domain::postprocess::{CaseStep, EnforcementAnswer, Recipient, Verdict};
use fieldlead_domain::time::china_date;
use fieldlead_domain::{CaseId, Sha256};
use fieldlead_forms::LeadList;
use support::{posted, TestBureau};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn form(document: &str, recipient: &str) -> DocumentForm {
    DocumentForm {
        document: document.into(),
        recipient: recipient.into(),
        ..DocumentForm::default()
    }
}

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils, installed by scripts/setup)");
    // Without whitespace: pdftotext spaces CJK from digits ("〔2026〕1 号").
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect()
}

fn import_failed(tb: &TestBureau, officer: &User, no: &str) -> CaseId {
    let result = fieldlead_domain::sample::inspection_result(no, Verdict::Fail, d("2026-10-09"));
    tb.bureau
        .import_results(officer, None, vec![result])
        .unwrap()[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_previewed_issued_numbered_sealed_and_corrected_never_edited() {
    let tb = TestBureau::start().await;
    let (officer, city) = (tb.user("officer_a"), tb.user("city"));
    let b = &tb.bureau;
    let id = import_failed(&tb, &officer, "CQ2026-0101");
    let year = china_date(chrono::Utc::now()).year();

    // The district issues the business's 附件1, the city the producer's.
    assert!(matches!(
        b.issue_document(&city, id, &form("result_notice", "business")),
        Err(BureauError::Forbidden)
    ));
    assert!(matches!(
        b.issue_document(&officer, id, &form("result_notice", "producer")),
        Err(BureauError::Forbidden)
    ));
    // 附件5 is not due before the result is final.
    let e = b
        .issue_document(&officer, id, &form("rectification_order", "business"))
        .unwrap_err();
    assert!(matches!(e, BureauError::State(_)), "{e:?}");

    let (data, preview) = b
        .preview_document(&officer, id, &form("result_notice", "business"))
        .unwrap();
    assert_eq!(data.issuer, "重庆市渝中区市场监督管理局");
    assert!(!preview.pages_svg.is_empty());
    let text = pdftotext(&preview.pdf);
    // The 预览 watermark is drawn rotated across the page, so it reads back as
    // scattered characters; the number's place says it is a preview.
    assert!(text.contains("（签发时编号）"), "{text}");
    assert!(!text.contains("市监〔"), "a preview has no number: {text}");

    let first = b
        .issue_document(&officer, id, &form("result_notice", "business"))
        .unwrap();
    assert_eq!(first.number, format!("渝中市监〔{year}〕1号"));
    let (doc, pdf) = b.document_pdf(&officer, first.id).unwrap();
    assert_eq!(Sha256::digest(&pdf), doc.pdf_sha256);
    let text = pdftotext(&pdf);
    assert!(text.contains(&first.number), "{text}");
    assert!(text.contains("CQ2026-0101"));
    assert!(!text.contains("签发时编号"));
    // Issued once: a second one is a correction, not a copy.
    let e = b
        .issue_document(&officer, id, &form("result_notice", "business"))
        .unwrap_err();
    assert!(matches!(e, BureauError::State(_)), "{e:?}");
    // Another district never sees it.
    assert!(b.document_pdf(&tb.user("officer_b"), first.id).is_err());

    // The city's producer 附件1 is numbered in the city's own sequence.
    let producer = b
        .issue_document(&city, id, &form("result_notice", "producer"))
        .unwrap();
    assert_eq!(producer.number, format!("渝市监〔{year}〕1号"));

    // A correction needs its reason, supersedes the old one once, and takes the
    // next number.
    let mut fix = DocumentForm {
        supersedes: first.id.to_string(),
        addressee: "重庆某某商贸有限公司（更正名称）".into(),
        ..form("result_notice", "business")
    };
    assert!(b.issue_document(&officer, id, &fix).is_err(), "no reason");
    fix.correction = "受送达人名称有误".into();
    let second = b.issue_document(&officer, id, &fix).unwrap();
    assert_eq!(second.number, format!("渝中市监〔{year}〕2号"));
    assert_eq!(second.supersedes, Some(first.id));
    let case = b.case_for(&officer, id).unwrap();
    let old = case.documents.iter().find(|x| x.id == first.id).unwrap();
    assert_eq!(old.superseded_by, Some(second.id));
    assert!(
        b.issue_document(&officer, id, &fix).is_err(),
        "corrected once"
    );
    let history = b.audit_for(&officer, Some(&format!("case:{id}"))).unwrap();
    for action in ["document_issued", "document_corrected"] {
        assert!(history.iter().any(|e| e.action == action), "{action}");
    }

    // An issued document never changes, in the database itself.
    let db = rusqlite::Connection::open(tb.dir.path().join("bureau.sqlite3")).unwrap();
    let e = db
        .execute("UPDATE pp_documents SET number = 'x'", [])
        .unwrap_err();
    assert!(e.to_string().contains("never changes"), "{e}");
    assert!(db.execute("DELETE FROM pp_documents", []).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_products_go_to_enforcement_on_a_list_and_come_back_as_lists_7_and_8() {
    let tb = TestBureau::start().await;
    let (officer, enforcer) = (tb.user("officer_a"), tb.user("enforcement_a"));
    let b = &tb.bureau;
    let filed = import_failed(&tb, &officer, "CQ2026-0201");
    let declined = import_failed(&tb, &officer, "CQ2026-0202");
    assert!(
        b.leads_to_transfer(&officer).unwrap().is_empty(),
        "not served yet"
    );
    for id in [filed, declined] {
        b.apply_case_step(
            &officer,
            id,
            CaseStep::ServeResult {
                to: Recipient::Business,
                on: d("2026-10-13"),
            },
            posted(),
        )
        .unwrap();
    }
    let ready: Vec<CaseId> = b
        .leads_to_transfer(&officer)
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ready.len(), 2);
    assert!(matches!(
        b.transfer_to_enforcement(&enforcer, &ready, d("2026-10-14")),
        Err(BureauError::Forbidden)
    ));
    let transfer = b
        .transfer_to_enforcement(&officer, &ready, d("2026-10-14"))
        .unwrap();
    assert!(b.leads_to_transfer(&officer).unwrap().is_empty());
    assert!(
        b.transfer_to_enforcement(&officer, &ready, d("2026-10-14"))
            .is_err(),
        "a lead goes on one list"
    );
    let LeadList::Transfer { rows, .. } = b.transfer_list(&officer, transfer.id).unwrap() else {
        panic!()
    };
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .any(|r| r.report_no.as_deref() == Some("CQ2026-0201")));

    // Only the enforcement side answers.
    let answer = EnforcementAnswer::Filed {
        file_number: Some("渝中市监立〔2026〕88号".into()),
        fine: Some(fieldlead_domain::money::Fen::parse_wan("1.5").unwrap()),
        confiscation: None,
        remark: None,
    };
    assert!(matches!(
        b.answer_lead(&officer, filed, answer.clone()),
        Err(BureauError::Forbidden)
    ));
    b.answer_lead(&enforcer, filed, answer).unwrap();
    b.answer_lead(
        &enforcer,
        declined,
        EnforcementAnswer::Declined {
            grounds: "经查，当事人已全部召回并销毁".into(),
            reason: "违法行为轻微并及时改正".into(),
        },
    )
    .unwrap();

    let LeadList::CaseResults { rows, .. } = b
        .enforcement_list(&officer, EnforcementList::CaseResults, None)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(rows.len(), 2);
    let row = rows
        .iter()
        .find(|r| r.report_no.as_deref() == Some("CQ2026-0201"))
        .unwrap();
    assert_eq!(row.fine_fen.unwrap().wan(), "1.5");
    let LeadList::Declined { rows, .. } = b
        .enforcement_list(&officer, EnforcementList::Declined, None)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].report_no.as_deref(), Some("CQ2026-0202"));
    assert_eq!(rows[0].transferred_on, Some(d("2026-10-14")));
    assert_eq!(
        rows[0].decline_grounds.as_deref(),
        Some("经查，当事人已全部召回并销毁")
    );
    assert_eq!(
        rows[0].decline_reason.as_deref(),
        Some("违法行为轻微并及时改正")
    );
    // The other district sees none of it.
    assert!(b
        .enforcement_leads(&tb.user("officer_b"), &Default::default())
        .unwrap()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_pdf_is_kept_by_hash_and_a_case_is_assigned_and_counted_overdue() {
    let tb = TestBureau::start().await;
    let officer = tb.user("officer_a");
    let b = &tb.bureau;
    assert_eq!(b.overdue_count(&officer), Some(0));
    let id = import_failed(&tb, &officer, "CQ2026-0301");
    // Imported long ago: 附件1 is overdue for the business and the producer.
    assert_eq!(b.overdue_count(&officer), Some(2));
    assert_eq!(b.overdue_count(&tb.user("officer_b")), Some(0));
    assert_eq!(b.overdue_count(&tb.user("reviewer_a")), None);

    let e = b
        .attach_report(&officer, id, ReportKind::First, "r.pdf", b"not a pdf")
        .unwrap_err();
    assert!(
        matches!(&e, BureauError::Field(p) if p.field == "report_file"),
        "{e:?}"
    );
    let pdf = b"%PDF-1.4\n% the institute's report\n%%EOF\n";
    let r = b
        .attach_report(
            &officer,
            id,
            ReportKind::First,
            "C:\\报告\\CQ2026-0301.pdf",
            pdf,
        )
        .unwrap();
    assert_eq!(r.sha256, Sha256::digest(pdf));
    assert_eq!(r.file_name, "CQ2026-0301.pdf");
    assert!(b
        .attach_report(&officer, id, ReportKind::First, "again.pdf", pdf)
        .is_err());
    let (_, bytes) = b.case_report(&officer, id, &r.sha256).unwrap();
    assert_eq!(bytes, pdf);
    assert!(b.case_report(&tb.user("officer_b"), id, &r.sha256).is_err());

    assert!(b.assign_case(&officer, id, Some("officer_b")).is_err());
    b.assign_case(&officer, id, Some("officer_a")).unwrap();
    assert_eq!(
        b.case_for(&officer, id).unwrap().assignee.as_deref(),
        Some("officer_a")
    );
    // The board counts by district and officer; an officer's own view, the
    // city's view of one district.
    let board = b.deadline_board(&officer).unwrap();
    assert_eq!(board.groups.len(), 1);
    assert_eq!(board.groups[0].assignee.as_deref(), Some("officer_a"));
    assert_eq!(board.groups[0].overdue, 2);
    let total = |assignee: Option<&str>, district: Option<&str>, who: &User| {
        b.deadline_board_of(who, assignee, district).unwrap().total
    };
    assert_eq!(total(Some("officer_a"), None, &officer), 2);
    assert_eq!(total(Some("officer_b"), None, &officer), 0);
    let city = tb.user("city");
    assert_eq!(total(None, Some("yuzhong"), &city), 2);
    assert_eq!(total(None, Some("jiangbei"), &city), 0);
    // An officer cannot look into another district by naming it.
    assert_eq!(total(None, Some("jiangbei"), &officer), 2);
    assert!(b.deadline_board_of(&city, None, Some("nowhere")).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bureau_prints_with_its_own_edited_template_from_the_data_folder() {
    let tb = TestBureau::start().await;
    let officer = tb.user("officer_a");
    let id = import_failed(&tb, &officer, "CQ2026-0401");
    let dir = tb.dir.path().join("templates");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("notice_1.typ"),
        "#let data = json(\"/data.json\")\n#set text(font: (data.fonts.body, data.fonts.title))\n本局自定格式：#data.addressee\n",
    )
    .unwrap();
    let doc = tb
        .bureau
        .issue_document(&officer, id, &form("result_notice", "business"))
        .unwrap();
    let (_, pdf) = tb.bureau.document_pdf(&officer, doc.id).unwrap();
    let text = pdftotext(&pdf);
    assert!(text.contains("本局自定格式：重庆某某五金经营部"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_missing_what_it_needs_is_refused_with_the_field_named_and_nothing_kept() {
    let tb = TestBureau::start().await;
    let (officer, city) = (tb.user("officer_a"), tb.user("city"));
    let b = &tb.bureau;
    let id = import_failed(&tb, &officer, "CQ2026-0501");
    for (who, to) in [
        (&officer, Recipient::Business),
        (&city, Recipient::Producer),
    ] {
        b.apply_case_step(
            who,
            id,
            CaseStep::ServeResult {
                to,
                on: d("2026-10-13"),
            },
            posted(),
        )
        .unwrap();
    }
    b.apply_case_step(
        &city,
        id,
        CaseStep::LodgeObjection {
            by: Recipient::Business,
            received: d("2026-10-15"),
        },
        None,
    )
    .unwrap();
    // 附件2 names the re-inspection agency: without it, 422 and the field.
    let e = b
        .issue_document(&city, id, &form("reinspection_agency", "business"))
        .unwrap_err();
    assert_eq!(e.status(), 422, "{e}");
    assert!(!e.is_internal());
    match &e {
        BureauError::Form(fieldlead_forms::FormError::Notice { field, .. }) => {
            assert_eq!(*field, "agency.name")
        }
        other => panic!("{other:?}"),
    }
    assert!(b.case_for(&city, id).unwrap().documents.is_empty());
    let ok = DocumentForm {
        agency_name: "国家电器产品质量检验检测中心".into(),
        ..form("reinspection_agency", "business")
    };
    let doc = b.issue_document(&city, id, &ok).unwrap();
    assert!(doc.number.starts_with("渝市监〔"));
}
