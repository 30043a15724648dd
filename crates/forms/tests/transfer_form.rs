//! The 产品违法线索移交表 as a user sees it: every value on paper (pdftotext), the
//! ground checkboxes, placeholders for missing pictures, nothing over the margin,
//! and the errors a bureau meets (no Chinese font, a broken template).

mod common;

use common::*;
use fieldlead_domain::{Outcome, Party, SignoffKind};
use fieldlead_forms::{
    export_default_templates, FormError, FormOptions, Forms, FormsConfig, NoBlobs, TransferLead,
};

fn forms() -> Forms {
    Forms::new(&FormsConfig::default()).expect("Noto CJK fonts (Debian fonts-noto-cjk) installed")
}

fn options() -> FormOptions {
    FormOptions {
        form_number: Some("渝中移〔2026〕0007号".into()),
        receiving_unit: Some("重庆市渝中区市场监督管理局".into()),
    }
}

/// A4 portrait is 595.3 x 841.9 pt; the right margin is 2.0 cm (56.7 pt).
const RIGHT_MARGIN_PT: f64 = 56.0;

#[test]
fn every_field_value_is_printed_as_real_text() {
    let lead = lead(&LeadSpec {
        photos: 4,
        ..Default::default()
    });
    let pdf = forms()
        .transfer_form_pdf(&lead, &blobs_for(&lead), &options())
        .unwrap();
    let png = first_page_png(&pdf, "transfer_form_page1");
    eprintln!("first page: {}", png.display());
    assert!(pdf.starts_with(b"%PDF-"));
    let (w, h) = page_size(&pdf);
    assert!(
        (w - 595.28).abs() < 0.5 && (h - 841.89).abs() < 0.5,
        "A4 portrait, got {w} x {h}"
    );

    let text = pdftotext(&pdf);
    let flat = squash(&text);
    let m = &lead.manifest;
    let r = &m.record;
    let Outcome::Terminated { situation, .. } = &r.outcome else {
        unreachable!()
    };
    let mut expected: Vec<String> = vec![
        "产品违法线索移交表".into(),
        "渝中移〔2026〕0007号".into(),
        "重庆市渝中区市场监督管理局".into(),
        r.sending_unit.clone(),
        r.samplers[0].name.clone(),
        r.samplers[0].credential_no.clone(),
        r.samplers[1].name.clone(),
        r.samplers[1].credential_no.clone(),
        "2026年3月5日14:30至15:10".into(),
        r.place.address.clone(),
        "北纬29.557612°，东经106.577046°".into(),
        "2026年度".into(),
        r.task.name.clone(),
        r.task.number.clone(),
        "任务来源市局下达".into(),
        "任务文号渝市监发〔2026〕45号".into(),
        "抽样单编号CQJD-2026-017-0031".into(),
        r.task.product_category.clone(),
        r.business.name.clone(),
        r.business.uscc.as_str().into(),
        r.business.address.clone(),
        r.business.person_in_charge.clone(),
        r.business.phone.clone(),
        "生产者".into(),
        "销售者".into(),
        "电子商务平台内经营者".into(),
        r.product.name.clone(),
        r.product.brand.clone().unwrap(),
        r.product.spec_model.clone().unwrap(),
        r.product.batch_or_date.clone().unwrap(),
        r.product
            .production_licence
            .as_ref()
            .unwrap()
            .as_str()
            .into(),
        r.product.ccc_certificate.as_ref().unwrap().as_str().into(),
        r.nominal_producer.name.clone().unwrap(),
        "标称生产厂家地址无（产品及标签未标注）".into(),
        "无厂名".into(),
        "无厂址".into(),
        "无质量检验合格证明".into(),
        "涉嫌无工业产品生产许可证".into(),
        "涉嫌未经强制性产品认证（CCC）".into(),
        "其他无需检验即可判定违法的情形".into(),
        "铭牌标注功率与实际严重不符".into(),
        situation.clone(),
        "拒签".into(),
        "抽样人员一签名".into(),
        "抽样人员二签名".into(),
        "被抽样单位人员签名".into(),
        "见证人：赵志强（解放碑商圈管理办公室）".into(),
        "王建国".into(),
        "接收人".into(),
        "处理结果反馈".into(),
        m.lead_id.to_string(),
        lead.manifest_hash.to_hex(),
        "2026年3月5日14:31".into(),
        "HUAWEIMatePad11".into(),
    ];
    for e in &m.evidence {
        expected.push(e.caption.clone());
        expected.push(e.sha256.to_hex());
    }
    let pages = page_count(&pdf);
    expected.push(format!("第1页共{pages}页"));
    expected.push(format!("第{pages}页共{pages}页"));
    let missing: Vec<_> = expected
        .iter()
        .filter(|v| !flat.contains(&squash(v)))
        .collect();
    assert!(
        missing.is_empty(),
        "not found in the PDF text: {missing:?}\n---\n{text}"
    );
}

