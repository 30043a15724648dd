//! Photo intake (crates/evidence): format sniffing, EXIF reading, the structure
//! checks and the bounded decode, thumbnail and perceptual hash, through
//! `inspect_bytes`, the same analysis `inspect_path` and an intake run. Default
//! limits, as on a tablet. No input may panic, hang or exhaust memory.
#![no_main]

use fieldlead_evidence::{inspect_bytes, ExifSummary};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // EXIF is read from any container, also ones the intake would then refuse.
    let _ = ExifSummary::read(data);
    if let Ok(inspection) = inspect_bytes(data) {
        assert_eq!(inspection.bytes, data.len() as u64);
        if let Some(t) = &inspection.thumbnail {
            assert!(t.width.max(t.height) <= fieldlead_evidence::THUMBNAIL_LONG_EDGE);
            assert!(t.width > 0 && t.height > 0);
        }
    }
});
