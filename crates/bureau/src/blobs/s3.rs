//! The blob store on S3-compatible object storage, for a city's bureau run as
//! several instances on one bucket (issue 14). Under the configured prefix:
//!
//! - `blobs/{sha256}`: a held blob. It is written only after its bytes hashed to
//!   its name (one PUT for a blob smaller than a part, the completion of a
//!   multipart upload for a larger one), so an object there is always whole and
//!   verified; an unfinished multipart upload is invisible to readers.
//! - `uploads/{uploader}/{sha256}/{offset}`: a checkpoint of an unfinished upload,
//!   `offset` (20 digits) being the bytes it holds: the multipart upload's id and
//!   its finished parts, the digest's state over those parts, then the bytes after
//!   the last part. Any instance resumes from the highest checkpoint, so an upload
//!   survives a restart and continues wherever the load balancer sends the next
//!   request. A checkpoint is written after every part and when a request ends;
//!   the one superseded goes after its successor is written, never before.
//!
//! The client is `object_store`'s, driven by this store's own small runtime so the
//! blocking [`BlobStore`] calls work from any thread.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fieldlead_domain::Sha256;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, RetryConfig};
use serde::{Deserialize, Serialize};
use sha2_resumable::digest::common::hazmat::{SerializableState, SerializedState};
use sha2_resumable::Digest;

use super::{check_uploader, BlobStore, Upload};
use crate::error::{BureauError, StorageError};

/// Size of every multipart part but the last: above S3's 5 MiB floor, and the
/// most one upload holds in memory before sending it on.
pub const PART_SIZE: usize = 8 << 20;

/// The layout's version, written in every checkpoint.
const CHECKPOINT_FORMAT: u32 = 1;

/// What a checkpoint says before its tail bytes (one JSON line).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkpoint {
    format: u32,
    /// The multipart upload holding the parts (none while the upload is smaller
    /// than one part).
    upload_id: Option<String>,
    /// Each finished part's ETag, part `i` at index `i`; every part is `PART_SIZE`.
    parts: Vec<String>,
    /// The SHA-256 state over the parts' bytes, hex.
    digest_state: String,
}

/// An `s3://bucket/prefix` address, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Address {
    pub bucket: String,
    pub prefix: String,
}

