//! 后处理 pages: the deadline board (what is due, by when, under which clause)
//! and a case's page with its result, deadlines, history and the forms of the
//! steps its state allows to the viewer (the district's or the city's).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use fieldlead_domain::postprocess::{
    CaseStep, CaseStepForm, Document, Recipient, ServiceDetails, ServiceMethod, ServiceProof,
};
use fieldlead_domain::text::FieldProblem;
use fieldlead_domain::CaseId;
use minijinja::context;

use super::{render, user_ctx, PageResult, Posted, Session};
use crate::api::blocking;
use crate::error::BureauError;
use crate::model::Role;
use crate::service::Bureau;

fn case_id(s: &str) -> Result<CaseId, BureauError> {
    s.parse()
        .map_err(|_| BureauError::MalformedId("案件编号应为 UUID".into()))
}

/// A step's form: what it is called on the page and which fields it asks for.
/// Who records it (the district or the city) is the domain's rule,
/// [`CaseStep::by_city`].
struct StepForm {
    action: &'static str,
    label: &'static str,
    fields: &'static [&'static str],
}

const STEP_FORMS: &[StepForm] = &[
    StepForm {
        action: "result_served",
        label: "登记结果通知书（附件1）送达",
        fields: &["on"],
    },
    StepForm {
        action: "objection_period_ended",
        label: "确认异议期届满、无异议",
        fields: &["on"],
    },
    StepForm {
        action: "objection_lodged",
        label: "登记书面异议和复检申请",
        fields: &["party", "on"],
    },
    StepForm {
        action: "reinspection_granted",
        label: "准予复检：复检机构确定通知书（附件2）送达",
        fields: &["served"],
    },
    StepForm {
        action: "reinspection_refused",
        label: "不予复检：不予复检通知书（附件3）送达",
        fields: &["served"],
    },
    StepForm {
        action: "applicant_appeared",
        label: "申请人已到复检机构办理手续",
        fields: &["on"],
    },
    StepForm {
        action: "reinspection_abandoned",
        label: "逾期未办理，视为放弃复检",
        fields: &["on"],
    },
    StepForm {
        action: "reinspection_result",
        label: "复检结果通知书（附件4）送达",
        fields: &["verdict", "served"],
    },
    StepForm {
        action: "rectification_ordered",
        label: "责令改正通知书（附件5）下达和送达",
        fields: &["ordered", "served"],
    },
    StepForm {
        action: "rechecked",
        label: "登记复查结果",
        fields: &["on", "passed"],
    },
    StepForm {
        action: "published",
        label: "登记市局公告",
        fields: &["on"],
    },
    StepForm {
        action: "suspension_ordered",
        label: "责令停业，限期整顿",
        fields: &["ordered", "until"],
    },
];

#[derive(serde::Deserialize)]
pub(crate) struct BoardQuery {
    imported: Option<usize>,
    /// `1`: only the cases assigned to the viewer.
    mine: Option<u8>,
    /// The city's view of one district (its code).
    district: Option<String>,
}

pub(crate) async fn board(
    State(app): State<Arc<Bureau>>,
    s: Session,
    axum::extract::Query(q): axum::extract::Query<BoardQuery>,
) -> PageResult {
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let mine = q.mine == Some(1);
    let district = q.district.clone().filter(|d| !d.trim().is_empty());
    let (board, districts) = blocking(move || {
        let only = mine.then(|| user.username.clone());
        let board = a.deadline_board_of(&user, only.as_deref(), district.as_deref())?;
        let districts = match user.role {
            Role::CityAdmin => a.storage().districts()?,
            _ => Vec::new(),
        };
        Ok((board, districts))
    })
    .await?;
    let overdue = board.overdue();
    Ok(render(
        "cases.html",
        context! {
            me => user_ctx(&s), board => board, overdue => overdue, imported => q.imported,
            mine => mine, districts => districts, district => q.district,
        },
    )?
    .into_response())
}

/// Whether the city records this step (for `party`, when it names one), asked of
/// the domain with the step as the form would post it.
fn recorded_by_city(action: &str, party: Option<Recipient>) -> bool {
    let day = "2026-01-05".to_string();
    CaseStepForm {
        step: action.into(),
        party: party.unwrap_or(Recipient::Business).as_str().into(),
        on: day.clone(),
        served: day.clone(),
        ordered: day.clone(),
        until: day,
        verdict: "fail".into(),
        passed: "no".into(),
    }
    .step()
    .is_ok_and(|step| step.by_city())
}

