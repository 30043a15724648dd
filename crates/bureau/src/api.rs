//! API v1 for tablets: enrolment, leads, resumable blob uploads, status. Each
//! handler extracts, calls the [`Bureau`], and maps its error to a status and an
//! `{code, message}` body.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::Utc;
use fieldlead_domain::{
    EnrolmentRequest, ErrorBody, LeadId, PublicKey, Sha256, PROTOCOL_VERSION, UPLOAD_OFFSET_HEADER,
};
use serde::{Deserialize, Serialize};

use crate::error::BureauError;
use crate::model::EnrolledDevice;
use crate::service::Bureau;
use crate::uploads::{drain, DRAIN_MAX};

/// An error as the API answers it.
#[derive(Debug)]
pub struct ApiError(pub BureauError);

impl<E: Into<BureauError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            code: e.code().into(),
            message: e.public_message(),
            detail: e.detail(),
        };
        let mut resp = (status, Json(body)).into_response();
        if matches!(e, BureauError::Busy) {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if let BureauError::RateLimited { retry_after_secs } = e {
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// Runs blocking work (database, hashing, disk) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BureauError> + Send + 'static,
) -> Result<T, BureauError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BureauError::Internal(format!("worker failed: {e}")))?
}

pub fn routes() -> Router<Arc<Bureau>> {
    Router::new()
        .route("/api/v1/server", get(server_info))
        .route("/health", get(health))
        .route("/api/v1/enrol", post(enrol))
        .route("/api/v1/leads/{id}", put(put_lead).get(lead_status))
}

/// JSON 404 for unknown API paths.
pub async fn not_found() -> ApiError {
    ApiError(BureauError::NotFound { what: "接口" })
}

pub async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(ErrorBody::new(
            fieldlead_domain::ErrorCode::MethodNotAllowed,
            "该接口不支持此请求方法",
        )),
    )
        .into_response()
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ServerInfo {
    pub protocol_version: u32,
    pub bureau_key: PublicKey,
    pub server_time: chrono::DateTime<Utc>,
}

/// For a load balancer: 200 when this instance's database and blob store
/// answer, 503 naming the part that does not. No login: it tells nothing else.
async fn health(State(app): State<Arc<Bureau>>) -> Result<Response, ApiError> {
    let health = blocking(move || Ok(app.health())).await?;
    let status = if health.ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((
        status,
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        Json(health),
    )
        .into_response())
}

async fn server_info(State(app): State<Arc<Bureau>>) -> Json<ServerInfo> {
    Json(ServerInfo {
        protocol_version: PROTOCOL_VERSION,
        bureau_key: app.public_key(),
        server_time: Utc::now(),
    })
}

fn parse_lead_id(s: &str) -> Result<LeadId, BureauError> {
    s.parse()
        .map_err(|_| BureauError::MalformedId(format!("“{}”不是线索编号（UUID）", truncate(s))))
}

fn parse_sha(s: &str) -> Result<Sha256, BureauError> {
    s.parse().map_err(|_| {
        BureauError::MalformedId(format!("“{}”不是 64 位小写十六进制的 SHA-256", truncate(s)))
    })
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

fn bearer(headers: &HeaderMap) -> Result<String, BureauError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(BureauError::BadToken)?;
    value
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
        .ok_or(BureauError::BadToken)
}

async fn device(app: &Arc<Bureau>, headers: &HeaderMap) -> Result<EnrolledDevice, BureauError> {
    let token = bearer(headers)?;
    let app = Arc::clone(app);
    blocking(move || app.authenticate_device(&token)).await
}

async fn enrol(
    State(app): State<Arc<Bureau>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    let request: EnrolmentRequest = fieldlead_domain::parse_strict(&body).map_err(|e| match e {
        fieldlead_domain::StrictJsonError::Syntax(_) => BureauError::Malformed(e.to_string()),
        other => BureauError::invalid(other.error_code(), format!("注册请求{other}")),
    })?;
    let client = crate::server::client_ip(&app.config().trusted_proxies, peer.ip(), &headers);
    let response = blocking(move || app.enrol(&request, client)).await?;
    Ok((StatusCode::CREATED, Json(response)))
}

/// Reads a body up to `max` bytes; more is a 413 without reading it all.
async fn read_limited(headers: &HeaderMap, body: Body, max: u64) -> Result<Bytes, BureauError> {
    if let Some(n) = content_length(headers).filter(|&n| n > max) {
        if n - max <= DRAIN_MAX {
            drain(&mut body.into_data_stream(), n).await;
        }
        return Err(BureauError::TooLarge { max });
    }
    axum::body::to_bytes(body, max as usize)
        .await
        .map_err(|_| BureauError::TooLarge { max })
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

async fn put_lead(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let id = parse_lead_id(&id)?;
    let device = device(&app, &headers).await?;
    let body = read_limited(&headers, body, app.config().max_manifest_bytes).await?;
    let (created, response) = blocking(move || app.submit_lead(&device, id, &body)).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(response)).into_response())
}

async fn lead_status(
    State(app): State<Arc<Bureau>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = parse_lead_id(&id)?;
    let device = device(&app, &headers).await?;
    let status = blocking(move || app.signed_lead_status(&device, id)).await?;
    Ok(Json(status).into_response())
}

pub(crate) async fn blob_status(
    State(app): State<Arc<Bureau>>,
    Path(sha): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let sha = parse_sha(&sha)?;
    let device = device(&app, &headers).await?;
    let status = blocking(move || app.blob_status(&device, sha)).await?;
    Ok(Json(status).into_response())
}

/// `PUT /api/v1/blobs/{sha256}`: appends the body at `Upload-Offset`, hashing as it
/// goes; at the declared size the digest decides whether the blob is kept.
pub(crate) async fn put_blob(
    State(app): State<Arc<Bureau>>,
    Path(sha): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let sha = parse_sha(&sha)?;
    let device = device(&app, &headers).await?;
    let start: u64 = match headers.get(UPLOAD_OFFSET_HEADER) {
        None => 0,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| BureauError::Malformed("Upload-Offset 应为非负整数".into()))?,
    };
    let received = app
        .receive_blob(
            device,
            sha,
            start,
            content_length(&headers),
            body.into_data_stream(),
        )
        .await?;
    let status = if received.completed_now {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(received.status)).into_response())
}
