//! The bureau's vocabulary: districts, console users and their roles and scopes,
//! enrolled devices, leads with their handling and QA reviews. The service speaks
//! in these; [`crate::storage`] stores and loads them, whatever the backend.

use chrono::{DateTime, NaiveDate, Utc};
use fieldlead_domain::inspection::InspectionResult;
use fieldlead_domain::money::Fen;
use fieldlead_domain::postprocess::{Case, Document, EnforcementAnswer, Recipient, ServiceDetails};
use fieldlead_domain::{
    CaseId, Decision, DeviceId, DocumentId, LeadId, LeadState, LeadUpload, PublicKey, Receipt,
    Sha256, TransferId,
};
use fieldlead_forms::NoticeData;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct District {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// A console user's role. Devices are not users: they hold bearer tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// District officer: receives and handles leads.
    Officer,
    /// QA reviewer: checks the evidence.
    Reviewer,
    /// City bureau quality division: oversees every district.
    CityAdmin,
    /// The district's 执法办案部门: answers the failed products' leads (section 四).
    Enforcement,
}

fieldlead_domain::wire_names!(Role, "角色", {
    Officer => "officer",
    Reviewer => "reviewer",
    CityAdmin => "city_admin",
    Enforcement => "enforcement",
});

impl Role {
    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Officer => "区县局承办人员",
            Role::Reviewer => "证据审核员",
            Role::CityAdmin => "市局质监处",
            Role::Enforcement => "区县局执法办案部门",
        }
    }

    /// Enrols and revokes tablets: the district's officers and the city.
    pub fn manages_devices(self) -> bool {
        matches!(self, Role::Officer | Role::CityAdmin)
    }

    /// Sees the 后处理 cases of its scope (reviewers check evidence only).
    pub fn sees_cases(self) -> bool {
        self != Role::Reviewer
    }
}

/// Which districts a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    District(i64),
    All,
}

