//! Devices and enrolment codes, the audit log, and the 附件7/附件8 exports.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use fieldlead_domain::DeviceId;
use minijinja::context;
use serde::Deserialize;

use super::{render, user_ctx, NoFields, PageResult, Posted, Session};
use crate::api::blocking;
use crate::error::BureauError;
use crate::model::Role;
use crate::service::Bureau;

pub(crate) async fn devices(State(app): State<Arc<Bureau>>, s: Session) -> PageResult {
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let (devices, districts) =
        blocking(move || Ok((a.devices_for(&user)?, a.storage.districts()?))).await?;
    Ok(render(
        "devices.html",
        context! { me => user_ctx(&s), devices => devices, districts => districts, city => s.user.role == Role::CityAdmin },
    )?
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct EnrolForm {
    district: String,
}

pub(crate) async fn enrol(
    State(app): State<Arc<Bureau>>,
    Posted(s, f): Posted<EnrolForm>,
) -> PageResult {
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let issued = blocking(move || {
        let district = Some(f.district.as_str()).filter(|d| !d.is_empty());
        a.issue_code_for(&user, district)
    })
    .await?;
    let svg = crate::qr::svg(&issued.invite.to_qr_text())?;
    Ok(render(
        "enrolment.html",
        context! {
            me => user_ctx(&s), code => issued.code.display_grouped(), district => issued.district.name,
            expires_at => issued.expires_at, server => issued.invite.server,
            fingerprint => issued.invite.bureau_key_fingerprint.display_grouped(),
            qr_svg => minijinja::Value::from_safe_string(svg),
        },
    )?
    .into_response())
}

pub(crate) async fn revoke(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    Posted(s, NoFields {}): Posted<NoFields>,
) -> PageResult {
    let id: DeviceId = id
        .parse()
        .map_err(|_| BureauError::MalformedId("设备编号应为 UUID".into()))?;
    let a = Arc::clone(&app);
    blocking(move || a.revoke_device(Some(&s.user), id)).await?;
    Ok(Redirect::to("/devices").into_response())
}

pub(crate) async fn audit(State(app): State<Arc<Bureau>>, s: Session) -> PageResult {
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let events = blocking(move || a.audit_for(&user, None)).await?;
    Ok(render(
        "audit.html",
        context! { me => user_ctx(&s), events => events },
    )?
    .into_response())
}

/// `/exports/lead-handling.xlsx` or `.pdf`: the termination leads' 产品违法线索办理情况清单.
pub(crate) async fn export(
    State(app): State<Arc<Bureau>>,
    s: Session,
    Path(name): Path<String>,
) -> PageResult {
    if name != "lead-handling.xlsx" && name != "lead-handling.pdf" {
        return Err(BureauError::NotFound {
            what: "导出文件"
        }
        .into());
    }
    super::list_file(app, name, move |a| a.lead_handling_list(&s.user)).await
}
