//! The sampling record: what the samplers saw on site, and why sampling stopped.
//!
//! A [`RecordDraft`] is what the tablet saves while the form is being filled: every
//! field optional, nothing checked. [`RecordDraft::validate`] turns it into a
//! [`Record`], whose fields can only hold valid values, or lists every problem by
//! field so the form can mark each one.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::geo::GeoPoint;
use crate::ids::{CccCertificate, IdError, LeadId, ProductionLicence, Uscc};
use crate::manifest::MANIFEST_FORMAT;
pub use crate::text::FieldProblem;

/// Longest free-text field on the form (the situation description).
pub const MAX_SITUATION_CHARS: usize = 4000;
/// Longest single-line field (names, addresses).
pub const MAX_LINE_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpotCheckTask {
    pub year: u16,
    pub name: String,
    pub number: String,
    pub product_category: String,
    /// 任务来源: who issued the task. Present from manifest format 2 on; a
    /// format-1 record (sealed before the field existed) has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<TaskLevel>,
    /// The task document's number (任务文号), when the task came with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_number: Option<String>,
}

/// Who issued a spot-check task (任务来源): the notice's three levels of
/// 市场监管 that organise 产品质量监督抽查.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskLevel {
    /// 国家监督抽查, issued by 市场监管总局.
    National,
    /// 市级监督抽查, issued by 市局.
    City,
    /// 区县级监督抽查, issued by a 区县局 (本级抽查).
    District,
}

impl TaskLevel {
    pub const ALL: [TaskLevel; 3] = [TaskLevel::National, TaskLevel::City, TaskLevel::District];

    /// The issuing body, as the notice names it.
    pub fn label_zh(self) -> &'static str {
        match self {
            TaskLevel::National => "市场监管总局",
            TaskLevel::City => "市局",
            TaskLevel::District => "区县局",
        }
    }
}

/// The sampled business's role in the supply chain.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusinessRole {
    Producer,
    Seller,
    EcommerceShop,
}

impl BusinessRole {
    pub const ALL: [BusinessRole; 3] = [
        BusinessRole::Producer,
        BusinessRole::Seller,
        BusinessRole::EcommerceShop,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            BusinessRole::Producer => "生产者",
            BusinessRole::Seller => "销售者",
            // A shop on a platform, not the platform's operator.
            BusinessRole::EcommerceShop => "电子商务平台内经营者",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Business {
    pub name: String,
    pub uscc: Uscc,
    pub address: String,
    pub person_in_charge: String,
    pub phone: String,
    pub role: BusinessRole,
    /// The 电子商务平台 a shop sells on: required for an
    /// [`BusinessRole::EcommerceShop`] from manifest format 2 on, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub name: String,
    pub brand: Option<String>,
    pub spec_model: Option<String>,
    pub batch_or_date: Option<String>,
    pub production_licence: Option<ProductionLicence>,
    pub ccc_certificate: Option<CccCertificate>,
}

/// The producer as printed on the product or its label. `None` in a field means
/// nothing is printed there, which is itself a termination ground.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NominalProducer {
    pub name: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sampler {
    pub name: String,
    /// Law-enforcement or sampling credential number (证件号).
    pub credential_no: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    pub address: String,
    pub gps: Option<GeoPoint>,
}

/// A termination ground (终止抽样情形) from the notice. Sorted in the order of the form.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Ground {
    NoFactoryName,
    NoFactoryAddress,
    NoQualityCertificate,
    SuspectedNoProductionLicence,
    SuspectedNoCcc,
    Other { text: String },
}

impl Ground {
    pub fn label_zh(&self) -> &str {
        match self {
            Ground::NoFactoryName => "无厂名",
            Ground::NoFactoryAddress => "无厂址",
            Ground::NoQualityCertificate => "无质量检验合格证明",
            Ground::SuspectedNoProductionLicence => "涉嫌无工业产品生产许可证",
            Ground::SuspectedNoCcc => "涉嫌未经强制性产品认证（CCC）",
            Ground::Other { .. } => "其他无需检验即可判定违法的情形",
        }
    }
}

/// Cases where sampling must not go ahead at all. Recorded, but not leads.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MustNotSampleGround {
    /// Stock below the quantity the sampling plan requires.
    InsufficientStock,
    /// Goods not for sale, or export-only under contract.
    NotForSaleOrExportOnly,
    /// Marked 试制 / 处理 / 样品.
    MarkedTrialClearanceOrSample,
}

