//! One story every storage backend must tell the same way (after atuin's
//! `db_story`): districts and their users, sessions, enrolment, leads and their
//! blobs counted per district, receipts, handling as compare-and-set, and the audit
//! log scoped by district. It runs against the embedded SQLite backend here; a
//! second backend plugs into the same `story`.

use chrono::{Duration, Utc};
use fieldlead_bureau::storage::{
    self, AuditEntry, BlobHolder, EnrolOutcome, LeadFilter, LeadInsert, NewDevice, NewLead,
    NewUser, Role, Scope, Storage,
};
use fieldlead_bureau::StorageError;
use fieldlead_domain::{BlobKind, BlobRef, DeviceId, LeadId, LeadState, Sha256, SigningKey};

fn entry(action: &str) -> AuditEntry {
    AuditEntry {
        at: Utc::now(),
        actor: "cli".into(),
        district_id: None,
        action: action.into(),
        subject: format!("story:{action}"),
        before: None,
        after: None,
    }
}

fn lead(id: LeadId, district_id: i64, device: DeviceId, blobs: &[(Sha256, u64)]) -> NewLead {
    NewLead {
        id,
        district_id,
        device_id: device,
        manifest_hash: Sha256::digest(id.to_string().as_bytes()),
        upload_json: format!("{{\"lead\":\"{id}\"}}"),
        business_name: "重庆某某五金经营部".into(),
        product_name: "插座".into(),
        sealed_at: Utc::now(),
        received_at: Utc::now(),
        blobs: blobs
            .iter()
            .map(|(sha256, bytes)| BlobRef {
                sha256: *sha256,
                bytes: *bytes,
                kind: BlobKind::Photo,
            })
            .collect(),
    }
}

fn enrol(s: &dyn Storage, district_id: i64, code: &str, seed: u8) -> EnrolOutcome {
    s.create_enrolment_code(
        code,
        district_id,
        Utc::now() + Duration::hours(1),
        entry("code"),
    )
    .unwrap();
    use_code(s, code, seed)
}

fn use_code(s: &dyn Storage, code: &str, seed: u8) -> EnrolOutcome {
    s.enrol_device(
        code,
        NewDevice {
            id: DeviceId::new(),
            public_key: SigningKey::from_seed(&[seed; 32]).public_key(),
            token_hash: format!("token-{code}"),
            label: format!("平板 {seed}"),
        },
        Utc::now(),
    )
    .unwrap()
}

