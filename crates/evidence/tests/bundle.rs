//! Lead bundles from a USB stick are hostile input: a blob entry may be compressed
//! into a zip bomb or hold more than its headers and the manifest say. Each is a
//! listed problem, found without inflating or reading past the manifest's size.

use std::cell::Cell;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::rc::Rc;

use fieldlead_domain::{
    EvidenceEntry, LeadId, LogEvent, LogHead, Manifest, Party, Sha256, SignedEntry, SignedManifest,
    SigningKey, Signoff, SignoffKind, MANIFEST_FORMAT,
};
use fieldlead_evidence::bundle::{Bundle, BundleReport, LOG_ENTRY, MANIFEST_ENTRY};
use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

const PHOTO: &[u8] = b"\xFF\xD8\xFF photo bytes";
const SIGNATURE: &[u8] = b"\x89PNG signature";

/// A time field from its RFC 3339 text.
fn t<T: serde::de::DeserializeOwned>(s: &str) -> T {
    serde_json::from_value(json!(s)).unwrap()
}

/// A sealed lead that verifies, naming one photo of `photo_bytes` bytes with the
/// digest of PHOTO, and one signature image used by both samplers.
fn sealed(photo_bytes: u64) -> (SignedManifest, Vec<SignedEntry>) {
    let key = SigningKey::from_seed(&[7; 32]);
    let lead = LeadId::new();
    let first = SignedEntry::next(
        None,
        lead,
        t("2026-11-21T14:10:00+08:00"),
        LogEvent::Created,
        json!({}),
        &key,
    )
    .unwrap();
    let signed = |party, name: &str| Signoff {
        party,
        name: name.into(),
        signoff: SignoffKind::Signed {
            image_sha256: Sha256::digest(SIGNATURE),
            image_bytes: SIGNATURE.len() as u64,
        },
        at: t("2026-11-21T14:20:00+08:00"),
    };
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        lead_id: lead,
        device_key: key.public_key(),
        record: fieldlead_domain::sample::terminated_draft()
            .validate(lead)
            .unwrap(),
        evidence: vec![EvidenceEntry {
            sha256: Sha256::digest(PHOTO),
            bytes: photo_bytes,
            format: "jpeg".into(),
            caption: "货架".into(),
            width: None,
            height: None,
            exif_datetime: None,
            exif_offset: None,
            exif_gps: None,
            make: None,
            model: None,
            phash: None,
            added_at: t("2026-11-21T14:11:00+08:00"),
        }],
        signoffs: vec![
            signed(Party::Sampler1, "李四"),
            signed(Party::Sampler2, "王五"),
            Signoff {
                party: Party::Business,
                name: "赵六".into(),
                signoff: SignoffKind::Refused {
                    witness: "刘七".into(),
                },
                at: t("2026-11-21T14:21:00+08:00"),
            },
        ],
        log_head: LogHead {
            seq: 0,
            entry_hash: first.entry_hash,
        },
        sealed_at: t("2026-11-21T14:22:00+08:00"),
    };
    let signed = SignedManifest::sign(manifest, &key).unwrap();
    let seal = SignedEntry::next(
        Some(&first),
        lead,
        t("2026-11-21T14:22:00+08:00"),
        LogEvent::Sealed,
        json!({"manifest_hash": signed.manifest_hash.to_hex()}),
        &key,
    )
    .unwrap();
    (signed, vec![first, seal])
}

/// A bundle of `lead` whose photo entry is `photo`, written with `method`.
fn bundle_bytes(
    lead: &(SignedManifest, Vec<SignedEntry>),
    photo: &mut dyn Read,
    method: CompressionMethod,
) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let text = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file(MANIFEST_ENTRY, text).unwrap();
    serde_json::to_writer(&mut zip, &lead.0).unwrap();
    zip.start_file(LOG_ENTRY, text).unwrap();
    for e in &lead.1 {
        serde_json::to_writer(&mut zip, e).unwrap();
        zip.write_all(b"\n").unwrap();
    }
    let blob = |sha: Sha256| format!("blobs/{}", sha.to_hex());
    let raw = SimpleFileOptions::default().compression_method(method);
    zip.start_file(blob(Sha256::digest(PHOTO)), raw).unwrap();
    io::copy(photo, &mut zip).unwrap();
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    zip.start_file(blob(Sha256::digest(SIGNATURE)), stored)
        .unwrap();
    zip.write_all(SIGNATURE).unwrap();
    zip.finish().unwrap().into_inner()
}

