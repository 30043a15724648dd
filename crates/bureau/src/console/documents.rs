//! 后处理 documents on the console: prepare (the case page's forms), preview
//! (watermarked, unnumbered, the very layout that prints), issue (numbered,
//! sealed, kept by hash), and an issued document's page and PDF; the case's
//! report files and who works the case.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use fieldlead_domain::{DocumentId, Sha256};
use minijinja::context;

use super::{render, user_ctx, PageResult, Posted, Session};
use crate::api::blocking;
use crate::error::BureauError;
use crate::model::ReportKind;
use crate::service::{Bureau, DocumentForm};

fn case_id(s: &str) -> Result<fieldlead_domain::CaseId, BureauError> {
    s.parse()
        .map_err(|_| BureauError::MalformedId("案件编号应为 UUID".into()))
}

fn document_id(s: &str) -> Result<DocumentId, BureauError> {
    s.parse()
        .map_err(|_| BureauError::MalformedId("文书编号应为 UUID".into()))
}

/// The form's fields as the preview page carries them on to "签发".
fn form_ctx(f: &DocumentForm) -> minijinja::Value {
    context! {
        document => f.document, recipient => f.recipient, date => f.date,
        addressee => f.addressee, institute => f.institute, agency_name => f.agency_name,
        agency_person => f.agency_person, agency_phone => f.agency_phone,
        agency_address => f.agency_address, commissioned_on => f.commissioned_on,
        refusal_grounds => f.refusal_grounds, rectification => f.rectification, cc => f.cc,
        supersedes => f.supersedes, correction => f.correction,
    }
}

/// An SVG as a `data:` URI for an `<img>`, percent-encoded.
fn svg_data_uri(svg: &str) -> String {
    let mut out = String::with_capacity(svg.len() + 32);
    out.push_str("data:image/svg+xml;charset=utf-8,");
    for b in svg.bytes() {
        if b.is_ascii_alphanumeric() || b" -_.~/:=;,()!*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The document as it will print, watermarked 预览; the page's "签发" posts the
/// same fields to issue it.
pub(crate) async fn preview(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    Posted(s, form): Posted<DocumentForm>,
) -> PageResult {
    let id = case_id(&id)?;
    let slot = app.export_slot()?;
    let (a, user, f) = (Arc::clone(&app), s.user.clone(), form.clone());
    let (data, rendered) = blocking(move || {
        let _slot = slot;
        a.preview_document(&user, id, &f)
    })
    .await?;
    // Each page as an image: the SVG cannot run anything from inside an <img>.
    let pages: Vec<String> = rendered
        .pages_svg
        .iter()
        .map(|svg| svg_data_uri(svg))
        .collect();
    Ok(render(
        "document_preview.html",
        context! {
            me => user_ctx(&s), id => id, form => form_ctx(&form), pages => pages,
            title => data.document.label_zh(), addressee => data.addressee,
            correcting => !form.supersedes.trim().is_empty(),
        },
    )?
    .into_response())
}

pub(crate) async fn issue(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    Posted(s, form): Posted<DocumentForm>,
) -> PageResult {
    let id = case_id(&id)?;
    let slot = app.export_slot()?;
    let a = Arc::clone(&app);
    let doc = blocking(move || {
        let _slot = slot;
        a.issue_document(&s.user, id, &form)
    })
    .await?;
    Ok(Redirect::to(&format!("/cases/{id}#document-{}", doc.id)).into_response())
}

/// An issued document's page: what its QR code names, to check a paper copy.
pub(crate) async fn page(
    State(app): State<Arc<Bureau>>,
    s: Session,
    Path(id): Path<String>,
) -> PageResult {
    let id = document_id(&id)?;
    let (a, user) = (Arc::clone(&app), s.user.clone());
    let (doc, pdf) = blocking(move || a.document_pdf(&user, id)).await?;
    let intact = Sha256::digest(&pdf) == doc.pdf_sha256
        && fieldlead_forms::notice_data_sha256(&doc.data) == doc.data_sha256;
    Ok(render(
        "document.html",
        context! {
            me => user_ctx(&s), doc => doc, title => doc.document.label_zh(),
            recipient => doc.recipient.label_zh(), intact => intact,
            qr => fieldlead_forms::notice_qr_payload(&doc.id.to_string(), &doc.data_sha256),
        },
    )?
    .into_response())
}

pub(crate) async fn pdf(
    State(app): State<Arc<Bureau>>,
    s: Session,
    Path(id): Path<String>,
) -> PageResult {
    let id = document_id(&id)?;
    let a = Arc::clone(&app);
    let (doc, pdf) = blocking(move || a.document_pdf(&s.user, id)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"document-{}.pdf\"", doc.id),
            ),
        ],
        pdf,
    )
        .into_response())
}

/// The institute's report file, uploaded on the case page (multipart: `csrf`,
/// `kind`, `report_file`).
pub(crate) async fn attach_report(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    s: Session,
    mut multipart: axum::extract::Multipart,
) -> PageResult {
    let id = case_id(&id)?;
    let malformed = |e: axum::extract::multipart::MultipartError| match e.status().as_u16() {
        413 => BureauError::TooLarge {
            max: crate::service::MAX_REPORT_BYTES as u64,
        },
        _ => BureauError::Malformed(e.body_text()),
    };
    let (mut csrf, mut kind, mut file) = (String::new(), String::new(), None);
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        match field.name().unwrap_or_default() {
            "csrf" => csrf = field.text().await.map_err(malformed)?,
            "kind" => kind = field.text().await.map_err(malformed)?,
            "report_file" => {
                let name = field.file_name().unwrap_or_default().to_string();
                file = Some((name, field.bytes().await.map_err(malformed)?));
            }
            _ => {}
        }
    }
    if !crate::secrets::constant_time_eq(s.csrf.as_bytes(), csrf.as_bytes()) {
        return Err(BureauError::Csrf.into());
    }
    let kind: ReportKind = kind.parse().unwrap_or(ReportKind::First);
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Err(
            BureauError::Field(fieldlead_domain::text::FieldProblem::new(
                "report_file",
                "required",
                "请选择检验报告的 PDF 文件",
            ))
            .into(),
        );
    };
    let a = Arc::clone(&app);
    blocking(move || a.attach_report(&s.user, id, kind, &name, &bytes)).await?;
    Ok(Redirect::to(&format!("/cases/{id}#reports")).into_response())
}

pub(crate) async fn report_file(
    State(app): State<Arc<Bureau>>,
    s: Session,
    Path((id, sha)): Path<(String, String)>,
) -> PageResult {
    let id = case_id(&id)?;
    let sha: Sha256 = sha
        .parse()
        .map_err(|_| BureauError::MalformedId("SHA-256 应为 64 位十六进制".into()))?;
    let a = Arc::clone(&app);
    let (_, bytes) = blocking(move || a.case_report(&s.user, id, &sha)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"report-{}.pdf\"", sha.short()),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub(crate) struct AssignForm {
    assignee: String,
}

pub(crate) async fn assign(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    Posted(s, form): Posted<AssignForm>,
) -> PageResult {
    let id = case_id(&id)?;
    let a = Arc::clone(&app);
    let to = Some(form.assignee.trim().to_string()).filter(|t| !t.is_empty());
    blocking(move || a.assign_case(&s.user, id, to.as_deref())).await?;
    Ok(Redirect::to(&format!("/cases/{id}")).into_response())
}
