//! Section 四 on the console: the 后处理 officer's leads to transfer and 附件6;
//! the 执法办案 officer's leads to answer; 附件7 and 附件8.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use fieldlead_domain::inspection::parse_result_date;
use fieldlead_domain::postprocess::{EnforcementAnswer, EnforcementAnswerForm};
use fieldlead_domain::text::FieldProblem;
use fieldlead_domain::{CaseId, TransferId};
use minijinja::context;

use super::{render, user_ctx, PageResult, Posted, Session};
use crate::api::blocking;
use crate::error::BureauError;
use crate::model::Role;
use crate::service::{Bureau, EnforcementList};
use crate::storage::EnforcementFilter;

pub(crate) async fn page(State(app): State<Arc<Bureau>>, s: Session) -> PageResult {
    let (a, user) = (Arc::clone(&app), s.user.clone());
    let (to_transfer, leads) = blocking(move || {
        let to_transfer = match user.role {
            Role::Officer | Role::CityAdmin => a.leads_to_transfer(&user)?,
            _ => Vec::new(),
        };
        let leads = a.enforcement_leads(&user, &EnforcementFilter::default())?;
        Ok((to_transfer, leads))
    })
    .await?;
    // The transfers, newest first, with how many of their leads are answered.
    let mut transfers: Vec<(crate::model::Transfer, usize, usize)> = Vec::new();
    for l in &leads {
        match transfers.iter_mut().find(|t| t.0.id == l.transfer.id) {
            Some(t) => {
                t.1 += 1;
                t.2 += usize::from(l.answer.is_some());
            }
            None => transfers.push((l.transfer.clone(), 1, usize::from(l.answer.is_some()))),
        }
    }
    transfers.reverse();
    let to_transfer: Vec<minijinja::Value> = to_transfer
        .into_iter()
        .map(|c| context! { state_label => c.case.state.label_zh(), c => c })
        .collect();
    let transfers: Vec<minijinja::Value> = transfers
        .into_iter()
        .map(|(t, n, answered)| context! { t => t, n => n, answered => answered })
        .collect();
    let leads: Vec<minijinja::Value> = leads
        .into_iter()
        .map(|l| {
            let answer = l.answer.as_ref().map(|a| match a {
                EnforcementAnswer::Filed {
                    file_number,
                    fine,
                    confiscation,
                    remark,
                } => context! {
                    kind => "filed", label => a.label_zh(), file_number => file_number,
                    fine => fine.map(|f| f.wan()), confiscation => confiscation.map(|f| f.wan()),
                    remark => remark,
                },
                EnforcementAnswer::Declined { grounds, reason } => context! {
                    kind => "declined", label => a.label_zh(), grounds => grounds, reason => reason,
                },
            });
            context! { l => l, answer => answer }
        })
        .collect();
    Ok(render(
        "enforcement.html",
        context! {
            me => user_ctx(&s), to_transfer => to_transfer, transfers => transfers,
            leads => leads, may_transfer => s.user.role == Role::Officer,
            may_answer => s.user.role == Role::Enforcement,
        },
    )?
    .into_response())
}

/// A new 附件6 from the checked leads (`case_<id>` fields) and its date (`on`).
pub(crate) async fn transfer(
    State(app): State<Arc<Bureau>>,
    Posted(s, fields): Posted<HashMap<String, String>>,
) -> PageResult {
    let mut cases = Vec::new();
    for key in fields.keys() {
        if let Some(id) = key.strip_prefix("case_") {
            cases.push(
                id.parse::<CaseId>()
                    .map_err(|_| BureauError::MalformedId("案件编号应为 UUID".into()))?,
            );
        }
    }
    let on = fields.get("on").map(|v| v.trim()).unwrap_or_default();
    let on = parse_result_date(on)
        .ok_or_else(|| FieldProblem::new("on", "case_date", "移交日期应为日期，例如 2026-03-09"))?;
    let a = Arc::clone(&app);
    let t = blocking(move || a.transfer_to_enforcement(&s.user, &cases, on)).await?;
    Ok(Redirect::to(&format!("/enforcement#transfer-{}", t.id)).into_response())
}

pub(crate) async fn answer(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    Posted(s, form): Posted<EnforcementAnswerForm>,
) -> PageResult {
    let id: CaseId = id
        .parse()
        .map_err(|_| BureauError::MalformedId("案件编号应为 UUID".into()))?;
    let answer = form.answer()?;
    let a = Arc::clone(&app);
    blocking(move || a.answer_lead(&s.user, id, answer)).await?;
    Ok(Redirect::to(&format!("/enforcement#lead-{id}")).into_response())
}

/// 附件6 of one transfer: `/enforcement/transfers/{id}/list6.pdf` or `.xlsx`.
pub(crate) async fn transfer_list(
    State(app): State<Arc<Bureau>>,
    s: Session,
    Path((id, file)): Path<(String, String)>,
) -> PageResult {
    if file != "list6.pdf" && file != "list6.xlsx" {
        return Err(BureauError::NotFound { what: "清单" }.into());
    }
    let id: TransferId = id
        .parse()
        .map_err(|_| BureauError::MalformedId("移交清单编号应为 UUID".into()))?;
    super::list_file(app, file, move |a| a.transfer_list(&s.user, id)).await
}

/// 附件7 or 附件8 of the user's scope: `/enforcement/lists/list7.pdf`, ….
pub(crate) async fn answer_list(
    State(app): State<Arc<Bureau>>,
    s: Session,
    Path(file): Path<String>,
) -> PageResult {
    let which = match file.as_str() {
        "list7.pdf" | "list7.xlsx" => EnforcementList::CaseResults,
        "list8.pdf" | "list8.xlsx" => EnforcementList::Declined,
        _ => return Err(BureauError::NotFound { what: "清单" }.into()),
    };
    super::list_file(app, file, move |a| a.enforcement_list(&s.user, which, None)).await
}
