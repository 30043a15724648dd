//! The 后处理 notices (附件1 to 附件5) as a user sees them: each document's wording
//! and every filled value back out of the PDF (pdftotext), a preview that says
//! 预览 and carries no number, an issued one whose QR code names the document and
//! its data, and the refusals of what a document cannot be printed without.

mod common;

use common::*;
use fieldlead_domain::inspection::BusinessKind;
use fieldlead_domain::postprocess::{Document, RectificationAnchor, Verdict};
use fieldlead_forms::{
    notice_data_sha256, parse_notice_qr_payload, Forms, FormsConfig, NoticeAppeal, NoticeContact,
    NoticeData, NoticeSeal, RenderedForm,
};

const NUMBER: &str = "渝中市监〔2026〕12号";
const DOCUMENT_ID: &str = "5f0c9e2a-7b3d-4c18-a6e4-2d9b8f1c0a37";

fn forms() -> Forms {
    Forms::new(&FormsConfig::default()).expect("Noto CJK fonts (Debian fonts-noto-cjk) installed")
}

use fieldlead_forms::sample::notice as data;

fn issued(d: &NoticeData) -> NoticeSeal {
    NoticeSeal::Issued {
        number: NUMBER.into(),
        document_id: DOCUMENT_ID.into(),
        data_sha256: notice_data_sha256(d),
    }
}

/// Renders both ways; returns the squashed text of the issued and the preview PDF.
fn render(d: &NoticeData, name: &str) -> (String, String) {
    let f = forms();
    let issued_form = f.notice(d, &issued(d)).unwrap();
    let preview = f.notice(d, &NoticeSeal::Preview).unwrap();
    for (form, which) in [(&issued_form, "issued"), (&preview, "preview")] {
        check_shape(form);
        assert_eq!(page_count(&form.pdf), 1, "{name} {which} fits one page");
        let png = first_page_png(&form.pdf, &format!("{name}_{which}"));
        eprintln!("{name} {which}: {}", png.display());
    }
    let issued_text = squash(&pdftotext(&issued_form.pdf));
    let preview_text = squash(&pdftotext(&preview.pdf));
    assert!(issued_text.contains(NUMBER), "{issued_text}");
    assert!(!issued_text.contains("预览"), "{issued_text}");
    assert!(preview_text.contains("预览"), "{preview_text}");
    assert!(preview_text.contains("（签发时编号）"), "{preview_text}");
    assert!(!preview_text.contains(NUMBER), "{preview_text}");
    assert!(issued_text.contains("扫码核验") && issued_text.contains(DOCUMENT_ID));
    assert!(!preview_text.contains("扫码核验"));
    (issued_text, preview_text)
}

/// A4 portrait PDF, one SVG per page, nothing past the right margin.
fn check_shape(form: &RenderedForm) {
    assert!(form.pdf.starts_with(b"%PDF-"));
    let (w, h) = page_size(&form.pdf);
    assert!(
        (w - 595.28).abs() < 0.5 && (h - 841.89).abs() < 0.5,
        "{w} x {h}"
    );
    assert_eq!(form.pages_svg.len(), page_count(&form.pdf));
    assert!(form.pages_svg[0].starts_with("<svg"));
    let over = words_past_right_margin(&form.pdf, 50.0);
    assert!(over.is_empty(), "past the right margin: {over:?}");
}

fn assert_all(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(text.contains(&squash(e)), "missing {e:?} in:\n{text}");
    }
}

/// What every notice prints: issuer, addressee, date.
const EVERY: &[&str] = &[
    "重庆市渝中区市场监督管理局",
    "重庆渝中区顺达五金电器经营部：",
    "2026年3月5日",
];

