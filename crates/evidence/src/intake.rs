//! The intake pipeline: read once, then hash-and-store on one core while the other
//! decodes, and keep the original only if the photo proves usable.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::thread;

use fieldlead_domain::Sha256;
use serde::{Deserialize, Serialize};

use crate::error::IntakeError;
use crate::metadata::ExifSummary;
use crate::photo;
use crate::sniff::{self, Format};
use crate::store::EvidenceStore;

/// Caps that keep a hostile or absurd file from exhausting a tablet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeLimits {
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// Largest accepted picture, in pixels (width x height).
    pub max_pixels: u64,
    /// A file declaring more than a megapixel and more pixels per byte than this
    /// is a decompression bomb, whether or not it is over `max_pixels`. No camera
    /// codec stores a megapixel in under a kilobyte.
    pub max_pixels_per_byte: u64,
    /// Most memory the decoder may allocate, in bytes.
    pub max_alloc: u64,
}

impl Default for IntakeLimits {
    fn default() -> Self {
        IntakeLimits {
            max_bytes: 200 * 1024 * 1024,
            max_pixels: 100_000_000,
            max_pixels_per_byte: 1024,
            // 100 MP at 8 bytes per pixel (16-bit RGBA PNG) plus working room.
            max_alloc: 1024 * 1024 * 1024,
        }
    }
}

impl IntakeLimits {
    pub(crate) fn image_limits(&self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_alloc = Some(self.max_alloc);
        limits
    }
}

/// A thumbnail stored beside its original.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    /// Digest of the thumbnail JPEG, which is itself in the store.
    pub sha256: Sha256,
    pub width: u32,
    pub height: u32,
}

/// A thumbnail that was rendered but not stored (see [`inspect_path`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailImage {
    pub width: u32,
    pub height: u32,
    #[serde(skip)]
    pub jpeg: Vec<u8>,
}

/// A photo taken into the store.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    pub sha256: Sha256,
    pub bytes: u64,
    pub format: Format,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// False for HEIC: stored and hashed, but not decoded, so no thumbnail.
    pub preview: bool,
    pub exif: ExifSummary,
    pub thumbnail: Option<Thumbnail>,
    /// 64-bit perceptual hash; 16 hex characters in JSON, since JavaScript numbers
    /// cannot hold 64 bits.
    #[serde(with = "crate::phash::hex_opt")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub phash: Option<u64>,
}

/// The same analysis as an intake, with nothing stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    pub sha256: Sha256,
    pub bytes: u64,
    pub format: Format,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub preview: bool,
    pub exif: ExifSummary,
    pub thumbnail: Option<ThumbnailImage>,
    #[serde(with = "crate::phash::hex_opt")]
    pub phash: Option<u64>,
}

/// Everything learnt from the bytes except their digest.
#[derive(Debug)]
struct Analysis {
    format: Format,
    width: Option<u32>,
    height: Option<u32>,
    exif: ExifSummary,
    thumbnail: Option<ThumbnailImage>,
    phash: Option<u64>,
}

impl EvidenceStore {
    /// Takes in the photo at `path`; its file name is checked against its format.
    pub fn intake_path(&self, path: &Path) -> Result<Intake, IntakeError> {
        let bytes = read_path(path, &self.limits)?;
        self.intake_bytes(&bytes, path.file_name().and_then(|n| n.to_str()))
    }

    /// Takes in a photo from a stream (an upload, the camera); `name_hint` is its
    /// file name if it has one.
    pub fn intake_reader(
        &self,
        reader: impl Read,
        name_hint: Option<&str>,
    ) -> Result<Intake, IntakeError> {
        let bytes = read_all(
            reader,
            None,
            name_hint.unwrap_or("（数据流）"),
            &self.limits,
        )?;
        self.intake_bytes(&bytes, name_hint)
    }

    fn intake_bytes(&self, bytes: &[u8], name_hint: Option<&str>) -> Result<Intake, IntakeError> {
        let format = classify(bytes, name_hint)?;
        let (staged, analysis) = thread::scope(|s| {
            let writer = s.spawn(|| self.stage(bytes));
            let analysis = analyse(bytes, format, &self.limits);
            let staged = writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (staged, analysis)
        });
        let (staged, analysis) = match (staged, analysis) {
            (Ok(staged), Ok(analysis)) => (staged, analysis),
            (Ok(staged), Err(refused)) => {
                self.discard(staged);
                return Err(refused);
            }
            // A bad photo is what the sampler must fix first, even if the disk also failed.
            (Err(_), Err(refused)) => return Err(refused),
            (Err(store), Ok(_)) => return Err(store.into()),
        };
        let sha256 = staged.sha256;
        // Here too, so a crash test stops before the thumbnail's temp file exists.
        crate::store::failpoint("evidence_before_rename");
        // Both fsync a file or a directory: wait for the disk twice in parallel, not in turn.
        let (committed, thumbnail) = thread::scope(|s| {
            let thumbnail = analysis.thumbnail.as_ref().map(|t| {
                s.spawn(|| {
                    self.put_bytes(&t.jpeg).map(|sha256| Thumbnail {
                        sha256,
                        width: t.width,
                        height: t.height,
                    })
                })
            });
            let committed = self.commit(staged);
            let thumbnail = thumbnail.map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            (committed, thumbnail)
        });
        committed?;
        let thumbnail = thumbnail.transpose()?;
        Ok(Intake {
            sha256,
            bytes: bytes.len() as u64,
            format: analysis.format,
            width: analysis.width,
            height: analysis.height,
            preview: analysis.format != Format::Heic,
            exif: analysis.exif,
            thumbnail,
            phash: analysis.phash,
        })
    }
}