impl Scope {
    pub fn allows(self, district_id: i64) -> bool {
        match self {
            Scope::All => true,
            Scope::District(d) => d == district_id,
        }
    }
    pub(crate) fn district(self) -> Option<i64> {
        match self {
            Scope::All => None,
            Scope::District(d) => Some(d),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub district: Option<District>,
}

impl User {
    pub fn scope(&self) -> Scope {
        match (&self.district, self.role) {
            (_, Role::CityAdmin) | (None, _) => Scope::All,
            (Some(d), _) => Scope::District(d.id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
/// A tablet the bureau enrolled: its key, its district, whether it is revoked.
pub struct EnrolledDevice {
    pub id: DeviceId,
    pub district: District,
    pub public_key: PublicKey,
    pub label: String,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

/// Why a key already known to the bureau may not enrol again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReenrolRefusal {
    /// One key, one tablet: an active device cannot be enrolled twice.
    KeyTaken,
    /// A revoked device comes back only into the district it belonged to: a code
    /// of another district would carry its old id and leads across.
    OtherDistrict,
}

impl EnrolledDevice {
    /// Whether this device's key may enrol again with a code of `district_id`. A
    /// revoked tablet comes back only with a fresh code, which an administrator
    /// issued on purpose; it keeps its id, so the leads it delivered stay linked to
    /// it, and its old token stays dead.
    pub fn may_reenrol(&self, district_id: i64) -> Result<(), ReenrolRefusal> {
        if self.revoked_at.is_none() {
            Err(ReenrolRefusal::KeyTaken)
        } else if self.district.id != district_id {
            Err(ReenrolRefusal::OtherDistrict)
        } else {
            Ok(())
        }
    }
}

/// QA review verdicts on a lead's evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Approved,
    HasIssues,
    Rejected,
}

fieldlead_domain::wire_names!(ReviewState, "审核结论", {
    Approved => "approved",
    HasIssues => "has_issues",
    Rejected => "rejected",
});

impl ReviewState {
    pub fn label_zh(self) -> &'static str {
        match self {
            ReviewState::Approved => "审核通过",
            ReviewState::HasIssues => "存在问题",
            ReviewState::Rejected => "不予采信",
        }
    }
}

/// The district's handling of a lead: everything the console may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handling {
    pub state: LeadState,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub decision: Option<Decision>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub case_number: Option<String>,
    pub decline_reason: Option<String>,
    /// Shown in 万元.
    pub fine: Option<Fen>,
    pub confiscation: Option<Fen>,
    pub remark: Option<String>,
    pub reported_to_city_on: Option<NaiveDate>,
}

impl Handling {
    /// Fines and confiscations are recorded for a filed case; after its report
    /// to the city they are still recorded, as an audited correction.
    pub fn may_record_outcome(&self) -> bool {
        self.decision == Some(Decision::CaseFiled)
    }

    /// Whether recording the outcome now corrects what the city was told.
    pub fn outcome_is_correction(&self) -> bool {
        self.state == LeadState::ReportedToCity
    }
}

/// A lead as the bureau holds it: the verified upload, the receipt once every
/// blob arrived, and the district's handling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lead {
    pub id: LeadId,
    pub district: District,
    pub device_id: DeviceId,
    pub manifest_hash: Sha256,
    /// The signed manifest and log, as verified on arrival.
    pub upload: LeadUpload,
    pub business_name: String,
    pub product_name: String,
    pub sealed_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub receipt: Option<Receipt>,
    pub review_state: Option<ReviewState>,
    pub handling: Handling,
    pub updated_at: DateTime<Utc>,
}

/// One line of a lead list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeadSummary {
    pub id: LeadId,
    pub district: District,
    pub business_name: String,
    pub product_name: String,
    pub sealed_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub state: LeadState,
    pub review_state: Option<ReviewState>,
    pub missing_blobs: u32,
}

/// How long a lead took to reach the bureau, the notice's "立即报告" measured:
/// from its locking on the tablet to the bureau's signed receipt for it and all
/// its evidence (or until now, while evidence is still missing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportTime {
    /// e.g. 3小时12分.
    pub text: String,
    /// The receipt is still to come (evidence missing): the time runs on.
    pub running: bool,
    /// Longer than the bureau's limit (`report_limit_hours`).
    pub late: bool,
}

