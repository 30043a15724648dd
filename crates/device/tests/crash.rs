//! A kill between the evidence temp write and its rename leaves no visible blob and
//! no row: the sampler's record is exactly as before the photo was taken.
//!
//! The test re-runs itself as a child process with the `failpoints` feature's hook
//! armed; the child aborts (like a kill: no destructors, no cleanup) mid-intake.

use std::io::Cursor;
use std::path::Path;
use std::process::Command;

use fieldlead_device::Device;
use fieldlead_domain::RecordDraft;

const CHILD_ENV: &str = "FIELDLEAD_CRASH_CHILD_DIR";

fn jpeg() -> Vec<u8> {
    fieldlead_domain::sample::photo(1, 90)
}

fn count_files(p: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.map(|e| {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            count_files(&e.path())
        } else {
            1
        }
    })
    .sum()
}

#[test]
fn kill_between_temp_write_and_rename_leaves_no_blob_and_no_row() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        // Child: attach a photo; the armed failpoint aborts before the rename.
        let mut dev = Device::open(Path::new(&dir)).unwrap();
        let id = dev.list(&Default::default()).unwrap()[0].id;
        let _ = dev.attach_evidence_reader(id, Cursor::new(jpeg()), Some("a.jpg"), "标签");
        unreachable!("the failpoint should have aborted the process");
    }

    let dir = tempfile::tempdir().unwrap();
    let id = {
        let mut dev = Device::open(dir.path()).unwrap();
        dev.create_record(RecordDraft {
            business_name: "重庆某某五金经营部".into(),
            ..RecordDraft::default()
        })
        .unwrap()
        .id
    };

    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_between_temp_write_and_rename_leaves_no_blob_and_no_row",
            "--nocapture",
        ])
        .env(CHILD_ENV, dir.path())
        .env("FIELDLEAD_FAILPOINT", "evidence_before_rename")
        .status()
        .unwrap();
    assert!(!status.success(), "child should have died at the failpoint");

    let store = dir.path().join(fieldlead_device::EVIDENCE_DIR);
    // The crash left its temp file behind...
    assert!(
        count_files(&store.join("tmp")) > 0,
        "the child never reached the failpoint"
    );
    assert_eq!(count_files(&store.join("objects")), 0);

    // ...and reopening the app cleans it up; the record is as it was.
    let dev = Device::open(dir.path()).unwrap();
    assert_eq!(count_files(&store.join("tmp")), 0);
    assert_eq!(count_files(&store.join("objects")), 0);
    let r = dev.record(id).unwrap();
    assert!(r.evidence.is_empty());
    assert_eq!(r.draft.business_name, "重庆某某五金经营部");
    assert_eq!(dev.audit_log(id).unwrap().len(), 1);
}
