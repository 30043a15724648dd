//! The transfer form with 10 photos, warm (fonts loaded, Typst library built),
//! against how offices make such PDFs today: `libreoffice --headless --convert-to
//! pdf` of an equivalent .docx (same fields, same 10 thumbnails, same signatures).
//! Both run in the same process and run; the ratio is printed at the end.
//!
//! `cargo bench -p fieldlead-forms --bench form`. LibreOffice is skipped (with a
//! note) when `libreoffice` is not installed (Debian libreoffice-writer-nogui).

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use criterion::{criterion_group, Criterion, SamplingMode};
use fieldlead_domain::{Outcome, SignedManifest, SignoffKind};
use fieldlead_forms::{FormOptions, Forms, FormsConfig};

const PHOTOS: usize = 10;

fn leads() -> Vec<(SignedManifest, common::MemBlobs)> {
    // Several different leads, cycled, so no render is a replay of the one before.
    (0..8)
        .map(|_| {
            let lead = common::lead(&common::LeadSpec {
                photos: PHOTOS,
                business_refuses: false,
                ..Default::default()
            });
            let blobs = common::blobs_for(&lead);
            (lead, blobs)
        })
        .collect()
}

fn bench_typst(c: &mut Criterion) {
    let forms = Forms::new(&FormsConfig::default()).expect("CJK fonts installed");
    let leads = leads();
    // Warm: the first render loads the fonts and builds the Typst library.
    let cold = std::time::Instant::now();
    forms
        .transfer_form_pdf(&leads[0].0, &leads[0].1, &FormOptions::default())
        .unwrap();
    eprintln!("first (cold) render in this process: {:?}", cold.elapsed());
    let mut n = 0u32;
    let mut group = c.benchmark_group("transfer_form_10_photos");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("typst_warm", |b| {
        b.iter(|| {
            n += 1;
            let (lead, blobs) = &leads[n as usize % leads.len()];
            let options = FormOptions {
                form_number: Some(format!("渝中移〔2026〕{n:04}号")),
                receiving_unit: None,
            };
            forms.transfer_form_pdf(lead, blobs, &options).unwrap()
        })
    });
    group.finish();
}

fn bench_libreoffice(c: &mut Criterion) {
    if Command::new("libreoffice")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("libreoffice not installed: skipping the comparison");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (lead, blobs) = &leads()[0];
    let docx = dir.path().join("transfer_form.docx");
    std::fs::write(&docx, docx_of(lead, blobs)).unwrap();
    let profile = dir.path().join("lo-profile");
    let out = dir.path().join("out");
    let convert = || {
        let status = Command::new("libreoffice")
            .arg(format!(
                "-env:UserInstallation=file://{}",
                profile.display()
            ))
            .args(["--headless", "--convert-to", "pdf", "--outdir"])
            .arg(&out)
            .arg(&docx)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let pdf = out.join("transfer_form.pdf");
        assert!(std::fs::metadata(&pdf).unwrap().len() > 1000);
        std::fs::remove_file(pdf).unwrap();
    };
    convert(); // creates the profile: what a warm office machine already has
    let mut group = c.benchmark_group("transfer_form_10_photos");
    // Seconds per conversion: one run per sample, not criterion's growing counts.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function("libreoffice_docx_to_pdf", |b| b.iter(convert));
    group.finish();
}

criterion_group!(benches, bench_typst, bench_libreoffice);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    report_ratio();
}

/// Reads both medians back from criterion's estimates and prints the ratio.
fn report_ratio() {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let median = |name: &str| -> Option<f64> {
        let path = target
            .join("criterion/transfer_form_10_photos")
            .join(name)
            .join("new/estimates.json");
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        json["median"]["point_estimate"].as_f64()
    };
    if let (Some(t), Some(l)) = (median("typst_warm"), median("libreoffice_docx_to_pdf")) {
        println!(
            "transfer form, 10 photos: typst warm median {:.1} ms, libreoffice median {:.1} ms, libreoffice/typst = {:.1}x",
            t / 1e6,
            l / 1e6,
            l / t
        );
    }
}

// ---------------------------------------------------------------------------
// An equivalent .docx, written as a minimal OOXML package.

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn para(text: &str, size_half_pt: u32, bold: bool, center: bool) -> String {
    format!(
        r#"<w:p><w:pPr>{}</w:pPr><w:r><w:rPr><w:rFonts w:ascii="Noto Serif CJK SC" w:eastAsia="Noto Serif CJK SC" w:hAnsi="Noto Serif CJK SC"/>{}<w:sz w:val="{size_half_pt}"/></w:rPr><w:t xml:space="preserve">{}</w:t></w:r></w:p>"#,
        if center {
            r#"<w:jc w:val="center"/>"#
        } else {
            ""
        },
        if bold { "<w:b/>" } else { "" },
        esc(text)
    )
}

fn picture(rel: &str, id: usize, cx: u64, cy: u64) -> String {
    format!(
        r#"<w:p><w:r><w:drawing><wp:inline><wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{id}" name="Picture {id}"/><a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="{id}" name="p{id}"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="{rel}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"#
    )
}

fn table(rows: &[Vec<String>]) -> String {
    let mut x = String::from(
        r#"<w:tbl><w:tblPr><w:tblW w:w="5000" w:type="pct"/><w:tblBorders><w:top w:val="single" w:sz="4"/><w:left w:val="single" w:sz="4"/><w:bottom w:val="single" w:sz="4"/><w:right w:val="single" w:sz="4"/><w:insideH w:val="single" w:sz="4"/><w:insideV w:val="single" w:sz="4"/></w:tblBorders></w:tblPr>"#,
    );
    for row in rows {
        x.push_str("<w:tr>");
        for cell in row {
            x.push_str("<w:tc>");
            if cell.starts_with("<w:p>") {
                x.push_str(cell);
            } else {
                x.push_str(&para(cell, 21, false, false));
            }
            x.push_str("</w:tc>");
        }
        x.push_str("</w:tr>");
    }
    x.push_str("</w:tbl>");
    x
}

