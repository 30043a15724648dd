//! What the `fieldlead` command-line tests share: a tablet data folder holding a
//! sealed lead (one photo, two samplers' signatures, the business's refusal before a
//! witness), and running the real binary.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;
use std::process::{Command, Output};

use fieldlead_device::Device;
use fieldlead_domain::{Party, RecordDraft, SignedManifest};

/// The caption of the sealed lead's one photo.
pub const CAPTION: &str = "货架上的电线";
/// The witness before whom the business's person refused to sign.
pub const WITNESS: &str = "隔壁商户 刘七";

/// A signature image, distinct per seed; seed 1 also serves as the lead's photo.
pub fn png(seed: u8) -> Vec<u8> {
    fieldlead_domain::sample::signature_png(seed)
}

/// The sample record every test starts from.
pub fn draft() -> RecordDraft {
    fieldlead_domain::sample::terminated_draft()
}

/// The lead's one photo.
pub fn photo() -> Vec<u8> {
    png(1)
}

/// Records, signs and seals the sample lead on the tablet whose data folder is
/// `data`, as a sampler would on site.
pub fn seal_sample_lead(data: &Path) -> SignedManifest {
    let mut dev = Device::open(data).unwrap();
    let r = dev.create_record(draft()).unwrap();
    dev.attach_evidence_reader(r.id, Cursor::new(photo()), Some("a.png"), CAPTION)
        .unwrap();
    dev.sign(r.id, Party::Sampler1, &png(2)).unwrap();
    dev.sign(r.id, Party::Sampler2, &png(3)).unwrap();
    dev.record_refusal(r.id, WITNESS).unwrap();
    dev.seal(r.id).unwrap()
}

/// The `fieldlead` binary, to be given its arguments.
pub fn fieldlead() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fieldlead"))
}

/// Asserts that the command succeeded, showing its stderr if not.
pub fn assert_success(run: &Output) {
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}
