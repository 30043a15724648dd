//! The sampler's use-cases against a real database and evidence store in a temp dir.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use fieldlead_device::{Device, DeviceError, ListQuery};
use fieldlead_domain::sample::{signature_png, terminated_draft as valid_draft};
use fieldlead_domain::{
    verify_chain, verify_lead, LeadState, LogEvent, Party, RecordDraft, SignoffKind,
};

/// A small photo-like JPEG, different for each `seed`.
fn jpeg(seed: u8) -> Vec<u8> {
    fieldlead_domain::sample::photo_sized(96, 64, seed, 90)
}

/// Both samplers sign; the business's person refuses before a witness.
fn sign_all(dev: &mut Device, id: fieldlead_domain::LeadId) {
    dev.sign(id, Party::Sampler1, &signature_png(1)).unwrap();
    dev.sign(id, Party::Sampler2, &signature_png(2)).unwrap();
    dev.record_refusal(id, "隔壁商户 刘七").unwrap();
}

fn write_jpeg(dir: &Path, name: &str, seed: u8) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, jpeg(seed)).unwrap();
    p
}

fn objects(dir: &Path) -> usize {
    walk(&dir.join(fieldlead_device::EVIDENCE_DIR).join("objects"))
}

fn walk(p: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.map(|e| {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            walk(&e.path())
        } else {
            1
        }
    })
    .sum()
}

#[test]
fn drafts_are_saved_as_edited_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let mut dev = Device::open(dir.path()).unwrap();
        let mut d = RecordDraft {
            business_name: "重庆某".into(),
            ..RecordDraft::default()
        };
        let r = dev.create_record(d.clone()).unwrap();
        d.business_name = "重庆某某五金经营部".into();
        d.product_name = "电线".into();
        dev.update_draft(r.id, d).unwrap();
        r.id
        // dropped without any "save": every edit is already committed
    };
    let dev = Device::open(dir.path()).unwrap();
    let r = dev.record(id).unwrap();
    assert_eq!(r.state, LeadState::Draft);
    assert_eq!(r.draft.business_name, "重庆某某五金经营部");
    assert_eq!(r.draft.product_name, "电线");

    let log = dev.audit_log(id).unwrap();
    assert_eq!(
        log.iter().map(|e| e.entry.event).collect::<Vec<_>>(),
        vec![LogEvent::Created, LogEvent::Edited]
    );
    // The edit entry records only what changed.
    let payload = log[1].entry.payload.as_object().unwrap();
    assert_eq!(payload.len(), 2, "{payload:?}");
    verify_chain(id, &log, &dev.public_key()).unwrap();
}

#[test]
fn an_unchanged_save_adds_no_log_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(valid_draft()).unwrap();
    dev.update_draft(r.id, valid_draft()).unwrap();
    assert_eq!(dev.audit_log(r.id).unwrap().len(), 1);
}

#[test]
fn seal_signs_a_manifest_the_bureau_verifier_accepts_then_every_edit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let photos = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(valid_draft()).unwrap();
    let a = dev
        .attach_evidence_path(r.id, &write_jpeg(photos.path(), "a.jpg", 1), "货架全景")
        .unwrap();
    let b = dev
        .attach_evidence_reader(
            r.id,
            Cursor::new(jpeg(2)),
            Some("b.jpg"),
            "产品标签，无厂名厂址",
        )
        .unwrap();
    dev.set_caption(r.id, a.sha256, "货架全景，电线堆放处")
        .unwrap();
    sign_all(&mut dev, r.id);

    let signed = dev.seal(r.id).unwrap();
    let log = dev.audit_log(r.id).unwrap();
    verify_lead(&signed, &log).unwrap();
    assert_eq!(signed.manifest.evidence.len(), 2);
    assert!(signed
        .manifest
        .evidence
        .windows(2)
        .all(|w| w[0].sha256 < w[1].sha256));
    let cap: Vec<_> = signed
        .manifest
        .evidence
        .iter()
        .map(|e| e.caption.as_str())
        .collect();
    assert!(cap.contains(&"货架全景，电线堆放处"));

    let view = dev.record(r.id).unwrap();
    assert_eq!(view.state, LeadState::Sealed);
    assert_eq!(view.manifest_hash, Some(signed.manifest_hash));
    assert_eq!(dev.manifest(r.id).unwrap(), Some(signed.clone()));

    let log_len = log.len();
    let sealed = |e: DeviceError| assert_eq!(e.code(), "record_sealed", "{e}");
    sealed(dev.update_draft(r.id, RecordDraft::default()).unwrap_err());
    sealed(
        dev.attach_evidence_reader(r.id, Cursor::new(jpeg(3)), None, "x")
            .unwrap_err(),
    );
    sealed(dev.set_caption(r.id, a.sha256, "改").unwrap_err());
    sealed(dev.remove_evidence(r.id, b.sha256).unwrap_err());
    sealed(dev.seal(r.id).unwrap_err());
    assert!(dev
        .update_draft(r.id, RecordDraft::default())
        .unwrap_err()
        .to_string()
        .contains("已锁定"));

    // Nothing changed: same manifest, same log.
    assert_eq!(dev.manifest(r.id).unwrap(), Some(signed));
    assert_eq!(dev.audit_log(r.id).unwrap().len(), log_len);
}

