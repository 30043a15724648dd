//! A lead's evidence: originals streamed from the blob store, and thumbnails.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;

use super::leads::{lead_id, sha};
use super::{PageResult, Session};
use crate::api::blocking;
use crate::error::BureauError;
use crate::service::Bureau;

/// Evidence is personal data in a penalty case: never kept by a shared or
/// proxy cache, nor left in an office PC's browser cache after the session.
const EVIDENCE_CACHE: &str = "no-store";

pub(crate) async fn blob(
    State(app): State<Arc<Bureau>>,
    s: Session,
    Path((id, sha_text)): Path<(String, String)>,
) -> PageResult {
    let (id, sha) = (lead_id(&id)?, sha(&sha_text)?);
    let a = Arc::clone(&app);
    let (len, reader) = blocking(move || a.blob_for(&s.user, id, sha)).await?;
    let (head, body) = stream_reader(reader).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                fieldlead_evidence::content_type(&head).to_string(),
            ),
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

pub(crate) async fn thumbnail(
    State(app): State<Arc<Bureau>>,
    s: Session,
    Path((id, sha_text)): Path<(String, String)>,
) -> PageResult {
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
