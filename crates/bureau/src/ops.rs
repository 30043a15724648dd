//! Operations on a bureau's data, each verified before it says it is done:
//!
//! - [`backup`] of the embedded store: a consistent copy of the SQLite database
//!   (`VACUUM INTO`, safe beside a live server), the key, the settings and every
//!   blob, listed with their SHA-256 in `fieldlead-backup.json`, read back and
//!   checked after writing. It appears under its final name only when whole.
//! - [`restore`] of such a backup into a new data folder: every file checked
//!   against the list as it is copied, the database's integrity checked; nothing
//!   is left behind on a failure.
//! - [`migrate`] of an embedded bureau into a city's PostgreSQL and S3-compatible
//!   store: every row copied in one transaction and compared table by table,
//!   every blob uploaded through the same hashed, verified path as a tablet's and
//!   read back from the object store and hashed again.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use fieldlead_domain::Sha256;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::blobs::{BlobStore, LocalBlobStore};
use crate::config::{Config, DataPaths};
use crate::error::{BureauError, StorageError};

/// The list of a backup's files, written last.
pub const BACKUP_MANIFEST: &str = "fieldlead-backup.json";
const BACKUP_FORMAT: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupManifest {
    format: u32,
    created_at: DateTime<Utc>,
    files: Vec<BackupFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupFile {
    /// Relative to the backup (and to the data folder), `/`-separated.
    path: String,
    bytes: u64,
    sha256: Sha256,
}

/// What a backup or a restore holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub files: usize,
    pub blobs: usize,
    pub bytes: u64,
    /// Blobs whose bytes no longer match their name in the source: copied as
    /// they are (the evidence of the damage), and named here.
    pub damaged: Vec<Sha256>,
}

/// An operation refused: the folders or servers are not as it needs them.
fn invalid(message: String) -> BureauError {
    BureauError::invalid(fieldlead_domain::ErrorCode::InvalidState, message)
}

/// The SQLite file the configuration names, or why there is none to copy.
fn embedded_database(data: &Path, config: &Config) -> Result<PathBuf, BureauError> {
    if config.blobs_url.is_some() {
        return Err(invalid(
            "此命令只用于内置存储（SQLite 与数据目录中的文件）；对象存储的备份见 README 的城市部署一节".into(),
        ));
    }
    crate::storage::sqlite_path(config.database_url.as_deref(), data)?.ok_or_else(|| {
        invalid(
            "此命令只用于内置存储（SQLite 与数据目录中的文件）；PostgreSQL 的备份见 README 的城市部署一节".into(),
        )
    })
}

/// A folder that must not exist yet, or be empty; its final name is taken
/// only when the work is whole (`name.incomplete` until then).
fn fresh_target(target: &Path) -> Result<PathBuf, BureauError> {
    if let Ok(mut entries) = fs::read_dir(target) {
        if entries.next().is_some() {
            return Err(invalid(format!(
                "{} 已存在且不是空目录，不会覆盖",
                target.display()
            )));
        }
        fs::remove_dir(target).map_err(StorageError::io(target.display()))?;
    }
    let mut name = target
        .file_name()
        .ok_or_else(|| invalid(format!("{} 不是目录名", target.display())))?
        .to_os_string();
    name.push(".incomplete");
    let work = target.with_file_name(name);
    if work.exists() {
        // Left by an earlier attempt that was cut off: never a finished copy.
        fs::remove_dir_all(&work).map_err(StorageError::io(work.display()))?;
    }
    fs::create_dir_all(&work).map_err(StorageError::io(work.display()))?;
    crate::lock::restrict(&work, true)?;
    Ok(work)
}