/// How the business stood in the way; itself reported, but not a product lead.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalKind {
    Refused,
    Obstructed,
}

/// How the visit ended. Only [`Outcome::Terminated`] becomes an illegal-lead transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Outcome {
    Terminated {
        grounds: Vec<Ground>,
        situation: String,
    },
    MustNotSample {
        ground: MustNotSampleGround,
        note: String,
    },
    RefusedOrObstructed {
        refusal: RefusalKind,
        description: String,
    },
}

impl Outcome {
    pub fn is_lead(&self) -> bool {
        matches!(self, Outcome::Terminated { .. })
    }
}

/// A complete, valid sampling record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub id: LeadId,
    /// The unit sending the lead (移交单位): the sampling agency.
    pub sending_unit: String,
    /// 抽样单编号, when a sampling form was already numbered before sampling
    /// stopped. Format 2 on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_number: Option<String>,
    pub task: SpotCheckTask,
    pub business: Business,
    pub product: Product,
    pub nominal_producer: NominalProducer,
    pub samplers: [Sampler; 2],
    pub place: Place,
    pub started_at: DateTime<FixedOffset>,
    pub ended_at: Option<DateTime<FixedOffset>>,
    pub outcome: Outcome,
}

// ---------------------------------------------------------------------------
// Draft

/// What the form holds while it is being filled in. Saved as edited; nothing checked.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordDraft {
    pub sending_unit: String,
    pub sampling_number: String,
    pub task_year: Option<u16>,
    pub task_name: String,
    pub task_number: String,
    pub task_level: Option<TaskLevel>,
    pub task_document: String,
    pub product_category: String,
    pub business_name: String,
    pub business_uscc: String,
    pub business_address: String,
    pub business_person: String,
    pub business_phone: String,
    pub business_role: Option<BusinessRole>,
    /// The platform's name, for a shop on a platform.
    pub business_platform: String,
    pub product_name: String,
    pub product_brand: String,
    pub product_spec_model: String,
    pub product_batch: String,
    pub production_licence: String,
    pub ccc_certificate: String,
    /// True when the product shows no producer at all ("none").
    pub producer_none: bool,
    pub producer_name: String,
    pub producer_address: String,
    pub sampler1_name: String,
    pub sampler1_credential: String,
    pub sampler2_name: String,
    pub sampler2_credential: String,
    pub place_address: String,
    pub place_gps: Option<GeoPoint>,
    pub started_at: Option<DateTime<FixedOffset>>,
    pub ended_at: Option<DateTime<FixedOffset>>,
    pub outcome: Option<OutcomeKind>,
    pub grounds: Vec<Ground>,
    pub situation: String,
    pub must_not_sample: Option<MustNotSampleGround>,
    pub refusal: Option<RefusalKind>,
}

/// Which outcome the sampler picked on the form.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Terminated,
    MustNotSample,
    RefusedOrObstructed,
}

struct Checker {
    problems: Vec<FieldProblem>,
}

impl Checker {
    /// A required single-line field: trimmed, non-empty, bounded.
    fn required(&mut self, field: &str, label: &str, value: &str) -> String {
        let v = value.trim();
        if v.is_empty() {
            self.problems.push(FieldProblem::new(
                field,
                "required",
                format!("请填写{label}"),
            ));
        } else {
            self.bounded(field, label, v, MAX_LINE_CHARS);
        }
        v.to_string()
    }

    fn optional(&mut self, field: &str, label: &str, value: &str) -> Option<String> {
        let v = value.trim();
        if v.is_empty() {
            return None;
        }
        self.bounded(field, label, v, MAX_LINE_CHARS);
        Some(v.to_string())
    }

    fn bounded(&mut self, field: &str, label: &str, v: &str, max: usize) {
        self.problems
            .extend(crate::text::text_problems(field, label, v, max));
    }

    fn id<T>(&mut self, field: &str, r: Result<T, IdError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.problems
                    .push(FieldProblem::new(field, e.code(), e.to_string()));
                None
            }
        }
    }

    fn missing(&mut self, field: &str, message: &str) {
        self.problems
            .push(FieldProblem::new(field, "required", message));
    }
}

