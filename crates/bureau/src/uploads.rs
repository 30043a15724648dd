//! Receiving a blob's bytes from a tablet: resumable, hashed as it arrives, kept
//! only when the digest matches, and counted for the uploading device's district
//! only. Each device resumes its own partial file, so one tablet's wrong size or
//! junk bytes never block another's upload of the same photo.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fieldlead_domain::{BlobStatus, Sha256};
use futures_util::{Stream, StreamExt};

use crate::api::blocking;
use crate::error::{BureauError, Result};
use crate::model::EnrolledDevice;
use crate::service::{uploader, Bureau};
use crate::storage::BlobHolder;

/// Blob bytes are written to disk in pieces of about this size.
const WRITE_CHUNK: usize = 1 << 20;

/// A refused body this much over the limit is still read (and thrown away) before
/// the refusal goes out. Closing a socket with unread data resets the connection,
/// and the client would then see "connection reset" instead of the clear refusal.
pub const DRAIN_MAX: u64 = 1024 * 1024;

/// The most of a blob's body read ahead while its upload is being opened.
const EARLY_MAX: usize = 8 << 20;

/// Reads and discards up to `budget` bytes of a body, giving up after 5 s idle.
pub async fn drain<S, E>(stream: &mut S, mut budget: u64)
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
{
    while budget > 0 {
        match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
            Ok(Some(Ok(chunk))) => budget = budget.saturating_sub(chunk.len() as u64),
            _ => return,
        }
    }
}

/// What one `PUT` of blob bytes achieved.
#[derive(Debug, Clone)]
pub struct Received {
    /// True when this request completed the blob.
    pub completed_now: bool,
    pub status: BlobStatus,
}

