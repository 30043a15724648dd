//! Reading the audit log back (it is written by every change, through
//! [`super::codec::insert_audit`], in the change's own transaction).

use crate::storage::db::{p, Db, DbResult};

use super::codec::{from_json, parse_time};
use crate::storage::{AuditEvent, Scope};

pub(super) fn audit_events(
    c: &mut dyn Db,
    scope: Scope,
    subject: Option<&str>,
    limit: u32,
) -> DbResult<Vec<AuditEvent>> {
    let json = |s: Option<String>| s.map(|j| from_json(&j)).transpose();
    c.query_all("SELECT id, at, actor, district_id, action, subject, before_json, after_json
         FROM audit_events
         WHERE (CAST(?1 AS BIGINT) IS NULL OR district_id = ?1) AND (CAST(?2 AS TEXT) IS NULL OR subject = ?2)
         ORDER BY id DESC LIMIT ?3", p![scope.district(), subject, limit], |r| {
        Ok(AuditEvent {
            id: r.get(0)?,
            at: parse_time(&r.get::<String>(1)?)?,
            actor: r.get(2)?,
            district_id: r.get(3)?,
            action: r.get(4)?,
            subject: r.get(5)?,
            before: json(r.get(6)?)?,
            after: json(r.get(7)?)?,
        })
    })
}