#[test]
fn the_database_itself_refuses_changes_to_a_sealed_record_and_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let mut dev = Device::open(dir.path()).unwrap();
        let r = dev.create_record(valid_draft()).unwrap();
        dev.attach_evidence_reader(r.id, Cursor::new(jpeg(5)), None, "标签")
            .unwrap();
        sign_all(&mut dev, r.id);
        dev.seal(r.id).unwrap();
        r.id
    };
    let conn = rusqlite::Connection::open(dir.path().join(fieldlead_device::DB_FILE)).unwrap();
    let id = id.to_string();
    for sql in [
        "UPDATE records SET draft_json = '{}' WHERE id = ?1",
        "UPDATE evidence SET caption = 'x' WHERE record_id = ?1",
        "DELETE FROM evidence WHERE record_id = ?1",
        "UPDATE audit_log SET entry_json = '{}' WHERE record_id = ?1",
        "DELETE FROM audit_log WHERE record_id = ?1",
        "DELETE FROM signoffs WHERE record_id = ?1",
    ] {
        let err = conn.execute(sql, [&id]).unwrap_err().to_string();
        assert!(
            err.contains("read-only") || err.contains("append-only"),
            "{sql}: {err}"
        );
    }
}

#[test]
fn seal_lists_every_problem_of_an_incomplete_draft_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let mut d = valid_draft();
    d.business_uscc = "914403001922038217".into();
    d.situation.clear();
    let r = dev.create_record(d).unwrap();
    dev.attach_evidence_reader(r.id, Cursor::new(jpeg(1)), None, "标签")
        .unwrap();
    match dev.seal(r.id).unwrap_err() {
        DeviceError::InvalidDraft(p) => {
            let fields: Vec<_> = p.iter().map(|x| x.field.as_str()).collect();
            assert!(
                fields.contains(&"business_uscc") && fields.contains(&"situation"),
                "{fields:?}"
            );
        }
        e => panic!("{e}"),
    }
    assert_eq!(dev.record(r.id).unwrap().state, LeadState::Draft);
    assert_eq!(dev.audit_log(r.id).unwrap().len(), 2);
}

#[test]
fn a_lead_needs_a_photo_and_every_photo_a_caption() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(valid_draft()).unwrap();
    assert_eq!(dev.seal(r.id).unwrap_err().code(), "no_evidence");
    dev.attach_evidence_reader(r.id, Cursor::new(jpeg(1)), None, "  ")
        .unwrap();
    assert_eq!(dev.seal(r.id).unwrap_err().code(), "caption_missing");
    let long = "字".repeat(fieldlead_device::MAX_CAPTION_CHARS + 1);
    assert_eq!(
        dev.attach_evidence_reader(r.id, Cursor::new(jpeg(2)), None, &long)
            .unwrap_err()
            .code(),
        "caption_too_long"
    );
}

#[test]
fn the_same_photo_twice_in_one_record_is_refused_but_stored_once_across_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r1 = dev.create_record(valid_draft()).unwrap();
    let r2 = dev.create_record(valid_draft()).unwrap();
    let x = dev
        .attach_evidence_reader(r1.id, Cursor::new(jpeg(9)), None, "标签")
        .unwrap();
    assert_eq!(
        dev.attach_evidence_reader(r1.id, Cursor::new(jpeg(9)), None, "again")
            .unwrap_err()
            .code(),
        "evidence_duplicate"
    );
    dev.attach_evidence_reader(r2.id, Cursor::new(jpeg(9)), None, "同一张")
        .unwrap();
    assert!(dev.evidence_store().contains(&x.sha256));
    // The photo and its thumbnail, once each.
    assert_eq!(objects(dir.path()), 2);
}

