//! Writes the committed seed corpora under fuzz/seeds/: one valid input per shape
//! each target understands, so the fuzzer starts from deep inside the parsers
//! instead of guessing JSON field names and zip headers. Deterministic (fixed keys,
//! ids and times) so re-running it changes nothing:
//!
//!     cd fuzz && cargo run --example make_seeds
//!
//! console_form's seeds are plain text, written by hand.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use fieldlead_domain::{
    BlobStatus, Decision, DeviceId, DistrictInfo, EnrolmentCode, EnrolmentInvite, EnrolmentRequest,
    EnrolmentResponse, ErrorBody, EvidenceEntry, GeoPoint, LeadId, LeadState, LeadStatus,
    LeadUpload, LogEvent, LogHead, Manifest, Party, PutLeadResponse, Receipt, ReceiptBody, Sha256,
    SignedEntry, SignedLeadStatus, SignedManifest, SigningKey, Signoff, SignoffKind,
    MANIFEST_FORMAT, RECEIPT_FORMAT,
};
use image::{ImageEncoder, RgbImage};
use serde_json::json;

fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("a fixed time")
}

fn device_key() -> SigningKey {
    SigningKey::from_seed(&[0x11; 32])
}

/// The key the protocol and bundle targets check receipts against.
fn bureau_key() -> SigningKey {
    SigningKey::from_seed(&[0x5a; 32])
}

fn lead_id() -> LeadId {
    "01937a4e-2b6c-7d8e-9f00-112233445566"
        .parse()
        .expect("a fixed id")
}

fn device_id() -> DeviceId {
    "01937a4e-0000-7000-8000-000000000001"
        .parse()
        .expect("a fixed id")
}

/// A sealed lead that verifies, naming `photos` and two signature images.
fn sealed(photos: &[&[u8]], signatures: [&[u8]; 2]) -> (SignedManifest, Vec<SignedEntry>) {
    let key = device_key();
    let lead = lead_id();
    let mut log: Vec<SignedEntry> = Vec::new();
    let events = [
        (LogEvent::Created, json!({"task_name": "抽查"})),
        (
            LogEvent::EvidenceAdded,
            json!({"sha256": Sha256::digest(photos[0]).to_hex(), "caption": "货架"}),
        ),
        (LogEvent::Signed, json!({"party": "sampler1"})),
    ];
    for (i, (event, payload)) in events.into_iter().enumerate() {
        let at = t(&format!("2026-11-21T14:{:02}:00+08:00", 10 + i));
        let e = SignedEntry::next(log.last(), lead, at, event, payload, &key).expect("signs");
        log.push(e);
    }
    let head = log.last().expect("entries");
    let mut evidence: Vec<EvidenceEntry> = photos
        .iter()
        .enumerate()
        .map(|(i, bytes)| EvidenceEntry {
            sha256: Sha256::digest(bytes),
            bytes: bytes.len() as u64,
            format: "png".into(),
            caption: format!("照片{}", i + 1),
            width: Some(4),
            height: Some(4),
            exif_datetime: Some("2026:11:21 14:11:00".into()),
            exif_offset: Some("+08:00".into()),
            exif_gps: Some(GeoPoint::new(295_630_000, 1_065_510_000).expect("in range")),
            make: Some("HUAWEI".into()),
            model: None,
            phash: Some("00ff00ff00ff00ff".into()),
            added_at: t("2026-11-21T14:11:30+08:00"),
        })
        .collect();
    evidence.sort_by_key(|e| e.sha256);
    let signed = |party, name: &str, image: &[u8]| Signoff {
        party,
        name: name.into(),
        signoff: SignoffKind::Signed {
            image_sha256: Sha256::digest(image),
            image_bytes: image.len() as u64,
        },
        at: t("2026-11-21T14:20:00+08:00"),
    };
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        lead_id: lead,
        device_key: key.public_key(),
        record: fieldlead_domain::sample::terminated_draft()
            .validate(lead)
            .expect("the sample validates"),
        evidence,
        signoffs: vec![
            signed(Party::Sampler1, "李四", signatures[0]),
            signed(Party::Sampler2, "王五", signatures[1]),
            Signoff {
                party: Party::Business,
                name: "赵六".into(),
                signoff: SignoffKind::Refused {
                    witness: "邻铺经营者 刘七".into(),
                },
                at: t("2026-11-21T14:21:00+08:00"),
            },
        ],
        log_head: LogHead {
            seq: head.entry.seq,
            entry_hash: head.entry_hash,
        },
        sealed_at: t("2026-11-21T14:22:00+08:00"),
    };
    let signed = SignedManifest::sign(manifest, &key).expect("signs");
    let seal = SignedEntry::next(
        log.last(),
        lead,
        t("2026-11-21T14:22:00+08:00"),
        LogEvent::Sealed,
        json!({"manifest_hash": signed.manifest_hash.to_hex()}),
        &key,
    )
    .expect("signs");
    log.push(seal);
    fieldlead_domain::verify_lead(&signed, &log).expect("the seed lead verifies");
    (signed, log)
}