impl From<&Record> for RecordDraft {
    /// The draft a record was validated from, so a record received from elsewhere
    /// can be judged by exactly the rules the form applies.
    fn from(r: &Record) -> Self {
        let (outcome, grounds, situation, must_not_sample, refusal) = match &r.outcome {
            Outcome::Terminated { grounds, situation } => (
                OutcomeKind::Terminated,
                grounds.clone(),
                situation.clone(),
                None,
                None,
            ),
            Outcome::MustNotSample { ground, note } => (
                OutcomeKind::MustNotSample,
                Vec::new(),
                note.clone(),
                Some(*ground),
                None,
            ),
            Outcome::RefusedOrObstructed {
                refusal,
                description,
            } => (
                OutcomeKind::RefusedOrObstructed,
                Vec::new(),
                description.clone(),
                None,
                Some(*refusal),
            ),
        };
        let text = |o: &Option<String>| o.clone().unwrap_or_default();
        let p = &r.nominal_producer;
        RecordDraft {
            sending_unit: r.sending_unit.clone(),
            sampling_number: text(&r.sampling_number),
            task_year: Some(r.task.year),
            task_name: r.task.name.clone(),
            task_number: r.task.number.clone(),
            task_level: r.task.level,
            task_document: text(&r.task.document_number),
            product_category: r.task.product_category.clone(),
            business_name: r.business.name.clone(),
            business_uscc: r.business.uscc.as_str().to_string(),
            business_address: r.business.address.clone(),
            business_person: r.business.person_in_charge.clone(),
            business_phone: r.business.phone.clone(),
            business_role: Some(r.business.role),
            business_platform: text(&r.business.platform),
            product_name: r.product.name.clone(),
            product_brand: text(&r.product.brand),
            product_spec_model: text(&r.product.spec_model),
            product_batch: text(&r.product.batch_or_date),
            production_licence: r
                .product
                .production_licence
                .as_ref()
                .map(|l| l.as_str().to_string())
                .unwrap_or_default(),
            ccc_certificate: r
                .product
                .ccc_certificate
                .as_ref()
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            producer_none: p.name.is_none() && p.address.is_none(),
            producer_name: text(&p.name),
            producer_address: text(&p.address),
            sampler1_name: r.samplers[0].name.clone(),
            sampler1_credential: r.samplers[0].credential_no.clone(),
            sampler2_name: r.samplers[1].name.clone(),
            sampler2_credential: r.samplers[1].credential_no.clone(),
            place_address: r.place.address.clone(),
            place_gps: r.place.gps,
            started_at: Some(r.started_at),
            ended_at: r.ended_at,
            outcome: Some(outcome),
            grounds,
            situation,
            must_not_sample,
            refusal,
        }
    }
}

impl Record {
    /// Every problem the form's rules find in this record, as if it had been typed
    /// in: the bureau's check of a record it received from a tablet. A record that
    /// passes but is not in the form's normal shape (untrimmed text, unsorted or
    /// repeated grounds) is refused too: only the tablet's own output is accepted.
    ///
    /// `format` is the manifest's: a format-1 record (sealed by a tablet before
    /// 任务来源, 抽样单编号 and the platform's name were on the form) is judged
    /// by format 1's rules and must not carry those fields.
    pub fn problems(&self, format: u32) -> Vec<FieldProblem> {
        match RecordDraft::from(self).validate_format(self.id, format) {
            Err(problems) => problems,
            Ok(normal) if normal != *self => vec![FieldProblem::new(
                "record",
                "not_normalised",
                "记录内容未按表单规则整理（如首尾空格、重复或未排序的情形），请在平板上重新生成",
            )],
            Ok(_) => Vec::new(),
        }
    }
}

impl RecordDraft {
    /// Checks every field and builds the record, or returns every problem found:
    /// the rules of the current [`MANIFEST_FORMAT`], which the tablet seals with.
    pub fn validate(&self, id: LeadId) -> Result<Record, Vec<FieldProblem>> {
        self.validate_format(id, MANIFEST_FORMAT)
    }

