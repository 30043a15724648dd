//! Counters every instance shares: the limits on guessing (see `ratelimit`).

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
