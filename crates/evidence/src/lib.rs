//! Photo intake for fieldlead: the evidence a sampler photographs, taken in once and
//! never rewritten. [`EvidenceStore::intake_path`] reads a photo into memory once,
//! sniffs its format from the bytes (JPEG, PNG, WebP; HEIC/HEIF kept as opaque bytes
//! without a preview), checks the declared size before decoding, decodes fully under
//! [`image::Limits`], reads the EXIF capture time, camera, GPS and orientation, and
//! derives an orientation-corrected JPEG thumbnail and a 64-bit perceptual hash from
//! one downscaled image. Meanwhile a second thread hashes the original with SHA-256
//! and writes it durably (temp file, fsync, rename, fsync directory) into a
//! content-addressed store (`objects/ab/cdef...`), so identical bytes are stored
//! once. Every bad input is a distinct [`IntakeError`] with a stable code, and a
//! refused photo leaves nothing in the store. [`inspect_path`] runs the same
//! analysis and stores nothing; [`inspect_bytes`] does so for bytes in memory.
//!
//! [`bundle`] packs a sealed lead with its blobs into one zip file for a USB stick
//! and verifies such a file offline.
//!
//! Crash tests: with the cargo feature `failpoints` (off by default) and
//! `FIELDLEAD_FAILPOINT=evidence_before_rename` in the environment, the process
//! aborts after a blob's temp file is written and fsynced, before its rename.

pub mod bundle;
mod error;
mod intake;
mod metadata;
mod phash;
mod photo;
mod sniff;
mod store;

pub use error::{IntakeError, StoreError};
pub use intake::{
    inspect_bytes, inspect_path, inspect_path_with_limits, Inspection, Intake, IntakeLimits,
    Thumbnail, ThumbnailImage,
};
pub use metadata::{ExifSummary, MetaSource};
pub use phash::{hamming, perceptual_hash};
pub use sniff::{content_type, Format};
pub use store::EvidenceStore;

/// Longest edge of a thumbnail, in pixels.
pub const THUMBNAIL_LONG_EDGE: u32 = 512;
