//! Districts, console users and their sessions.

use crate::storage::db::{p, Db, DbResult};
use chrono::{DateTime, Utc};

use super::codec::{district_at, fmt_time, insert_audit, user_from_row, USER_COLUMNS};
use crate::storage::{AuditEntry, District, NewUser, StorageResult, User};

pub(super) fn create_district(
    c: &mut dyn Db,
    code: &str,
    name: &str,
    audit: &AuditEntry,
) -> StorageResult<District> {
    let id: i64 = c.query_one(
        "INSERT INTO districts (code, name, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        p![code, name, fmt_time(audit.at)],
        |r| r.get(0),
    )?;
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

pub(super) fn district_by_code(c: &mut dyn Db, code: &str) -> DbResult<Option<District>> {
    c.query_opt(
        "SELECT id, code, name FROM districts WHERE code = ?1",
        p![code],
        |r| district_at(r, 0),
    )
}

pub(super) fn districts(c: &mut dyn Db) -> DbResult<Vec<District>> {
    c.query_all(
        "SELECT id, code, name FROM districts ORDER BY code",
        p![],
        |r| district_at(r, 0),
    )
}

/// `false` if the name is taken.
pub(super) fn add_user(c: &mut dyn Db, user: &NewUser, audit: &AuditEntry) -> StorageResult<bool> {
    let n = c.execute(
        "INSERT INTO users (username, display_name, role, district_id, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (username) DO NOTHING",
        p![
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
    c: &mut dyn Db,
    username: &str,
    password_hash: &str,
    audit: &AuditEntry,
) -> StorageResult<bool> {
    let n = c.execute(
        "UPDATE users SET password_hash = ?2 WHERE username = ?1",
        p![username, password_hash],
    )?;
    if n == 1 {
        c.execute(
            "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?1)",
            p![username],
        )?;
        insert_audit(c, audit)?;
    }
    Ok(n == 1)
}

pub(super) fn user_credentials(c: &mut dyn Db, username: &str) -> DbResult<Option<(User, String)>> {
    c.query_opt(
        &format!(
            "SELECT {USER_COLUMNS}, u.password_hash FROM users u
             LEFT JOIN districts d ON d.id = u.district_id WHERE u.username = ?1"
        ),
        p![username],
        |r| Ok((user_from_row(r)?, r.get(7)?)),
    )
}

pub(super) fn users(c: &mut dyn Db) -> DbResult<Vec<User>> {
    c.query_all(
        &format!(
            "SELECT {USER_COLUMNS} FROM users u LEFT JOIN districts d ON d.id = u.district_id
         ORDER BY u.username"
        ),
        p![],
        user_from_row,
    )
}

pub(super) fn delete_expired_sessions(c: &mut dyn Db, now: DateTime<Utc>) -> StorageResult<u64> {
    let n = c.execute(
        "DELETE FROM sessions WHERE expires_at < ?1",
        p![fmt_time(now)],
    )?;
    Ok(n as u64)
}

pub(super) fn create_session(
    c: &mut dyn Db,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> StorageResult<()> {
    c.execute(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        p![
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
    c: &mut dyn Db,
    token_hash: &str,
    now: DateTime<Utc>,
) -> DbResult<Option<(User, String)>> {
    c.query_opt(
        &format!(
            "SELECT {USER_COLUMNS}, s.csrf_token FROM sessions s
             JOIN users u ON u.id = s.user_id
             LEFT JOIN districts d ON d.id = u.district_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2"
        ),
        p![token_hash, fmt_time(now)],
        |r| Ok((user_from_row(r)?, r.get(7)?)),
    )
}

pub(super) fn delete_session(c: &mut dyn Db, token_hash: &str) -> StorageResult<()> {
    c.execute("DELETE FROM sessions WHERE token_hash = ?1", p![token_hash])?;
    Ok(())
}
