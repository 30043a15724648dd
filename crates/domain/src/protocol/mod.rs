//! Sync protocol v1 between a tablet and its district bureau: the messages both
//! sides serialise, and the bureau's signed receipt with the one function that
//! verifies it.
//!
//! The flow: enrol once with a one-time code ([`EnrolmentRequest`] ->
//! [`EnrolmentResponse`]), taken from an [`EnrolmentInvite`] that also carries the
//! fingerprint of the bureau's key, so the tablet knows the answer came from that
//! bureau; `PUT /api/v1/leads/{id}` with a [`LeadUpload`] ->
//! [`PutLeadResponse`] naming the missing blobs; `PUT /api/v1/blobs/{sha256}` for
//! each, resumable from the [`BlobStatus::offset`] the bureau reports (send the
//! offset in [`UPLOAD_OFFSET_HEADER`]); once every blob is present the bureau
//! returns a [`Receipt`] signed with its key; `GET /api/v1/leads/{id}` gives the
//! [`LeadStatus`], signed the same way ([`SignedLeadStatus`]). Every refusal
//! carries an [`ErrorBody`] with a stable code.

mod enrolment;
mod errors;
mod receipt;
mod status;
mod upload;

pub use enrolment::{
    DistrictInfo, EnrolmentCode, EnrolmentInvite, EnrolmentRequest, EnrolmentResponse,
};
pub use errors::{ErrorBody, ErrorCode, ProtocolError, WireCode};
pub use receipt::{Receipt, ReceiptBody, ReceiptError};
pub use status::{Decision, LeadStatus, SignedLeadStatus, StatusError};
pub use upload::{
    manifest_blobs, BlobKind, BlobRef, BlobStatus, CanonicalUpload, LeadUpload, PutLeadResponse,
};

/// The protocol version this build speaks; also the path prefix `/api/v1`.
pub const PROTOCOL_VERSION: u32 = 1;
/// The version of the receipt layout.
pub const RECEIPT_FORMAT: u32 = 1;
/// The version of the signed lead status layout.
pub const LEAD_STATUS_FORMAT: u32 = 1;
/// Request header with the byte offset a blob upload body starts at (0 if absent).
pub const UPLOAD_OFFSET_HEADER: &str = "upload-offset";
/// Longest device label accepted at enrolment.
pub const MAX_DEVICE_LABEL_CHARS: usize = 100;

#[cfg(test)]
mod tests {
    #[test]
    fn wire_names_are_the_serde_names() {
        crate::wire::assert_names_match_serde(&super::BlobKind::ALL, |k| k.as_str());
        crate::wire::assert_names_match_serde(&super::Decision::ALL, |d| d.as_str());
        crate::wire::assert_names_match_serde(&crate::Party::ALL, |p| p.as_str());
    }
}
