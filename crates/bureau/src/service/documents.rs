//! 后处理 documents (附件1 to 附件5): filled from the case, the result and the
//! bureau's settings, previewed, then issued: numbered per issuer and year,
//! printed with the QR code that binds the paper to the record, the PDF kept in
//! the blob store by its hash, never changed. A correction is a new document that
//! supersedes the old one, with its reason.

use chrono::{Datelike, NaiveDate};
use fieldlead_domain::inspection::parse_result_date;
use fieldlead_domain::postprocess::{Document, Recipient};
use fieldlead_domain::text::{check_text, FieldProblem};
use fieldlead_domain::time::china_date;
use fieldlead_domain::{CaseId, DocumentId, ErrorCode};
use fieldlead_forms::{
    notice_data_sha256, FormNumberPattern, Forms, FormsConfig, NoticeContact, NoticeData,
    NoticeProduct, NoticeSeal, RenderedForm,
};
use serde::Deserialize;

use super::*;
use crate::config::IssuerSettings;
use crate::model::{IssuedDocument, PostCase};
use crate::storage::DocumentInsert;

/// Longest free text a document takes (不予复检的理由, 改正内容及要求).
pub const MAX_DOCUMENT_TEXT_CHARS: usize = 2000;
/// Longest name, phone or address on a document.
const MAX_LINE_CHARS: usize = 200;

/// What the officer fills in or changes before issuing; every field text, as
/// posted. Empty fields take the case's or the settings' values.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DocumentForm {
    /// The document's wire name, e.g. `result_notice`.
    pub document: String,
    /// `business` or `producer`.
    pub recipient: String,
    /// 落款日期; today when empty.
    pub date: String,
    pub addressee: String,
    /// 附件2/3: the institute the bureau commissioned.
    pub institute: String,
    /// 附件2/4: the re-inspection agency.
    pub agency_name: String,
    pub agency_person: String,
    pub agency_phone: String,
    pub agency_address: String,
    /// 附件4: when the re-inspection was commissioned.
    pub commissioned_on: String,
    /// 附件3.
    pub refusal_grounds: String,
    /// 附件5.
    pub rectification: String,
    pub cc: String,
    /// The id of the issued document this one corrects.
    pub supersedes: String,
    /// Why it is corrected.
    pub correction: String,
}

fn line(field: &str, label: &str, value: &str) -> Result<Option<String>> {
    Ok(check_text(field, label, value, MAX_LINE_CHARS, false)?)
}

fn text(field: &str, label: &str, value: &str) -> Result<Option<String>> {
    Ok(check_text(
        field,
        label,
        value,
        MAX_DOCUMENT_TEXT_CHARS,
        false,
    )?)
}

/// The issuer of a document: the city or the case's district.
pub(super) struct Issuer {
    key: String,
    settings: IssuerSettings,
    pub(super) name: String,
    short: String,
}

impl Bureau {
    /// The renderer, with the data folder's own templates (`templates/`) when the
    /// bureau has copied and edited them.
    pub fn forms(&self) -> Result<Forms> {
        let dir = self.paths.root().join("templates");
        Ok(Forms::new(&FormsConfig {
            template_dir: dir.is_dir().then_some(dir),
            ..FormsConfig::default()
        })?)
    }

    fn issuer(&self, case: &PostCase, by_city: bool) -> Issuer {
        let docs = &self.config.documents;
        if by_city {
            let s = docs.city.clone();
            return Issuer {
                key: "city".into(),
                name: s
                    .issuer
                    .clone()
                    .unwrap_or_else(|| "重庆市市场监督管理局".into()),
                short: s.short.clone().unwrap_or_else(|| "渝".into()),
                settings: s,
            };
        }
        self.district_bureau(&case.district)
    }