    /// [`RecordDraft::validate`] by the rules of manifest `format`: format 1 has
    /// no 任务来源, 抽样单编号 or platform name (they are dropped), format 2
    /// requires 任务来源 and, for a shop on a platform, the platform's name.
    fn validate_format(&self, id: LeadId, format: u32) -> Result<Record, Vec<FieldProblem>> {
        let since_2 = format >= 2;
        let mut c = Checker {
            problems: Vec::new(),
        };
        let d = self;

        let task_year = match d.task_year {
            Some(y) if (2000..=2100).contains(&y) => Some(y),
            Some(_) => {
                c.problems.push(FieldProblem::new(
                    "task_year",
                    "out_of_range",
                    "抽查任务年度应在 2000 至 2100 之间",
                ));
                None
            }
            None => {
                c.missing("task_year", "请填写抽查任务年度");
                None
            }
        };
        let sending_unit = c.required("sending_unit", "移交单位", &d.sending_unit);
        let task_name = c.required("task_name", "抽查任务名称", &d.task_name);
        let task_number = c.required("task_number", "抽查任务编号", &d.task_number);
        let task_level = d.task_level.filter(|_| since_2);
        if since_2 && task_level.is_none() {
            c.missing(
                "task_level",
                "请选择任务来源（市场监管总局、市局或区县局下达）",
            );
        }
        let task_document = if since_2 {
            c.optional("task_document", "任务文号", &d.task_document)
        } else {
            None
        };
        let sampling_number = if since_2 {
            c.optional("sampling_number", "抽样单编号", &d.sampling_number)
        } else {
            None
        };
        let product_category = c.required("product_category", "产品类别", &d.product_category);

        let business_name = c.required("business_name", "被抽样单位名称", &d.business_name);
        let uscc = if d.business_uscc.trim().is_empty() {
            c.missing("business_uscc", "请填写统一社会信用代码");
            None
        } else {
            c.id("business_uscc", Uscc::parse(&d.business_uscc))
        };
        let business_address =
            c.required("business_address", "被抽样单位地址", &d.business_address);
        let business_person = c.required("business_person", "负责人", &d.business_person);
        let business_phone = c.required("business_phone", "联系电话", &d.business_phone);
        if !business_phone.is_empty()
            && !business_phone
                .chars()
                .all(|ch| ch.is_ascii_digit() || "+-() ".contains(ch))
        {
            c.problems.push(FieldProblem::new(
                "business_phone",
                "phone_format",
                "联系电话只能包含数字、空格和 + - ( )",
            ));
        }
        if d.business_role.is_none() {
            c.missing(
                "business_role",
                "请选择被抽样单位类型（生产者、销售者或电子商务平台内经营者）",
            );
        }
        // The platform's name belongs to a shop on a platform only.
        let platform = if since_2 && d.business_role == Some(BusinessRole::EcommerceShop) {
            let p = c.optional(
                "business_platform",
                "电子商务平台名称",
                &d.business_platform,
            );
            if p.is_none() {
                c.missing(
                    "business_platform",
                    "电子商务平台内经营者须填写所在电子商务平台的名称",
                );
            }
            p
        } else {
            None
        };

        let product_name = c.required("product_name", "产品名称", &d.product_name);
        let brand = c.optional("product_brand", "商标", &d.product_brand);
        let spec_model = c.optional("product_spec_model", "规格型号", &d.product_spec_model);
        let batch = c.optional("product_batch", "生产日期或批号", &d.product_batch);
        let licence = if d.production_licence.trim().is_empty() {
            None
        } else {
            c.id(
                "production_licence",
                ProductionLicence::parse(&d.production_licence),
            )
        };
        let ccc = if d.ccc_certificate.trim().is_empty() {
            None
        } else {
            c.id("ccc_certificate", CccCertificate::parse(&d.ccc_certificate))
        };

        let producer = if d.producer_none {
            NominalProducer {
                name: None,
                address: None,
            }
        } else {
            let name = c.optional("producer_name", "标称生产厂家名称", &d.producer_name);
            let address = c.optional("producer_address", "标称生产厂家地址", &d.producer_address);
            if name.is_none() && address.is_none() {
                c.missing(
                    "producer_name",
                    "请照产品标签填写标称生产厂家名称和地址；标签上没有时请勾选“无”",
                );
            }
            NominalProducer { name, address }
        };

        let s1 = Sampler {
            name: c.required("sampler1_name", "第一抽样人姓名", &d.sampler1_name),
            credential_no: c.required(
                "sampler1_credential",
                "第一抽样人证件号",
                &d.sampler1_credential,
            ),
        };
        let s2 = Sampler {
            name: c.required("sampler2_name", "第二抽样人姓名", &d.sampler2_name),
            credential_no: c.required(
                "sampler2_credential",
                "第二抽样人证件号",
                &d.sampler2_credential,
            ),
        };
        if !s1.credential_no.is_empty() && s1.credential_no == s2.credential_no {
            c.problems.push(FieldProblem::new(
                "sampler2_credential",
                "same_sampler",
                "抽样须由两名不同的抽样人员进行，两人证件号不能相同",
            ));
        }

        let place_address = c.required("place_address", "抽样地点", &d.place_address);
        let started_at = d.started_at;
        if started_at.is_none() {
            c.missing("started_at", "请填写抽样时间");
        }
        if let (Some(s), Some(e)) = (d.started_at, d.ended_at) {
            if e < s {
                c.problems.push(FieldProblem::new(
                    "ended_at",
                    "ends_before_start",
                    "结束时间早于开始时间，请核对",
                ));
            }
        }

        let outcome = match d.outcome {
            None => {
                c.missing(
                    "outcome",
                    "请选择抽样结果：终止抽样、不得抽样或拒绝/阻碍抽样",
                );
                None
            }
            Some(OutcomeKind::Terminated) => {
                let mut grounds = d.grounds.clone();
                for g in &mut grounds {
                    if let Ground::Other { text } = g {
                        *text = text.trim().to_string();
                        if text.is_empty() {
                            c.missing("grounds", "选择“其他”情形时请写明具体情形");
                        } else {
                            c.bounded("grounds", "其他情形说明", text, MAX_LINE_CHARS);
                        }
                    }
                }
                grounds.sort();
                grounds.dedup();
                if grounds.is_empty() {
                    c.missing("grounds", "终止抽样须至少勾选一种涉嫌情形");
                }
                if grounds.contains(&Ground::NoFactoryName) && producer.name.is_some() {
                    c.problems.push(FieldProblem::new(
                        "grounds",
                        "contradiction",
                        "已勾选“无厂名”，但又填写了标称生产厂家名称，请核对",
                    ));
                }
                if grounds.contains(&Ground::NoFactoryAddress) && producer.address.is_some() {
                    c.problems.push(FieldProblem::new(
                        "grounds",
                        "contradiction",
                        "已勾选“无厂址”，但又填写了标称生产厂家地址，请核对",
                    ));
                }
                let situation = d.situation.trim().to_string();
                if situation.is_empty() {
                    c.missing("situation", "请描述现场情况");
                } else {
                    c.bounded("situation", "现场情况", &situation, MAX_SITUATION_CHARS);
                }
                Some(Outcome::Terminated { grounds, situation })
            }
            Some(OutcomeKind::MustNotSample) => {
                let note = d.situation.trim().to_string();
                c.bounded("situation", "情况说明", &note, MAX_SITUATION_CHARS);
                match d.must_not_sample {
                    Some(ground) => Some(Outcome::MustNotSample { ground, note }),
                    None => {
                        c.missing("must_not_sample", "请选择不得抽样的原因");
                        None
                    }
                }
            }
            Some(OutcomeKind::RefusedOrObstructed) => {
                let description = d.situation.trim().to_string();
                if description.is_empty() {
                    c.missing("situation", "请描述拒绝或阻碍抽样的经过");
                } else {
                    c.bounded("situation", "情况说明", &description, MAX_SITUATION_CHARS);
                }
                match d.refusal {
                    Some(refusal) => Some(Outcome::RefusedOrObstructed {
                        refusal,
                        description,
                    }),
                    None => {
                        c.missing("refusal", "请选择是拒绝抽样还是阻碍抽样");
                        None
                    }
                }
            }
        };

        if !c.problems.is_empty() {
            return Err(c.problems);
        }
        // Every None above pushed a problem, so these are all present here.
        let (Some(year), Some(uscc), Some(role), Some(started_at), Some(outcome)) =
            (task_year, uscc, d.business_role, started_at, outcome)
        else {
            unreachable!("a missing value always records a problem")
        };
        Ok(Record {
            id,
            sending_unit,
            sampling_number,
            task: SpotCheckTask {
                year,
                name: task_name,
                number: task_number,
                product_category,
                level: task_level,
                document_number: task_document,
            },
            business: Business {
                name: business_name,
                uscc,
                address: business_address,
                person_in_charge: business_person,
                phone: business_phone,
                role,
                platform,
            },
            product: Product {
                name: product_name,
                brand,
                spec_model,
                batch_or_date: batch,
                production_licence: licence,
                ccc_certificate: ccc,
            },
            nominal_producer: producer,
            samplers: [s1, s2],
            place: Place {
                address: place_address,
                gps: d.place_gps,
            },
            started_at,
            ended_at: d.ended_at,
            outcome,
        })
    }
}
