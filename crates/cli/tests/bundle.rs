//! `fieldlead export` writes a sealed lead as one bundle file; `fieldlead verify`
//! passes it, and names the photo when one was changed on the stick.

mod common;

use std::io::{Read, Write};

use common::*;
use fieldlead_domain::Sha256;

#[test]
fn exports_a_bundle_that_verifies_and_names_a_changed_photo() {
    let data = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let sha = Sha256::digest(&photo());
    let id = seal_sample_lead(data.path()).manifest.lead_id;
    let bundle = out.path().join("lead.zip");
    let run = fieldlead()
        .args(["export", &id.to_string(), "--data-dir"])
        .arg(data.path())
        .arg("-o")
        .arg(&bundle)
        .output()
        .unwrap();
    assert_success(&run);

    let run = fieldlead().arg("verify").arg(&bundle).output().unwrap();
    assert_success(&run);
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
    let run = fieldlead().arg("verify").arg(&bad).output().unwrap();
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains(CAPTION), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["problems"][0]["code"], "bundle_blob_altered");
    assert_eq!(report["problems"][0]["sha256"], sha.to_hex());
}
