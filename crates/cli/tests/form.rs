//! `fieldlead form` prints the transfer form of a lead sealed on a tablet, from the
//! tablet's data folder alone, and refuses a draft with a clear message.

mod common;

use std::process::Command;

use common::*;
use fieldlead_device::Device;

#[test]
fn prints_the_form_of_a_sealed_lead_and_refuses_a_draft() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let sealed = seal_sample_lead(data.path());
    let draft_id = Device::open(data.path())
        .unwrap()
        .create_record(draft())
        .unwrap()
        .id;
    let pdf = out.path().join("form.pdf");
    let run = fieldlead()
        .args(["form", &sealed.manifest.lead_id.to_string(), "--data-dir"])
        .arg(data.path())
        .args(["--district", "渝中", "--seq", "7", "-o"])
        .arg(&pdf)
        .output()
        .unwrap();
    assert_success(&run);
    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed by scripts/setup");
    let text = String::from_utf8(text.stdout)
        .unwrap()
        .replace(char::is_whitespace, "");
    for needle in [
        "重庆某某五金经营部",
        "914403001922038216",
        "渝中移〔2026〕0007号",
        "刘七",
    ] {
        assert!(text.contains(needle), "{needle} missing from the PDF text");
    }

    let refused = fieldlead()
        .args(["form", &draft_id.to_string(), "--data-dir"])
        .arg(data.path())
        .arg("-o")
        .arg(out.path().join("draft.pdf"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("尚未锁定"));
    assert!(!out.path().join("draft.pdf").exists());
}
