//! The bureau's HTTP API as the tablet calls it: one [`BureauClient`] per round
//! (or enrolment), https only, no redirects, every answer read with a size cap,
//! and every refusal turned into the matching [`SyncError`] by its [`ErrorCode`].

use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use fieldlead_domain::{
    BlobStatus, EnrolmentRequest, EnrolmentResponse, ErrorBody, ErrorCode, LeadId, PublicKey,
    PutLeadResponse, Sha256, WireCode, UPLOAD_OFFSET_HEADER,
};
use serde::Deserialize;

use super::error::SyncError;
use super::outbox::BACKOFF_BASE_SECS;
use crate::bureau_url::BureauUrl;
use crate::error::DeviceError;

/// Size of each piece read from an evidence file into the request body. Each
/// read is a hop to tokio's blocking pool and back: at 64 KiB a 3 MB photo took
/// 48 of them.
const BODY_CHUNK: usize = 1024 * 1024;
/// Requests other than blob bodies must finish within this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest body the tablet reads from the bureau, answer or refusal. The biggest
/// real one, a status with its receipt and missing-blob list, is a few kilobytes;
/// a larger body is an error, read no further, never a large allocation.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// A successful answer: its body and the bureau's clock (the `Date` header).
pub(crate) struct Answer {
    pub body: Bytes,
    pub date: Option<DateTime<Utc>>,
}

/// What the tablet reads of `GET /api/v1/server` before it enrols.
#[derive(Deserialize)]
struct ServerKey {
    bureau_key: PublicKey,
}

/// The bureau at one address, with the tablet's bearer token once enrolled.
pub(crate) struct BureauClient {
    http: reqwest::Client,
    url: BureauUrl,
    token: String,
}

impl BureauClient {
    /// `token` is empty before enrolment.
    pub(crate) fn new(url: BureauUrl, token: String) -> Result<Self, SyncError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // The bureau API never redirects; following one could lead off https.
            .redirect(reqwest::redirect::Policy::none())
            .use_rustls_tls()
            .build()
            .map_err(|e| SyncError::Network(e.to_string()))?;
        Ok(BureauClient { http, url, token })
    }

    /// `GET /api/v1/server`: the bureau's public key, asked before the enrolment
    /// code goes anywhere.
    pub(crate) async fn server_key(&self) -> Result<PublicKey, SyncError> {
        let resp = self
            .http
            .get(format!("{}/api/v1/server", self.url))
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport)?;
        let server: ServerKey = parse_json(&answer(resp).await?.body)?;
        Ok(server.bureau_key)
    }

    /// `POST /api/v1/enrol`.
    pub(crate) async fn enrol(
        &self,
        request: &EnrolmentRequest,
    ) -> Result<EnrolmentResponse, SyncError> {
        let resp = self
            .http
            .post(format!("{}/api/v1/enrol", self.url))
            .timeout(REQUEST_TIMEOUT)
            .json(request)
            .send()
            .await
            .map_err(transport)?;
        parse_json(&answer(resp).await?.body)
    }

    /// `PUT /api/v1/leads/{id}` with the upload's JSON body.
    pub(crate) async fn put_lead(
        &self,
        id: LeadId,
        body: Vec<u8>,
    ) -> Result<(PutLeadResponse, Option<DateTime<Utc>>), SyncError> {
        let resp = self
            .http
            .put(format!("{}/api/v1/leads/{id}", self.url))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(REQUEST_TIMEOUT)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let a = answer(resp).await?;
        Ok((parse_json(&a.body)?, a.date))
    }

    /// `GET /api/v1/leads/{id}`. The outer error is the request's own (no answer
    /// came: offline, timeout); the inner one is the answer's (a refusal, too
    /// large), so a poller can skip a lead on the second and stop on the first.
    pub(crate) async fn lead_status(
        &self,
        id: LeadId,
    ) -> Result<Result<Answer, SyncError>, SyncError> {
        let resp = self
            .http
            .get(format!("{}/api/v1/leads/{id}", self.url))
            .bearer_auth(&self.token)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport)?;
        Ok(answer(resp).await)
    }

    /// `GET /api/v1/blobs/{sha256}`: how much of a blob the bureau holds.
    pub(crate) async fn blob_status(&self, sha: &Sha256) -> Result<BlobStatus, SyncError> {
        let resp = self
            .http
            .get(self.blob_url(sha))
            .bearer_auth(&self.token)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(transport)?;
        parse_json(&answer(resp).await?.body)
    }

    /// `PUT /api/v1/blobs/{sha256}`: the file's bytes from `offset` to `len`,
    /// streamed; `counter` counts the bytes handed to the network.
    pub(crate) async fn put_blob(
        &self,
        sha: &Sha256,
        file: &Path,
        offset: u64,
        len: u64,
        counter: Arc<AtomicU64>,
    ) -> Result<BlobStatus, SyncError> {
        let body = file_body(file, offset, len, counter)
            .map_err(|e| SyncError::Device(DeviceError::Io(e)))?;
        let resp = self
            .http
            .put(self.blob_url(sha))
            .bearer_auth(&self.token)
            .header(UPLOAD_OFFSET_HEADER, offset.to_string())
            .header(reqwest::header::CONTENT_LENGTH, (len - offset).to_string())
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        parse_json(&answer(resp).await?.body)
    }

    fn blob_url(&self, sha: &Sha256) -> String {
        format!("{}/api/v1/blobs/{sha}", self.url)
    }
}

