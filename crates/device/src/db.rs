//! Opening the tablet database: pragmas, migrations in one transaction, and the
//! schema-version guard that stops an older build from touching a newer database.

use std::path::Path;

use rusqlite::Connection;

use crate::error::DeviceError;

/// Append-only, in file-name (timestamp) order. A database's `user_version` is the
/// number of migrations applied (SQLite keeps it in 32 bits, too small for timestamps).
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/device/20261125000000_init.sql"),
    include_str!("../../../migrations/device/20261126000000_enrolment_revoked.sql"),
    include_str!("../../../migrations/device/20261127000000_status_refused.sql"),
];

/// The newest schema this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

pub fn open(path: &Path) -> Result<Connection, DeviceError> {
    let mut conn = Connection::open(path)?;
    // WAL for crash safety with concurrent readers; FULL sync so a committed edit
    // survives a power cut, not only a process kill.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), DeviceError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let latest = latest_version();
    if current > latest {
        return Err(DeviceError::NewerDatabase {
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