impl S3Address {
    pub fn parse(url: &str) -> Result<S3Address, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("“{url}” 不是 s3://存储桶/前缀 形式的地址"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's own bucket naming rule.
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && bucket.as_bytes()[0].is_ascii_alphanumeric()
            && bucket.as_bytes()[bucket.len() - 1].is_ascii_alphanumeric();
        if !bucket_ok {
            return Err(format!(
                "存储桶名 “{bucket}” 不合 S3 的规则（3 到 63 个小写字母、数字、点或连字符）"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|s| s == "." || s == "..")
            || prefix.contains("//")
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
        {
            return Err(format!(
                "前缀 “{prefix}” 只能由字母、数字、-、_、. 和 / 组成，且不含空段、. 或 .."
            ));
        }
        Ok(S3Address {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

/// Unfinished uploads by uploader and blob: each one's checkpoints, oldest first.
type Uploads = BTreeMap<(String, Sha256), Vec<(u64, object_store::ObjectMeta)>>;

#[derive(Debug)]
struct Inner {
    s3: AmazonS3,
    prefix: Path,
    /// Drives the client's requests; shut down in the background on drop, so the
    /// store may be dropped anywhere, an async task included.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

#[derive(Debug, Clone)]
pub struct S3BlobStore {
    inner: Arc<Inner>,
}

fn object_error(key: &Path) -> impl FnOnce(object_store::Error) -> StorageError + '_ {
    move |e| StorageError::ObjectStore {
        key: key.to_string(),
        message: e.to_string(),
    }
}

fn is_not_found(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. })
}

impl Inner {
    /// Runs one request on the store's runtime and waits for it. Works from any
    /// thread: the request is spawned, and the caller waits on a plain channel.
    fn run<T: Send + 'static>(
        &self,
        request: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, StorageError> {
        let runtime = self.runtime.as_ref().ok_or(StorageError::WriterGone)?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = tx.send(request.await);
        });
        rx.recv().map_err(|_| StorageError::ObjectStore {
            key: self.prefix.to_string(),
            message: "对象存储客户端已停止".into(),
        })
    }

    fn blob_key(&self, sha256: &Sha256) -> Path {
        self.prefix.clone().join("blobs").join(sha256.to_hex())
    }

    fn uploads_key(&self) -> Path {
        self.prefix.clone().join("uploads")
    }

    fn upload_folder(&self, uploader: &str, sha256: &Sha256) -> Path {
        self.uploads_key().join(uploader).join(sha256.to_hex())
    }

    fn list(&self, prefix: Path) -> Result<Vec<object_store::ObjectMeta>, StorageError> {
        let s3 = self.s3.clone();
        let key = prefix.clone();
        self.run(async move {
            s3.list(Some(&key))
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
        })?
        .map_err(object_error(&prefix))
    }

    /// `uploads/{uploader}/{sha256}/{offset}` → its parts, if the name is one.
    fn checkpoint_name(&self, key: &Path) -> Option<(String, Sha256, u64)> {
        let parts: Vec<_> = key
            .prefix_match(&self.uploads_key())?
            .map(|p| p.as_ref().to_string())
            .collect();
        match parts.as_slice() {
            [uploader, sha, offset] if offset.len() == 20 => {
                Some((uploader.clone(), sha.parse().ok()?, offset.parse().ok()?))
            }
            _ => None,
        }
    }

    /// Every checkpoint under `prefix`, grouped by upload, each group's newest last.
    fn checkpoints(&self, prefix: Path) -> Result<Uploads, StorageError> {
        let mut groups: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for meta in self.list(prefix)? {
            if let Some((uploader, sha, offset)) = self.checkpoint_name(&meta.location) {
                groups
                    .entry((uploader, sha))
                    .or_default()
                    .push((offset, meta));
            }
        }
        for group in groups.values_mut() {
            group.sort_by_key(|(offset, _)| *offset);
        }
        Ok(groups)
    }

    fn get_bytes(&self, key: &Path) -> Result<Option<Bytes>, StorageError> {
        let (s3, k) = (self.s3.clone(), key.clone());
        match self.run(async move {
            match s3.get(&k).await {
                Ok(got) => got.bytes().await,
                Err(e) => Err(e),
            }
        })? {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(object_error(key)(e)),
        }
    }

    fn put_bytes(&self, key: &Path, bytes: Bytes) -> Result<(), StorageError> {
        let (s3, k) = (self.s3.clone(), key.clone());
        self.run(async move { s3.put(&k, PutPayload::from(bytes)).await })?
            .map(drop)
            .map_err(object_error(key))
    }

    /// Writes a blob under its content's name unless it is there already
    /// (`If-None-Match: *`; a store that ignores the condition writes the same
    /// bytes again, which is as good).
    fn create(&self, key: &Path, bytes: Bytes) -> Result<(), StorageError> {
        let (s3, k) = (self.s3.clone(), key.clone());
        let opts = PutOptions::from(PutMode::Create);
        match self.run(async move { s3.put_opts(&k, PutPayload::from(bytes), opts).await })? {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(object_error(key)(e)),
        }
    }

    fn delete(&self, key: &Path) -> Result<(), StorageError> {
        let (s3, k) = (self.s3.clone(), key.clone());
        match self.run(async move { s3.delete(&k).await })? {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(object_error(key)(e)),
        }
    }

    fn exists(&self, key: &Path) -> Result<bool, StorageError> {
        let (s3, k) = (self.s3.clone(), key.clone());
        match self.run(async move { s3.head(&k).await })? {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(object_error(key)(e)),
        }
    }

    fn abort(&self, blob: &Path, upload_id: &str) -> Result<(), StorageError> {
        let (s3, k, id) = (self.s3.clone(), blob.clone(), upload_id.to_string());
        match self.run(async move { s3.abort_multipart(&k, &id).await })? {
            Ok(()) => Ok(()),
            // Gone already: completed or aborted by another instance.
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(object_error(blob)(e)),
        }
    }

    /// Reads a checkpoint: its header and tail, or `None` if it is unreadable (a
    /// later format, a damaged object), which the caller treats as absent.
    fn read_checkpoint(
        &self,
        key: &Path,
        offset: u64,
    ) -> Result<Option<(Checkpoint, Vec<u8>)>, StorageError> {
        let Some(bytes) = self.get_bytes(key)? else {
            return Ok(None);
        };
        let parsed = bytes
            .iter()
            .position(|&b| b == b'\n')
            .and_then(|nl| {
                let header: Checkpoint = serde_json::from_slice(&bytes[..nl]).ok()?;
                Some((header, bytes[nl + 1..].to_vec()))
            })
            .filter(|(header, tail)| {
                header.format == CHECKPOINT_FORMAT
                    && (header.parts.len() * PART_SIZE + tail.len()) as u64 == offset
                    && tail.len() < PART_SIZE
                    && (header.upload_id.is_some() || header.parts.is_empty())
            });
        if parsed.is_none() {
            tracing::warn!(key = %key, "unreadable upload checkpoint ignored");
        }
        Ok(parsed)
    }

    /// Removes an upload's every checkpoint and aborts the multipart uploads they
    /// name, but `keep` (the one just completed); the checkpoints in `ours` name
    /// `keep` or none, and are not read.
    fn remove_upload(
        &self,
        uploader: &str,
        sha256: &Sha256,
        keep: Option<&str>,
        ours: &[&Path],
    ) -> Result<(), StorageError> {
        let folder = self.upload_folder(uploader, sha256);
        let blob = self.blob_key(sha256);
        let mut aborted: Vec<String> = keep.into_iter().map(str::to_string).collect();
        for group in self.checkpoints(folder)?.into_values() {
            for (offset, meta) in group {
                if ours.contains(&&meta.location) {
                    self.delete(&meta.location)?;
                    continue;
                }
                if let Some((
                    Checkpoint {
                        upload_id: Some(id),
                        ..
                    },
                    _,
                )) = self.read_checkpoint(&meta.location, offset)?
                {
                    if !aborted.contains(&id) {
                        self.abort(&blob, &id)?;
                        aborted.push(id);
                    }
                }
                self.delete(&meta.location)?;
            }
        }
        Ok(())
    }
}

impl S3BlobStore {
    /// Opens the store at `s3://bucket/prefix`; the endpoint, region and
    /// credentials come from the usual `AWS_*` variables in `env`
    /// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, and `AWS_ALLOW_HTTP=true` for an endpoint without
    /// TLS), read as `AmazonS3Builder::from_env` reads the process's.
    pub fn open(url: &str, env: &[(String, String)]) -> Result<S3BlobStore, StorageError> {
        let config = |message: String| StorageError::ObjectStore {
            key: url.to_string(),
            message,
        };
        let address = S3Address::parse(url).map_err(config)?;
        // reqwest's rustls takes the process's provider; ring is the one fieldlead
        // already ships. Installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new();
        for (name, value) in env {
            match name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                Ok(key) => builder = builder.with_config(key, value),
                Err(_) => tracing::debug!(name, "AWS variable not used by the object store"),
            }
        }
        let s3 = builder
            .with_bucket_name(&address.bucket)
            .with_retry(RetryConfig {
                backoff: Default::default(),
                max_retries: 4,
                retry_timeout: Duration::from_secs(30),
            })
            .build()
            .map_err(|e| config(format!("对象存储配置有误：{e}（检查 AWS_* 环境变量）")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fieldlead-s3")
            .enable_all()
            .build()
            .map_err(|e| config(format!("无法启动对象存储客户端：{e}")))?;
        let prefix = Path::parse(&address.prefix).map_err(|e| config(e.to_string()))?;
        Ok(S3BlobStore {
            inner: Arc::new(Inner {
                s3,
                prefix,
                runtime: Some(runtime),
            }),
        })
    }
}

impl S3BlobStore {
    /// An upload resumed from the newest readable of its `checkpoints` (oldest
    /// first), or a new one.
    fn resume(
        &self,
        uploader: &str,
        sha256: &Sha256,
        checkpoints: Vec<(u64, object_store::ObjectMeta)>,
    ) -> Result<S3Upload, StorageError> {
        let inner = &self.inner;
        let mut upload = S3Upload {
            inner: Arc::clone(inner),
            uploader: uploader.to_string(),
            sha256: *sha256,
            opened: None,
            written: None,
            upload_id: None,
            parts: Vec::new(),
            hasher: sha2_resumable::Sha256::new(),
            tail: Vec::new(),
        };
        let newest_first = checkpoints.into_iter().rev();
        for (offset, meta) in newest_first {
            let Some((header, tail)) = inner.read_checkpoint(&meta.location, offset)? else {
                continue;
            };
            let Some(hasher) = hex::decode(&header.digest_state)
                .ok()
                .and_then(|b| SerializedState::<sha2_resumable::Sha256>::try_from(&b[..]).ok())
                .and_then(|s| sha2_resumable::Sha256::deserialize(&s).ok())
            else {
                tracing::warn!(key = %meta.location, "upload checkpoint with a bad digest state ignored");
                continue;
            };
            upload.opened = Some(Opened {
                offset,
                key: meta.location,
                upload_id: header.upload_id.clone(),
            });
            upload.upload_id = header.upload_id;
            upload.parts = header.parts;
            upload.hasher = hasher;
            upload.tail = tail;
            break;
        }
        Ok(upload)
    }
}

impl BlobStore for S3BlobStore {
    fn contains(&self, sha256: &Sha256) -> Result<bool, StorageError> {
        self.inner.exists(&self.inner.blob_key(sha256))
    }

    fn partial_len(&self, uploader: &str, sha256: &Sha256) -> Result<u64, StorageError> {
        check_uploader(uploader)?;
        let folder = self.inner.upload_folder(uploader, sha256);
        Ok(self
            .inner
            .checkpoints(folder)?
            .into_values()
            .filter_map(|group| group.last().map(|(offset, _)| *offset))
            .max()
            .unwrap_or(0))
    }

    fn partial_bytes(&self, uploader: &str) -> Result<u64, StorageError> {
        check_uploader(uploader)?;
        let folder = self.inner.uploads_key().join(uploader);
        Ok(self
            .inner
            .checkpoints(folder)?
            .into_values()
            .filter_map(|group| group.last().map(|(offset, _)| *offset))
            .fold(0u64, u64::saturating_add))
    }

    fn open_upload(
        &self,
        uploader: &str,
        sha256: &Sha256,
    ) -> Result<Box<dyn Upload>, StorageError> {
        check_uploader(uploader)?;
        let folder = self.inner.upload_folder(uploader, sha256);
        let checkpoints = self.inner.checkpoints(folder)?.into_values().flatten();
        Ok(Box::new(self.resume(
            uploader,
            sha256,
            checkpoints.collect(),
        )?))
    }

    fn open_upload_with_others(
        &self,
        uploader: &str,
        sha256: &Sha256,
    ) -> Result<(Box<dyn Upload>, u64), StorageError> {
        check_uploader(uploader)?;
        // One listing of the uploader's folder serves both.
        let folder = self.inner.uploads_key().join(uploader);
        let mut ours = Vec::new();
        let mut others = 0u64;
        for ((_, sha), group) in self.inner.checkpoints(folder)? {
            if sha == *sha256 {
                ours = group;
            } else if let Some((offset, _)) = group.last() {
                others = others.saturating_add(*offset);
            }
        }
        Ok((Box::new(self.resume(uploader, sha256, ours)?), others))
    }

    fn sweep_partials(&self, max_age: Duration) -> Result<usize, StorageError> {
        let now = chrono::Utc::now();
        let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
        let mut removed = 0;
        for ((uploader, sha256), group) in self.inner.checkpoints(self.inner.uploads_key())? {
            let newest = group.iter().map(|(_, m)| m.last_modified).max();
            if newest.is_some_and(|t| now.signed_duration_since(t) > max_age) {
                self.inner.remove_upload(&uploader, &sha256, None, &[])?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn open(&self, sha256: &Sha256) -> Result<Box<dyn Read + Send>, StorageError> {
        let key = self.inner.blob_key(sha256);
        let (s3, k) = (self.inner.s3.clone(), key.clone());
        let stream = self
            .inner
            .run(async move { s3.get(&k).await.map(|got| got.into_stream()) })?
            .map_err(object_error(&key))?;
        Ok(Box::new(S3Reader {
            inner: Arc::clone(&self.inner),
            key,
            stream: Some(stream),
            chunk: Bytes::new(),
        }))
    }

    fn verify(&self, sha256: &Sha256) -> Result<bool, StorageError> {
        let (_, digest) =
            super::hash_reader(&mut self.open(sha256)?).map_err(|e| StorageError::ObjectStore {
                key: self.inner.blob_key(sha256).to_string(),
                message: e.to_string(),
            })?;
        Ok(digest == *sha256)
    }

    fn put(&self, bytes: &[u8]) -> Result<Sha256, StorageError> {
        let sha256 = Sha256::digest(bytes);
        let key = self.inner.blob_key(&sha256);
        self.inner.create(&key, Bytes::copy_from_slice(bytes))?;
        Ok(sha256)
    }

    fn ping(&self) -> Result<(), StorageError> {
        // A listing of a key that need not exist: the bucket is there and the
        // credentials are good (a missing bucket or a refusal is an error).
        let key = self.inner.prefix.clone().join("health");
        let (s3, k) = (self.inner.s3.clone(), key.clone());
        let answer = self.inner.run(async move {
            tokio::time::timeout(Duration::from_secs(5), s3.list_with_delimiter(Some(&k))).await
        })?;
        match answer {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(object_error(&key)(e)),
            Err(_) => Err(StorageError::ObjectStore {
                key: key.to_string(),
                message: "5 秒内无应答".into(),
            }),
        }
    }
}

/// A held blob streamed from the store.
struct S3Reader {
    inner: Arc<Inner>,
    key: Path,
    stream: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    chunk: Bytes,
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            let Some(mut stream) = self.stream.take() else {
                return Ok(0);
            };
            let (stream, next) = self
                .inner
                .run(async move {
                    let next = stream.next().await;
                    (stream, next)
                })
                .map_err(std::io::Error::other)?;
            match next {
                None => return Ok(0),
                Some(Err(e)) => {
                    return Err(std::io::Error::other(format!("{}：{e}", self.key)));
                }
                Some(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.stream = Some(stream);
                }
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// The checkpoint an upload resumed from.
struct Opened {
    offset: u64,
    key: Path,
    upload_id: Option<String>,
}

/// An upload in progress: whole parts go to the multipart upload as they fill,
/// the digest follows them, and the bytes after the last part wait in memory
/// until the next part fills, the request ends (a checkpoint) or the blob is
/// whole.
struct S3Upload {
    inner: Arc<Inner>,
    uploader: String,
    sha256: Sha256,
    /// The checkpoint the upload resumed from.
    opened: Option<Opened>,
    /// The latest checkpoint this upload wrote, if any.
    written: Option<Path>,
    upload_id: Option<String>,
    parts: Vec<String>,
    /// SHA-256 over the parts' bytes (the tail is added when it becomes a part).
    hasher: sha2_resumable::Sha256,
    tail: Vec<u8>,
}

impl S3Upload {
    fn parts_len(&self) -> u64 {
        (self.parts.len() * PART_SIZE) as u64
    }

    fn blob_key(&self) -> Path {
        self.inner.blob_key(&self.sha256)
    }

    /// The checkpoints this upload opened from or wrote: they name its own
    /// multipart upload, already dealt with by the caller.
    fn ours(&self) -> Vec<&Path> {
        let opened = self
            .opened
            .as_ref()
            .filter(|o| o.upload_id == self.upload_id)
            .map(|o| &o.key);
        opened.into_iter().chain(self.written.as_ref()).collect()
    }

    /// Sends `bytes` as the next part, creating the multipart upload on the first.
    fn send_part(&mut self, bytes: Vec<u8>) -> Result<(), StorageError> {
        let blob = self.blob_key();
        let id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let (s3, k) = (self.inner.s3.clone(), blob.clone());
                let id = self
                    .inner
                    .run(async move { s3.create_multipart(&k).await })?
                    .map_err(object_error(&blob))?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let (s3, k, index) = (self.inner.s3.clone(), blob.clone(), self.parts.len());
        let payload = PutPayload::from(bytes);
        let part = self
            .inner
            .run(async move { s3.put_part(&k, &id, index, payload).await })?
            .map_err(|e| self.gone(e))?;
        self.parts.push(part.content_id);
        Ok(())
    }

    /// A failed request on the multipart upload. If the upload is gone (a
    /// bucket lifecycle rule aborted it, or another instance finished it), its
    /// checkpoints would send every retry back to it: they go too, and the
    /// tablet's next try starts from zero.
    fn gone(&self, e: object_store::Error) -> StorageError {
        if !is_not_found(&e) {
            return object_error(&self.blob_key())(e);
        }
        if let Err(cleanup) = self
            .inner
            .remove_upload(&self.uploader, &self.sha256, None, &[])
        {
            tracing::warn!(error = %cleanup, "clearing the checkpoints of a vanished upload failed");
        }
        StorageError::ObjectStore {
            key: self.blob_key().to_string(),
            message: "对象存储中的分段上传已不存在（可能已被存储桶的生命周期规则清除），该文件将从头重新上传".into(),
        }
    }

    /// Writes where the upload stands, then deletes the checkpoint it replaces
    /// (the one opened from stays until the request ends: a refused request goes
    /// back to it).
    fn checkpoint(&mut self, superseding_opened: bool) -> Result<(), StorageError> {
        let offset = self.offset();
        let key = self
            .inner
            .upload_folder(&self.uploader, &self.sha256)
            .join(format!("{offset:020}"));
        let header = Checkpoint {
            format: CHECKPOINT_FORMAT,
            upload_id: self.upload_id.clone(),
            parts: self.parts.clone(),
            digest_state: hex::encode(self.hasher.serialize().as_slice()),
        };
        let mut body = serde_json::to_vec(&header)
            .map_err(|e| StorageError::Corrupt(format!("checkpoint: {e}")))?;
        body.push(b'\n');
        body.extend_from_slice(&self.tail);
        self.inner.put_bytes(&key, Bytes::from(body))?;
        if let Some(old) = self.written.replace(key.clone()) {
            if old != key {
                self.inner.delete(&old)?;
            }
        }
        if superseding_opened {
            if let Some(opened) = self.opened.take() {
                if opened.key != key {
                    self.inner.delete(&opened.key)?;
                }
            }
        }
        Ok(())
    }
}

impl Upload for S3Upload {
    fn offset(&self) -> u64 {
        self.parts_len() + self.tail.len() as u64
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        self.tail.extend_from_slice(bytes);
        while self.tail.len() >= PART_SIZE {
            let rest = self.tail.split_off(PART_SIZE);
            let part = std::mem::replace(&mut self.tail, rest);
            self.hasher.update(&part);
            self.send_part(part)?;
            // What a crash or a kill would otherwise cost: the parts since the
            // last checkpoint.
            let tail = std::mem::take(&mut self.tail);
            let written = self.checkpoint(false);
            self.tail = tail;
            written?;
        }
        Ok(())
    }

    fn pause(mut self: Box<Self>) -> Result<(), StorageError> {
        let offset = self.offset();
        let at_opened = self.opened.as_ref().is_some_and(|o| o.offset == offset);
        if offset == 0 || (at_opened && self.written.is_none()) {
            return Ok(());
        }
        self.checkpoint(true)
    }

    fn abandon_to(self: Box<Self>, len: u64) -> Result<(), StorageError> {
        let inner = Arc::clone(&self.inner);
        if len == 0 {
            if let Some(id) = &self.upload_id {
                inner.abort(&self.blob_key(), id)?;
            }
            return inner.remove_upload(&self.uploader, &self.sha256, None, &self.ours());
        }
        let Some(opened) = self.opened.as_ref().filter(|o| o.offset == len) else {
            return Err(StorageError::Corrupt(format!(
                "无法把对象存储中的上传截回 {len} 字节：只能回到本次请求开始时的检查点"
            )));
        };
        // Back to the checkpoint opened from: later ones go. Parts sent since are
        // left for the next request to overwrite under the same numbers, unless
        // they went to a multipart upload this request started.
        if let Some(written) = self.written.as_ref().filter(|w| **w != opened.key) {
            inner.delete(written)?;
        }
        if let Some(id) = self
            .upload_id
            .as_ref()
            .filter(|id| opened.upload_id.as_ref() != Some(id))
        {
            inner.abort(&self.blob_key(), id)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<Option<Bytes>, BureauError> {
        let tail = std::mem::take(&mut self.tail);
        let mut hasher = self.hasher.clone();
        hasher.update(&tail);
        let digest: [u8; 32] = hasher.finalize().into();
        let inner = Arc::clone(&self.inner);
        let blob = self.blob_key();
        if Sha256::from_bytes(digest) != self.sha256 {
            if let Some(id) = &self.upload_id {
                inner.abort(&blob, id)?;
            }
            inner.remove_upload(&self.uploader, &self.sha256, None, &self.ours())?;
            return Err(BureauError::HashMismatch);
        }
        // No HEAD first: the bytes hashed to the key's name, so writing a blob
        // that is held already (another district's upload) changes nothing.
        let mut whole = None;
        if let Some(id) = self.upload_id.clone() {
            if !tail.is_empty() {
                self.send_part(tail)?;
            }
            let parts = self
                .parts
                .iter()
                .map(|etag| PartId {
                    content_id: etag.clone(),
                })
                .collect::<Vec<_>>();
            let (s3, k) = (inner.s3.clone(), blob.clone());
            inner
                .run(async move { s3.complete_multipart(&k, &id, parts).await })?
                .map_err(|e| self.gone(e))?;
        } else {
            let bytes = Bytes::from(tail);
            inner.create(&blob, bytes.clone())?;
            whole = Some(bytes);
        }
        // An upload that came whole in one request left no checkpoint to clear.
        if self.opened.is_some() || self.written.is_some() {
            inner.remove_upload(
                &self.uploader,
                &self.sha256,
                self.upload_id.as_deref(),
                &self.ours(),
            )?;
        }
        Ok(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert_eq!(
            S3Address::parse("s3://fieldlead-city/bureau/").unwrap(),
            S3Address {
                bucket: "fieldlead-city".into(),
                prefix: "bureau".into()
            }
        );
        assert_eq!(S3Address::parse("s3://photos").unwrap().prefix, "");
        for bad in [
            "http://photos",
            "s3://",
            "s3://Photos",
            "s3://ph",
            "s3://-photos",
            "s3://photos/a/../b",
            "s3://photos/a//b",
            "s3://photos/空格",
        ] {
            assert!(S3Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_digest_state_survives_a_round_trip_at_any_length() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        for cut in [0, 1, 63, 64, 65, 500, 1000] {
            let mut first = sha2_resumable::Sha256::new();
            first.update(&data[..cut]);
            let saved = hex::encode(first.serialize().as_slice());
            let bytes = hex::decode(saved).unwrap();
            let state = SerializedState::<sha2_resumable::Sha256>::try_from(&bytes[..]).unwrap();
            let mut resumed = sha2_resumable::Sha256::deserialize(&state).unwrap();
            resumed.update(&data[cut..]);
            let digest: [u8; 32] = resumed.finalize().into();
            assert_eq!(
                Sha256::from_bytes(digest),
                Sha256::digest(&data),
                "cut at {cut}"
            );
        }
    }
}
