//! Analysis of received photos in the background: EXIF, perceptual hash, thumbnail.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use fieldlead_evidence::{inspect_bytes, Inspection, IntakeError, IntakeLimits};

use super::*;

/// At most this many bytes of received blobs wait in the analysis queue; past
/// it a blob is queued by name and read back from the store.
const HANDED_MAX: u64 = 64 * 1024 * 1024;

/// A blob to analyse, with its bytes when the upload still had them in memory.
pub(crate) type Queued = (Sha256, Option<Handed>);

/// A received blob's bytes handed to the analysis, so an object store is not
/// asked for what passed through this process a moment ago. Counted in the
/// bureau's `analysis_bytes` until dropped.
pub(crate) struct Handed {
    bytes: Bytes,
    waiting: Arc<AtomicU64>,
}

impl Handed {
    fn new(bytes: Bytes, waiting: &Arc<AtomicU64>) -> Option<Handed> {
        let len = bytes.len() as u64;
        waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(len).filter(|&n| n <= HANDED_MAX)
            })
            .ok()?;
        Some(Handed {
            bytes,
            waiting: Arc::clone(waiting),
        })
    }
}

impl Drop for Handed {
    fn drop(&mut self) {
        self.waiting
            .fetch_sub(self.bytes.len() as u64, Ordering::AcqRel);
    }
}

impl Bureau {
    /// Starts the background analysis worker and queues every blob not yet
    /// analysed. The worker holds the bureau: abort it to let the bureau go.
    pub fn start_analysis(self: &Arc<Self>) -> Result<tokio::task::JoinHandle<()>> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Queued>();
        for sha in self.storage.unanalysed_blobs()? {
            let _ = tx.send((sha, None));
        }
        *self
            .analysis
            .lock()
            .map_err(|_| BureauError::Internal("analysis queue poisoned".into()))? = Some(tx);
        let bureau = Arc::clone(self);
        Ok(tokio::spawn(async move {
            while let Some((sha, handed)) = rx.recv().await {
                let b = Arc::clone(&bureau);
                let result =
                    tokio::task::spawn_blocking(move || b.analyse_if_claimed(sha, handed)).await;
                if let Ok(Err(e)) = result {
                    tracing::warn!(%sha, error = %e, "blob analysis failed");
                }
            }
        }))
    }

    /// Queues a blob for analysis, with its bytes if the caller has them and
    /// the queue's budget allows.
    pub(super) fn queue_analysis(&self, sha256: Sha256, whole: Option<Bytes>) {
        if let Ok(guard) = self.analysis.lock() {
            if let Some(tx) = guard.as_ref() {
                let handed = whole.and_then(|b| Handed::new(b, &self.analysis_bytes));
                let _ = tx.send((sha256, handed));
            }
        }
    }

    /// Analyses a blob if this instance wins the claim on it (another instance
    /// may be at it, or it is done); a claim runs out after ten minutes, so a
    /// crashed instance's work is taken up by the next sweep.
    fn analyse_if_claimed(&self, sha256: Sha256, handed: Option<Handed>) -> Result<()> {
        const LEASE_MS: i64 = 10 * 60 * 1000;
        let now = crate::ratelimit::now_ms();
        if self
            .storage
            .claim_analysis(sha256, &self.instance, now, LEASE_MS)?
        {
            // `handed` stays counted until the analysis is done with it.
            self.analyse_bytes(sha256, handed.as_ref().map(|h| h.bytes.clone()))?;
        }
        Ok(())
    }

    /// Queues again every blob not yet analysed: those whose claim ran out with
    /// the instance that held it.
    pub fn requeue_analysis(&self) -> Result<usize> {
        let pending = self.storage.unanalysed_blobs()?;
        for sha in &pending {
            self.queue_analysis(*sha, None);
        }
        Ok(pending.len())
    }

    /// Decodes one held blob and stores what it says. Runs on a blocking thread.
    /// Bytes that are no usable image are recorded as such; a store that cannot
    /// be read is an error, and the blob stays queued for the next start.
    pub fn analyse(&self, sha256: Sha256) -> Result<()> {
        self.analyse_bytes(sha256, None)
    }

    /// [`Bureau::analyse`], from `whole` when given (the blob's bytes, hashed to
    /// its name on receipt) instead of reading the store.
    fn analyse_bytes(&self, sha256: Sha256, whole: Option<Bytes>) -> Result<()> {
        let analysis = match self.inspect_held(&sha256, whole)? {
            Ok((inspection, thumbnail)) => BlobAnalysis {
                format: Some(inspection.format.to_string()),
                width: inspection.width,
                height: inspection.height,
                exif: inspection.exif,
                phash: inspection.phash.map(|p| format!("{p:016x}")),
                thumbnail,
                error: None,
            },
            Err(e) => BlobAnalysis {
                error: Some((e.code().to_string(), e.to_string())),
                ..BlobAnalysis::default()
            },
        };
        self.storage.set_blob_analysis(sha256, &analysis, now())?;
        Ok(())
    }

    /// Reads a held blob (never more than the inspection accepts) and inspects it
    /// with the evidence crate, as the tablet did at capture; keeps its
    /// thumbnail as a blob of its own.
    fn inspect_held(
        &self,
        sha256: &Sha256,
        whole: Option<Bytes>,
    ) -> Result<std::result::Result<(Inspection, Option<Sha256>), IntakeError>> {
        let max = IntakeLimits::default().max_bytes;
        let bytes = match whole {
            Some(b) => b.slice(..b.len().min(max as usize + 1)),
            None => {
                let mut bytes = Vec::new();
                self.blobs
                    .open(sha256)?
                    .take(max + 1)
                    .read_to_end(&mut bytes)
                    .map_err(crate::error::StorageError::io(format!("blob {sha256}")))?;
                Bytes::from(bytes)
            }
        };
        let inspection = match inspect_bytes(&bytes) {
            Ok(i) => i,
            Err(e) => return Ok(Err(e)),
        };
        let thumbnail = match &inspection.thumbnail {
            Some(t) => Some(self.blobs.put(&t.jpeg)?),
            None => None,
        };
        Ok(Ok((inspection, thumbnail)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handed_bytes_stay_within_the_budget_and_are_given_back_when_dropped() {
        let waiting = Arc::new(AtomicU64::new(0));
        let chunk = Bytes::from(vec![0u8; (HANDED_MAX / 2) as usize]);
        let a = Handed::new(chunk.clone(), &waiting).expect("fits");
        let b = Handed::new(chunk.clone(), &waiting).expect("fits exactly");
        assert_eq!(waiting.load(Ordering::Acquire), HANDED_MAX);
        assert!(Handed::new(Bytes::from_static(b"x"), &waiting).is_none());
        drop(a);
        assert_eq!(waiting.load(Ordering::Acquire), HANDED_MAX / 2);
        assert!(Handed::new(chunk, &waiting).is_some(), "room again");
        drop(b);
    }
}