impl ReportTime {
    /// From locking (`sealed_at`) to the signed receipt (`completed_at`, or `now`
    /// while it is still to come), against the bureau's limit in hours.
    pub fn of(
        sealed_at: DateTime<Utc>,
        completed_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        limit_hours: u32,
    ) -> ReportTime {
        let took = completed_at.unwrap_or(now) - sealed_at;
        ReportTime {
            text: fieldlead_domain::time::duration_zh(took),
            running: completed_at.is_none(),
            late: took > chrono::Duration::hours(i64::from(limit_hours)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    pub reviewer: String,
    pub state: ReviewState,
    pub comment: String,
    pub at: DateTime<Utc>,
}

/// What the background analysis learnt from a received blob's bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlobAnalysis {
    pub format: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub exif: fieldlead_evidence::ExifSummary,
    pub phash: Option<String>,
    pub thumbnail: Option<Sha256>,
    /// Set when the bytes are not a usable image: `{code, message}`.
    pub error: Option<(String, String)>,
}

impl BlobAnalysis {
    /// The perceptual hash as its 64 bits, for "looks like" searches.
    pub fn phash_bits(&self) -> Option<u64> {
        self.phash
            .as_deref()
            .and_then(|p| u64::from_str_radix(p, 16).ok())
    }
}

/// One inspection result and its 后处理 (notice section 三).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostCase {
    pub id: CaseId,
    pub district: District,
    /// The result as the institute reported it.
    pub result: InspectionResult,
    /// Where its 后处理 stands.
    pub case: Case,
    /// How each document reached its recipient, oldest first.
    pub services: Vec<ServiceRecord>,
    /// The documents issued for it, oldest first, corrections included.
    pub documents: Vec<IssuedDocument>,
    /// The institute's report files attached to it.
    pub reports: Vec<CaseReport>,
    /// Its lead on a 附件6 and the enforcement side's answer, once transferred.
    pub enforcement: Option<EnforcementLead>,
    /// The 后处理 officer who works it, if assigned.
    pub assignee: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One issued 附件1 to 附件5: numbered, printed and sealed (the PDF kept hashed in
/// the blob store), never changed; a correction is a new document superseding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuedDocument {
    pub id: DocumentId,
    pub case_id: CaseId,
    pub document: Document,
    pub recipient: Recipient,
    /// Who numbers it: `city`, or the district's code.
    pub issuer_key: String,
    pub year: i32,
    pub seq: u32,
    /// 编号, e.g. 渝中市监〔2026〕12号.
    pub number: String,
    /// What it was printed from.
    pub data: NoticeData,
    pub data_sha256: Sha256,
    pub pdf_sha256: Sha256,
    /// The document this one corrects, and why.
    pub supersedes: Option<DocumentId>,
    pub correction: Option<String>,
    /// The document that corrected this one, if any.
    pub superseded_by: Option<DocumentId>,
    pub issued_at: DateTime<Utc>,
    pub issued_by: String,
}

/// Which report a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// The first inspection's report (初检报告).
    First,
    /// The re-inspection's report (复检报告, sent with 附件4).
    Reinspection,
}

fieldlead_domain::wire_names!(ReportKind, "报告类型", {
    First => "first",
    Reinspection => "reinspection",
});

impl ReportKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            ReportKind::First => "检验报告",
            ReportKind::Reinspection => "复检报告",
        }
    }
}

/// An institute's report file attached to a case, kept hashed like any evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseReport {
    pub kind: ReportKind,
    pub sha256: Sha256,
    pub file_name: String,
    pub size: u64,
    pub added_at: DateTime<Utc>,
    pub added_by: String,
}

/// A 附件6 不合格产品线索移交清单: failed products' leads a district's 后处理 side
/// passed to its 执法办案部门 on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transfer {
    pub id: TransferId,
    pub district: District,
    pub transferred_on: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// One failed product's lead at the enforcement side: on which 附件6, and the
/// answer (附件7 / 附件8) once given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnforcementLead {
    pub case_id: CaseId,
    pub transfer: Transfer,
    pub result: InspectionResult,
    pub answer: Option<EnforcementAnswer>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answered_by: Option<String>,
}

/// One document's 送达, as recorded with the step it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceRecord {
    pub document: Document,
    pub recipient: Recipient,
    /// The issued document served, when it was issued here.
    pub issued: Option<DocumentId>,
    /// The day it was served: the day the case's clocks run from.
    pub served_on: NaiveDate,
    pub details: ServiceDetails,
    pub recorded_at: DateTime<Utc>,
    /// The console user who recorded it.
    pub recorded_by: String,
}

/// One line of a case list or of the deadline board: the case without the full
/// result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseSummary {
    pub id: CaseId,
    pub district: District,
    pub report_no: String,
    pub business_name: String,
    pub product_name: String,
    pub case: Case,
    /// The 后处理 officer who works it, if assigned.
    pub assignee: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Every action the audit log records, and how the console says it.
