//! The embedded SQLite storage: WAL, foreign keys, `synchronous=FULL`, migrations
//! from `migrations/bureau/` in one transaction with a `user_version` guard.
//!
//! Writes go through one writer thread that commits whatever jobs have queued up
//! in one transaction (group commit), each job inside its own savepoint: a failed
//! job changes nothing, and 200 tablets pushing at once share one fsync instead of
//! paying one each. Reads use a small pool of read-only connections.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use fieldlead_domain::{BlobKind, Decision, DeviceId, LeadId, LeadState, PublicKey, Sha256};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::*;

/// Append-only, in file-name (timestamp) order; `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../../migrations/bureau/20261126000000_init.sql"),
    include_str!("../../../../migrations/bureau/20261129000000_district_blobs.sql"),
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

pub(crate) fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_time(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })
}

fn opt_time(s: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_time).transpose()
}

fn conversion<E: std::error::Error + Send + Sync + 'static>(e: E) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

fn bad(what: &str) -> rusqlite::Error {
    conversion(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("unexpected value in column {what}"),
    ))
}

pub(crate) fn state_str(s: LeadState) -> &'static str {
    match s {
        LeadState::Draft => "draft",
        LeadState::Sealed => "sealed",
        LeadState::Delivered => "delivered",
        LeadState::Acknowledged => "acknowledged",
        LeadState::CaseFiled => "case_filed",
        LeadState::Declined => "declined",
        LeadState::ReportedToCity => "reported_to_city",
    }
}

fn parse_state(s: &str) -> rusqlite::Result<LeadState> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| bad("state"))
}

fn decision_str(d: Decision) -> &'static str {
    match d {
        Decision::CaseFiled => "case_filed",
        Decision::Declined => "declined",
    }
}

fn parse_decision(s: Option<String>) -> rusqlite::Result<Option<Decision>> {
    match s.as_deref() {
        None => Ok(None),
        Some("case_filed") => Ok(Some(Decision::CaseFiled)),
        Some("declined") => Ok(Some(Decision::Declined)),
        Some(_) => Err(bad("decision")),
    }
}

fn kind_str(k: BlobKind) -> &'static str {
    match k {
        BlobKind::Photo => "photo",
        BlobKind::Signature => "signature",
    }
}

fn parse_kind(s: &str) -> rusqlite::Result<BlobKind> {
    match s {
        "photo" => Ok(BlobKind::Photo),
        "signature" => Ok(BlobKind::Signature),
        _ => Err(bad("kind")),
    }
}

fn parse_sha(s: &str) -> rusqlite::Result<Sha256> {
    s.parse().map_err(conversion)
}

fn parse_phash(s: Option<String>) -> rusqlite::Result<Option<u64>> {
    s.map(|h| u64::from_str_radix(&h, 16).map_err(|_| bad("phash")))
        .transpose()
}

fn json_text(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(|v| v.to_string())
}

fn insert_audit(c: &Connection, a: &AuditEntry) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO audit_events (at, actor, district_id, action, subject, before_json, after_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        fmt_time(a.at),
        a.actor,
        a.district_id,
        a.action,
        a.subject,
        json_text(&a.before),
        json_text(&a.after)
    ])?;
    Ok(())
}

const USER_COLUMNS: &str = "u.id, u.username, u.display_name, u.role, d.id, d.code, d.name";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(3)?;
    let district = match r.get::<_, Option<i64>>(4)? {
        Some(id) => Some(District {
            id,
            code: r.get(5)?,
            name: r.get(6)?,
        }),
        None => None,
    };
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: Role::parse(&role).ok_or_else(|| bad("role"))?,
        district,
    })
}

const DEVICE_COLUMNS: &str =
    "v.id, v.public_key, v.label, v.enrolled_at, v.revoked_at, v.revoked_by, d.id, d.code, d.name";

