//! The 产品违法线索移交表 of a sealed lead on this tablet, rendered by
//! `fieldlead_forms` from the sealed manifest and the evidence store (photos as
//! their thumbnails, signature images whole): the one use-case behind the app's
//! form preview and the `fieldlead form` command. The renderer's types a caller
//! needs are re-exported here, so a shell depends on this crate only.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use fieldlead_domain::{LeadId, Manifest, Sha256, SignedManifest};
use fieldlead_evidence::EvidenceStore;
use fieldlead_forms::{BlobFns, BlobSource, FormOptions, TransferLead};

pub use fieldlead_forms::{
    FormError, FormNumberPattern, Forms, FormsConfig, DEFAULT_FORM_NUMBER_PATTERN,
};

use crate::error::DeviceError;
use crate::{Device, EvidenceItem};

/// Folder of the app's rendered forms inside the data dir.
pub const FORMS_DIR: &str = "forms";

/// A form number to print (编号): the district's short name and the form's
/// running number in the district and year, in a configured pattern.
#[derive(Debug, Clone)]
pub struct FormNumbering<'a> {
    pub pattern: &'a FormNumberPattern,
    pub district: &'a str,
    pub seq: u32,
}

/// The app's preview of a transfer form: each page as SVG, and where the PDF was
/// written; a record not locked yet has its 预览 pages only, and no PDF.
#[derive(Debug, Clone)]
pub struct TransferFormPreview {
    pub pages_svg: Vec<String>,
    pub pdf_path: Option<PathBuf>,
}

/// A locked lead, or a draft shown before locking.
#[derive(Debug, Clone)]
enum FormLead {
    Sealed(SignedManifest),
    Draft(Manifest),
}

/// What a lead's form is rendered from, gathered from the tablet's data at
/// once: rendering (a second or so) then needs no lock on the [`Device`].
#[derive(Debug, Clone)]
pub struct FormSource {
    lead: FormLead,
    /// Each photo's thumbnail, printed in its place.
    thumbnails: HashMap<Sha256, Sha256>,
    store: EvidenceStore,
    /// The enrolled district's name: the receiving unit of the app's form.
    district: Option<String>,
    /// Where the app's PDFs go: the data dir's [`FORMS_DIR`].
    forms_dir: PathBuf,
}

impl Device {
    /// The sealed lead `id` and its evidence, ready to render; a draft has no form.
    pub fn form_source(&self, id: LeadId) -> Result<FormSource, DeviceError> {
        let lead = self.manifest(id)?.ok_or(DeviceError::FormNotSealed(id))?;
        self.source_of(FormLead::Sealed(lead), &self.record(id)?.evidence)
    }

    /// The draft `id` as its form would print if it were locked now, for the
    /// 预览 before locking: its fields must pass the form's rules (else
    /// [`DeviceError::InvalidDraft`] with every problem); photos, captions and
    /// signatures are shown as far as they go.
    pub fn draft_form_source(&self, id: LeadId) -> Result<FormSource, DeviceError> {
        let (manifest, items) = self.draft_manifest(id)?;
        self.source_of(FormLead::Draft(manifest), &items)
    }

    /// `lead` with its photos' thumbnails and this tablet's store, district and
    /// forms folder.
    fn source_of(
        &self,
        lead: FormLead,
        photos: &[EvidenceItem],
    ) -> Result<FormSource, DeviceError> {
        Ok(FormSource {
            lead,
            thumbnails: photos
                .iter()
                .filter_map(|e| Some((e.sha256, e.intake.thumbnail.as_ref()?.sha256)))
                .collect(),
            store: self.store.clone(),
            district: self.enrolment()?.map(|e| e.district_name),
            forms_dir: self.dir.join(FORMS_DIR),
        })
    }
}

impl FormSource {
    fn transfer_lead(&self) -> TransferLead<'_> {
        match &self.lead {
            FormLead::Sealed(s) => TransferLead::Sealed(s),
            FormLead::Draft(m) => TransferLead::Draft(m),
        }
    }

    fn manifest(&self) -> &Manifest {
        match &self.lead {
            FormLead::Sealed(s) => &s.manifest,
            FormLead::Draft(m) => m,
        }
    }

    /// Renders with this tablet's evidence as the blobs: photos by their
    /// thumbnails, signature images whole.
    fn render<T>(
        &self,
        render: impl FnOnce(&dyn BlobSource) -> Result<T, FormError>,
    ) -> Result<T, DeviceError> {
        let store = &self.store;
        let thumbs = &self.thumbnails;
        let blobs = BlobFns {
            thumbnail: |photo: &Sha256| store.read(thumbs.get(photo)?).ok(),
            blob: |sha: &Sha256| store.read(sha).ok(),
        };
        Ok(render(&blobs)?)
    }

    /// The transfer form of a locked lead as PDF bytes (`fieldlead form`),
    /// numbered if asked.
    pub fn pdf(
        &self,
        forms: &Forms,
        numbering: Option<FormNumbering<'_>>,
        receiving_unit: Option<String>,
    ) -> Result<Vec<u8>, DeviceError> {
        let FormLead::Sealed(lead) = &self.lead else {
            return Err(DeviceError::FormNotSealed(self.manifest().lead_id));
        };
        let form_number = numbering
            .map(|n| {
                n.pattern
                    .format(n.district, lead.manifest.record.task.year, n.seq)
            })
            .transpose()?;
        let options = FormOptions {
            form_number,
            receiving_unit,
        };
        self.render(|blobs| forms.transfer_form_pdf(lead, blobs, &options))
    }

    /// The app's form: for the enrolled district (the receiving unit), its pages
    /// as SVG for the preview and, for a locked lead, the PDF written under the
    /// data dir's [`FORMS_DIR`], ready to print or hand over. A draft's 预览 is
    /// never written out: it is not a form to hand over.
    pub fn preview(&self, forms: &Forms) -> Result<TransferFormPreview, DeviceError> {
        let options = FormOptions {
            form_number: None,
            receiving_unit: self.district.clone(),
        };
        let form = self.render(|blobs| {
            forms.transfer_form_with_preview(self.transfer_lead(), blobs, &options)
        })?;
        let pdf_path = match &self.lead {
            FormLead::Sealed(lead) => {
                let path = self
                    .forms_dir
                    .join(format!("移交表-{}.pdf", lead.manifest.lead_id));
                write_pdf(&path, &form.pdf).map_err(DeviceError::FormPdf)?;
                Some(path)
            }
            FormLead::Draft(_) => None,
        };
        Ok(TransferFormPreview {
            pages_svg: form.pages_svg,
            pdf_path,
        })
    }
}

/// Writes a PDF under a temporary name, then renames it: never a half-written
/// PDF under the final name. Creates the folder if needed.
pub fn write_pdf(path: &Path, pdf: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("pdf.tmp");
    std::fs::write(&tmp, pdf)?;
    std::fs::rename(&tmp, path)
}
