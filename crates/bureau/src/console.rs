//! The web console: server-rendered Chinese pages for district officers, QA
//! reviewers and the city bureau. Password login (Argon2id), an HttpOnly,
//! SameSite=Strict session cookie (Secure unless configured off for plain-HTTP
//! trials), a CSRF token in every form, and no script or style from anywhere but
//! this server.

use std::sync::{Arc, OnceLock};

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use fieldlead_domain::money::Fen;
use fieldlead_domain::{DeviceId, LeadId, LeadState, Sha256};
use minijinja::{context, Environment};
use serde::Deserialize;

use crate::api::blocking;
use crate::error::BureauError;
use crate::exports::ListExport;
use crate::secrets::{constant_time_eq, new_token};
use crate::service::{parse_upload, Bureau, HandlingStep};
use crate::storage::{LeadFilter, ReviewState, Role, User};

pub const SESSION_COOKIE: &str = "fl_session";
pub const LOGIN_CSRF_COOKIE: &str = "fl_login_csrf";

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in [
            ("base.html", include_str!("../templates/base.html")),
            ("login.html", include_str!("../templates/login.html")),
            ("inbox.html", include_str!("../templates/inbox.html")),
            ("lead.html", include_str!("../templates/lead.html")),
            ("devices.html", include_str!("../templates/devices.html")),
            (
                "enrolment.html",
                include_str!("../templates/enrolment.html"),
            ),
            ("audit.html", include_str!("../templates/audit.html")),
            ("error.html", include_str!("../templates/error.html")),
        ] {
            env.add_template(name, text)
                .expect("console templates parse");
        }
        env.add_filter("wan", |fen: Option<i64>| {
            fen.and_then(|f| Fen::new(f).ok())
                .map(|f| f.wan())
                .unwrap_or_default()
        });
        env.add_filter("local", |t: Option<String>| {
            t.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| {
                    t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("valid offset"))
                        .format("%Y-%m-%d %H:%M")
                        .to_string()
                })
                .unwrap_or_default()
        });
        env.add_filter("short", |s: String| s.chars().take(8).collect::<String>());
        env.add_filter("state_label", |s: String| {
            serde_json::from_value::<LeadState>(serde_json::Value::String(s))
                .map(|s| s.label_zh().to_string())
                .unwrap_or_default()
        });
        env.add_filter("review_label", |s: Option<String>| {
            s.as_deref()
                .and_then(ReviewState::parse)
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

type PageResult = Result<Response, PageError>;

fn render(name: &str, ctx: minijinja::Value) -> Result<Html<String>, BureauError> {
    templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| BureauError::Internal(format!("template {name}: {e:#}")))
}

pub fn routes() -> Router<Arc<Bureau>> {
    Router::new()
        .route("/", get(inbox))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/overdue", get(overdue))
        .route("/leads/{id}", get(lead_page))
        .route("/leads/{id}/blobs/{sha}", get(blob))
        .route("/leads/{id}/thumbs/{sha}", get(thumbnail))
        .route("/leads/{id}/review", post(review))
        .route("/leads/{id}/reverify", post(reverify))
        .route("/leads/{id}/handling", post(handling))
        .route("/devices", get(devices))
        .route("/devices/enrol", post(enrol))
        .route("/devices/{id}/revoke", post(revoke))
        .route("/audit", get(audit))
        .route("/exports/{name}", get(export))
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
        include_str!("../static/console.css"),
    )
}

async fn js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/console.js"),
    )
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(app: &Bureau, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if app.config().cookie_secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&c).expect("cookie text is ASCII")
}

/// The signed-in user and the session's CSRF token.
struct Session {
    user: User,
    csrf: String,
}

async fn session(app: &Arc<Bureau>, headers: &HeaderMap) -> Result<Session, BureauError> {
    let token = cookie(headers, SESSION_COOKIE).ok_or(BureauError::Unauthenticated)?;
    let app = Arc::clone(app);
    let (user, csrf) = blocking(move || app.session(&token)).await?;
    Ok(Session { user, csrf })
}

fn check_csrf(s: &Session, sent: &str) -> Result<(), BureauError> {
    if constant_time_eq(s.csrf.as_bytes(), sent.as_bytes()) {
        Ok(())
    } else {
        Err(BureauError::Csrf)
    }
}

fn user_ctx(s: &Session) -> minijinja::Value {
    context! {
        username => s.user.username,
        display_name => s.user.display_name,
        role => s.user.role.as_str(),
        role_label => s.user.role.label_zh(),
        district => s.user.district.as_ref().map(|d| d.name.clone()).unwrap_or_else(|| "全市".into()),
        csrf => s.csrf,
    }
}

