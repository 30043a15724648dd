//! The sampler's use-cases on one tablet: drafts saved as edited, evidence attached
//! with captions, sealing, and listing. Every write is one SQLite transaction that
//! also appends the signed audit entry describing it.

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use fieldlead_domain::{
    verify_lead, EvidenceEntry, FieldProblem, LeadId, LeadState, LogEvent, LogHead, Manifest,
    RecordDraft, Sha256, SignedEntry, SignedManifest, MANIFEST_FORMAT,
};
use fieldlead_evidence::Intake;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::DeviceError;
use crate::Device;

pub use fieldlead_domain::manifest::MAX_CAPTION_CHARS;

/// One photo of a record, as the app shows it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceItem {
    pub sha256: Sha256,
    pub caption: String,
    pub intake: Intake,
    pub added_at: DateTime<FixedOffset>,
}

/// A record with everything the app shows about it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordView {
    pub id: LeadId,
    pub state: LeadState,
    pub draft: RecordDraft,
    pub evidence: Vec<EvidenceItem>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    pub sealed_at: Option<DateTime<FixedOffset>>,
    pub manifest_hash: Option<Sha256>,
    pub signoffs: Vec<crate::SignoffView>,
}

pub(crate) fn parse_state(s: &str) -> Result<LeadState, DeviceError> {
    s.parse()
        .map_err(|_| DeviceError::Corrupt(format!("unknown record state {s}")))
}

pub(crate) fn parse_time(s: &str) -> Result<DateTime<FixedOffset>, DeviceError> {
    DateTime::parse_from_rfc3339(s).map_err(|e| DeviceError::Corrupt(format!("time {s}: {e}")))
}

/// Top-level draft fields whose values differ, with their new values.
fn draft_changes(old: &RecordDraft, new: &RecordDraft) -> Result<Map<String, Value>, DeviceError> {
    let (Value::Object(a), Value::Object(b)) =
        (serde_json::to_value(old)?, serde_json::to_value(new)?)
    else {
        return Err(DeviceError::Corrupt("draft is not an object".into()));
    };
    Ok(b.into_iter().filter(|(k, v)| a.get(k) != Some(v)).collect())
}

/// The format's wire name (`jpeg`, `png`, ...), as its serde form.
fn format_name(f: fieldlead_evidence::Format) -> Result<String, DeviceError> {
    match serde_json::to_value(f)? {
        Value::String(s) => Ok(s),
        other => Err(DeviceError::Corrupt(format!("format {other}"))),
    }
}

fn check_caption(caption: &str) -> Result<String, DeviceError> {
    let c = caption.trim();
    if c.chars().count() > MAX_CAPTION_CHARS {
        return Err(DeviceError::CaptionTooLong {
            max: MAX_CAPTION_CHARS,
        });
    }
    Ok(c.to_string())
}

impl Device {
    fn now(&self) -> DateTime<FixedOffset> {
        (self.clock)()
    }