#[test]
fn result_notice_附件1() {
    let d = data(Document::ResultNotice);
    let (text, preview) = render(&d, "notice_1");
    assert_all(&text, EVERY);
    assert_all(
        &text,
        &[
            "产品质量监督抽查结果通知书",
            &format!("编号：{NUMBER}"),
            "根据2026年重庆市产品质量监督抽查工作部署，对你单位销售的产品进行了抽查检验，检验结果为不合格。",
            "产品名称：多功能电热水壶",
            "商标：美厨乐",
            "规格型号：MK-1788 1.8L 220V~ 1500W",
            "生产日期或批号：20251108",
            "受检单位：重庆渝中区顺达五金电器经营部",
            "生产单位：佛山市顺德区美厨乐电器有限公司",
            "电子商务平台：山城优选商城",
            "检验报告编号：CQ2026-0001",
            "不合格项目：泄漏电流和电气强度；标志和说明",
            "请在收到本通知书15日内向我单位提出书面异议",
            "逾期未提出书面异议的，视为认可抽查结果。",
            "异议受理联系电话：023-63700123",
            "异议材料寄送地址：重庆市渝中区中山一路218号质量监督科",
            "（产品质量监督抽查专用章）",
            "抄送：重庆市市场监督管理局质量监督处",
        ],
    );
    assert!(!text.contains("生产（销售）"));
    assert_all(
        &preview,
        &["产品质量监督抽查结果通知书", "检验报告编号：CQ2026-0001"],
    );

    // A producer's notice says 生产; a passed product 合格, without 不合格项目.
    let mut d = data(Document::ResultNotice);
    d.product.business_kind = BusinessKind::Producer;
    d.product.platform = None;
    d.verdict = Verdict::Pass;
    let pdf = forms().notice(&d, &NoticeSeal::Preview).unwrap().pdf;
    let text = squash(&pdftotext(&pdf));
    assert_all(
        &text,
        &["对你单位生产的产品", "检验结果为合格。", "电子商务平台：/"],
    );
    assert!(!text.contains("不合格项目"));
}

#[test]
fn reinspection_agency_附件2() {
    let d = data(Document::ReinspectionAgency);
    let (text, _) = render(&d, "notice_2");
    assert_all(&text, EVERY);
    assert_all(
        &text,
        &[
            "产品质量监督抽查复检机构确定通知书",
            &format!("编号：{NUMBER}"),
            "在2026年重庆市产品质量监督抽查工作中，你（单位）对我局委托重庆市计量质量检测研究院对你单位销售的美厨乐品牌，MK-1788 1.8L 220V~ 1500W规格（型号）多功能电热水壶产品的检验结果（检验报告编号为CQ2026-0001）有异议，并申请复检。",
            "根据国家市场监督管理总局《产品质量监督抽查管理暂行办法》的规定，现确定国家电器产品质量检验检测中心（广东）为复检单位，按程序对该产品进行复检。",
            "请你（单位）自收到本通知书之日起7日内到国家电器产品质量检验检测中心（广东）处办理复检手续，逾期未办理复检手续的视为放弃复检。",
            "复检机构名称：国家电器产品质量检验检测中心（广东）",
            "陈立新",
            "联系电话：020-87654321",
            "联系地址：广东省广州市黄埔区科学大道288号",
            "注：一式三份，一份送复检申请人，一份送复检单位，一份由市场监督管理机关留存。",
        ],
    );
}

#[test]
fn no_reinspection_附件3() {
    let d = data(Document::NoReinspection);
    let (text, _) = render(&d, "notice_3");
    assert_all(&text, EVERY);
    assert_all(
        &text,
        &[
            "产品质量监督抽查不予复检通知书",
            "你单位对我局委托重庆市计量质量检测研究院对你（单位）销售的美厨乐品牌",
            "（检验报告编号为CQ2026-0001）有异议，并申请复检。",
            "经调查，你单位提出复检申请时已超过收到检验结果之日起十五日的期限，不符合复检条件。",
            "决定不予复检，初检结果将作为最终结果。",
            "可于收到本通知书之日起六十日内向重庆市渝中区人民政府或者重庆市市场监督管理局申请行政复议；也可以在六个月内依法向重庆市渝中区人民法院提起行政诉讼。",
        ],
    );
}

#[test]
fn reinspection_result_附件4() {
    let d = data(Document::ReinspectionResult);
    let (text, _) = render(&d, "notice_4");
    assert_all(&text, EVERY);
    assert_all(
        &text,
        &[
            "产品质量监督抽查复检结果通知书",
            "我局于2026年2月16日委托国家电器产品质量检验检测中心（广东）对你（单位）销售的美厨乐品牌，MK-1788 1.8L 220V~ 1500W规格型号多功能电热水壶产品（原检验报告编号为CQ2026-0001）质量进行了复检，复检结论为不合格。现将检验结果通知你单位。",
            "复检结论为最终结论。",
            "附：产品检验（测）报告",
            "联系地址：重庆市渝中区中山一路218号质量监督科",
            "邮政编码：400013",
            "刘晓红",
            "联系电话：023-63700123",
        ],
    );
}

