//! Districts, console users and their sessions.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::{district_at, fmt_time, insert_audit, user_from_row, USER_COLUMNS};
use crate::storage::{AuditEntry, District, NewUser, StorageResult, User};

pub(super) fn create_district(
    c: &Connection,
    code: &str,
    name: &str,
    audit: &AuditEntry,
) -> StorageResult<District> {
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
        code: code.to_string(),
        name: name.to_string(),
    })
}

pub(super) fn district_by_code(c: &Connection, code: &str) -> rusqlite::Result<Option<District>> {
    c.query_row(
        "SELECT id, code, name FROM districts WHERE code = ?1",
        [code],
        |r| district_at(r, 0),
    )
    .optional()
}

pub(super) fn districts(c: &Connection) -> rusqlite::Result<Vec<District>> {
    c.prepare("SELECT id, code, name FROM districts ORDER BY code")?
        .query_map([], |r| district_at(r, 0))?
        .collect()
}

/// `false` if the name is taken.
pub(super) fn add_user(c: &Connection, user: &NewUser, audit: &AuditEntry) -> StorageResult<bool> {
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
        insert_audit(c, audit)?;
    }
    Ok(n == 1)
}

/// A new password ends every session of the user.
pub(super) fn set_password(
    c: &Connection,
    username: &str,
    password_hash: &str,
    audit: &AuditEntry,
) -> StorageResult<bool> {
    let n = c.execute(
        "UPDATE users SET password_hash = ?2 WHERE username = ?1",
        params![username, password_hash],
    )?;
    if n == 1 {
        c.execute(
            "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?1)",
            [username],
        )?;
        insert_audit(c, audit)?;
    }
    Ok(n == 1)
}

pub(super) fn user_credentials(
    c: &Connection,
    username: &str,
) -> rusqlite::Result<Option<(User, String)>> {
    c.query_row(
        &format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u
             LEFT JOIN districts d ON d.id = u.district_id WHERE u.username = ?1"
        ),
        [username],
        |r| Ok((user_from_row(r)?, r.get(7)?)),
    )
    .optional()
}

pub(super) fn users(c: &Connection) -> rusqlite::Result<Vec<User>> {
    c.prepare(&format!(
        "SELECT {USER_COLUMNS} FROM users u LEFT JOIN districts d ON d.id = u.district_id
         ORDER BY u.username"
    ))?
    .query_map([], user_from_row)?
    .collect()
}

pub(super) fn delete_expired_sessions(c: &Connection, now: DateTime<Utc>) -> StorageResult<u64> {
    let n = c.execute(
        "DELETE FROM sessions WHERE expires_at < ?1",
        [fmt_time(now)],
    )?;
    Ok(n as u64)
}

pub(super) fn create_session(
    c: &Connection,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StorageResult<()> {
    c.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            token_hash,
            user_id,
            csrf_token,
            fmt_time(now),
            fmt_time(expires_at)
        ],
    )?;
    Ok(())
}

pub(super) fn session(
    c: &Connection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<(User, String)>> {
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
}

pub(super) fn delete_session(c: &Connection, token_hash: &str) -> StorageResult<()> {
    c.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}
