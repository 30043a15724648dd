//! The one SQL layer both backends run: [`Db`] is a connection inside a
//! transaction, given statements with `?1`-style placeholders and values of
//! the three kinds the schema uses (integers, text, NULL), returning rows of
//! the same. SQLite runs the statements as written; PostgreSQL's adapter
//! numbers the placeholders `$1` and binds each value as its column's type.
//! The queries in [`super::sql`] are therefore written once, in the SQL both
//! engines speak, and every rule they hold is the same on both.
//!
//! Both schemas keep times as RFC 3339 text in UTC with microseconds (text
//! order is time order), ids and hashes as text, and every integer (flags
//! included, as 0 and 1) as a 64-bit integer.

use crate::error::StorageError;

/// A failure below the queries, in the terms they need.
#[derive(Debug)]
pub(crate) enum DbError {
    /// A uniqueness rule refused the write: a race another writer won.
    Unique(String),
    /// The transaction lost a race and may simply run again (PostgreSQL's
    /// serialization failures and deadlocks).
    Retry(String),
    /// A stored value could not be read back as its type.
    Decode(String),
    Backend(String),
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbError::Unique(m) | DbError::Retry(m) | DbError::Decode(m) | DbError::Backend(m) => {
                f.write_str(m)
            }
        }
    }
}

impl From<DbError> for StorageError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unique(m) => StorageError::Conflict(m),
            DbError::Decode(m) => StorageError::Corrupt(m),
            DbError::Retry(m) | DbError::Backend(m) => StorageError::Backend(m),
        }
    }
}

pub(crate) type DbResult<T> = Result<T, DbError>;

/// A value as stored or bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Text(String),
}

/// What may be bound to a placeholder.
pub(crate) trait ToValue {
    fn to_value(&self) -> Value;
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToValue for i64 {
    fn to_value(&self) -> Value {
        Value::Int(*self)
    }
}
impl ToValue for i32 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for u32 {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// The values of a statement's placeholders, in order: `p![a, b, c]`.
macro_rules! p {
    () => { &[] as &[&dyn $crate::storage::db::ToValue] };
    ($($v:expr),+ $(,)?) => { &[$(&$v as &dyn $crate::storage::db::ToValue),+] as &[&dyn $crate::storage::db::ToValue] };
}
pub(crate) use p;

/// One row of a result.
#[derive(Debug, Clone)]
pub(crate) struct Row(pub(crate) Vec<Value>);

impl Row {
    pub(crate) fn get<T: FromValue>(&self, i: usize) -> DbResult<T> {
        let v = self
            .0
            .get(i)
            .ok_or_else(|| DbError::Decode(format!("no column {i}")))?;
        T::from_value(v).ok_or_else(|| DbError::Decode(format!("column {i}: {v:?}")))
    }
}

/// What a column may be read as.
pub(crate) trait FromValue: Sized {
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for String {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
}
impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}
impl FromValue for i32 {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).and_then(|i| i32::try_from(i).ok())
    }
}
impl FromValue for u32 {
    fn from_value(v: &Value) -> Option<Self> {
        i64::from_value(v).and_then(|i| u32::try_from(i).ok())
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Int(0) => Some(false),
            Value::Int(1) => Some(true),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// A connection inside a transaction (or a read snapshot).
pub(crate) trait Db {
    /// Runs a statement; how many rows it changed.
    fn execute(&mut self, sql: &str, params: &[&dyn ToValue]) -> DbResult<usize>;
    /// Runs a query; every row.
    fn query(&mut self, sql: &str, params: &[&dyn ToValue]) -> DbResult<Vec<Row>>;
}

impl<'a> dyn Db + 'a {
    /// The first row, read by `f`, if there is one.
    pub(crate) fn query_opt<T>(
        &mut self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnOnce(&Row) -> DbResult<T>,
    ) -> DbResult<Option<T>> {
        self.query(sql, params)?.first().map(f).transpose()
    }

    /// The first row, read by `f`; a query that must return one.
    pub(crate) fn query_one<T>(
        &mut self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnOnce(&Row) -> DbResult<T>,
    ) -> DbResult<T> {
        self.query_opt(sql, params, f)?
            .ok_or_else(|| DbError::Backend("a query that returns one row returned none".into()))
    }

    /// Every row, each read by `f`.
    pub(crate) fn query_all<T>(
        &mut self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnMut(&Row) -> DbResult<T>,
    ) -> DbResult<Vec<T>> {
        self.query(sql, params)?.iter().map(f).collect()
    }
}

/// `?1` placeholders as PostgreSQL numbers them (`$1`). The queries hold no
/// `?` anywhere else.
pub(crate) fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_for_postgres_and_values_read_back() {
        assert_eq!(
            dollar_placeholders("SELECT a FROM t WHERE (?1 IS NULL OR b = ?1) AND c < ?12"),
            "SELECT a FROM t WHERE ($1 IS NULL OR b = $1) AND c < $12"
        );
        let row = Row(vec![Value::Text("x".into()), Value::Int(1), Value::Null]);
        assert_eq!(row.get::<String>(0).unwrap(), "x");
        assert!(row.get::<bool>(1).unwrap());
        assert_eq!(row.get::<Option<i64>>(2).unwrap(), None);
        assert!(row.get::<i64>(0).is_err());
        assert!(row.get::<String>(3).is_err());
        let v: &[&dyn ToValue] = p![1i64, "a", None::<String>, true];
        let values: Vec<Value> = v.iter().map(|v| v.to_value()).collect();
        assert_eq!(
            values,
            [
                Value::Int(1),
                Value::Text("a".into()),
                Value::Null,
                Value::Int(1)
            ]
        );
    }
}
