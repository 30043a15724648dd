//! The verification panel of a lead: what the bureau can check for itself about
//! the signed manifest, the audit chain and every photo's bytes.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use fieldlead_domain::{verify_lead, BlobKind, LeadId, Sha256};
use fieldlead_evidence::{hamming, MetaSource};
use serde::Serialize;

use crate::error::Result;
use crate::model::{BlobAnalysis, Lead, Scope};
use crate::service::Bureau;

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// `verify_lead` passes on the stored manifest and log.
    pub valid: bool,
    pub error: Option<(String, String)>,
    pub manifest_hash: String,
    pub device_key: String,
    pub device_label: String,
    pub device_matches: bool,
    pub device_revoked: bool,
    pub chain: Vec<ChainRow>,
    pub blobs: Vec<BlobCheck>,
    pub missing: usize,
    /// Number of flags raised across all blobs.
    pub flags: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainRow {
    pub seq: u64,
    pub device_time: String,
    pub event: String,
    pub entry_hash: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OtherLead {
    pub lead_id: LeadId,
    /// Whether the viewer may open it (same district or city admin).
    pub visible: bool,
    pub business_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NearDuplicate {
    pub sha256: String,
    pub distance: u32,
    pub leads: Vec<OtherLead>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlobCheck {
    pub sha256: String,
    pub photo: bool,
    pub caption: Option<String>,
    pub bytes: u64,
    pub present: bool,
    /// The stored bytes matched their SHA-256 when last hashed (`verified_at`).
    pub intact: Option<bool>,
    pub verified_at: Option<String>,
    pub format: Option<String>,
    pub dimensions: Option<String>,
    pub camera: Option<String>,
    pub analysis_pending: bool,
    pub analysis_error: Option<String>,
    pub has_thumbnail: bool,
    pub exif_time: Option<String>,
    /// Where the capture time was read ("EXIF 原始拍摄时间", "XMP 创建时间", ...).
    pub time_source: Option<&'static str>,
    pub exif_offset_assumed: bool,
    pub skew_minutes: Option<i64>,
    pub skew_flag: bool,
    pub gps_distance_m: Option<i64>,
    pub gps_flag: bool,
    /// Where the photo's position was read, when not EXIF ("XMP").
    pub gps_source: Option<&'static str>,
    /// What the reader could not read or read with a guess.
    pub meta_warnings: Vec<String>,
    /// Where the photo's EXIF says something other than the signed manifest.
    pub claim_mismatch: Vec<String>,
    pub same_hash: Vec<OtherLead>,
    pub near_duplicates: Vec<NearDuplicate>,
}

/// `2026:11:20 10:12:00` with an optional `+08:00`; without one, the record's offset.
fn exif_time(
    text: &str,
    offset: Option<&str>,
    fallback: FixedOffset,
) -> Option<(DateTime<FixedOffset>, bool)> {
    let naive = NaiveDateTime::parse_from_str(text.trim(), "%Y:%m:%d %H:%M:%S").ok()?;
    let (tz, assumed) = match offset
        .and_then(|o| DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{o}")).ok())
    {
        Some(t) => (*t.offset(), false),
        None => (fallback, true),
    };
    tz.from_local_datetime(&naive)
        .single()
        .map(|t| (t, assumed))
}

impl Bureau {
    /// Builds the panel for a lead the viewer may see.
    pub fn verification(&self, row: &Lead, viewer: Scope) -> Result<Verification> {
        let upload = &row.upload;
        let m = &upload.manifest.manifest;
        let verdict = verify_lead(&upload.manifest, &upload.log);
        let device = self.storage.device(row.device_id)?;
        let cfg = self.config();
        let record_tz = *m.record.started_at.offset();
        let window_start = m.record.started_at;
        let window_end = m.record.ended_at.unwrap_or(m.sealed_at);
        let phashes = self.storage.phashes()?;
        let others = |sha: Sha256| -> Result<Vec<OtherLead>> {
            Ok(self
                .storage
                .blob_uses(sha)?
                .into_iter()
                .filter(|u| u.lead_id != row.id)
                .map(|u| {
                    let visible = viewer.allows(u.district_id);
                    OtherLead {
                        lead_id: u.lead_id,
                        visible,
                        business_name: visible.then_some(u.business_name),
                    }
                })
                .collect())
        };

        let mut checks = Vec::new();
        for b in self.storage.lead_blobs(row.id)? {
            let entry = m.evidence.iter().find(|e| e.sha256 == b.sha256);
            let info = if b.present {
                self.storage.blob(b.sha256)?
            } else {
                None
            };
            let analysis: Option<&BlobAnalysis> = info.as_ref().and_then(|i| i.analysis.as_ref());
            // The last recorded check (on arrival, or "re-verify" on the page):
            // viewing a lead never re-reads every original.
            let intact = info.as_ref().and_then(|i| i.intact);
            let verified_at = info.as_ref().and_then(|i| i.verified_at);
            let mut check = BlobCheck {
                sha256: b.sha256.to_hex(),
                photo: b.kind == BlobKind::Photo,
                caption: entry.map(|e| e.caption.clone()),
                bytes: b.bytes,
                present: b.present,
                intact,
                verified_at: verified_at.map(|t| t.to_rfc3339()),
                format: None,
                dimensions: None,
                camera: None,
                analysis_pending: b.present && analysis.is_none(),
                analysis_error: None,
                has_thumbnail: false,
                exif_time: None,
                time_source: None,
                exif_offset_assumed: false,
                skew_minutes: None,
                skew_flag: false,
                gps_distance_m: None,
                gps_flag: false,
                gps_source: None,
                meta_warnings: Vec::new(),
                claim_mismatch: Vec::new(),
                same_hash: others(b.sha256)?,
                near_duplicates: Vec::new(),
            };
            if let Some(a) = &analysis {
                check.format = a.format.clone();
                check.dimensions = a.width.zip(a.height).map(|(w, h)| format!("{w}×{h}"));
                check.camera = match (&a.exif.make, &a.exif.model) {
                    (None, None) => None,
                    (mk, md) => Some(
                        [mk.as_deref(), md.as_deref()]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                };
                check.analysis_error = a.error.as_ref().map(|(_, msg)| msg.clone());
                check.has_thumbnail = a.thumbnail.is_some();
                if let Some(text) = &a.exif.datetime_original {
                    if let Some((t, assumed)) =
                        exif_time(text, a.exif.offset_time_original.as_deref(), record_tz)
                    {
                        check.exif_time = Some(fieldlead_domain::time::minute_zh(
                            t.with_timezone(&chrono::Utc),
                        ));
                        check.exif_offset_assumed = assumed;
                        check.time_source = a.exif.datetime_source.map(MetaSource::label_zh);
                        check.skew_minutes = Some((t - window_start).num_minutes());
                        let slack = chrono::Duration::minutes(cfg.exif_skew_minutes);
                        check.skew_flag = t < window_start - slack || t > window_end + slack;
                    }
                }
                if let (Some(site), Some(shot)) = (m.record.place.gps, a.exif.gps) {
                    let d = site.distance_m(&shot);
                    check.gps_distance_m = Some(d.round() as i64);
                    check.gps_flag = d > cfg.gps_distance_m;
                    check.gps_source = a
                        .exif
                        .gps_source
                        .filter(|s| s.is_fallback())
                        .map(MetaSource::label_zh);
                }
                check.meta_warnings = a.exif.warnings.clone();
                // A claim the sealed record makes and the file does not bear out.
                // A value the record lacks but the bureau reads is no mismatch:
                // a newer reader than the tablet's sees more of the same file
                // (the SHA-256 already binds the file to the record).
                if let Some(e) = entry {
                    if e.exif_datetime.is_some() && e.exif_datetime != a.exif.datetime_original {
                        check.claim_mismatch.push(format!(
                            "锁定记录所载拍摄时间 {}，文件 EXIF 为 {}",
                            e.exif_datetime.as_deref().unwrap_or("（无）"),
                            a.exif.datetime_original.as_deref().unwrap_or("（无）")
                        ));
                    }
                    if e.exif_gps.is_some() && e.exif_gps != a.exif.gps {
                        check
                            .claim_mismatch
                            .push("锁定记录所载的 GPS 与文件 EXIF 不同".into());
                    }
                    if e.phash.is_some() && e.phash != a.phash {
                        check
                            .claim_mismatch
                            .push("锁定记录所载的感知哈希与文件不同".into());
                    }
                }
                if let Some(p) = a
                    .phash
                    .as_deref()
                    .and_then(|p| u64::from_str_radix(p, 16).ok())
                {
                    for (other, q) in &phashes {
                        let distance = hamming(p, *q);
                        if *other != b.sha256 && distance <= cfg.near_duplicate_bits {
                            let leads = others(*other)?;
                            if !leads.is_empty() {
                                check.near_duplicates.push(NearDuplicate {
                                    sha256: other.to_hex(),
                                    distance,
                                    leads,
                                });
                            }
                        }
                    }
                    check.near_duplicates.sort_by_key(|n| n.distance);
                }
            }
            checks.push(check);
        }
        let flags = checks
            .iter()
            .map(|c| {
                usize::from(c.intact == Some(false))
                    + usize::from(c.skew_flag)
                    + usize::from(c.gps_flag)
                    + c.claim_mismatch.len()
                    + usize::from(!c.same_hash.is_empty())
                    + usize::from(!c.near_duplicates.is_empty())
                    + usize::from(c.analysis_error.is_some() && c.photo)
            })
            .sum();
        Ok(Verification {
            valid: verdict.is_ok(),
            error: verdict.err().map(|e| (e.code().to_string(), e.to_string())),
            manifest_hash: upload.manifest.manifest_hash.to_hex(),
            device_key: m.device_key.to_hex(),
            device_label: device.as_ref().map(|d| d.label.clone()).unwrap_or_default(),
            device_matches: device
                .as_ref()
                .is_some_and(|d| d.public_key == m.device_key),
            device_revoked: device.as_ref().is_some_and(|d| d.revoked_at.is_some()),
            chain: upload
                .log
                .iter()
                .map(|e| ChainRow {
                    seq: e.entry.seq,
                    device_time: fieldlead_domain::time::minute_zh(
                        e.entry.device_time.with_timezone(&chrono::Utc),
                    ),
                    event: e.entry.event.label_zh().to_string(),
                    entry_hash: e.entry_hash.to_hex(),
                })
                .collect(),
            missing: checks.iter().filter(|c| !c.present).count(),
            blobs: checks,
            flags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exif_time_uses_its_offset_or_the_records() {
        let cst = fieldlead_domain::time::china();
        let (t, assumed) = exif_time("2026:11:20 10:12:00", Some("+09:00"), cst).unwrap();
        assert!(!assumed);
        assert_eq!(t.to_rfc3339(), "2026-11-20T10:12:00+09:00");
        let (t, assumed) = exif_time("2026:11:20 10:12:00", None, cst).unwrap();
        assert!(assumed);
        assert_eq!(t.to_rfc3339(), "2026-11-20T10:12:00+08:00");
        assert!(exif_time("0000:00:00 00:00:00", None, cst).is_none());
    }
}
