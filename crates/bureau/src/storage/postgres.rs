//! The bureau on PostgreSQL, for a city that runs several bureau processes on
//! one database. The queries are the shared ones of [`super::sql`]; this file
//! runs them over a small pool of connections (the blocking `postgres` client,
//! which drives `tokio-postgres`).
//!
//! **A change runs as if alone.** SQLite's single writer makes every change
//! serial; here each change is one `SERIALIZABLE` transaction, which PostgreSQL
//! either commits as if it ran alone or fails with a serialization error. Such
//! a change is run again (up to [`MAX_ATTEMPTS`] times), so the
//! check-then-write rules of the queries (compare-and-set handling, one valid
//! document per case and kind, a code spent once) hold across instances. A read
//! sees one snapshot (`REPEATABLE READ`, read only).
//!
//! **Migrations** are `migrations/bureau/postgres/*.sql`, applied in name
//! order, each once, recorded in `fieldlead_migrations`, all in one transaction
//! under an advisory lock: instances starting together migrate once. A
//! database that holds a migration this program does not know is refused.

use std::collections::HashMap;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, GenericClient, IsolationLevel, NoTls, Statement};

use super::db::{dollar_placeholders, Db, DbError, DbResult, Row, ToValue, Value};
use super::pool::Pool;
use super::sql::Backend;
use super::{StorageError, StorageResult};

/// Append-only, applied in this order.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "20261129130000_init",
        include_str!("../../../../migrations/bureau/postgres/20261129130000_init.sql"),
    ),
    (
        "20261129140000_instances",
        include_str!("../../../../migrations/bureau/postgres/20261129140000_instances.sql"),
    ),
    (
        "20261129150000_upload_lz4",
        include_str!("../../../../migrations/bureau/postgres/20261129150000_upload_lz4.sql"),
    ),
];

/// Most connections one bureau process opens.
const MAX_CONNECTIONS: usize = 16;
/// How long a request waits for a free connection before it fails.
const CHECKOUT_WAIT: Duration = Duration::from_secs(30);
/// How often a change that lost a race runs again before it fails.
const MAX_ATTEMPTS: u32 = 20;
/// The advisory lock the migrations run under (an arbitrary, fixed number).
const MIGRATION_LOCK: i64 = 0x6669_656c_646c;

struct Conn {
    client: Client,
    /// Prepared statements of this connection, by their `?1`-style text.
    statements: HashMap<String, Statement>,
}

pub struct PgStorage {
    config: postgres::Config,
    /// The address without its password, for messages.
    shown: String,
    pool: Pool<Conn>,
}

impl std::fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStorage")
            .field("database", &self.shown)
            .finish_non_exhaustive()
    }
}

impl Drop for PgStorage {
    fn drop(&mut self) {
        // A client owns a small runtime of its own, which may not be dropped on
        // an async thread: close the idle ones on a thread of their own.
        let idle = self.pool.take_idle();
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("bureau-pg-close".into())
                .spawn(move || drop(idle));
        }
    }
}

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> Self {
        let text = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        };
        match e.code() {
            Some(c) if *c == SqlState::UNIQUE_VIOLATION => DbError::Unique(text),
            Some(c)
                if *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED =>
            {
                DbError::Retry(text)
            }
            _ => DbError::Backend(text),
        }
    }
}

impl From<postgres::Error> for StorageError {
    fn from(e: postgres::Error) -> Self {
        DbError::from(e).into()
    }
}

/// The address as messages may show it: no password.
fn shown(config: &postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(h) => h.clone(),
            postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    format!(
        "postgres://{}@{}:{}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        ports.join(","),
        config.get_dbname().unwrap_or("")
    )
}