// Every field defaults, so a request without a session is sent to the login page
// rather than refused for a missing field.
#[derive(Deserialize, Default)]
#[serde(default)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

async fn login_page(State(app): State<Arc<Bureau>>) -> PageResult {
    let csrf = new_token();
    let mut resp = render(
        "login.html",
        context! { csrf => csrf, error => None::<String> },
    )?
    .into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app, LOGIN_CSRF_COOKIE, &csrf, Some(3600)),
    );
    Ok(resp)
}

async fn login(
    State(app): State<Arc<Bureau>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> PageResult {
    // Double-submit token: a page on another site cannot read our cookie.
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return Err(BureauError::Csrf.into());
    }
    let from = crate::server::client_ip(&app.config().trusted_proxies, peer.ip(), &headers);
    let result = match app.password_slot().await {
        Ok(slot) => {
            let a = Arc::clone(&app);
            blocking(move || {
                let _slot = slot;
                a.login(&form.username, &form.password, from)
            })
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok((token, _csrf, _user)) => {
            let mut resp = Redirect::to("/").into_response();
            let age = i64::from(app.config().session_hours) * 3600;
            resp.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&app, SESSION_COOKIE, &token, Some(age)),
            );
            resp.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&app, LOGIN_CSRF_COOKIE, "", Some(0)),
            );
            Ok(resp)
        }
        Err(
            e @ (BureauError::BadCredentials | BureauError::RateLimited { .. } | BureauError::Busy),
        ) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            let page = render(
                "login.html",
                context! { csrf => expected, error => Some(e.to_string()) },
            )?;
            Ok((status, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// Every field defaults, so a request without a session is sent to the login page
// rather than refused for a missing field.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(app): State<Arc<Bureau>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let s = session(&app, &headers).await?;
    check_csrf(&s, &form.csrf)?;
    let token = cookie(&headers, SESSION_COOKIE).unwrap_or_default();
    let a = Arc::clone(&app);
    blocking(move || a.logout(&token)).await?;
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app, SESSION_COOKIE, "", Some(0)),
    );
    Ok(resp)
}

#[derive(Deserialize)]
struct InboxQuery {
    state: Option<String>,
}

async fn inbox(
    State(app): State<Arc<Bureau>>,
    headers: HeaderMap,
    Query(q): Query<InboxQuery>,
) -> PageResult {
    let s = session(&app, &headers).await?;
    let state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(v) => Some(
            serde_json::from_value::<LeadState>(serde_json::Value::String(v.into()))
                .map_err(|_| BureauError::invalid("state", "未知的线索状态"))?,
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
    let states: Vec<_> = [
        LeadState::Sealed,
        LeadState::Delivered,
        LeadState::Acknowledged,
        LeadState::CaseFiled,
        LeadState::Declined,
        LeadState::ReportedToCity,
    ]
    .iter()
    .map(|s| (serde_json::to_value(s).unwrap_or_default(), s.label_zh()))
    .collect();
    Ok(render(
        "inbox.html",
        context! {
            me => user_ctx(&s), leads => leads, title => "线索收件箱",
            states => states, selected => q.state.unwrap_or_default(), overdue => false,
            overdue_hours => app.config().overdue_hours,
        },
    )?
    .into_response())
}

async fn overdue(State(app): State<Arc<Bureau>>, headers: HeaderMap) -> PageResult {
    let s = session(&app, &headers).await?;
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let leads = blocking(move || a.overdue_for(&user)).await?;
    Ok(render(
        "inbox.html",
        context! {
            me => user_ctx(&s), leads => leads, title => "超时未签收线索",
            states => Vec::<(String, String)>::new(), selected => "", overdue => true,
            overdue_hours => app.config().overdue_hours,
        },
    )?
    .into_response())
}

fn lead_id(s: &str) -> Result<LeadId, BureauError> {
    s.parse()
        .map_err(|_| BureauError::MalformedId("线索编号应为 UUID".into()))
}

fn sha(s: &str) -> Result<Sha256, BureauError> {
    s.parse()
        .map_err(|_| BureauError::MalformedId("文件编号应为 SHA-256".into()))
}

async fn lead_page(
    State(app): State<Arc<Bureau>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> PageResult {
    let s = session(&app, &headers).await?;
    let id = lead_id(&id)?;
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let (row, upload, verification, reviews, history) = blocking(move || {
        let row = a.lead_for(&user, id)?;
        let upload = parse_upload(&row)?;
        let verification = a.verification(&row, user.scope())?;
        let reviews = a.storage.reviews(id)?;
        let history = a.audit_for(&user, Some(&format!("lead:{id}")))?;
        Ok((row, upload, verification, reviews, history))
    })
    .await?;
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
    let h = &row.handling;
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
            can_outcome => h.decision == Some(fieldlead_domain::Decision::CaseFiled) && h.state != LeadState::ReportedToCity,
            can_report => h.state.can_become(LeadState::ReportedToCity),
            fine => h.fine_fen.and_then(|f| Fen::new(f).ok()).map(Fen::wan),
            confiscation => h.confiscation_fen.and_then(|f| Fen::new(f).ok()).map(Fen::wan),
            today => Utc::now().with_timezone(&FixedOffset::east_opt(8 * 3600).expect("valid offset")).format("%Y-%m-%d").to_string(),
        },
    )?
    .into_response())
}