#[test]
fn the_chosen_grounds_and_role_are_ticked_and_no_others() {
    let lead = lead(&LeadSpec::default());
    let pdf = forms()
        .transfer_form_pdf(&lead, &blobs_for(&lead), &options())
        .unwrap();
    let flat = squash(&pdftotext(&pdf));
    // The tick is drawn inside the box before its label.
    for ticked in [
        "√无厂址",
        "√无质量检验合格证明",
        "√其他无需检验即可判定违法的情形",
        "√销售者",
    ] {
        assert!(flat.contains(ticked), "{ticked} not ticked");
    }
    for unticked in [
        "√无厂名",
        "√涉嫌无工业产品生产许可证",
        "√涉嫌未经强制性产品认证",
        "√生产者",
        "√电子商务平台内经营者",
    ] {
        assert!(!flat.contains(unticked), "{unticked} ticked but not chosen");
    }
    assert_eq!(flat.matches('√').count(), 4);
}

#[test]
fn a_shop_on_a_platform_is_ticked_with_its_platform_named() {
    let lead = lead(&LeadSpec {
        on_platform: true,
        ..Default::default()
    });
    let pdf = forms()
        .transfer_form_pdf(&lead, &blobs_for(&lead), &options())
        .unwrap();
    let flat = squash(&pdftotext(&pdf));
    for expected in ["√电子商务平台内经营者", "电子商务平台某某优选商城"] {
        assert!(flat.contains(expected), "{expected} not in {flat}");
    }
    assert!(!flat.contains("√销售者"));
}

#[test]
fn missing_or_broken_pictures_print_placeholders_not_errors() {
    let lead = lead(&LeadSpec {
        photos: 3,
        business_refuses: false,
        ..Default::default()
    });
    let mut blobs = blobs_for(&lead);
    let photos: Vec<_> = lead.manifest.evidence.iter().map(|e| e.sha256).collect();
    blobs.thumbnails.remove(&photos[0]);
    blobs
        .thumbnails
        .insert(photos[1], b"\xFF\xD8\xFF truncated jpeg".to_vec());
    let SignoffKind::Signed { image_sha256, .. } = &lead.manifest.signoffs[2].signoff else {
        unreachable!()
    };
    blobs.blobs.remove(image_sha256);
    let pdf = forms()
        .transfer_form_pdf(&lead, &blobs, &options())
        .unwrap();
    let text = pdftotext(&pdf);
    assert_eq!(text.matches("无预览").count(), 2, "{text}");
    assert_eq!(text.matches("签名图像缺失").count(), 1, "{text}");
    assert!(!text.contains("拒签"));

    // From the manifest alone, with no blobs at all, the form still prints.
    let pdf = forms()
        .transfer_form_pdf(&lead, &NoBlobs, &FormOptions::default())
        .unwrap();
    let text = pdftotext(&pdf);
    assert_eq!(text.matches("无预览").count(), 3);
    assert_eq!(text.matches("签名图像缺失").count(), 3);
}

#[test]
fn absent_optional_fields_print_as_not_applicable() {
    let lead = lead(&LeadSpec {
        optional_absent: true,
        ..Default::default()
    });
    let pdf = forms()
        .transfer_form_pdf(&lead, &blobs_for(&lead), &FormOptions::default())
        .unwrap();
    let flat = squash(&pdftotext(&pdf));
    for v in [
        "商标/",
        "规格型号/",
        "生产日期或批号/",
        "生产许可证编号/",
        "CCC证书编号/",
        "任务文号/",
        "抽样单编号/",
        "电子商务平台/",
        "标称生产厂家名称无（产品及标签未标注）",
        "2026年3月5日14:30",
    ] {
        assert!(flat.contains(v), "{v} not in {flat}");
    }
    assert!(!flat.contains("北纬29.557612"));
    let past = words_past_right_margin(&pdf, RIGHT_MARGIN_PT);
    assert!(past.is_empty(), "{past:?}");
}

