//! What tablets do: enrolment, authentication, sealed leads, receipts, blob status and the lead status they poll.

use bytes::Bytes;
use fieldlead_domain::BlobRef;

use crate::storage::LeadBlob;

use super::*;

impl Bureau {
    pub fn enrol(&self, request: &EnrolmentRequest, from: IpAddr) -> Result<EnrolmentResponse> {
        let limited = |retry_after_secs| BureauError::RateLimited { retry_after_secs };
        let address = self.enrol_limiter.key(&from.to_string());
        self.shared_limit(&address, self.enrol_limiter.rule(now_ms(), true))?;
        self.enrol_global.check(&()).map_err(limited)?;
        request.validate()?;
        let token = secrets::new_token();
        let mut device = NewDevice {
            id: DeviceId::new(),
            public_key: request.public_key,
            token_hash: secrets::token_hash(&token),
            label: request.label.trim().to_string(),
        };
        let code_hash = secrets::token_hash(request.code.as_str());
        let now = now();
        let district_id = self
            .storage
            .enrolment_code_district(&code_hash, now)?
            .ok_or(BureauError::EnrolmentCode)?;
        let known = self.storage.device_by_key(&request.public_key)?;
        let returning = match &known {
            None => false,
            Some(known) => {
                known.may_reenrol(district_id).map_err(|r| match r {
                    ReenrolRefusal::KeyTaken => BureauError::KeyTaken,
                    ReenrolRefusal::OtherDistrict => BureauError::invalid(
                        fieldlead_domain::ErrorCode::DeviceOtherDistrict,
                        "该设备原属其他区县，不能用本区县的注册码恢复；如确需调往本区县，请在设备上清除注册并生成新密钥后再注册",
                    ),
                })?;
                // It keeps its id, so the leads it delivered stay linked to it.
                device.id = known.id;
                true
            }
        };
        let (action, before) = match &known {
            Some(k) => (
                "device_reenrolled",
                Some(serde_json::json!({
                    "revoked_at": k.revoked_at,
                    "district_id": k.district.id,
                })),
            ),
            None => ("device_enrolled", None),
        };
        let subject = format!("device:{}", device.id);
        let after = serde_json::json!({
            "label": device.label,
            "public_key": device.public_key.to_hex(),
        });
        let enrolled = self.storage.enrol_device(
            &code_hash,
            Enrolment {
                device,
                district_id,
                returning,
            },
            AuditEntry {
                at: now,
                actor: subject.clone(),
                district_id: Some(district_id),
                action: action.into(),
                subject,
                before,
                after: Some(after),
            },
        );
        let d = match enrolled {
            Ok(Some(d)) => d,
            // The code was spent meanwhile, or the device changed under us: the
            // same answer as an unknown code, as the tablet can only get a new one.
            Ok(None) | Err(crate::StorageError::Conflict(_)) => {
                return Err(BureauError::EnrolmentCode)
            }
            Err(e) => return Err(e.into()),
        };
        // The printed QR code has done its job: it should not lie around.
        let _ = std::fs::remove_file(self.paths.enrolment_png(&code_hash));
        // A revoked tablet that came back with a fresh code uploads again.
        if let Ok(mut set) = self.revoked.lock() {
            set.remove(&d.id);
        }
        Ok(EnrolmentResponse {
            device_id: d.id,
            token,
            district: DistrictInfo {
                code: d.district.code,
                name: d.district.name,
            },
            bureau_key: self.key.public_key(),
            server_time: now,
        })
    }

