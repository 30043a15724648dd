//! One story every storage backend must tell the same way (after atuin's
//! `db_story`): districts and their users, sessions, enrolment, leads and their
//! blobs counted per district, receipts, handling as compare-and-set, and the audit
//! log scoped by district. It runs against the embedded SQLite backend and
//! against a real PostgreSQL started for the test. Beside it, the blob story:
//! resumable, verified uploads across instances, on the data folder and on a
//! real S3-compatible server started for the test.

mod support;

use chrono::{Duration, Utc};
use fieldlead_bureau::blobs::s3::S3BlobStore;
use fieldlead_bureau::blobs::{BlobStore, LocalBlobStore};
use fieldlead_bureau::model::{CaseReport, ReportKind, ServiceRecord};
use fieldlead_bureau::model::{EnrolledDevice, Handling};
use std::sync::Arc;

use fieldlead_bureau::storage::{
    self, AuditEntry, BlobHolder, CaseFilter, Counter, CounterRule, DocumentInsert,
    EnforcementFilter, Enrolment, IssuedDocument, LeadFilter, LeadInsert, NewCase, NewDevice,
    NewLead, NewTransfer, NewUser, Role, Scope, Storage, Transfer,
};
use fieldlead_bureau::{BureauError, StorageError};
use fieldlead_domain::postprocess::{
    Case, CaseState, Closure, Document, EnforcementAnswer, Recipient, ServiceDetails,
    ServiceMethod, ServiceProof, Verdict,
};
use fieldlead_domain::{
    BlobKind, BlobRef, CanonicalUpload, DeviceId, LeadId, LeadState, Receipt, ReceiptBody, Sha256,
    SigningKey, RECEIPT_FORMAT,
};
use fieldlead_domain::{CaseId, DocumentId, TransferId};

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
    let sealed = support::seal_as(id, &SigningKey::from_seed(&[7; 32]), &[], support::draft());
    NewLead {
        id,
        district_id,
        device_id: device,
        manifest_hash: sealed.upload.manifest.manifest_hash,
        upload: CanonicalUpload::of(&sealed.upload).unwrap(),
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

fn new_code(s: &dyn Storage, district_id: i64, code: &str) {
    s.create_enrolment_code(
        code,
        district_id,
        Utc::now() + Duration::hours(1),
        entry("code"),
    )
    .unwrap();
}

fn enrolment(district_id: i64, code: &str, seed: u8) -> Enrolment {
    Enrolment {
        device: NewDevice {
            id: DeviceId::new(),
            public_key: SigningKey::from_seed(&[seed; 32]).public_key(),
            token_hash: format!("token-{code}"),
            label: format!("平板 {seed}"),
        },
        district_id,
        returning: false,
    }
}

/// Enrols a new device with a fresh code of the district.
fn enrol(s: &dyn Storage, district_id: i64, code: &str, seed: u8) -> EnrolledDevice {
    new_code(s, district_id, code);
    s.enrol_device(code, enrolment(district_id, code, seed), entry("enrol"))
        .unwrap()
        .expect("a fresh code enrols")
}

fn receipt(id: LeadId, device: DeviceId, n: u8) -> Receipt {
    Receipt::sign(
        ReceiptBody {
            format: RECEIPT_FORMAT,
            lead_id: id,
            device_id: device,
            district: "yuzhong".into(),
            manifest_hash: Sha256::digest(&[n]),
            blobs: vec![],
            received_at: Utc::now(),
            completed_at: Utc::now(),
        },
        &SigningKey::from_seed(&[9; 32]),
    )
    .unwrap()
}

fn story(s: &dyn Storage) {
    counters(s);
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
                display_name: "承办人员".into(),
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
    s.create_session("old", officer.id, "c", now, now + Duration::hours(1))
        .unwrap();
    assert_eq!(s.delete_expired_sessions(now).unwrap(), 0);
    assert_eq!(
        s.delete_expired_sessions(now + Duration::hours(2)).unwrap(),
        1
    );
    assert!(s.session("old", now).unwrap().is_none());

    // Enrolment: a code works once, for its own district only; a key is one
    // device (a race for it is a conflict) and nothing is written then.
    let dev_a = enrol(s, a.id, "code-1", 1);
    assert_eq!(
        s.enrolment_code_district("code-1", Utc::now()).unwrap(),
        None
    );
    assert!(s
        .enrol_device("code-1", enrolment(a.id, "code-1", 9), entry("enrol"))
        .unwrap()
        .is_none());
    new_code(s, a.id, "code-2");
    assert_eq!(
        s.enrolment_code_district("code-2", Utc::now()).unwrap(),
        Some(a.id)
    );
    assert!(s
        .enrol_device("code-2", enrolment(b.id, "code-2", 8), entry("enrol"))
        .unwrap()
        .is_none());
    assert!(matches!(
        s.enrol_device("code-2", enrolment(a.id, "code-2", 1), entry("enrol")),
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(
        s.enrolment_code_district("code-2", Utc::now()).unwrap(),
        Some(a.id),
        "a refused enrolment leaves the code unspent"
    );
    let key_a = SigningKey::from_seed(&[1; 32]).public_key();
    assert_eq!(
        s.device_by_key(&key_a).unwrap().map(|d| d.id),
        Some(dev_a.id)
    );
    let dev_b = enrol(s, b.id, "code-3", 2);
    assert_eq!(
        s.device_by_token("token-code-1").unwrap().unwrap().id,
        dev_a.id
    );
    assert_eq!(s.devices(Scope::District(a.id)).unwrap().len(), 1);
    assert_eq!(s.devices(Scope::All).unwrap().len(), 2);

    // Leads: stored once; the same again is Same, another under the id a Conflict.
    let photo = (Sha256::digest(b"photo"), 5);
    let id_a = LeadId::new();
    let (inserted, held) = s
        .insert_lead(lead(id_a, a.id, dev_a.id, &[photo]), entry("lead"))
        .unwrap();
    assert_eq!(inserted, LeadInsert::Created);
    // The lead's blobs come back with the insert, none held yet.
    assert_eq!(
        held.iter()
            .map(|b| (b.sha256, b.present))
            .collect::<Vec<_>>(),
        [(photo.0, false)]
    );
    assert!(matches!(
        s.insert_lead(lead(id_a, a.id, dev_a.id, &[photo]), entry("lead"))
            .unwrap()
            .0,
        LeadInsert::Same { .. }
    ));
    let mut other = lead(id_a, a.id, dev_a.id, &[photo]);
    other.manifest_hash = Sha256::digest(b"other");
    assert_eq!(
        s.insert_lead(other, entry("lead")).unwrap().0,
        LeadInsert::Conflict
    );
    // Neither the repeat nor the refused one wrote a second row of blobs.
    assert_eq!(s.lead_blobs(id_a).unwrap().len(), 1);
    assert_eq!(s.expected_blob(photo.0, a.id).unwrap(), Some(5));
    assert_eq!(s.expected_blob(photo.0, b.id).unwrap(), None);
    let (stored, sent) = s
        .lead_and_device_count(id_a, dev_a.id, Utc::now() - Duration::hours(1))
        .unwrap();
    assert_eq!((stored.map(|l| l.id), sent), (Some(id_a), 1));
    let (stored, sent) = s
        .lead_and_device_count(LeadId::new(), dev_a.id, Utc::now() + Duration::hours(1))
        .unwrap();
    assert_eq!((stored.map(|l| l.id), sent), (None, 0));

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
    // Its background analysis is claimed by one instance at a time; a claim
    // that ran out (the instance died) is taken by another; a done one by none.
    assert!(s.claim_analysis(photo.0, "one", 1_000, 600).unwrap());
    assert!(!s.claim_analysis(photo.0, "two", 1_500, 600).unwrap());
    assert!(s.claim_analysis(photo.0, "two", 1_601, 600).unwrap());
    let absent = Sha256::digest(b"never received");
    assert!(!s.claim_analysis(absent, "two", 0, 1).unwrap());
    s.set_blob_analysis(photo.0, &Default::default(), Utc::now())
        .unwrap();
    assert!(!s.claim_analysis(photo.0, "three", 999_999, 600).unwrap());
    assert_eq!(s.blob_uses(photo.0).unwrap().len(), 2);

    // Receipt: once, with the handling it brings, compare-and-set.
    let sealed = s.lead(id_a).unwrap().unwrap().handling;
    assert_eq!(sealed.state, LeadState::Sealed);
    let delivered = Handling {
        state: LeadState::Delivered,
        ..sealed.clone()
    };
    let first = receipt(id_a, dev_a.id, 1);
    assert!(s
        .complete_lead(id_a, &first, &sealed, &delivered, entry("delivered"))
        .unwrap());
    assert!(!s
        .complete_lead(
            id_a,
            &receipt(id_a, dev_a.id, 2),
            &sealed,
            &delivered,
            entry("delivered")
        )
        .unwrap());
    let row = s.lead(id_a).unwrap().unwrap();
    assert_eq!(row.handling.state, LeadState::Delivered);
    assert_eq!(row.receipt, Some(first));
    assert!(row.completed_at.is_some());
    // A stale handling refuses the receipt too, and writes nothing.
    assert!(s
        .complete_lead(
            id_b,
            &receipt(id_b, dev_b.id, 3),
            &delivered,
            &delivered,
            entry("x")
        )
        .is_err());
    assert!(s.lead(id_b).unwrap().unwrap().receipt.is_none());
    // Overdue is the service's rule; storage filters by state and completion.
    let overdue = LeadFilter {
        state: Some(LeadState::Delivered),
        completed_before: Some(Utc::now() + Duration::minutes(1)),
        ..LeadFilter::default()
    };
    let ids: Vec<_> = s
        .leads(Scope::All, &overdue)
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(ids, vec![id_a]);

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
    // A revoked device returns under its old id, with a new token; an active one
    // cannot.
    new_code(s, b.id, "code-4");
    let mut back = enrolment(b.id, "code-4", 2);
    back.device.id = dev_b.id;
    back.returning = true;
    let returned = s
        .enrol_device("code-4", back.clone(), entry("reenrol"))
        .unwrap()
        .unwrap();
    assert_eq!((returned.id, returned.revoked_at), (dev_b.id, None));
    assert_eq!(
        s.device_by_token("token-code-4").unwrap().map(|d| d.id),
        Some(dev_b.id)
    );
    assert!(s.device_by_token("token-code-3").unwrap().is_none());
    new_code(s, b.id, "code-5");
    back.device.token_hash = "token-5".into();
    assert!(matches!(
        s.enrol_device("code-5", back, entry("reenrol")),
        Err(StorageError::Conflict(_))
    ));

    // 后处理 cases: all or none, by report number; compare-and-set; scoped.
    let result = |no: &str| {
        fieldlead_domain::sample::inspection_result(
            no,
            Verdict::Fail,
            chrono::NaiveDate::from_ymd_opt(2026, 9, 10).unwrap(),
        )
    };

    let new_case = |no: &str, district_id| NewCase {
        id: CaseId::new(),
        district_id,
        result: result(no),
        case: Case::new(
            Verdict::Fail,
            chrono::NaiveDate::from_ymd_opt(2026, 9, 10).unwrap(),
            false,
        ),
        audit: entry("case"),
    };
    let first = new_case("R-1", a.id);
    let case_id = first.id;
    assert_eq!(
        s.insert_cases(vec![first, new_case("R-2", b.id)]).unwrap(),
        Ok(())
    );
    assert_eq!(
        s.insert_cases(vec![new_case("R-3", a.id), new_case("R-1", a.id)])
            .unwrap(),
        Err(vec!["R-1".to_string()])
    );
    let all = s.cases(Scope::All, &CaseFilter::default()).unwrap();
    assert_eq!(all.len(), 2, "R-3 was not written");
    assert_eq!(
        s.cases(Scope::District(a.id), &CaseFilter::default())
            .unwrap()
            .len(),
        1
    );
    let held = s.case(case_id).unwrap().unwrap();
    assert_eq!(held.result, result("R-1"));
    let mut closed = held.case.clone();
    closed.state = CaseState::Closed {
        on: chrono::NaiveDate::from_ymd_opt(2026, 9, 20).unwrap(),
        why: Closure::Rectified,
    };
    let service = ServiceRecord {
        document: Document::ResultNotice,
        recipient: Recipient::Business,
        served_on: chrono::NaiveDate::from_ymd_opt(2026, 9, 12).unwrap(),
        details: ServiceDetails::new(
            ServiceMethod::Direct,
            "李四",
            ServiceProof::Scan {
                sha256: Sha256::digest(b"scan"),
            },
        )
        .unwrap(),
        recorded_at: Utc::now(),
        recorded_by: "officer_a".into(),
        issued: None,
    };
    assert!(s
        .update_case(
            case_id,
            &held.case,
            &closed,
            Some(&service),
            entry("case step")
        )
        .unwrap());
    // A stale `before` writes neither the case nor its service.
    assert!(!s
        .update_case(
            case_id,
            &held.case,
            &closed,
            Some(&service),
            entry("case step")
        )
        .unwrap());
    let stored = s.case(case_id).unwrap().unwrap();
    assert_eq!(stored.services.len(), 1);
    assert_eq!(stored.services[0].details, service.details);
    assert_eq!(stored.services[0].served_on, service.served_on);
    let open = CaseFilter {
        open_only: true,
        ..CaseFilter::default()
    };
    assert_eq!(
        s.cases(Scope::All, &open).unwrap().len(),
        1,
        "a closed case is not open"
    );

    // 后处理 documents: numbered per issuer and year, a number used once, a
    // document corrected once; report files once per case.
    let doc = |seq: u32, supersedes: Option<DocumentId>| {
        let data = fieldlead_forms::sample::notice(Document::ResultNotice);
        IssuedDocument {
            id: DocumentId::new(),
            case_id,
            document: Document::ResultNotice,
            recipient: Recipient::Business,
            issuer_key: "yuzhong".into(),
            year: 2026,
            seq,
            number: format!("渝中市监〔2026〕{seq}号"),
            data_sha256: fieldlead_forms::notice_data_sha256(&data),
            data,
            pdf_sha256: Sha256::digest(format!("pdf {seq}").as_bytes()),
            correction: supersedes.map(|_| "名称有误".to_string()),
            supersedes,
            superseded_by: None,
            issued_at: Utc::now(),
            issued_by: "officer_a".into(),
        }
    };
    assert_eq!(s.next_document_seq("yuzhong", 2026).unwrap(), 1);
    let first = doc(1, None);
    assert_eq!(
        s.insert_document(&first, entry("document")).unwrap(),
        DocumentInsert::Inserted
    );
    assert_eq!(s.next_document_seq("yuzhong", 2026).unwrap(), 2);
    assert_eq!(s.next_document_seq("city", 2026).unwrap(), 1);
    assert_eq!(s.next_document_seq("yuzhong", 2027).unwrap(), 1);
    assert_eq!(
        s.insert_document(&doc(1, None), entry("document")).unwrap(),
        DocumentInsert::NumberTaken
    );
    // A second valid one of the same kind for the same case and recipient: only
    // as a correction.
    assert_eq!(
        s.insert_document(&doc(2, None), entry("document")).unwrap(),
        DocumentInsert::AlreadyIssued
    );
    let second = doc(2, Some(first.id));
    assert_eq!(
        s.insert_document(&second, entry("document")).unwrap(),
        DocumentInsert::Inserted
    );
    assert_eq!(
        s.insert_document(&doc(3, Some(first.id)), entry("document"))
            .unwrap(),
        DocumentInsert::AlreadySuperseded
    );
    let stored = s.document(first.id).unwrap().unwrap();
    assert_eq!(stored.superseded_by, Some(second.id));
    assert_eq!(stored.data, first.data);
    assert_eq!(s.case(case_id).unwrap().unwrap().documents.len(), 2);
    let report = CaseReport {
        kind: ReportKind::First,
        sha256: Sha256::digest(b"report"),
        file_name: "R-1.pdf".into(),
        size: 6,
        // At the precision the stores keep.
        added_at: fieldlead_bureau::service::now(),
        added_by: "officer_a".into(),
    };
    assert!(s
        .add_case_report(case_id, &report, entry("report"))
        .unwrap());
    assert!(!s
        .add_case_report(case_id, &report, entry("report"))
        .unwrap());
    assert_eq!(s.case(case_id).unwrap().unwrap().reports, vec![report]);

    // Assignment and enforcement: compare-and-set, a lead on one 附件6 only.
    assert!(s
        .assign_case(case_id, None, Some("officer_a"), entry("assign"))
        .unwrap());
    assert!(!s
        .assign_case(case_id, None, Some("officer_b"), entry("assign"))
        .unwrap());
    let mine = CaseFilter {
        assignee: Some("officer_a".into()),
        ..CaseFilter::default()
    };
    assert_eq!(s.cases(Scope::All, &mine).unwrap().len(), 1);
    let district_a = s.district_by_code("yuzhong").unwrap().unwrap();
    let transfer = |cases: Vec<CaseId>| NewTransfer {
        transfer: Transfer {
            id: TransferId::new(),
            district: district_a.clone(),
            transferred_on: chrono::NaiveDate::from_ymd_opt(2026, 9, 14).unwrap(),
            created_at: Utc::now(),
            created_by: "officer_a".into(),
        },
        audits: cases.iter().map(|_| entry("transfer")).collect(),
        cases,
    };
    assert_eq!(s.insert_transfer(transfer(vec![case_id])).unwrap(), Ok(()));
    assert_eq!(
        s.insert_transfer(transfer(vec![case_id])).unwrap(),
        Err(vec![case_id])
    );
    let leads = s
        .enforcement_leads(Scope::District(a.id), &EnforcementFilter::default())
        .unwrap();
    assert_eq!(leads.len(), 1);
    assert!(s
        .enforcement_leads(Scope::District(b.id), &EnforcementFilter::default())
        .unwrap()
        .is_empty());
    let answer = EnforcementAnswer::Declined {
        grounds: "已召回".into(),
        reason: "违法行为轻微".into(),
    };
    assert!(s
        .answer_lead(case_id, None, &answer, "enforcement_a", entry("answer"))
        .unwrap());
    assert!(
        !s.answer_lead(case_id, None, &answer, "enforcement_a", entry("answer"))
            .unwrap(),
        "a stale answer is not written"
    );
    let answered = EnforcementFilter {
        answered: Some(true),
        ..EnforcementFilter::default()
    };
    let leads = s.enforcement_leads(Scope::All, &answered).unwrap();
    assert_eq!(leads[0].answer, Some(answer));
    assert_eq!(leads[0].answered_by.as_deref(), Some("enforcement_a"));
    s.record_audit(entry("revoke")).unwrap();

    // The audit log holds every change, newest first.
    let events = s.audit_events(Scope::All, None, 1000).unwrap();
    assert!(events.len() >= 10);
    // Every refused write wrote no entry: a number taken, a second correction,
    // the same report again, a stale assignment or answer, a lead on a second list.
    let newest: Vec<&str> = events[..9].iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        newest,
        [
            "revoke",
            "answer",
            "transfer",
            "assign",
            "report",
            "document",
            "document",
            "case step",
            "case"
        ]
    );
    assert!(events.iter().any(|e| e.action == "reenrol"));
}

#[test]
fn sqlite_tells_the_story() {
    let dir = tempfile::tempdir().unwrap();
    let s = storage::open(None, dir.path()).unwrap();
    story(s.as_ref());
}

/// The storage on the PostgreSQL database at `url` (no data folder needed).
fn on_postgres(url: &str) -> Result<std::sync::Arc<dyn Storage>, StorageError> {
    storage::open(Some(url), std::path::Path::new("unused"))
}

#[test]
fn postgres_tells_the_story() {
    let pg = support::postgres::PgCluster::start();
    let url = pg.new_database();
    let s = on_postgres(&url).unwrap();
    story(s.as_ref());
    drop(s);
    // Opening it again (a second instance, a restart) migrates nothing twice.
    let again = on_postgres(&url).unwrap();
    assert_eq!(again.districts().unwrap().len(), 2);
    // The health probe follows the database: down, it says so, and no call hangs.
    again.ping().unwrap();
    drop(pg);
    assert!(again.ping().is_err());
    assert!(again.districts().is_err());
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

/// Two bureau processes on one PostgreSQL: the races SQLite's single writer
/// rules out are decided by the database, once, whichever instance asks.
#[test]
fn postgres_decides_races_between_instances_once() {
    let pg = support::postgres::PgCluster::start();
    let url = pg.new_database();
    let one = on_postgres(&url).unwrap();
    let two = on_postgres(&url).unwrap();
    let d = one
        .create_district("yuzhong", "渝中区市场监督管理局", entry("d"))
        .unwrap();
    // One enrolment code, spent by both instances at once: one device enrols.
    new_code(one.as_ref(), d.id, "race-code");
    let instances = [std::sync::Arc::clone(&one), std::sync::Arc::clone(&two)];
    let enrolled: Vec<_> = (0..8u8)
        .map(|i| {
            let s = std::sync::Arc::clone(&instances[usize::from(i % 2)]);
            std::thread::spawn(move || {
                s.enrol_device(
                    "race-code",
                    enrolment(d.id, "race-code", 40 + i),
                    entry("enrol"),
                )
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .collect();
    assert_eq!(enrolled.iter().filter(|e| e.is_some()).count(), 1);
    let device = enrolled.into_iter().flatten().next().unwrap();

    // The same acknowledgement from eight officers on two instances: one wins.
    let id = LeadId::new();
    one.insert_lead(lead(id, d.id, device.id, &[]), entry("lead"))
        .unwrap();
    let before = one.lead(id).unwrap().unwrap().handling;
    let mut after = before.clone();
    after.state = LeadState::Acknowledged;
    let won = (0..8)
        .map(|i| {
            let s = std::sync::Arc::clone(&instances[i % 2]);
            let (before, after) = (before.clone(), after.clone());
            std::thread::spawn(move || s.update_handling(id, &before, &after, entry("ack")))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap().unwrap())
        .filter(|won| *won)
        .count();
    assert_eq!(won, 1);
    let acks = two
        .audit_events(Scope::All, Some("story:ack"), 100)
        .unwrap();
    assert_eq!(acks.len(), 1, "one audit entry for the one change");

    // Forty attempts on one shared limit from two instances: all forty counted.
    let bump: CounterRule = Arc::new(|c: Option<Counter>| {
        let value = c.map_or(0, |c| c.value) + 1;
        let next = Counter {
            value,
            at_ms: 0,
            expires_ms: i64::MAX,
        };
        (Some(next), None)
    });
    (0..8)
        .map(|i| {
            let (s, bump) = (Arc::clone(&instances[i % 2]), bump.clone());
            std::thread::spawn(move || {
                for _ in 0..5 {
                    s.update_counter("login-account:1", bump.clone()).unwrap();
                }
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .for_each(|t| t.join().unwrap());
    let last: CounterRule = Arc::new(|c: Option<Counter>| (c, c.map(|c| c.value as u64)));
    assert_eq!(
        one.update_counter("login-account:1", last).unwrap(),
        Some(40)
    );
}

/// The append-only rules are the database's own, as in SQLite: raw SQL cannot
/// rewrite the audit log, a received lead or an issued document; and a
/// database migrated by a newer fieldlead is refused, not guessed at.
#[test]
fn postgres_enforces_the_append_only_rules_itself() {
    let pg = support::postgres::PgCluster::start();
    let url = pg.new_database();
    let s = on_postgres(&url).unwrap();
    let d = s
        .create_district("yuzhong", "渝中区市场监督管理局", entry("d"))
        .unwrap();
    let device = enrol(s.as_ref(), d.id, "code-1", 1);
    s.insert_lead(lead(LeadId::new(), d.id, device.id, &[]), entry("lead"))
        .unwrap();
    let raw_url = url.clone();
    std::thread::spawn(move || {
        let mut raw = postgres::Client::connect(&raw_url, postgres::NoTls).unwrap();
        for refused in [
            "UPDATE audit_events SET action = 'x'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "UPDATE leads SET manifest_hash = 'x'",
            "DELETE FROM leads",
        ] {
            assert!(raw.batch_execute(refused).is_err(), "{refused}");
        }
        // What may change still can.
        raw.batch_execute("UPDATE leads SET remark = 'x'").unwrap();
        // Uploads are compressed with lz4 where the server has it (Debian's has).
        let method: i8 = raw
            .query_one(
                "SELECT attcompression FROM pg_attribute
                 WHERE attrelid = 'leads'::regclass AND attname = 'upload_json'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(method as u8, b'l');
        raw.batch_execute(
            "INSERT INTO fieldlead_migrations (version, applied_at) VALUES ('29990101000000_future', 'x')",
        )
        .unwrap();
    })
    .join()
    .unwrap();
    assert!(s.audit_events(Scope::All, None, 100).unwrap().len() >= 3);
    drop(s);
    assert!(matches!(
        on_postgres(&url),
        Err(StorageError::NewerDatabase { .. })
    ));
}

/// Bytes that are not all alike, so a part in the wrong place changes the hash.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

fn read_all(store: &dyn BlobStore, sha: &Sha256) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut store.open(sha).unwrap(), &mut out).unwrap();
    out
}

/// A shared counter: the rule is applied in one change and its verdict returned;
/// a spent one is pruned.
fn counters(s: &dyn Storage) {
    let bump: CounterRule = Arc::new(|c: Option<Counter>| {
        let value = c.map_or(0, |c| c.value) + 1;
        let next = Counter {
            value,
            at_ms: 5,
            expires_ms: 100,
        };
        (Some(next), (value > 2).then_some(7))
    });
    assert_eq!(
        s.update_counter("login-address:10.0.0.1", bump.clone())
            .unwrap(),
        None
    );
    assert_eq!(
        s.update_counter("login-address:10.0.0.1", bump.clone())
            .unwrap(),
        None
    );
    assert_eq!(
        s.update_counter("login-address:10.0.0.1", bump.clone())
            .unwrap(),
        Some(7)
    );
    assert_eq!(
        s.update_counter("login-address:10.0.0.2", bump.clone())
            .unwrap(),
        None
    );
    let forget: CounterRule = Arc::new(|_| (None, None));
    assert_eq!(
        s.update_counter("login-address:10.0.0.2", forget).unwrap(),
        None
    );
    assert_eq!(
        s.prune_counters(100).unwrap(),
        0,
        "not spent before its time"
    );
    assert_eq!(s.prune_counters(101).unwrap(), 1);
    assert_eq!(
        s.update_counter("login-address:10.0.0.1", bump).unwrap(),
        None,
        "begins again"
    );
}

/// The story every blob store tells the same way. `instance` opens the store
/// again, as another bureau process (or the same one after a restart) would.
fn blob_story(instance: &dyn Fn() -> Box<dyn BlobStore>) {
    let one = instance();
    let two = instance();
    one.ping().unwrap();

    // A small photo, resumed on another instance after its first request.
    let small = pattern(70_000, 1);
    let sha = Sha256::digest(&small);
    let mut up = one.open_upload("dev-a", &sha).unwrap();
    assert_eq!(up.offset(), 0);
    up.write(&small[..30_000]).unwrap();
    up.pause().unwrap();
    assert_eq!(two.partial_len("dev-a", &sha).unwrap(), 30_000);
    // Another uploader's partial of the same photo is its own.
    assert_eq!(two.partial_len("dev-b", &sha).unwrap(), 0);
    let mut junk = two.open_upload("dev-b", &sha).unwrap();
    junk.write(b"junk").unwrap();
    junk.pause().unwrap();
    let mut up = two.open_upload("dev-a", &sha).unwrap();
    assert_eq!(up.offset(), 30_000);
    up.write(&small[30_000..]).unwrap();
    assert!(
        !one.contains(&sha).unwrap(),
        "visible before its hash was checked"
    );
    up.finish().unwrap();
    assert!(one.contains(&sha).unwrap());
    assert!(one.verify(&sha).unwrap());
    assert_eq!(read_all(one.as_ref(), &sha), small);
    assert_eq!(one.partial_len("dev-a", &sha).unwrap(), 0);
    assert_eq!(one.partial_bytes("dev-b").unwrap(), 4);
    // Opening another upload tells the uploader's other unfinished bytes too.
    let other = Sha256::digest(b"another photo");
    let (up, others) = two.open_upload_with_others("dev-b", &other).unwrap();
    assert_eq!((up.offset(), others), (0, 4));
    up.abandon_to(0).unwrap();
    let (up, others) = two.open_upload_with_others("dev-b", &sha).unwrap();
    assert_eq!((up.offset(), others), (4, 0));
    up.pause().unwrap();

    // A second whole, correct copy is accepted and dropped.
    let mut again = one.open_upload("dev-c", &sha).unwrap();
    again.write(&small).unwrap();
    again.finish().unwrap();
    assert_eq!(one.partial_bytes("dev-c").unwrap(), 0);

    // Wrong bytes: refused, and nothing kept.
    let wrong = Sha256::digest(b"something else");
    let mut up = one.open_upload("dev-a", &wrong).unwrap();
    up.write(b"not it").unwrap();
    assert!(matches!(up.finish(), Err(BureauError::HashMismatch)));
    assert!(!one.contains(&wrong).unwrap());
    assert_eq!(one.partial_len("dev-a", &wrong).unwrap(), 0);

    // A large photo, more than three of the object store's parts, sent in
    // requests of odd sizes to alternating instances, one of which is killed
    // (the upload dropped without a pause) after its first part.
    let part = fieldlead_bureau::blobs::s3::PART_SIZE;
    let large = pattern(3 * part + part / 2 + 123, 2);
    let sha = Sha256::digest(&large);
    let mut up = one.open_upload("dev-a", &sha).unwrap();
    let killed_at = part + part / 2;
    for piece in large[..killed_at].chunks(1 << 20) {
        up.write(piece).unwrap();
    }
    drop(up);
    let held = two.partial_len("dev-a", &sha).unwrap() as usize;
    assert!(
        (part..=killed_at).contains(&held),
        "a kill after a whole part keeps at least that part: held {held}"
    );
    // A refused request goes back to where it started, even past a part.
    let mut up = two.open_upload("dev-a", &sha).unwrap();
    assert_eq!(up.offset() as usize, held);
    up.write(&large[held..held + part]).unwrap();
    up.abandon_to(held as u64).unwrap();
    assert_eq!(one.partial_len("dev-a", &sha).unwrap() as usize, held);
    // Resumed on the other instance, paused mid-part, finished on the first.
    let mut up = one.open_upload("dev-a", &sha).unwrap();
    assert_eq!(up.offset() as usize, held);
    let paused_at = held + part + 1000;
    up.write(&large[held..paused_at]).unwrap();
    up.pause().unwrap();
    assert!(
        !two.contains(&sha).unwrap(),
        "visible before its hash was checked"
    );
    assert_eq!(two.partial_len("dev-a", &sha).unwrap() as usize, paused_at);
    let mut up = two.open_upload("dev-a", &sha).unwrap();
    up.write(&large[paused_at..]).unwrap();
    up.finish().unwrap();
    assert!(one.contains(&sha).unwrap());
    assert!(one.verify(&sha).unwrap());
    assert!(
        read_all(one.as_ref(), &sha) == large,
        "large blob read back"
    );
    assert_eq!(one.partial_len("dev-a", &sha).unwrap(), 0);

    // A large upload of the wrong bytes: refused whole, nothing visible or kept.
    let claimed = Sha256::digest(b"a photo never sent");
    let mut up = one.open_upload("dev-a", &claimed).unwrap();
    up.write(&pattern(part + 10, 3)).unwrap();
    assert!(matches!(up.finish(), Err(BureauError::HashMismatch)));
    assert!(!two.contains(&claimed).unwrap());
    assert_eq!(two.partial_len("dev-a", &claimed).unwrap(), 0);

    // A revoked device's upload goes entirely.
    let mut up = one.open_upload("dev-d", &claimed).unwrap();
    up.write(&pattern(part + 10, 4)).unwrap();
    up.pause().unwrap();
    let up = two.open_upload("dev-d", &claimed).unwrap();
    up.abandon_to(0).unwrap();
    assert_eq!(one.partial_bytes("dev-d").unwrap(), 0);

    // What the bureau makes itself (thumbnails, documents).
    let made = one.put(b"a rendered document").unwrap();
    assert_eq!(made, Sha256::digest(b"a rendered document"));
    assert_eq!(read_all(two.as_ref(), &made), b"a rendered document");
    assert_eq!(two.put(b"a rendered document").unwrap(), made);

    // Abandoned partials are swept after their age, by any instance.
    assert_eq!(
        two.sweep_partials(std::time::Duration::from_secs(3600))
            .unwrap(),
        0
    );
    assert_eq!(two.partial_bytes("dev-b").unwrap(), 4);
    assert_eq!(two.sweep_partials(std::time::Duration::ZERO).unwrap(), 1);
    assert_eq!(one.partial_bytes("dev-b").unwrap(), 0);
    assert!(one.partial_len("../x", &made).is_err());
}

#[test]
fn the_local_blob_folder_tells_the_blob_story() {
    let dir = tempfile::tempdir().unwrap();
    let (blobs, uploads) = (dir.path().join("blobs"), dir.path().join("uploads"));
    blob_story(&|| Box::new(LocalBlobStore::open(&blobs, &uploads, false).unwrap()));
}

#[test]
fn the_s3_store_tells_the_blob_story() {
    let server = support::s3::S3Server::start();
    let url = server.new_bucket();
    let env = server.env();
    blob_story(&|| Box::new(S3BlobStore::open(&url, &env).unwrap()));
    // The health probe follows the object store down.
    let store = S3BlobStore::open(&url, &env).unwrap();
    store.ping().unwrap();
    drop(server);
    assert!(store.ping().is_err());
}

#[test]
fn a_wrong_object_store_is_a_clear_error() {
    let server = support::s3::S3Server::start();
    let env = server.env();
    // A bucket that does not exist: the probe says so.
    let store = S3BlobStore::open("s3://no-such-bucket/x", &env).unwrap();
    assert!(store.ping().is_err());
    // Credentials the server refuses are not mistaken for "not found".
    let url = server.new_bucket();
    let mut without_http = env.clone();
    without_http.retain(|(k, _)| k != "AWS_ALLOW_HTTP");
    let e = S3BlobStore::open(&url, &without_http)
        .and_then(|s| s.ping())
        .unwrap_err();
    assert!(!e.to_string().is_empty());
    for bad in ["s3://", "http://bucket", "s3://UPPER/x"] {
        let e = S3BlobStore::open(bad, &env).unwrap_err();
        assert!(e.to_string().contains("对象存储"), "{bad}: {e}");
    }
}