    /// Starts a new record from whatever the sampler has typed so far.
    pub fn create_record(&mut self, draft: RecordDraft) -> Result<RecordView, DeviceError> {
        let id = LeadId::new();
        let now = self.now();
        let changes = draft_changes(&RecordDraft::default(), &draft)?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO records (id, state, draft_json, created_at, updated_at)
             VALUES (?1, 'draft', '{}', ?2, ?2)",
            params![id.to_string(), now.to_rfc3339()],
        )?;
        write_draft(&tx, id, &draft)?;
        record_change(
            &tx,
            &self.key,
            id,
            now,
            LogEvent::Created,
            Value::Object(changes),
        )?;
        tx.commit()?;
        self.record(id)
    }

    /// Saves the draft as edited. Refused once the record is sealed.
    pub fn update_draft(
        &mut self,
        id: LeadId,
        draft: RecordDraft,
    ) -> Result<RecordView, DeviceError> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        let old = editable_draft(&tx, id)?;
        let changes = draft_changes(&old, &draft)?;
        if !changes.is_empty() {
            write_draft(&tx, id, &draft)?;
            record_change(
                &tx,
                &self.key,
                id,
                now,
                LogEvent::Edited,
                Value::Object(changes),
            )?;
        }
        tx.commit()?;
        self.record(id)
    }

    /// Takes a photo file into the evidence store and attaches it with a caption.
    pub fn attach_evidence_path(
        &mut self,
        id: LeadId,
        path: &Path,
        caption: &str,
    ) -> Result<EvidenceItem, DeviceError> {
        let caption = check_caption(caption)?;
        self.ensure_editable(id)?;
        let intake = self.store.intake_path(path)?;
        self.attach(id, intake, caption)
    }

    /// Takes a photo from a byte stream (the camera) and attaches it.
    pub fn attach_evidence_reader(
        &mut self,
        id: LeadId,
        reader: impl Read,
        name_hint: Option<&str>,
        caption: &str,
    ) -> Result<EvidenceItem, DeviceError> {
        let caption = check_caption(caption)?;
        self.ensure_editable(id)?;
        let intake = self.store.intake_reader(reader, name_hint)?;
        self.attach(id, intake, caption)
    }

    pub(crate) fn ensure_editable(&self, id: LeadId) -> Result<(), DeviceError> {
        let state: Option<String> = self
            .conn
            .query_row(
                "SELECT state FROM records WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match state.as_deref() {
            None => Err(DeviceError::RecordNotFound(id)),
            Some("draft") => Ok(()),
            Some(_) => Err(DeviceError::Sealed(id)),
        }
    }

    fn attach(
        &mut self,
        id: LeadId,
        intake: Intake,
        caption: String,
    ) -> Result<EvidenceItem, DeviceError> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        editable_draft(&tx, id)?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM evidence WHERE record_id = ?1 AND sha256 = ?2)",
            params![id.to_string(), intake.sha256.to_hex()],
            |r| r.get(0),
        )?;
        if exists {
            return Err(DeviceError::EvidenceDuplicate(intake.sha256));
        }
        // The bureau refuses a lead with more; say so now, not at sealing.
        let count: i64 = tx.query_row(
            "SELECT COUNT(*) FROM evidence WHERE record_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        if count as usize >= fieldlead_domain::manifest::MAX_EVIDENCE {
            return Err(DeviceError::TooManyEvidence {
                max: fieldlead_domain::manifest::MAX_EVIDENCE,
            });
        }
        tx.execute(
            "INSERT INTO evidence (record_id, sha256, caption, intake_json, added_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                id.to_string(),
                intake.sha256.to_hex(),
                caption,
                serde_json::to_string(&intake)?,
                now.to_rfc3339()
            ],
        )?;
        let payload = serde_json::json!({
            "sha256": intake.sha256,
            "caption": caption,
            "bytes": intake.bytes,
            "format": intake.format,
        });
        record_change(&tx, &self.key, id, now, LogEvent::EvidenceAdded, payload)?;
        tx.commit()?;
        Ok(EvidenceItem {
            sha256: intake.sha256,
            caption,
            intake,
            added_at: now,
        })
    }

    /// Changes what a photo is said to show.
    pub fn set_caption(
        &mut self,
        id: LeadId,
        sha256: Sha256,
        caption: &str,
    ) -> Result<(), DeviceError> {
        let caption = check_caption(caption)?;
        let now = self.now();
        let tx = self.conn.transaction()?;
        editable_draft(&tx, id)?;
        let old: Option<String> = tx
            .query_row(
                "SELECT caption FROM evidence WHERE record_id = ?1 AND sha256 = ?2",
                params![id.to_string(), sha256.to_hex()],
                |r| r.get(0),
            )
            .optional()?;
        match old {
            None => return Err(DeviceError::EvidenceNotFound(sha256)),
            Some(old) if old == caption => return Ok(()),
            Some(_) => {}
        }
        tx.execute(
            "UPDATE evidence SET caption = ?3 WHERE record_id = ?1 AND sha256 = ?2",
            params![id.to_string(), sha256.to_hex(), caption],
        )?;
        let payload = serde_json::json!({"sha256": sha256, "caption": caption});
        record_change(&tx, &self.key, id, now, LogEvent::CaptionChanged, payload)?;
        tx.commit()?;
        Ok(())
    }

    /// Detaches a photo from a draft. The stored bytes stay: the audit log still
    /// names them, and content-addressed blobs may be shared by other records.
    pub fn remove_evidence(&mut self, id: LeadId, sha256: Sha256) -> Result<(), DeviceError> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        editable_draft(&tx, id)?;
        let n = tx.execute(
            "DELETE FROM evidence WHERE record_id = ?1 AND sha256 = ?2",
            params![id.to_string(), sha256.to_hex()],
        )?;
        if n == 0 {
            return Err(DeviceError::EvidenceNotFound(sha256));
        }
        record_change(
            &tx,
            &self.key,
            id,
            now,
            LogEvent::EvidenceRemoved,
            serde_json::json!({"sha256": sha256}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Everything that would stop [`Device::seal`] now, for the form to show before the
    /// sampler presses "seal": the draft's field problems (of `draft`, which may be
    /// newer than the saved one), missing photos and captions, missing signoffs.
    pub fn seal_problems(
        &self,
        id: LeadId,
        draft: &RecordDraft,
    ) -> Result<Vec<FieldProblem>, DeviceError> {
        self.record_exists(id)?;
        let mut problems = draft.validate(id).err().unwrap_or_default();
        let items = load_evidence(&self.conn, id)?;
        let problem = |field: &str, e: DeviceError| FieldProblem {
            field: field.to_string(),
            code: e.code().to_string(),
            message: e.to_string(),
        };
        if draft.outcome == Some(fieldlead_domain::OutcomeKind::Terminated) && items.is_empty() {
            problems.push(problem("evidence", DeviceError::NoEvidence));
        }
        for (i, item) in items.iter().enumerate() {
            if item.caption.trim().is_empty() {
                problems.push(problem("evidence", DeviceError::CaptionMissing(i + 1)));
            }
        }
        let signed = crate::signoffs::load_signoffs(&self.conn, id)?;
        for party in fieldlead_domain::Party::ALL {
            if !signed.iter().any(|s| s.party == party) {
                problems.push(problem("signoffs", DeviceError::SignoffMissing(party)));
            }
        }
        Ok(problems)
    }

    /// Seals the record: validates it, checks every photo against its hash, signs the
    /// manifest and closes the audit log. From then on the record is read-only.
    pub fn seal(&mut self, id: LeadId) -> Result<SignedManifest, DeviceError> {
        let now = self.now();
        let device_key = self.key.public_key();
        let tx = self.conn.transaction()?;
        let draft = editable_draft(&tx, id)?;
        let record = draft.validate(id).map_err(DeviceError::InvalidDraft)?;
        let items = load_evidence(&tx, id)?;
        if record.outcome.is_lead() && items.is_empty() {
            return Err(DeviceError::NoEvidence);
        }
        for (i, item) in items.iter().enumerate() {
            if item.caption.trim().is_empty() {
                return Err(DeviceError::CaptionMissing(i + 1));
            }
            if !self.store.verify(&item.sha256)? {
                return Err(DeviceError::EvidenceDamaged(item.sha256));
            }
        }
        let signoffs = crate::signoffs::manifest_signoffs(&tx, id, &draft)?;
        for s in &signoffs {
            if let fieldlead_domain::SignoffKind::Signed { image_sha256, .. } = &s.signoff {
                if !self.store.verify(image_sha256)? {
                    return Err(DeviceError::EvidenceDamaged(*image_sha256));
                }
            }
        }
        let log = load_log(&tx, id)?;
        let manifest = manifest_of(device_key, record, &items, signoffs, &log, now)?;
        let signed = SignedManifest::sign(manifest, &self.key)
            .map_err(|e| DeviceError::Corrupt(e.to_string()))?;
        let seal_entry = record_change(
            &tx,
            &self.key,
            id,
            now,
            LogEvent::Sealed,
            serde_json::json!({"manifest_hash": signed.manifest_hash}),
        )?;
        if signed.manifest.record.outcome.is_lead() {
            // Check our own output with the verifier the bureau runs, before it is final.
            let mut full = log;
            full.push(seal_entry);
            verify_lead(&signed, &full)?;
        }
        tx.execute(
            "UPDATE records SET state = 'sealed', manifest_json = ?2, manifest_hash = ?3, sealed_at = ?4, updated_at = ?4 WHERE id = ?1",
            params![
                id.to_string(),
                serde_json::to_string(&signed)?,
                signed.manifest_hash.to_hex(),
                now.to_rfc3339()
            ],
        )?;
        tx.commit()?;
        Ok(signed)
    }

    /// The manifest of draft `id` as it stands, unsigned, for the transfer form's
    /// preview before locking: its record by the rules sealing applies (a draft
    /// with problems is refused with them), its photos as captioned so far, the
    /// signoffs taken so far. Nothing is written. Also returns the photos, whose
    /// thumbnails the preview prints.
    pub(crate) fn draft_manifest(
        &self,
        id: LeadId,
    ) -> Result<(Manifest, Vec<EvidenceItem>), DeviceError> {
        let draft = editable_draft(&self.conn, id)?;
        let record = draft.validate(id).map_err(DeviceError::InvalidDraft)?;
        let items = load_evidence(&self.conn, id)?;
        let signoffs = crate::signoffs::signoffs_so_far(&self.conn, id, &draft)?;
        let log = load_log(&self.conn, id)?;
        let manifest = manifest_of(
            self.key.public_key(),
            record,
            &items,
            signoffs,
            &log,
            self.now(),
        )?;
        Ok((manifest, items))
    }

    /// One record with its photos.
    pub fn record(&self, id: LeadId) -> Result<RecordView, DeviceError> {
        let row = self
            .conn
            .query_row(
                "SELECT state, draft_json, created_at, updated_at, sealed_at, manifest_hash FROM records WHERE id = ?1",
                [id.to_string()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                },
            )
            .optional()?
            .ok_or(DeviceError::RecordNotFound(id))?;
        Ok(RecordView {
            id,
            state: parse_state(&row.0)?,
            draft: serde_json::from_str(&row.1)?,
            evidence: load_evidence(&self.conn, id)?,
            signoffs: crate::signoffs::load_signoffs(&self.conn, id)?,
            created_at: parse_time(&row.2)?,
            updated_at: parse_time(&row.3)?,
            sealed_at: row.4.as_deref().map(parse_time).transpose()?,
            manifest_hash: row
                .5
                .map(|h| {
                    h.parse()
                        .map_err(|_| DeviceError::Corrupt(format!("manifest hash {h}")))
                })
                .transpose()?,
        })
    }

    /// The sealed manifest of a record, if sealed.
    pub fn manifest(&self, id: LeadId) -> Result<Option<SignedManifest>, DeviceError> {
        let json: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT manifest_json FROM records WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        match json {
            None => Err(DeviceError::RecordNotFound(id)),
            Some(None) => Ok(None),
            Some(Some(j)) => Ok(Some(serde_json::from_str(&j)?)),
        }
    }

    /// The record's audit log, oldest first.
    pub fn audit_log(&self, id: LeadId) -> Result<Vec<SignedEntry>, DeviceError> {
        self.record_exists(id)?;
        load_log(&self.conn, id)
    }

    fn record_exists(&self, id: LeadId) -> Result<(), DeviceError> {
        let found: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM records WHERE id = ?1)",
            [id.to_string()],
            |r| r.get(0),
        )?;
        if found {
            Ok(())
        } else {
            Err(DeviceError::RecordNotFound(id))
        }
    }
}