    /// The device behind a bearer token, within its rate limit.
    pub fn authenticate_device(&self, token: &str) -> Result<EnrolledDevice> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(BureauError::BadToken);
        }
        let device = self
            .storage
            .device_by_token(&secrets::token_hash(token))?
            .ok_or(BureauError::BadToken)?;
        if device.revoked_at.is_some() {
            return Err(BureauError::DeviceRevoked);
        }
        self.device_limiter
            .check(&device.id)
            .map_err(|retry_after_secs| BureauError::RateLimited { retry_after_secs })?;
        Ok(device)
    }

    /// `PUT /api/v1/leads/{id}`: verifies and stores a sealed lead. Returns whether
    /// it was new.
    pub fn submit_lead(
        &self,
        device: &EnrolledDevice,
        path_id: LeadId,
        body: &[u8],
    ) -> Result<(bool, PutLeadResponse)> {
        let upload: LeadUpload = fieldlead_domain::parse_strict(body).map_err(|e| match e {
            fieldlead_domain::StrictJsonError::Syntax(_) => BureauError::Malformed(e.to_string()),
            other => BureauError::invalid(other.error_code(), format!("锁定记录{other}")),
        })?;
        let m = &upload.manifest.manifest;
        if m.lead_id != path_id {
            return Err(BureauError::invalid(
                fieldlead_domain::ErrorCode::PathLeadIdMismatch,
                "地址中的线索编号与锁定记录中的编号不一致",
            ));
        }
        if m.device_key != device.public_key {
            return Err(BureauError::invalid(
                fieldlead_domain::ErrorCode::DeviceKeyMismatch,
                "锁定记录不是由本设备的密钥签名的",
            ));
        }
        // A retry is answered from what is stored, before any signature work: a
        // tablet resending the same lead costs a lookup, not a verification.
        let since = now() - chrono::Duration::hours(24);
        let (stored, sent_today) = self
            .storage
            .lead_and_device_count(path_id, device.id, since)?;
        if let Some(row) = stored {
            if row.upload != upload {
                return Err(BureauError::LeadConflict);
            }
            return self.lead_answer(&row, &upload, false);
        }
        if sent_today >= u64::from(self.config.device_leads_per_day) {
            return Err(BureauError::Quota(format!(
                "本设备 24 小时内已报送 {} 条线索，达到上限；如确有需要请联系区县局调整",
                self.config.device_leads_per_day
            )));
        }
        let canonical = upload.verify()?;
        let blobs = manifest_blobs(m)?;
        if let Some(b) = blobs
            .iter()
            .find(|b| b.bytes == 0 || b.bytes > self.config.max_blob_bytes)
        {
            return Err(BureauError::invalid(
                fieldlead_domain::ErrorCode::BlobSize,
                format!(
                    "文件 {} 的大小 {} 字节不在允许范围（1 至 {} 字节）",
                    b.sha256.short(),
                    b.bytes,
                    self.config.max_blob_bytes
                ),
            ));
        }
        let now = now();
        let (insert, held) = self.storage.insert_lead(
            NewLead {
                id: m.lead_id,
                district_id: device.district.id,
                device_id: device.id,
                manifest_hash: upload.manifest.manifest_hash,
                upload: canonical,
                business_name: m.record.business.name.clone(),
                product_name: m.record.product.name.clone(),
                sealed_at: m.sealed_at.with_timezone(&Utc),
                received_at: now,
                blobs: blobs.clone(),
            },
            audit(
                &Actor::Device(device.id),
                Some(device.district.id),
                "lead_received",
                format!("lead:{}", m.lead_id),
                None,
                Some(serde_json::json!({
                    "manifest_hash": upload.manifest.manifest_hash,
                    "blobs": blobs.len(),
                })),
            ),
        )?;
        if insert == LeadInsert::Conflict {
            return Err(BureauError::LeadConflict);
        }
        // Blobs this district already holds (shared with an earlier lead of its own)
        // may all be here already.
        if held.iter().all(|b| b.present) {
            self.issue_receipt(path_id)?;
        }
        if insert != LeadInsert::Created || held.iter().all(|b| b.present) {
            let row = self.load_lead(path_id)?;
            return self.lead_answer(&row, &upload, insert == LeadInsert::Created);
        }
        // The usual answer, a new lead still missing blobs, from what was just
        // stored rather than read back (that read parsed the whole manifest again).
        Ok((
            true,
            PutLeadResponse {
                lead_id: m.lead_id,
                manifest_hash: upload.manifest.manifest_hash,
                received_at: now,
                missing_blobs: still_missing(blobs, &held),
                receipt: None,
            },
        ))
    }

    /// The answer to `PUT /api/v1/leads/{id}` for a stored lead, given the upload
    /// already parsed and found equal to what is stored.
    pub(super) fn lead_answer(
        &self,
        row: &Lead,
        upload: &LeadUpload,
        created: bool,
    ) -> Result<(bool, PutLeadResponse)> {
        let blobs = manifest_blobs(&upload.manifest.manifest)?;
        let held = self.storage.lead_blobs(row.id)?;
        Ok((
            created,
            PutLeadResponse {
                lead_id: row.id,
                manifest_hash: row.manifest_hash,
                received_at: row.received_at,
                missing_blobs: still_missing(blobs, &held),
                receipt: row.receipt.clone(),
            },
        ))
    }

    pub(super) fn load_lead(&self, id: LeadId) -> Result<Lead> {
        self.storage
            .lead(id)?
            .ok_or(BureauError::NotFound { what: "线索" })
    }

    /// Signs and stores the receipt of a lead whose every blob is present.
    pub(super) fn issue_receipt(&self, id: LeadId) -> Result<()> {
        let row = self.load_lead(id)?;
        if row.receipt.is_some() {
            return Ok(());
        }
        let blobs = self.storage.lead_blobs(id)?;
        if blobs.iter().any(|b| !b.present) {
            return Ok(());
        }
        let body = ReceiptBody {
            format: RECEIPT_FORMAT,
            lead_id: id,
            device_id: row.device_id,
            district: row.district.code.clone(),
            manifest_hash: row.manifest_hash,
            blobs: blobs.iter().map(|b| b.sha256).collect(),
            received_at: row.received_at,
            completed_at: now(),
        };
        let receipt =
            Receipt::sign(body, &self.key).map_err(|e| BureauError::Internal(e.to_string()))?;
        let before = row.handling.clone();
        let next = LeadState::Delivered;
        if !before.state.can_become(next) {
            return Err(BureauError::State(format!(
                "线索当前为“{}”，不能改为“{}”",
                before.state.label_zh(),
                next.label_zh()
            )));
        }
        let after = Handling {
            state: next,
            ..before.clone()
        };
        self.storage.complete_lead(
            id,
            &receipt,
            &before,
            &after,
            AuditEntry {
                at: receipt.receipt.completed_at,
                ..audit(
                    &Actor::Device(row.device_id),
                    Some(row.district.id),
                    "lead_delivered",
                    format!("lead:{id}"),
                    Some(serde_json::json!({"state": before.state})),
                    Some(serde_json::json!({"state": after.state, "receipt_signature": receipt.signature})),
                )
            },
        )?;
        Ok(())
    }

    /// The size the device's district expects for a blob, or 404.
    pub fn expected_blob(&self, device: &EnrolledDevice, sha256: Sha256) -> Result<u64> {
        self.storage
            .expected_blob(sha256, device.district.id)?
            .ok_or(BureauError::NotFound {
                what: "该文件（不属于本区县任何已提交的线索）",
            })
    }

    pub fn blob_status(&self, device: &EnrolledDevice, sha256: Sha256) -> Result<BlobStatus> {
        let bytes = self.expected_blob(device, sha256)?;
        let complete = self.storage.district_holds(device.district.id, sha256)?;
        Ok(BlobStatus {
            sha256,
            bytes,
            offset: if complete {
                bytes
            } else {
                self.blobs
                    .partial_len(&uploader(device.id), &sha256)?
                    .min(bytes)
            },
            complete,
            completed_leads: Vec::new(),
        })
    }

    pub(crate) fn claim_upload(&self, uploader: &str, sha256: Sha256) -> Result<UploadSlot<'_>> {
        let mut set = self
            .uploads
            .lock()
            .map_err(|_| BureauError::Internal("upload registry poisoned".into()))?;
        let key = (uploader.to_string(), sha256);
        if !set.insert(key.clone()) {
            return Err(BureauError::UploadInProgress);
        }
        Ok(UploadSlot { bureau: self, key })
    }

    /// Whether a device was revoked while this process runs (checked between the
    /// chunks of an upload; the database is asked again before the upload counts).
    pub(crate) fn revoked_here(&self, id: DeviceId) -> bool {
        self.revoked
            .lock()
            .map(|s| s.contains(&id))
            .unwrap_or(false)
    }

    /// After `holder`'s district proved it holds a blob: record it, issue the
    /// receipts it completes, queue its analysis.
    pub fn blob_stored(
        &self,
        sha256: Sha256,
        bytes: u64,
        holder: BlobHolder,
        whole: Option<Bytes>,
    ) -> Result<Vec<LeadId>> {
        let completed = self.storage.blob_stored(sha256, bytes, holder, now())?;
        for id in &completed {
            self.issue_receipt(*id)?;
        }
        self.queue_analysis(sha256, whole);
        Ok(completed)
    }

    /// Deletes partial uploads abandoned longer than the configured age.
    pub fn sweep_partials(&self) -> Result<usize> {
        let age = Duration::from_secs(u64::from(self.config.partial_upload_max_age_hours) * 3600);
        Ok(self.blobs.sweep_partials(age)?)
    }

    pub fn lead_status(&self, device: &EnrolledDevice, id: LeadId) -> Result<LeadStatus> {
        let row = self.load_lead(id)?;
        // Another device's lead is not this device's business: same answer as absent.
        if row.device_id != device.id {
            return Err(BureauError::NotFound { what: "线索" });
        }
        let upload = &row.upload;
        let blobs = manifest_blobs(&upload.manifest.manifest)?;
        let held = self.storage.lead_blobs(id)?;
        Ok(LeadStatus {
            lead_id: id,
            manifest_hash: row.manifest_hash,
            state: row.handling.state,
            state_label: row.handling.state.label_zh().to_string(),
            received_at: row.received_at,
            missing_blobs: still_missing(blobs, &held),
            receipt: row.receipt.clone(),
            acknowledged_at: row.handling.acknowledged_at,
            decision: row.handling.decision,
            decided_at: row.handling.decided_at,
            decline_reason: row.handling.decline_reason.clone(),
            reported_to_city_on: row.handling.reported_to_city_on,
            updated_at: row.updated_at,
        })
    }

    /// [`Bureau::lead_status`] signed with the bureau key, as the API answers it:
    /// the tablet shows nothing of a status it cannot verify.
    pub fn signed_lead_status(
        &self,
        device: &EnrolledDevice,
        id: LeadId,
    ) -> Result<fieldlead_domain::SignedLeadStatus> {
        let status = self.lead_status(device, id)?;
        fieldlead_domain::SignedLeadStatus::sign(status, &self.key)
            .map_err(|e| BureauError::Internal(e.to_string()))
    }
}

/// The manifest's blobs the bureau does not hold yet for the lead, in the
/// manifest's order: what the tablet still has to send.
fn still_missing(blobs: Vec<BlobRef>, held: &[LeadBlob]) -> Vec<BlobRef> {
    blobs
        .into_iter()
        .filter(|b| held.iter().any(|h| h.sha256 == b.sha256 && !h.present))
        .collect()
}
