//! Signatures on the transfer form: both samplers sign; the business's person signs
//! or refuses (拒签) before a named witness.

use chrono::{DateTime, FixedOffset};
use fieldlead_domain::{LeadId, LogEvent, Party, RecordDraft, Signoff, SignoffKind};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use crate::error::DeviceError;
use crate::records::{editable_draft, parse_time, record_change};
use crate::Device;

/// Largest signature image accepted: a pad drawing is a few tens of kilobytes.
pub const MAX_SIGNATURE_BYTES: usize = 2 * 1024 * 1024;
const MAX_SIGNATURE_SIDE: u32 = 4096;

/// One party's signoff as the app shows it before sealing.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignoffView {
    pub party: Party,
    pub signoff: SignoffKind,
    pub at: DateTime<FixedOffset>,
}

/// The signer's name for a party, taken from the record at seal time.
pub(crate) fn signer_name(d: &RecordDraft, p: Party) -> &str {
    match p {
        Party::Sampler1 => d.sampler1_name.trim(),
        Party::Sampler2 => d.sampler2_name.trim(),
        Party::Business => d.business_person.trim(),
    }
}

/// Checks that the bytes are a PNG or JPEG picture of sensible size.
fn check_signature_image(png: &[u8]) -> Result<(), DeviceError> {
    if png.is_empty() {
        return Err(DeviceError::SignatureImage("图片为空，请重新签名".into()));
    }
    if png.len() > MAX_SIGNATURE_BYTES {
        return Err(DeviceError::SignatureImage(format!(
            "图片超过 {} MB",
            MAX_SIGNATURE_BYTES / 1024 / 1024
        )));
    }
    let format = image::guess_format(png)
        .map_err(|_| DeviceError::SignatureImage("不是 PNG 或 JPEG 图片".into()))?;
    if !matches!(format, image::ImageFormat::Png | image::ImageFormat::Jpeg) {
        return Err(DeviceError::SignatureImage("不是 PNG 或 JPEG 图片".into()));
    }
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(png), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIGNATURE_SIDE);
    limits.max_image_height = Some(MAX_SIGNATURE_SIDE);
    limits.max_alloc = Some(128 * 1024 * 1024);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| DeviceError::SignatureImage(format!("无法解码：{e}")))?;
    Ok(())
}

impl Device {
    /// Stores a party's handwritten signature (PNG or JPEG from the signature pad).
    pub fn sign(
        &mut self,
        id: LeadId,
        party: Party,
        image: &[u8],
    ) -> Result<SignoffView, DeviceError> {
        self.ensure_editable(id)?;
        check_signature_image(image)?;
        let sha = self.store.put_bytes(image)?;
        let kind = SignoffKind::Signed {
            image_sha256: sha,
            image_bytes: image.len() as u64,
        };
        self.put_signoff(id, party, kind)
    }

    /// Records that the business's person refused to sign, before a witness.
    pub fn record_refusal(
        &mut self,
        id: LeadId,
        witness: &str,
    ) -> Result<SignoffView, DeviceError> {
        let witness = witness.trim();
        if witness.is_empty() {
            return Err(DeviceError::WitnessRequired);
        }
        if witness.chars().count() > fieldlead_domain::record::MAX_LINE_CHARS {
            return Err(DeviceError::SignatureImage("见证人信息过长".into()));
        }
        let kind = SignoffKind::Refused {
            witness: witness.to_string(),
        };
        self.put_signoff(id, Party::Business, kind)
    }

    /// Removes a party's signature or refusal, to sign again.
    pub fn clear_signoff(&mut self, id: LeadId, party: Party) -> Result<(), DeviceError> {
        let now = (self.clock)();
        let tx = self.conn.transaction()?;
        editable_draft(&tx, id)?;
        let n = tx.execute(
            "DELETE FROM signoffs WHERE record_id = ?1 AND party = ?2",
            params![id.to_string(), party.as_str()],
        )?;
        if n > 0 {
            record_change(
                &tx,
                &self.key,
                id,
                now,
                LogEvent::SignoffCleared,
                serde_json::json!({"party": party}),
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn put_signoff(
        &mut self,
        id: LeadId,
        party: Party,
        kind: SignoffKind,
    ) -> Result<SignoffView, DeviceError> {
        let now = (self.clock)();
        let tx = self.conn.transaction()?;
        editable_draft(&tx, id)?;
        tx.execute(
            "INSERT INTO signoffs (record_id, party, signoff_json, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (record_id, party) DO UPDATE SET signoff_json = excluded.signoff_json, at = excluded.at",
            params![id.to_string(), party.as_str(), serde_json::to_string(&kind)?, now.to_rfc3339()],
        )?;
        record_change(
            &tx,
            &self.key,
            id,
            now,
            LogEvent::Signed,
            serde_json::json!({"party": party, "signoff": kind}),
        )?;
        tx.commit()?;
        Ok(SignoffView {
            party,
            signoff: kind,
            at: now,
        })
    }

    /// The signoffs recorded so far, in party order.
    pub fn signoffs(&self, id: LeadId) -> Result<Vec<SignoffView>, DeviceError> {
        load_signoffs(&self.conn, id)
    }
}

pub(crate) fn load_signoffs(
    conn: &Connection,
    id: LeadId,
) -> Result<Vec<SignoffView>, DeviceError> {
    let mut stmt =
        conn.prepare_cached("SELECT party, signoff_json, at FROM signoffs WHERE record_id = ?1")?;
    let rows = stmt.query_map([id.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (party, json, at) = row?;
        let party: Party = party
            .parse()
            .map_err(|_| DeviceError::Corrupt(format!("party {party}")))?;
        out.push(SignoffView {
            party,
            signoff: serde_json::from_str(&json)?,
            at: parse_time(&at)?,
        });
    }
    out.sort_by_key(|s| s.party);
    Ok(out)
}

/// The signoffs for the manifest, or the first party still missing.
pub(crate) fn manifest_signoffs(
    conn: &Connection,
    id: LeadId,
    draft: &RecordDraft,
) -> Result<Vec<Signoff>, DeviceError> {
    let signoffs = signoffs_so_far(conn, id, draft)?;
    match Party::ALL
        .into_iter()
        .find(|party| !signoffs.iter().any(|s| s.party == *party))
    {
        Some(party) => Err(DeviceError::SignoffMissing(party)),
        None => Ok(signoffs),
    }
}

/// The signoffs taken so far, in [`Party`] order, each under the name the form
/// gives that party: what the preview before locking shows.
pub(crate) fn signoffs_so_far(
    conn: &Connection,
    id: LeadId,
    draft: &RecordDraft,
) -> Result<Vec<Signoff>, DeviceError> {
    let views = load_signoffs(conn, id)?;
    Ok(Party::ALL
        .into_iter()
        .filter_map(|party| {
            let v = views.iter().find(|v| v.party == party)?;
            Some(Signoff {
                party,
                name: signer_name(draft, party).to_string(),
                signoff: v.signoff.clone(),
                at: v.at,
            })
        })
        .collect())
}
