//! Typed errors with stable codes. The API turns each into an HTTP status and an
//! `{code, message}` body; the console shows the message.

use fieldlead_domain::calendar::CalendarError;
use fieldlead_domain::postprocess::CaseError;
use fieldlead_domain::{ChainError, ErrorCode, FieldProblem, ProtocolError, VerifyError};

/// A failure of the storage layer itself (database or blob folder), the same for
/// every backend: no backend's own error type leaks through it.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The backend failed (SQL error, lost connection): its own words, for the log.
    #[error("数据库错误：{0}")]
    Backend(String),
    /// A uniqueness rule refused the write: someone else got there first.
    #[error("数据已存在或已被他人修改：{0}")]
    Conflict(String),
    #[error("文件存储错误（{path}）：{source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The object store refused or failed a request: its own words, for the log.
    #[error("对象存储错误（{key}）：{message}")]
    ObjectStore { key: String, message: String },
    /// This instance's signing key is not the one the database's other
    /// instances sign with.
    #[error("本实例的签名密钥（指纹 {ours}）与数据库登记的密钥（指纹 {recorded}）不同：同一数据库的每个实例都须使用同一个 bureau.key，请从首个实例的数据目录复制")]
    SigningKeyMismatch { ours: String, recorded: String },
    #[error("数据库版本 {found} 比本程序支持的 {supported} 新，请升级 fieldlead-bureau")]
    NewerDatabase { found: i64, supported: i64 },
    #[error("数据库中的数据无法解析：{0}")]
    Corrupt(String),
    #[error("数据写入线程已停止")]
    WriterGone,
    #[error("数据库提交失败：{0}")]
    Commit(String),
}

impl From<FieldProblem> for BureauError {
    fn from(p: FieldProblem) -> Self {
        BureauError::Field(p)
    }
}