fn transport(e: reqwest::Error) -> SyncError {
    if e.is_connect() {
        SyncError::Offline(root_cause(&e))
    } else if e.is_timeout() {
        SyncError::Timeout
    } else {
        SyncError::Network(root_cause(&e))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Reads a whole answer; a refusal becomes the matching error.
async fn answer(resp: reqwest::Response) -> Result<Answer, SyncError> {
    let status = resp.status().as_u16();
    let date = resp
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|t| t.with_timezone(&Utc));
    let body = read_capped(resp).await?;
    if (200..300).contains(&status) {
        return Ok(Answer { body, date });
    }
    let err: Option<ErrorBody> = serde_json::from_slice(&body).ok();
    let (code, message) = match err {
        Some(e) => {
            if e.code == ErrorCode::RateLimited {
                let secs = e
                    .detail
                    .as_ref()
                    .and_then(|d| d.get("retry_after_secs"))
                    .and_then(|v| v.as_u64())
                    .unwrap_or(BACKOFF_BASE_SECS);
                return Err(SyncError::RateLimited(secs));
            }
            (e.code, e.message)
        }
        None => (
            WireCode::Other(format!("http_{status}")),
            String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        ),
    };
    Err(match (status, code.known()) {
        (_, Some(ErrorCode::DeviceRevoked)) => SyncError::DeviceRevoked,
        (401, _) | (_, Some(ErrorCode::BadToken)) => SyncError::NotRecognised,
        (500.., _) | (408, _) => SyncError::Server { status, message },
        _ => SyncError::Refused {
            status,
            code,
            message,
        },
    })
}

/// The body, piece by piece as it arrives, up to [`MAX_ANSWER_BYTES`]: a longer
/// one (declared or actual) is refused and the connection dropped unread.
async fn read_capped(mut resp: reqwest::Response) -> Result<Bytes, SyncError> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(SyncError::AnswerTooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(SyncError::AnswerTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, SyncError> {
    serde_json::from_slice(body).map_err(|e| SyncError::BadResponse(e.to_string()))
}

/// The bytes of a file from `offset` to `len`, read in pieces as the connection
/// takes them (never the whole file in memory); `counter` counts what was read.
fn file_body(
    path: &Path,
    offset: u64,
    len: u64,
    counter: Arc<AtomicU64>,
) -> std::io::Result<reqwest::Body> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let file = tokio::fs::File::from_std(file);
    let stream = futures_util::stream::try_unfold(
        (file, len.saturating_sub(offset), counter),
        |(mut file, remaining, counter)| async move {
            use tokio::io::AsyncReadExt;
            if remaining == 0 {
                return Ok(None);
            }
            let mut buf = vec![0u8; BODY_CHUNK.min(remaining as usize)];
            let n = file.read(&mut buf).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "文件比锁定时短",
                ));
            }
            buf.truncate(n);
            counter.fetch_add(n as u64, Ordering::Relaxed);
            Ok::<_, std::io::Error>(Some((
                Bytes::from(buf),
                (file, remaining - n as u64, counter),
            )))
        },
    );
    Ok(reqwest::Body::wrap_stream(stream))
}
