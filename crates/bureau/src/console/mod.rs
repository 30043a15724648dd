//! The web console: server-rendered Chinese pages for district officers, QA
//! reviewers and the city bureau. Password login (Argon2id), an HttpOnly,
//! SameSite=Strict session cookie (Secure unless configured off for plain-HTTP
//! trials), a CSRF token in every form, and no script or style from anywhere but
//! this server.
//!
//! Every page takes a [`Session`] (no live session: sent to the login page), and
//! every form a [`Posted`] (the session plus a checked CSRF token), so no handler
//! can forget either. Pages by family: [`login`], [`leads`], [`evidence`],
//! [`admin`] (devices, audit, exports).

mod admin;
mod cases;
mod documents;
mod enforcement;
mod evidence;
mod leads;
mod login;

use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::DateTime;
use fieldlead_domain::money::Fen;
use fieldlead_domain::LeadState;
use minijinja::{context, Environment};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::api::blocking;
use crate::error::BureauError;
use crate::model::{ReviewState, User};
use crate::secrets::constant_time_eq;
use crate::service::Bureau;

pub const SESSION_COOKIE: &str = "fl_session";
pub const LOGIN_CSRF_COOKIE: &str = "fl_login_csrf";

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in [
            ("base.html", include_str!("../../templates/base.html")),
            ("login.html", include_str!("../../templates/login.html")),
            ("inbox.html", include_str!("../../templates/inbox.html")),
            ("lead.html", include_str!("../../templates/lead.html")),
            ("devices.html", include_str!("../../templates/devices.html")),
            (
                "enrolment.html",
                include_str!("../../templates/enrolment.html"),
            ),
            ("audit.html", include_str!("../../templates/audit.html")),
            ("cases.html", include_str!("../../templates/cases.html")),
            ("case.html", include_str!("../../templates/case.html")),
            (
                "cases_import.html",
                include_str!("../../templates/cases_import.html"),
            ),
            ("error.html", include_str!("../../templates/error.html")),
            (
                "document_preview.html",
                include_str!("../../templates/document_preview.html"),
            ),
            (
                "document.html",
                include_str!("../../templates/document.html"),
            ),
            (
                "enforcement.html",
                include_str!("../../templates/enforcement.html"),
            ),
        ] {
            env.add_template(name, text)
                .expect("console templates parse");
        }
        env.add_filter("wan", |fen: Option<i64>| {
            fen.and_then(|f| Fen::new(f).ok())
                .map(|f| f.wan())
                .unwrap_or_default()
        });
        // Every time on a page as the notice's users read it, in China time.
        env.add_filter("local", |t: Option<String>| {
            t.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| fieldlead_domain::time::minute_zh(t.with_timezone(&chrono::Utc)))
                .unwrap_or_default()
        });
        // Every date likewise: 2026年3月5日, never 2026-03-05.
        env.add_filter("day", |d: Option<String>| match d {
            None => String::new(),
            Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map(fieldlead_domain::time::day_zh)
                .unwrap_or(d),
        });
        env.add_filter("action_zh", |a: String| crate::model::audit_action_zh(&a));
        env.add_filter("actor_zh", |a: String| crate::model::audit_actor_zh(&a));
        env.add_filter("subject_zh", |a: String| crate::model::audit_subject_zh(&a));
        env.add_filter("short", |s: String| s.chars().take(8).collect::<String>());
        env.add_filter("state_label", |s: String| {
            s.parse::<LeadState>()
                .map(|s| s.label_zh().to_string())
                .unwrap_or_default()
        });
        env.add_filter("review_label", |s: Option<String>| {
            s.as_deref()
                .and_then(|s| s.parse::<ReviewState>().ok())
                .map(|r| r.label_zh().to_string())
                .unwrap_or_else(|| "待审核".to_string())
        });
        env
    })
}

/// A console failure, shown as a page.
#[derive(Debug)]
pub struct PageError(BureauError);

impl<E: Into<BureauError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let e = self.0;
        if matches!(e, BureauError::Unauthenticated) {
            return Redirect::to("/login").into_response();
        }
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = e.public_message();
        let body = render(
            "error.html",
            context! { status => status.as_u16(), code => e.code(), message => message.clone() },
        )
        .unwrap_or(Html(message));
        (status, body).into_response()
    }
}

pub(crate) type PageResult = Result<Response, PageError>;

fn render(name: &str, ctx: minijinja::Value) -> Result<Html<String>, BureauError> {
    templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| BureauError::Internal(format!("template {name}: {e:#}")))
}

