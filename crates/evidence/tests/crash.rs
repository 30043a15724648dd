//! A crash between the fsync of the temp file and the rename leaves no object, and
//! the next open of the store clears the orphaned temp file. Needs the `failpoints`
//! feature (`cargo test -p fieldlead-evidence --features failpoints`).

mod support;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use fieldlead_domain::Sha256;
use fieldlead_evidence::EvidenceStore;
use support::*;

const CHILD_STORE: &str = "FIELDLEAD_TEST_CRASH_STORE";

#[test]
fn abort_before_rename_leaves_no_object_and_reopen_clears_tmp() {
    if let Ok(root) = std::env::var(CHILD_STORE) {
        // Child: this intake must abort at the failpoint and never return.
        let store = EvidenceStore::open(&PathBuf::from(root)).unwrap();
        let jpeg = jpeg_bytes(&photo_like(640, 480, 5), 90);
        let _ = store.intake_reader(jpeg.as_slice(), Some("crash.jpg"));
        std::process::exit(0);
    }

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "abort_before_rename_leaves_no_object_and_reopen_clears_tmp",
            "--test-threads=1",
        ])
        .env(CHILD_STORE, &root)
        .env("FIELDLEAD_FAILPOINT", "evidence_before_rename")
        .status()
        .unwrap();
    assert!(
        !status.success(),
        "the child should have aborted at the failpoint: {status:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(6), "SIGABRT expected: {status:?}");
    }

    assert!(
        files_under(&root.join("objects")).is_empty(),
        "no object may appear before the rename"
    );
    let temps = files_under(&root.join("tmp"));
    assert_eq!(temps.len(), 1, "{temps:?}");
    // The temp file was complete and fsynced; only the rename was lost.
    let expected = Sha256::digest(&jpeg_bytes(&photo_like(640, 480, 5), 90));
    assert_eq!(Sha256::digest(&fs::read(&temps[0]).unwrap()), expected);

    let store = EvidenceStore::open(&root).unwrap();
    assert_store_empty(&root);
    assert!(!store.contains(&expected));
}