fn story(s: &dyn Storage) {
    // Districts: codes are unique, and a race for one is a conflict, not a crash.
    let a = s
        .create_district("yuzhong", "渝中区市场监督管理局", entry("d"))
        .unwrap();
    let b = s
        .create_district("jiangbei", "江北区市场监督管理局", entry("d"))
        .unwrap();
    assert!(matches!(
        s.create_district("yuzhong", "again", entry("d")),
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(s.district_by_code("jiangbei").unwrap(), Some(b.clone()));
    assert_eq!(s.districts().unwrap().len(), 2);

    // Users and sessions.
    let officer = s
        .add_user(
            NewUser {
                username: "officer_a".into(),
                display_name: "办案人员".into(),
                role: Role::Officer,
                district_id: Some(a.id),
                password_hash: "hash".into(),
            },
            entry("user"),
        )
        .unwrap()
        .unwrap();
    assert_eq!(officer.scope(), Scope::District(a.id));
    let taken = s
        .add_user(
            NewUser {
                username: "officer_a".into(),
                display_name: "x".into(),
                role: Role::Officer,
                district_id: Some(a.id),
                password_hash: "h".into(),
            },
            entry("user"),
        )
        .unwrap();
    assert!(taken.is_none(), "a taken name is None, not an error");
    let now = Utc::now();
    s.create_session("sess", officer.id, "csrf", now, now + Duration::hours(1))
        .unwrap();
    assert_eq!(
        s.session("sess", now).unwrap().map(|(u, c)| (u.id, c)),
        Some((officer.id, "csrf".to_string()))
    );
    assert!(s
        .session("sess", now + Duration::hours(2))
        .unwrap()
        .is_none());
    s.delete_session("sess").unwrap();
    assert!(s.session("sess", now).unwrap().is_none());

    // Enrolment: a code works once; a key is one device.
    let EnrolOutcome::Enrolled(dev_a) = enrol(s, a.id, "code-1", 1) else {
        panic!("enrolment")
    };
    assert_eq!(use_code(s, "code-1", 9), EnrolOutcome::BadCode);
    assert_eq!(enrol(s, a.id, "code-2", 1), EnrolOutcome::KeyTaken);
    let EnrolOutcome::Enrolled(dev_b) = enrol(s, b.id, "code-3", 2) else {
        panic!("enrolment")
    };
    assert_eq!(
        s.device_by_token("token-code-1").unwrap().unwrap().id,
        dev_a.id
    );
    assert_eq!(s.devices(Scope::District(a.id)).unwrap().len(), 1);
    assert_eq!(s.devices(Scope::All).unwrap().len(), 2);

    // Leads: stored once; the same again is Same, another under the id a Conflict.
    let photo = (Sha256::digest(b"photo"), 5);
    let id_a = LeadId::new();
    assert_eq!(
        s.insert_lead(lead(id_a, a.id, dev_a.id, &[photo]), entry("lead"))
            .unwrap(),
        LeadInsert::Created
    );
    assert!(matches!(
        s.insert_lead(lead(id_a, a.id, dev_a.id, &[photo]), entry("lead"))
            .unwrap(),
        LeadInsert::Same { .. }
    ));
    let mut other = lead(id_a, a.id, dev_a.id, &[photo]);
    other.manifest_hash = Sha256::digest(b"other");
    assert_eq!(
        s.insert_lead(other, entry("lead")).unwrap(),
        LeadInsert::Conflict
    );
    assert_eq!(s.expected_blob(photo.0, a.id).unwrap(), Some(5));
    assert_eq!(s.expected_blob(photo.0, b.id).unwrap(), None);
    assert_eq!(
        s.device_leads_since(dev_a.id, Utc::now() - Duration::hours(1))
            .unwrap(),
        1
    );

    // District B names the same photo in a lead of its own.
    let id_b = LeadId::new();
    s.insert_lead(lead(id_b, b.id, dev_b.id, &[photo]), entry("lead"))
        .unwrap();
    // A's upload makes A's lead complete, and nothing of B's.
    let done = s
        .blob_stored(
            photo.0,
            5,
            BlobHolder {
                district_id: a.id,
                device_id: Some(dev_a.id),
            },
            Utc::now(),
        )
        .unwrap();
    assert_eq!(done, vec![id_a]);
    assert!(s.lead_blobs(id_a).unwrap()[0].present);
    assert!(!s.lead_blobs(id_b).unwrap()[0].present);
    assert!(!s.district_holds(b.id, photo.0).unwrap());
    let summaries = s.leads(Scope::All, &LeadFilter::default()).unwrap();
    let missing = |id| summaries.iter().find(|l| l.id == id).unwrap().missing_blobs;
    assert_eq!((missing(id_a), missing(id_b)), (0, 1));
    // B's own upload: recorded once more for B, the bytes counted once.
    let done = s
        .blob_stored(
            photo.0,
            5,
            BlobHolder {
                district_id: b.id,
                device_id: Some(dev_b.id),
            },
            Utc::now(),
        )
        .unwrap();
    assert_eq!(done, vec![id_b]);
    assert_eq!(s.blob(photo.0).unwrap().unwrap().intact, Some(true));
    assert_eq!(s.blob_uses(photo.0).unwrap().len(), 2);

    // Receipt: once.
    assert!(s
        .complete_lead(id_a, "{\"receipt\":1}", entry("delivered"))
        .unwrap());
    assert!(!s
        .complete_lead(id_a, "{\"receipt\":2}", entry("delivered"))
        .unwrap());
    let row = s.lead(id_a).unwrap().unwrap();
    assert_eq!(row.handling.state, LeadState::Delivered);
    assert_eq!(row.receipt_json.as_deref(), Some("{\"receipt\":1}"));

    // Handling is compare-and-set: a stale `before` changes nothing.
    let before = row.handling.clone();
    let mut after = before.clone();
    after.state = LeadState::Acknowledged;
    assert!(s
        .update_handling(id_a, &before, &after, entry("ack"))
        .unwrap());
    assert!(!s
        .update_handling(id_a, &before, &after, entry("ack"))
        .unwrap());
    assert_eq!(
        s.lead(id_a).unwrap().unwrap().handling.state,
        LeadState::Acknowledged
    );

    // Scope: a district sees its own leads only.
    assert_eq!(
        s.leads(Scope::District(b.id), &LeadFilter::default())
            .unwrap()
            .iter()
            .map(|l| l.id)
            .collect::<Vec<_>>(),
        vec![id_b]
    );

    // Revocation happens once.
    assert!(s.revoke_device(dev_b.id, entry("revoke")).unwrap());
    assert!(!s.revoke_device(dev_b.id, entry("revoke")).unwrap());

    // The audit log holds every change, newest first.
    let events = s.audit_events(Scope::All, None, 1000).unwrap();
    assert!(events.len() >= 10);
    assert_eq!(events[0].action, "revoke");
}

#[test]
fn sqlite_tells_the_story() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage::open(None, dir.path()).unwrap();
    story(s.as_ref());
}

#[test]
fn the_storage_url_names_the_backend_and_a_wrong_one_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    storage::open(Some("sqlite:other.sqlite3"), dir.path()).unwrap();
    assert!(dir.path().join("other.sqlite3").exists());
    for bad in ["mysql://x", "sqlite:", "nonsense"] {
        let e = storage::open(Some(bad), dir.path()).unwrap_err();
        assert!(!e.to_string().is_empty(), "{bad}");
    }
}
