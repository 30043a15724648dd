//! One sync round: every due lead of the outbox goes out (manifest, missing blobs,
//! receipt), then the bureau's status of delivered leads is polled. What a round
//! reports, and the progress events it sends as bytes go out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use fieldlead_domain::{
    manifest_blobs, BlobRef, BlobStatus, ErrorCode, LeadId, LeadStatus, LeadUpload, Receipt,
    Sha256, SignedLeadStatus, SignedManifest,
};
use serde::{Deserialize, Serialize};

use super::client::{parse_json, BureauClient};
use super::enrolment::Credentials;
use super::{SyncError, CLOCK_SKEW_FLAG_SECS};
use crate::error::DeviceError;
use crate::Device;

/// How often progress is reported while a blob streams.
const PROGRESS_TICK: Duration = Duration::from_millis(200);
/// Offset disagreements on one blob tolerated before the round gives up on it.
const MAX_OFFSET_MISMATCHES: u32 = 3;

/// What the sync is doing for one lead.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    Manifest,
    Blobs,
    Receipt,
    Delivered,
    Failed,
}

/// A progress event: bytes the bureau has (or is receiving) of one lead's blobs.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub lead_id: LeadId,
    pub phase: SyncPhase,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes_sent: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes_total: u64,
}

/// A lead that did not get through in this round.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadFailure {
    pub lead_id: LeadId,
    pub code: String,
    pub message: String,
    /// The photo or signature image at fault, if one is.
    pub sha256: Option<Sha256>,
    /// True if the lead will not be retried (refused or altered).
    pub final_failure: bool,
}

/// The outcome of one sync round.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub delivered: Vec<LeadId>,
    pub failed: Vec<LeadFailure>,
    /// Leads skipped because their backoff has not expired.
    pub waiting: u32,
    /// Body bytes of blobs handed to the network in this round.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes_uploaded: u64,
    /// Largest device-minus-bureau clock difference seen, in seconds.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub clock_skew_secs: Option<i64>,
    pub clock_skew_flagged: bool,
}

/// What one round works with: the enrolment and a client for its bureau.
struct Round {
    creds: Credentials,
    client: BureauClient,
}

impl Device {
    /// "Sync now": forgets every backoff, then runs a round.
    pub async fn sync_now(
        &mut self,
        progress: impl FnMut(SyncProgress) + Send,
    ) -> Result<SyncReport, SyncError> {
        self.forget_backoff()?;
        self.sync_once(progress).await
    }

    /// One round: delivers every due lead of the outbox, then polls the bureau's
    /// status of delivered leads. Offline, revoked or unknown to the bureau ends
    /// the round with that error; a lead's own failure is in the report.
    pub async fn sync_once(
        &mut self,
        mut progress: impl FnMut(SyncProgress) + Send,
    ) -> Result<SyncReport, SyncError> {
        let creds = self.credentials()?;
        self.enqueue_sealed()?;
        let client = BureauClient::new(creds.url.clone(), creds.token.clone())?;
        let round = Round { creds, client };
        let mut report = SyncReport::default();
        let (due, waiting) = self.due_leads(Utc::now())?;
        report.waiting = waiting;
        // Each lead's photos are checked against their hashes while the lead
        // before it is sent: reading and hashing every file overlaps the network
        // instead of adding to it. The first lead's check runs before it goes.
        let mut checking = match due.first() {
            Some(first) => Some(self.check_in_background(*first)?),
            None => None,
        };
        for (i, &id) in due.iter().enumerate() {
            let checked = match checking.take() {
                Some(task) => Some(task.await.map_err(|e| {
                    SyncError::Device(DeviceError::Corrupt(format!("photo check failed: {e}")))
                })?),
                None => None,
            };
            if let Some(next) = due.get(i + 1) {
                checking = Some(self.check_in_background(*next)?);
            }
            match self
                .deliver(&round, id, checked, &mut progress, &mut report)
                .await
            {
                Ok(()) => report.delivered.push(id),
                Err(e) => {
                    let final_failure = e.is_final_for_lead();
                    self.record_failure(id, &e, final_failure)?;
                    progress(SyncProgress {
                        lead_id: id,
                        phase: SyncPhase::Failed,
                        bytes_sent: 0,
                        bytes_total: 0,
                    });
                    if matches!(e, SyncError::DeviceRevoked) {
                        self.mark_revoked()?;
                    }
                    if e.stops_round() {
                        // Nothing else can get through either: every waiting lead
                        // backs off with this one, so an offline tablet does not
                        // retry lead after lead.
                        self.defer_pending(id)?;
                        return Err(e);
                    }
                    report.failed.push(LeadFailure {
                        lead_id: id,
                        code: e.code().to_string(),
                        message: e.to_string(),
                        sha256: e.blob(),
                        final_failure,
                    });
                }
            }
        }
        // Status is informational: a failed poll is retried next round and does not
        // hide what was delivered; only a local database error is reported.
        if let Err(SyncError::Device(e)) = self.poll_statuses(&round).await {
            return Err(SyncError::Device(e));
        }
        Ok(report)
    }