/// The whole board as .xlsx (one export at a time, as every list export).
pub(crate) async fn board_xlsx(State(app): State<Arc<Bureau>>, s: Session) -> PageResult {
    let slot = app.export_slot()?;
    let a = Arc::clone(&app);
    let bytes = blocking(move || {
        let _slot = slot;
        a.deadline_board_xlsx(&s.user)
    })
    .await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"deadlines.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

pub(crate) async fn case_page(
    State(app): State<Arc<Bureau>>,
    s: Session,
    Path(id): Path<String>,
) -> PageResult {
    let id = case_id(&id)?;
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let (found, deadlines, history, officers) = blocking(move || {
        let found = a.case_for(&user, id)?;
        let deadlines = found
            .case
            .deadlines(a.calendar(), a.config().rectification_anchor)
            .map_err(|e| e.to_string());
        let history = a.audit_for(&user, Some(&format!("case:{id}")))?;
        let officers = a.officers_of(found.district.id)?;
        Ok((found, deadlines, history, officers))
    })
    .await?;
    let city = s.user.role == Role::CityAdmin;
    let issues = |document: Document, to: Recipient| match s.user.role {
        Role::CityAdmin => document.by_city(to),
        Role::Officer => !document.by_city(to),
        _ => false,
    };
    let documents: Vec<minijinja::Value> = found
        .documents
        .iter()
        .map(|d| {
            context! {
                id => d.id, number => d.number, title => d.document.label_zh(),
                document => d.document.as_str(), recipient => d.recipient.as_str(),
                recipient_label => d.recipient.label_zh(), date => d.data.date,
                issued_by => d.issued_by, issued_at => d.issued_at,
                superseded_by => d.superseded_by, correction => d.correction,
                may_correct => d.superseded_by.is_none() && issues(d.document, d.recipient),
                fields => document_fields(d.document),
            }
        })
        .collect();
    let due_documents: Vec<minijinja::Value> = found
        .case
        .documents_due()
        .into_iter()
        .filter(|(d, to)| issues(*d, *to))
        .map(|(d, to)| {
            context! {
                document => d.as_str(), title => d.label_zh(), recipient => to.as_str(),
                recipient_label => to.label_zh(), fields => document_fields(d),
            }
        })
        .collect();
    let officers: Vec<minijinja::Value> = officers
        .into_iter()
        .map(|u| context! { username => u.username, name => u.display_name })
        .collect();
    let enforcement = found.enforcement.as_ref().map(|l| {
        context! {
            transferred_on => l.transfer.transferred_on,
            answer => l.answer.as_ref().map(|a| a.label_zh()),
            answer_detail => l.answer,
        }
    });
    let services: Vec<minijinja::Value> = found
        .services
        .iter()
        .map(|v| {
            context! {
                document => v.document.label_zh(), recipient => v.recipient.label_zh(),
                served_on => v.served_on.to_string(), method => v.details.method.label_zh(),
                by => v.details.by,
                proof => match &v.details.proof {
                    ServiceProof::Scan { sha256 } => format!("扫描件 SHA-256 {}", sha256.short()),
                    ServiceProof::Tracking { number } => format!("邮寄单号 {number}"),
                },
                recorded_by => v.recorded_by,
                issued => v.issued.and_then(|id| found.documents.iter().find(|d| d.id == id))
                    .map(|d| context! { id => d.id, number => d.number }),
            }
        })
        .collect();
    let case = &found.case;
    let mut steps: Vec<minijinja::Value> = Vec::new();
    for f in case
        .state
        .next_steps()
        .iter()
        .filter_map(|action| STEP_FORMS.iter().find(|f| f.action == *action))
    {
        // 附件1 gets one form per party still to be served, as the district serves
        // the business and the city the producer.
        let parties: Vec<Option<Recipient>> = if f.action == "result_served" {
            [
                (Recipient::Business, true, case.served_business),
                (
                    Recipient::Producer,
                    case.serve_producer,
                    case.served_producer,
                ),
            ]
            .into_iter()
            .filter(|(_, due, served)| *due && served.is_none())
            .map(|(r, ..)| Some(r))
            .collect()
        } else {
            vec![None]
        };
        for party in parties {
            let by_city = recorded_by_city(f.action, party);
            steps.push(context! {
                action => f.action, label => f.label, fields => f.fields,
                party => party.map(|p| p.as_str()), party_label => party.map(|p| p.label_zh()),
                mine => by_city == city && matches!(s.user.role, Role::Officer | Role::CityAdmin),
                serves => CaseStep::SERVING.contains(&f.action),
                by => if by_city { "市局" } else { "区县局" },
            });
        }
    }
    let (deadlines, calendar_problem) = match deadlines {
        Ok(d) => (d, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    Ok(render(
        "case.html",
        context! {
            me => user_ctx(&s), case => found.case, result => found.result,
            id => found.id, district => found.district, state_label => found.case.state.label_zh(),
            deadlines => deadlines, calendar_problem => calendar_problem, steps => steps,
            history => history, business_kind => found.result.business_kind.label_zh(),
            services => services, documents => documents, due_documents => due_documents,
            officers => officers, assignee => found.assignee, reports => found.reports,
            enforcement => enforcement,
            may_assign => matches!(s.user.role, Role::Officer | Role::CityAdmin),
            report_kinds => [("first", "检验报告"), ("reinspection", "复检报告")],
        },
    )?
    .into_response())
}

/// The fields a document's form asks for beyond 落款日期 and the addressee.
fn document_fields(d: Document) -> &'static [&'static str] {
    match d {
        Document::ResultNotice => &["cc"],
        Document::ReinspectionAgency => &["institute", "agency"],
        Document::NoReinspection => &["institute", "refusal_grounds"],
        Document::ReinspectionResult => &["agency", "commissioned_on"],
        Document::RectificationOrder => &["rectification"],
    }
}

/// One result typed on the board page (单条录入), checked by the same rules as
/// a row of an imported list; posted with each field named as the list's column.
pub(crate) async fn enter(
    State(app): State<Arc<Bureau>>,
    Posted(s, fields): Posted<std::collections::HashMap<String, String>>,
) -> PageResult {
    let header: Vec<String> = fieldlead_domain::inspection::result_columns()
        .map(|(name, _)| name.to_string())
        .collect();
    let row: Vec<String> = header
        .iter()
        .map(|name| fields.get(name).cloned().unwrap_or_default())
        .collect();
    let district = fields
        .get("district")
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    let results = match fieldlead_domain::inspection::results_from_table(&header, &[row]) {
        Ok(r) => r,
        Err(problems) => {
            let page = render(
                "cases_import.html",
                context! {
                    me => user_ctx(&s), file_name => "单条录入",
                    message => format!("有{}处错误，未录入", problems.len()),
                    problems => problems, single => true,
                },
            )?;
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let a = Arc::clone(&app);
    let ids = blocking(move || a.import_results(&s.user, district.as_deref(), results)).await?;
    match ids.first() {
        Some(id) => Ok(Redirect::to(&format!("/cases/{id}")).into_response()),
        None => Ok(Redirect::to("/cases").into_response()),
    }
}

/// A step posted from a case page (multipart: the step's fields, its 送达
/// details when it serves a document, and the scan proving it).
pub(crate) async fn step(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    s: Session,
    multipart: axum::extract::Multipart,
) -> PageResult {
    let id = case_id(&id)?;
    let (fields, scan) = read_multipart(multipart, "service_scan").await?;
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    if !crate::secrets::constant_time_eq(s.csrf.as_bytes(), field("csrf").as_bytes()) {
        return Err(BureauError::Csrf.into());
    }
    let form = CaseStepForm {
        step: field("step"),
        on: field("on"),
        party: field("party"),
        served: field("served"),
        ordered: field("ordered"),
        until: field("until"),
        verdict: field("verdict"),
        passed: field("passed"),
    };
    let step = form.step()?;
    let method = field("service_method");
    let (by, tracking) = (field("service_by"), field("service_tracking"));
    let a = Arc::clone(&app);
    blocking(move || {
        let service = if method.is_empty() {
            None
        } else {
            let method = method
                .parse::<ServiceMethod>()
                .map_err(|_| FieldProblem::new("service_method", "required", "请选择送达方式"))?;
            let proof = match scan.filter(|b| !b.is_empty()) {
                Some(bytes) => ServiceProof::Scan {
                    sha256: a.store_service_scan(&bytes)?,
                },
                None if !tracking.trim().is_empty() => ServiceProof::Tracking { number: tracking },
                None => {
                    return Err(FieldProblem::new(
                        "service_scan",
                        "required",
                        "请上传送达回证的照片或扫描件（邮寄送达可填写邮寄单号）",
                    )
                    .into())
                }
            };
            Some(ServiceDetails::new(method, &by, proof)?)
        };
        a.apply_case_step(&s.user, id, step, service)
    })
    .await?;
    Ok(Redirect::to(&format!("/cases/{id}")).into_response())
}

/// Every text field of a multipart form, and the bytes of its one file field.
async fn read_multipart(
    mut multipart: axum::extract::Multipart,
    file_field: &str,
) -> Result<(std::collections::HashMap<String, String>, Option<Vec<u8>>), BureauError> {
    let malformed = |e: axum::extract::multipart::MultipartError| match e.status().as_u16() {
        413 => BureauError::TooLarge {
            max: crate::results_import::MAX_RESULTS_FILE_BYTES as u64,
        },
        _ => BureauError::Malformed(e.body_text()),
    };
    let mut fields = std::collections::HashMap::new();
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == file_field {
            file = Some(field.bytes().await.map_err(malformed)?.to_vec());
        } else {
            fields.insert(name, field.text().await.map_err(malformed)?);
        }
    }
    Ok((fields, file))
}

/// The institute's result list, uploaded (multipart: `csrf`, `district` for the
/// city, `file`). All or nothing: a file with any bad cell is shown back with
/// every problem and nothing is taken.
pub(crate) async fn import(
    State(app): State<Arc<Bureau>>,
    s: Session,
    mut multipart: axum::extract::Multipart,
) -> PageResult {
    let (mut csrf, mut district, mut file) = (String::new(), String::new(), None);
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| BureauError::Malformed(e.body_text()))?
    {
        match field.name().unwrap_or_default() {
            "csrf" => {
                csrf = field
                    .text()
                    .await
                    .map_err(|e| BureauError::Malformed(e.body_text()))?
            }
            "district" => {
                district = field
                    .text()
                    .await
                    .map_err(|e| BureauError::Malformed(e.body_text()))?
            }
            "file" => {
                let name = field.file_name().unwrap_or("结果清单").to_string();
                let bytes = field.bytes().await.map_err(|e| match e.status().as_u16() {
                    413 => BureauError::TooLarge {
                        max: crate::results_import::MAX_RESULTS_FILE_BYTES as u64,
                    },
                    _ => BureauError::Malformed(e.body_text()),
                })?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    if !crate::secrets::constant_time_eq(s.csrf.as_bytes(), csrf.as_bytes()) {
        return Err(BureauError::Csrf.into());
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Err(BureauError::invalid(
            fieldlead_domain::ErrorCode::ResultsEmpty,
            "请选择检验机构的结果清单文件（xlsx 或 CSV）",
        )
        .into());
    };
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let district = Some(district.trim().to_string()).filter(|d| !d.is_empty());
    let outcome = blocking(move || {
        let results = match crate::results_import::read_results(&bytes, &name) {
            Ok(r) => r,
            Err(e) => return Ok(Err((name, e))),
        };
        a.import_results(&user, district.as_deref(), results)
            .map(Ok)
    })
    .await?;
    match outcome {
        Ok(ids) => Ok(Redirect::to(&format!("/cases?imported={}", ids.len())).into_response()),
        Err((name, e)) => {
            let status = axum::http::StatusCode::from_u16(BureauError::Results(e.clone()).status())
                .unwrap_or(axum::http::StatusCode::UNPROCESSABLE_ENTITY);
            let page = render(
                "cases_import.html",
                context! {
                    me => user_ctx(&s), file_name => name, message => e.to_string(),
                    problems => e.problems(),
                },
            )?;
            Ok((status, page).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_board_renders_a_due_an_overdue_and_a_windowed_deadline() {
        let row = |due: &str, left: i64, not_before: Option<&str>| {
            serde_json::json!({
                "case": {
                    "id": "0190b2a4-0000-7000-8000-000000000001",
                    "district": {"id": 1, "code": "yuzhong", "name": "渝中区"},
                    "report_no": "CQ-1", "business_name": "某某经营部", "product_name": "电线",
                    "case": {"state": {"state": "objection_period"}},
                    "updated_at": "2026-10-09T00:00:00Z"
                },
                "deadline": {
                    "what": "送达", "clause": "三.1", "anchor": "收到", "anchor_date": "2026-10-09",
                    "period": {"unit": "working_days", "n": 5}, "not_before": not_before, "due": due
                },
                "working_days_left": left,
                "state_label": "异议期"
            })
        };
        let board = serde_json::json!({
            "rows": [row("2026-10-15", -3, None), row("2026-12-01", 0, None), row("2026-12-09", 7, Some("2026-11-20"))],
            "not_counted": [], "total": 700, "overdue": 1, "due_today": 1, "due_soon": 2
        });
        let me = context! { role => "officer", csrf => "x", display_name => "甲", role_label => "区县局承办人员", district => "渝中区" };
        let html = render(
            "cases.html",
            context! { me => me, board => board, overdue => 1, imported => Some(2) },
        )
        .unwrap()
        .0;
        assert!(html.contains("超期 3"), "{html}");
        assert!(html.contains("今天"));
        assert!(html.contains("2026年11月20日 至 2026年12月9日"));
        assert!(html.contains("已导入 2 条"));
        assert!(html.contains("<td>异议期</td>"));
        assert!(html.contains("共 700 项期限"));
        assert!(html.contains("最早的 3 项"));
    }
}