#[test]
fn fifty_photos_and_200_character_names_stay_inside_the_page() {
    let small = lead(&LeadSpec {
        photos: 2,
        ..Default::default()
    });
    let small_pdf = forms()
        .transfer_form_pdf(&small, &blobs_for(&small), &options())
        .unwrap();

    let big = lead(&LeadSpec {
        photos: 50,
        long_names: Some(200),
        ..Default::default()
    });
    let mut big_pdf_options = options();
    big_pdf_options.form_number = Some("X".repeat(80));
    let pdf = forms()
        .transfer_form_pdf(&big, &blobs_for(&big), &big_pdf_options)
        .unwrap();
    first_page_png(&pdf, "transfer_form_50_photos_page1");

    let (small_pages, big_pages) = (page_count(&small_pdf), page_count(&pdf));
    assert!(
        big_pages >= small_pages + 4,
        "{small_pages} -> {big_pages} pages"
    );
    let flat = squash(&pdftotext(&pdf));
    let last = big.manifest.evidence.last().unwrap();
    assert!(
        flat.contains(&last.sha256.to_hex()),
        "last photo's hash missing"
    );
    assert!(flat.contains(&squash(&last.caption)));
    assert!(flat.contains(&big.manifest.record.business.name));
    assert!(flat.contains(&big.manifest.record.product.name));
    assert!(flat.contains(&format!("第{big_pages}页共{big_pages}页")));
    let over = words_past_right_margin(&pdf, RIGHT_MARGIN_PT);
    assert!(over.is_empty(), "text over the right margin: {over:?}");
}

#[test]
fn without_a_chinese_font_rendering_refuses_with_no_cjk_font() {
    let dir = tempfile::tempdir().unwrap();
    // A Latin-only font is no help: it must still refuse, not print tofu.
    let dejavu = std::path::Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    if dejavu.exists() {
        std::fs::copy(dejavu, dir.path().join("DejaVuSans.ttf")).unwrap();
    }
    let config = FormsConfig {
        template_dir: None,
        font_dirs: vec![dir.path().to_path_buf()],
        system_fonts: false,
    };
    let err = Forms::new(&config).unwrap_err();
    assert_eq!(err.code(), "no_cjk_font");
    assert!(
        matches!(&err, FormError::NoCjkFont { searched } if searched == &vec![dir.path().to_path_buf()])
    );
    assert!(err.to_string().contains("fonts-noto-cjk"), "{err}");
}

#[test]
fn a_bureau_template_folder_changes_the_form_without_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let written = export_default_templates(dir.path()).unwrap();
    assert!(written.contains(&"transfer_form.typ"));
    let path = dir.path().join("transfer_form.typ");
    let edited = std::fs::read_to_string(&path).unwrap().replace(
        "#doc-title(\"产品违法线索移交表\")",
        "#doc-title(\"产品违法线索移交表（渝中区试行）\")",
    );
    std::fs::write(&path, edited).unwrap();
    // Edits are kept: exporting again never overwrites them.
    assert!(export_default_templates(dir.path()).unwrap().is_empty());

    let lead = lead(&LeadSpec::default());
    let config = FormsConfig {
        template_dir: Some(dir.path().into()),
        ..Default::default()
    };
    let bureau = Forms::new(&config).unwrap();
    let text = pdftotext(
        &bureau
            .transfer_form_pdf(&lead, &NoBlobs, &options())
            .unwrap(),
    );
    assert!(text.contains("渝中区试行"), "{text}");
    let default = pdftotext(
        &forms()
            .transfer_form_pdf(&lead, &NoBlobs, &options())
            .unwrap(),
    );
    assert!(!default.contains("渝中区试行"));

    // A folder holding only one file overrides just that file; the rest default.
    let partial = tempfile::tempdir().unwrap();
    std::fs::write(
        partial.path().join("common.typ"),
        include_str!("../templates/common.typ").replace(
            "第 #counter(page).display() 页",
            "页码 #counter(page).display() ／",
        ),
    )
    .unwrap();
    let config = FormsConfig {
        template_dir: Some(partial.path().into()),
        ..Default::default()
    };
    let text = pdftotext(
        &Forms::new(&config)
            .unwrap()
            .transfer_form_pdf(&lead, &NoBlobs, &options())
            .unwrap(),
    );
    assert!(text.contains("页码 1"), "{text}");
}

#[test]
fn a_broken_template_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("transfer_form.typ"),
        "#import \"common.typ\": *\n\n#data.no_such_field\n",
    )
    .unwrap();
    let config = FormsConfig {
        template_dir: Some(dir.path().into()),
        ..Default::default()
    };
    let lead = lead(&LeadSpec::default());
    let err = Forms::new(&config)
        .unwrap()
        .transfer_form_pdf(&lead, &NoBlobs, &options())
        .unwrap_err();
    assert_eq!(err.code(), "template");
    let msg = err.to_string();
    assert!(msg.contains("transfer_form.typ:3"), "{msg}");
    assert!(msg.contains("no_such_field"), "{msg}");

    let missing = FormsConfig {
        template_dir: Some(dir.path().join("nope")),
        ..Default::default()
    };
    assert_eq!(Forms::new(&missing).unwrap_err().code(), "template_dir");
}

