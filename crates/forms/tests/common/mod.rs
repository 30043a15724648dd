//! Shared fixtures: a sealed lead like the tablet makes, blobs, and poppler helpers.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use chrono::{DateTime, FixedOffset};
use fieldlead_domain::{
    Business, BusinessRole, CccCertificate, EvidenceEntry, GeoPoint, Ground, LeadId, LogHead,
    Manifest, NominalProducer, Outcome, Party, Place, Product, ProductionLicence, Record, Sampler,
    Sha256, SignedManifest, SigningKey, Signoff, SignoffKind, SpotCheckTask, TaskLevel, Uscc,
    MANIFEST_FORMAT,
};
use fieldlead_forms::BlobSource;

pub fn t(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

/// Photo digests are derived from the index, so a test can name "the last photo".
pub fn photo_sha(i: usize) -> Sha256 {
    Sha256::digest(format!("photo bytes {i}").as_bytes())
}

pub fn signature_sha(party: Party) -> Sha256 {
    Sha256::digest(format!("signature of {party:?}").as_bytes())
}

#[derive(Debug, Clone)]
pub struct LeadSpec {
    pub photos: usize,
    /// Length of the business, product and producer names, in characters.
    pub long_names: Option<usize>,
    pub business_refuses: bool,
    pub optional_absent: bool,
    /// A shop on an e-commerce platform rather than a shop on the street.
    pub on_platform: bool,
}

impl Default for LeadSpec {
    fn default() -> Self {
        LeadSpec {
            photos: 3,
            long_names: None,
            business_refuses: true,
            optional_absent: false,
            on_platform: false,
        }
    }
}

fn long(base: &str, n: Option<usize>) -> String {
    match n {
        None => base.to_string(),
        Some(n) => base.chars().cycle().take(n).collect(),
    }
}

pub fn lead(spec: &LeadSpec) -> SignedManifest {
    let id = LeadId::new();
    let record = Record {
        id,
        sending_unit: "重庆市计量质量检测研究院".into(),
        sampling_number: (!spec.optional_absent).then(|| "CQJD-2026-017-0031".into()),
        task: SpotCheckTask {
            year: 2026,
            name: "2026年重庆市电器产品质量监督抽查".into(),
            number: "CQJD-2026-017".into(),
            product_category: "家用电器".into(),
            level: Some(TaskLevel::City),
            document_number: (!spec.optional_absent).then(|| "渝市监发〔2026〕45号".into()),
        },
        business: Business {
            name: long("重庆渝中区顺达五金电器经营部", spec.long_names),
            uscc: Uscc::parse("91500103MA5U7A8B9G").unwrap(),
            address: "重庆市渝中区解放碑民族路188号负一楼B12".into(),
            person_in_charge: "王建国".into(),
            phone: "023-63891234".into(),
            role: if spec.on_platform {
                BusinessRole::EcommerceShop
            } else {
                BusinessRole::Seller
            },
            platform: spec.on_platform.then(|| "某某优选商城".into()),
        },
        product: Product {
            name: long("多功能电热水壶", spec.long_names),
            brand: (!spec.optional_absent).then(|| "美厨乐".into()),
            spec_model: (!spec.optional_absent).then(|| "MK-1788 1.8L 220V~ 1500W".into()),
            batch_or_date: (!spec.optional_absent).then(|| "20251108".into()),
            production_licence: (!spec.optional_absent)
                .then(|| ProductionLicence::parse("(鄂)XK12-001-00018").unwrap()),
            ccc_certificate: (!spec.optional_absent)
                .then(|| CccCertificate::parse("2021010701123456").unwrap()),
        },
        nominal_producer: if spec.optional_absent {
            NominalProducer { name: None, address: None }
        } else {
            NominalProducer {
                name: Some(long("佛山市顺德区美厨乐电器有限公司", spec.long_names)),
                address: None,
            }
        },
        samplers: [
            Sampler { name: "李明".into(), credential_no: "渝质抽字第0231号".into() },
            Sampler { name: "张晓燕".into(), credential_no: "渝质抽字第0456号".into() },
        ],
        place: Place {
            address: "重庆市渝中区解放碑民族路188号".into(),
            gps: (!spec.optional_absent).then(|| GeoPoint::from_degrees(29.5576123, 106.5770456).unwrap()),
        },
        started_at: t("2026-03-05T14:30:00+08:00"),
        ended_at: (!spec.optional_absent).then(|| t("2026-03-05T15:10:00+08:00")),
        outcome: Outcome::Terminated {
            grounds: vec![
                Ground::NoFactoryAddress,
                Ground::NoQualityCertificate,
                Ground::Other { text: "铭牌标注功率与实际严重不符".into() },
            ],
            situation: "现场检查发现该批电热水壶外包装及产品本体均未标注生产厂址，未附产品质量检验合格证明；\
                        经营者不能提供进货票据。货架在售 36 台，库存 120 台。已对产品、标签、货架及库存拍照留证，终止抽样。"
                .into(),
        },
    };
    let mut evidence: Vec<EvidenceEntry> = (0..spec.photos)
        .map(|i| EvidenceEntry {
            sha256: photo_sha(i),
            bytes: 2_400_000 + i as u64,
            format: "jpeg".into(),
            caption: format!("照片{}：产品铭牌及外包装，未标注厂址", i + 1),
            width: Some(4000),
            height: Some(3000),
            exif_datetime: (i % 5 != 4).then(|| format!("2026:03:05 14:{:02}:07", 31 + i % 28)),
            exif_offset: Some("+08:00".into()),
            exif_gps: (i % 3 != 2).then(|| GeoPoint::from_degrees(29.5576, 106.5770).unwrap()),
            make: Some("HUAWEI".into()),
            model: Some("MatePad 11".into()),
            phash: None,
            added_at: t("2026-03-05T14:50:00+08:00"),
        })
        .collect();
    evidence.sort_by_key(|a| a.sha256);
    let signed = |party| SignoffKind::Signed {
        image_sha256: signature_sha(party),
        image_bytes: 1200,
    };
    let signoffs = vec![
        Signoff {
            party: Party::Sampler1,
            name: "李明".into(),
            signoff: signed(Party::Sampler1),
            at: t("2026-03-05T15:05:00+08:00"),
        },
        Signoff {
            party: Party::Sampler2,
            name: "张晓燕".into(),
            signoff: signed(Party::Sampler2),
            at: t("2026-03-05T15:06:00+08:00"),
        },
        Signoff {
            party: Party::Business,
            name: "王建国".into(),
            signoff: if spec.business_refuses {
                SignoffKind::Refused {
                    witness: "赵志强（解放碑商圈管理办公室）".into(),
                }
            } else {
                signed(Party::Business)
            },
            at: t("2026-03-05T15:08:00+08:00"),
        },
    ];
    let key = SigningKey::from_seed(&[7; 32]);
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        lead_id: id,
        device_key: key.public_key(),
        record,
        evidence,
        signoffs,
        log_head: LogHead {
            seq: 9,
            entry_hash: Sha256::digest(b"log head"),
        },
        sealed_at: t("2026-03-05T15:12:00+08:00"),
    };
    SignedManifest::sign(manifest, &key).unwrap()
}

