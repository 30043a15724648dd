//! The embedded SQLite storage: WAL, foreign keys, `synchronous=FULL`, migrations
//! from `migrations/bureau/` in one transaction with a `user_version` guard.
//!
//! Writes go through one writer thread that commits whatever jobs have queued up
//! in one transaction (group commit), each job inside its own savepoint: a failed
//! job changes nothing, and 200 tablets pushing at once share one fsync instead of
//! paying one each. Reads use a small pool of read-only connections.
//!
//! The queries are the shared ones of [`super::sql`]; this file runs them.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;

use rusqlite::Connection;

use super::db::{Db, DbError, DbResult, Row, ToValue, Value};
use super::pool::Pool;
use super::sql::Backend;
use super::*;

/// Append-only, in file-name (timestamp) order; `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../../../migrations/bureau/20261126000000_init.sql"),
    include_str!("../../../../../migrations/bureau/20261129000000_district_blobs.sql"),
    include_str!("../../../../../migrations/bureau/20261129100000_postprocess.sql"),
    include_str!("../../../../../migrations/bureau/20261129110000_case_services.sql"),
    include_str!("../../../../../migrations/bureau/20261129120000_documents_enforcement.sql"),
    include_str!("../../../../../migrations/bureau/20261129140000_instances.sql"),
];
/// Most jobs committed together.
const MAX_BATCH: usize = 512;
/// Read connections open at most; a read that finds them all busy waits for one.
/// Opening a connection costs a parse of the whole schema and the pragmas, and
/// its statement cache and pages start empty: when every read could open its
/// own, 200 busy tablets kept opening and closing them (a quarter of the
/// server's CPU in a profile with 8 kept idle, still a tenth with 64), and
/// contended on SQLite's allocator. Reads are short; more of them at once than
/// this only take turns on the same cores.
const MAX_READERS: usize = 16;
/// The writer's page cache: a full batch of leads with their blobs' rows.
const WRITER_CACHE_KIB: i64 = 32 * 1024;
/// WAL pages between automatic checkpoints (SQLite's default is 1,000).
const WAL_CHECKPOINT_PAGES: i64 = 10_000;
/// How long a read waits for a connection before it fails.
const READER_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

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
    readers: Pool<Connection>,
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // WAL so the console reads while devices write; FULL so a 201 or a receipt
    // survives a power cut, not only a crash.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // Every query of the storage stays prepared (the default keeps 16, fewer
    // than one request's worth, so SQL was parsed again on every call).
    conn.set_prepared_statement_cache_capacity(256);
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

/// Runs one statement from the connection's statement cache. The transaction
/// statements every read and write runs were parsed anew each time by
/// `execute_batch` (about 3.5 µs of a 15 µs read).
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
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
    if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
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
    let committed = run(conn, "COMMIT").map_err(|e| e.to_string());
    if committed.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for job in batch {
        (job.reply)(committed.clone());
    }
    Ok(())
}

/// SQLite's errors in backend-neutral terms: a broken uniqueness rule is
/// [`DbError::Unique`] (a race another writer won, answered 409), anything else
/// [`DbError::Backend`].
impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                DbError::Unique(e.to_string())
            }
            _ => DbError::Backend(e.to_string()),
        }
    }
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::from(e).into()
    }
}

impl SqliteStorage {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let mut writer = open_connection(path)?;
        // Each job of a group commit runs in its own savepoint, and SQLite keeps
        // a page's old content for the savepoint's rollback before the first
        // change to it: in memory, not in a temporary file written page by page.
        writer.pragma_update(None, "temp_store", "MEMORY")?;
        // A batch of leads (a 9.6 KiB manifest each) outgrew the default 2 MiB
        // page cache, which then spilled pages to the WAL in mid-transaction
        // and rewrote them (and their checksums) when they changed again.
        writer.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        // Fewer, larger checkpoints: a page changed by several batches (an
        // index's last leaf) is copied to the database once per checkpoint.
        writer.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)?;
        migrate(&mut writer)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("bureau-db-writer".into())
            .spawn(move || run_writer(writer, rx))
            .map_err(StorageError::io("bureau-db-writer thread"))?;
        Ok(SqliteStorage {
            path: path.to_path_buf(),
            jobs: Mutex::new(tx),
            readers: Pool::new(MAX_READERS, READER_WAIT, "数据库读连接"),
        })
    }
}