/// The manifest of a record with these photos and signoffs, pinned to the
/// head of its log.
fn manifest_of(
    device_key: fieldlead_domain::PublicKey,
    record: fieldlead_domain::Record,
    items: &[EvidenceItem],
    signoffs: Vec<fieldlead_domain::Signoff>,
    log: &[SignedEntry],
    now: DateTime<FixedOffset>,
) -> Result<Manifest, DeviceError> {
    let id = record.id;
    let mut evidence = Vec::with_capacity(items.len());
    for item in items {
        let x = &item.intake;
        evidence.push(EvidenceEntry {
            sha256: item.sha256,
            bytes: x.bytes,
            format: format_name(x.format)?,
            caption: item.caption.clone(),
            width: x.width,
            height: x.height,
            exif_datetime: x.exif.datetime_original.clone(),
            exif_offset: x.exif.offset_time_original.clone(),
            exif_gps: x.exif.gps,
            make: x.exif.make.clone(),
            model: x.exif.model.clone(),
            phash: x.phash.map(|p| format!("{p:016x}")),
            added_at: item.added_at,
        });
    }
    evidence.sort_by_key(|e| e.sha256);
    let head = log
        .last()
        .ok_or_else(|| DeviceError::Corrupt(format!("record {id} has no audit log")))?;
    Ok(Manifest {
        format: MANIFEST_FORMAT,
        lead_id: id,
        device_key,
        record,
        evidence,
        signoffs,
        log_head: LogHead {
            seq: head.entry.seq,
            entry_hash: head.entry_hash,
        },
        sealed_at: now,
    })
}

