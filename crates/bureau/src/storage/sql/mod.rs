//! The queries of the bureau's storage, written once for both backends
//! against [`Db`](super::db::Db), by topic: [`accounts`] (districts, users,
//! sessions), [`devices`], [`leads`] (with reviews and handling), [`blobs`],
//! [`cases`], [`documents`], [`enforcement`], [`audit`]; [`codec`] spells values
//! in columns. A backend ([`Backend`]) only runs them: in a transaction of their
//! own for a change, on a consistent snapshot for a read. Every [`Storage`]
//! method is the same query on SQLite and on PostgreSQL.

use chrono::{DateTime, Utc};
use fieldlead_domain::postprocess::{Case, EnforcementAnswer};
use fieldlead_domain::{CaseId, DeviceId, DocumentId, LeadId, PublicKey, Receipt, Sha256};

use super::db::{Db, DbResult};
use super::*;

mod accounts;
mod audit;
mod blobs;
mod cases;
pub(crate) mod codec;
mod counters;
mod devices;
mod documents;
mod enforcement;
mod leads;

/// What a backend does: run the queries.
pub(crate) trait Backend: Send + Sync + std::fmt::Debug {
    /// Runs `f` as one change: everything it writes commits together or not at
    /// all, as if no other change ran meanwhile. `f` may run more than once (a
    /// change that lost a race to another is run again); only the last run's
    /// result counts.
    fn write<R: Send + 'static>(
        &self,
        f: impl Fn(&mut dyn Db) -> StorageResult<R> + Send + 'static,
    ) -> StorageResult<R>;

    /// Runs `f`'s queries on one consistent view of the database.
    fn read<R: Send>(&self, f: impl FnOnce(&mut dyn Db) -> DbResult<R> + Send) -> StorageResult<R>;

    /// Runs `f`, which runs exactly one statement: a statement sees one
    /// consistent view by itself, so a backend may leave out the transaction
    /// around it (on PostgreSQL two of three round trips). For the queries every
    /// request makes.
    fn read_one<R: Send>(
        &self,
        f: impl FnOnce(&mut dyn Db) -> DbResult<R> + Send,
    ) -> StorageResult<R> {
        self.read(f)
    }
}

impl<B: Backend> Storage for B {
    fn create_district(
        &self,
        code: &str,
        name: &str,
        audit: AuditEntry,
    ) -> StorageResult<District> {
        let (code, name) = (code.to_string(), name.to_string());
        self.write(move |c| accounts::create_district(c, &code, &name, &audit))
    }

    fn district_by_code(&self, code: &str) -> StorageResult<Option<District>> {
        self.read(|c| accounts::district_by_code(c, code))
    }

    fn districts(&self) -> StorageResult<Vec<District>> {
        self.read(accounts::districts)
    }

    fn add_user(&self, user: NewUser, audit: AuditEntry) -> StorageResult<Option<User>> {
        let username = user.username.clone();
        if !self.write(move |c| accounts::add_user(c, &user, &audit))? {
            return Ok(None);
        }
        Ok(self.user_credentials(&username)?.map(|(u, _)| u))
    }

    fn set_password(
        &self,
        username: &str,
        password_hash: &str,
        audit: AuditEntry,
    ) -> StorageResult<bool> {
        let (username, hash) = (username.to_string(), password_hash.to_string());
        self.write(move |c| accounts::set_password(c, &username, &hash, &audit))
    }

    fn user_credentials(&self, username: &str) -> StorageResult<Option<(User, String)>> {
        self.read(|c| accounts::user_credentials(c, username))
    }

    fn users(&self) -> StorageResult<Vec<User>> {
        self.read(accounts::users)
    }

    fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StorageResult<u64> {
        self.write(move |c| accounts::delete_expired_sessions(c, now))
    }

    fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StorageResult<()> {
        let (token_hash, csrf) = (token_hash.to_string(), csrf_token.to_string());
        self.write(move |c| {
            accounts::create_session(c, &token_hash, user_id, &csrf, now, expires_at)
        })
    }

    fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<(User, String)>> {
        self.read(|c| accounts::session(c, token_hash, now))
    }

    fn delete_session(&self, token_hash: &str) -> StorageResult<()> {
        let token_hash = token_hash.to_string();
        self.write(move |c| accounts::delete_session(c, &token_hash))
    }

    fn create_enrolment_code(
        &self,
        code_hash: &str,
        district_id: i64,
        expires_at: DateTime<Utc>,
        audit: AuditEntry,
    ) -> StorageResult<()> {
        let code_hash = code_hash.to_string();
        self.write(move |c| {
            devices::create_enrolment_code(c, &code_hash, district_id, expires_at, &audit)
        })
    }

