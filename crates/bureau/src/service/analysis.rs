//! Analysis of received photos in the background: EXIF, perceptual hash, thumbnail.

use std::io::Read;

use fieldlead_evidence::{inspect_bytes, Inspection, IntakeError, IntakeLimits};

use super::*;

impl Bureau {
    /// Starts the background analysis worker and queues every blob not yet
    /// analysed. The worker holds the bureau: abort it to let the bureau go.
    pub fn start_analysis(self: &Arc<Self>) -> Result<tokio::task::JoinHandle<()>> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Sha256>();
        for sha in self.storage.unanalysed_blobs()? {
            let _ = tx.send(sha);
        }
        *self
            .analysis
            .lock()
            .map_err(|_| BureauError::Internal("analysis queue poisoned".into()))? = Some(tx);
        let bureau = Arc::clone(self);
        Ok(tokio::spawn(async move {
            while let Some(sha) = rx.recv().await {
                let b = Arc::clone(&bureau);
                let result = tokio::task::spawn_blocking(move || b.analyse_if_claimed(sha)).await;
                if let Ok(Err(e)) = result {
                    tracing::warn!(%sha, error = %e, "blob analysis failed");
                }
            }
        }))
    }

    pub(super) fn queue_analysis(&self, sha256: Sha256) {
        if let Ok(guard) = self.analysis.lock() {
            if let Some(tx) = guard.as_ref() {
                let _ = tx.send(sha256);
            }
        }
    }

    /// Analyses a blob if this instance wins the claim on it (another instance
    /// may be at it, or it is done); a claim runs out after ten minutes, so a
    /// crashed instance's work is taken up by the next sweep.
    fn analyse_if_claimed(&self, sha256: Sha256) -> Result<()> {
        const LEASE_MS: i64 = 10 * 60 * 1000;
        let now = crate::ratelimit::now_ms();
        if self
            .storage
            .claim_analysis(sha256, &self.instance, now, LEASE_MS)?
        {
            self.analyse(sha256)?;
        }
        Ok(())
    }

    /// Queues again every blob not yet analysed: those whose claim ran out with
    /// the instance that held it.
    pub fn requeue_analysis(&self) -> Result<usize> {
        let pending = self.storage.unanalysed_blobs()?;
        for sha in &pending {
            self.queue_analysis(*sha);
        }
        Ok(pending.len())
    }

    /// Decodes one held blob and stores what it says. Runs on a blocking thread.
    /// Bytes that are no usable image are recorded as such; a store that cannot
    /// be read is an error, and the blob stays queued for the next start.
    pub fn analyse(&self, sha256: Sha256) -> Result<()> {
        let analysis = match self.inspect_held(&sha256)? {
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
    ) -> Result<std::result::Result<(Inspection, Option<Sha256>), IntakeError>> {
        let max = IntakeLimits::default().max_bytes;
        let mut bytes = Vec::new();
        self.blobs
            .open(sha256)?
            .take(max + 1)
            .read_to_end(&mut bytes)
            .map_err(crate::error::StorageError::io(format!("blob {sha256}")))?;
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
