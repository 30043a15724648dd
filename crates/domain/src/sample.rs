//! Sample data for tests, benchmarks and demos, behind the `sample` feature, so no
//! crate keeps its own copy of thirty fields or its own picture generator:
//! [`terminated_draft`] (a complete, valid terminated sampling), [`photo`] and
//! [`signature_png`] (small real images), and [`sealed_lead`] (a lead signed as a
//! tablet seals it: audit log, manifest, signoffs and the bytes of every blob).

use chrono::{DateTime, FixedOffset};
use serde_json::json;

use crate::{
    BusinessRole, EvidenceEntry, GeoPoint, Ground, LeadId, LeadUpload, LogEvent, LogHead, Manifest,
    OutcomeKind, Party, RecordDraft, Sha256, SignedEntry, SignedManifest, SigningKey, Signoff,
    SignoffKind, TaskLevel, MANIFEST_FORMAT,
};

fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("valid sample time")
}

/// A draft that validates and becomes a lead once it has photos and signoffs:
/// building wire without factory name or address, found at a hardware shop. The
/// USCC is a real published one.
pub fn terminated_draft() -> RecordDraft {
    RecordDraft {
        sending_unit: "重庆市某某质量检验检测研究院".into(),
        task_year: Some(2026),
        task_name: "2026年重庆市电线电缆产品质量监督抽查".into(),
        task_number: "CQ-2026-017".into(),
        task_level: Some(TaskLevel::City),
        task_document: "渝市监发〔2026〕12号".into(),
        sampling_number: "CQ-2026-017-0042".into(),
        product_category: "电线电缆".into(),
        business_name: "重庆某某五金经营部".into(),
        business_uscc: "914403001922038216".into(),
        business_address: "重庆市渝中区解放碑民族路 88 号".into(),
        business_person: "张三".into(),
        business_phone: "023-6380 1234".into(),
        business_role: Some(BusinessRole::Seller),
        product_name: "聚氯乙烯绝缘电线".into(),
        product_spec_model: "BV 2.5mm²".into(),
        product_batch: "2026-09".into(),
        producer_none: true,
        sampler1_name: "李四".into(),
        sampler1_credential: "CQ50001234".into(),
        sampler2_name: "王五".into(),
        sampler2_credential: "CQ50005678".into(),
        place_address: "重庆市渝中区解放碑民族路 88 号门市".into(),
        place_gps: Some(GeoPoint::new(295_630_000, 1_065_510_000).expect("valid point")),
        started_at: Some(t("2026-11-20T10:15:00+08:00")),
        outcome: Some(OutcomeKind::Terminated),
        grounds: vec![Ground::NoFactoryAddress, Ground::NoFactoryName],
        situation: "货架上的电线无厂名厂址，经营者无法提供进货票据。".into(),
        ..RecordDraft::default()
    }
}

/// One inspection result as the institute reports it: building wire sampled at a
/// seller that names its producer (so the city serves the producer too);
/// `failed_items` is filled exactly when the verdict is 不合格.
pub fn inspection_result(
    report_no: &str,
    verdict: crate::postprocess::Verdict,
    report_received: chrono::NaiveDate,
) -> crate::inspection::InspectionResult {
    crate::inspection::InspectionResult {
        report_no: report_no.into(),
        task: "2026年重庆市电线电缆产品质量监督抽查".into(),
        product_name: "聚氯乙烯绝缘电线".into(),
        brand: Some("某某牌".into()),
        spec_model: Some("BV 2.5mm²".into()),
        batch: Some("2026-09".into()),
        business_name: "重庆某某五金经营部".into(),
        business_address: "重庆市渝中区解放碑民族路 88 号".into(),
        business_kind: crate::inspection::BusinessKind::Seller,
        nominal_producer: Some("某某电线厂".into()),
        platform: None,
        sampled_on: report_received - chrono::Days::new(30),
        verdict,
        failed_items: (verdict == crate::postprocess::Verdict::Fail).then(|| "导体电阻".into()),
        report_received,
    }
}

/// A 160×120 JPEG of a simple scene: `seed` changes the picture, `quality` only
/// the bytes.
pub fn photo(seed: u8, quality: u8) -> Vec<u8> {
    photo_sized(160, 120, seed, quality)
}

/// [`photo`] at another size.
pub fn photo_sized(width: u32, height: u32, seed: u8, quality: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (
            f64::from(x) / f64::from(width),
            f64::from(y) / f64::from(height),
        );
        let cx = 0.2 + f64::from(seed % 7) * 0.1;
        let disc = (fx - cx).powi(2) + (fy - 0.5).powi(2) < 0.04;
        let v = if disc {
            230
        } else {
            (fx * 120.0 + fy * 60.0) as u8
        };
        image::Rgb([v, v.wrapping_add(seed.wrapping_mul(31)), 255 - v])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&img)
        .expect("encoding to memory");
    out
}