fn content_type(bytes: &[u8]) -> &'static str {
    // Only formats a browser shows safely get an image type; anything else downloads.
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        _ => "application/octet-stream",
    }
}

/// Evidence is personal data in a penalty case: never kept by a shared or
/// proxy cache, nor left in an office PC's browser cache after the session.
const EVIDENCE_CACHE: &str = "no-store";

async fn blob(
    State(app): State<Arc<Bureau>>,
    headers: HeaderMap,
    Path((id, sha_text)): Path<(String, String)>,
) -> PageResult {
    let s = session(&app, &headers).await?;
    let (id, sha) = (lead_id(&id)?, sha(&sha_text)?);
    let a = Arc::clone(&app);
    let (len, reader) = blocking(move || a.blob_for(&s.user, id, sha)).await?;
    let (head, body) = stream_reader(reader).await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type(&head).to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CACHE_CONTROL, EVIDENCE_CACHE.to_string()),
        ],
        body,
    )
        .into_response())
}

/// Streams a blocking reader in 256 KiB pieces read on a blocking thread; returns
/// the first piece too, to sniff the content type from.
async fn stream_reader(
    mut reader: Box<dyn std::io::Read + Send>,
) -> Result<(Vec<u8>, axum::body::Body), BureauError> {
    use std::io::Read;
    const PIECE: usize = 256 * 1024;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(2);
    let (first_tx, first_rx) = tokio::sync::oneshot::channel::<std::io::Result<Vec<u8>>>();
    tokio::task::spawn_blocking(move || {
        let mut first = Some(first_tx);
        loop {
            let mut buf = vec![0u8; PIECE];
            let piece = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    Ok(buf)
                }
                Err(e) => Err(e),
            };
            let failed = piece.is_err();
            if let Some(f) = first.take() {
                let copy = piece
                    .as_ref()
                    .map(Clone::clone)
                    .map_err(|e| std::io::Error::new(e.kind(), e.to_string()));
                let _ = f.send(copy);
            }
            if tx.blocking_send(piece).is_err() || failed {
                break;
            }
        }
    });
    let head = match first_rx.await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => return Err(crate::error::StorageError::io("evidence")(e).into()),
        Err(_) => Vec::new(),
    };
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|piece| (piece, rx))
    });
    Ok((head, axum::body::Body::from_stream(stream)))
}

async fn thumbnail(
    State(app): State<Arc<Bureau>>,
    headers: HeaderMap,
    Path((id, sha_text)): Path<(String, String)>,
) -> PageResult {
    let s = session(&app, &headers).await?;
    let (id, sha) = (lead_id(&id)?, sha(&sha_text)?);
    let a = Arc::clone(&app);
    let bytes = blocking(move || a.thumbnail_for(&s.user, id, sha)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, EVIDENCE_CACHE),
        ],
        bytes,
    )
        .into_response())
}

// Every field defaults, so a request without a session is sent to the login page
// rather than refused for a missing field.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ReviewForm {
    csrf: String,
    state: String,
    comment: String,
}

async fn review(
    State(app): State<Arc<Bureau>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<ReviewForm>,
) -> PageResult {
    let s = session(&app, &headers).await?;
    check_csrf(&s, &form.csrf)?;
    let id = lead_id(&id)?;
    let state = ReviewState::parse(&form.state)
        .ok_or_else(|| BureauError::invalid("review_state", "请选择审核结论"))?;
    let a = Arc::clone(&app);
    blocking(move || a.review(&s.user, id, state, &form.comment)).await?;
    Ok(Redirect::to(&format!("/leads/{id}#review")).into_response())
}