#[test]
fn rectification_order_附件5_counts_from_service_or_from_the_order() {
    let d = data(Document::RectificationOrder);
    let (text, _) = render(&d, "notice_5");
    assert_all(&text, EVERY);
    let law = "依据《中华人民共和国产品质量法》第十七条、《产品质量监督抽查管理暂行办法》第四十六条的规定，现责令你（单位）";
    assert_all(
        &text,
        &[
            "责令改正通知书",
            "经查，你（单位）销售美厨乐品牌，MK-1788 1.8L 220V~ 1500W规格型号的多功能电热水壶不合格产品的行为，违反了《中华人民共和国产品质量法》的有关规定。",
            &format!("{law}在本通知送达之日起六十日内改正。我局将于本通知送达之日起七十五日内对你（单位）组织复查。"),
            "逾期不改的，本局依据《中华人民共和国产品质量法》第十七条、《产品质量监督抽查管理暂行办法》第四十七条的规定，上报市局依法将你（单位）相关情况向社会公告。",
            "（改正内容及要求：立即停止销售该批次电热水壶，对库存产品下架封存，查明进货来源并向我局书面报告整改情况）",
            "如对本责令改正决定不服，可以自收到本通知书之日起六十日内向重庆市渝中区人民政府或者重庆市市场监督管理局申请行政复议；也可以在六个月内依法向重庆市渝中区人民法院提起行政诉讼。",
            "联系人：刘晓红",
            "联系电话：023-63700123",
            "（印章）",
            "本文书一式",
            "份送达，一份归档，",
        ],
    );
    assert!(!text.contains("下达之日起"));

    let mut d = data(Document::RectificationOrder);
    d.anchor = RectificationAnchor::Ordered;
    d.issuer = "重庆市市场监督管理局".into();
    let pdf = forms().notice(&d, &issued(&d)).unwrap().pdf;
    let text = squash(&pdftotext(&pdf));
    assert_all(
        &text,
        &[
            &format!("{law}自本通知下达之日起六十日内改正。我局将于本通知下达之日起七十五日内对你（单位）组织复查。"),
            // The city publishes itself.
            "第四十七条的规定，依法将你（单位）相关情况向社会公告。",
        ],
    );
    assert!(!text.contains("送达之日起六十日内改正"));
}

#[test]
fn missing_optional_values_print_as_blank_lines_to_fill_by_hand() {
    let mut d = data(Document::ReinspectionAgency);
    d.product.brand = None;
    d.product.spec_model = None;
    d.institute = None;
    d.agency = Some(NoticeContact {
        name: Some("国家电器产品质量检验检测中心（广东）".into()),
        ..Default::default()
    });
    d.appeal = NoticeAppeal::default();
    let form = forms().notice(&d, &NoticeSeal::Preview).unwrap();
    check_shape(&form);
    first_page_png(&form.pdf, "notice_2_blanks");
    let text = squash(&pdftotext(&form.pdf));
    assert_all(
        &text,
        &[
            "对我局委托（机构）对你单位销售的品牌，规格（型号）多功能电热水壶产品",
            "联系电话：联系地址：",
        ],
    );
    let mut d = data(Document::NoReinspection);
    d.appeal = NoticeAppeal::default();
    let text = squash(&pdftotext(
        &forms().notice(&d, &NoticeSeal::Preview).unwrap().pdf,
    ));
    assert_all(
        &text,
        &[
            "六十日内向人民政府或者申请行政复议",
            "依法向法院提起行政诉讼",
        ],
    );
}

#[test]
fn values_print_literally_never_as_typst_markup() {
    let mut d = data(Document::RectificationOrder);
    d.product.product_name = "#emph[x] $a^2$ *粗* _斜_ @ref <lbl> \\ // 注释".into();
    d.rectification = Some("#set text(red)\n#panic(\"boom\") `code` = 标题".into());
    d.addressee = "]) #{ 1 + 1 }".into();
    let pdf = forms().notice(&d, &issued(&d)).unwrap().pdf;
    let text = squash(&pdftotext(&pdf));
    assert_all(
        &text,
        &[
            "#emph[x]$a^2$*粗*_斜_@ref<lbl>\\//注释",
            "#settext(red)#panic(\"boom\")`code`=标题",
            "])#{1+1}：",
        ],
    );
}

