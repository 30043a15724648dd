//! The audit chain and the sealed manifest: any change, drop or reorder is caught,
//! and the error says which entry.

use chrono::DateTime;
use fieldlead_domain::{
    canonical_json, parse_log, verify_chain, verify_lead, CanonicalUpload, ChainFault,
    EvidenceEntry, LeadId, LeadUpload, LogEvent, LogHead, Manifest, Party, Sha256, SignedEntry,
    SignedManifest, SigningKey, Signoff, SignoffKind, VerifyError, MANIFEST_FORMAT,
};
use serde_json::json;

fn key() -> SigningKey {
    SigningKey::from_seed(&[42u8; 32])
}

fn t(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn chain(lead: LeadId, key: &SigningKey) -> Vec<SignedEntry> {
    let events = [
        (LogEvent::Created, json!({"task_name": "抽查"})),
        (
            LogEvent::Edited,
            json!({"business_name": "重庆某某五金经营部"}),
        ),
        (
            LogEvent::EvidenceAdded,
            json!({"sha256": "ab".repeat(32), "caption": "货架"}),
        ),
        (
            LogEvent::CaptionChanged,
            json!({"sha256": "ab".repeat(32), "caption": "货架全景"}),
        ),
        (LogEvent::Edited, json!({"situation": "无厂名厂址"})),
    ];
    let mut out: Vec<SignedEntry> = Vec::new();
    for (i, (ev, payload)) in events.into_iter().enumerate() {
        let e = SignedEntry::next(
            out.last(),
            lead,
            t(&format!("2026-11-20T10:{:02}:00+08:00", 10 + i)),
            ev,
            payload,
            key,
        )
        .unwrap();
        out.push(e);
    }
    out
}

fn signoffs() -> Vec<Signoff> {
    let signed = |party, name: &str, n: u8| Signoff {
        party,
        name: name.into(),
        signoff: SignoffKind::Signed {
            image_sha256: Sha256::digest(&[n, n]),
            image_bytes: 2048,
        },
        at: t("2026-11-20T10:28:00+08:00"),
    };
    vec![
        signed(Party::Sampler1, "李四", 1),
        signed(Party::Sampler2, "王五", 2),
        Signoff {
            party: Party::Business,
            name: "张三".into(),
            signoff: SignoffKind::Refused {
                witness: "同市场经营户 刘七".into(),
            },
            at: t("2026-11-20T10:29:00+08:00"),
        },
    ]
}

fn sealed(key: &SigningKey) -> (SignedManifest, Vec<SignedEntry>) {
    sealed_with(key, &[])
}

/// A sealed lead whose log has `edits` (payloads of `Edited` entries) before its
/// head.
fn sealed_with(
    key: &SigningKey,
    edits: &[serde_json::Value],
) -> (SignedManifest, Vec<SignedEntry>) {
    let lead = LeadId::new();
    let mut log = chain(lead, key);
    for payload in edits {
        let e = SignedEntry::next(
            log.last(),
            lead,
            t("2026-11-20T10:25:00+08:00"),
            LogEvent::Edited,
            payload.clone(),
            key,
        )
        .unwrap();
        log.push(e);
    }
    let head = log.last().unwrap();
    let mut evidence: Vec<EvidenceEntry> = (1..=3u8)
        .map(|i| EvidenceEntry {
            sha256: Sha256::digest(&[i]),
            bytes: 1000 + i as u64,
            format: "jpeg".into(),
            caption: format!("照片{i}"),
            width: Some(4000),
            height: Some(3000),
            exif_datetime: Some("2026:11:20 10:12:00".into()),
            exif_offset: Some("+08:00".into()),
            exif_gps: None,
            make: Some("HUAWEI".into()),
            model: None,
            phash: Some("00ff00ff00ff00ff".into()),
            added_at: t("2026-11-20T10:12:30+08:00"),
        })
        .collect();
    evidence.sort_by_key(|e| e.sha256);
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        lead_id: lead,
        device_key: key.public_key(),
        record: fieldlead_domain::sample::terminated_draft()
            .validate(lead)
            .unwrap(),
        evidence,
        signoffs: signoffs(),
        log_head: LogHead {
            seq: head.entry.seq,
            entry_hash: head.entry_hash,
        },
        sealed_at: t("2026-11-20T10:30:00+08:00"),
    };
    let signed = SignedManifest::sign(manifest, key).unwrap();
    let seal = SignedEntry::next(
        log.last(),
        lead,
        t("2026-11-20T10:30:00+08:00"),
        LogEvent::Sealed,
        json!({"manifest_hash": signed.manifest_hash.to_hex()}),
        key,
    )
    .unwrap();
    log.push(seal);
    (signed, log)
}