pub(crate) fn editable_draft(conn: &Connection, id: LeadId) -> Result<RecordDraft, DeviceError> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT state, draft_json FROM records WHERE id = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        None => Err(DeviceError::RecordNotFound(id)),
        Some((state, _)) if state != LeadState::Draft.as_str() => Err(DeviceError::Sealed(id)),
        Some((_, json)) => Ok(serde_json::from_str(&json)?),
    }
}

fn load_evidence(
    conn: &rusqlite::Connection,
    id: LeadId,
) -> Result<Vec<EvidenceItem>, DeviceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT sha256, caption, intake_json, added_at FROM evidence WHERE record_id = ?1 ORDER BY added_at, sha256",
    )?;
    let rows = stmt.query_map([id.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (sha, caption, intake, added_at) = row?;
        out.push(EvidenceItem {
            sha256: sha
                .parse()
                .map_err(|_| DeviceError::Corrupt(format!("evidence hash {sha}")))?,
            caption,
            intake: serde_json::from_str(&intake)?,
            added_at: parse_time(&added_at)?,
        });
    }
    Ok(out)
}

fn load_log(conn: &rusqlite::Connection, id: LeadId) -> Result<Vec<SignedEntry>, DeviceError> {
    let mut stmt =
        conn.prepare_cached("SELECT entry_json FROM audit_log WHERE record_id = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([id.to_string()], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row?)?);
    }
    Ok(out)
}