/// Copies a file, hashing it on the way, and makes the copy durable.
fn copy_hashed(from: &Path, to: &Path) -> Result<(u64, Sha256), StorageError> {
    if let Some(folder) = to.parent() {
        fs::create_dir_all(folder).map_err(StorageError::io(folder.display()))?;
    }
    let mut src = File::open(from).map_err(StorageError::io(from.display()))?;
    // Records, password hashes and the key: the bureau account's alone.
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut dst = options.open(to).map_err(StorageError::io(to.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = src
            .read(&mut buf)
            .map_err(StorageError::io(from.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        dst.write_all(&buf[..n])
            .map_err(StorageError::io(to.display()))?;
        bytes += n as u64;
    }
    dst.sync_all().map_err(StorageError::io(to.display()))?;
    Ok((bytes, Sha256::from_bytes(hasher.finalize().into())))
}

fn hash_file(path: &Path) -> Result<(u64, Sha256), StorageError> {
    File::open(path)
        .and_then(|mut f| crate::blobs::hash_reader(&mut f))
        .map_err(StorageError::io(path.display()))
}

/// Every file under `dir`, relative to `base`, `/`-separated, sorted.
fn files_under(base: &Path, dir: &Path) -> Result<Vec<String>, StorageError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StorageError::io(d.display())(e)),
        };
        for entry in entries {
            let path = entry.map_err(StorageError::io(d.display()))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(base) {
                let parts: Vec<_> = rel.iter().map(|p| p.to_string_lossy()).collect();
                out.push(parts.join("/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn integrity_check(db: &Path) -> Result<(), BureauError> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(StorageError::from)?;
    let answer: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(StorageError::from)?;
    if answer != "ok" {
        return Err(StorageError::Corrupt(format!("{}：{answer}", db.display())).into());
    }
    Ok(())
}

/// The blob a path under `blobs/objects/` names (`ab/cdef…`), if it is one.
fn blob_of(rel: &str) -> Option<Sha256> {
    let rest = rel.strip_prefix("blobs/objects/")?;
    let (fan, tail) = rest.split_once('/')?;
    format!("{fan}{tail}").parse().ok()
}

/// Backs up the embedded store of `data` into the new folder `to`.
pub fn backup(data: &Path, config: &Config, to: &Path) -> Result<BackupSummary, BureauError> {
    let database = embedded_database(data, config)?;
    let paths = DataPaths::new(data);
    let work = fresh_target(to)?;
    let result = (|| -> Result<BackupSummary, BureauError> {
        // The database first: a blob is stored before its row, so every blob the
        // copy names is on disk by the time the files are copied.
        let db_copy = work.join("bureau.sqlite3");
        let conn = rusqlite::Connection::open(&database).map_err(StorageError::from)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(StorageError::from)?;
        conn.execute("VACUUM INTO ?1", [db_copy.to_string_lossy()])
            .map_err(StorageError::from)?;
        drop(conn);
        File::open(&db_copy)
            .and_then(|f| f.sync_all())
            .map_err(StorageError::io(db_copy.display()))?;
        let (bytes, sha256) = hash_file(&db_copy)?;
        let mut files = vec![BackupFile {
            path: "bureau.sqlite3".into(),
            bytes,
            sha256,
        }];
        let mut rels: Vec<String> = Vec::new();
        for single in [paths.key(), paths.config(), paths.calendar()] {
            if single.is_file() {
                rels.push(
                    single
                        .file_name()
                        .expect("a file name")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
        rels.extend(files_under(data, &data.join("templates"))?);
        rels.extend(files_under(data, &paths.blobs().join("objects"))?);
        rels.dedup();
        for rel in rels {
            let (bytes, sha256) = copy_hashed(&data.join(&rel), &work.join(&rel))?;
            files.push(BackupFile {
                path: rel,
                bytes,
                sha256,
            });
        }
        let manifest = BackupManifest {
            format: BACKUP_FORMAT,
            created_at: Utc::now(),
            files,
        };
        let list = work.join(BACKUP_MANIFEST);
        let text = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| BureauError::Internal(format!("backup list: {e}")))?;
        fs::write(&list, text)
            .and_then(|()| File::open(&list)?.sync_all())
            .map_err(StorageError::io(list.display()))?;
        // Read back what was written before calling it a backup.
        verify_backup(&work)
    })();
    match result {
        Ok(summary) => {
            fs::rename(&work, to).map_err(StorageError::io(to.display()))?;
            if let Some(parent) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
                crate::blobs::sync_dir(parent)?;
            }
            Ok(summary)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&work);
            Err(e)
        }
    }
}

/// Reads a backup's list and checks every file it names, and the database.
pub fn verify_backup(backup: &Path) -> Result<BackupSummary, BureauError> {
    let manifest = read_manifest(backup)?;
    let summary = check_each(&manifest, |f| hash_file(&backup.join(&f.path)))?;
    integrity_check(&backup.join("bureau.sqlite3"))?;
    Ok(summary)
}

/// Reads (or copies) every file of a backup with `read`, which answers its
/// size and hash, and holds each to the backup's list.
fn check_each(
    manifest: &BackupManifest,
    mut read: impl FnMut(&BackupFile) -> Result<(u64, Sha256), StorageError>,
) -> Result<BackupSummary, BureauError> {
    let mut summary = BackupSummary {
        files: manifest.files.len(),
        blobs: 0,
        bytes: 0,
        damaged: Vec::new(),
    };
    for f in &manifest.files {
        let (bytes, sha256) = read(f)?;
        if (bytes, sha256) != (f.bytes, f.sha256) {
            return Err(invalid(format!(
                "备份中的 {} 与备份清单不符（应为 {} 字节、SHA-256 {}）：备份已损坏",
                f.path,
                f.bytes,
                f.sha256.short()
            )));
        }
        summary.bytes += bytes;
        if let Some(named) = blob_of(&f.path) {
            summary.blobs += 1;
            if named != sha256 {
                summary.damaged.push(named);
            }
        }
    }
    Ok(summary)
}

fn read_manifest(backup: &Path) -> Result<BackupManifest, BureauError> {
    let list = backup.join(BACKUP_MANIFEST);
    let text = fs::read(&list).map_err(|e| {
        invalid(format!(
            "{} 不是完整的备份（缺少 {BACKUP_MANIFEST}：{e}）",
            backup.display()
        ))
    })?;
    let manifest: BackupManifest = serde_json::from_slice(&text)
        .map_err(|e| invalid(format!("{} 无法解析：{e}", list.display())))?;
    if manifest.format != BACKUP_FORMAT {
        return Err(invalid(format!(
            "备份格式 {} 不是本程序能读的 {BACKUP_FORMAT}",
            manifest.format
        )));
    }
    for f in &manifest.files {
        let safe = !f.path.is_empty()
            && f.path
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..")
            && !f.path.contains('\\');
        if !safe {
            return Err(invalid(format!("备份清单中的路径 {:?} 不合规", f.path)));
        }
    }
    if !manifest.files.iter().any(|f| f.path == "bureau.sqlite3") {
        return Err(invalid("备份清单中没有数据库 bureau.sqlite3".into()));
    }
    Ok(manifest)
}

/// Restores the backup `from` into the new data folder `data`.
pub fn restore(from: &Path, data: &Path) -> Result<BackupSummary, BureauError> {
    let manifest = read_manifest(from)?;
    let work = fresh_target(data)?;
    let result = (|| -> Result<BackupSummary, BureauError> {
        let summary = check_each(&manifest, |f| {
            copy_hashed(&from.join(&f.path), &work.join(&f.path))
        })?;
        let db = work.join("bureau.sqlite3");
        integrity_check(&db)?;
        // Brings an older backup's schema up to this program's.
        drop(crate::storage::SqliteStorage::open(&db)?);
        for folder in [work.join("blobs"), work.join("uploads")] {
            fs::create_dir_all(&folder).map_err(StorageError::io(folder.display()))?;
        }
        crate::lock::restrict(&work, true)?;
        crate::lock::restrict(&db, false)?;
        Ok(summary)
    })();
    match result {
        Ok(summary) => {
            fs::rename(&work, data).map_err(StorageError::io(data.display()))?;
            Ok(summary)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&work);
            Err(e)
        }
    }
}

/// What [`migrate`] moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateSummary {
    /// Rows per table, each table's rows compared after the copy.
    pub rows: BTreeMap<String, u64>,
    pub blobs: usize,
    pub blob_bytes: u64,
}

/// Moves the embedded bureau of `data` into the empty PostgreSQL database and
/// object store `target` names (its `database_url` and `blobs_url`, with the
/// object store's `AWS_*` variables); the data folder is left as it was.
pub fn migrate(
    data: &Path,
    source: &Config,
    target: &Config,
) -> Result<MigrateSummary, BureauError> {
    let database = embedded_database(data, source)?;
    let url = target
        .database_url
        .as_deref()
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
        .ok_or_else(|| invalid("迁移的目标数据库应为 postgres://… 地址".into()))?;
    if target.blobs_url.is_none() {
        return Err(invalid("迁移的目标对象存储应为 s3://存储桶/前缀".into()));
    }
    // The source at this program's schema, as the target's migrations make it.
    drop(crate::storage::SqliteStorage::open(&database)?);
    drop(crate::storage::PgStorage::open(url)?);
    let rows = copy_rows(&database, url)?;

    let paths = DataPaths::new(data);
    let local = LocalBlobStore::open(&paths.blobs(), &paths.uploads(), false)?;
    let remote = crate::blobs::s3::S3BlobStore::open(
        target.blobs_url.as_deref().unwrap_or_default(),
        &target.object_store_env.0,
    )?;
    let uploader = format!("migrate-{}", std::process::id());
    let mut moved = 0usize;
    let mut blob_bytes = 0u64;
    for rel in files_under(data, &paths.blobs().join("objects"))? {
        let Some(sha) = blob_of(&rel) else { continue };
        if !remote.contains(&sha)? {
            let file = data.join(&rel);
            crate::blobs::upload_whole(&remote, &uploader, &sha, &mut local.open(&sha)?, |e| {
                StorageError::io(file.display())(e).into()
            })
            .map_err(|e| match e {
                BureauError::HashMismatch => invalid(format!(
                    "数据目录中的文件 {} 与其哈希不符，未迁移：请先核查该证据",
                    sha.short()
                )),
                other => other,
            })?;
        }
        // Read back from the object store and hashed again.
        if !remote.verify(&sha)? {
            return Err(StorageError::Corrupt(format!("对象存储中的 {sha} 与其哈希不符")).into());
        }
        moved += 1;
        blob_bytes += fs::metadata(data.join(&rel))
            .map(|m| m.len())
            .unwrap_or_default();
    }
    // Every blob the records name is held by the target.
    let named: Vec<String> = rusqlite::Connection::open_with_flags(
        &database,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .and_then(|c| {
        c.prepare("SELECT sha256 FROM blobs")?
            .query_map([], |r| r.get(0))?
            .collect()
    })
    .map_err(StorageError::from)?;
    for sha in named {
        let sha: Sha256 = sha
            .parse()
            .map_err(|_| StorageError::Corrupt(format!("blobs 表中的哈希 {sha:?}")))?;
        if !remote.contains(&sha)? {
            return Err(StorageError::Corrupt(format!(
                "数据库记录的文件 {sha} 不在数据目录中，也不在对象存储中"
            ))
            .into());
        }
    }
    Ok(MigrateSummary {
        rows,
        blobs: moved,
        blob_bytes,
    })
}

/// Copies every table's rows from SQLite into the empty PostgreSQL database in
/// one transaction, in the order the tables were created there (so a row's
/// references are in before it), then compares each table's rows.
fn copy_rows(database: &Path, url: &str) -> Result<BTreeMap<String, u64>, BureauError> {
    let pg_error = |e: postgres::Error| {
        let detail = e.as_db_error().map(|d| d.message().to_string());
        StorageError::Backend(format!("PostgreSQL：{}", detail.unwrap_or(e.to_string())))
    };
    let source =
        rusqlite::Connection::open_with_flags(database, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(StorageError::from)?;
    let mut target = postgres::Client::connect(url, postgres::NoTls).map_err(pg_error)?;
    let tables: Vec<String> = target
        .query(
            "SELECT relname::text FROM pg_class
             WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace
               AND relname <> 'fieldlead_migrations' ORDER BY oid",
            &[],
        )
        .map_err(pg_error)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let in_sqlite: Vec<String> = source
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(StorageError::from)?;
    let mut expected = tables.clone();
    expected.sort();
    if expected != in_sqlite {
        return Err(invalid(format!(
            "两边的表不一致，无法迁移：SQLite {in_sqlite:?}，PostgreSQL {expected:?}"
        )));
    }
    let mut tx = target.transaction().map_err(pg_error)?;
    let mut rows = BTreeMap::new();
    for table in &tables {
        let held: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .map_err(pg_error)?
            .get(0);
        if held > 0 {
            return Err(invalid(format!(
                "目标数据库的表 {table} 已有 {held} 行：迁移只写入空数据库"
            )));
        }
        let columns = sqlite_columns(&source, table)?;
        let list = columns.join(", ");
        let placeholders = (1..=columns.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = tx
            .prepare(&format!(
                "INSERT INTO {table} ({list}) VALUES ({placeholders})"
            ))
            .map_err(pg_error)?;
        let types = insert.params().to_vec();
        let mut select = source
            .prepare(&format!("SELECT {list} FROM {table}"))
            .map_err(StorageError::from)?;
        let mut cursor = select.query([]).map_err(StorageError::from)?;
        let mut n = 0u64;
        while let Some(row) = cursor.next().map_err(StorageError::from)? {
            let mut values: Vec<Box<dyn postgres::types::ToSql + Sync>> = Vec::new();
            for (i, ty) in types.iter().enumerate() {
                values.push(pg_value(
                    table,
                    &columns[i],
                    ty,
                    row.get_ref(i).map_err(StorageError::from)?,
                )?);
            }
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
                values.iter().map(|v| v.as_ref()).collect();
            tx.execute(&insert, &refs).map_err(pg_error)?;
            n += 1;
        }
        // Identity columns continue after the ids copied.
        let sequence: Option<String> = if columns.iter().any(|c| c == "id") {
            tx.query_one("SELECT pg_get_serial_sequence($1, 'id')", &[table])
                .map_err(pg_error)?
                .get(0)
        } else {
            None
        };
        if let Some(sequence) = sequence {
            tx.execute(
                &format!(
                    "SELECT setval($1::text::regclass, COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
                ),
                &[&sequence],
            )
            .map_err(pg_error)?;
        }
        rows.insert(table.clone(), n);
    }
    tx.commit().map_err(pg_error)?;
    // Compared row by row: every table's rows in one order on both sides.
    for table in &tables {
        let columns = sqlite_columns(&source, table)?;
        let order = columns
            .iter()
            .map(|c| format!("{c} NULLS FIRST"))
            .collect::<Vec<_>>()
            .join(", ");
        let query = format!(
            "SELECT {} FROM {table} ORDER BY {order}",
            columns.join(", ")
        );
        let mut ours = sha2::Sha256::new();
        let mut select = source.prepare(&query).map_err(StorageError::from)?;
        let mut cursor = select.query([]).map_err(StorageError::from)?;
        while let Some(row) = cursor.next().map_err(StorageError::from)? {
            for i in 0..columns.len() {
                match row.get_ref(i).map_err(StorageError::from)? {
                    rusqlite::types::ValueRef::Integer(v) => ours.update(format!("i{v};")),
                    rusqlite::types::ValueRef::Text(t) => {
                        ours.update(format!("t{}:", t.len()));
                        ours.update(t);
                    }
                    _ => ours.update("n;"),
                }
            }
        }
        let mut theirs = sha2::Sha256::new();
        for row in target.query(&query, &[]).map_err(pg_error)? {
            for (i, column) in row.columns().iter().enumerate() {
                if *column.type_() == postgres::types::Type::INT8 {
                    match row.get::<_, Option<i64>>(i) {
                        Some(v) => theirs.update(format!("i{v};")),
                        None => theirs.update("n;"),
                    }
                } else {
                    match row.get::<_, Option<String>>(i) {
                        Some(t) => {
                            theirs.update(format!("t{}:", t.len()));
                            theirs.update(t.as_bytes());
                        }
                        None => theirs.update("n;"),
                    }
                }
            }
        }
        if ours.finalize() != theirs.finalize() {
            return Err(
                StorageError::Corrupt(format!("迁移后表 {table} 的内容与 SQLite 不一致")).into(),
            );
        }
    }
    Ok(rows)
}

fn sqlite_columns(source: &rusqlite::Connection, table: &str) -> Result<Vec<String>, StorageError> {
    let mut stmt = source.prepare(&format!("PRAGMA table_info({table})"))?;
    let columns = stmt
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(columns)
}

/// One SQLite value as the PostgreSQL column's type takes it.
fn pg_value(
    table: &str,
    column: &str,
    ty: &postgres::types::Type,
    value: rusqlite::types::ValueRef<'_>,
) -> Result<Box<dyn postgres::types::ToSql + Sync>, BureauError> {
    use postgres::types::Type;
    use rusqlite::types::ValueRef;
    let wrong = || {
        invalid(format!(
            "表 {table} 的列 {column} 中有 PostgreSQL 的 {ty} 列收不下的值"
        ))
    };
    Ok(match (ty, value) {
        (&Type::INT8, ValueRef::Integer(v)) => Box::new(Some(v)),
        (&Type::INT8, ValueRef::Null) => Box::new(None::<i64>),
        (&Type::TEXT, ValueRef::Text(t)) => Box::new(Some(
            std::str::from_utf8(t).map_err(|_| wrong())?.to_string(),
        )),
        (&Type::TEXT, ValueRef::Null) => Box::new(None::<String>),
        _ => return Err(wrong()),
    })
}