/// A reader that counts the bytes taken from it.
struct Counting {
    inner: Cursor<Vec<u8>>,
    read: Rc<Cell<u64>>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl Seek for Counting {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Verifies `bytes`; also returns how many bytes verification itself read.
fn verify(bytes: Vec<u8>) -> (BundleReport, u64) {
    let read = Rc::new(Cell::new(0));
    let mut bundle = Bundle::from_reader(Counting {
        inner: Cursor::new(bytes),
        read: read.clone(),
    })
    .unwrap();
    let opened = read.get();
    let report = bundle.verify(None).unwrap();
    (report, read.get() - opened)
}

fn codes(report: &BundleReport) -> Vec<&str> {
    report.problems.iter().map(|p| p.code.as_str()).collect()
}

#[test]
fn a_bundle_as_written_verifies() {
    let lead = sealed(PHOTO.len() as u64);
    let (report, _) = verify(bundle_bytes(
        &lead,
        &mut &PHOTO[..],
        CompressionMethod::Stored,
    ));
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.blobs_checked, 2);
}

#[test]
fn a_compressed_blob_entry_is_refused_without_being_inflated() {
    // 64 MiB of zeros deflate to 64 KiB: a zip bomb.
    let lead = sealed(PHOTO.len() as u64);
    let mut zeros = io::repeat(0).take(64 << 20);
    let bytes = bundle_bytes(&lead, &mut zeros, CompressionMethod::Deflated);
    let compressed = bytes.len() as u64;
    let (report, read) = verify(bytes);
    assert_eq!(codes(&report), ["bundle_blob_compressed"]);
    assert_eq!(report.problems[0].sha256, Some(Sha256::digest(PHOTO)));
    assert!(
        read < compressed / 4,
        "read {read} of {compressed} bytes: the bomb was inflated"
    );
}

#[test]
fn a_blob_entry_larger_than_the_manifest_says_is_refused_unread() {
    let lead = sealed(PHOTO.len() as u64);
    let mut big = io::repeat(b'x').take(4 << 20);
    let (report, read) = verify(bundle_bytes(&lead, &mut big, CompressionMethod::Stored));
    assert_eq!(codes(&report), ["bundle_blob_altered"]);
    assert!(
        report.problems[0]
            .message
            .contains(&format!("{} 字节", 4 << 20)),
        "{}",
        report.problems[0].message
    );
    assert!(read < 1 << 20, "read {read} bytes");
}

#[test]
fn a_blob_entry_holding_more_than_its_declared_size_is_read_no_further() {
    // The manifest and the entry's headers agree on PHOTO's size, but the stored
    // data runs on for megabytes: the headers are patched after writing.
    let lead = sealed(PHOTO.len() as u64);
    let mut long = PHOTO.chain(io::repeat(b'x').take(4 << 20));
    let mut bytes = bundle_bytes(&lead, &mut long, CompressionMethod::Stored);
    let real = (PHOTO.len() + (4 << 20)) as u32;
    let patched = patch_uncompressed_size(&mut bytes, real, PHOTO.len() as u32);
    assert_eq!(patched, 2, "local and central header of the photo entry");
    match Bundle::from_reader(Cursor::new(bytes.clone())) {
        // The zip reader may itself refuse the inconsistent headers...
        Err(_) => {}
        Ok(_) => {
            // ...or else verification must stop one byte past the manifest's size.
            let (report, read) = verify(bytes);
            assert_eq!(codes(&report), ["bundle_blob_altered"]);
            assert!(read < 1 << 20, "read {read} bytes");
        }
    }
}

/// Rewrites every uncompressed-size field holding `from` to `to` in local (PK\3\4,
/// offset 22) and central (PK\1\2, offset 24) headers. Returns how many it changed.
fn patch_uncompressed_size(zip: &mut [u8], from: u32, to: u32) -> usize {
    let mut changed = 0;
    for i in 0..zip.len().saturating_sub(46) {
        let field = match &zip[i..i + 4] {
            b"PK\x03\x04" => i + 22,
            b"PK\x01\x02" => i + 24,
            _ => continue,
        };
        if zip[field..field + 4] == from.to_le_bytes() {
            zip[field..field + 4].copy_from_slice(&to.to_le_bytes());
            changed += 1;
        }
    }
    changed
}
