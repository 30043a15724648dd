//! The body of `PUT /api/v1/leads/{id}`, as the bureau receives it from anyone who
//! can reach it: parse, then every check the bureau runs before it trusts a lead.
//! None of it may panic, whatever the bytes.
#![no_main]

use fieldlead_domain::{check_signoffs, manifest_blobs, verify_chain, verify_lead, LeadUpload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(upload) = serde_json::from_slice::<LeadUpload>(data) else {
        return;
    };
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