#[test]
fn an_intact_chain_verifies() {
    let k = key();
    let lead = LeadId::new();
    verify_chain(lead, &chain(lead, &k), &k.public_key()).unwrap();
}

#[test]
fn changing_any_byte_of_any_entry_fails_at_that_entry() {
    let k = key();
    let lead = LeadId::new();
    let docs: Vec<String> = chain(lead, &k)
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    for (i, doc) in docs.iter().enumerate() {
        for pos in 0..doc.len() {
            let mut bytes = doc.clone().into_bytes();
            bytes[pos] ^= 0x01;
            let Ok(mutated) = String::from_utf8(bytes) else {
                continue; // not text: a transport refuses it before parsing
            };
            let mut tampered = docs.clone();
            tampered[i] = mutated;
            let err = match parse_log(&tampered) {
                Err(e) => e,
                Ok(entries) => verify_chain(lead, &entries, &k.public_key())
                    .expect_err(&format!("entry {i} byte {pos} change went unnoticed")),
            };
            // A changed hash field can make the *next* entry's link fail first only
            // if this entry itself still verified, which it cannot: its own hash or
            // signature check comes first.
            assert_eq!(err.index, i, "entry {i} byte {pos}: {err}");
        }
    }
}

#[test]
fn dropping_an_entry_is_named() {
    let k = key();
    let lead = LeadId::new();
    let mut entries = chain(lead, &k);
    entries.remove(2);
    let err = verify_chain(lead, &entries, &k.public_key()).unwrap_err();
    assert_eq!(err.index, 2);
    assert_eq!(
        err.fault,
        ChainFault::Sequence {
            expected: 2,
            found: 3
        }
    );
    assert!(err.to_string().contains("第 3 条"));

    // Dropping the first entry.
    let mut entries = chain(lead, &k);
    entries.remove(0);
    assert_eq!(
        verify_chain(lead, &entries, &k.public_key())
            .unwrap_err()
            .index,
        0
    );
}

#[test]
fn reordering_entries_is_named() {
    let k = key();
    let lead = LeadId::new();
    let mut entries = chain(lead, &k);
    entries.swap(1, 3);
    let err = verify_chain(lead, &entries, &k.public_key()).unwrap_err();
    assert_eq!(err.index, 1);
}

#[test]
fn a_rebuilt_entry_with_renumbered_seq_breaks_the_link() {
    // Drop entry 2 and re-sign the rest with the same key but keep old prev hashes:
    // the splice shows as a broken link.
    let k = key();
    let lead = LeadId::new();
    let mut entries = chain(lead, &k);
    entries.remove(2);
    for (i, e) in entries.iter_mut().enumerate().skip(2) {
        e.entry.seq = i as u64;
        e.entry_hash = e.entry.hash().unwrap();
        e.signature = k.sign(e.entry_hash.as_bytes());
    }
    let err = verify_chain(lead, &entries, &k.public_key()).unwrap_err();
    assert_eq!((err.index, err.fault), (2, ChainFault::PrevHash));
}

#[test]
fn another_key_or_another_lead_fails() {
    let k = key();
    let lead = LeadId::new();
    let entries = chain(lead, &k);
    let other = SigningKey::from_seed(&[1u8; 32]);
    let err = verify_chain(lead, &entries, &other.public_key()).unwrap_err();
    assert_eq!((err.index, err.fault), (0, ChainFault::Signature));
    let err = verify_chain(LeadId::new(), &entries, &k.public_key()).unwrap_err();
    assert_eq!((err.index, err.fault), (0, ChainFault::WrongLead));
    assert_eq!(
        verify_chain(lead, &[], &k.public_key()).unwrap_err().fault,
        ChainFault::Empty
    );
}

#[test]
fn a_sealed_lead_verifies_and_survives_json_transport() {
    let (m, log) = sealed(&key());
    verify_lead(&m, &log).unwrap();
    let wire = serde_json::to_string(&m).unwrap();
    let back: SignedManifest = serde_json::from_str(&wire).unwrap();
    verify_lead(&back, &log).unwrap();
}

