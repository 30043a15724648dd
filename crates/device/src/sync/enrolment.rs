//! Enrolling the tablet with its district bureau, and the enrolment as stored:
//! the bureau's key is kept only if it matches the fingerprint on the invite, and
//! the bearer token never leaves the tablet database.

use chrono::{DateTime, Utc};
use fieldlead_domain::{
    DeviceId, EnrolmentCode, EnrolmentInvite, EnrolmentRequest, KeyFingerprint, PublicKey,
};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::client::BureauClient;
use super::{parse_time, SyncError};
use crate::bureau_url::BureauUrl;
use crate::error::DeviceError;
use crate::Device;

/// This tablet's enrolment, as the app shows it (the token is not part of it).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolment {
    pub bureau_url: String,
    pub device_id: DeviceId,
    pub district_code: String,
    pub district_name: String,
    /// The bureau's Ed25519 public key, hex: receipts and statuses are checked
    /// against it.
    pub bureau_key: String,
    /// Its fingerprint as printed on the bureau's invite (`3F2A-91C0-…`).
    pub bureau_key_fingerprint: String,
    pub enrolled_at: DateTime<Utc>,
    /// When the bureau first answered that this tablet is revoked. A fresh code
    /// may then replace this enrolment ([`Device::enrol`]).
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The enrolment as stored, token included; never leaves the sync module.
pub(super) struct Credentials {
    pub url: BureauUrl,
    pub token: String,
    pub district_code: String,
    pub bureau_key: PublicKey,
}

impl Device {
    /// Enrols with the invite scanned from the bureau's QR code. The bureau's key
    /// must match the invite's fingerprint and the district it answers with must be
    /// the one printed on the invite; if not, or on any error, nothing is stored on
    /// the tablet.
    pub async fn enrol(
        &mut self,
        invite: &EnrolmentInvite,
        label: &str,
    ) -> Result<Enrolment, SyncError> {
        self.enrol_inner(
            &invite.server,
            invite.code.clone(),
            invite.bureau_key_fingerprint,
            label,
            Some(&invite.district),
        )
        .await
    }

    /// Enrols with the bureau's address, code and key fingerprint typed from paper.
    /// The fingerprint is required: it is what tells the bureau from a server at a
    /// mistyped address.
    pub async fn enrol_with_code(
        &mut self,
        bureau_url: &str,
        code: &str,
        fingerprint: &str,
        label: &str,
    ) -> Result<Enrolment, SyncError> {
        let code = EnrolmentCode::parse(code).map_err(|e| SyncError::Enrolment(e.to_string()))?;
        if fingerprint.trim().is_empty() {
            return Err(SyncError::FingerprintMissing);
        }
        let fingerprint = KeyFingerprint::parse(fingerprint)?;
        self.enrol_inner(bureau_url, code, fingerprint, label, None)
            .await
    }