#[test]
fn removing_a_photo_detaches_it_and_logs_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(valid_draft()).unwrap();
    let x = dev
        .attach_evidence_reader(r.id, Cursor::new(jpeg(3)), None, "标签")
        .unwrap();
    dev.remove_evidence(r.id, x.sha256).unwrap();
    assert!(dev.record(r.id).unwrap().evidence.is_empty());
    assert_eq!(
        dev.remove_evidence(r.id, x.sha256).unwrap_err().code(),
        "evidence_not_found"
    );
    let log = dev.audit_log(r.id).unwrap();
    assert_eq!(log.last().unwrap().entry.event, LogEvent::EvidenceRemoved);
}

#[test]
fn a_bad_photo_leaves_no_row_no_log_entry_and_no_blob() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(valid_draft()).unwrap();
    let mut truncated = jpeg(4);
    truncated.truncate(truncated.len() / 2);
    for (bytes, code) in [
        (Vec::new(), "empty"),
        (b"not a photo at all".to_vec(), "not_an_image"),
        (truncated, "truncated"),
    ] {
        let e = dev
            .attach_evidence_reader(r.id, Cursor::new(bytes), None, "标签")
            .unwrap_err();
        assert_eq!(e.code(), code, "{e}");
    }
    assert!(dev.record(r.id).unwrap().evidence.is_empty());
    assert_eq!(dev.audit_log(r.id).unwrap().len(), 1);
    assert_eq!(objects(dir.path()), 0);
}

#[test]
fn a_photo_changed_in_the_store_before_sealing_stops_the_seal() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(valid_draft()).unwrap();
    let x = dev
        .attach_evidence_reader(r.id, Cursor::new(jpeg(6)), None, "标签")
        .unwrap();
    let path = dev.evidence_store().object_path(&x.sha256);
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(dev.seal(r.id).unwrap_err().code(), "evidence_damaged");
    assert_eq!(dev.record(r.id).unwrap().state, LeadState::Draft);
}

#[test]
fn list_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let mut ids = Vec::new();
    for (name, product) in [
        ("重庆甲五金店", "电线"),
        ("重庆乙电器行", "插座"),
        ("成都丙商贸", "电线"),
    ] {
        let mut d = valid_draft();
        d.business_name = name.into();
        d.product_name = product.into();
        d.task_name = "2026年第四季度抽查".into();
        ids.push(dev.create_record(d).unwrap().id);
    }
    dev.attach_evidence_reader(ids[0], Cursor::new(jpeg(1)), None, "标签")
        .unwrap();
    sign_all(&mut dev, ids[0]);
    dev.seal(ids[0]).unwrap();

    let all = dev.list(&ListQuery::default()).unwrap();
    assert_eq!(all.len(), 3);
    // Newest change first: the sealed one was touched last.
    assert_eq!(all[0].id, ids[0]);
    assert_eq!(all[0].state, LeadState::Sealed);
    assert_eq!(all[0].evidence_count, 1);

    let q = |text: &str, state| {
        dev.list(&ListQuery {
            text: text.into(),
            state,
            limit: None,
        })
        .unwrap()
        .len()
    };
    assert_eq!(q("电线", None), 2);
    assert_eq!(q("重庆", None), 2);
    assert_eq!(q("电器", None), 1);
    assert_eq!(q("9144030019", None), 3);
    assert_eq!(q("", Some(LeadState::Sealed)), 1);
    assert_eq!(q("电线", Some(LeadState::Draft)), 1);
    // LIKE wildcards typed by a user are literal.
    assert_eq!(q("%", None), 0);
    assert_eq!(q("_", None), 0);
}

#[test]
fn an_older_build_refuses_a_newer_database_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    drop(Device::open(dir.path()).unwrap());
    let db = dir.path().join(fieldlead_device::DB_FILE);
    let newer = Device::schema_version() + 1;
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "user_version", newer).unwrap();
    }
    let err = Device::open(dir.path()).unwrap_err();
    assert_eq!(err.code(), "newer_database");
    assert!(err.to_string().contains("升级"), "{err}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, newer);
}

