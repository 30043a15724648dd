//! The inbox, the overdue list and a lead's page with its review and handling.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use chrono::Utc;
use fieldlead_domain::money::Fen;
use fieldlead_domain::{LeadId, LeadState, Sha256};
use minijinja::context;
use serde::Deserialize;

use super::{render, user_ctx, NoFields, PageResult, Posted, Session};
use crate::api::blocking;
use crate::error::BureauError;
use crate::model::{ReportTime, ReviewState, Role};
use crate::service::Bureau;
use crate::storage::LeadFilter;

#[derive(Deserialize)]
pub(crate) struct InboxQuery {
    state: Option<String>,
}

pub(crate) async fn inbox(
    State(app): State<Arc<Bureau>>,
    s: Session,
    Query(q): Query<InboxQuery>,
) -> PageResult {
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => Some(
            serde_json::from_value::<LeadState>(serde_json::Value::String(v.into())).map_err(
                |_| BureauError::invalid(fieldlead_domain::ErrorCode::State, "未知的线索状态"),
            )?,
        ),
    };
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let leads = blocking(move || {
        a.leads_for(
            &user,
            &LeadFilter {
                state,
                ..LeadFilter::default()
            },
        )
    })
    .await?;
    // Every state a lead at the bureau can be in, from the domain.
    let states: Vec<_> = LeadState::ALL
        .iter()
        .filter(|s| s.is_with_bureau() || **s == LeadState::Sealed)
        .map(|s| (s.as_str(), s.label_zh()))
        .collect();
    let leads = with_report_times(&app, leads);
    Ok(render(
        "inbox.html",
        context! {
            me => user_ctx(&s), leads => leads, title => "线索",
            report_limit_hours => app.config().report_limit_hours,
            states => states, selected => q.state.unwrap_or_default(), overdue => false,
            overdue_hours => app.config().overdue_hours,
        },
    )?
    .into_response())
}

/// Each lead with how long it took to reach the bureau (立即报告, measured).
fn with_report_times(app: &Bureau, leads: Vec<crate::model::LeadSummary>) -> Vec<minijinja::Value> {
    let (now, limit) = (Utc::now(), app.config().report_limit_hours);
    leads
        .into_iter()
        .map(|l| {
            let report = ReportTime::of(l.sealed_at, l.completed_at, now, limit);
            let mut v = serde_json::to_value(&l).unwrap_or_default();
            v["report"] = serde_json::to_value(report).unwrap_or_default();
            minijinja::Value::from_serialize(&v)
        })
        .collect()
}

pub(crate) async fn overdue(State(app): State<Arc<Bureau>>, s: Session) -> PageResult {
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let leads = blocking(move || a.overdue_for(&user)).await?;
    let leads = with_report_times(&app, leads);
    Ok(render(
        "inbox.html",
        context! {
            me => user_ctx(&s), leads => leads, title => "超时未签收线索",
            report_limit_hours => app.config().report_limit_hours,
            states => Vec::<(String, String)>::new(), selected => "", overdue => true,
            overdue_hours => app.config().overdue_hours,
        },
    )?
    .into_response())
}

pub(crate) fn lead_id(s: &str) -> Result<LeadId, BureauError> {
    s.parse()
        .map_err(|_| BureauError::MalformedId("线索编号应为 UUID".into()))
}

pub(crate) fn sha(s: &str) -> Result<Sha256, BureauError> {
    s.parse()
        .map_err(|_| BureauError::MalformedId("文件编号应为 SHA-256".into()))
}

