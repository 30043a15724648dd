//! The sync protocol's parsers (crates/domain/src/protocol.rs, and the bureau key's
//! fingerprint from crypto.rs). The first byte picks the parser, the rest is its
//! input. Nothing may panic, and whatever is accepted serialises and parses back as
//! the same value.
#![no_main]

use fieldlead_domain::{
    BlobStatus, EnrolmentCode, EnrolmentInvite, EnrolmentRequest, EnrolmentResponse, ErrorBody,
    KeyFingerprint, LeadStatus, PublicKey, PutLeadResponse, Receipt, SignedLeadStatus, SigningKey,
};
use libfuzzer_sys::fuzz_target;
use serde::{de::DeserializeOwned, Serialize};

/// A fixed bureau key: receipts are checked against it, as a tablet checks them
/// against the key it was given at enrolment.
fn bureau_key() -> PublicKey {
    SigningKey::from_seed(&[0x5a; 32]).public_key()
}

/// Parses `bytes` as `T`; if accepted, checks the round trip and returns it.
fn json<T>(bytes: &[u8]) -> Option<T>
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let value: T = serde_json::from_slice(bytes).ok()?;
    let text = serde_json::to_vec(&value).expect("an accepted message serialises");
    let back: T = serde_json::from_slice(&text).expect("and parses again");
    assert_eq!(back, value);
    Some(value)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 11 {
        0 => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            if let Ok(invite) = EnrolmentInvite::parse_qr_text(text) {
                let again = EnrolmentInvite::parse_qr_text(&invite.to_qr_text())
                    .expect("an accepted invite's own QR text parses");
                assert_eq!(again, invite);
            }
        }
        1 => {
            let text = String::from_utf8_lossy(rest);
            if let Ok(code) = EnrolmentCode::parse(&text) {
                let shown = code.display_grouped();
                assert_eq!(EnrolmentCode::parse(&shown).as_ref(), Ok(&code));
                assert_eq!(code.as_str().len(), 12);
            }
        }
        2 => {
            // The bureau parses an enrolment strictly (no repeated keys): a subset
            // of what serde_json accepts, read the same way.
            let strict = fieldlead_domain::parse_strict::<EnrolmentRequest>(rest).ok();
            let lenient = json::<EnrolmentRequest>(rest);
            if strict.is_some() {
                assert_eq!(strict, lenient);
            }
            if let Some(request) = lenient {
                let _ = request.validate();
            }
        }
        3 => {
            let _ = json::<EnrolmentResponse>(rest);
        }
        4 => {
            if let Some(receipt) = json::<Receipt>(rest) {
                let _ = receipt.verify(&bureau_key());
            }
        }
        5 => {
            if let Some(status) = json::<LeadStatus>(rest) {
                if let Some(r) = &status.receipt {
                    let _ = r.verify(&bureau_key());
                }
            }
        }
        6 => {
            let _ = json::<BlobStatus>(rest);
        }
        7 => {
            if let Some(put) = json::<PutLeadResponse>(rest) {
                if let Some(r) = &put.receipt {
                    let _ = r.verify(&bureau_key());
                }
            }
        }
        8 => {
            let _ = json::<ErrorBody>(rest);
        }
        9 => {
            if let Some(signed) = json::<SignedLeadStatus>(rest) {
                let lead = signed.status.lead_id;
                let _ = signed.verify(&bureau_key(), lead);
            }
        }
        _ => {
            // A fingerprint as typed from a printout beside the QR code.
            let text = String::from_utf8_lossy(rest);
            if let Ok(fp) = KeyFingerprint::parse(&text) {
                let shown = fp.display_grouped();
                assert_eq!(KeyFingerprint::parse(&shown).ok(), Some(fp));
                assert_eq!(KeyFingerprint::parse(&shown.to_lowercase()).ok(), Some(fp));
                let _ = fp.matches(&bureau_key());
            }
        }
    }
});