    fn enrolment_code_district(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<i64>> {
        self.read(|c| devices::enrolment_code_district(c, code_hash, now))
    }

    fn device_by_key(&self, key: &PublicKey) -> StorageResult<Option<EnrolledDevice>> {
        self.read(|c| devices::device_by_key(c, key))
    }

    fn enrol_device(
        &self,
        code_hash: &str,
        enrolment: Enrolment,
        audit: AuditEntry,
    ) -> StorageResult<Option<EnrolledDevice>> {
        let code_hash = code_hash.to_string();
        self.write(move |c| devices::enrol_device(c, &code_hash, &enrolment, &audit))
    }

    fn device_by_token(&self, token_hash: &str) -> StorageResult<Option<EnrolledDevice>> {
        self.read_one(|c| devices::device_by_token(c, token_hash))
    }

    fn device(&self, id: DeviceId) -> StorageResult<Option<EnrolledDevice>> {
        self.read_one(|c| devices::device(c, id))
    }

    fn devices(&self, scope: Scope) -> StorageResult<Vec<EnrolledDevice>> {
        self.read(|c| devices::devices(c, scope))
    }

    fn revoke_device(&self, id: DeviceId, audit: AuditEntry) -> StorageResult<bool> {
        self.write(move |c| devices::revoke_device(c, id, &audit))
    }

    fn insert_lead(
        &self,
        lead: NewLead,
        audit: AuditEntry,
    ) -> StorageResult<(LeadInsert, Vec<LeadBlob>)> {
        self.write(move |c| {
            let inserted = leads::insert_lead(c, &lead, &audit)?;
            Ok((inserted, leads::lead_blobs(c, lead.id)?))
        })
    }

    fn lead(&self, id: LeadId) -> StorageResult<Option<Lead>> {
        self.read_one(|c| leads::lead(c, id))
    }

    fn lead_and_device_count(
        &self,
        id: LeadId,
        device: DeviceId,
        since: DateTime<Utc>,
    ) -> StorageResult<(Option<Lead>, u64)> {
        self.read_one(|c| leads::lead_and_device_count(c, id, device, since))
    }

    fn leads(&self, scope: Scope, filter: &LeadFilter) -> StorageResult<Vec<LeadSummary>> {
        self.read(|c| leads::leads(c, scope, filter))
    }

    fn lead_blobs(&self, id: LeadId) -> StorageResult<Vec<LeadBlob>> {
        self.read_one(|c| leads::lead_blobs(c, id))
    }

    fn expected_blob(&self, sha256: Sha256, district_id: i64) -> StorageResult<Option<u64>> {
        self.read(|c| leads::expected_blob(c, sha256, district_id))
    }

    fn blob(&self, sha256: Sha256) -> StorageResult<Option<BlobInfo>> {
        self.read(|c| blobs::blob(c, sha256))
    }

    fn blob_stored(
        &self,
        sha256: Sha256,
        bytes: u64,
        holder: BlobHolder,
        now: DateTime<Utc>,
    ) -> StorageResult<Vec<LeadId>> {
        self.write(move |c| blobs::blob_stored(c, sha256, bytes, holder, now))
    }

    fn district_holds(&self, district_id: i64, sha256: Sha256) -> StorageResult<bool> {
        self.read_one(|c| blobs::district_holds(c, district_id, sha256))
    }

    fn set_blob_verified(
        &self,
        sha256: Sha256,
        intact: bool,
        audit: AuditEntry,
    ) -> StorageResult<()> {
        self.write(move |c| blobs::set_blob_verified(c, sha256, intact, &audit))
    }

    fn complete_lead(
        &self,
        id: LeadId,
        receipt: &Receipt,
        before: &Handling,
        after: &Handling,
        audit: AuditEntry,
    ) -> StorageResult<bool> {
        let (receipt, before, after) = (receipt.clone(), before.clone(), after.clone());
        self.write(move |c| leads::complete_lead(c, id, &receipt, &before, &after, &audit))
    }

    fn set_blob_analysis(
        &self,
        sha256: Sha256,
        analysis: &BlobAnalysis,
        now: DateTime<Utc>,
    ) -> StorageResult<()> {
        let analysis = analysis.clone();
        self.write(move |c| blobs::set_blob_analysis(c, sha256, &analysis, now))
    }

    fn unanalysed_blobs(&self) -> StorageResult<Vec<Sha256>> {
        self.read(blobs::unanalysed_blobs)
    }

    fn blob_uses(&self, sha256: Sha256) -> StorageResult<Vec<BlobUse>> {
        self.read(|c| blobs::blob_uses(c, sha256))
    }

    fn phashes(&self) -> StorageResult<Vec<(Sha256, u64)>> {
        self.read(blobs::phashes)
    }

    fn add_review(&self, id: LeadId, review: Review, audit: AuditEntry) -> StorageResult<()> {
        self.write(move |c| leads::add_review(c, id, &review, &audit))
    }

    fn reviews(&self, id: LeadId) -> StorageResult<Vec<Review>> {
        self.read(|c| leads::reviews(c, id))
    }

    fn update_handling(
        &self,
        id: LeadId,
        before: &Handling,
        after: &Handling,
        audit: AuditEntry,
    ) -> StorageResult<bool> {
        let (before, after) = (before.clone(), after.clone());
        self.write(move |c| leads::update_handling(c, id, &before, &after, &audit))
    }

    fn insert_cases(&self, new: Vec<NewCase>) -> StorageResult<Result<(), Vec<String>>> {
        self.write(move |c| cases::insert_cases(c, &new))
    }

    fn case(&self, id: CaseId) -> StorageResult<Option<PostCase>> {
        self.read(|c| cases::case(c, id))
    }

    fn cases(&self, scope: Scope, filter: &CaseFilter) -> StorageResult<Vec<CaseSummary>> {
        self.read(|c| cases::cases(c, scope, filter))
    }

    fn update_case(
        &self,
        id: CaseId,
        before: &Case,
        after: &Case,
        service: Option<&ServiceRecord>,
        audit: AuditEntry,
    ) -> StorageResult<bool> {
        let (before, after, service) = (before.clone(), after.clone(), service.cloned());
        self.write(move |c| cases::update_case(c, id, &before, &after, service.as_ref(), &audit))
    }

    fn assign_case(
        &self,
        id: CaseId,
        before: Option<&str>,
        after: Option<&str>,
        audit: AuditEntry,
    ) -> StorageResult<bool> {
        let (before, after) = (before.map(str::to_owned), after.map(str::to_owned));
        self.write(move |c| cases::assign(c, id, before.as_deref(), after.as_deref(), &audit))
    }

    fn next_document_seq(&self, issuer_key: &str, year: i32) -> StorageResult<u32> {
        self.read(|c| documents::next_seq(c, issuer_key, year))
    }

    fn insert_document(
        &self,
        doc: &IssuedDocument,
        audit: AuditEntry,
    ) -> StorageResult<DocumentInsert> {
        let doc = doc.clone();
        self.write(move |c| documents::insert(c, &doc, &audit))
    }

    fn document(&self, id: DocumentId) -> StorageResult<Option<IssuedDocument>> {
        self.read(|c| documents::document(c, id))
    }

    fn add_case_report(
        &self,
        case: CaseId,
        report: &CaseReport,
        audit: AuditEntry,
    ) -> StorageResult<bool> {
        let report = report.clone();
        self.write(move |c| documents::add_report(c, case, &report, &audit))
    }

    fn insert_transfer(&self, transfer: NewTransfer) -> StorageResult<Result<(), Vec<CaseId>>> {
        self.write(move |c| enforcement::insert_transfer(c, &transfer))
    }

    fn enforcement_leads(
        &self,
        scope: Scope,
        filter: &EnforcementFilter,
    ) -> StorageResult<Vec<EnforcementLead>> {
        self.read(|c| enforcement::leads(c, scope, filter))
    }

    fn answer_lead(
        &self,
        case: CaseId,
        before: Option<&EnforcementAnswer>,
        after: &EnforcementAnswer,
        by: &str,
        audit: AuditEntry,
    ) -> StorageResult<bool> {
        let (before, after, by) = (before.cloned(), after.clone(), by.to_owned());
        self.write(move |c| enforcement::answer(c, case, before.as_ref(), &after, &by, &audit))
    }

    fn ping(&self) -> StorageResult<()> {
        self.read(|c| c.query_one("SELECT 1", crate::storage::db::p![], |_| Ok(())))
    }

    fn update_counter(&self, key: &str, rule: CounterRule) -> StorageResult<Option<u64>> {
        let key = key.to_string();
        self.write(move |c| Ok(counters::update(c, &key, rule.as_ref())?))
    }

    fn pin_signing_key(&self, public_key: &str) -> StorageResult<String> {
        let key = public_key.to_string();
        self.write(move |c| Ok(counters::pin_setting(c, "signing_key", &key)?))
    }

    fn prune_counters(&self, now_ms: i64) -> StorageResult<usize> {
        self.write(move |c| Ok(counters::prune(c, now_ms)?))
    }

    fn claim_analysis(
        &self,
        sha256: Sha256,
        holder: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> StorageResult<bool> {
        let holder = holder.to_string();
        self.write(move |c| Ok(blobs::claim_analysis(c, sha256, &holder, now_ms, lease_ms)?))
    }

    fn record_audit(&self, audit: AuditEntry) -> StorageResult<()> {
        self.write(move |c| Ok(codec::insert_audit(c, &audit)?))
    }

    fn audit_events(
        &self,
        scope: Scope,
        subject: Option<&str>,
        limit: u32,
    ) -> StorageResult<Vec<AuditEvent>> {
        self.read(|c| audit::audit_events(c, scope, subject, limit))
    }
}