pub const AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("district_created", "新增区县"),
    ("user_added", "新增用户"),
    ("password_set", "设置密码"),
    ("login", "登录"),
    ("login_failed", "登录失败"),
    ("enrolment_code_issued", "签发注册码"),
    ("device_enrolled", "平板注册"),
    ("device_reenrolled", "平板重新注册"),
    ("device_revoked", "停用平板"),
    ("lead_received", "接收线索"),
    ("lead_delivered", "线索全部证据已接收"),
    ("blob_verified", "核验证据文件"),
    ("lead_reviewed", "证据审核"),
    ("lead_acknowledged", "签收线索"),
    ("lead_case_filed", "立案"),
    ("lead_declined", "不予立案"),
    ("lead_outcome_recorded", "登记处罚结果"),
    ("lead_outcome_corrected", "报告市局后更正处罚结果"),
    ("lead_reported_to_city", "报告市局质监处"),
    ("result_imported", "导入检验结果"),
    ("result_served", "登记结果通知书送达"),
    ("objection_period_ended", "确认异议期届满"),
    ("objection_lodged", "登记异议和复检申请"),
    ("reinspection_granted", "准予复检"),
    ("reinspection_refused", "不予复检"),
    ("applicant_appeared", "申请人办理复检手续"),
    ("reinspection_abandoned", "视为放弃复检"),
    ("reinspection_result", "登记复检结果"),
    ("rectification_ordered", "责令改正"),
    ("rechecked", "登记复查结果"),
    ("published", "登记公告"),
    ("suspension_ordered", "责令停业整顿"),
    ("document_issued", "签发文书"),
    ("document_corrected", "更正文书"),
    ("report_attached", "附检验报告文件"),
    ("case_assigned", "指定承办人"),
    ("lead_transferred", "移交执法办案部门"),
    ("lead_answered", "执法办案部门反馈"),
];

/// An audit action in Chinese; one this version does not know is shown as
/// "其他操作（name）" rather than dropped.
pub fn audit_action_zh(action: &str) -> String {
    AUDIT_ACTIONS
        .iter()
        .find(|(a, _)| *a == action)
        .map(|(_, zh)| zh.to_string())
        .unwrap_or_else(|| format!("其他操作（{action}）"))
}

/// Who did it, in Chinese: `user:NAME`, `device:ID`, `cli`, `ip:ADDRESS`.
pub fn audit_actor_zh(actor: &str) -> String {
    match actor.split_once(':') {
        Some(("user", name)) => format!("用户 {name}"),
        Some(("device", id)) => format!("平板 {}", id.chars().take(8).collect::<String>()),
        Some(("ip", address)) => format!("未登录（{address}）"),
        _ if actor == "cli" => "服务器命令行".into(),
        _ => actor.to_string(),
    }
}

/// What was changed, in Chinese: `lead:ID`, `case:ID`, `device:ID`, `user:NAME`,
/// `district:CODE`.
pub fn audit_subject_zh(subject: &str) -> String {
    let short = |id: &str| id.chars().take(8).collect::<String>();
    match subject.split_once(':') {
        Some(("lead", id)) => format!("线索 {}", short(id)),
        Some(("case", id)) => format!("后处理案件 {}", short(id)),
        Some(("device", id)) => format!("平板 {}", short(id)),
        Some(("user", name)) => format!("用户 {name}"),
        Some(("district", code)) => format!("区县 {code}"),
        _ => subject.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_parse_back() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        for r in ReviewState::ALL {
            assert_eq!(r.as_str().parse::<ReviewState>().unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        assert!("admin".parse::<Role>().is_err());
    }

    #[test]
    fn audit_actions_and_actors_read_in_chinese() {
        for (action, zh) in AUDIT_ACTIONS {
            assert!(!zh.is_ascii(), "{action}");
            assert_eq!(audit_action_zh(action), *zh);
        }
        assert_eq!(audit_action_zh("future_thing"), "其他操作（future_thing）");
        assert_eq!(audit_actor_zh("user:officer_a"), "用户 officer_a");
        assert_eq!(audit_actor_zh("cli"), "服务器命令行");
        assert_eq!(
            audit_subject_zh("case:0190b2a4-0000-7000-8000-000000000001"),
            "后处理案件 0190b2a4"
        );
        assert_eq!(
            audit_actor_zh("device:0190b2a4-0000-7000-8000-000000000001"),
            "平板 0190b2a4"
        );
    }
}
