//! The data of the 产品违法线索移交表: everything the template prints, already
//! formatted, plus the files it embeds (QR code, thumbnails, signatures).

use fieldlead_domain::{
    BusinessRole, EvidenceEntry, Ground, LeadId, Manifest, Outcome, Party, Sha256, SignedManifest,
    SignoffKind,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::FormError;
use crate::fonts::FontChoice;
use crate::qr::qr_svg;
use crate::text::{breakable, date_time, exif_time, gps};
use crate::BlobSource;

/// What varies per printing rather than per lead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FormOptions {
    /// The form number (编号), already formatted with the district's
    /// [`FormNumberPattern`](crate::FormNumberPattern); a blank line when `None`.
    pub form_number: Option<String>,
    /// The receiving district bureau, when known at print time. The receiver, the
    /// date and the bureau's feedback stay blank for the bureau to fill in by hand.
    pub receiving_unit: Option<String>,
}

pub(crate) struct Prepared {
    pub data: Value,
    pub files: Vec<(String, Vec<u8>)>,
}

const QR_PREFIX: &str = "FIELDLEAD:LEAD:";
const QR_MANIFEST: &str = ":MANIFEST:";

/// The text in the form's QR code: the lead id and the manifest hash, so a paper
/// copy can be matched to its sealed digital evidence:
/// `FIELDLEAD:LEAD:<lead id>:MANIFEST:<64 hex>`. Upper case on purpose: it fits
/// the QR alphanumeric mode, which makes a smaller code with larger modules, so it
/// still scans from a photocopy.
pub fn qr_payload(lead_id: &LeadId, manifest_hash: &Sha256) -> String {
    format!(
        "{QR_PREFIX}{lead_id}{QR_MANIFEST}{}",
        manifest_hash.to_hex()
    )
    .to_uppercase()
}

/// Reads a scanned QR text back into the lead id and manifest hash.
pub fn parse_qr_payload(text: &str) -> Option<(LeadId, Sha256)> {
    let text = text.trim().to_uppercase();
    let rest = text.strip_prefix(QR_PREFIX)?;
    let (id, hash) = rest.split_once(QR_MANIFEST)?;
    Some((
        id.to_lowercase().parse().ok()?,
        hash.to_lowercase().parse().ok()?,
    ))
}

/// What a transfer form is printed from: a locked lead, or a record not yet
/// locked, shown before locking as a watermarked 预览 with no QR code, no
/// 存证摘要 and whatever signatures it has so far.
#[derive(Debug, Clone, Copy)]
pub enum TransferLead<'a> {
    Sealed(&'a SignedManifest),
    Draft(&'a Manifest),
}

impl TransferLead<'_> {
    pub(crate) fn manifest(&self) -> &Manifest {
        match self {
            TransferLead::Sealed(s) => &s.manifest,
            TransferLead::Draft(m) => m,
        }
    }

    fn manifest_hash(&self) -> Option<Sha256> {
        match self {
            TransferLead::Sealed(s) => Some(s.manifest_hash),
            TransferLead::Draft(_) => None,
        }
    }
}

