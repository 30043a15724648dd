//! A lead sealed on a tablet, carried as JSON text and photo bytes, verifies on a
//! machine that has nothing but the domain rules; any change on the way is caught.

use std::io::Cursor;

use chrono::DateTime;
use fieldlead_device::Device;
use fieldlead_domain::{
    parse_log, verify_lead, BusinessRole, Ground, OutcomeKind, Party, RecordDraft, Sha256,
    SignedManifest,
};

fn draft() -> RecordDraft {
    RecordDraft {
        sending_unit: "重庆市某某质量检验检测研究院".into(),
        task_year: Some(2026),
        task_name: "2026年插座产品质量监督抽查".into(),
        task_number: "CQ-2026-031".into(),
        product_category: "插头插座".into(),
        business_name: "重庆某某电器经营部".into(),
        business_uscc: "91110108551385082Q".into(),
        business_address: "重庆市江北区观音桥步行街 1 号".into(),
        business_person: "赵六".into(),
        business_phone: "13800000000".into(),
        business_role: Some(BusinessRole::Seller),
        product_name: "移动式插座".into(),
        producer_name: "某某电器厂".into(),
        producer_address: "浙江省某市".into(),
        sampler1_name: "李四".into(),
        sampler1_credential: "CQ50001234".into(),
        sampler2_name: "王五".into(),
        sampler2_credential: "CQ50005678".into(),
        place_address: "重庆市江北区观音桥步行街 1 号".into(),
        started_at: Some(DateTime::parse_from_rfc3339("2026-11-21T14:00:00+08:00").unwrap()),
        outcome: Some(OutcomeKind::Terminated),
        grounds: vec![Ground::SuspectedNoCcc],
        situation: "插座无 CCC 标志，经营者不能提供认证证书。".into(),
        ..RecordDraft::default()
    }
}

fn photo(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(120, 90, |x, y| {
        image::Rgb([(x as u8) ^ seed, (y as u8).wrapping_mul(2), seed])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

#[test]
fn a_sealed_lead_verifies_from_its_transported_text_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(draft()).unwrap();
    for (i, caption) in ["插座正面，无 CCC 标志", "包装盒", "货架"]
        .iter()
        .enumerate()
    {
        dev.attach_evidence_reader(r.id, Cursor::new(photo(i as u8 * 40)), None, caption)
            .unwrap();
    }
    for (party, seed) in [
        (Party::Sampler1, 1u8),
        (Party::Sampler2, 2),
        (Party::Business, 3),
    ] {
        dev.sign(r.id, party, &photo(seed)).unwrap();
    }
    let signed = dev.seal(r.id).unwrap();

    // What travels: manifest text, one text per log entry, photo bytes.
    let manifest_text = serde_json::to_string(&signed).unwrap();
    let log_texts: Vec<String> = dev
        .audit_log(r.id)
        .unwrap()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let photos: Vec<(Sha256, Vec<u8>)> = signed
        .manifest
        .evidence
        .iter()
        .map(|e| {
            let bytes = std::fs::read(dev.evidence_store().object_path(&e.sha256)).unwrap();
            (e.sha256, bytes)
        })
        .collect();
    drop(dev);

    // The receiving side: only the domain crate.
    let received: SignedManifest = serde_json::from_str(&manifest_text).unwrap();
    let log = parse_log(&log_texts).unwrap();
    verify_lead(&received, &log).unwrap();
    for (sha, bytes) in &photos {
        assert_eq!(Sha256::digest(bytes), *sha);
    }

    // A changed photo no longer matches its sealed hash.
    let mut altered = photos[0].1.clone();
    altered[100] ^= 1;
    assert_ne!(Sha256::digest(&altered), photos[0].0);

    // A manifest edited on the way is refused with a machine-readable reason.
    let edited = manifest_text.replace("移动式插座", "移动式插头");
    let received: SignedManifest = serde_json::from_str(&edited).unwrap();
    assert_eq!(
        verify_lead(&received, &log).unwrap_err().code(),
        "manifest_hash"
    );

    // A log entry dropped on the way is named.
    let mut short = log_texts.clone();
    short.remove(1);
    let log = parse_log(&short).unwrap();
    let err = verify_lead(&serde_json::from_str(&manifest_text).unwrap(), &log).unwrap_err();
    assert_eq!(err.code(), "entry_sequence");
}