/// Blobs in memory: a coloured JPEG thumbnail per photo, a PNG per signature.
#[derive(Debug, Default)]
pub struct MemBlobs {
    pub thumbnails: HashMap<Sha256, Vec<u8>>,
    pub blobs: HashMap<Sha256, Vec<u8>>,
}

impl BlobSource for MemBlobs {
    fn thumbnail(&self, photo: &Sha256) -> Option<Vec<u8>> {
        self.thumbnails.get(photo).cloned()
    }
    fn blob(&self, sha: &Sha256) -> Option<Vec<u8>> {
        self.blobs.get(sha).cloned()
    }
}

pub fn jpeg(w: u32, h: u32, seed: u8) -> Vec<u8> {
    fieldlead_domain::sample::photo_sized(w, h, seed, 80)
}

pub fn signature_png(seed: u32) -> Vec<u8> {
    fieldlead_domain::sample::signature_png(seed as u8)
}

pub fn blobs_for(lead: &SignedManifest) -> MemBlobs {
    let mut b = MemBlobs::default();
    for (i, e) in lead.manifest.evidence.iter().enumerate() {
        b.thumbnails
            .insert(e.sha256, jpeg(512, 384, (i as u8).wrapping_mul(23)));
    }
    for (i, party) in Party::ALL.iter().enumerate() {
        b.blobs
            .insert(signature_sha(*party), signature_png(i as u32));
    }
    b
}