impl PgStorage {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`)
    /// and brings its schema up to date.
    pub fn open(url: &str) -> StorageResult<Self> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| StorageError::Backend(format!("PostgreSQL 数据库地址无效：{e}")))?;
        let storage = PgStorage {
            shown: shown(&config),
            config,
            pool: Pool::new(MAX_CONNECTIONS, CHECKOUT_WAIT, "数据库连接"),
        };
        off_async(|| storage.migrate())?;
        Ok(storage)
    }

    fn connect(&self) -> StorageResult<Conn> {
        let client = self.config.connect(NoTls).map_err(|e| {
            StorageError::Backend(format!("无法连接 PostgreSQL 数据库 {}：{e}", self.shown))
        })?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn checkout(&self) -> StorageResult<Conn> {
        self.pool
            .checkout(|c: &Conn| !c.client.is_closed(), || self.connect())
    }

    fn checkin(&self, conn: Conn) {
        let usable = !conn.client.is_closed();
        self.pool.checkin(conn, usable);
    }

    fn migrate(&self) -> StorageResult<()> {
        let mut conn = self.checkout()?;
        let result = (|| -> StorageResult<()> {
            let mut tx = conn.client.transaction()?;
            tx.batch_execute(&format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS fieldlead_migrations (
                     version TEXT COLLATE \"C\" PRIMARY KEY,
                     applied_at TEXT COLLATE \"C\" NOT NULL
                 )",
            )?;
            let applied: Vec<String> = tx
                .query("SELECT version FROM fieldlead_migrations", &[])?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if applied
                .iter()
                .any(|v| !MIGRATIONS.iter().any(|(name, _)| name == v))
            {
                return Err(StorageError::NewerDatabase {
                    found: applied.len() as i64,
                    supported: MIGRATIONS.len() as i64,
                });
            }
            let now = super::sql::codec::fmt_time(chrono::Utc::now());
            for (name, sql) in MIGRATIONS {
                if !applied.iter().any(|v| v == name) {
                    tx.batch_execute(sql)?;
                    tx.execute(
                        "INSERT INTO fieldlead_migrations (version, applied_at) VALUES ($1, $2)",
                        &[name, &now],
                    )?;
                }
            }
            tx.commit()?;
            Ok(())
        })();
        self.checkin(conn);
        result
    }
}

/// Why a change did not commit.
enum Failed {
    /// It lost a race: run it again.
    Race(String),
    Storage(StorageError),
}

/// Runs `f`, which uses the blocking client, from any thread. The client drives
/// a runtime of its own, which tokio refuses to start on a thread already
/// driving async tasks: there (an async test's body, a handler calling storage
/// directly) `f` runs with the worker handed back (`block_in_place`), or on a
/// thread of its own under a single-threaded runtime. On the blocking threads the
/// bureau's requests use, it simply runs.
fn off_async<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::CurrentThread) => std::thread::scope(|s| {
            s.spawn(f)
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        }),
        Ok(_) => tokio::task::block_in_place(f),
        Err(_) => f(),
    }
}

impl Backend for PgStorage {
    fn write<R: Send + 'static>(
        &self,
        f: impl Fn(&mut dyn Db) -> StorageResult<R> + Send + 'static,
    ) -> StorageResult<R> {
        off_async(|| self.write_here(f))
    }

    fn read<R: Send>(&self, f: impl FnOnce(&mut dyn Db) -> DbResult<R> + Send) -> StorageResult<R> {
        off_async(|| {
            let mut conn = self.checkout()?;
            let result = read_once(&mut conn, f);
            self.checkin(conn);
            result
        })
    }

    /// Without BEGIN and COMMIT around it: one round trip instead of three.
    fn read_one<R: Send>(
        &self,
        f: impl FnOnce(&mut dyn Db) -> DbResult<R> + Send,
    ) -> StorageResult<R> {
        off_async(|| {
            let mut conn = self.checkout()?;
            let Conn { client, statements } = &mut conn;
            let result = f(&mut PgDb {
                tx: client,
                statements,
                lost_race: None,
                one_statement: true,
                ran: 0,
            });
            self.checkin(conn);
            Ok(result?)
        })
    }
}

impl PgStorage {
    fn write_here<R>(&self, f: impl Fn(&mut dyn Db) -> StorageResult<R>) -> StorageResult<R> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.checkout()?;
            let outcome = write_once(&mut conn, &f);
            self.checkin(conn);
            match outcome {
                Ok(v) => return Ok(v),
                Err(Failed::Race(why)) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, why, "change lost a race; running it again");
                    // Spread the runs of the changes that collided.
                    let jitter = u64::from(crate::secrets::random_bytes::<1>()[0]);
                    std::thread::sleep(Duration::from_millis(u64::from(attempt) * 2 + jitter % 8));
                }
                Err(Failed::Race(why)) => {
                    return Err(StorageError::Backend(format!(
                        "数据库繁忙，{MAX_ATTEMPTS} 次尝试均与其他修改冲突：{why}"
                    )))
                }
                Err(Failed::Storage(e)) => return Err(e),
            }
        }
    }
}

fn read_once<R>(conn: &mut Conn, f: impl FnOnce(&mut dyn Db) -> DbResult<R>) -> StorageResult<R> {
    let Conn { client, statements } = conn;
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let out = f(&mut PgDb {
        tx: &mut tx,
        statements,
        lost_race: None,
        one_statement: false,
        ran: 0,
    })?;
    tx.commit()?;
    Ok(out)
}

fn write_once<R>(
    conn: &mut Conn,
    f: &impl Fn(&mut dyn Db) -> StorageResult<R>,
) -> Result<R, Failed> {
    let Conn { client, statements } = conn;
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::Serializable)
        .start()
        .map_err(|e| Failed::Storage(e.into()))?;
    let mut db = PgDb {
        tx: &mut tx,
        statements,
        lost_race: None,
        one_statement: false,
        ran: 0,
    };
    let result = f(&mut db);
    if let Some(why) = db.lost_race.take() {
        // Whatever `f` made of it, the transaction is void: run it again.
        return Err(Failed::Race(why));
    }
    let value = result.map_err(Failed::Storage)?;
    match tx.commit() {
        Ok(()) => Ok(value),
        Err(e) => match DbError::from(e) {
            DbError::Retry(why) => Err(Failed::Race(why)),
            other => Err(Failed::Storage(other.into())),
        },
    }
}

/// The shared queries inside one PostgreSQL transaction, or a single query on
/// its own.
struct PgDb<'a, C: GenericClient> {
    tx: &'a mut C,
    statements: &'a mut HashMap<String, Statement>,
    /// Set when a statement failed because the transaction lost a race.
    lost_race: Option<String>,
    /// Outside a transaction, for `read_one`: a second statement would see
    /// another view of the database, so it is refused.
    one_statement: bool,
    ran: u32,
}

impl<C: GenericClient> PgDb<'_, C> {
    fn prepare(&mut self, sql: &str) -> DbResult<Statement> {
        self.ran += 1;
        if self.one_statement && self.ran > 1 {
            return Err(DbError::Backend(format!(
                "a single-statement read ran a second statement: {sql}"
            )));
        }
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(&dollar_placeholders(sql))?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    fn noted<T>(&mut self, r: Result<T, postgres::Error>) -> DbResult<T> {
        r.map_err(|e| {
            let e = DbError::from(e);
            if let DbError::Retry(why) = &e {
                self.lost_race = Some(why.clone());
            }
            e
        })
    }
}

impl<C: GenericClient> Db for PgDb<'_, C> {
    fn execute(&mut self, sql: &str, params: &[&dyn ToValue]) -> DbResult<usize> {
        let stmt = self.prepare(sql)?;
        let values: Vec<Value> = params.iter().map(|p| p.to_value()).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
        let r = self.tx.execute(&stmt, &refs);
        Ok(self.noted(r)? as usize)
    }

    fn query(&mut self, sql: &str, params: &[&dyn ToValue]) -> DbResult<Vec<Row>> {
        let stmt = self.prepare(sql)?;
        let values: Vec<Value> = params.iter().map(|p| p.to_value()).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
        let r = self.tx.query(&stmt, &refs);
        self.noted(r)?.iter().map(row_of).collect()
    }
}

/// A PostgreSQL row as the shared queries read it: integers (and booleans, as
/// 0 and 1), text and NULL.
fn row_of(r: &postgres::Row) -> DbResult<Row> {
    let mut out = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let ty = col.type_();
        let v = if *ty == Type::INT8 {
            r.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            r.try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::INT2 {
            r.try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::BOOL {
            r.try_get::<_, Option<bool>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
            r.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else {
            return Err(DbError::Decode(format!(
                "column {} has type {ty}, not an integer or text",
                col.name()
            )));
        };
        out.push(v.unwrap_or(Value::Null));
    }
    Ok(Row(out))
}

/// Each value bound as the type PostgreSQL inferred for its placeholder.
impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => {
                if *ty == Type::INT8 {
                    i.to_sql(ty, out)
                } else if *ty == Type::INT4 {
                    i32::try_from(*i)?.to_sql(ty, out)
                } else if *ty == Type::INT2 {
                    i16::try_from(*i)?.to_sql(ty, out)
                } else if *ty == Type::BOOL {
                    (*i != 0).to_sql(ty, out)
                } else {
                    Err(format!("an integer bound to a {ty} parameter").into())
                }
            }
            Value::Text(s) => s.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}