    async fn deliver(
        &mut self,
        round: &Round,
        id: LeadId,
        checked: Option<Checked>,
        progress: &mut (impl FnMut(SyncProgress) + Send),
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let signed = self
            .manifest(id)?
            .ok_or_else(|| DeviceError::Corrupt(format!("outbox lead {id} has no manifest")))?;
        let log = self.audit_log(id)?;
        let blobs =
            manifest_blobs(&signed.manifest).map_err(|e| DeviceError::Corrupt(e.to_string()))?;
        let total: u64 = blobs.iter().map(|b| b.bytes).sum();
        let tell = |phase, sent| SyncProgress {
            lead_id: id,
            phase,
            bytes_sent: sent,
            bytes_total: total,
        };
        // Nothing leaves the tablet if a sealed photo no longer matches its hash.
        for b in &self.unsent(id, &blobs)? {
            let state = match checked.as_ref().and_then(|c| c.get(&b.sha256)) {
                Some(state) => *state,
                None => local_state(&self.store, b),
            };
            fault(state, &signed, id, b)?;
        }
        progress(tell(SyncPhase::Manifest, self.held_bytes(id)?));
        let body = serde_json::to_vec(&LeadUpload {
            manifest: signed.clone(),
            log,
        })
        .map_err(DeviceError::from)?;
        let (put, date) = round.client.put_lead(id, body).await?;
        if put.manifest_hash != signed.manifest_hash || put.lead_id != id {
            return Err(SyncError::BadResponse(
                "区县局回应的存证摘要与本机不符".into(),
            ));
        }
        let hashes: Vec<Sha256> = blobs.iter().map(|b| b.sha256).collect();
        self.manifest_accepted(id, &put, &hashes)?;
        if let Some(receipt) = put.receipt {
            return self.accept_receipt(&round.creds, &signed, receipt, date, progress, report);
        }
        // What the bureau holds of each blob is asked while the blob before it
        // is sent, so that round trip overlaps a transfer instead of adding to
        // it. Only this tablet's own upload changes that answer, and it sends one
        // blob at a time; an answer gone stale another way (another instance,
        // say) costs one refusal and a fresh question.
        let mut asked = match put.missing_blobs.first() {
            Some(b) => Some(round.client.blob_status(&b.sha256).await?),
            None => None,
        };
        for (i, b) in put.missing_blobs.iter().enumerate() {
            let Some(status) = asked.take() else { break };
            progress(tell(SyncPhase::Blobs, self.held_bytes(id)?));
            let upload = self.upload_blob(round, &signed, id, b, status, total, progress, report);
            match put.missing_blobs.get(i + 1) {
                Some(next) => {
                    let (sent, next) = tokio::join!(upload, round.client.blob_status(&next.sha256));
                    sent?;
                    asked = Some(next?);
                }
                None => {
                    upload.await?;
                }
            }
        }
        progress(tell(SyncPhase::Receipt, total));
        let answer = round.client.lead_status(id).await??;
        let status = verified_status(&answer.body, &round.creds, id)?;
        self.store_status(id, &status)?;
        match status.receipt {
            Some(receipt) => self.accept_receipt(
                &round.creds,
                &signed,
                receipt,
                answer.date,
                progress,
                report,
            ),
            None => Err(SyncError::BadResponse(format!(
                "区县局仍缺 {} 个文件，稍后续传",
                status.missing_blobs.len()
            ))),
        }
    }