pub(crate) async fn lead_page(
    State(app): State<Arc<Bureau>>,
    s: Session,
    Path(id): Path<String>,
) -> PageResult {
    let id = lead_id(&id)?;
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let (row, verification, reviews, history) = blocking(move || {
        let row = a.lead_for(&user, id)?;
        let verification = a.verification(&row, user.scope())?;
        let reviews = a.storage.reviews(id)?;
        let history = a.audit_for(&user, Some(&format!("lead:{id}")))?;
        Ok((row, verification, reviews, history))
    })
    .await?;
    let upload = &row.upload;
    let record = &upload.manifest.manifest.record;
    let grounds: Vec<String> = match &record.outcome {
        fieldlead_domain::Outcome::Terminated { grounds, .. } => grounds
            .iter()
            .map(|g| match g {
                fieldlead_domain::Ground::Other { text } => format!("{}：{text}", g.label_zh()),
                _ => g.label_zh().to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };
    let signoffs: Vec<minijinja::Value> = upload
        .manifest
        .manifest
        .signoffs
        .iter()
        .map(|so| {
            let (image, witness) = match &so.signoff {
                fieldlead_domain::SignoffKind::Signed { image_sha256, .. } => {
                    (Some(image_sha256.to_hex()), None)
                }
                fieldlead_domain::SignoffKind::Refused { witness } => (None, Some(witness.clone())),
            };
            minijinja::context! {
                party => so.party.label_zh(), name => so.name, at => so.at,
                image => image, witness => witness,
            }
        })
        .collect();
    let gps = record.place.gps.map(|p| p.label_zh());
    let h = &row.handling;
    let report = ReportTime::of(
        row.sealed_at,
        row.completed_at,
        Utc::now(),
        app.config().report_limit_hours,
    );
    Ok(render(
        "lead.html",
        context! {
            me => user_ctx(&s),
            lead => row,
            record => record,
            manifest => upload.manifest.manifest,
            grounds => grounds,
            v => verification,
            reviews => reviews,
            history => history,
            review_states => ReviewState::ALL.iter().map(|r| (r.as_str(), r.label_zh())).collect::<Vec<_>>(),
            can_review => s.user.role == Role::Reviewer,
            can_handle => s.user.role == Role::Officer,
            can_ack => h.state.can_become(LeadState::Acknowledged),
            can_decide => h.state.can_become(LeadState::CaseFiled),
            can_outcome => h.may_record_outcome(),
            correcting => h.outcome_is_correction(),
            can_report => h.state.can_become(LeadState::ReportedToCity),
            fine => h.fine.map(Fen::wan),
            confiscation => h.confiscation.map(Fen::wan),
            today => fieldlead_domain::time::china_date(Utc::now()).to_string(),
            report => report,
            signoffs => signoffs,
            gps => gps,
            business_role => record.business.role.label_zh(),
            task_source => record.task.level.map(|l| l.label_zh()),
            report_limit_hours => app.config().report_limit_hours,
        },
    )?
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ReviewForm {
    state: String,
    comment: String,
}

pub(crate) async fn review(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    Posted(s, form): Posted<ReviewForm>,
) -> PageResult {
    let id = lead_id(&id)?;
    let state = form.state.parse::<ReviewState>().map_err(|_| {
        BureauError::invalid(fieldlead_domain::ErrorCode::ReviewState, "请选择审核结论")
    })?;
    let a = Arc::clone(&app);
    blocking(move || a.review(&s.user, id, state, &form.comment)).await?;
    Ok(Redirect::to(&format!("/leads/{id}#review")).into_response())
}

pub(crate) async fn reverify(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    Posted(s, NoFields {}): Posted<NoFields>,
) -> PageResult {
    let id = lead_id(&id)?;
    let a = Arc::clone(&app);
    blocking(move || a.reverify_blobs(&s.user, id)).await?;
    Ok(Redirect::to(&format!("/leads/{id}#verification")).into_response())
}

pub(crate) async fn handling(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    Posted(s, f): Posted<fieldlead_domain::handling::HandlingForm>,
) -> PageResult {
    let id = lead_id(&id)?;
    let step = f.step()?;
    let a = Arc::clone(&app);
    blocking(move || a.apply_handling_step(&s.user, id, step)).await?;
    Ok(Redirect::to(&format!("/leads/{id}#handling")).into_response())
}
