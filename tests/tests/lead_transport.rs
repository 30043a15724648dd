//! A lead sealed on a tablet, carried as JSON text and photo bytes, verifies on a
//! machine that has nothing but the domain rules; any change on the way is caught.

use std::io::Cursor;

use fieldlead_device::Device;
use fieldlead_domain::{parse_log, verify_lead, Party, RecordDraft, Sha256, SignedManifest};

fn draft() -> RecordDraft {
    fieldlead_domain::sample::terminated_draft()
}

fn photo(seed: u8) -> Vec<u8> {
    fieldlead_domain::sample::photo(seed, 85)
}

#[test]
fn a_sealed_lead_verifies_from_its_transported_text_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut dev = Device::open(dir.path()).unwrap();
    let r = dev.create_record(draft()).unwrap();
    for (i, caption) in ["电线正面，无厂名厂址", "包装盒", "货架"]
        .iter()
        .enumerate()
    {
        dev.attach_evidence_reader(r.id, Cursor::new(photo(i as u8 * 40)), None, caption)
            .unwrap();
    }
    for (party, seed) in [
        (Party::Sampler1, 1u8),
        (Party::Sampler2, 2),
        (Party::Business, 3),
    ] {
        dev.sign(r.id, party, &photo(seed)).unwrap();
    }
    let signed = dev.seal(r.id).unwrap();

    // What travels: manifest text, one text per log entry, photo bytes.
    let manifest_text = serde_json::to_string(&signed).unwrap();
    let log_texts: Vec<String> = dev
        .audit_log(r.id)
        .unwrap()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let photos: Vec<(Sha256, Vec<u8>)> = signed
        .manifest
        .evidence
        .iter()
        .map(|e| {
            let bytes = std::fs::read(dev.evidence_store().object_path(&e.sha256)).unwrap();
            (e.sha256, bytes)
        })
        .collect();
    drop(dev);

    // The receiving side: only the domain crate.
    let received: SignedManifest = serde_json::from_str(&manifest_text).unwrap();
    let log = parse_log(&log_texts).unwrap();
    verify_lead(&received, &log).unwrap();
    for (sha, bytes) in &photos {
        assert_eq!(Sha256::digest(bytes), *sha);
    }

    // A changed photo no longer matches its sealed hash.
    let mut altered = photos[0].1.clone();
    altered[100] ^= 1;
    assert_ne!(Sha256::digest(&altered), photos[0].0);

    // A manifest edited on the way is refused with a machine-readable reason.
    let edited = manifest_text.replace("聚氯乙烯绝缘电线", "聚氯乙烯绝缘电缆");
    let received: SignedManifest = serde_json::from_str(&edited).unwrap();
    assert_eq!(
        verify_lead(&received, &log).unwrap_err().code(),
        "manifest_hash"
    );

    // A log entry dropped on the way is named.
    let mut short = log_texts.clone();
    short.remove(1);
    let log = parse_log(&short).unwrap();
    let err = verify_lead(&serde_json::from_str(&manifest_text).unwrap(), &log).unwrap_err();
    assert_eq!(err.code(), "entry_sequence");
}