fn docx_of(lead: &SignedManifest, blobs: &common::MemBlobs) -> Vec<u8> {
    let m = &lead.manifest;
    let r = &m.record;
    let Outcome::Terminated { grounds, situation } = &r.outcome else {
        unreachable!()
    };
    let tick = |b: bool| if b { "☑" } else { "☐" };
    let has = |label: &str| grounds.iter().any(|g| g.label_zh() == label);
    let mut body = String::new();
    let mut media: Vec<(String, Vec<u8>)> = Vec::new();
    body.push_str(&para("产品违法线索移交表", 44, true, true));
    body.push_str(&para(
        &format!("编号：渝中移〔2026〕0007号    线索编号：{}", m.lead_id),
        21,
        false,
        false,
    ));
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "/".into());
    let fields: Vec<Vec<String>> = vec![
        vec!["移交单位".into(), r.sending_unit.clone()],
        vec![
            "抽样人员".into(),
            format!(
                "{}（{}）、{}（{}）",
                r.samplers[0].name,
                r.samplers[0].credential_no,
                r.samplers[1].name,
                r.samplers[1].credential_no
            ),
        ],
        vec!["抽样时间".into(), r.started_at.to_string()],
        vec!["抽样地点".into(), r.place.address.clone()],
        vec![
            "抽查任务".into(),
            format!(
                "{}年度 {}（{}） {}",
                r.task.year, r.task.name, r.task.number, r.task.product_category
            ),
        ],
        vec![
            "被抽样单位".into(),
            format!(
                "{} {} {} {} {}",
                r.business.name,
                r.business.uscc,
                r.business.address,
                r.business.person_in_charge,
                r.business.phone
            ),
        ],
        vec![
            "产品".into(),
            format!(
                "{} {} {} {}",
                r.product.name,
                opt(&r.product.brand),
                opt(&r.product.spec_model),
                opt(&r.product.batch_or_date)
            ),
        ],
        vec![
            "标称生产厂家".into(),
            format!(
                "{} {}",
                opt(&r.nominal_producer.name),
                opt(&r.nominal_producer.address)
            ),
        ],
        vec![
            "涉嫌情形".into(),
            [
                "无厂名",
                "无厂址",
                "无质量检验合格证明",
                "涉嫌无工业产品生产许可证",
                "涉嫌未经强制性产品认证（CCC）",
                "其他无需检验即可判定违法的情形",
            ]
            .iter()
            .map(|l| format!("{}{l}", tick(has(l))))
            .collect::<Vec<_>>()
            .join("  "),
        ],
        vec!["现场情况".into(), situation.clone()],
        vec!["存证摘要".into(), lead.manifest_hash.to_hex()],
    ];
    body.push_str(&table(&fields));
    let mut rows = vec![vec![
        "序号".into(),
        "照片".into(),
        "说明".into(),
        "拍摄时间".into(),
        "SHA-256".into(),
    ]];
    for (i, e) in m.evidence.iter().enumerate() {
        let rel = format!("rIdImg{i}");
        media.push((rel.clone(), blobs.thumbnails[&e.sha256].clone()));
        rows.push(vec![
            (i + 1).to_string(),
            picture(&rel, i + 10, 1_000_000, 750_000),
            e.caption.clone(),
            e.exif_datetime.clone().unwrap_or_default(),
            e.sha256.to_hex(),
        ]);
    }
    body.push_str(&para("现场照片证据清单", 28, true, true));
    body.push_str(&table(&rows));
    let mut sigs = Vec::new();
    for (i, s) in m.signoffs.iter().enumerate() {
        let cell = match &s.signoff {
            SignoffKind::Signed { image_sha256, .. } => {
                let rel = format!("rIdSig{i}");
                media.push((rel.clone(), blobs.blobs[image_sha256].clone()));
                picture(&rel, i + 100, 1_500_000, 500_000)
            }
            SignoffKind::Refused { witness } => {
                para(&format!("拒签 见证人：{witness}"), 21, false, false)
            }
        };
        sigs.push(cell);
    }
    body.push_str(&table(&[sigs]));
    body.push_str(&table(&[vec![
        "接收单位".into(),
        String::new(),
        "接收人".into(),
        String::new(),
    ]]));

    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"><w:body>{body}<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1247" w:right="1134" w:bottom="1247" w:left="1361" w:header="720" w:footer="720" w:gutter="0"/></w:sectPr></w:body></w:document>"#
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    for (rel, bytes) in &media {
        let ext = if bytes.starts_with(b"\x89PNG") {
            "png"
        } else {
            "jpeg"
        };
        rels.push_str(&format!(r#"<Relationship Id="{rel}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/{rel}.{ext}"/>"#));
    }
    rels.push_str("</Relationships>");

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    let mut add = |name: &str, bytes: &[u8]| {
        zip.start_file(name, opts).unwrap();
        zip.write_all(bytes).unwrap();
    };
    add("[Content_Types].xml", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="jpeg" ContentType="image/jpeg"/><Default Extension="png" ContentType="image/png"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#);
    add("_rels/.rels", br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#);
    add("word/document.xml", document.as_bytes());
    add("word/_rels/document.xml.rels", rels.as_bytes());
    for (rel, bytes) in &media {
        let ext = if bytes.starts_with(b"\x89PNG") {
            "png"
        } else {
            "jpeg"
        };
        add(&format!("word/media/{rel}.{ext}"), bytes);
    }
    zip.finish().unwrap().into_inner()
}