pub(crate) fn prepare(
    lead: TransferLead<'_>,
    blobs: &dyn BlobSource,
    options: &FormOptions,
    fonts: &FontChoice,
) -> Result<Prepared, FormError> {
    let m = lead.manifest();
    let r = &m.record;
    let Outcome::Terminated { grounds, situation } = &r.outcome else {
        return Err(FormError::NotALead);
    };
    let mut files = Vec::new();

    let manifest_hash = lead.manifest_hash();
    if let Some(hash) = &manifest_hash {
        let svg = qr_svg(&qr_payload(&m.lead_id, hash))?;
        files.push(("/qr.svg".to_string(), svg));
    }

    let evidence: Vec<Value> = m
        .evidence
        .iter()
        .enumerate()
        .map(|(i, e)| evidence_row(i + 1, e, blobs, &mut files))
        .collect();

    let signoffs: Vec<Value> = Party::ALL
        .iter()
        .map(|party| {
            let s = m.signoffs.iter().find(|s| s.party == *party);
            let mut row = json!({
                "party": party.label_zh(),
                "name": s.map(|s| breakable(&s.name)),
                "at": s.map(|s| date_time(&s.at)),
                "image": null,
                "image_sha256": null,
                "refused": false,
                "witness": null,
            });
            match s.map(|s| &s.signoff) {
                Some(SignoffKind::Signed { image_sha256, .. }) => {
                    row["image_sha256"] = json!(image_sha256.to_hex());
                    if let Some((ext, bytes)) = blobs.blob(image_sha256).and_then(printable_image) {
                        let path = format!("/signatures/{}.{ext}", image_sha256.to_hex());
                        row["image"] = json!(path);
                        files.push((path, bytes));
                    }
                }
                Some(SignoffKind::Refused { witness }) => {
                    row["refused"] = json!(true);
                    row["witness"] = json!(breakable(witness));
                }
                None => {}
            }
            row
        })
        .collect();

    let checked = |g: &Ground| {
        grounds
            .iter()
            .any(|x| std::mem::discriminant(x) == std::mem::discriminant(g))
    };
    let other_text = grounds.iter().find_map(|g| match g {
        Ground::Other { text } => Some(breakable(text)),
        _ => None,
    });
    let item = |g: Ground| json!({ "label": g.label_zh(), "checked": checked(&g) });
    let ground_lines = json!([
        { "items": [item(Ground::NoFactoryName), item(Ground::NoFactoryAddress)] },
        { "items": [item(Ground::NoQualityCertificate)] },
        { "items": [item(Ground::SuspectedNoProductionLicence)] },
        { "items": [item(Ground::SuspectedNoCcc)] },
        { "items": [item(Ground::Other { text: String::new() })], "text": other_text },
    ]);

    let roles: Vec<Value> = BusinessRole::ALL
        .iter()
        .map(|role| json!({ "label": role.label_zh(), "checked": *role == r.business.role }))
        .collect();

    let time = match r.ended_at {
        Some(end) if end.date_naive() == r.started_at.date_naive() => {
            format!("{} 至 {}", date_time(&r.started_at), end.format("%H:%M"))
        }
        Some(end) => format!("{} 至 {}", date_time(&r.started_at), date_time(&end)),
        None => date_time(&r.started_at),
    };
    let opt = |v: &Option<String>| v.as_deref().map(breakable);
    let p = &r.product;

    let data = json!({
        "fonts": fonts,
        "form_number": options.form_number.as_deref().map(breakable),
        "receiving_unit": options.receiving_unit.as_deref().map(breakable),
        "lead_id": m.lead_id.to_string(),
        "preview": manifest_hash.is_none(),
        "manifest_hash": manifest_hash.map(|h| h.to_hex()),
        "qr": manifest_hash.map(|_| "/qr.svg"),
        "sealed_at": date_time(&m.sealed_at),
        "sending_unit": breakable(&r.sending_unit),
        "sampling_number": opt(&r.sampling_number),
        "samplers": r.samplers.iter().map(|s| json!({
            "name": breakable(&s.name),
            "credential_no": breakable(&s.credential_no),
        })).collect::<Vec<_>>(),
        "time": time,
        "place": {
            "address": breakable(&r.place.address),
            "gps": r.place.gps.as_ref().map(gps),
        },
        "task": {
            "year": r.task.year,
            "name": breakable(&r.task.name),
            "number": breakable(&r.task.number),
            "source": r.task.level.map(|l| format!("{}下达", l.label_zh())),
            "document_number": opt(&r.task.document_number),
            "product_category": breakable(&r.task.product_category),
        },
        "business": {
            "name": breakable(&r.business.name),
            "uscc": r.business.uscc.as_str(),
            "uscc_warning": r.business.uscc.warning(),
            "address": breakable(&r.business.address),
            "person_in_charge": breakable(&r.business.person_in_charge),
            "phone": breakable(&r.business.phone),
            "roles": roles,
            "platform": opt(&r.business.platform),
        },
        "product": {
            "name": breakable(&p.name),
            "brand": opt(&p.brand),
            "spec_model": opt(&p.spec_model),
            "batch_or_date": opt(&p.batch_or_date),
            "production_licence": p.production_licence.as_ref().map(|l| l.as_str().to_string()),
            "ccc_certificate": p.ccc_certificate.as_ref().map(|c| c.as_str().to_string()),
        },
        "producer": {
            "name": opt(&r.nominal_producer.name),
            "address": opt(&r.nominal_producer.address),
        },
        "grounds": ground_lines,
        "situation": breakable(situation),
        "evidence": evidence,
        "signoffs": signoffs,
    });
    Ok(Prepared { data, files })
}

