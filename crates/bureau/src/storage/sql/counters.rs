//! What every instance shares beyond the records: counters (the limits on
//! guessing, see `ratelimit`) and settings they must agree on.

use crate::storage::db::{p, Db, DbResult};
use crate::storage::Counter;

pub(super) fn update(
    c: &mut dyn Db,
    key: &str,
    rule: &(dyn Fn(Option<Counter>) -> (Option<Counter>, Option<u64>) + Send + Sync),
) -> DbResult<Option<u64>> {
    let current = c.query_opt(
        "SELECT value, at_ms, expires_ms FROM counters WHERE key = ?1",
        p![key],
        |r| {
            Ok(Counter {
                value: r.get(0)?,
                at_ms: r.get(1)?,
                expires_ms: r.get(2)?,
            })
        },
    )?;
    let (next, verdict) = rule(current);
    match next {
        Some(n) if Some(n) != current => {
            c.execute(
                "INSERT INTO counters (key, value, at_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE
                 SET value = excluded.value, at_ms = excluded.at_ms, expires_ms = excluded.expires_ms",
                p![key, n.value, n.at_ms, n.expires_ms],
            )?;
        }
        Some(_) => {}
        None if current.is_some() => {
            c.execute("DELETE FROM counters WHERE key = ?1", p![key])?;
        }
        None => {}
    }
    Ok(verdict)
}

pub(super) fn prune(c: &mut dyn Db, now_ms: i64) -> DbResult<usize> {
    c.execute("DELETE FROM counters WHERE expires_ms < ?1", p![now_ms])
}

/// The setting `name`: `value` if it had none.
pub(super) fn pin_setting(c: &mut dyn Db, name: &str, value: &str) -> DbResult<String> {
    c.execute(
        "INSERT INTO bureau_settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        p![name, value],
    )?;
    c.query_one(
        "SELECT value FROM bureau_settings WHERE name = ?1",
        p![name],
        |r| r.get(0),
    )
}