    fn check_local(
        &self,
        signed: &SignedManifest,
        id: LeadId,
        b: &BlobRef,
    ) -> Result<(), SyncError> {
        fault(local_state(&self.store, b), signed, id, b)
    }

    /// Those of a lead's `blobs` the tablet has not finished sending.
    fn unsent(&self, id: LeadId, blobs: &[BlobRef]) -> Result<Vec<BlobRef>, DeviceError> {
        let pending = self.pending_blobs(id)?;
        Ok(blobs
            .iter()
            .filter(|b| pending.iter().any(|p| p.0 == b.sha256))
            .copied()
            .collect())
    }

    /// Starts checking, on a blocking thread, the photos of `id` that the
    /// bureau may still need.
    fn check_in_background(
        &self,
        id: LeadId,
    ) -> Result<tokio::task::JoinHandle<Checked>, SyncError> {
        let Some(signed) = self.manifest(id)? else {
            // Reported by `deliver`, which reads the manifest again.
            return Ok(tokio::task::spawn_blocking(Checked::new));
        };
        let blobs =
            manifest_blobs(&signed.manifest).map_err(|e| DeviceError::Corrupt(e.to_string()))?;
        let blobs = self.unsent(id, &blobs)?;
        let store = self.store.clone();
        Ok(tokio::task::spawn_blocking(move || {
            blobs
                .iter()
                .map(|b| (b.sha256, local_state(&store, b)))
                .collect()
        }))
    }