impl Backend for SqliteStorage {
    /// Runs `f` in the next group commit, inside its own savepoint. `f` may run
    /// more than once (see [`run_writer`]); only the last run's result counts.
    fn write<R: Send + 'static>(
        &self,
        f: impl Fn(&mut dyn Db) -> StorageResult<R> + Send + 'static,
    ) -> StorageResult<R> {
        let (reply_tx, reply_rx) = mpsc::sync_channel::<StorageResult<R>>(1);
        let slot: std::sync::Arc<Mutex<Option<StorageResult<R>>>> =
            std::sync::Arc::new(Mutex::new(None));
        let out = std::sync::Arc::clone(&slot);
        let in_savepoint = move |c: &Connection| {
            let result = (|| {
                run(c, "SAVEPOINT job")?;
                let mut db = c;
                match f(&mut db) {
                    Ok(v) => {
                        run(c, "RELEASE job")?;
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
                run: Box::new(in_savepoint),
                reply: Box::new(reply),
            })
            .map_err(|_| StorageError::WriterGone)?;
        reply_rx.recv().map_err(|_| StorageError::WriterGone)?
    }

    fn read<R: Send>(&self, f: impl FnOnce(&mut dyn Db) -> DbResult<R> + Send) -> StorageResult<R> {
        let conn = self.reader()?;
        // One snapshot for every query of the read.
        let out = run(&conn, "BEGIN")
            .map_err(DbError::from)
            .and_then(|()| f(&mut &conn));
        let _ = run(&conn, "ROLLBACK");
        self.readers.checkin(conn, true);
        Ok(out?)
    }
}

impl SqliteStorage {
    /// A read connection from the pool, opened read-only when a new one is needed.
    fn reader(&self) -> StorageResult<Connection> {
        self.readers.checkout(
            |_| true,
            || {
                let c = open_connection(&self.path)?;
                c.pragma_update(None, "query_only", true)?;
                Ok(c)
            },
        )
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// The shared queries on a SQLite connection, each statement prepared once
/// per connection.
impl Db for &Connection {
    fn execute(&mut self, sql: &str, params: &[&dyn ToValue]) -> DbResult<usize> {
        let values: Vec<Value> = params.iter().map(|p| p.to_value()).collect();
        Ok(self
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(values.iter()))?)
    }

    fn query(&mut self, sql: &str, params: &[&dyn ToValue]) -> DbResult<Vec<Row>> {
        use rusqlite::types::ValueRef;
        let values: Vec<Value> = params.iter().map(|p| p.to_value()).collect();
        let mut stmt = self.prepare_cached(sql)?;
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Text(t) => Value::Text(
                        std::str::from_utf8(t)
                            .map_err(|e| DbError::Decode(e.to_string()))?
                            .to_string(),
                    ),
                    other => {
                        return Err(DbError::Decode(format!(
                            "column {i} holds {:?}, not an integer or text",
                            other.data_type()
                        )))
                    }
                });
            }
            out.push(Row(row));
        }
        Ok(out)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::db::p;

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
                    c.execute("INSERT INTO t VALUES ('slow')", p![])?;
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
                        c.execute("INSERT INTO t VALUES (?1)", p![x])?;
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
            crate::storage::sql::codec::insert_audit(c, &entry("half"))?;
            c.execute(
                "INSERT INTO no_such_table VALUES (1)",
                crate::storage::db::p![],
            )?;
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
