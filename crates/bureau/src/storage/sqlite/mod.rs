//! The embedded SQLite storage: WAL, foreign keys, `synchronous=FULL`, migrations
//! from `migrations/bureau/` in one transaction with a `user_version` guard.
//!
//! Writes go through one writer thread that commits whatever jobs have queued up
//! in one transaction (group commit), each job inside its own savepoint: a failed
//! job changes nothing, and 200 tablets pushing at once share one fsync instead of
//! paying one each. Reads use a small pool of read-only connections.
//!
//! The SQL lives by topic: [`accounts`] (districts, users, sessions), [`devices`],
//! [`leads`] (with reviews and handling), [`blobs`], [`audit`]; [`codec`] spells
//! values in columns. The [`Storage`] impl below only picks read or write.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use fieldlead_domain::postprocess::{Case, EnforcementAnswer};
use fieldlead_domain::{CaseId, DeviceId, DocumentId, LeadId, PublicKey, Receipt, Sha256};
use rusqlite::Connection;

use super::*;

mod accounts;
mod audit;
mod blobs;
mod cases;
pub(crate) mod codec;
mod devices;
mod documents;
mod enforcement;
mod leads;

/// Append-only, in file-name (timestamp) order; `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../../../migrations/bureau/20261126000000_init.sql"),
    include_str!("../../../../../migrations/bureau/20261129000000_district_blobs.sql"),
    include_str!("../../../../../migrations/bureau/20261129100000_postprocess.sql"),
    include_str!("../../../../../migrations/bureau/20261129110000_case_services.sql"),
    include_str!("../../../../../migrations/bureau/20261129120000_documents_enforcement.sql"),
];
/// Most jobs committed together.
const MAX_BATCH: usize = 512;
const MAX_IDLE_READERS: usize = 8;

/// One write: `run` may be called more than once (a batch rolled back as a whole is
/// run again job by job), `reply` exactly once, after the outcome of its commit.
struct Job {
    run: Box<dyn FnMut(&Connection) + Send>,
    reply: Box<dyn FnOnce(Result<(), String>) + Send>,
}

#[derive(Debug)]
pub struct SqliteStorage {
    path: PathBuf,
    jobs: Mutex<mpsc::Sender<Job>>,
    readers: Mutex<Vec<Connection>>,
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // WAL so the console reads while devices write; FULL so a 201 or a receipt
    // survives a power cut, not only a crash.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let latest = MIGRATIONS.len() as i64;
    if current > latest {
        return Err(StorageError::NewerDatabase {
            found: current,
            supported: latest,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

/// Group commit: jobs that arrive together share one transaction (one fsync), each
/// inside its own savepoint, so a job that fails changes nothing and the others
/// still commit. Some errors (a full disk, I/O, a trigger's `RAISE(ROLLBACK)`) make
/// SQLite roll back the whole transaction, taking the earlier jobs' work with it:
/// then every job of the batch runs again alone, so none is reported committed
/// that was not, and none reported failed that was.
fn run_writer(conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        if let Err(again) = commit_together(&conn, batch) {
            for job in again {
                let _ = commit_together(&conn, vec![job]).map_err(|lost| {
                    for job in lost {
                        (job.reply)(Err("事务被数据库整体回滚".into()));
                    }
                });
            }
        }
    }
}

/// Runs `batch` in one transaction and replies to every job; or, if SQLite rolled
/// the transaction back part-way, replies to none and hands the batch back.
fn commit_together(conn: &Connection, mut batch: Vec<Job>) -> Result<(), Vec<Job>> {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let msg = e.to_string();
        for job in batch {
            (job.reply)(Err(msg.clone()));
        }
        return Ok(());
    }
    for job in &mut batch {
        (job.run)(conn);
        if conn.is_autocommit() {
            // The transaction is gone: nothing of this batch is in the database.
            return Err(batch);
        }
    }
    let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
    if committed.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for job in batch {
        (job.reply)(committed.clone());
    }
    Ok(())
}

/// SQLite's errors in backend-neutral terms: a broken uniqueness rule is a
/// [`StorageError::Conflict`] (a race another writer won, answered 409), anything
/// else a [`StorageError::Backend`].
impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StorageError::Conflict(e.to_string())
            }
            _ => StorageError::Backend(e.to_string()),
        }
    }
}