/// `target/test-artifacts`, under CARGO_TARGET_DIR when set.
pub fn artifact_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (install Debian poppler-utils): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn temp_pdf(pdf: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    f.write_all(pdf).unwrap();
    f
}

/// The PDF's text as pdftotext extracts it.
pub fn pdftotext(pdf: &[u8]) -> String {
    let f = temp_pdf(pdf);
    String::from_utf8(run(Command::new("pdftotext")
        .args(["-raw", "-enc", "UTF-8"])
        .arg(f.path())
        .arg("-")))
    .unwrap()
}

/// Text with all whitespace and zero-width spaces removed, for finding values that
/// wrapped over lines.
pub fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{200B}')
        .collect()
}

pub fn page_count(pdf: &[u8]) -> usize {
    let f = temp_pdf(pdf);
    let info = String::from_utf8(run(Command::new("pdfinfo").arg(f.path()))).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Width and height of the first page in points.
pub fn page_size(pdf: &[u8]) -> (f64, f64) {
    let f = temp_pdf(pdf);
    let info = String::from_utf8(run(Command::new("pdfinfo").arg(f.path()))).unwrap();
    let size = info
        .lines()
        .find_map(|l| l.strip_prefix("Page size:"))
        .unwrap();
    let mut nums = size
        .split_whitespace()
        .filter_map(|w| w.parse::<f64>().ok());
    (nums.next().unwrap(), nums.next().unwrap())
}

/// Every word's right edge and the page width, from pdftotext's bounding boxes.
pub fn words_past_right_margin(pdf: &[u8], right_margin_pt: f64) -> Vec<String> {
    let f = temp_pdf(pdf);
    let html = String::from_utf8(run(Command::new("pdftotext")
        .args(["-bbox", "-enc", "UTF-8"])
        .arg(f.path())
        .arg("-")))
    .unwrap();
    let mut width = 0.0;
    let mut out = Vec::new();
    for line in html.lines() {
        let attr = |name: &str| -> Option<f64> {
            let start = line.find(&format!("{name}=\""))? + name.len() + 2;
            line[start..].split('"').next()?.parse().ok()
        };
        if line.trim_start().starts_with("<page") {
            width = attr("width").unwrap();
        } else if line.trim_start().starts_with("<word") {
            let x_max = attr("xMax").unwrap();
            if x_max > width - right_margin_pt {
                out.push(line.trim().to_string());
            }
        }
    }
    out
}

/// Renders the first page to PNG (150 dpi) and keeps it as a test artifact.
pub fn first_page_png(pdf: &[u8], name: &str) -> PathBuf {
    first_page_png_at(pdf, name, 150)
}

pub fn first_page_png_at(pdf: &[u8], name: &str, dpi: u32) -> PathBuf {
    let f = temp_pdf(pdf);
    let prefix = artifact_dir().join(name);
    run(Command::new("pdftoppm")
        .args([
            "-png",
            "-r",
            &dpi.to_string(),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
        ])
        .arg(f.path())
        .arg(&prefix));
    let png = prefix.with_extension("png");
    assert!(png.exists(), "{png:?}");
    std::fs::write(prefix.with_extension("pdf"), pdf).unwrap();
    png
}

/// The texts of the QR codes on a PDF's first page, read from a 200 dpi
/// rendering (about what an office scanner or a phone photo of the page gives).
pub fn first_page_qr_texts(pdf: &[u8], name: &str) -> Vec<String> {
    let png = first_page_png_at(pdf, name, 200);
    let page = image::open(&png).unwrap().to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        page.width() as usize,
        page.height() as usize,
        |x, y| page.get_pixel(x as u32, y as u32).0[0],
    );
    prepared
        .detect_grids()
        .iter()
        .map(|g| g.decode().unwrap().1)
        .collect()
}

/// The text of the one QR code on a PDF's first page.
pub fn first_page_qr_text(pdf: &[u8], name: &str) -> String {
    let texts = first_page_qr_texts(pdf, name);
    assert_eq!(texts.len(), 1, "one QR code on the first page");
    texts.into_iter().next().unwrap()
}
