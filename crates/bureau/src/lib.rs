//! The district bureau's server (`fieldlead-bureau`): it enrols tablets, receives
//! their sealed leads over sync protocol v1, verifies every signature, chain link
//! and photo hash, issues signed receipts, and gives district officers, QA
//! reviewers and the city bureau a web console to review the evidence and record
//! how each lead was handled.
//!
//! Layers, top down: [`server`] (axum router, limits, timeouts) with [`api`] (JSON
//! for tablets) and [`console`] (server-rendered pages); [`service::Bureau`], the
//! use-cases, which check roles and districts and write the audit log, in the
//! words of [`model`] (districts, users, devices, leads and their handling);
//! [`storage::Storage`] (the embedded SQLite with group commit, or a city's
//! PostgreSQL) and [`blobs::BlobStore`] (the data folder's content-addressed
//! store, or an S3-compatible bucket), both with resumable, hash-checked uploads
//! that several instances can share; [`ops`] backs up, restores and migrates. The rules
//! themselves (manifest, chain, receipt) live in `fieldlead-domain`; photo
//! analysis (EXIF, perceptual hash, thumbnails) in `fieldlead-evidence`.

#![forbid(unsafe_code)]

pub mod api;
pub mod blobs;
pub mod config;
pub mod console;
pub mod error;
pub mod exports;
pub mod import;
pub mod lock;
pub mod model;
pub mod ops;
pub mod qr;
pub mod ratelimit;
pub mod results_import;
pub mod secrets;
pub mod server;
pub mod service;
pub mod storage;
pub mod uploads;
pub mod verification;

pub use config::{Config, DataPaths};
pub use error::{BureauError, StorageError};
pub use model::Role;
pub use service::{Actor, Bureau, HandlingStep};