fn evidence_row(
    index: usize,
    e: &EvidenceEntry,
    blobs: &dyn BlobSource,
    files: &mut Vec<(String, Vec<u8>)>,
) -> Value {
    let image = blobs
        .thumbnail(&e.sha256)
        .and_then(printable_image)
        .map(|(ext, bytes)| {
            let path = format!("/thumbs/{}.{ext}", e.sha256.to_hex());
            files.push((path.clone(), bytes));
            path
        });
    let (captured, captured_is_exif) = match &e.exif_datetime {
        Some(t) => (exif_time(t, e.exif_offset.as_deref()), true),
        None => (date_time(&e.added_at), false),
    };
    let device = match (&e.make, &e.model) {
        (Some(a), Some(b)) if b.starts_with(a.as_str()) => Some(b.clone()),
        (Some(a), Some(b)) => Some(format!("{a} {b}")),
        (a, b) => a.clone().or_else(|| b.clone()),
    };
    json!({
        "index": index,
        "image": image,
        "caption": breakable(&e.caption),
        "captured": captured,
        "captured_is_exif": captured_is_exif,
        "gps": e.exif_gps.as_ref().map(gps),
        "sha256": e.sha256.to_hex(),
        "format": e.format.to_uppercase(),
        "bytes": e.bytes,
        "device": device.as_deref().map(breakable),
    })
}

/// Checks that the bytes decode as an image, within limits, and returns them in a
/// format Typst embeds (JPEG and PNG as they are; others re-encoded as PNG). A
/// broken thumbnail prints as "无预览" rather than failing the whole form.
fn printable_image(bytes: Vec<u8>) -> Option<(&'static str, Vec<u8>)> {
    use image::ImageFormat;
    let format = image::guess_format(&bytes).ok()?;
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(&bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(8192);
    limits.max_image_height = Some(8192);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let decoded = reader.decode().ok()?;
    match format {
        ImageFormat::Jpeg => Some(("jpg", bytes)),
        ImageFormat::Png => Some(("png", bytes)),
        _ => {
            let mut png = Vec::new();
            decoded
                .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
                .ok()?;
            Some(("png", png))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_payload_round_trips() {
        let id = LeadId::new();
        let h = Sha256::digest(b"manifest");
        let text = qr_payload(&id, &h);
        assert!(text.ends_with(&h.to_hex().to_uppercase()));
        assert!(text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "-:".contains(c)));
        assert_eq!(parse_qr_payload(&text), Some((id, h)));
        assert_eq!(parse_qr_payload(&text.to_lowercase()), Some((id, h)));
        assert_eq!(parse_qr_payload("FIELDLEAD:LEAD:X:MANIFEST:00"), None);
        assert_eq!(parse_qr_payload("https://example.org"), None);
    }

    #[test]
    fn broken_images_are_not_printable() {
        assert!(printable_image(b"not an image".to_vec()).is_none());
        let mut png = Vec::new();
        image::RgbImage::new(4, 4)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(printable_image(png.clone()).unwrap().0, "png");
        png.truncate(png.len() / 2);
        assert!(printable_image(png).is_none());
    }
}