fn receipt_for(signed: &SignedManifest) -> Receipt {
    let blobs = fieldlead_domain::manifest_blobs(&signed.manifest)
        .expect("sizes agree")
        .iter()
        .map(|b| b.sha256)
        .collect();
    let body = ReceiptBody {
        format: RECEIPT_FORMAT,
        lead_id: signed.manifest.lead_id,
        device_id: device_id(),
        district: "yuzhong".into(),
        manifest_hash: signed.manifest_hash,
        blobs,
        received_at: Utc.with_ymd_and_hms(2026, 11, 21, 6, 30, 0).unwrap(),
        completed_at: Utc.with_ymd_and_hms(2026, 11, 21, 6, 31, 0).unwrap(),
    };
    Receipt::sign(body, &bureau_key()).expect("signs")
}

/// A small picture with some structure, so decoders take more than one path.
fn picture(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 37) as u8, (y * 53) as u8, ((x ^ y) * 11) as u8])
    })
}

fn png_bytes(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encodes");
    out
}

fn jpeg_bytes(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 75)
        .encode_image(img)
        .expect("encodes");
    out
}

fn webp_bytes(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(
            img,
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("encodes");
    out
}

// ---------------------------------------------------------------------------
// A hand-built EXIF block (little-endian TIFF): camera, capture time with offset,
// orientation and a GPS position, the fields ExifSummary reads.

const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;

struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    value: Vec<u8>,
}

fn ascii(tag: u16, s: &str) -> Entry {
    let mut value = s.as_bytes().to_vec();
    value.push(0);
    Entry {
        tag,
        kind: ASCII,
        count: value.len() as u32,
        value,
    }
}

fn rationals(tag: u16, parts: &[(u32, u32)]) -> Entry {
    let value = parts
        .iter()
        .flat_map(|(n, d)| n.to_le_bytes().into_iter().chain(d.to_le_bytes()))
        .collect();
    Entry {
        tag,
        kind: RATIONAL,
        count: parts.len() as u32,
        value,
    }
}

fn long(tag: u16, v: u32) -> Entry {
    Entry {
        tag,
        kind: LONG,
        count: 1,
        value: v.to_le_bytes().to_vec(),
    }
}