    #[allow(clippy::too_many_arguments)]
    async fn upload_blob(
        &mut self,
        round: &Round,
        signed: &SignedManifest,
        id: LeadId,
        b: &BlobRef,
        mut status: BlobStatus,
        total: u64,
        progress: &mut (impl FnMut(SyncProgress) + Send),
        report: &mut SyncReport,
    ) -> Result<BlobStatus, SyncError> {
        // `status` is what the bureau said it holds: after an interrupted body
        // only it knows.
        self.store_blob_status(id, &status)?;
        let mut mismatches = 0;
        let file = self.store.object_path(&b.sha256);
        while !status.complete {
            let offset = status.offset.min(b.bytes);
            let base = self.held_bytes(id)?;
            let counter = Arc::new(AtomicU64::new(0));
            let send =
                round
                    .client
                    .put_blob(&b.sha256, &file, offset, b.bytes, Arc::clone(&counter));
            tokio::pin!(send);
            let mut tick = tokio::time::interval(PROGRESS_TICK);
            let sent = loop {
                tokio::select! {
                    r = &mut send => break r,
                    _ = tick.tick() => progress(SyncProgress {
                        lead_id: id,
                        phase: SyncPhase::Blobs,
                        bytes_sent: (base + counter.load(Ordering::Relaxed)).min(total),
                        bytes_total: total,
                    }),
                }
            };
            report.bytes_uploaded += counter.load(Ordering::Relaxed);
            match sent {
                Ok(s) => {
                    status = s;
                    self.store_blob_status(id, &status)?;
                }
                Err(e)
                    if e.is_refusal(ErrorCode::OffsetMismatch)
                        && mismatches < MAX_OFFSET_MISMATCHES =>
                {
                    mismatches += 1;
                    status = round.client.blob_status(&b.sha256).await?;
                    self.store_blob_status(id, &status)?;
                }
                Err(e) if e.is_refusal(ErrorCode::BlobHashMismatch) => {
                    // Changed on the tablet since the check before sending? Then say
                    // which photo; otherwise the bytes were damaged on the way and a
                    // retry starts the blob afresh.
                    self.check_local(signed, id, b)?;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(status)
    }

    fn accept_receipt(
        &mut self,
        creds: &Credentials,
        signed: &SignedManifest,
        receipt: Receipt,
        server_date: Option<DateTime<Utc>>,
        progress: &mut (impl FnMut(SyncProgress) + Send),
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let id = signed.manifest.lead_id;
        receipt.verify_for(&creds.bureau_key, signed)?;
        if receipt.receipt.district != creds.district_code {
            return Err(SyncError::ReceiptDistrict {
                expected: creds.district_code.clone(),
                got: receipt.receipt.district.clone(),
            });
        }
        let server_now = server_date.unwrap_or(receipt.receipt.completed_at);
        let skew = ((self.clock)().with_timezone(&Utc) - server_now).num_seconds();
        self.store_receipt(id, &receipt, skew)?;
        if report.clock_skew_secs.is_none_or(|s| s.abs() < skew.abs()) {
            report.clock_skew_secs = Some(skew);
        }
        report.clock_skew_flagged |= skew.abs() > CLOCK_SKEW_FLAG_SECS;
        let total: u64 = manifest_blobs(&signed.manifest)
            .map(|v| v.iter().map(|b| b.bytes).sum())
            .unwrap_or(0);
        progress(SyncProgress {
            lead_id: id,
            phase: SyncPhase::Delivered,
            bytes_sent: total,
            bytes_total: total,
        });
        Ok(())
    }

    /// Polls the bureau's status of delivered leads not yet in a final state.
    async fn poll_statuses(&mut self, round: &Round) -> Result<(), SyncError> {
        for id in self.leads_to_poll()? {
            let Ok(answer) = round.client.lead_status(id).await? else {
                continue;
            };
            match verified_status(&answer.body, &round.creds, id) {
                Ok(status) => self.store_status(id, &status)?,
                // Kept out, and said so beside the last status that did verify.
                Err(e) => self.store_status_refusal(id, &e)?,
            }
        }
        Ok(())
    }
}

/// What a lead's photo check found, by blob.
type Checked = std::collections::HashMap<Sha256, LocalState>;

/// A blob on the tablet, against the hash and size its lead was sealed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LocalState {
    Intact,
    Missing,
    Altered,
}

fn local_state(store: &fieldlead_evidence::EvidenceStore, b: &BlobRef) -> LocalState {
    let Ok(intact) = store.verify(&b.sha256) else {
        return LocalState::Missing;
    };
    let len = std::fs::metadata(store.object_path(&b.sha256))
        .map(|m| m.len())
        .unwrap_or(0);
    if intact && len == b.bytes {
        LocalState::Intact
    } else {
        LocalState::Altered
    }
}

/// The error a blob's state is, naming the photo; none if it is intact.
fn fault(
    state: LocalState,
    signed: &SignedManifest,
    id: LeadId,
    b: &BlobRef,
) -> Result<(), SyncError> {
    let label = || signed.manifest.blob_label(b.sha256);
    match state {
        LocalState::Intact => Ok(()),
        LocalState::Missing => Err(SyncError::EvidenceMissing {
            lead_id: id,
            sha256: b.sha256,
            label: label(),
            kind: b.kind,
        }),
        LocalState::Altered => Err(SyncError::EvidenceAltered {
            lead_id: id,
            sha256: b.sha256,
            label: label(),
            kind: b.kind,
        }),
    }
}

/// A status answer, taken only if the bureau key stored at enrolment signed it and
/// it is about `lead`.
fn verified_status(
    body: &[u8],
    creds: &Credentials,
    lead: LeadId,
) -> Result<LeadStatus, SyncError> {
    let signed: SignedLeadStatus = parse_json(body)?;
    Ok(signed.verify(&creds.bureau_key, lead)?)
}