    async fn enrol_inner(
        &mut self,
        bureau_url: &str,
        code: EnrolmentCode,
        fingerprint: KeyFingerprint,
        label: &str,
        expected_district: Option<&str>,
    ) -> Result<Enrolment, SyncError> {
        let replaces_revoked = match self.enrolment()? {
            Some(e) if e.revoked_at.is_none() => {
                return Err(SyncError::AlreadyEnrolled(e.district_name))
            }
            Some(_) => true,
            None => false,
        };
        // Before anything is sent: not even the code goes over plain http.
        let url = BureauUrl::parse(bureau_url, self.insecure_http)?;
        let request = EnrolmentRequest::new(code, label, &self.key);
        request
            .validate()
            .map_err(|e| SyncError::Enrolment(e.to_string()))?;
        let client = BureauClient::new(url.clone(), String::new())?;
        // Before the code and the key go anywhere: is this the bureau the invite
        // names? A mistyped address or fingerprint is refused here, and the
        // one-time code stays unused.
        let server_key = client.server_key().await?;
        if !fingerprint.matches(&server_key) {
            return Err(SyncError::BureauKeyMismatch {
                expected: fingerprint,
                got: server_key.fingerprint(),
            });
        }
        let response = client.enrol(&request).await?;
        // The key kept is the one in this answer: it must match too.
        if !fingerprint.matches(&response.bureau_key) {
            return Err(SyncError::BureauKeyMismatch {
                expected: fingerprint,
                got: response.bureau_key.fingerprint(),
            });
        }
        if let Some(expected) = expected_district {
            if response.district.name != expected && response.district.code != expected {
                return Err(SyncError::WrongDistrict {
                    expected: expected.to_string(),
                    got: response.district.name,
                });
            }
        }
        let enrolled_at = Utc::now();
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(DeviceError::from)?;
        if replaces_revoked {
            // Only now that the bureau has accepted the fresh code: a failed attempt
            // leaves the revoked enrolment (and its explanation) as it was.
            tx.execute("DELETE FROM enrolment WHERE id = 1", [])
                .map_err(DeviceError::from)?;
        }
        tx.execute(
            "INSERT INTO enrolment (id, bureau_url, device_id, token, district_code, district_name, bureau_key, enrolled_at)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                url.as_str(),
                response.device_id.to_string(),
                response.token,
                response.district.code,
                response.district.name,
                response.bureau_key.to_hex(),
                enrolled_at.to_rfc3339(),
            ],
        ).map_err(DeviceError::from)?;
        if replaces_revoked {
            // Leads that failed for good only because the tablet was revoked get
            // another chance under the new enrolment.
            self.forget_backoff()?;
        }
        tx.commit().map_err(DeviceError::from)?;
        let mut settings = self.settings()?;
        settings.bureau_url = url.as_str().to_string();
        self.save_settings(&settings)?;
        Ok(self.enrolment()?.expect("just stored"))
    }

    /// This tablet's enrolment, if it has one.
    pub fn enrolment(&self) -> Result<Option<Enrolment>, DeviceError> {
        let row = self
            .conn
            .query_row(
                "SELECT bureau_url, device_id, district_code, district_name, bureau_key, enrolled_at, revoked_at
                 FROM enrolment WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, Option<String>>(6)?,
                    ))
                },
            )
            .optional()?;
        row.map(
            |(bureau_url, device_id, district_code, district_name, bureau_key, at, revoked)| {
                let key: PublicKey = bureau_key
                    .parse()
                    .map_err(|e| DeviceError::Corrupt(format!("bureau key: {e}")))?;
                Ok(Enrolment {
                    bureau_url,
                    device_id: device_id
                        .parse()
                        .map_err(|_| DeviceError::Corrupt(format!("device id {device_id}")))?,
                    district_code,
                    district_name,
                    bureau_key,
                    bureau_key_fingerprint: key.fingerprint().display_grouped(),
                    enrolled_at: parse_time(&at)?,
                    revoked_at: revoked.as_deref().map(parse_time).transpose()?,
                })
            },
        )
        .transpose()
    }

    pub(super) fn credentials(&self) -> Result<Credentials, SyncError> {
        let row = self
            .conn
            .query_row(
                "SELECT bureau_url, token, district_code, bureau_key FROM enrolment WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(DeviceError::from)?
            .ok_or(SyncError::NotEnrolled)?;
        let settings_url = self.settings()?.bureau_url;
        // The address in the settings wins: a bureau may move. Either may have been
        // stored by an older build that allowed plain http: checked again here,
        // before every round.
        let url = if settings_url.is_empty() {
            row.0
        } else {
            settings_url
        };
        Ok(Credentials {
            url: BureauUrl::parse(&url, self.insecure_http)?,
            token: row.1,
            district_code: row.2,
            bureau_key: row
                .3
                .parse::<PublicKey>()
                .map_err(|e| DeviceError::Corrupt(format!("bureau key: {e}")))?,
        })
    }
}
