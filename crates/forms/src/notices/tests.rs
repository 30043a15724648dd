//! The notice data's rules: QR payload, data hash, wording helpers, checks.

use super::*;

/// The sample notice with none of what only some documents need, so each
/// document's own requirements show.
fn data(document: Document) -> NoticeData {
    NoticeData {
        institute: None,
        agency: None,
        commissioned_on: None,
        refusal_grounds: None,
        rectification: None,
        ..crate::sample::notice(document)
    }
}

#[test]
fn notice_qr_payload_round_trips() {
    let id = "0b6c3f0e-8a7d-4e21-9d55-5f1a2b3c4d5e";
    let h = Sha256::digest(b"notice data");
    let text = notice_qr_payload(id, &h);
    assert!(text.starts_with("FIELDLEAD:DOC:0B6C3F0E-"));
    assert!(text.ends_with(&h.to_hex().to_uppercase()));
    assert!(text
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "-:".contains(c)));
    assert_eq!(parse_notice_qr_payload(&text), Some((id.to_string(), h)));
    assert_eq!(
        parse_notice_qr_payload(&format!(" {} ", text.to_lowercase())),
        Some((id.to_string(), h))
    );
    assert_eq!(parse_notice_qr_payload("FIELDLEAD:DOC:X:DATA:00"), None);
    assert_eq!(
        parse_notice_qr_payload(&format!("FIELDLEAD:DOC::DATA:{}", h.to_hex())),
        None
    );
    // A transfer form's code is not a notice's, nor the other way round.
    let lead = fieldlead_domain::LeadId::new();
    assert_eq!(parse_notice_qr_payload(&crate::qr_payload(&lead, &h)), None);
    assert_eq!(crate::parse_qr_payload(&text), None);
}

#[test]
fn the_data_hash_is_of_the_canonical_json() {
    let a = data(Document::ResultNotice);
    let h = notice_data_sha256(&a);
    assert_eq!(h, fieldlead_domain::canonical_hash(&a).unwrap());
    // Field order of the JSON it came from does not matter.
    let v: serde_json::Value = serde_json::to_value(&a).unwrap();
    let back: NoticeData = serde_json::from_value(v).unwrap();
    assert_eq!(notice_data_sha256(&back), h);
    let mut b = a.clone();
    b.product.report_no = "CQ2026-0002".into();
    assert_ne!(notice_data_sha256(&b), h);
}

#[test]
fn the_task_reads_as_the_notice_names_it() {
    assert_eq!(
        task_phrase(2026, "2026年重庆市产品质量监督抽查"),
        "2026年重庆市产品质量监督抽查"
    );
    assert_eq!(task_phrase(2026, ""), "2026年产品质量监督抽查");
    assert_eq!(
        task_phrase(2026, "2026年度重庆市电器产品"),
        "2026年重庆市电器产品产品质量监督抽查"
    );
    assert_eq!(
        task_phrase(2026, "重庆市电热水壶专项抽查"),
        "2026年重庆市电热水壶专项抽查"
    );
}

#[test]
fn refusal_grounds_fit_the_sentence_around_them() {
    assert_eq!(
        refusal_grounds("经调查，该样品已超过保质期，不符合复检条件。\n"),
        "该样品已超过保质期"
    );
    assert_eq!(refusal_grounds("备样已用完。"), "备样已用完");
    assert_eq!(named("重庆市", "人民政府").unwrap(), "重庆市人民政府");
    assert_eq!(
        named("重庆市人民政府", "人民政府").unwrap(),
        "重庆市人民政府"
    );
    assert_eq!(named(" ", "法院"), None);
}

#[test]
fn seller_or_producer_follows_the_addressee() {
    let mut d = data(Document::ResultNotice);
    assert_eq!(kind(&d), "销售");
    d.addressee = "佛山市顺德区美厨乐电器有限公司".into();
    assert_eq!(kind(&d), "生产");
    let mut d = data(Document::ResultNotice);
    d.product.business_kind = BusinessKind::Producer;
    assert_eq!(kind(&d), "生产");
    assert!(reports_to_city("重庆市渝中区市场监督管理局"));
    assert!(!reports_to_city("重庆市市场监督管理局"));
}