async fn reverify(
    State(app): State<Arc<Bureau>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let s = session(&app, &headers).await?;
    check_csrf(&s, &form.csrf)?;
    let id = lead_id(&id)?;
    let a = Arc::clone(&app);
    blocking(move || a.reverify_blobs(&s.user, id)).await?;
    Ok(Redirect::to(&format!("/leads/{id}#verification")).into_response())
}

// Every field defaults, so a request without a session is sent to the login page
// rather than refused for a missing field.
#[derive(Deserialize, Default)]
#[serde(default)]
struct HandlingForm {
    csrf: String,
    step: String,
    case_number: String,
    reason: String,
    fine_wan: String,
    confiscation_wan: String,
    remark: String,
    reported_on: String,
}

async fn handling(
    State(app): State<Arc<Bureau>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HandlingForm>,
) -> PageResult {
    let s = session(&app, &headers).await?;
    check_csrf(&s, &f.csrf)?;
    let id = lead_id(&id)?;
    let step = match f.step.as_str() {
        "acknowledge" => HandlingStep::Acknowledge,
        "file_case" => HandlingStep::FileCase {
            case_number: f.case_number,
        },
        "decline" => HandlingStep::Decline { reason: f.reason },
        "outcome" => HandlingStep::Outcome {
            fine_wan: f.fine_wan,
            confiscation_wan: f.confiscation_wan,
            remark: f.remark,
        },
        "report" => HandlingStep::ReportToCity {
            on: NaiveDate::parse_from_str(f.reported_on.trim(), "%Y-%m-%d").map_err(|_| {
                BureauError::invalid("report_date", "报市局日期格式应为 YYYY-MM-DD")
            })?,
        },
        _ => return Err(BureauError::invalid("step", "未知的办理操作").into()),
    };
    let a = Arc::clone(&app);
    blocking(move || a.handle(&s.user, id, step)).await?;
    Ok(Redirect::to(&format!("/leads/{id}#handling")).into_response())
}

async fn devices(State(app): State<Arc<Bureau>>, headers: HeaderMap) -> PageResult {
    let s = session(&app, &headers).await?;
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

// Every field defaults, so a request without a session is sent to the login page
// rather than refused for a missing field.
#[derive(Deserialize, Default)]
#[serde(default)]
struct EnrolForm {
    csrf: String,
    district: String,
}

async fn enrol(
    State(app): State<Arc<Bureau>>,
    headers: HeaderMap,
    Form(f): Form<EnrolForm>,
) -> PageResult {
    let s = session(&app, &headers).await?;
    check_csrf(&s, &f.csrf)?;
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
            qr_svg => minijinja::Value::from_safe_string(svg),
        },
    )?
    .into_response())
}

async fn revoke(
    State(app): State<Arc<Bureau>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    let s = session(&app, &headers).await?;
    check_csrf(&s, &form.csrf)?;
    let id: DeviceId = id
        .parse()
        .map_err(|_| BureauError::MalformedId("设备编号应为 UUID".into()))?;
    let a = Arc::clone(&app);
    blocking(move || a.revoke_device(Some(&s.user), id)).await?;
    Ok(Redirect::to("/devices").into_response())
}

async fn audit(State(app): State<Arc<Bureau>>, headers: HeaderMap) -> PageResult {
    let s = session(&app, &headers).await?;
    let user = s.user.clone();
    let a = Arc::clone(&app);
    let events = blocking(move || a.audit_for(&user, None)).await?;
    Ok(render(
        "audit.html",
        context! { me => user_ctx(&s), events => events },
    )?
    .into_response())
}

/// `/exports/attachment7.xlsx` and the like: 附件7 or 附件8 as .xlsx or PDF.
async fn export(
    State(app): State<Arc<Bureau>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> PageResult {
    let s = session(&app, &headers).await?;
    let (which, pdf) = match name.as_str() {
        "attachment7.xlsx" => (ListExport::CaseResults, false),
        "attachment7.pdf" => (ListExport::CaseResults, true),
        "attachment8.xlsx" => (ListExport::Declined, false),
        "attachment8.pdf" => (ListExport::Declined, true),
        _ => {
            return Err(BureauError::NotFound {
                what: "导出文件"
            }
            .into())
        }
    };
    // Lists are laid out whole in memory (Typst, the .xlsx writer): one at a time,
    // so several large exports at once cannot exhaust the server.
    let slot = app.export_slot()?;
    let a = Arc::clone(&app);
    let bytes = blocking(move || {
        let _slot = slot;
        let list = a.lead_list(&s.user, which)?;
        Ok(if pdf {
            fieldlead_forms::Forms::new(&fieldlead_forms::FormsConfig::default())?
                .lead_list_pdf(&list)?
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
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
