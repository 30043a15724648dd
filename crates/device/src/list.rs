//! The records list: every record on the tablet, newest change first, found by
//! free text over names, USCC and id, optionally in one state, with where each
//! sealed lead stands in the outbox.

use chrono::{DateTime, FixedOffset, Utc};
use fieldlead_domain::{LeadId, LeadState};
use rusqlite::params;
use serde::{Deserialize, Serialize};

use crate::error::DeviceError;
use crate::records::{parse_state, parse_time};
use crate::Device;

/// A line of the records list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSummary {
    pub id: LeadId,
    pub state: LeadState,
    pub business_name: String,
    pub business_uscc: String,
    pub product_name: String,
    pub task_name: String,
    pub evidence_count: u32,
    pub updated_at: DateTime<FixedOffset>,
    /// The bureau's time of receipt: the report time ("immediately" is judged by it).
    pub received_at: Option<DateTime<Utc>>,
    /// Where a sealed lead stands in the outbox; `None` for drafts.
    pub outbox_state: Option<crate::OutboxState>,
    /// Why the last attempt to send it failed, in Chinese, until it succeeds.
    pub sync_error: Option<String>,
}

/// What to list: free text over names, USCC and id; optionally one state.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub text: String,
    pub state: Option<LeadState>,
    pub limit: Option<u32>,
}

impl Device {
    /// Records, newest change first, matching the query.
    pub fn list(&self, q: &ListQuery) -> Result<Vec<RecordSummary>, DeviceError> {
        let text = q.text.trim();
        let like = format!(
            "%{}%",
            text.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, r.state, r.business_name, r.business_uscc, r.product_name, r.task_name, r.updated_at,
                    (SELECT count(*) FROM evidence e WHERE e.record_id = r.id),
                    o.received_at, o.state, CASE WHEN o.state <> 'delivered' THEN o.last_error END
             FROM records r LEFT JOIN outbox o ON o.lead_id = r.id
             WHERE (?1 = '' OR r.business_name LIKE ?2 ESCAPE '\\' OR r.product_name LIKE ?2 ESCAPE '\\'
                    OR r.business_uscc LIKE ?2 ESCAPE '\\' OR r.task_name LIKE ?2 ESCAPE '\\' OR r.id LIKE ?2 ESCAPE '\\')
               AND (?3 IS NULL OR r.state = ?3)
             ORDER BY r.updated_at DESC, r.id DESC
             LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                text,
                like,
                q.state.map(LeadState::as_str),
                q.limit.unwrap_or(500)
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, u32>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                ))
            },
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (
                id,
                state,
                business_name,
                business_uscc,
                product_name,
                task_name,
                updated_at,
                evidence_count,
                received_at,
                outbox_state,
                sync_error,
            ) = row?;
            out.push(RecordSummary {
                id: id
                    .parse()
                    .map_err(|_| DeviceError::Corrupt(format!("record id {id}")))?,
                state: parse_state(&state)?,
                business_name,
                business_uscc,
                product_name,
                task_name,
                evidence_count,
                updated_at: parse_time(&updated_at)?,
                received_at: received_at
                    .map(|t| parse_time(&t).map(|t| t.with_timezone(&Utc)))
                    .transpose()?,
                outbox_state: outbox_state
                    .map(|s| crate::OutboxState::parse(&s))
                    .transpose()?,
                sync_error,
            });
        }
        Ok(out)
    }
}