impl StorageError {
    pub fn io(path: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> StorageError {
        let path = path.to_string();
        move |source| StorageError::Io { path, source }
    }
}

/// Everything a request or a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BureauError {
    #[error("请先登录")]
    Unauthenticated,
    #[error("设备令牌无效，请重新注册本设备")]
    BadToken,
    #[error("本设备已被区县局停用，请联系区县局重新注册")]
    DeviceRevoked,
    #[error("无权执行此操作")]
    Forbidden,
    #[error("页面已过期或来源不明（CSRF 校验失败），请刷新页面后重试")]
    Csrf,
    #[error("用户名或密码错误")]
    BadCredentials,
    #[error("{what}不存在")]
    NotFound { what: &'static str },
    #[error("编号格式错误：{0}")]
    MalformedId(String),
    #[error("请求格式错误：{0}")]
    Malformed(String),
    /// A refusal with its own code and message (a console form, an import, a
    /// lead whose path and body disagree...): every code is an [`ErrorCode`].
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    /// A 后处理 step the case's state or dates do not allow.
    #[error("{0}")]
    Case(#[from] CaseError),
    /// An inspection result list that cannot be taken in, whole.
    #[error("{0}")]
    Results(#[from] crate::results_import::ResultsImportError),
    /// A deadline needs a year the working-day calendar does not hold.
    #[error("{0}")]
    Calendar(#[from] CalendarError),
    /// One field of a form or a record broke a rule of the domain.
    #[error("{}", .0.message)]
    Field(FieldProblem),
    #[error("{0}")]
    Protocol(#[from] ProtocolError),
    #[error("线索未通过校验：{0}")]
    Verify(#[from] VerifyError),
    #[error("同一线索编号已收到内容不同的锁定记录，拒收；如需更正请新建更正记录")]
    LeadConflict,
    #[error("注册码无效、已使用或已过期，请向区县局索取新的注册码")]
    EnrolmentCode,
    #[error("该公钥已注册过，请在设备上重新生成密钥")]
    KeyTaken,
    #[error("续传位置不符：服务器已有 {held} 字节，请从该位置续传")]
    OffsetMismatch { held: u64 },
    #[error("该文件正在另一个连接中上传，请稍后重试")]
    UploadInProgress,
    #[error("文件内容与其 SHA-256 不符，已丢弃，请从头重新上传")]
    HashMismatch,
    #[error("请求内容超过上限 {max} 字节")]
    TooLarge { max: u64 },
    #[error("请求过于频繁，请 {retry_after_secs} 秒后重试")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Quota(String),
    #[error("服务器繁忙，请稍后重试")]
    Busy,
    #[error("操作与线索当前状态不符：{0}")]
    State(String),
    #[error("数据已被他人修改，请刷新页面后重试")]
    Concurrent,
    #[error("上传超时：{0} 秒内未收到数据")]
    Timeout(u64),
    #[error("{0}")]
    Form(#[from] fieldlead_forms::FormError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("服务器内部错误：{0}")]
    Internal(String),
}

impl BureauError {
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Self {
        BureauError::Invalid {
            code,
            message: message.into(),
        }
    }

    /// Stable machine-readable code: what [`fieldlead_domain::ErrorBody::code`]
    /// carries.
    pub fn code(&self) -> ErrorCode {
        match self {
            BureauError::Unauthenticated => ErrorCode::Unauthenticated,
            BureauError::BadToken => ErrorCode::BadToken,
            BureauError::DeviceRevoked => ErrorCode::DeviceRevoked,
            BureauError::Forbidden => ErrorCode::Forbidden,
            BureauError::Csrf => ErrorCode::Csrf,
            BureauError::BadCredentials => ErrorCode::BadCredentials,
            BureauError::NotFound { .. } => ErrorCode::NotFound,
            BureauError::MalformedId(_) => ErrorCode::MalformedId,
            BureauError::Malformed(_) => ErrorCode::MalformedBody,
            BureauError::Invalid { code, .. } => *code,
            // A console field's own code (required, too_long, amount_format...).
            BureauError::Field(p) => p.code.parse().unwrap_or(ErrorCode::InvalidFields),
            BureauError::Case(e) => e.code().parse().unwrap_or(ErrorCode::CaseRule),
            BureauError::Calendar(e) => e.code().parse().unwrap_or(ErrorCode::CalendarFormat),
            BureauError::Results(e) => e.code().parse().unwrap_or(ErrorCode::ResultsUnreadable),
            BureauError::Protocol(e) => e.error_code(),
            BureauError::Verify(e) => e.error_code(),
            BureauError::LeadConflict => ErrorCode::LeadConflict,
            BureauError::EnrolmentCode => ErrorCode::EnrolmentCodeInvalid,
            BureauError::KeyTaken => ErrorCode::DeviceKeyTaken,
            BureauError::OffsetMismatch { .. } => ErrorCode::OffsetMismatch,
            BureauError::UploadInProgress => ErrorCode::UploadInProgress,
            BureauError::HashMismatch => ErrorCode::BlobHashMismatch,
            BureauError::TooLarge { .. } => ErrorCode::TooLarge,
            BureauError::RateLimited { .. } => ErrorCode::RateLimited,
            BureauError::Quota(_) => ErrorCode::QuotaExceeded,
            BureauError::Busy => ErrorCode::Busy,
            BureauError::State(_) => ErrorCode::InvalidState,
            BureauError::Concurrent => ErrorCode::ConcurrentChange,
            BureauError::Timeout(_) => ErrorCode::Timeout,
            BureauError::Form(e) => e.error_code(),
            BureauError::Storage(StorageError::Conflict(_)) => ErrorCode::Conflict,
            BureauError::Storage(_) => ErrorCode::Storage,
            BureauError::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The HTTP status the API answers with.
    pub fn status(&self) -> u16 {
        match self {
            BureauError::Unauthenticated | BureauError::BadToken | BureauError::BadCredentials => {
                401
            }
            BureauError::DeviceRevoked | BureauError::Forbidden | BureauError::Csrf => 403,
            BureauError::NotFound { .. } => 404,
            BureauError::MalformedId(_) | BureauError::Malformed(_) => 400,
            BureauError::Invalid { .. }
            | BureauError::Field(_)
            | BureauError::Protocol(_)
            | BureauError::Verify(_)
            | BureauError::HashMismatch
            | BureauError::EnrolmentCode => 422,
            BureauError::Case(CaseError::NotNow { .. }) => 409,
            BureauError::Results(crate::results_import::ResultsImportError::TooLarge {
                ..
            }) => 413,
            BureauError::Case(_) | BureauError::Calendar(_) | BureauError::Results(_) => 422,
            BureauError::LeadConflict
            | BureauError::KeyTaken
            | BureauError::OffsetMismatch { .. }
            | BureauError::UploadInProgress
            | BureauError::State(_)
            | BureauError::Concurrent => 409,
            BureauError::TooLarge { .. } => 413,
            BureauError::RateLimited { .. } | BureauError::Quota(_) => 429,
            BureauError::Busy => 503,
            BureauError::Timeout(_) => 408,
            BureauError::Storage(StorageError::Conflict(_)) => 409,
            // A document that lacks what it cannot be printed without: the user's to fill.
            BureauError::Form(fieldlead_forms::FormError::Notice { .. }) => 422,
            BureauError::Form(_) | BureauError::Storage(_) | BureauError::Internal(_) => 500,
        }
    }

    /// Structured facts for the client beside the message.
    pub fn detail(&self) -> Option<serde_json::Value> {
        match self {
            BureauError::OffsetMismatch { held } => Some(serde_json::json!({ "offset": held })),
            BureauError::Verify(VerifyError::Chain(ChainError { index, .. })) => {
                Some(serde_json::json!({ "entry_index": index }))
            }
            BureauError::Verify(VerifyError::Fields(problems)) => {
                Some(serde_json::json!({ "problems": problems }))
            }
            BureauError::Field(p) => Some(serde_json::json!({ "problems": [p] })),
            BureauError::Results(e) if !e.problems().is_empty() => {
                Some(serde_json::json!({ "cells": e.problems() }))
            }
            BureauError::TooLarge { max } => Some(serde_json::json!({ "max_bytes": max })),
            BureauError::RateLimited { retry_after_secs } => {
                Some(serde_json::json!({ "retry_after_secs": retry_after_secs }))
            }
            _ => None,
        }
    }
}

impl BureauError {
    /// The message a client or a browser may see. A failure of the server itself
    /// (database, disk, a bug) says only that, with an incident number to quote;
    /// paths, SQL and other internals go to the server's log under that number.
    pub fn public_message(&self) -> String {
        if let BureauError::Storage(StorageError::Conflict(_)) = self {
            return "数据已存在或刚被他人修改，请刷新页面后重试".into();
        }
        if self.is_internal() {
            let incident = hex::encode(crate::secrets::random_bytes::<4>());
            tracing::error!(incident, error = %self, "request failed");
            format!("服务器内部错误，请稍后重试；如仍失败请联系管理员（事件编号 {incident}）")
        } else {
            self.to_string()
        }
    }

    /// A failure of the server rather than of the request.
    pub fn is_internal(&self) -> bool {
        match self {
            BureauError::Storage(StorageError::Conflict(_))
            | BureauError::Form(fieldlead_forms::FormError::Notice { .. }) => false,
            BureauError::Storage(_) | BureauError::Internal(_) | BureauError::Form(_) => true,
            _ => false,
        }
    }
}

pub type Result<T, E = BureauError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn case_and_calendar_errors_carry_their_own_codes() {
        use fieldlead_domain::calendar::CalendarError;
        use fieldlead_domain::postprocess::CaseError;
        let date = chrono::NaiveDate::from_ymd_opt(2026, 5, 6).unwrap();
        for (e, code, status) in [
            (
                BureauError::Case(CaseError::NotNow {
                    state: "异议期",
                    step: "责令改正",
                }),
                "case_state",
                409,
            ),
            (
                BureauError::Case(CaseError::Future {
                    what: "送达",
                    date,
                    today: date,
                }),
                "case_date",
                422,
            ),
            (
                BureauError::Case(CaseError::Rule("x".into())),
                "case_rule",
                422,
            ),
            (
                BureauError::Case(CaseError::Calendar(CalendarError::YearNotLoaded {
                    year: 2027,
                })),
                "calendar_year_not_loaded",
                422,
            ),
            (
                BureauError::Calendar(CalendarError::Format("x".into())),
                "calendar_format",
                422,
            ),
            (
                BureauError::Calendar(CalendarError::OutOfRange),
                "calendar_out_of_range",
                422,
            ),
        ] {
            assert_eq!(e.code().as_str(), code, "{e}");
            assert_eq!(e.status(), status, "{e}");
        }
    }

    use super::*;

    #[test]
    fn a_console_field_keeps_its_own_code() {
        // Every code `check_text` and the amount parser give a field is an ErrorCode,
        // so the fallback to invalid_fields never changes what is sent.
        let long = "字".repeat(11);
        for (value, max, code) in [
            ("", 10, "required"),
            (long.as_str(), 10, "too_long"),
            ("a\u{202E}b", 10, "control_character"),
        ] {
            let p = fieldlead_domain::text::check_text("f", "字段", value, max, true).unwrap_err();
            assert_eq!(p.code, code);
            assert_eq!(BureauError::Field(p).code(), code);
        }
        let format = fieldlead_domain::money::Fen::parse_wan_opt("abc").unwrap_err();
        let negative = fieldlead_domain::money::Fen::new(-1).unwrap_err();
        for (e, code) in [(format, "amount_format"), (negative, "amount_negative")] {
            let p = FieldProblem::new("fine_wan", e.code(), e.to_string());
            assert_eq!(BureauError::Field(p).code(), code);
        }
    }
}
