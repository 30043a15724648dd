//! What can go wrong in a use-case, each with a stable code for the UI.

use fieldlead_domain::{FieldProblem, LeadId, Party, Sha256, VerifyError};
use fieldlead_evidence::bundle::BundleError;
use fieldlead_evidence::{IntakeError, StoreError};

use crate::bureau_url::BureauUrlError;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("数据库由更新版本的 fieldlead 创建（结构版本 {found}，本程序支持到 {supported}），请先升级应用，数据未作任何改动")]
    NewerDatabase { found: i64, supported: i64 },
    #[error("找不到记录 {0}")]
    RecordNotFound(LeadId),
    #[error("记录已锁定，不能再修改；如需更正，请新建一条更正记录")]
    Sealed(LeadId),
    #[error("记录还有 {} 处需要填写或更正", .0.len())]
    InvalidDraft(Vec<FieldProblem>),
    #[error("终止抽样须至少附一张现场照片")]
    NoEvidence,
    #[error("第 {0} 张照片还没有说明，请写明照片拍的是什么")]
    CaptionMissing(usize),
    #[error("照片说明最多 {max} 个字")]
    CaptionTooLong { max: usize },
    #[error("本记录中没有这张照片（{0}）")]
    EvidenceNotFound(Sha256),
    #[error("这张照片已在本记录中")]
    EvidenceDuplicate(Sha256),
    #[error("一条记录最多附 {max} 张照片；需要更多时请另建记录")]
    TooManyEvidence { max: usize },
    #[error("照片 {0} 在存储中已缺失或被改动，不能锁定")]
    EvidenceDamaged(Sha256),
    #[error("{}还没有签名", .0.label_zh())]
    SignoffMissing(Party),
    #[error("签名图片无效：{0}")]
    SignatureImage(String),
    #[error("只有被抽样单位人员可以拒签，抽样人员必须签名")]
    OnlyBusinessMayRefuse,
    #[error("拒签须填写见证人姓名")]
    WitnessRequired,
    #[error("{0}")]
    Settings(String),
    #[error(transparent)]
    BureauUrl(#[from] BureauUrlError),
    #[error("{0}")]
    Intake(#[from] IntakeError),
    #[error("证据存储出错：{0}")]
    Store(#[from] StoreError),
    #[error("锁定自检未通过：{0}")]
    SelfCheck(#[from] VerifyError),
    #[error("设备密钥文件出错：{0}")]
    KeyFile(String),
    /// Shown as what the user can do about it; the database's own words stay in
    /// [`std::error::Error::source`] for the log and the CLI.
    #[error("{}", database_message(.0))]
    Database(#[from] rusqlite::Error),
    #[error("数据内容损坏：{0}")]
    Corrupt(String),
    #[error("{}", io_message(.0))]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Bundle(#[from] BundleError),
    #[error("记录 {0} 尚未锁定，不能导出线索包")]
    NotSealed(LeadId),
    #[error("记录尚未锁定，锁定后才能生成移交表")]
    FormNotSealed(LeadId),
    /// The form renderer's own error, with its own code (no_cjk_font, template...).
    #[error("{0}")]
    Form(#[from] fieldlead_forms::FormError),
    #[error("无法保存移交表 PDF：{0}")]
    FormPdf(std::io::Error),
}

impl DeviceError {
    pub fn code(&self) -> &'static str {
        match self {
            DeviceError::NewerDatabase { .. } => "newer_database",
            DeviceError::RecordNotFound(_) => "record_not_found",
            DeviceError::Sealed(_) => "record_sealed",
            DeviceError::InvalidDraft(_) => "invalid_draft",
            DeviceError::NoEvidence => "no_evidence",
            DeviceError::CaptionMissing(_) => "caption_missing",
            DeviceError::CaptionTooLong { .. } => "caption_too_long",
            DeviceError::EvidenceNotFound(_) => "evidence_not_found",
            DeviceError::EvidenceDuplicate(_) => "evidence_duplicate",
            DeviceError::TooManyEvidence { .. } => "too_many_evidence",
            DeviceError::EvidenceDamaged(_) => "evidence_damaged",
            DeviceError::SignoffMissing(_) => "signoff_missing",
            DeviceError::SignatureImage(_) => "signature_image",
            DeviceError::OnlyBusinessMayRefuse => "only_business_may_refuse",
            DeviceError::WitnessRequired => "witness_required",
            DeviceError::Settings(_) => "settings",
            DeviceError::BureauUrl(e) => e.code(),
            DeviceError::Intake(e) => e.code(),
            DeviceError::Store(e) => e.code(),
            DeviceError::SelfCheck(e) => e.code(),
            DeviceError::KeyFile(_) => "key_file",
            DeviceError::Database(_) => "database",
            DeviceError::Corrupt(_) => "corrupt",
            DeviceError::Io(_) => "io",
            DeviceError::Bundle(e) => e.code(),
            DeviceError::NotSealed(_) => "record_not_sealed",
            DeviceError::FormNotSealed(_) => "not_sealed",
            DeviceError::Form(e) => e.code(),
            DeviceError::FormPdf(_) => "io",
        }
    }
}

const STORAGE_FULL: &str =
    "平板存储空间已满，本次操作未完成，已保存的内容不受影响；请清理存储空间后重试";
const NOT_WRITABLE: &str = "无法写入应用的数据目录，本次操作未完成；请检查存储权限和剩余空间";

/// A database failure as a sampler can act on it: nothing of the operation was
/// kept (each change is one transaction), and what was saved before is intact.
fn database_message(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::DiskFull) => STORAGE_FULL,
        Some(C::DatabaseBusy | C::DatabaseLocked) => "本机数据正被占用，本次操作未完成；请稍后重试",
        Some(C::ReadOnly | C::PermissionDenied | C::CannotOpen) => NOT_WRITABLE,
        _ => "本机数据库出错，本次操作未完成，已保存的内容不受影响；请重试，仍不行请联系技术支持",
    }
}

/// A file failure likewise.
fn io_message(e: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::StorageFull => STORAGE_FULL,
        K::PermissionDenied | K::ReadOnlyFilesystem => NOT_WRITABLE,
        _ => "文件读写出错，本次操作未完成，已保存的内容不受影响；请重试，仍不行请联系技术支持",
    }
}

impl From<serde_json::Error> for DeviceError {
    fn from(e: serde_json::Error) -> Self {
        DeviceError::Corrupt(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::DeviceError;
    use std::error::Error;

    #[test]
    fn a_full_disk_is_said_in_chinese_with_what_to_do_and_the_cause_kept() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        );
        let e = DeviceError::from(full);
        let shown = e.to_string();
        assert!(shown.contains("存储空间已满") && shown.contains("已保存的内容不受影响"));
        assert!(!shown.chars().any(|c| c.is_ascii_alphabetic()), "{shown}");
        assert!(e.source().unwrap().to_string().contains("disk is full"));

        let io = DeviceError::from(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert!(io.to_string().contains("存储空间已满"));
        let other = DeviceError::from(std::io::Error::other("boom"));
        assert!(!other.to_string().contains("boom"));
        assert_eq!(other.source().unwrap().to_string(), "boom");
    }
}