fn device_from_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    let id: String = r.get(0)?;
    let key: String = r.get(1)?;
    Ok(Device {
        id: id.parse::<DeviceId>().map_err(conversion)?,
        public_key: key.parse::<PublicKey>().map_err(conversion)?,
        label: r.get(2)?,
        enrolled_at: parse_time(&r.get::<_, String>(3)?)?,
        revoked_at: opt_time(r.get(4)?)?,
        revoked_by: r.get(5)?,
        district: District {
            id: r.get(6)?,
            code: r.get(7)?,
            name: r.get(8)?,
        },
    })
}

const LEAD_COLUMNS: &str =
    "l.id, d.id, d.code, d.name, l.device_id, l.manifest_hash, l.upload_json,
    l.business_name, l.product_name, l.sealed_at, l.received_at, l.completed_at, l.receipt_json,
    l.review_state, l.state, l.acknowledged_at, l.acknowledged_by, l.decision, l.decided_at,
    l.decided_by, l.case_number, l.decline_reason, l.fine_fen, l.confiscation_fen, l.remark,
    l.reported_to_city_on, l.updated_at";

fn handling_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<Handling> {
    Ok(Handling {
        state: parse_state(&r.get::<_, String>(at)?)?,
        acknowledged_at: opt_time(r.get(at + 1)?)?,
        acknowledged_by: r.get(at + 2)?,
        decision: parse_decision(r.get(at + 3)?)?,
        decided_at: opt_time(r.get(at + 4)?)?,
        decided_by: r.get(at + 5)?,
        case_number: r.get(at + 6)?,
        decline_reason: r.get(at + 7)?,
        fine_fen: r.get(at + 8)?,
        confiscation_fen: r.get(at + 9)?,
        remark: r.get(at + 10)?,
        reported_to_city_on: r
            .get::<_, Option<String>>(at + 11)?
            .map(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(conversion))
            .transpose()?,
    })
}

