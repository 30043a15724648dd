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
    #[error("数据库出错：{0}")]
    Database(#[from] rusqlite::Error),
    #[error("数据内容损坏：{0}")]
    Corrupt(String),
    #[error("文件读写出错：{0}")]
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

impl From<serde_json::Error> for DeviceError {
    fn from(e: serde_json::Error) -> Self {
        DeviceError::Corrupt(e.to_string())
    }
}