#[test]
fn wal_and_foreign_keys_are_on() {
    let dir = tempfile::tempdir().unwrap();
    drop(Device::open(dir.path()).unwrap());
    let conn = rusqlite::Connection::open(dir.path().join(fieldlead_device::DB_FILE)).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn the_device_key_is_made_once_and_readable_only_by_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let k1 = Device::open(dir.path()).unwrap().public_key();
    let k2 = Device::open(dir.path()).unwrap().public_key();
    assert_eq!(k1, k2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("device.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    std::fs::write(dir.path().join("device.key"), b"short").unwrap();
    assert_eq!(Device::open(dir.path()).unwrap_err().code(), "key_file");
}

#[test]
fn unknown_record_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let id = fieldlead_domain::LeadId::new();
    assert_eq!(dev.record(id).unwrap_err().code(), "record_not_found");
    assert_eq!(dev.seal(id).unwrap_err().code(), "record_not_found");
    assert_eq!(
        dev.attach_evidence_reader(id, Cursor::new(jpeg(1)), None, "x")
            .unwrap_err()
            .code(),
        "record_not_found"
    );
}

#[test]
fn sealing_needs_every_signoff_and_records_them_in_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(valid_draft()).unwrap();
    dev.attach_evidence_reader(r.id, Cursor::new(jpeg(1)), None, "标签")
        .unwrap();
    assert_eq!(dev.seal(r.id).unwrap_err().code(), "signoff_missing");
    dev.sign(r.id, Party::Sampler1, &signature_png(1)).unwrap();
    dev.sign(r.id, Party::Sampler2, &signature_png(2)).unwrap();
    let e = dev.seal(r.id).unwrap_err();
    assert_eq!(e.code(), "signoff_missing");
    assert!(e.to_string().contains("被抽样单位人员"), "{e}");

    // Refusal needs a witness; the business's person may then sign after all.
    assert_eq!(
        dev.record_refusal(r.id, "  ").unwrap_err().code(),
        "witness_required"
    );
    dev.record_refusal(r.id, "隔壁商户 刘七").unwrap();
    dev.sign(r.id, Party::Business, &signature_png(3)).unwrap();
    assert_eq!(dev.signoffs(r.id).unwrap().len(), 3);

    let signed = dev.seal(r.id).unwrap();
    let s = &signed.manifest.signoffs;
    assert_eq!(
        s.iter().map(|x| x.party).collect::<Vec<_>>(),
        Party::ALL.to_vec()
    );
    assert_eq!(s[0].name, "李四");
    assert_eq!(s[2].name, "张三");
    let SignoffKind::Signed { image_sha256, .. } = &s[2].signoff else {
        panic!("business signed")
    };
    assert!(dev.evidence_store().verify(image_sha256).unwrap());
}

#[test]
fn signature_images_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(valid_draft()).unwrap();
    for bad in [
        Vec::new(),
        b"<svg/>".to_vec(),
        signature_png(1)[..40].to_vec(),
    ] {
        assert_eq!(
            dev.sign(r.id, Party::Sampler1, &bad).unwrap_err().code(),
            "signature_image"
        );
    }
    assert!(dev.signoffs(r.id).unwrap().is_empty());
    dev.sign(r.id, Party::Sampler1, &signature_png(1)).unwrap();
    dev.clear_signoff(r.id, Party::Sampler1).unwrap();
    assert!(dev.signoffs(r.id).unwrap().is_empty());
    assert_eq!(
        dev.audit_log(r.id).unwrap().last().unwrap().entry.event,
        LogEvent::SignoffCleared
    );
}

#[test]
fn seal_problems_lists_what_is_left_before_sealing() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(valid_draft()).unwrap();
    let codes = |dev: &Device, d: &RecordDraft| {
        dev.seal_problems(r.id, d)
            .unwrap()
            .into_iter()
            .map(|p| p.code)
            .collect::<Vec<_>>()
    };
    let mut d = valid_draft();
    assert_eq!(
        codes(&dev, &d),
        vec![
            "no_evidence",
            "signoff_missing",
            "signoff_missing",
            "signoff_missing"
        ]
    );
    dev.attach_evidence_reader(r.id, Cursor::new(jpeg(1)), None, "")
        .unwrap();
    sign_all(&mut dev, r.id);
    assert_eq!(codes(&dev, &d), vec!["caption_missing"]);
    d.business_uscc = "123".into();
    assert_eq!(codes(&dev, &d), vec!["uscc_length", "caption_missing"]);
}

#[test]
fn a_record_takes_no_more_photos_than_the_bureau_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(valid_draft()).unwrap();
    let max = fieldlead_domain::manifest::MAX_EVIDENCE;
    for i in 0..max {
        let img = image::RgbImage::from_fn(16, 16, |x, y| {
            image::Rgb([i as u8, (i / 256) as u8, (x * 16 + y) as u8])
        });
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        dev.attach_evidence_reader(r.id, Cursor::new(png), None, "照片")
            .unwrap();
    }
    let e = dev
        .attach_evidence_reader(r.id, Cursor::new(jpeg(200)), None, "多一张")
        .unwrap_err();
    assert_eq!(e.code(), "too_many_evidence");
    assert!(e.to_string().contains(&max.to_string()));
}