    /// A district bureau as its documents and lists name it: `[documents.districts]`
    /// first, else 重庆市{区县名}市场监督管理局.
    pub(super) fn district_bureau(&self, d: &District) -> Issuer {
        let s = self
            .config
            .documents
            .districts
            .get(&d.code)
            .cloned()
            .unwrap_or_default();
        let (name, short) = district_issuer(&d.name);
        Issuer {
            key: d.code.clone(),
            name: s.issuer.clone().unwrap_or(name),
            short: s.short.clone().unwrap_or(short),
            settings: s,
        }
    }

    /// Whether `user` may issue `document` on `to` for this case now: the
    /// document's issuer (the city or the district's 后处理 officer), and either
    /// the case calls for it or it corrects one issued before.
    fn may_issue(
        &self,
        user: &User,
        case: &PostCase,
        document: Document,
        to: Recipient,
        supersedes: Option<&IssuedDocument>,
    ) -> Result<()> {
        let by_city = document.by_city(to);
        let allowed = match user.role {
            Role::CityAdmin => by_city,
            Role::Officer => !by_city,
            _ => false,
        };
        if !allowed {
            return Err(BureauError::Forbidden);
        }
        match supersedes {
            Some(old) => {
                if old.case_id != case.id || old.document != document || old.recipient != to {
                    return Err(BureauError::invalid(
                        ErrorCode::CaseRule,
                        "更正的文书应与原文书为同一案件、同一文书和同一送达对象",
                    ));
                }
                if old.superseded_by.is_some() {
                    return Err(BureauError::State(format!(
                        "{} 已被更正，请更正最新的文书",
                        old.number
                    )));
                }
            }
            None => {
                if let Some(d) = case.documents.iter().find(|d| {
                    d.document == document && d.recipient == to && d.superseded_by.is_none()
                }) {
                    return Err(BureauError::State(format!(
                        "{}（送达{}）已签发为 {}，如需修改请更正该文书",
                        document.label_zh(),
                        to.label_zh(),
                        d.number
                    )));
                }
                if !case.case.documents_due().contains(&(document, to)) {
                    return Err(BureauError::State(format!(
                        "案件当前为“{}”，不需要制作{}（送达{}）",
                        case.case.state.label_zh(),
                        document.label_zh(),
                        to.label_zh()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The document the form describes, filled from the case and the settings.
    fn notice_data(
        &self,
        case: &PostCase,
        document: Document,
        to: Recipient,
        form: &DocumentForm,
        today: NaiveDate,
    ) -> Result<NoticeData> {
        let issuer = self.issuer(case, document.by_city(to));
        let r = &case.result;
        let date = match form.date.trim() {
            "" => today,
            d => parse_result_date(d).ok_or_else(|| {
                FieldProblem::new("date", "case_date", "落款日期应为日期，例如 2026-03-09")
            })?,
        };
        if date > today {
            return Err(FieldProblem::new("date", "case_date", "落款日期不能晚于今天").into());
        }
        let addressee = match line("addressee", "受送达人", &form.addressee)? {
            Some(a) => a,
            None => match to {
                Recipient::Business => r.business_name.clone(),
                Recipient::Producer => r.nominal_producer.clone().unwrap_or_default(),
            },
        };
        let agency_name = line("agency_name", "复检机构名称", &form.agency_name)?;
        let agency = NoticeContact {
            name: agency_name.clone(),
            person: line("agency_person", "复检机构联系人", &form.agency_person)?,
            phone: line("agency_phone", "复检机构联系电话", &form.agency_phone)?,
            address: line("agency_address", "复检机构联系地址", &form.agency_address)?,
            postcode: None,
        };
        let commissioned_on = match form.commissioned_on.trim() {
            "" => None,
            d => Some(parse_result_date(d).ok_or_else(|| {
                FieldProblem::new(
                    "commissioned_on",
                    "case_date",
                    "委托复检日期应为日期，例如 2026-03-09",
                )
            })?),
        };
        Ok(NoticeData {
            document,
            issuer: issuer.name,
            addressee,
            task: r.task.clone(),
            year: r.sampled_on.year(),
            product: NoticeProduct {
                product_name: r.product_name.clone(),
                brand: r.brand.clone(),
                spec_model: r.spec_model.clone(),
                batch: r.batch.clone(),
                business_name: r.business_name.clone(),
                business_kind: r.business_kind,
                producer_name: r.nominal_producer.clone(),
                platform: r.platform.clone(),
                report_no: r.report_no.clone(),
                failed_items: r.failed_items.clone(),
            },
            verdict: r.verdict,
            institute: line("institute", "检验机构", &form.institute)?
                .or_else(|| self.config.documents.institute.clone()),
            agency: agency_name.is_some().then_some(agency),
            commissioned_on,
            refusal_grounds: text("refusal_grounds", "不予复检的理由", &form.refusal_grounds)?,
            rectification: text("rectification", "改正内容及要求", &form.rectification)?,
            anchor: self.config.rectification_anchor,
            contact: issuer.settings.contact.clone(),
            appeal: issuer.settings.appeal.clone(),
            cc: line("cc", "抄送", &form.cc)?.or(issuer.settings.cc.clone()),
            date,
        })
    }

    fn document_request(
        &self,
        user: &User,
        id: CaseId,
        form: &DocumentForm,
    ) -> Result<(PostCase, NoticeData, Recipient, Option<IssuedDocument>)> {
        let case = self.case_for(user, id)?;
        let document: Document = form
            .document
            .parse()
            .map_err(|_| FieldProblem::new("document", "required", "请选择文书"))?;
        let to = form_recipient(form)?;
        let supersedes = match form.supersedes.trim() {
            "" => None,
            s => {
                let doc_id: DocumentId = s
                    .parse()
                    .map_err(|_| BureauError::NotFound { what: "文书" })?;
                Some(
                    case.documents
                        .iter()
                        .find(|d| d.id == doc_id)
                        .cloned()
                        .ok_or(BureauError::NotFound { what: "文书" })?,
                )
            }
        };
        self.may_issue(user, &case, document, to, supersedes.as_ref())?;
        let data = self.notice_data(&case, document, to, form, china_date(now()))?;
        Ok((case, data, to, supersedes))
    }

    /// The document as it would print, watermarked 预览 and unnumbered.
    pub fn preview_document(
        &self,
        user: &User,
        id: CaseId,
        form: &DocumentForm,
    ) -> Result<(NoticeData, RenderedForm)> {
        let (_, data, _, _) = self.document_request(user, id, form)?;
        let rendered = self.forms()?.notice(&data, &NoticeSeal::Preview)?;
        Ok((data, rendered))
    }

    /// Issues the document: numbers it, prints it with its QR code, keeps the PDF
    /// by its hash and records it with its audit entry. Never changed afterwards.
    pub fn issue_document(
        &self,
        user: &User,
        id: CaseId,
        form: &DocumentForm,
    ) -> Result<IssuedDocument> {
        let (case, data, recipient, supersedes) = self.document_request(user, id, form)?;
        let correction = match &supersedes {
            Some(_) => Some(
                text("correction", "更正原因", &form.correction)?
                    .ok_or_else(|| FieldProblem::new("correction", "required", "请填写更正原因"))?,
            ),
            None => None,
        };
        let issuer = self.issuer(&case, data.document.by_city(recipient));
        let pattern = FormNumberPattern::parse(&self.config.documents.number_pattern)?;
        let year = data.date.year();
        let forms = self.forms()?;
        let data_sha256 = notice_data_sha256(&data);
        for _ in 0..5 {
            let seq = self.storage.next_document_seq(&issuer.key, year)?;
            let number = pattern.format(&issuer.short, year as u16, seq)?;
            let doc_id = DocumentId::new();
            let rendered = forms.notice(
                &data,
                &NoticeSeal::Issued {
                    number: number.clone(),
                    document_id: doc_id.to_string(),
                    data_sha256,
                },
            )?;
            let pdf_sha256 = self.blobs.put(&rendered.pdf)?;
            let at = now();
            let doc = IssuedDocument {
                id: doc_id,
                case_id: case.id,
                document: data.document,
                recipient,
                issuer_key: issuer.key.clone(),
                year,
                seq,
                number,
                data: data.clone(),
                data_sha256,
                pdf_sha256,
                supersedes: supersedes.as_ref().map(|d| d.id),
                correction: correction.clone(),
                superseded_by: None,
                issued_at: at,
                issued_by: user.username.clone(),
            };
            let entry = AuditEntry {
                at,
                ..audit(
                    &Actor::User(user.username.clone()),
                    Some(case.district.id),
                    if supersedes.is_some() {
                        "document_corrected"
                    } else {
                        "document_issued"
                    },
                    format!("case:{}", case.id),
                    supersedes
                        .as_ref()
                        .map(|d| serde_json::json!({"document_id": d.id, "number": d.number})),
                    Some(serde_json::json!({
                        "document_id": doc.id,
                        "document": doc.document,
                        "recipient": doc.recipient,
                        "number": doc.number,
                        "data_sha256": doc.data_sha256,
                        "pdf_sha256": doc.pdf_sha256,
                        "correction": doc.correction,
                    })),
                )
            };
            match self.storage.insert_document(&doc, entry)? {
                DocumentInsert::Inserted => return Ok(doc),
                DocumentInsert::NumberTaken => continue,
                DocumentInsert::AlreadySuperseded => {
                    return Err(BureauError::State(
                        "该文书刚被他人更正，请刷新后重试".into(),
                    ))
                }
                DocumentInsert::AlreadyIssued => {
                    return Err(BureauError::State(
                        "该文书刚被他人签发，请刷新后查看；如需修改请更正该文书".into(),
                    ))
                }
            }
        }
        Err(BureauError::Concurrent)
    }

    /// An issued document the user may see, with its PDF.
    pub fn document_pdf(&self, user: &User, id: DocumentId) -> Result<(IssuedDocument, Vec<u8>)> {
        let doc = self
            .storage
            .document(id)?
            .ok_or(BureauError::NotFound { what: "文书" })?;
        // Through the case: another district's documents stay unknown.
        self.case_for(user, doc.case_id)
            .map_err(|_| BureauError::NotFound { what: "文书" })?;
        let mut pdf = Vec::new();
        std::io::Read::read_to_end(&mut self.blobs.open(&doc.pdf_sha256)?, &mut pdf).map_err(
            |e| BureauError::Internal(format!("读取文书 {} 的 PDF 失败：{e}", doc.number)),
        )?;
        Ok((doc, pdf))
    }
}

fn form_recipient(form: &DocumentForm) -> Result<Recipient> {
    Ok(form
        .recipient
        .parse()
        .map_err(|_| FieldProblem::new("recipient", "required", "请选择送达对象"))?)
}

/// A district bureau's full name and its short name for document numbers, from
/// the district's name as registered: 渝中区 or 渝中区市场监督管理局 gives
/// 重庆市渝中区市场监督管理局 and 渝中.
pub(crate) fn district_issuer(name: &str) -> (String, String) {
    let place = name.trim().trim_end_matches("市场监督管理局");
    let place = place.strip_prefix("重庆市").unwrap_or(place);
    let short = place
        .strip_suffix('区')
        .or_else(|| place.strip_suffix('县'))
        .unwrap_or(place);
    (
        format!("重庆市{place}市场监督管理局"),
        if short.is_empty() { place } else { short }.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::district_issuer;

    #[test]
    fn a_district_name_gives_its_bureau_and_short_name() {
        for name in [
            "渝中区",
            "渝中区市场监督管理局",
            "重庆市渝中区市场监督管理局",
        ] {
            assert_eq!(
                district_issuer(name),
                ("重庆市渝中区市场监督管理局".into(), "渝中".into())
            );
        }
        assert_eq!(district_issuer("城口县").1, "城口");
        assert_eq!(district_issuer("两江新区").1, "两江新");
    }
}
