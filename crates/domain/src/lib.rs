//! The pure rules and types of fieldlead, shared by the tablet and the bureau:
//! identifiers that can only hold valid values (USCC, production licence, CCC
//! certificate, SHA-256, ids), the sampling record and its termination grounds,
//! lead states, the hash-chained audit log and the sealed manifest, with the one
//! verify function ([`verify_lead`]) both sides use, and the sync protocol messages
//! with the bureau's signed receipt and its error codes ([`protocol`]). A rule both
//! sides need lives here once: the handling form's field rules ([`handling`]),
//! the wire names of every closed set ([`wire`]), money in 万元 ([`money`]), UTC+8
//! ([`time`]), the testing institute's result lists read into checked results
//! ([`inspection`]). The `sample` feature adds the sample record, photos and sealed lead
//! every test and benchmark starts from. No I/O lives here.

pub mod audit;
pub mod calendar;
pub mod canonical;
pub mod crypto;
pub mod geo;
pub mod handling;
pub mod ids;
pub mod inspection;
pub mod labels;
pub mod lead;
pub mod manifest;
pub mod money;
pub mod postprocess;
pub mod protocol;
pub mod record;
#[cfg(feature = "sample")]
pub mod sample;
pub mod text;
pub mod time;
pub mod wire;

pub use audit::{parse_log, verify_chain, ChainError, ChainFault, LogEntry, LogEvent, SignedEntry};
pub use canonical::{
    canonical_hash, canonical_json, parse_strict, CanonicalError, StrictJsonError,
};
pub use crypto::{KeyError, KeyFingerprint, PublicKey, Signature, SigningKey};
pub use geo::{GeoError, GeoPoint};
pub use ids::{
    CaseId, CccCertificate, DeviceId, DocumentId, IdError, LeadId, LicenceKind, ProductionLicence,
    Sha256, TransferId, Uscc,
};
pub use inspection::{
    results_from_table, results_from_table_at, BusinessKind, CellProblem, InspectionResult,
};
pub use lead::LeadState;
pub use manifest::{
    check_signoffs, verify_lead, EvidenceEntry, LogHead, Manifest, Party, SignedManifest, Signoff,
    SignoffKind, VerifyError, ACCEPTED_MANIFEST_FORMATS, MANIFEST_FORMAT,
};
pub use protocol::{
    manifest_blobs, BlobKind, BlobRef, BlobStatus, CanonicalUpload, Decision, DistrictInfo,
    EnrolmentCode, EnrolmentInvite, EnrolmentRequest, EnrolmentResponse, ErrorBody, ErrorCode,
    LeadStatus, LeadUpload, ProtocolError, PutLeadResponse, Receipt, ReceiptBody, ReceiptError,
    SignedLeadStatus, StatusError, WireCode, LEAD_STATUS_FORMAT, PROTOCOL_VERSION, RECEIPT_FORMAT,
    UPLOAD_OFFSET_HEADER,
};
pub use record::{
    Business, BusinessRole, FieldProblem, Ground, MustNotSampleGround, NominalProducer, Outcome,
    OutcomeKind, Place, Product, Record, RecordDraft, RefusalKind, Sampler, SpotCheckTask,
    TaskLevel,
};
pub use wire::UnknownName;
