//! `fieldlead export` writes a sealed lead as one bundle file; `fieldlead verify`
//! passes it, and names the photo when one was changed on the stick.

use std::io::{Cursor, Read, Write};
use std::process::Command;

use fieldlead_device::Device;
use fieldlead_domain::{Party, RecordDraft, Sha256};

fn png(seed: u8) -> Vec<u8> {
    fieldlead_domain::sample::signature_png(seed)
}

fn draft() -> RecordDraft {
    fieldlead_domain::sample::terminated_draft()
}

#[test]
fn exports_a_bundle_that_verifies_and_names_a_changed_photo() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let photo = png(1);
    let sha = Sha256::digest(&photo);
    let id = {
        let mut dev = Device::open(data.path()).unwrap();
        let r = dev.create_record(draft()).unwrap();
        dev.attach_evidence_reader(r.id, Cursor::new(&photo), Some("a.png"), "货架上的电线")
            .unwrap();
        dev.sign(r.id, Party::Sampler1, &png(2)).unwrap();
        dev.sign(r.id, Party::Sampler2, &png(3)).unwrap();
        dev.record_refusal(r.id, "隔壁商户 刘七").unwrap();
        dev.seal(r.id).unwrap();
        r.id
    };
    let bundle = out.path().join("lead.zip");
    let run = Command::new(env!("CARGO_BIN_EXE_fieldlead"))
        .args(["export", &id.to_string(), "--data-dir"])
        .arg(data.path())
        .arg("-o")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let run = Command::new(env!("CARGO_BIN_EXE_fieldlead"))
        .arg("verify")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["lead_id"], id.to_string());
    assert_eq!(report["blobs_checked"], 3);

    // Change one byte of the photo inside the bundle.
    let bad = out.path().join("bad.zip");
    {
        let mut src = zip::ZipArchive::new(std::fs::File::open(&bundle).unwrap()).unwrap();
        let mut dst = zip::ZipWriter::new(std::fs::File::create(&bad).unwrap());
        for i in 0..src.len() {
            let mut f = src.by_index(i).unwrap();
            let name = f.name().to_string();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            if name == format!("blobs/{}", sha.to_hex()) {
                let n = bytes.len() - 5;
                bytes[n] ^= 1;
            }
            // Rewritten as stored before: only the bytes change, not how they are kept.
            let method = f.compression();
            dst.start_file(
                name,
                zip::write::SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
            dst.write_all(&bytes).unwrap();
        }
        dst.finish().unwrap();
    }
    let run = Command::new(env!("CARGO_BIN_EXE_fieldlead"))
        .arg("verify")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("货架上的电线"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["problems"][0]["code"], "bundle_blob_altered");
    assert_eq!(report["problems"][0]["sha256"], sha.to_hex());
}