#[test]
fn a_verified_upload_is_stored_in_its_rfc_8785_form() {
    // Keys whose UTF-8 and UTF-16 orders differ (an astral character sorts
    // before U+FF61 in UTF-16), escapes, numbers in ES6 form, nesting.
    let edits = [
        json!({"\u{ff61}": 1, "😀": 2, "a\"b": "line\nbreak\t\\", "Z": [1.5, 1e21, 0.1, -0.0, 3]}),
        json!({"nested": {"b": {"d": null, "c": true}, "a": []}, "": "空键"}),
    ];
    let (manifest, log) = sealed_with(&key(), &edits);
    let upload = LeadUpload { manifest, log };
    let stored = upload.verify().unwrap();
    assert_eq!(
        stored.as_str().as_bytes(),
        canonical_json(&upload).unwrap().as_slice()
    );
    assert_eq!(stored, CanonicalUpload::of(&upload).unwrap());
    // A pretty-printed spelling of the same upload stores the same bytes.
    let pretty = serde_json::to_string_pretty(&upload).unwrap();
    let back: LeadUpload = fieldlead_domain::parse_strict(pretty.as_bytes()).unwrap();
    assert_eq!(back.verify().unwrap(), stored);
    // And one that does not verify yields nothing to store.
    let mut bad = upload.clone();
    bad.log.swap(1, 2);
    assert!(bad.verify().is_err());
}

#[test]
fn any_change_to_the_manifest_is_caught() {
    let k = key();
    let (m, log) = sealed(&k);

    let mut x = m.clone();
    x.manifest.record.business.name.push('X');
    assert_eq!(verify_lead(&x, &log), Err(VerifyError::ManifestHash));

    let mut x = m.clone();
    x.manifest.evidence[0].caption = "换过的说明".into();
    assert_eq!(verify_lead(&x, &log), Err(VerifyError::ManifestHash));

    // Re-hashing after the change does not help without the key.
    let mut x = m.clone();
    x.manifest.evidence.pop();
    x.manifest_hash = x.manifest.hash().unwrap();
    assert_eq!(verify_lead(&x, &log), Err(VerifyError::ManifestSignature));

    // Re-signing with another key: the seal entry in the log no longer matches.
    let other = SigningKey::from_seed(&[9u8; 32]);
    let mut mm = m.manifest.clone();
    mm.device_key = other.public_key();
    let x = SignedManifest::sign(mm, &other).unwrap();
    assert_eq!(verify_lead(&x, &log).unwrap_err().code(), "entry_signature");
}

#[test]
fn the_log_must_end_with_the_seal_of_this_manifest() {
    let k = key();
    let (m, mut log) = sealed(&k);
    let seal = log.pop().unwrap();
    assert_eq!(verify_lead(&m, &log), Err(VerifyError::SealEntry));

    // An entry appended after sealing (an edit after seal) is refused.
    log.push(seal);
    let extra = SignedEntry::next(
        log.last(),
        m.manifest.lead_id,
        t("2026-11-20T11:00:00+08:00"),
        LogEvent::Edited,
        json!({"situation": "改"}),
        &k,
    )
    .unwrap();
    log.push(extra);
    assert_eq!(verify_lead(&m, &log), Err(VerifyError::SealEntry));
}

#[test]
fn unsorted_evidence_and_non_leads_are_refused_even_when_signed() {
    let k = key();
    let (m, log) = sealed(&k);
    let mut mm = m.manifest.clone();
    mm.evidence.reverse();
    let x = SignedManifest::sign(mm, &k).unwrap();
    assert_eq!(verify_lead(&x, &log), Err(VerifyError::EvidenceOrder));

    let mut mm = m.manifest.clone();
    mm.record.outcome = fieldlead_domain::Outcome::RefusedOrObstructed {
        refusal: fieldlead_domain::RefusalKind::Refused,
        description: "拒绝".into(),
    };
    let x = SignedManifest::sign(mm, &k).unwrap();
    assert_eq!(verify_lead(&x, &log), Err(VerifyError::NotALead));
}

