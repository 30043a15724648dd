//! `fieldlead form` prints the transfer form of a lead sealed on a tablet, from the
//! tablet's data folder alone, and refuses a draft with a clear message.

use std::io::Cursor;
use std::process::Command;

use chrono::DateTime;
use fieldlead_device::Device;
use fieldlead_domain::{BusinessRole, Ground, OutcomeKind, Party, RecordDraft};

fn png(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(160, 120, |x, y| {
        image::Rgb([(x as u8).wrapping_add(seed), (y as u8) ^ seed, 90])
    });
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn draft() -> RecordDraft {
    RecordDraft {
        sending_unit: "重庆市某某质量检验检测研究院".into(),
        task_year: Some(2026),
        task_name: "2026年电线电缆产品质量监督抽查".into(),
        task_number: "CQ-2026-017".into(),
        product_category: "电线电缆".into(),
        business_name: "重庆某某五金经营部".into(),
        business_uscc: "914403001922038216".into(),
        business_address: "重庆市渝中区民族路 88 号".into(),
        business_person: "张三".into(),
        business_phone: "023-63801234".into(),
        business_role: Some(BusinessRole::Seller),
        product_name: "聚氯乙烯绝缘电线".into(),
        producer_none: true,
        sampler1_name: "李四".into(),
        sampler1_credential: "CQ50001234".into(),
        sampler2_name: "王五".into(),
        sampler2_credential: "CQ50005678".into(),
        place_address: "重庆市渝中区民族路 88 号门市".into(),
        started_at: Some(DateTime::parse_from_rfc3339("2026-11-20T10:15:00+08:00").unwrap()),
        outcome: Some(OutcomeKind::Terminated),
        grounds: vec![Ground::NoFactoryName, Ground::NoFactoryAddress],
        situation: "货架上的电线无厂名厂址。".into(),
        ..RecordDraft::default()
    }
}

#[test]
fn prints_the_form_of_a_sealed_lead_and_refuses_a_draft() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (sealed, draft_id) = {
        let mut dev = Device::open(data.path()).unwrap();
        let r = dev.create_record(draft()).unwrap();
        dev.attach_evidence_reader(r.id, Cursor::new(png(1)), Some("a.png"), "货架上的电线")
            .unwrap();
        dev.sign(r.id, Party::Sampler1, &png(2)).unwrap();
        dev.sign(r.id, Party::Sampler2, &png(3)).unwrap();
        dev.record_refusal(r.id, "隔壁商户 刘七").unwrap();
        let m = dev.seal(r.id).unwrap();
        let d = dev.create_record(draft()).unwrap();
        (m, d.id)
    };
    let pdf = out.path().join("form.pdf");
    let run = Command::new(env!("CARGO_BIN_EXE_fieldlead"))
        .args(["form", &sealed.manifest.lead_id.to_string(), "--data-dir"])
        .arg(data.path())
        .args(["--district", "渝中", "--seq", "7", "-o"])
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed by scripts/setup");
    let text = String::from_utf8(text.stdout)
        .unwrap()
        .replace(char::is_whitespace, "");
    for needle in [
        "重庆某某五金经营部",
        "914403001922038216",
        "渝中移〔2026〕0007号",
        "刘七",
    ] {
        assert!(text.contains(needle), "{needle} missing from the PDF text");
    }

    let refused = Command::new(env!("CARGO_BIN_EXE_fieldlead"))
        .args(["form", &draft_id.to_string(), "--data-dir"])
        .arg(data.path())
        .arg("-o")
        .arg(out.path().join("draft.pdf"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("尚未封存"));
    assert!(!out.path().join("draft.pdf").exists());
}