/// One IFD at `start` (an offset in the TIFF), values too long to inline after it.
fn ifd(start: u32, entries: &[Entry]) -> Vec<u8> {
    let mut head = (entries.len() as u16).to_le_bytes().to_vec();
    let mut data = Vec::new();
    let data_start = start + 2 + 12 * entries.len() as u32 + 4;
    for e in entries {
        head.extend_from_slice(&e.tag.to_le_bytes());
        head.extend_from_slice(&e.kind.to_le_bytes());
        head.extend_from_slice(&e.count.to_le_bytes());
        if e.value.len() <= 4 {
            let mut v = e.value.clone();
            v.resize(4, 0);
            head.extend_from_slice(&v);
        } else {
            head.extend_from_slice(&(data_start + data.len() as u32).to_le_bytes());
            data.extend_from_slice(&e.value);
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    head.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    head.extend_from_slice(&data);
    head
}

fn exif_tiff() -> Vec<u8> {
    let ifd0 = |exif_at: u32, gps_at: u32| {
        vec![
            ascii(0x010F, "HUAWEI"),
            ascii(0x0110, "MatePad"),
            Entry {
                tag: 0x0112,
                kind: SHORT,
                count: 1,
                value: 6u16.to_le_bytes().to_vec(),
            },
            ascii(0x0131, "fieldlead seeds"),
            long(0x8769, exif_at),
            long(0x8825, gps_at),
        ]
    };
    let len0 = ifd(8, &ifd0(0, 0)).len() as u32;
    let exif_at = 8 + len0;
    let exif = ifd(
        exif_at,
        &[
            ascii(0x9003, "2026:11:21 14:11:00"),
            ascii(0x9011, "+08:00"),
        ],
    );
    let gps_at = exif_at + exif.len() as u32;
    let gps = ifd(
        gps_at,
        &[
            ascii(0x0001, "N"),
            rationals(0x0002, &[(29, 1), (33, 1), (468, 10)]),
            ascii(0x0003, "E"),
            rationals(0x0004, &[(106, 1), (3306, 100), (0, 1)]),
        ],
    );
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&ifd(8, &ifd0(exif_at, gps_at)));
    tiff.extend_from_slice(&exif);
    tiff.extend_from_slice(&gps);
    tiff
}

/// The JPEG with an APP1 Exif segment right after SOI.
fn jpeg_with_exif(jpeg: &[u8]) -> Vec<u8> {
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&exif_tiff());
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&(payload.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The PNG with an eXIf chunk right after IHDR (8 signature + 25 IHDR bytes).
fn png_with_exif(png: &[u8]) -> Vec<u8> {
    let tiff = exif_tiff();
    let mut chunk = (tiff.len() as u32).to_be_bytes().to_vec();
    let mut body = b"eXIf".to_vec();
    body.extend_from_slice(&tiff);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    [&png[..33], chunk.as_slice(), &png[33..]].concat()
}

// ---------------------------------------------------------------------------

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("seed dir");
    fs::write(dir.join(name), bytes).expect("seed written");
}

/// The protocol target's input: a selector byte, then the parser's input.
fn protocol_seed(dir: &Path, name: &str, selector: u8, body: &[u8]) {
    write(dir, name, &[&[selector], body].concat());
}

fn main() {
    let seeds = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds");

    let sig1 = png_bytes(&picture(6, 2));
    let sig2 = png_bytes(&picture(5, 3));
    let photo1 = png_bytes(&picture(4, 4));
    let photo2 = jpeg_bytes(&picture(8, 8));
    let (signed, log) = sealed(&[&photo1, &photo2], [&sig1, &sig2]);
    let receipt = receipt_for(&signed);

    // lead_upload
    let upload = LeadUpload {
        manifest: signed.clone(),
        log: log.clone(),
    };
    write(
        &seeds.join("lead_upload"),
        "sealed_lead.json",
        &serde_json::to_vec(&upload).unwrap(),
    );

    // protocol: selectors as in fuzz_targets/protocol.rs
    let p = seeds.join("protocol");
    let code = EnrolmentCode::parse("ABCD-EFGH-JKMN").unwrap();
    let invite = EnrolmentInvite::new(
        "https://fieldlead.example.gov.cn",
        code.clone(),
        "渝中区",
        bureau_key().public_key().fingerprint(),
    );
    protocol_seed(&p, "0_invite", 0, invite.to_qr_text().as_bytes());
    protocol_seed(&p, "1_code", 1, b"abcd efgh-jkmn");
    let request = EnrolmentRequest::new(code, "平板 01", &device_key());
    protocol_seed(
        &p,
        "2_enrolment_request",
        2,
        &serde_json::to_vec(&request).unwrap(),
    );
    let response = EnrolmentResponse {
        device_id: device_id(),
        token: "tok_0123456789abcdef".into(),
        district: DistrictInfo {
            code: "yuzhong".into(),
            name: "渝中区市场监督管理局".into(),
        },
        bureau_key: bureau_key().public_key(),
        server_time: Utc.with_ymd_and_hms(2026, 11, 21, 6, 0, 0).unwrap(),
    };
    protocol_seed(
        &p,
        "3_enrolment_response",
        3,
        &serde_json::to_vec(&response).unwrap(),
    );
    protocol_seed(&p, "4_receipt", 4, &serde_json::to_vec(&receipt).unwrap());
    let missing = fieldlead_domain::manifest_blobs(&signed.manifest).unwrap();
    let status = LeadStatus {
        lead_id: lead_id(),
        manifest_hash: signed.manifest_hash,
        state: LeadState::Declined,
        state_label: LeadState::Declined.label_zh().into(),
        received_at: receipt.receipt.received_at,
        missing_blobs: Vec::new(),
        receipt: Some(receipt.clone()),
        acknowledged_at: Some(Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap()),
        decision: Some(Decision::Declined),
        decided_at: Some(Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()),
        decline_reason: Some("证据不足".into()),
        reported_to_city_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 30),
        updated_at: Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap(),
    };
    protocol_seed(
        &p,
        "5_lead_status",
        5,
        &serde_json::to_vec(&status).unwrap(),
    );
    let signed_status = SignedLeadStatus::sign(status.clone(), &bureau_key()).unwrap();
    signed_status
        .clone()
        .verify(&bureau_key().public_key(), lead_id())
        .expect("the seed status verifies");
    protocol_seed(
        &p,
        "9_signed_lead_status",
        9,
        &serde_json::to_vec(&signed_status).unwrap(),
    );
    let fingerprint = bureau_key().public_key().fingerprint().display_grouped();
    protocol_seed(
        &p,
        "10_fingerprint",
        10,
        fingerprint.to_lowercase().replace('-', " ").as_bytes(),
    );
    let blob = BlobStatus {
        sha256: missing[0].sha256,
        bytes: missing[0].bytes,
        offset: 17,
        complete: false,
        completed_leads: vec![lead_id()],
    };
    protocol_seed(&p, "6_blob_status", 6, &serde_json::to_vec(&blob).unwrap());
    let put = PutLeadResponse {
        lead_id: lead_id(),
        manifest_hash: signed.manifest_hash,
        received_at: receipt.receipt.received_at,
        missing_blobs: missing,
        receipt: Some(receipt.clone()),
    };
    protocol_seed(&p, "7_put_lead", 7, &serde_json::to_vec(&put).unwrap());
    // A code this build does not know (a newer bureau's): read as WireCode::Other.
    let mut error = ErrorBody {
        code: fieldlead_domain::WireCode::parse("blob_offset"),
        message: "上传位置不符，请从 17 字节处续传".into(),
        detail: None,
    };
    error.detail = Some(json!({"offset": 17, "expected": [1, 2.5, null, true]}));
    protocol_seed(&p, "8_error_body", 8, &serde_json::to_vec(&error).unwrap());

    // bundle: a complete bundle with its receipt, and one without a blob.
    let dir = tempfile::tempdir().unwrap();
    for b in [&photo1, &photo2, &sig1, &sig2] {
        fs::write(dir.path().join(Sha256::digest(b).to_hex()), b).unwrap();
    }
    let blob_path = |sha: &Sha256| dir.path().join(sha.to_hex());
    let out = dir.path().join("lead.zip");
    fieldlead_evidence::bundle::write_bundle(&out, &signed, &log, Some(&receipt), blob_path)
        .unwrap();
    let mut check = fieldlead_evidence::bundle::Bundle::open(&out).unwrap();
    let report = check.verify(Some(&bureau_key().public_key())).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    write(
        &seeds.join("bundle"),
        "delivered.zip",
        &fs::read(&out).unwrap(),
    );
    fs::remove_file(dir.path().join(Sha256::digest(&sig2).to_hex())).unwrap();
    fs::write(dir.path().join(Sha256::digest(&sig2).to_hex()), b"").unwrap();
    fieldlead_evidence::bundle::write_bundle(&out, &signed, &log, None, blob_path).unwrap();
    write(
        &seeds.join("bundle"),
        "altered_blob.zip",
        &fs::read(&out).unwrap(),
    );

    // photo: one small file per decoder, EXIF in JPEG and PNG.
    let ph = seeds.join("photo");
    let img = picture(24, 16);
    write(&ph, "exif.jpg", &jpeg_with_exif(&jpeg_bytes(&img)));
    write(&ph, "exif.png", &png_with_exif(&png_bytes(&img)));
    write(&ph, "lossless.webp", &webp_bytes(&img));
    let grey = image::GrayImage::from_fn(9, 7, |x, y| image::Luma([(x * y * 3) as u8]));
    let mut grey_png = Vec::new();
    image::DynamicImage::ImageLuma8(grey)
        .write_to(&mut Cursor::new(&mut grey_png), image::ImageFormat::Png)
        .unwrap();
    write(&ph, "grey.png", &grey_png);
    for name in ["exif.jpg", "exif.png", "lossless.webp", "grey.png"] {
        let bytes = fs::read(ph.join(name)).unwrap();
        let inspection = fieldlead_evidence::inspect_bytes(&bytes)
            .unwrap_or_else(|e| panic!("seed {name} is not a good photo: {e}"));
        if name.starts_with("exif") {
            assert_eq!(inspection.exif.orientation, Some(6), "{name}");
            assert!(inspection.exif.gps.is_some(), "{name}");
        }
    }
    println!("seeds written under {}", seeds.display());
}