/// Stores a draft with the copies of its fields that lists and searches read.
fn write_draft(tx: &Transaction<'_>, id: LeadId, draft: &RecordDraft) -> Result<(), DeviceError> {
    tx.execute(
        "UPDATE records SET draft_json = ?2, business_name = ?3, business_uscc = ?4,
         product_name = ?5, task_name = ?6 WHERE id = ?1",
        params![
            id.to_string(),
            serde_json::to_string(draft)?,
            draft.business_name.trim(),
            draft.business_uscc.trim(),
            draft.product_name.trim(),
            draft.task_name.trim(),
        ],
    )?;
    Ok(())
}

/// Every change to a record, in the caller's transaction: signed into the
/// record's hash-chained audit log, and its `updated_at` moved to `now`.
pub(crate) fn record_change(
    tx: &Transaction<'_>,
    key: &fieldlead_domain::SigningKey,
    id: LeadId,
    now: DateTime<FixedOffset>,
    event: LogEvent,
    payload: Value,
) -> Result<SignedEntry, DeviceError> {
    tx.execute(
        "UPDATE records SET updated_at = ?2 WHERE id = ?1",
        params![id.to_string(), now.to_rfc3339()],
    )?;
    append_log(tx, key, id, now, event, payload)
}

fn append_log(
    tx: &Transaction<'_>,
    key: &fieldlead_domain::SigningKey,
    id: LeadId,
    now: DateTime<FixedOffset>,
    event: LogEvent,
    payload: Value,
) -> Result<SignedEntry, DeviceError> {
    let prev: Option<String> = tx
        .query_row(
            "SELECT entry_json FROM audit_log WHERE record_id = ?1 ORDER BY seq DESC LIMIT 1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    let prev: Option<SignedEntry> = prev.map(|j| serde_json::from_str(&j)).transpose()?;
    let entry = SignedEntry::next(prev.as_ref(), id, now, event, payload, key)
        .map_err(|e| DeviceError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO audit_log (record_id, seq, entry_json) VALUES (?1, ?2, ?3)",
        params![
            id.to_string(),
            entry.entry.seq as i64,
            serde_json::to_string(&entry)?
        ],
    )?;
    Ok(entry)
}
