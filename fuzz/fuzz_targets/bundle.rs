//! Lead bundle import (crates/evidence/src/bundle.rs): a zip from a USB stick, as
//! the bureau opens it. Open, verify with and without the bureau key, and stream
//! every blob. Never panic, never hang, never hold an entry whole in memory: a
//! zip bomb must be refused by the bundle code itself.
#![no_main]

use std::io::{Cursor, Read};

use fieldlead_domain::SigningKey;
use fieldlead_evidence::bundle::Bundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The same code path as Bundle::open, without a file per input.
    let Ok(mut bundle) = Bundle::from_reader(Cursor::new(data)) else {
        return;
    };
    let _ = bundle.verify(None);
    let key = SigningKey::from_seed(&[0x5a; 32]).public_key();
    let _ = bundle.verify(Some(&key));
    for b in bundle.blobs() {
        if let Ok(Some(mut r)) = bundle.blob(&b.sha256) {
            let _ = std::io::copy(&mut r, &mut std::io::sink());
        }
    }
    // Reading a missing or corrupt entry is an error, not a panic.
    let _ = bundle
        .blob(&fieldlead_domain::Sha256::digest(data))
        .map(|r| r.map(|mut r| r.read(&mut [0u8; 16])));
});