/// A PNG standing in for a handwritten signature: a dark stroke on white, as a
/// signature pad draws it; `seed` moves the stroke.
pub fn signature_png(seed: u8) -> Vec<u8> {
    let img = image::GrayImage::from_fn(300, 100, |x, y| {
        let curve = 50.0 + 30.0 * ((x as f32 + f32::from(seed) * 7.0) / 25.0).sin();
        if (y as f32 - curve).abs() < 3.0 {
            image::Luma([20])
        } else {
            image::Luma([255])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding to memory");
    out.into_inner()
}

/// A sealed lead and the bytes of every blob it names, sorted by hash.
#[derive(Debug, Clone)]
pub struct SealedLead {
    pub upload: LeadUpload,
    pub blobs: Vec<(Sha256, Vec<u8>)>,
}

impl SealedLead {
    pub fn id(&self) -> LeadId {
        self.upload.manifest.manifest.lead_id
    }

    /// The upload as a tablet sends it.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.upload).expect("an upload serializes")
    }
}

/// [`terminated_draft`] sealed under a new id with these photos, signed by `key`.
pub fn sealed_lead(key: &SigningKey, photos: &[Vec<u8>]) -> SealedLead {
    sealed_lead_with(LeadId::new(), key, photos, terminated_draft(), |_| {})
}

/// A lead sealed as a tablet seals it: a hash-chained log (created, one entry per
/// photo, sealed), evidence entries for `photos` (captioned 现场照片 1, 2...),
/// both samplers' signature images and the business's refusal with a witness.
/// `edit` changes the manifest before it is signed: what a modified or malicious
/// tablet could send, correctly signed, or details a test needs (camera EXIF).
pub fn sealed_lead_with(
    lead: LeadId,
    key: &SigningKey,
    photos: &[Vec<u8>],
    draft: RecordDraft,
    edit: impl FnOnce(&mut Manifest),
) -> SealedLead {
    let mut log: Vec<SignedEntry> = Vec::new();
    let mut push = |event, payload, time: &str| {
        let e = SignedEntry::next(log.last(), lead, t(time), event, payload, key)
            .expect("a sample entry signs");
        log.push(e);
    };
    push(
        LogEvent::Created,
        json!({"task": "抽查"}),
        "2026-11-20T10:15:00+08:00",
    );
    let mut blobs = Vec::new();
    let mut evidence = Vec::new();
    for (i, p) in photos.iter().enumerate() {
        let sha = Sha256::digest(p);
        push(
            LogEvent::EvidenceAdded,
            json!({"sha256": sha.to_hex()}),
            "2026-11-20T10:20:00+08:00",
        );
        evidence.push(EvidenceEntry {
            sha256: sha,
            bytes: p.len() as u64,
            format: "jpeg".into(),
            caption: format!("现场照片 {}", i + 1),
            width: Some(160),
            height: Some(120),
            exif_datetime: None,
            exif_offset: None,
            exif_gps: None,
            make: None,
            model: None,
            phash: None,
            added_at: t("2026-11-20T10:20:00+08:00"),
        });
        blobs.push((sha, p.clone()));
    }
    evidence.sort_by_key(|e| e.sha256);
    evidence.dedup_by_key(|e| e.sha256);
    let mut signoffs = Vec::new();
    for (party, name, seed) in [(Party::Sampler1, "李四", 1u8), (Party::Sampler2, "王五", 2)] {
        let png = signature_png(seed);
        let sha = Sha256::digest(&png);
        signoffs.push(Signoff {
            party,
            name: name.into(),
            signoff: SignoffKind::Signed {
                image_sha256: sha,
                image_bytes: png.len() as u64,
            },
            at: t("2026-11-20T10:28:00+08:00"),
        });
        blobs.push((sha, png));
    }
    signoffs.push(Signoff {
        party: Party::Business,
        name: draft.business_person.trim().to_string(),
        signoff: SignoffKind::Refused {
            witness: "同市场经营户 刘七".into(),
        },
        at: t("2026-11-20T10:29:00+08:00"),
    });
    let head = log.last().expect("the log has its first entry");
    let mut manifest = Manifest {
        format: MANIFEST_FORMAT,
        lead_id: lead,
        device_key: key.public_key(),
        record: draft.validate(lead).expect("the sample draft validates"),
        evidence,
        signoffs,
        log_head: LogHead {
            seq: head.entry.seq,
            entry_hash: head.entry_hash,
        },
        sealed_at: t("2026-11-20T10:30:00+08:00"),
    };
    edit(&mut manifest);
    let signed = SignedManifest::sign(manifest, key).expect("a sample manifest signs");
    let seal = SignedEntry::next(
        log.last(),
        lead,
        t("2026-11-20T10:30:00+08:00"),
        LogEvent::Sealed,
        json!({"manifest_hash": signed.manifest_hash.to_hex()}),
        key,
    )
    .expect("the seal entry signs");
    log.push(seal);
    blobs.sort_by_key(|b| b.0);
    blobs.dedup_by_key(|b| b.0);
    SealedLead {
        upload: LeadUpload {
            manifest: signed,
            log,
        },
        blobs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_validates() {
        assert!(terminated_draft().validate(LeadId::new()).is_ok());
    }

    #[test]
    fn a_sealed_sample_verifies_and_names_every_blob() {
        let key = SigningKey::from_seed(&[3; 32]);
        let lead = sealed_lead(&key, &[photo(1, 80), photo(2, 80)]);
        let log_docs: Vec<String> = lead
            .upload
            .log
            .iter()
            .map(|e| serde_json::to_string(e).unwrap())
            .collect();
        assert!(crate::parse_log(&log_docs).is_ok());
        crate::verify_lead(&lead.upload.manifest, &lead.upload.log).unwrap();
        let named = crate::manifest_blobs(&lead.upload.manifest.manifest).unwrap();
        let held: Vec<Sha256> = lead.blobs.iter().map(|b| b.0).collect();
        assert_eq!(named.iter().map(|b| b.sha256).collect::<Vec<_>>(), held);
        assert_ne!(photo(1, 80), photo(2, 80));
        assert_ne!(signature_png(1), signature_png(2));
    }
}