pub fn routes() -> Router<Arc<Bureau>> {
    Router::new()
        .route("/", get(leads::inbox))
        .route("/login", get(login::page).post(login::login))
        .route("/logout", post(login::logout))
        .route("/overdue", get(leads::overdue))
        .route("/leads/{id}", get(leads::lead_page))
        .route("/leads/{id}/blobs/{sha}", get(evidence::blob))
        .route("/leads/{id}/thumbs/{sha}", get(evidence::thumbnail))
        .route("/leads/{id}/review", post(leads::review))
        .route("/leads/{id}/reverify", post(leads::reverify))
        .route("/leads/{id}/handling", post(leads::handling))
        .route("/devices", get(admin::devices))
        .route("/devices/enrol", post(admin::enrol))
        .route("/devices/{id}/revoke", post(admin::revoke))
        .route("/audit", get(admin::audit))
        .route("/cases", get(cases::board))
        .route("/cases/deadlines.xlsx", get(cases::board_xlsx))
        .route("/cases/enter", post(cases::enter))
        .route(
            "/cases/import",
            post(cases::import).route_layer(axum::extract::DefaultBodyLimit::max(
                crate::results_import::MAX_RESULTS_FILE_BYTES + 64 * 1024,
            )),
        )
        .route("/cases/{id}", get(cases::case_page))
        .route(
            "/cases/{id}/step",
            post(cases::step).route_layer(axum::extract::DefaultBodyLimit::max(
                crate::results_import::MAX_RESULTS_FILE_BYTES + 64 * 1024,
            )),
        )
        .route("/cases/{id}/documents/preview", post(documents::preview))
        .route("/cases/{id}/documents", post(documents::issue))
        .route(
            "/cases/{id}/reports",
            post(documents::attach_report).route_layer(axum::extract::DefaultBodyLimit::max(
                crate::service::MAX_REPORT_BYTES + 64 * 1024,
            )),
        )
        .route("/cases/{id}/reports/{sha}", get(documents::report_file))
        .route("/cases/{id}/assign", post(documents::assign))
        .route("/documents/{id}", get(documents::page))
        .route("/documents/{id}/pdf", get(documents::pdf))
        .route("/enforcement", get(enforcement::page))
        .route("/enforcement/transfers", post(enforcement::transfer))
        .route(
            "/enforcement/transfers/{id}/{file}",
            get(enforcement::transfer_list),
        )
        .route("/enforcement/leads/{id}/answer", post(enforcement::answer))
        .route("/enforcement/lists/{file}", get(enforcement::answer_list))
        .route("/exports/{name}", get(admin::export))
        .route("/static/console.css", get(css))
        .route("/static/console.js", get(js))
}

/// 404: JSON under `/api/`, a page elsewhere.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    if uri.path().starts_with("/api/") {
        return crate::api::not_found().await.into_response();
    }
    PageError(BureauError::NotFound { what: "页面" }).into_response()
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../static/console.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/console.js"),
    )
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub(crate) fn set_cookie(
    app: &Bureau,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if app.config().cookie_secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).expect("cookie text is ASCII")
}

/// The signed-in user and the session's CSRF token. Extracting it sends a request
/// without a live session to the login page.
pub(crate) struct Session {
    pub user: User,
    pub csrf: String,
    /// The session cookie's token (for logging out).
    pub token: String,
    /// Overdue 后处理 deadlines in the user's scope, for the header.
    pub overdue: Option<usize>,
}

impl FromRequestParts<Arc<Bureau>> for Session {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<Bureau>,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(BureauError::Unauthenticated)?;
        let (a, t) = (Arc::clone(app), token.clone());
        let (user, csrf, overdue) = blocking(move || {
            let (user, csrf) = a.session(&t)?;
            let overdue = a.overdue_count(&user);
            Ok((user, csrf, overdue))
        })
        .await?;
        Ok(Session {
            user,
            csrf,
            token,
            overdue,
        })
    }
}

/// A form posted from a console page: the live session, whose CSRF token the form
/// must carry, and the form's own fields.
pub(crate) struct Posted<T>(pub Session, pub T);

#[derive(Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: T,
}

impl<T: DeserializeOwned + Send> FromRequest<Arc<Bureau>> for Posted<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, app: &Arc<Bureau>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        // The session first: without one the answer is the login page, whatever
        // the form holds.
        let session = Session::from_request_parts(&mut parts, app).await?;
        let Form(posted) = Form::<WithCsrf<T>>::from_request(Request::from_parts(parts, body), app)
            .await
            .map_err(|e| BureauError::Malformed(e.body_text()))?;
        if !constant_time_eq(session.csrf.as_bytes(), posted.csrf.as_bytes()) {
            return Err(BureauError::Csrf.into());
        }
        Ok(Posted(session, posted.form))
    }
}

/// A form with no fields but its CSRF token.
#[derive(Deserialize, Default)]
pub(crate) struct NoFields {}

/// A lead list as a download, `NAME.pdf` or `NAME.xlsx`, laid out with the data
/// folder's templates. Lists are laid out whole in memory (Typst, the .xlsx
/// writer): one at a time, so several large exports at once cannot exhaust the
/// server.
pub(crate) async fn list_file(
    app: Arc<Bureau>,
    file: String,
    build: impl FnOnce(&Bureau) -> crate::error::Result<fieldlead_forms::LeadList> + Send + 'static,
) -> PageResult {
    let pdf = file.ends_with(".pdf");
    let slot = app.export_slot()?;
    let a = Arc::clone(&app);
    let bytes = blocking(move || {
        let _slot = slot;
        let list = build(&a)?;
        Ok(if pdf {
            a.forms()?.lead_list_pdf(&list)?
        } else {
            fieldlead_forms::lead_list_xlsx(&list)?
        })
    })
    .await?;
    let mime = if pdf {
        "application/pdf"
    } else {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

pub(crate) fn user_ctx(s: &Session) -> minijinja::Value {
    context! {
        username => s.user.username,
        display_name => s.user.display_name,
        role => s.user.role.as_str(),
        role_label => s.user.role.label_zh(),
        district => s.user.district.as_ref().map(|d| d.name.clone()).unwrap_or_else(|| "全市".into()),
        csrf => s.csrf,
        overdue => s.overdue,
    }
}
