//! The body of `PUT /api/v1/leads/{id}`, as the bureau receives it from anyone who
//! can reach it: the strict parse the bureau uses (no repeated keys), then every
//! check the bureau runs before it trusts a lead. None of it may panic, whatever
//! the bytes.
#![no_main]

use fieldlead_domain::{
    check_signoffs, manifest_blobs, parse_strict, verify_chain, verify_lead, LeadUpload,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lenient = serde_json::from_slice::<LeadUpload>(data);
    let Ok(upload) = parse_strict::<LeadUpload>(data) else {
        return;
    };
    // The strict parse accepts a subset of what serde_json does, read the same way.
    assert_eq!(lenient.as_ref().ok(), Some(&upload));
    let _ = verify_lead(&upload.manifest, &upload.log);
    let _ = manifest_blobs(&upload.manifest.manifest);
    // verify_lead stops at the manifest signature, which fuzzed bytes never get
    // right; the checks after it are run on their own so they are reached too.
    let m = &upload.manifest.manifest;
    let _ = check_signoffs(&m.signoffs);
    let _ = verify_chain(m.lead_id, &upload.log, &m.device_key);
    let _ = m.hash();

    // What was accepted serialises and reads back as the same value.
    let again = serde_json::to_vec(&upload).expect("an accepted upload serialises");
    let back: LeadUpload = serde_json::from_slice(&again).expect("and parses again");
    assert_eq!(back, upload);
});