#[test]
fn what_a_document_cannot_be_printed_without_is_named() {
    let f = forms();
    let field = |d: &NoticeData| match f.notice(d, &NoticeSeal::Preview).unwrap_err() {
        e @ fieldlead_forms::FormError::Notice { .. } => {
            assert_eq!(e.code(), "notice_field");
            let msg = e.to_string();
            let fieldlead_forms::FormError::Notice { field, .. } = e else {
                unreachable!()
            };
            (field, msg)
        }
        other => panic!("{other}"),
    };
    let mut d = data(Document::ReinspectionAgency);
    d.agency = None;
    let (name, msg) = field(&d);
    assert_eq!(name, "agency.name");
    assert!(
        msg.contains("复检机构名称") && msg.contains("附件2"),
        "{msg}"
    );

    let mut d = data(Document::NoReinspection);
    d.refusal_grounds = Some("  ".into());
    assert_eq!(field(&d).0, "refusal_grounds");

    let mut d = data(Document::ReinspectionResult);
    d.commissioned_on = None;
    assert_eq!(field(&d).0, "commissioned_on");

    let mut d = data(Document::RectificationOrder);
    d.rectification = None;
    assert_eq!(field(&d).0, "rectification");

    let mut d = data(Document::ResultNotice);
    d.product.product_name = String::new();
    assert_eq!(field(&d).0, "product.product_name");

    // Issued from data that changed afterwards: refused, the QR would lie.
    let d = data(Document::ResultNotice);
    let seal = issued(&d);
    let mut changed = d.clone();
    changed.product.report_no = "CQ2026-0002".into();
    let e = f.notice(&changed, &seal).unwrap_err();
    assert_eq!(e.code(), "notice_field");
}

#[test]
fn the_issued_qr_code_names_the_document_and_its_data() {
    let d = data(Document::ResultNotice);
    let form = forms().notice(&d, &issued(&d)).unwrap();
    let text = first_page_qr_text(&form.pdf, "notice_1_qr");
    assert_eq!(
        parse_notice_qr_payload(&text),
        Some((DOCUMENT_ID.to_string(), notice_data_sha256(&d)))
    );

    // A preview has none.
    let preview = forms().notice(&d, &NoticeSeal::Preview).unwrap();
    assert!(first_page_qr_texts(&preview.pdf, "notice_1_preview_qr").is_empty());
}

#[test]
fn a_bureau_can_adapt_a_notice_template() {
    let dir = tempfile::tempdir().unwrap();
    let written = fieldlead_forms::export_default_templates(dir.path()).unwrap();
    for name in ["notice_common.typ", "notice_1.typ", "notice_5.typ"] {
        assert!(written.contains(&name), "{name} exported");
    }
    let path = dir.path().join("notice_1.typ");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("异议受理联系电话", "异议受理电话（工作日）"),
    )
    .unwrap();
    let f = Forms::new(&FormsConfig {
        template_dir: Some(dir.path().into()),
        ..Default::default()
    })
    .unwrap();
    let d = data(Document::ResultNotice);
    let text = squash(&pdftotext(&f.notice(&d, &NoticeSeal::Preview).unwrap().pdf));
    assert!(
        text.contains("异议受理电话（工作日）：023-63700123"),
        "{text}"
    );
}

/// The text of one page, as pdftotext extracts it.
fn page_text(pdf: &[u8], page: usize) -> String {
    let mut f = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::io::Write::write_all(&mut f, pdf).unwrap();
    let n = page.to_string();
    let out = std::process::Command::new("pdftotext")
        .args(["-raw", "-enc", "UTF-8", "-f", &n, "-l", &n])
        .arg(f.path())
        .arg("-")
        .output()
        .expect("pdftotext (Debian poppler-utils)");
    assert!(out.status.success());
    squash(&String::from_utf8(out.stdout).unwrap())
}

#[test]
fn a_long_preview_says_预览_on_every_page() {
    let mut d = data(Document::RectificationOrder);
    d.rectification = Some(
        "一、立即停止销售该批次电热水壶并下架封存；二、查明进货来源，向供货商索取合格证明；\n"
            .repeat(40)
            .chars()
            .take(2000)
            .collect(),
    );
    let form = forms().notice(&d, &NoticeSeal::Preview).unwrap();
    check_shape(&form);
    let pages = page_count(&form.pdf);
    assert!(pages >= 2, "{pages} pages");
    for page in 1..=pages {
        assert!(page_text(&form.pdf, page).contains("预览"), "page {page}");
    }
    let last = page_text(&form.pdf, pages);
    assert!(last.contains("2026年3月5日"), "{last}");
}
