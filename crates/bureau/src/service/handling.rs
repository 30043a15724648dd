//! What the console reads and changes: leads in the user's scope, devices, review, a district officer's handling, the audit log, evidence.

use fieldlead_domain::handling::{review_comment, HandlingStep};

use super::*;

impl Bureau {
    pub fn leads_for(&self, user: &User, filter: &LeadFilter) -> Result<Vec<LeadSummary>> {
        Ok(self.storage.leads(user.scope(), filter)?)
    }

    pub fn overdue_for(&self, user: &User) -> Result<Vec<LeadSummary>> {
        // Overdue: delivered (the receipt issued) longer ago than the configured
        // hours, and still not signed for by the district.
        let before = now() - chrono::Duration::hours(i64::from(self.config.overdue_hours));
        self.leads_for(
            user,
            &LeadFilter {
                state: Some(LeadState::Delivered),
                completed_before: Some(before),
                ..LeadFilter::default()
            },
        )
    }

    /// A lead the user may see, or 404 (never 403: other districts' ids stay unknown).
    pub fn lead_for(&self, user: &User, id: LeadId) -> Result<Lead> {
        let row = self.load_lead(id)?;
        if !user.scope().allows(row.district.id) {
            return Err(BureauError::NotFound { what: "线索" });
        }
        Ok(row)
    }

    pub fn devices_for(&self, user: &User) -> Result<Vec<EnrolledDevice>> {
        if !user.role.manages_devices() {
            return Err(BureauError::Forbidden);
        }
        Ok(self.storage.devices(user.scope())?)
    }

    // ------------------------------------------------------------------
    // Console: changes

    pub fn revoke_device(&self, user: Option<&User>, id: DeviceId) -> Result<EnrolledDevice> {
        let device = self
            .storage
            .device(id)?
            .ok_or(BureauError::NotFound { what: "设备" })?;
        let actor = match user {
            Some(u) => {
                if !u.role.manages_devices() {
                    return Err(BureauError::Forbidden);
                }
                if !u.scope().allows(device.district.id) {
                    return Err(BureauError::NotFound { what: "设备" });
                }
                Actor::User(u.username.clone())
            }
            None => Actor::Cli,
        };
        let changed = self.storage.revoke_device(
            id,
            audit(
                &actor,
                Some(device.district.id),
                "device_revoked",
                format!("device:{id}"),
                Some(serde_json::json!({"revoked": false})),
                Some(serde_json::json!({"revoked": true})),
            ),
        )?;
        if !changed {
            return Err(BureauError::State("该设备已停用".into()));
        }
        if let Ok(mut set) = self.revoked.lock() {
            set.insert(id);
        }
        self.storage
            .device(id)?
            .ok_or(BureauError::NotFound { what: "设备" })
    }

    pub fn issue_code_for(&self, user: &User, district_code: Option<&str>) -> Result<IssuedCode> {
        let district = match (user.role, &user.district, district_code) {
            (Role::Officer, Some(d), _) => d.clone(),
            (Role::CityAdmin, _, Some(code)) => self.district(code)?,
            (Role::CityAdmin, _, None) => {
                return Err(BureauError::invalid(
                    fieldlead_domain::ErrorCode::DistrictRequired,
                    "请选择区县",
                ))
            }
            _ => return Err(BureauError::Forbidden),
        };
        self.issue_enrolment_code(&district, &Actor::User(user.username.clone()))
    }

    pub fn review(&self, user: &User, id: LeadId, state: ReviewState, comment: &str) -> Result<()> {
        if user.role != Role::Reviewer {
            return Err(BureauError::Forbidden);
        }
        let row = self.lead_for(user, id)?;
        let comment = review_comment(comment, state == ReviewState::Approved)?;
        self.storage.add_review(
            id,
            Review {
                reviewer: user.username.clone(),
                state,
                comment: comment.clone(),
                at: now(),
            },
            audit(
                &Actor::User(user.username.clone()),
                Some(row.district.id),
                "lead_reviewed",
                format!("lead:{id}"),
                Some(serde_json::json!({"review_state": row.review_state})),
                Some(serde_json::json!({"review_state": state, "comment": comment})),
            ),
        )?;
        Ok(())
    }