/// Analyses the photo at `path` exactly as an intake would, storing nothing.
pub fn inspect_path(path: &Path) -> Result<Inspection, IntakeError> {
    inspect_path_with_limits(path, &IntakeLimits::default())
}

/// [`inspect_path`] with other limits.
pub fn inspect_path_with_limits(
    path: &Path,
    limits: &IntakeLimits,
) -> Result<Inspection, IntakeError> {
    let bytes = read_path(path, limits)?;
    inspect(&bytes, path.file_name().and_then(|n| n.to_str()), limits)
}

/// [`inspect_path`] for a photo already in memory, which has no file name to check
/// its format against. Default limits.
pub fn inspect_bytes(bytes: &[u8]) -> Result<Inspection, IntakeError> {
    let limits = IntakeLimits::default();
    if bytes.len() as u64 > limits.max_bytes {
        return Err(IntakeError::TooLarge {
            bytes: bytes.len() as u64,
            max: limits.max_bytes,
        });
    }
    inspect(bytes, None, &limits)
}

fn inspect(
    bytes: &[u8],
    name_hint: Option<&str>,
    limits: &IntakeLimits,
) -> Result<Inspection, IntakeError> {
    let format = classify(bytes, name_hint)?;
    let (sha256, analysis) = thread::scope(|s| {
        let digest = s.spawn(|| Sha256::digest(bytes));
        let analysis = analyse(bytes, format, limits);
        let sha256 = digest
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (sha256, analysis)
    });
    let analysis = analysis?;
    Ok(Inspection {
        sha256,
        bytes: bytes.len() as u64,
        format: analysis.format,
        width: analysis.width,
        height: analysis.height,
        preview: analysis.format != Format::Heic,
        exif: analysis.exif,
        thumbnail: analysis.thumbnail,
        phash: analysis.phash,
    })
}

fn read_path(path: &Path, limits: &IntakeLimits) -> Result<Vec<u8>, IntakeError> {
    let what = path.display().to_string();
    let unreadable = |source| IntakeError::Unreadable {
        what: what.clone(),
        source,
    };
    let file = File::open(path).map_err(unreadable)?;
    let len = file.metadata().map_err(unreadable)?.len();
    if len > limits.max_bytes {
        return Err(IntakeError::TooLarge {
            bytes: len,
            max: limits.max_bytes,
        });
    }
    read_all(file, Some(len), &what, limits)
}

/// Reads at most one byte past the cap, so an endless stream cannot fill memory.
fn read_all(
    reader: impl Read,
    size_hint: Option<u64>,
    what: &str,
    limits: &IntakeLimits,
) -> Result<Vec<u8>, IntakeError> {
    let capacity = size_hint.unwrap_or(0).min(limits.max_bytes) as usize;
    let mut bytes = Vec::with_capacity(capacity);
    reader
        .take(limits.max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| IntakeError::Unreadable {
            what: what.to_string(),
            source,
        })?;
    if bytes.len() as u64 > limits.max_bytes {
        return Err(IntakeError::TooLarge {
            bytes: bytes.len() as u64,
            max: limits.max_bytes,
        });
    }
    Ok(bytes)
}

/// The format from the bytes, checked against the file name. Cheap, so it runs
/// before anything is written: a non-image never touches the disk.
fn classify(bytes: &[u8], name_hint: Option<&str>) -> Result<Format, IntakeError> {
    if bytes.is_empty() {
        return Err(IntakeError::Empty);
    }
    let format = sniff::sniff(bytes).ok_or(IntakeError::NotAnImage)?;
    if let Some(extension) = name_hint.and_then(sniff::extension_of) {
        if !format.extensions().contains(&extension.as_str()) {
            return Err(IntakeError::ExtensionMismatch {
                extension,
                actual: format,
            });
        }
    }
    Ok(format)
}

fn analyse(bytes: &[u8], format: Format, limits: &IntakeLimits) -> Result<Analysis, IntakeError> {
    let exif = ExifSummary::read(bytes);
    if format == Format::Heic {
        return Ok(Analysis {
            format,
            width: None,
            height: None,
            exif,
            thumbnail: None,
            phash: None,
        });
    }
    let rendered = photo::render(bytes, format, limits, exif.orientation)?;
    Ok(Analysis {
        format,
        width: Some(rendered.width),
        height: Some(rendered.height),
        exif,
        thumbnail: Some(ThumbnailImage {
            width: rendered.thumbnail_width,
            height: rendered.thumbnail_height,
            jpeg: rendered.thumbnail_jpeg,
        }),
        phash: Some(rendered.phash),
    })
}
