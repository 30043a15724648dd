//! Analysis of received photos in the background: EXIF, perceptual hash, thumbnail.

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
                let result = tokio::task::spawn_blocking(move || b.analyse(sha)).await;
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

    /// Decodes one held blob and stores what it says. Runs on a blocking thread.
    pub fn analyse(&self, sha256: Sha256) -> Result<()> {
        let analysis = match self.blobs.analyse(&sha256) {
            Ok(a) => BlobAnalysis {
                format: Some(a.inspection.format.to_string()),
                width: a.inspection.width,
                height: a.inspection.height,
                exif: a.inspection.exif,
                phash: a.inspection.phash.map(|p| format!("{p:016x}")),
                thumbnail: a.thumbnail,
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
}