#[test]
fn both_samplers_must_sign_and_only_the_business_may_refuse() {
    let k = key();
    let (m, log) = sealed(&k);
    let resign = |f: &dyn Fn(&mut Vec<Signoff>)| {
        let mut mm = m.manifest.clone();
        f(&mut mm.signoffs);
        verify_lead(&SignedManifest::sign(mm, &k).unwrap(), &log)
    };
    assert_eq!(
        resign(&|s| {
            s.remove(1);
        }),
        Err(VerifyError::Signoff(Party::Sampler2))
    );
    assert_eq!(
        resign(&|s| {
            s[0].signoff = SignoffKind::Refused {
                witness: "某人".into(),
            }
        }),
        Err(VerifyError::Signoff(Party::Sampler1))
    );
    assert_eq!(
        resign(&|s| {
            s[2].signoff = SignoffKind::Refused {
                witness: " ".into(),
            }
        }),
        Err(VerifyError::Signoff(Party::Business))
    );
    assert_eq!(
        resign(&|s| s.swap(0, 1)),
        Err(VerifyError::Signoff(Party::Sampler1))
    );
    assert_eq!(
        resign(&|s| {
            let extra = s[2].clone();
            s.push(extra)
        }),
        Err(VerifyError::Signoff(Party::Business))
    );
}

/// The codes of the field problems a re-signed manifest is refused with.
fn field_codes(m: &SignedManifest, log: &[SignedEntry]) -> Vec<(String, String)> {
    match verify_lead(m, log) {
        Err(VerifyError::Fields(p)) => p.into_iter().map(|p| (p.field, p.code)).collect(),
        other => panic!("expected field problems, got {other:?}"),
    }
}

#[test]
fn a_terminated_lead_without_a_photo_is_refused_even_when_signed() {
    let k = key();
    let (m, log) = sealed(&k);
    let mut mm = m.manifest.clone();
    mm.evidence.clear();
    let x = SignedManifest::sign(mm, &k).unwrap();
    assert_eq!(
        field_codes(&x, &log),
        [("evidence".to_string(), "no_evidence".to_string())]
    );
}

/// `m` changed by `f`, signed again, and its log's seal entry made again to name
/// the new manifest: a lead as a tablet would have sealed it.
fn resealed(
    m: &SignedManifest,
    log: &[SignedEntry],
    k: &SigningKey,
    f: &dyn Fn(&mut Manifest),
) -> (SignedManifest, Vec<SignedEntry>) {
    let mut mm = m.manifest.clone();
    f(&mut mm);
    let signed = SignedManifest::sign(mm, k).unwrap();
    let mut log = log[..log.len() - 1].to_vec();
    let seal = SignedEntry::next(
        log.last(),
        signed.manifest.lead_id,
        signed.manifest.sealed_at,
        LogEvent::Sealed,
        json!({"manifest_hash": signed.manifest_hash.to_hex()}),
        k,
    )
    .unwrap();
    log.push(seal);
    (signed, log)
}

#[test]
fn a_lead_sealed_before_the_upgrade_is_judged_by_its_own_format() {
    let k = key();
    let (m, log) = sealed(&k);
    let resign = |f: &dyn Fn(&mut Manifest)| resealed(&m, &log, &k, f);
    // A format-1 lead, as a tablet sealed it before 任务来源, 抽样单编号 and the
    // platform's name were on the form: still reported and verified.
    let old = |m: &mut Manifest| {
        m.format = 1;
        m.record.task.level = None;
        m.record.task.document_number = None;
        m.record.sampling_number = None;
    };
    let v1 = resign(&old);
    verify_lead(&v1.0, &v1.1).unwrap();
    // Its JSON has none of the new fields, so its hash is the one the old tablet signed.
    let json = serde_json::to_string(&v1.0.manifest).unwrap();
    for field in ["level", "document_number", "sampling_number", "platform"] {
        assert!(!json.contains(field), "{field} in a format-1 manifest");
    }
    // Format 1 carrying a format-2 field is no old tablet's output.
    let (x, xlog) = resign(&|m| {
        old(m);
        m.record.sampling_number = Some("CQ-1".into());
    });
    let codes = field_codes(&x, &xlog);
    assert_eq!(
        codes,
        [("record".to_string(), "not_normalised".to_string())]
    );
    // Format 2 needs 任务来源.
    let (x, xlog) = resign(&|m| m.record.task.level = None);
    let codes = field_codes(&x, &xlog);
    assert_eq!(codes, [("task_level".to_string(), "required".to_string())]);
    // A format this bureau does not know is refused as such.
    let (x, xlog) = resign(&|m| m.format = 3);
    assert_eq!(verify_lead(&x, &xlog), Err(VerifyError::UnknownFormat(3)));
}