impl Bureau {
    /// `PUT /api/v1/blobs/{sha256}`: appends `body` at `start` to the device's
    /// partial upload, hashing as it goes; at the declared size the digest decides
    /// whether the blob is kept.
    pub async fn receive_blob<S, E>(
        self: &Arc<Self>,
        device: EnrolledDevice,
        sha: Sha256,
        start: u64,
        content_length: Option<u64>,
        body: S,
    ) -> Result<Received>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin + Send,
        E: std::fmt::Display,
    {
        let holder = BlobHolder {
            district_id: device.district.id,
            device_id: Some(device.id),
        };
        let (expected, held_already) = {
            let (app, device) = (Arc::clone(self), device.clone());
            blocking(move || {
                let expected = app.expected_blob(&device, sha)?;
                Ok((
                    expected,
                    app.storage.district_holds(device.district.id, sha)?,
                ))
            })
            .await?
        };
        let complete = |completed_leads| BlobStatus {
            sha256: sha,
            bytes: expected,
            offset: expected,
            complete: true,
            completed_leads,
        };
        if held_already {
            // A retry after a lost answer: this district proved it holds the bytes.
            let app = Arc::clone(self);
            let completed = blocking(move || app.blob_stored(sha, expected, holder, None)).await?;
            return Ok(Received {
                completed_now: false,
                status: complete(completed),
            });
        }
        let name = uploader(device.id);
        let _slot = self.claim_upload(&name, sha)?;
        let mut opening = {
            let (app, name) = (Arc::clone(self), name.clone());
            let quota = self.config().device_partial_quota_bytes;
            tokio::task::spawn_blocking(move || -> Result<Box<dyn crate::blobs::Upload>> {
                let (mut upload, others) = app.blobs.open_upload_with_others(&name, &sha)?;
                if upload.offset() > expected {
                    // Junk from this device beyond the declared size: start over.
                    upload.abandon_to(0)?;
                    upload = app.blobs.open_upload(&name, &sha)?;
                }
                if others.saturating_add(expected) > quota {
                    upload.pause()?;
                    return Err(BureauError::Quota(format!(
                        "本设备未完成的上传已达 {} 字节的上限，请先完成已开始的上传",
                        quota
                    )));
                }
                Ok(upload)
            })
        };
        // The body is read while the store looks for this device's partial
        // uploads (a listing, one round trip to an object store): the two
        // overlap instead of adding up. What arrives meanwhile waits here, at
        // most EARLY_MAX bytes, and is handled below as if it came later.
        let mut body = body.fuse();
        let mut early: Vec<std::result::Result<Bytes, E>> = Vec::new();
        let mut early_len = 0usize;
        let opened = loop {
            if early_len >= EARLY_MAX || body.is_done() {
                break opening.await;
            }
            tokio::select! {
                biased;
                opened = &mut opening => break opened,
                next = body.next() => match next {
                    Some(Ok(chunk)) => {
                        early_len += chunk.len();
                        early.push(Ok(chunk));
                    }
                    Some(Err(e)) => {
                        early.push(Err(e));
                        break opening.await;
                    }
                    None => {}
                },
            }
        };
        let upload =
            opened.map_err(|e| BureauError::Internal(format!("upload store failed: {e}")))??;
        let mut body = futures_util::stream::iter(early).chain(body);
        let held = upload.offset();
        if start != held {
            blocking(move || Ok(upload.pause()?)).await?;
            return Err(BureauError::OffsetMismatch { held });
        }
        if let Some(n) =
            content_length.filter(|&n| held.checked_add(n).is_none_or(|end| end > expected))
        {
            blocking(move || Ok(upload.pause()?)).await?;
            if n.saturating_sub(expected - held) <= DRAIN_MAX {
                drain(&mut body, n).await;
            }
            return Err(BureauError::TooLarge {
                max: expected - held,
            });
        }
        let idle = Duration::from_secs(self.config().upload_idle_timeout_secs);
        // A blocking writer hashes and writes while the next chunks arrive.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
        let writer = tokio::task::spawn_blocking(move || {
            let mut upload = upload;
            let mut result = Ok(());
            while let Some(buf) = rx.blocking_recv() {
                if let Err(e) = upload.write(&buf) {
                    result = Err(e);
                    break;
                }
            }
            (upload, result)
        });
        let mut received = held;
        let mut buf: Vec<u8> = Vec::with_capacity(WRITE_CHUNK + 64 * 1024);
        let outcome: Result<()> = loop {
            if self.revoked_here(device.id) {
                break Err(BureauError::DeviceRevoked);
            }
            match tokio::time::timeout(idle, body.next()).await {
                Err(_) => break Err(BureauError::Timeout(idle.as_secs())),
                Ok(None) => break Ok(()),
                Ok(Some(Err(e))) => break Err(BureauError::Malformed(format!("上传中断：{e}"))),
                Ok(Some(Ok(chunk))) => {
                    received = received.saturating_add(chunk.len() as u64);
                    if received > expected {
                        drain(&mut body, DRAIN_MAX).await;
                        break Err(BureauError::TooLarge {
                            max: expected - held,
                        });
                    }
                    buf.extend_from_slice(&chunk);
                    if buf.len() >= WRITE_CHUNK {
                        let full = std::mem::replace(
                            &mut buf,
                            Vec::with_capacity(WRITE_CHUNK + 64 * 1024),
                        );
                        if tx.send(full).await.is_err() {
                            break Ok(());
                        }
                    }
                }
            }
        };
        let refused = matches!(
            outcome,
            Err(BureauError::TooLarge { .. } | BureauError::DeviceRevoked)
        );
        if !buf.is_empty() && !refused {
            let _ = tx.send(buf).await;
        }
        drop(tx);
        let (upload, written) = writer
            .await
            .map_err(|e| BureauError::Internal(format!("writer failed: {e}")))?;
        written?;
        match outcome {
            Err(e @ BureauError::TooLarge { .. }) => {
                // Nothing of a refused request is kept.
                blocking(move || Ok(upload.abandon_to(held)?)).await?;
                return Err(e);
            }
            Err(e @ BureauError::DeviceRevoked) => {
                // A revoked device leaves nothing behind.
                blocking(move || Ok(upload.abandon_to(0)?)).await?;
                return Err(e);
            }
            Err(e) => {
                // Keep what arrived: the tablet resumes from here.
                blocking(move || Ok(upload.pause()?)).await?;
                return Err(e);
            }
            Ok(()) => {}
        }
        let offset = upload.offset();
        if offset < expected {
            blocking(move || Ok(upload.pause()?)).await?;
            return Ok(Received {
                completed_now: false,
                status: BlobStatus {
                    sha256: sha,
                    bytes: expected,
                    offset,
                    complete: false,
                    completed_leads: Vec::new(),
                },
            });
        }
        let app = Arc::clone(self);
        let completed = blocking(move || {
            // Revoked meanwhile, perhaps by another process: the bytes do not count.
            let live = app
                .storage
                .device(device.id)?
                .is_some_and(|d| d.revoked_at.is_none());
            if !live {
                upload.abandon_to(0)?;
                return Err(BureauError::DeviceRevoked);
            }
            let whole = upload.finish()?;
            app.blob_stored(sha, expected, holder, whole)
        })
        .await?;
        Ok(Received {
            completed_now: true,
            status: complete(completed),
        })
    }
}