#[test]
fn a_record_that_is_not_a_lead_has_no_transfer_form() {
    let mut lead = lead(&LeadSpec::default());
    lead.manifest.record.outcome = Outcome::RefusedOrObstructed {
        refusal: fieldlead_domain::RefusalKind::Refused,
        description: "拒绝抽样".into(),
    };
    let err = forms()
        .transfer_form_pdf(&lead, &NoBlobs, &options())
        .unwrap_err();
    assert_eq!(err.code(), "not_a_lead");
}

#[test]
fn the_same_lead_prints_the_same_bytes() {
    // Reprinting from the evidence gives an identical PDF, so two copies can be compared.
    let lead = lead(&LeadSpec::default());
    let blobs = blobs_for(&lead);
    let a = forms()
        .transfer_form_pdf(&lead, &blobs, &options())
        .unwrap();
    let b = fieldlead_forms::render_transfer_form_pdf(&lead, &blobs, &options()).unwrap();
    assert_eq!(a, b);
    assert!(Party::ALL.len() == 3);
}

#[test]
fn the_printed_qr_code_leads_back_to_the_sealed_manifest() {
    let lead = lead(&LeadSpec::default());
    let pdf = forms()
        .transfer_form_pdf(&lead, &blobs_for(&lead), &options())
        .unwrap();
    let text = first_page_qr_text(&pdf, "transfer_form_qr_page1");
    assert_eq!(
        fieldlead_forms::parse_qr_payload(&text),
        Some((lead.manifest.lead_id, lead.manifest_hash))
    );
}

/// The printed form in the notice's words: the record is 锁定 (封存 is done to
/// goods), its hash the 存证摘要 (not a 清单), the district is the 区县局, and
/// the city gets the form from the sampling side and the investigation from
/// the district.
#[test]
fn the_form_reads_in_the_notices_words() {
    let lead = lead(&LeadSpec::default());
    let pdf = forms()
        .transfer_form_pdf(&lead, &blobs_for(&lead), &options())
        .unwrap();
    let flat = squash(&pdftotext(&pdf));
    for expected in [
        "产品违法线索移交表",
        "锁定时间",
        "存证摘要",
        "调查处理情况报告市局质监处日期",
        "抽样单位事后将本表报市局质监处",
        "标称生产厂家",
    ] {
        assert!(flat.contains(expected), "{expected} not in {flat}");
    }
    for wrong in ["封存", "清单哈希", "已送达", "标称生产者"] {
        assert!(!flat.contains(wrong), "{wrong} in {flat}");
    }
    let district_without_county = flat
        .match_indices("区局")
        .any(|(i, _)| !flat[..i].ends_with('县'));
    assert!(!district_without_county, "区局 for 区县局 in {flat}");
}

/// Before locking, the tablet shows the form as it will print: 预览 across the
/// page, no QR code and no 存证摘要 (there is no locked record to point to yet),
/// the signatures taken so far and a blank for each one still to come.
#[test]
fn a_record_not_yet_locked_previews_as_such() {
    let lead = lead(&LeadSpec {
        business_refuses: false,
        ..Default::default()
    });
    let mut draft = lead.manifest.clone();
    draft.signoffs.retain(|s| s.party != Party::Business);
    let form = forms()
        .transfer_form_with_preview(TransferLead::Draft(&draft), &blobs_for(&lead), &options())
        .unwrap();
    assert!(!form.pages_svg.is_empty());
    let text = pdftotext(&form.pdf);
    let flat = squash(&text);
    for expected in [
        "产品违法线索移交表",
        "预览：尚未锁定",
        "尚未签名",
        "不作移交使用",
        "任务来源市局下达",
    ] {
        assert!(flat.contains(expected), "{expected} not in {flat}");
    }
    for absent in ["存证摘要：", "存证摘要（SHA-256）", "锁定时间", "扫码核验"] {
        assert!(!flat.contains(absent), "{absent} in a preview: {flat}");
    }
    assert!(first_page_qr_texts(&form.pdf, "transfer_form_draft_page1").is_empty());
    // The signatures already taken are on it.
    assert_eq!(text.matches("签名图像缺失").count(), 0, "{text}");

    // Locked, the same record prints as the real form.
    let sealed = forms()
        .transfer_form_with_preview(TransferLead::Sealed(&lead), &blobs_for(&lead), &options())
        .unwrap();
    let flat = squash(&pdftotext(&sealed.pdf));
    assert!(
        flat.contains("存证摘要") && !flat.contains("预览"),
        "{flat}"
    );
}