fn lead_from_row(r: &Row<'_>) -> rusqlite::Result<LeadRow> {
    let id: String = r.get(0)?;
    let device: String = r.get(4)?;
    let review: Option<String> = r.get(13)?;
    Ok(LeadRow {
        id: id.parse().map_err(conversion)?,
        district: District {
            id: r.get(1)?,
            code: r.get(2)?,
            name: r.get(3)?,
        },
        device_id: device.parse().map_err(conversion)?,
        manifest_hash: parse_sha(&r.get::<_, String>(5)?)?,
        upload_json: r.get(6)?,
        business_name: r.get(7)?,
        product_name: r.get(8)?,
        sealed_at: parse_time(&r.get::<_, String>(9)?)?,
        received_at: parse_time(&r.get::<_, String>(10)?)?,
        completed_at: opt_time(r.get(11)?)?,
        receipt_json: r.get(12)?,
        review_state: review
            .map(|s| ReviewState::parse(&s).ok_or_else(|| bad("review_state")))
            .transpose()?,
        handling: handling_from_row(r, 14)?,
        updated_at: parse_time(&r.get::<_, String>(26)?)?,
    })
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

fn lead_handling(c: &Connection, id: &str) -> rusqlite::Result<Option<Handling>> {
    c.query_row(
        "SELECT state, acknowledged_at, acknowledged_by, decision, decided_at, decided_by,
                case_number, decline_reason, fine_fen, confiscation_fen, remark, reported_to_city_on
         FROM leads WHERE id = ?1",
        [id],
        |r| handling_from_row(r, 0),
    )
    .optional()
}

impl Storage for SqliteStorage {
    fn create_district(
        &self,
        code: &str,
        name: &str,
        audit: AuditEntry,
    ) -> StorageResult<District> {
        let (code, name) = (code.to_string(), name.to_string());
        self.write(move |c| {
            c.execute(
                "INSERT INTO districts (code, name, created_at) VALUES (?1, ?2, ?3)",
                params![code, name, fmt_time(audit.at)],
            )?;
            let id = c.last_insert_rowid();
            insert_audit(
                c,
                &AuditEntry {
                    district_id: Some(id),
                    ..audit.clone()
                },
            )?;
            Ok(District {
                id,
                code: code.clone(),
                name: name.clone(),
            })
        })
    }

    fn district_by_code(&self, code: &str) -> StorageResult<Option<District>> {
        self.read(|c| {
            c.query_row(
                "SELECT id, code, name FROM districts WHERE code = ?1",
                [code],
                |r| {
                    Ok(District {
                        id: r.get(0)?,
                        code: r.get(1)?,
                        name: r.get(2)?,
                    })
                },
            )
            .optional()
        })
    }

    fn districts(&self) -> StorageResult<Vec<District>> {
        self.read(|c| {
            c.prepare("SELECT id, code, name FROM districts ORDER BY code")?
                .query_map([], |r| {
                    Ok(District {
                        id: r.get(0)?,
                        code: r.get(1)?,
                        name: r.get(2)?,
                    })
                })?
                .collect()
        })
    }

    fn add_user(&self, user: NewUser, audit: AuditEntry) -> StorageResult<Option<User>> {
        let username = user.username.clone();
        let created = self.write(move |c| {
            let n = c.execute(
                "INSERT INTO users (username, display_name, role, district_id, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (username) DO NOTHING",
                params![
                    user.username,
                    user.display_name,
                    user.role.as_str(),
                    user.district_id,
                    user.password_hash,
                    fmt_time(audit.at)
                ],
            )?;
            if n == 1 {
                insert_audit(c, &audit)?;
            }
            Ok(n == 1)
        })?;
        if !created {
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
        self.write(move |c| {
            let n = c.execute(
                "UPDATE users SET password_hash = ?2 WHERE username = ?1",
                params![username, hash],
            )?;
            if n == 1 {
                c.execute(
                    "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?1)",
                    [&username],
                )?;
                insert_audit(c, &audit)?;
            }
            Ok(n == 1)
        })
    }

    fn user_credentials(&self, username: &str) -> StorageResult<Option<(User, String)>> {
        self.read(|c| {
            c.query_row(
                &format!(
                    "SELECT {USER_COLUMNS}, u.password_hash FROM users u
                     LEFT JOIN districts d ON d.id = u.district_id WHERE u.username = ?1"
                ),
                [username],
                |r| Ok((user_from_row(r)?, r.get(7)?)),
            )
            .optional()
        })
    }

    fn users(&self) -> StorageResult<Vec<User>> {
        self.read(|c| {
            c.prepare(&format!(
                "SELECT {USER_COLUMNS} FROM users u LEFT JOIN districts d ON d.id = u.district_id
                 ORDER BY u.username"
            ))?
            .query_map([], user_from_row)?
            .collect()
        })
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
            // Expired sessions are swept whenever someone logs in.
            c.execute(
                "DELETE FROM sessions WHERE expires_at < ?1",
                [fmt_time(now)],
            )?;
            c.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    token_hash,
                    user_id,
                    csrf,
                    fmt_time(now),
                    fmt_time(expires_at)
                ],
            )?;
            Ok(())
        })
    }

    fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<(User, String)>> {
        self.read(|c| {
            c.query_row(
                &format!(
                    "SELECT {USER_COLUMNS}, s.csrf_token FROM sessions s
                     JOIN users u ON u.id = s.user_id
                     LEFT JOIN districts d ON d.id = u.district_id
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2"
                ),
                params![token_hash, fmt_time(now)],
                |r| Ok((user_from_row(r)?, r.get(7)?)),
            )
            .optional()
        })
    }

    fn delete_session(&self, token_hash: &str) -> StorageResult<()> {
        let token_hash = token_hash.to_string();
        self.write(move |c| {
            c.execute("DELETE FROM sessions WHERE token_hash = ?1", [&token_hash])?;
            Ok(())
        })
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
            c.execute(
                "INSERT INTO enrolment_codes (code_hash, district_id, created_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![code_hash, district_id, audit.actor, fmt_time(audit.at), fmt_time(expires_at)],
            )?;
            insert_audit(c, &audit)?;
            Ok(())
        })
    }

    fn enrol_device(
        &self,
        code_hash: &str,
        device: NewDevice,
        now: DateTime<Utc>,
    ) -> StorageResult<EnrolOutcome> {
        let code_hash = code_hash.to_string();
        let outcome = self.write(move |c| {
            let district: Option<i64> = c
                .query_row(
                    "SELECT district_id FROM enrolment_codes
                     WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                    params![code_hash, fmt_time(now)],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(district_id) = district else {
                return Ok(Err(EnrolOutcome::BadCode));
            };
            let existing: Option<(String, Option<String>, i64)> = c
                .query_row(
                    "SELECT id, revoked_at, district_id FROM devices WHERE public_key = ?1",
                    [device.public_key.to_hex()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (id, action, before) = match existing {
                // One key, one tablet: an active device cannot be enrolled twice.
                Some((_, None, _)) => return Ok(Err(EnrolOutcome::KeyTaken)),
                // A revoked tablet comes back only with a fresh code, which an
                // administrator issued on purpose. It keeps its id, so the leads it
                // delivered before stay linked to it; the old token stays dead.
                Some((_, Some(_), old_district)) if old_district != district_id => {
                    return Ok(Err(EnrolOutcome::OtherDistrict))
                }
                Some((old_id, Some(revoked_at), old_district)) => {
                    c.execute(
                        "UPDATE devices SET district_id = ?2, token_hash = ?3, label = ?4,
                                enrolled_at = ?5, revoked_at = NULL, revoked_by = NULL
                         WHERE id = ?1",
                        params![
                            old_id,
                            district_id,
                            device.token_hash,
                            device.label,
                            fmt_time(now)
                        ],
                    )?;
                    (
                        old_id,
                        "device_reenrolled",
                        Some(serde_json::json!({
                            "revoked_at": revoked_at,
                            "district_id": old_district,
                        })),
                    )
                }
                None => {
                    c.execute(
                        "INSERT INTO devices (id, district_id, public_key, token_hash, label, enrolled_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![
                            device.id.to_string(),
                            district_id,
                            device.public_key.to_hex(),
                            device.token_hash,
                            device.label,
                            fmt_time(now)
                        ],
                    )?;
                    (device.id.to_string(), "device_enrolled", None)
                }
            };
            c.execute(
                "UPDATE enrolment_codes SET used_at = ?2, device_id = ?3 WHERE code_hash = ?1",
                params![code_hash, fmt_time(now), id],
            )?;
            insert_audit(
                c,
                &AuditEntry {
                    at: now,
                    actor: format!("device:{id}"),
                    district_id: Some(district_id),
                    action: action.into(),
                    subject: format!("device:{id}"),
                    before,
                    after: Some(serde_json::json!({
                        "label": device.label,
                        "public_key": device.public_key.to_hex(),
                    })),
                },
            )?;
            Ok(Ok(id))
        })?;
        let id: DeviceId = match outcome {
            Err(o) => return Ok(o),
            Ok(id) => id
                .parse()
                .map_err(|_| StorageError::Corrupt(format!("device id {id}")))?,
        };
        self.device(id)?
            .map(|d| EnrolOutcome::Enrolled(Box::new(d)))
            .ok_or_else(|| StorageError::Corrupt("enrolled device vanished".into()))
    }

    fn device_by_token(&self, token_hash: &str) -> StorageResult<Option<Device>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices v JOIN districts d ON d.id = v.district_id
                 WHERE v.token_hash = ?1"
            ))?
            .query_row([token_hash], device_from_row)
            .optional()
        })
    }

    fn device(&self, id: DeviceId) -> StorageResult<Option<Device>> {
        self.read(|c| {
            c.query_row(
                &format!(
                    "SELECT {DEVICE_COLUMNS} FROM devices v JOIN districts d ON d.id = v.district_id
                     WHERE v.id = ?1"
                ),
                [id.to_string()],
                device_from_row,
            )
            .optional()
        })
    }

    fn devices(&self, scope: Scope) -> StorageResult<Vec<Device>> {
        self.read(|c| {
            c.prepare(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices v JOIN districts d ON d.id = v.district_id
                 WHERE ?1 IS NULL OR v.district_id = ?1 ORDER BY v.enrolled_at DESC"
            ))?
            .query_map([scope.district()], device_from_row)?
            .collect()
        })
    }

    fn revoke_device(&self, id: DeviceId, audit: AuditEntry) -> StorageResult<bool> {
        self.write(move |c| {
            let n = c.execute(
                "UPDATE devices SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_at IS NULL",
                params![id.to_string(), fmt_time(audit.at), audit.actor],
            )?;
            if n == 1 {
                insert_audit(c, &audit)?;
            }
            Ok(n == 1)
        })
    }

    fn insert_lead(&self, lead: NewLead, audit: AuditEntry) -> StorageResult<LeadInsert> {
        self.write(move |c| {
            let id = lead.id.to_string();
            let existing: Option<(String, String)> = c
                .prepare_cached("SELECT manifest_hash, received_at FROM leads WHERE id = ?1")?
                .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((hash, received_at)) = existing {
                return Ok(if hash == lead.manifest_hash.to_hex() {
                    LeadInsert::Same {
                        received_at: parse_time(&received_at)?,
                    }
                } else {
                    LeadInsert::Conflict
                });
            }
            let received = fmt_time(lead.received_at);
            c.prepare_cached(
                "INSERT INTO leads (id, district_id, device_id, manifest_hash, upload_json,
                    business_name, product_name, sealed_at, received_at, state, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'sealed', ?9)",
            )?
            .execute(params![
                id,
                lead.district_id,
                lead.device_id.to_string(),
                lead.manifest_hash.to_hex(),
                lead.upload_json,
                lead.business_name,
                lead.product_name,
                fmt_time(lead.sealed_at),
                received
            ])?;
            let mut blob = c.prepare_cached(
                "INSERT INTO lead_blobs (lead_id, sha256, bytes, kind) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for b in &lead.blobs {
                blob.execute(params![
                    id,
                    b.sha256.to_hex(),
                    b.bytes as i64,
                    kind_str(b.kind)
                ])?;
            }
            insert_audit(c, &audit)?;
            Ok(LeadInsert::Created)
        })
    }

    fn lead(&self, id: LeadId) -> StorageResult<Option<LeadRow>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {LEAD_COLUMNS} FROM leads l JOIN districts d ON d.id = l.district_id
                 WHERE l.id = ?1"
            ))?
            .query_row([id.to_string()], lead_from_row)
            .optional()
        })
    }

    fn leads(&self, scope: Scope, filter: &LeadFilter) -> StorageResult<Vec<LeadSummary>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT l.id, d.id, d.code, d.name, l.business_name, l.product_name, l.sealed_at,
                        l.received_at, l.completed_at, l.state, l.review_state,
                        (SELECT COUNT(*) FROM lead_blobs x LEFT JOIN district_blobs b
                            ON b.sha256 = x.sha256 AND b.district_id = l.district_id
                          WHERE x.lead_id = l.id AND b.sha256 IS NULL)
                 FROM leads l JOIN districts d ON d.id = l.district_id
                 WHERE (?1 IS NULL OR l.district_id = ?1)
                   AND (?2 IS NULL OR l.state = ?2)
                   AND (?3 IS NULL OR (l.state = 'delivered' AND l.completed_at < ?3))
                 ORDER BY l.received_at DESC LIMIT ?4",
            )?
            .query_map(
                params![
                    scope.district(),
                    filter.state.map(state_str),
                    filter.overdue_before.map(fmt_time),
                    filter.limit.unwrap_or(500)
                ],
                |r| {
                    let id: String = r.get(0)?;
                    let review: Option<String> = r.get(10)?;
                    Ok(LeadSummary {
                        id: id.parse().map_err(conversion)?,
                        district: District {
                            id: r.get(1)?,
                            code: r.get(2)?,
                            name: r.get(3)?,
                        },
                        business_name: r.get(4)?,
                        product_name: r.get(5)?,
                        sealed_at: parse_time(&r.get::<_, String>(6)?)?,
                        received_at: parse_time(&r.get::<_, String>(7)?)?,
                        completed_at: opt_time(r.get(8)?)?,
                        state: parse_state(&r.get::<_, String>(9)?)?,
                        review_state: review
                            .map(|s| ReviewState::parse(&s).ok_or_else(|| bad("review_state")))
                            .transpose()?,
                        missing_blobs: r.get(11)?,
                    })
                },
            )?
            .collect()
        })
    }

    fn lead_blobs(&self, id: LeadId) -> StorageResult<Vec<LeadBlob>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT x.sha256, x.bytes, x.kind, b.sha256 IS NOT NULL FROM lead_blobs x
                 JOIN leads l ON l.id = x.lead_id
                 LEFT JOIN district_blobs b ON b.sha256 = x.sha256 AND b.district_id = l.district_id
                 WHERE x.lead_id = ?1 ORDER BY x.sha256",
            )?
            .query_map([id.to_string()], |r| {
                Ok(LeadBlob {
                    sha256: parse_sha(&r.get::<_, String>(0)?)?,
                    bytes: r.get::<_, i64>(1)? as u64,
                    kind: parse_kind(&r.get::<_, String>(2)?)?,
                    present: r.get(3)?,
                })
            })?
            .collect()
        })
    }

    fn expected_blob(&self, sha256: Sha256, district_id: i64) -> StorageResult<Option<u64>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT x.bytes FROM lead_blobs x JOIN leads l ON l.id = x.lead_id
                 WHERE x.sha256 = ?1 AND l.district_id = ?2 LIMIT 1",
            )?
            .query_row(params![sha256.to_hex(), district_id], |r| {
                r.get::<_, i64>(0)
            })
            .optional()
            .map(|b| b.map(|b| b as u64))
        })
    }

    fn blob(&self, sha256: Sha256) -> StorageResult<Option<BlobInfo>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT sha256, bytes, received_at, analysis_json, phash, verified_at, intact
                 FROM blobs WHERE sha256 = ?1",
            )?
            .query_row([sha256.to_hex()], |r| {
                Ok(BlobInfo {
                    sha256: parse_sha(&r.get::<_, String>(0)?)?,
                    bytes: r.get::<_, i64>(1)? as u64,
                    received_at: parse_time(&r.get::<_, String>(2)?)?,
                    analysis_json: r.get(3)?,
                    phash: parse_phash(r.get(4)?)?,
                    verified_at: opt_time(r.get(5)?)?,
                    intact: r.get(6)?,
                })
            })
            .optional()
        })
    }

    fn blob_stored(
        &self,
        sha256: Sha256,
        bytes: u64,
        holder: BlobHolder,
        now: DateTime<Utc>,
    ) -> StorageResult<Vec<LeadId>> {
        self.write(move |c| {
            let hex = sha256.to_hex();
            let at = fmt_time(now);
            // The bytes were hashed on the way in: verified as they arrived.
            c.prepare_cached(
                "INSERT INTO blobs (sha256, bytes, received_at, verified_at, intact)
                 VALUES (?1, ?2, ?3, ?3, 1) ON CONFLICT (sha256) DO NOTHING",
            )?
            .execute(params![hex, bytes as i64, at])?;
            c.prepare_cached(
                "INSERT INTO district_blobs (district_id, sha256, received_at, device_id)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (district_id, sha256) DO NOTHING",
            )?
            .execute(params![
                holder.district_id,
                hex,
                at,
                holder.device_id.map(|d| d.to_string())
            ])?;
            let ids: Vec<String> = c
                .prepare_cached(
                    "SELECT l.id FROM leads l JOIN lead_blobs lb ON lb.lead_id = l.id
                     WHERE lb.sha256 = ?1 AND l.district_id = ?2 AND l.receipt_json IS NULL
                       AND NOT EXISTS (SELECT 1 FROM lead_blobs x LEFT JOIN district_blobs b
                                         ON b.sha256 = x.sha256 AND b.district_id = l.district_id
                                       WHERE x.lead_id = l.id AND b.sha256 IS NULL)",
                )?
                .query_map(params![hex, holder.district_id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            ids.iter()
                .map(|s| s.parse().map_err(|e| StorageError::Corrupt(format!("{e}"))))
                .collect()
        })
    }

    fn district_holds(&self, district_id: i64, sha256: Sha256) -> StorageResult<bool> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM district_blobs WHERE district_id = ?1 AND sha256 = ?2)",
            )?
            .query_row(params![district_id, sha256.to_hex()], |r| r.get(0))
        })
    }

    fn set_blob_verified(
        &self,
        sha256: Sha256,
        intact: bool,
        audit: AuditEntry,
    ) -> StorageResult<()> {
        self.write(move |c| {
            c.execute(
                "UPDATE blobs SET verified_at = ?2, intact = ?3 WHERE sha256 = ?1",
                params![sha256.to_hex(), fmt_time(audit.at), intact],
            )?;
            insert_audit(c, &audit)?;
            Ok(())
        })
    }

    fn device_leads_since(&self, device: DeviceId, since: DateTime<Utc>) -> StorageResult<u64> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT COUNT(*) FROM leads WHERE device_id = ?1 AND received_at >= ?2",
            )?
            .query_row(params![device.to_string(), fmt_time(since)], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
        })
    }

    fn complete_lead(
        &self,
        id: LeadId,
        receipt_json: &str,
        audit: AuditEntry,
    ) -> StorageResult<bool> {
        let receipt = receipt_json.to_string();
        self.write(move |c| {
            let n = c
                .prepare_cached(
                    "UPDATE leads SET receipt_json = ?2, completed_at = ?3, state = 'delivered', updated_at = ?3
                     WHERE id = ?1 AND receipt_json IS NULL",
                )?
                .execute(params![id.to_string(), receipt, fmt_time(audit.at)])?;
            if n == 1 {
                insert_audit(c, &audit)?;
            }
            Ok(n == 1)
        })
    }

    fn set_blob_analysis(
        &self,
        sha256: Sha256,
        analysis_json: &str,
        phash: Option<u64>,
        now: DateTime<Utc>,
    ) -> StorageResult<()> {
        let json = analysis_json.to_string();
        self.write(move |c| {
            c.execute(
                "UPDATE blobs SET analysis_json = ?2, phash = ?3, analysed_at = ?4 WHERE sha256 = ?1",
                params![sha256.to_hex(), json, phash.map(|p| format!("{p:016x}")), fmt_time(now)],
            )?;
            Ok(())
        })
    }

    fn unanalysed_blobs(&self) -> StorageResult<Vec<Sha256>> {
        self.read(|c| {
            c.prepare("SELECT sha256 FROM blobs WHERE analysed_at IS NULL")?
                .query_map([], |r| parse_sha(&r.get::<_, String>(0)?))?
                .collect()
        })
    }

    fn blob_uses(&self, sha256: Sha256) -> StorageResult<Vec<BlobUse>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT l.id, l.district_id, l.business_name FROM lead_blobs x
                 JOIN leads l ON l.id = x.lead_id WHERE x.sha256 = ?1 ORDER BY l.received_at",
            )?
            .query_map([sha256.to_hex()], |r| {
                let id: String = r.get(0)?;
                Ok(BlobUse {
                    lead_id: id.parse().map_err(conversion)?,
                    district_id: r.get(1)?,
                    business_name: r.get(2)?,
                })
            })?
            .collect()
        })
    }

    fn phashes(&self) -> StorageResult<Vec<(Sha256, u64)>> {
        self.read(|c| {
            c.prepare_cached("SELECT sha256, phash FROM blobs WHERE phash IS NOT NULL")?
                .query_map([], |r| {
                    Ok((
                        parse_sha(&r.get::<_, String>(0)?)?,
                        parse_phash(r.get(1)?)?.unwrap_or_default(),
                    ))
                })?
                .collect()
        })
    }

    fn add_review(&self, id: LeadId, review: Review, audit: AuditEntry) -> StorageResult<()> {
        self.write(move |c| {
            c.execute(
                "INSERT INTO reviews (lead_id, reviewer, state, comment, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id.to_string(),
                    review.reviewer,
                    review.state.as_str(),
                    review.comment,
                    fmt_time(review.at)
                ],
            )?;
            c.execute(
                "UPDATE leads SET review_state = ?2, updated_at = ?3 WHERE id = ?1",
                params![id.to_string(), review.state.as_str(), fmt_time(review.at)],
            )?;
            insert_audit(c, &audit)?;
            Ok(())
        })
    }

    fn reviews(&self, id: LeadId) -> StorageResult<Vec<Review>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT reviewer, state, comment, at FROM reviews WHERE lead_id = ?1 ORDER BY id",
            )?
            .query_map([id.to_string()], |r| {
                Ok(Review {
                    reviewer: r.get(0)?,
                    state: ReviewState::parse(&r.get::<_, String>(1)?)
                        .ok_or_else(|| bad("reviews.state"))?,
                    comment: r.get(2)?,
                    at: parse_time(&r.get::<_, String>(3)?)?,
                })
            })?
            .collect()
        })
    }

    fn update_handling(
        &self,
        id: LeadId,
        before: &Handling,
        after: &Handling,
        audit: AuditEntry,
    ) -> StorageResult<bool> {
        let (before, h) = (before.clone(), after.clone());
        self.write(move |c| {
            let key = id.to_string();
            if lead_handling(c, &key)?.as_ref() != Some(&before) {
                return Ok(false);
            }
            c.execute(
                "UPDATE leads SET state = ?2, acknowledged_at = ?3, acknowledged_by = ?4, decision = ?5,
                    decided_at = ?6, decided_by = ?7, case_number = ?8, decline_reason = ?9,
                    fine_fen = ?10, confiscation_fen = ?11, remark = ?12, reported_to_city_on = ?13,
                    updated_at = ?14
                 WHERE id = ?1",
                params![
                    key,
                    state_str(h.state),
                    h.acknowledged_at.map(fmt_time),
                    h.acknowledged_by,
                    h.decision.map(decision_str),
                    h.decided_at.map(fmt_time),
                    h.decided_by,
                    h.case_number,
                    h.decline_reason,
                    h.fine_fen,
                    h.confiscation_fen,
                    h.remark,
                    h.reported_to_city_on.map(|d| d.format("%Y-%m-%d").to_string()),
                    fmt_time(audit.at)
                ],
            )?;
            insert_audit(c, &audit)?;
            Ok(true)
        })
    }

    fn record_audit(&self, audit: AuditEntry) -> StorageResult<()> {
        self.write(move |c| Ok(insert_audit(c, &audit)?))
    }

    fn audit_events(
        &self,
        scope: Scope,
        subject: Option<&str>,
        limit: u32,
    ) -> StorageResult<Vec<AuditEvent>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT id, at, actor, district_id, action, subject, before_json, after_json
                 FROM audit_events
                 WHERE (?1 IS NULL OR district_id = ?1) AND (?2 IS NULL OR subject = ?2)
                 ORDER BY id DESC LIMIT ?3",
            )?
            .query_map(params![scope.district(), subject, limit], |r| {
                Ok(AuditEvent {
                    id: r.get(0)?,
                    at: parse_time(&r.get::<_, String>(1)?)?,
                    actor: r.get(2)?,
                    district_id: r.get(3)?,
                    action: r.get(4)?,
                    subject: r.get(5)?,
                    before: r.get(6)?,
                    after: r.get(7)?,
                })
            })?
            .collect()
        })
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
            insert_audit(c, &entry("half"))?;
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
