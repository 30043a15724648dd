//! `fieldlead form` prints the transfer form of a lead sealed on a tablet, from the
//! tablet's data folder alone, and refuses a draft with a clear message.

use std::io::Cursor;
use std::process::Command;

use fieldlead_device::Device;
use fieldlead_domain::{Party, RecordDraft};

fn png(seed: u8) -> Vec<u8> {
    fieldlead_domain::sample::signature_png(seed)
}

fn draft() -> RecordDraft {
    fieldlead_domain::sample::terminated_draft()
}

#[test]
fn prints_the_form_of_a_sealed_lead_and_refuses_a_draft() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (sealed, draft_id) = {
        let mut dev = Device::open(data.path()).unwrap();
        let r = dev.create_record(draft()).unwrap();
        dev.attach_evidence_reader(r.id, Cursor::new(png(1)), Some("a.png"), "货架上的电线")
            .unwrap();
        dev.sign(r.id, Party::Sampler1, &png(2)).unwrap();
        dev.sign(r.id, Party::Sampler2, &png(3)).unwrap();
        dev.record_refusal(r.id, "隔壁商户 刘七").unwrap();
        let m = dev.seal(r.id).unwrap();
        let d = dev.create_record(draft()).unwrap();
        (m, d.id)
    };
    let pdf = out.path().join("form.pdf");
    let run = Command::new(env!("CARGO_BIN_EXE_fieldlead"))
        .args(["form", &sealed.manifest.lead_id.to_string(), "--data-dir"])
        .arg(data.path())
        .args(["--district", "渝中", "--seq", "7", "-o"])
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
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

    let refused = Command::new(env!("CARGO_BIN_EXE_fieldlead"))
        .args(["form", &draft_id.to_string(), "--data-dir"])
        .arg(data.path())
        .arg("-o")
        .arg(out.path().join("draft.pdf"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("尚未封存"));
    assert!(!out.path().join("draft.pdf").exists());
}