impl SqliteStorage {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let mut writer = open_connection(path)?;
        migrate(&mut writer)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("bureau-db-writer".into())
            .spawn(move || run_writer(writer, rx))
            .map_err(StorageError::io("bureau-db-writer thread"))?;
        Ok(SqliteStorage {
            path: path.to_path_buf(),
            jobs: Mutex::new(tx),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Runs `f` in the next group commit, inside its own savepoint. `f` may run
    /// more than once (see [`run_writer`]); only the last run's result counts.
    fn write<R: Send + 'static>(
        &self,
        f: impl Fn(&Connection) -> StorageResult<R> + Send + 'static,
    ) -> StorageResult<R> {
        let (reply_tx, reply_rx) = mpsc::sync_channel::<StorageResult<R>>(1);
        let slot: std::sync::Arc<Mutex<Option<StorageResult<R>>>> =
            std::sync::Arc::new(Mutex::new(None));
        let out = std::sync::Arc::clone(&slot);
        let run = move |c: &Connection| {
            let result = (|| {
                c.execute_batch("SAVEPOINT job")?;
                match f(c) {
                    Ok(v) => {
                        c.execute_batch("RELEASE job")?;
                        Ok(v)
                    }
                    Err(e) => {
                        // Fails only if SQLite already rolled back everything,
                        // which the writer sees and handles.
                        let _ = c.execute_batch("ROLLBACK TO job; RELEASE job");
                        Err(e)
                    }
                }
            })();
            if let Ok(mut s) = slot.lock() {
                *s = Some(result);
            }
        };
        let reply = move |committed: Result<(), String>| {
            let result = out.lock().ok().and_then(|mut s| s.take());
            let answer = match (committed, result) {
                (Ok(()), Some(r)) => r,
                (Ok(()), None) => Err(StorageError::Commit("transaction did not start".into())),
                (Err(msg), _) => Err(StorageError::Commit(msg)),
            };
            let _ = reply_tx.send(answer);
        };
        self.jobs
            .lock()
            .map_err(|_| StorageError::WriterGone)?
            .send(Job {
                run: Box::new(run),
                reply: Box::new(reply),
            })
            .map_err(|_| StorageError::WriterGone)?;
        reply_rx.recv().map_err(|_| StorageError::WriterGone)?
    }

    fn read<R>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<R>) -> StorageResult<R> {
        let pooled = self.readers.lock().ok().and_then(|mut p| p.pop());
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = open_connection(&self.path)?;
                c.pragma_update(None, "query_only", true)?;
                c
            }
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < MAX_IDLE_READERS {
                pool.push(conn);
            }
        }
        Ok(out?)
    }
}
impl Storage for SqliteStorage {
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
        self.read(|c| devices::device_by_token(c, token_hash))
    }

    fn device(&self, id: DeviceId) -> StorageResult<Option<EnrolledDevice>> {
        self.read(|c| devices::device(c, id))
    }

    fn devices(&self, scope: Scope) -> StorageResult<Vec<EnrolledDevice>> {
        self.read(|c| devices::devices(c, scope))
    }

    fn revoke_device(&self, id: DeviceId, audit: AuditEntry) -> StorageResult<bool> {
        self.write(move |c| devices::revoke_device(c, id, &audit))
    }

    fn insert_lead(&self, lead: NewLead, audit: AuditEntry) -> StorageResult<LeadInsert> {
        self.write(move |c| leads::insert_lead(c, &lead, &audit))
    }

    fn lead(&self, id: LeadId) -> StorageResult<Option<Lead>> {
        self.read(|c| leads::lead(c, id))
    }

    fn leads(&self, scope: Scope, filter: &LeadFilter) -> StorageResult<Vec<LeadSummary>> {
        self.read(|c| leads::leads(c, scope, filter))
    }

    fn lead_blobs(&self, id: LeadId) -> StorageResult<Vec<LeadBlob>> {
        self.read(|c| leads::lead_blobs(c, id))
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
        self.read(|c| blobs::district_holds(c, district_id, sha256))
    }

    fn set_blob_verified(
        &self,
        sha256: Sha256,
        intact: bool,
        audit: AuditEntry,
    ) -> StorageResult<()> {
        self.write(move |c| blobs::set_blob_verified(c, sha256, intact, &audit))
    }

    fn device_leads_since(&self, device: DeviceId, since: DateTime<Utc>) -> StorageResult<u64> {
        self.read(|c| leads::device_leads_since(c, device, since))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            at: Utc::now(),
            actor: "cli".into(),
            district_id: None,
            action: action.into(),
            subject: "test".into(),
            before: None,
            after: None,
        }
    }

    #[test]
    fn audit_log_refuses_update_and_delete_even_from_raw_sql() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.sqlite3");
        let s = SqliteStorage::open(&path).unwrap();
        s.record_audit(entry("one")).unwrap();
        let raw = Connection::open(&path).unwrap();
        assert!(raw
            .execute("UPDATE audit_events SET action = 'x'", [])
            .is_err());
        assert!(raw.execute("DELETE FROM audit_events", []).is_err());
        assert_eq!(s.audit_events(Scope::All, None, 10).unwrap().len(), 1);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.sqlite3");
        drop(SqliteStorage::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(
            SqliteStorage::open(&path),
            Err(StorageError::NewerDatabase { found: 99, .. })
        ));
    }

    #[test]
    fn a_job_that_rolls_back_the_whole_batch_fails_alone_and_the_others_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.sqlite3");
        let s = std::sync::Arc::new(SqliteStorage::open(&path).unwrap());
        // RAISE(ROLLBACK) ends the whole transaction, not just the job's savepoint,
        // as a full disk or an I/O error would.
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE t (x TEXT);
                 CREATE TRIGGER t_boom BEFORE INSERT ON t WHEN NEW.x = 'boom'
                 BEGIN SELECT RAISE(ROLLBACK, 'boom'); END;",
            )
            .unwrap();
        // The first job holds the writer, so the rest queue up into one batch.
        let slow = {
            let s = std::sync::Arc::clone(&s);
            std::thread::spawn(move || {
                s.write(|c| {
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    c.execute("INSERT INTO t VALUES ('slow')", [])?;
                    Ok(())
                })
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        let jobs: Vec<_> = ["a", "b", "boom", "c", "d"]
            .into_iter()
            .map(|x| {
                let s = std::sync::Arc::clone(&s);
                std::thread::spawn(move || {
                    s.write(move |c| {
                        c.execute("INSERT INTO t VALUES (?1)", [x])?;
                        Ok(())
                    })
                })
            })
            .collect();
        let results: Vec<_> = jobs.into_iter().map(|j| j.join().unwrap()).collect();
        assert!(slow.join().unwrap().is_ok());
        let rows: Vec<String> = Connection::open(&path)
            .unwrap()
            .prepare("SELECT x FROM t ORDER BY x")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        // Every job reported committed is there exactly once; the failed one is not.
        assert_eq!(rows, ["a", "b", "c", "d", "slow"]);
        for (x, r) in ["a", "b", "boom", "c", "d"].iter().zip(&results) {
            assert_eq!(r.is_ok(), *x != "boom", "{x}: {r:?}");
        }
    }

    #[test]
    fn concurrent_writers_share_commits_and_a_failed_job_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = std::sync::Arc::new(SqliteStorage::open(&dir.path().join("b.sqlite3")).unwrap());
        let threads: Vec<_> = (0..16)
            .map(|i| {
                let s = std::sync::Arc::clone(&s);
                std::thread::spawn(move || {
                    for j in 0..25 {
                        s.record_audit(entry(&format!("{i}-{j}"))).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(s.audit_events(Scope::All, None, 1000).unwrap().len(), 400);
        // A job that fails half-way leaves nothing behind, and the next one works.
        let failed = s.write(|c| {
            codec::insert_audit(c, &entry("half"))?;
            c.execute("INSERT INTO no_such_table VALUES (1)", [])?;
            Ok(())
        });
        assert!(failed.is_err());
        s.record_audit(entry("after")).unwrap();
        let latest = s.audit_events(Scope::All, None, 1).unwrap();
        assert_eq!(latest[0].action, "after");
        assert!(!s
            .audit_events(Scope::All, None, 1000)
            .unwrap()
            .iter()
            .any(|e| e.action == "half"));
    }
}
