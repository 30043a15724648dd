//! How the bureau's values are spelled in columns (both backends) and read back: times as
//! RFC 3339 text, hashes and ids as text, the closed sets by their wire names,
//! signed documents as canonical JSON; and the row readers shared by the queries.

use crate::storage::db::{p, Db, DbError, DbResult, Row};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use fieldlead_domain::money::Fen;
use fieldlead_domain::{canonical_json, DeviceId, PublicKey, Sha256};

use crate::storage::{AuditEntry, District, EnrolledDevice, Handling, Lead, User};

pub(crate) fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(super) fn parse_time(s: &str) -> DbResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(conversion)
}

pub(super) fn opt_time(s: Option<String>) -> DbResult<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_time).transpose()
}

pub(super) fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(super) fn conversion<E: std::fmt::Display>(e: E) -> DbError {
    DbError::Decode(e.to_string())
}

/// Any value with a `FromStr`: ids, hashes, wire names.
pub(super) fn parse<T>(s: &str) -> DbResult<T>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.parse().map_err(conversion)
}

pub(super) fn parse_opt<T>(s: Option<String>) -> DbResult<Option<T>>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.as_deref().map(parse).transpose()
}

pub(super) fn parse_phash(s: Option<String>) -> DbResult<Option<u64>> {
    s.map(|p| u64::from_str_radix(&p, 16).map_err(conversion))
        .transpose()
}

pub(super) fn fmt_phash(p: u64) -> String {
    format!("{p:016x}")
}

/// A stored document as canonical JSON: one spelling of signed content, whatever
/// whitespace or key order it arrived in.
pub(super) fn to_json<T: serde::Serialize>(v: &T) -> DbResult<String> {
    let bytes = canonical_json(v).map_err(conversion)?;
    String::from_utf8(bytes).map_err(conversion)
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> DbResult<T> {
    serde_json::from_str(s).map_err(conversion)
}

pub(super) fn fen(v: Option<i64>) -> DbResult<Option<Fen>> {
    v.map(|f| Fen::new(f).map_err(conversion)).transpose()
}

pub(crate) fn insert_audit(c: &mut dyn Db, a: &AuditEntry) -> DbResult<()> {
    let text = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
    c.execute("INSERT INTO audit_events (at, actor, district_id, action, subject, before_json, after_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", p![
        fmt_time(a.at),
        a.actor,
        a.district_id,
        a.action,
        a.subject,
        text(&a.before),
        text(&a.after)
    ])?;
    Ok(())
}

pub(super) fn district_at(r: &Row, at: usize) -> DbResult<District> {
    Ok(District {
        id: r.get(at)?,
        code: r.get(at + 1)?,
        name: r.get(at + 2)?,
    })
}

pub(super) const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.role, d.id, d.code, d.name";

pub(super) fn user_from_row(r: &Row) -> DbResult<User> {
    let district = match r.get::<Option<i64>>(4)? {
        Some(_) => Some(district_at(r, 4)?),
        None => None,
    };
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: parse(&r.get::<String>(3)?)?,
        district,
    })
}

pub(super) const DEVICE_COLUMNS: &str =
    "v.id, v.public_key, v.label, v.enrolled_at, v.revoked_at, v.revoked_by, d.id, d.code, d.name";

pub(super) fn device_from_row(r: &Row) -> DbResult<EnrolledDevice> {
    Ok(EnrolledDevice {
        id: parse::<DeviceId>(&r.get::<String>(0)?)?,
        public_key: parse::<PublicKey>(&r.get::<String>(1)?)?,
        label: r.get(2)?,
        enrolled_at: parse_time(&r.get::<String>(3)?)?,
        revoked_at: opt_time(r.get(4)?)?,
        revoked_by: r.get(5)?,
        district: district_at(r, 6)?,
    })
}

pub(super) const HANDLING_COLUMNS: &str =
    "l.state, l.acknowledged_at, l.acknowledged_by, l.decision, l.decided_at, l.decided_by,
    l.case_number, l.decline_reason, l.fine_fen, l.confiscation_fen, l.remark,
    l.reported_to_city_on";

pub(super) fn handling_from_row(r: &Row, at: usize) -> DbResult<Handling> {
    Ok(Handling {
        state: parse(&r.get::<String>(at)?)?,
        acknowledged_at: opt_time(r.get(at + 1)?)?,
        acknowledged_by: r.get(at + 2)?,
        decision: parse_opt(r.get(at + 3)?)?,
        decided_at: opt_time(r.get(at + 4)?)?,
        decided_by: r.get(at + 5)?,
        case_number: r.get(at + 6)?,
        decline_reason: r.get(at + 7)?,
        fine: fen(r.get(at + 8)?)?,
        confiscation: fen(r.get(at + 9)?)?,
        remark: r.get(at + 10)?,
        reported_to_city_on: r
            .get::<Option<String>>(at + 11)?
            .map(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(conversion))
            .transpose()?,
    })
}

pub(super) fn lead_columns() -> String {
    format!(
        "l.id, d.id, d.code, d.name, l.device_id, l.manifest_hash, l.upload_json,
        l.business_name, l.product_name, l.sealed_at, l.received_at, l.completed_at,
        l.receipt_json, l.review_state, {HANDLING_COLUMNS}, l.updated_at"
    )
}

pub(super) fn lead_from_row(r: &Row) -> DbResult<Lead> {
    Ok(Lead {
        id: parse(&r.get::<String>(0)?)?,
        district: district_at(r, 1)?,
        device_id: parse(&r.get::<String>(4)?)?,
        manifest_hash: parse::<Sha256>(&r.get::<String>(5)?)?,
        upload: from_json(&r.get::<String>(6)?)?,
        business_name: r.get(7)?,
        product_name: r.get(8)?,
        sealed_at: parse_time(&r.get::<String>(9)?)?,
        received_at: parse_time(&r.get::<String>(10)?)?,
        completed_at: opt_time(r.get(11)?)?,
        receipt: r
            .get::<Option<String>>(12)?
            .map(|j| from_json(&j))
            .transpose()?,
        review_state: parse_opt(r.get(13)?)?,
        handling: handling_from_row(r, 14)?,
        updated_at: parse_time(&r.get::<String>(26)?)?,
    })
}