#[test]
fn a_shop_on_a_platform_names_the_platform_and_only_it() {
    let k = key();
    let (m, log) = sealed(&k);
    let resign = |f: &dyn Fn(&mut Manifest)| resealed(&m, &log, &k, f);
    let shop =
        |m: &mut Manifest| m.record.business.role = fieldlead_domain::BusinessRole::EcommerceShop;
    let (x, xlog) = resign(&shop);
    assert_eq!(
        field_codes(&x, &xlog),
        [("business_platform".to_string(), "required".to_string())]
    );
    let (x, xlog) = resign(&|m| {
        shop(m);
        m.record.business.platform = Some("某某商城".into());
    });
    verify_lead(&x, &xlog).unwrap();
    // A seller in a shop on the street has no platform to name.
    let (x, xlog) = resign(&|m| m.record.business.platform = Some("某某商城".into()));
    assert_eq!(
        field_codes(&x, &xlog),
        [("record".to_string(), "not_normalised".to_string())]
    );
}

#[test]
fn a_signed_record_is_held_to_the_form_rules() {
    let k = key();
    let (m, log) = sealed(&k);
    let resign = |f: &dyn Fn(&mut Manifest)| {
        let mut mm = m.manifest.clone();
        f(&mut mm);
        field_codes(&SignedManifest::sign(mm, &k).unwrap(), &log)
    };
    let has = |found: Vec<(String, String)>, field: &str, code: &str| {
        assert!(
            found.iter().any(|(f, c)| f == field && c == code),
            "{field}/{code} not in {found:?}"
        )
    };
    // A right-to-left override would show the business name reversed in the console.
    has(
        resign(&|m| m.record.business.name = "重庆\u{202E}部营经金五".into()),
        "business_name",
        "control_character",
    );
    has(
        resign(&|m| m.record.product.name = "x".repeat(301)),
        "product_name",
        "too_long",
    );
    has(
        resign(&|m| m.record.business.name = String::new()),
        "business_name",
        "required",
    );
    has(
        resign(&|m| m.record.samplers[1] = m.record.samplers[0].clone()),
        "sampler2_credential",
        "same_sampler",
    );
    has(
        resign(&|m| m.record.business.name = " 重庆某某 ".into()),
        "record",
        "not_normalised",
    );
    has(
        resign(&|m| m.evidence[1].caption = "货架\u{0}".into()),
        "evidence[1].caption",
        "control_character",
    );
    has(
        resign(&|m| m.evidence[0].make = Some("HUAWEI\u{2066}".into())),
        "evidence[0].make",
        "control_character",
    );
    has(
        resign(&|m| m.evidence[0].format = "exe".into()),
        "evidence[0].format",
        "format",
    );
    has(
        resign(&|m| m.signoffs[2].name = "张三\u{1b}[2J".into()),
        "signoffs.business.name",
        "control_character",
    );
}

#[test]
fn evidence_and_log_beyond_their_caps_are_refused_before_any_hashing() {
    let k = key();
    let (m, log) = sealed(&k);
    let mut mm = m.manifest.clone();
    let one = mm.evidence[0].clone();
    mm.evidence = (0..=fieldlead_domain::manifest::MAX_EVIDENCE)
        .map(|i| EvidenceEntry {
            sha256: Sha256::digest(&(i as u32).to_be_bytes()),
            ..one.clone()
        })
        .collect();
    let x = SignedManifest {
        manifest: mm,
        ..m.clone()
    };
    assert!(matches!(
        verify_lead(&x, &log),
        Err(VerifyError::TooManyEvidence { .. })
    ));
    let long: Vec<SignedEntry> = std::iter::repeat_n(
        log[0].clone(),
        fieldlead_domain::manifest::MAX_LOG_ENTRIES + 1,
    )
    .collect();
    assert!(matches!(
        verify_lead(&m, &long),
        Err(VerifyError::TooManyLogEntries { .. })
    ));
}

#[test]
fn a_point_off_the_globe_is_refused_on_the_way_in() {
    let bad = r#"{"lat_e7": 900000001, "lon_e7": 0}"#;
    assert!(serde_json::from_str::<fieldlead_domain::GeoPoint>(bad).is_err());
    let good = r#"{"lat_e7": 295630000, "lon_e7": 1065510000}"#;
    assert!(serde_json::from_str::<fieldlead_domain::GeoPoint>(good).is_ok());
}
