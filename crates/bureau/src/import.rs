//! Importing a lead bundle carried on a USB stick (`fieldlead-bureau import`): the
//! same checks as the API. The bundle is verified offline first (signature, chain,
//! every blob's hash), then the lead goes through [`Bureau::submit_lead`] as the
//! device that signed it, and each missing blob through the same hashed upload
//! path as `PUT /api/v1/blobs/{sha256}`, so the receipt is issued exactly as for
//! a network delivery.

use std::path::Path;

use fieldlead_domain::{LeadId, LeadUpload, Receipt};
use fieldlead_evidence::bundle::{Bundle, BundleError};

use crate::error::{BureauError, Result};
use crate::model::Scope;
use crate::service::Bureau;
use crate::storage::BlobHolder;

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub lead_id: LeadId,
    /// False if the bureau already held this exact lead.
    pub created: bool,
    pub blobs_written: usize,
    pub receipt: Option<Receipt>,
}

fn bundle_error(e: BundleError) -> BureauError {
    match e {
        BundleError::Io(io) => BureauError::Malformed(format!("线索包读取失败：{io}")),
        other => BureauError::invalid(other.error_code(), other.to_string()),
    }
}

impl Bureau {
    /// Imports one bundle file. Refuses it whole if any check fails.
    pub fn import_bundle(&self, path: &Path) -> Result<ImportOutcome> {
        let mut bundle = Bundle::open(path).map_err(bundle_error)?;
        // The bundle's own receipt (if any) is not trusted: the bureau issues its own.
        let report = bundle.verify(None).map_err(bundle_error)?;
        if !report.is_ok() {
            let all: Vec<String> = report.problems.iter().map(|p| p.message.clone()).collect();
            return Err(BureauError::invalid(
                fieldlead_domain::ErrorCode::BundleInvalid,
                all.join("；"),
            ));
        }
        let key = bundle.manifest.manifest.device_key;
        let device = self
            .storage
            .devices(Scope::All)?
            .into_iter()
            .find(|d| d.public_key == key)
            .ok_or_else(|| {
                BureauError::invalid(
                    fieldlead_domain::ErrorCode::DeviceUnknown,
                    "线索包的签名设备未在本局注册，不能导入",
                )
            })?;
        if device.revoked_at.is_some() {
            return Err(BureauError::DeviceRevoked);
        }
        let id = bundle.manifest.manifest.lead_id;
        let body = serde_json::to_vec(&LeadUpload {
            manifest: bundle.manifest.clone(),
            log: bundle.log.clone(),
        })
        .map_err(|e| BureauError::Internal(e.to_string()))?;
        let (created, response) = self.submit_lead(&device, id, &body)?;
        let mut written = 0;
        // Bytes read from the bundle prove the device's district holds them, as an
        // upload would. The import's partial files are its own (named after this
        // process), so a running server's uploads are never touched.
        let holder = BlobHolder {
            district_id: device.district.id,
            device_id: None,
        };
        let name = format!("import-{}", std::process::id());
        for b in &response.missing_blobs {
            let _slot = self.claim_upload(&name, b.sha256)?;
            let mut reader = bundle
                .blob(&b.sha256)
                .map_err(bundle_error)?
                .ok_or_else(|| {
                    BureauError::invalid(
                        fieldlead_domain::ErrorCode::BundleBlobMissing,
                        "线索包缺少文件",
                    )
                })?;
            // A partial file left by an earlier import that died is started over.
            crate::blobs::upload_whole(self.blobs.as_ref(), &name, &b.sha256, &mut reader, |e| {
                BureauError::Malformed(format!("线索包读取失败：{e}"))
            })?;
            self.blob_stored(b.sha256, b.bytes, holder, None)?;
            written += 1;
        }
        let status = self.lead_status(&device, id)?;
        Ok(ImportOutcome {
            lead_id: id,
            created,
            blobs_written: written,
            receipt: status.receipt,
        })
    }
}