fn field_of(e: FormError) -> &'static str {
    assert_eq!(e.code(), "notice_field");
    match e {
        FormError::Notice { field, .. } => field,
        other => panic!("{other}"),
    }
}

#[test]
fn each_document_names_what_it_cannot_do_without() {
    let p = NoticeSeal::Preview;
    for doc in Document::ALL {
        check(&data(doc), &p).map_or_else(
            |e| {
                let expected = match doc {
                    Document::ReinspectionAgency | Document::ReinspectionResult => "agency.name",
                    Document::NoReinspection => "refusal_grounds",
                    Document::RectificationOrder => "rectification",
                    Document::ResultNotice => "none",
                };
                assert_eq!(field_of(e), expected, "{doc:?}");
            },
            |()| assert_eq!(doc, Document::ResultNotice),
        );
    }
    let mut d = data(Document::ReinspectionResult);
    d.agency = Some(NoticeContact {
        name: Some("国家电器产品质量检验检测中心".into()),
        ..Default::default()
    });
    let e = check(&d, &p).unwrap_err();
    assert!(e.to_string().contains("委托复检日期"), "{e}");
    assert_eq!(field_of(e), "commissioned_on");

    let mut d = data(Document::ResultNotice);
    d.addressee = "  ".into();
    let e = check(&d, &p).unwrap_err();
    assert!(e.to_string().contains("请填写主送单位"), "{e}");
    assert_eq!(field_of(e), "addressee");
    let mut d = data(Document::ResultNotice);
    d.product.report_no = String::new();
    assert_eq!(field_of(check(&d, &p).unwrap_err()), "product.report_no");
    let mut d = data(Document::ResultNotice);
    d.issuer = String::new();
    assert_eq!(field_of(check(&d, &p).unwrap_err()), "issuer");
}

#[test]
fn control_characters_and_overlong_text_are_refused() {
    let p = NoticeSeal::Preview;
    let mut d = data(Document::ResultNotice);
    d.product.brand = Some("美厨\u{202E}乐".into());
    let e = check(&d, &p).unwrap_err();
    assert!(e.to_string().contains("控制字符"), "{e}");
    assert_eq!(field_of(e), "product.brand");

    let mut d = data(Document::ResultNotice);
    d.addressee = "顺达\n五金".into();
    assert_eq!(field_of(check(&d, &p).unwrap_err()), "addressee");

    // Free text may hold line breaks, up to 2000 characters.
    let mut d = data(Document::RectificationOrder);
    d.rectification = Some("一、下架。\n二、召回。".into());
    check(&d, &p).unwrap();
    d.rectification = Some("改".repeat(2001));
    let e = check(&d, &p).unwrap_err();
    assert!(e.to_string().contains("2000"), "{e}");
    assert_eq!(field_of(e), "rectification");

    let mut d = data(Document::ResultNotice);
    d.year = 26;
    assert_eq!(field_of(check(&d, &p).unwrap_err()), "year");
}

#[test]
fn an_issued_seal_must_match_its_data() {
    let d = data(Document::ResultNotice);
    let issued = |number: &str, id: &str, h: Sha256| NoticeSeal::Issued {
        number: number.into(),
        document_id: id.into(),
        data_sha256: h,
    };
    let h = notice_data_sha256(&d);
    let id = "0b6c3f0e-8a7d-4e21-9d55-5f1a2b3c4d5e";
    check(&d, &issued("渝中市监〔2026〕12号", id, h)).unwrap();
    let stale = Sha256::digest(b"other data");
    assert_eq!(
        field_of(check(&d, &issued("渝中市监〔2026〕12号", id, stale)).unwrap_err()),
        "seal.data_sha256"
    );
    assert_eq!(
        field_of(check(&d, &issued(" ", id, h)).unwrap_err()),
        "seal.number"
    );
    assert_eq!(
        field_of(check(&d, &issued("12号", "文书:1", h)).unwrap_err()),
        "seal.document_id"
    );
}