    /// Applies one handling step for a district officer.
    pub fn apply_handling_step(
        &self,
        user: &User,
        id: LeadId,
        step: HandlingStep,
    ) -> Result<Handling> {
        if user.role != Role::Officer {
            return Err(BureauError::Forbidden);
        }
        let row = self.lead_for(user, id)?;
        let before = row.handling.clone();
        let mut after = before.clone();
        let now = now();
        let who = Some(user.username.clone());
        let to = |next: LeadState| -> Result<LeadState> {
            if before.state.can_become(next) {
                Ok(next)
            } else {
                Err(BureauError::State(format!(
                    "线索当前为“{}”，不能变为“{}”",
                    before.state.label_zh(),
                    next.label_zh()
                )))
            }
        };
        let action = match step {
            HandlingStep::Acknowledge => {
                after.state = to(LeadState::Acknowledged)?;
                after.acknowledged_at = Some(now);
                after.acknowledged_by = who;
                "lead_acknowledged"
            }
            HandlingStep::FileCase { case_number } => {
                after.state = to(LeadState::CaseFiled)?;
                after.decision = Some(Decision::CaseFiled);
                after.decided_at = Some(now);
                after.decided_by = who;
                after.case_number = case_number;
                "lead_case_filed"
            }
            HandlingStep::Decline { reason } => {
                after.state = to(LeadState::Declined)?;
                after.decision = Some(Decision::Declined);
                after.decided_at = Some(now);
                after.decided_by = who;
                after.decline_reason = Some(reason);
                "lead_declined"
            }
            HandlingStep::Outcome {
                fine,
                confiscation,
                remark,
            } => {
                if !before.may_record_outcome() {
                    return Err(BureauError::State(
                        "只有已立案的线索才能登记罚没金额".into(),
                    ));
                }
                let correcting = before.outcome_is_correction();
                if correcting && remark.is_none() {
                    return Err(fieldlead_domain::text::FieldProblem::new(
                        "remark",
                        "required",
                        "已报告市局质监处后更正罚没金额，请在备注中写明更正原因",
                    )
                    .into());
                }
                after.fine = fine;
                after.confiscation = confiscation;
                after.remark = remark;
                if correcting {
                    "lead_outcome_corrected"
                } else {
                    "lead_outcome_recorded"
                }
            }
            HandlingStep::ReportToCity { on } => {
                after.state = to(LeadState::ReportedToCity)?;
                let today = fieldlead_domain::time::china_date(now);
                let decided = before.decided_at.map(fieldlead_domain::time::china_date);
                if on > today || decided.is_some_and(|d| on < d) {
                    return Err(BureauError::invalid(
                        fieldlead_domain::ErrorCode::ReportDate,
                        "报告市局质监处的日期不能晚于今天，也不能早于立案或不予立案的日期",
                    ));
                }
                after.reported_to_city_on = Some(on);
                "lead_reported_to_city"
            }
        };
        let changed = self.storage.update_handling(
            id,
            &before,
            &after,
            audit(
                &Actor::User(user.username.clone()),
                Some(row.district.id),
                action,
                format!("lead:{id}"),
                serde_json::to_value(&before).ok(),
                serde_json::to_value(&after).ok(),
            ),
        )?;
        if !changed {
            return Err(BureauError::Concurrent);
        }
        Ok(after)
    }

    pub fn audit_for(
        &self,
        user: &User,
        subject: Option<&str>,
    ) -> Result<Vec<crate::storage::AuditEvent>> {
        Ok(self.storage.audit_events(user.scope(), subject, 500)?)
    }

    /// A blob of a lead the user may see, once the lead's district proved it holds
    /// the bytes: evidence is served only through a lead, never across districts.
    /// Returns a reader, so a 200 MB original is streamed, never held in memory.
    pub fn blob_for(
        &self,
        user: &User,
        id: LeadId,
        sha256: Sha256,
    ) -> Result<(u64, Box<dyn std::io::Read + Send>)> {
        self.lead_for(user, id)?;
        let blob = self
            .storage
            .lead_blobs(id)?
            .into_iter()
            .find(|b| b.sha256 == sha256 && b.present)
            .ok_or(BureauError::NotFound { what: "文件" })?;
        Ok((blob.bytes, self.blobs.open(&sha256)?))
    }

    pub(super) fn read_blob(&self, sha256: &Sha256) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut self.blobs.open(sha256)?, &mut out)
            .map_err(crate::error::StorageError::io(sha256))?;
        Ok(out)
    }

    /// The thumbnail of a lead's blob (small: read whole).
    pub fn thumbnail_for(&self, user: &User, id: LeadId, sha256: Sha256) -> Result<Vec<u8>> {
        self.lead_for(user, id)?;
        if !self
            .storage
            .lead_blobs(id)?
            .iter()
            .any(|b| b.sha256 == sha256 && b.present)
        {
            return Err(BureauError::NotFound { what: "文件" });
        }
        let analysis = self.storage.blob(sha256)?.and_then(|b| b.analysis);
        match analysis.and_then(|a| a.thumbnail) {
            Some(t) => self.read_blob(&t),
            None => Err(BureauError::NotFound { what: "缩略图" }),
        }
    }

    /// Re-hashes every held blob of a lead now and records the result: the lead
    /// page shows the last check instead of re-reading every photo on each view.
    pub fn reverify_blobs(&self, user: &User, id: LeadId) -> Result<usize> {
        let row = self.lead_for(user, id)?;
        let mut checked = 0;
        for b in self
            .storage
            .lead_blobs(id)?
            .into_iter()
            .filter(|b| b.present)
        {
            let intact = self.blobs.verify(&b.sha256)?;
            self.storage.set_blob_verified(
                b.sha256,
                intact,
                audit(
                    &Actor::User(user.username.clone()),
                    Some(row.district.id),
                    "blob_verified",
                    format!("lead:{id}"),
                    None,
                    Some(serde_json::json!({"sha256": b.sha256, "intact": intact})),
                ),
            )?;
            checked += 1;
        }
        Ok(checked)
    }
}
