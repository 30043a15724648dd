//! fieldlead-forms turns sealed leads, lead lists and 后处理 cases into the
//! documents a bureau prints, signs and files: the 产品违法线索移交表 (illegal-lead
//! transfer form) as PDF; the notice's 附件1 to 附件5 (结果通知书, 复检机构确定通知书,
//! 不予复检通知书, 复检结果通知书, 责令改正通知书) as PDF; and its 附件6
//! 不合格产品线索移交清单, 附件7 移交线索立案案件结果清单 and 附件8 不予立案线索清单 as PDF
//! and as .xlsx.
//!
//! Layout is not done here: the documents are Typst templates (`templates/*.typ`,
//! compiled in) filled from JSON (`json("/data.json")`), compiled with Typst as a
//! library. A bureau adapts a form by copying the templates to a folder
//! ([`export_default_templates`]), editing them and pointing
//! [`FormsConfig::template_dir`] at it: no rebuild, not even a restart. This crate
//! prepares the data (formatted dates, GPS, checkboxes, the QR code that ties the
//! paper to the sealed manifest, validated thumbnails), finds Chinese fonts in the
//! configured folders and the system's, and refuses with `no_cjk_font` rather
//! than print boxes of tofu.
//!
//! Blobs (photo thumbnails, signature images) come from the caller through
//! [`BlobSource`], so the tablet, the bureau and the CLI each serve them from their
//! own store. Fonts are searched once per process and each font file is loaded on
//! first use, so only the first form of a process is slow.

#![forbid(unsafe_code)]

mod error;
mod fonts;
mod lists;
mod notices;
mod number;
mod qr;
#[cfg(any(test, feature = "sample"))]
pub mod sample;
mod text;
mod transfer;
mod world;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::FormError;
pub use fonts::FontChoice;
pub use lists::{
    lead_list_xlsx, CaseResultRow, DeclinedRow, HandlingListRow, LeadList, ListFooter, ListKind,
    TransferListRow,
};
pub use notices::{
    notice_data_sha256, notice_qr_payload, parse_notice_qr_payload, NoticeAppeal, NoticeContact,
    NoticeData, NoticeProduct, NoticeSeal,
};
pub use number::{FormNumberPattern, DEFAULT_FORM_NUMBER_PATTERN};
pub use transfer::{parse_qr_payload, qr_payload, FormOptions, TransferLead};
pub use world::DEFAULT_TEMPLATES;

use fieldlead_domain::{Sha256, SignedManifest};

use crate::fonts::{FontSet, FontSources};
use crate::world::{FormWorld, Templates};

/// Where the bytes of thumbnails and signature images come from.
pub trait BlobSource {
    /// The orientation-corrected thumbnail (JPEG or PNG) of the photo with this
    /// digest, or `None` when there is none (HEIC, not yet synced): the form then
    /// shows "无预览".
    fn thumbnail(&self, photo: &Sha256) -> Option<Vec<u8>>;
    /// Any blob by its digest; used for signature images.
    fn blob(&self, sha: &Sha256) -> Option<Vec<u8>>;
}

/// A [`BlobSource`] from two closures, e.g. over the tablet's evidence store.
pub struct BlobFns<T, B>
where
    T: Fn(&Sha256) -> Option<Vec<u8>>,
    B: Fn(&Sha256) -> Option<Vec<u8>>,
{
    pub thumbnail: T,
    pub blob: B,
}

impl<T, B> BlobSource for BlobFns<T, B>
where
    T: Fn(&Sha256) -> Option<Vec<u8>>,
    B: Fn(&Sha256) -> Option<Vec<u8>>,
{
    fn thumbnail(&self, photo: &Sha256) -> Option<Vec<u8>> {
        (self.thumbnail)(photo)
    }
    fn blob(&self, sha: &Sha256) -> Option<Vec<u8>> {
        (self.blob)(sha)
    }
}

impl<T, B> std::fmt::Debug for BlobFns<T, B>
where
    T: Fn(&Sha256) -> Option<Vec<u8>>,
    B: Fn(&Sha256) -> Option<Vec<u8>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlobFns")
    }
}

/// A source with no blobs at all: every photo prints "无预览" and signatures print
/// as missing. For reprinting from a manifest alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBlobs;

impl BlobSource for NoBlobs {
    fn thumbnail(&self, _: &Sha256) -> Option<Vec<u8>> {
        None
    }
    fn blob(&self, _: &Sha256) -> Option<Vec<u8>> {
        None
    }
}

/// Installation-wide settings: where a bureau's own templates and fonts are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormsConfig {
    /// A folder of `.typ` templates that replace the defaults of the same name.
    pub template_dir: Option<PathBuf>,
    /// Font folders searched before the system's.
    pub font_dirs: Vec<PathBuf>,
    /// Also search the system's fonts (`/usr/share/fonts`, `~/.local/share/fonts`, ...).
    pub system_fonts: bool,
}

impl Default for FormsConfig {
    fn default() -> Self {
        FormsConfig {
            template_dir: None,
            font_dirs: Vec::new(),
            system_fonts: true,
        }
    }
}

/// The document renderer of one configuration. Cheap to create once the fonts of
/// its configuration have been searched (that happens once per process).
#[derive(Debug, Clone)]
pub struct Forms {
    fonts: Arc<FontSet>,
    templates: Templates,
}

impl Forms {
    /// Finds the fonts (or fails with `no_cjk_font`) and checks the template folder.
    pub fn new(config: &FormsConfig) -> Result<Forms, FormError> {
        if let Some(dir) = &config.template_dir {
            std::fs::read_dir(dir).map_err(|source| FormError::TemplateDir {
                path: dir.clone(),
                source,
            })?;
        }
        let fonts = FontSet::cached(&FontSources {
            dirs: config.font_dirs.clone(),
            system: config.system_fonts,
        })?;
        Ok(Forms {
            fonts,
            templates: Templates {
                dir: config.template_dir.clone(),
            },
        })
    }

    /// The font families the templates are given.
    pub fn fonts(&self) -> &FontChoice {
        &self.fonts.choice
    }

    /// The 产品违法线索移交表 of a sealed lead, as PDF bytes.
    pub fn transfer_form_pdf(
        &self,
        lead: &SignedManifest,
        blobs: &dyn BlobSource,
        options: &FormOptions,
    ) -> Result<Vec<u8>, FormError> {
        let prepared = transfer::prepare(
            TransferLead::Sealed(lead),
            blobs,
            options,
            &self.fonts.choice,
        )?;
        self.compile(
            "transfer_form.typ",
            prepared.data,
            prepared.files,
            &lead.manifest.lead_id.to_string(),
            false,
        )
        .map(|(pdf, _)| pdf)
    }

    /// The transfer form as PDF and, for an on-screen preview, each page as SVG:
    /// one layout, so the preview is exactly what prints.
    ///
    /// [`TransferLead::Draft`] is a record not locked yet: 预览 across every
    /// page, no QR code, no 存证摘要, and the signatures it has so far.
    pub fn transfer_form_with_preview(
        &self,
        lead: TransferLead<'_>,
        blobs: &dyn BlobSource,
        options: &FormOptions,
    ) -> Result<RenderedForm, FormError> {
        let ident = lead.manifest().lead_id.to_string();
        let prepared = transfer::prepare(lead, blobs, options, &self.fonts.choice)?;
        let (pdf, pages_svg) = self.compile(
            "transfer_form.typ",
            prepared.data,
            prepared.files,
            &ident,
            true,
        )?;
        Ok(RenderedForm { pdf, pages_svg })
    }

    /// One of the lead lists (附件6/7/8), as PDF bytes.
    pub fn lead_list_pdf(&self, list: &LeadList) -> Result<Vec<u8>, FormError> {
        let data = list.template_data(&self.fonts.choice)?;
        self.compile(
            list.kind().template(),
            data,
            Vec::new(),
            list.kind().annex(),
            false,
        )
        .map(|(pdf, _)| pdf)
    }

    /// One of the notice's 后处理 documents (附件1 to 附件5, by
    /// [`NoticeData::document`]) as PDF and, for the on-screen preview, each page
    /// as SVG. The data is checked first: what the document cannot be printed
    /// without, text limits, no control characters ([`FormError::Notice`], code
    /// `notice_field`). [`NoticeSeal::Preview`] prints 预览 across every page and no
    /// number; [`NoticeSeal::Issued`] prints the number and a QR code
    /// ([`notice_qr_payload`]), and is refused unless its `data_sha256` is
    /// [`notice_data_sha256`] of this very data.
    pub fn notice(&self, data: &NoticeData, seal: &NoticeSeal) -> Result<RenderedForm, FormError> {
        let prepared = notices::prepare(data, seal, &self.fonts.choice)?;
        let (pdf, pages_svg) = self.compile(
            notices::template(data.document),
            prepared.data,
            prepared.files,
            &prepared.ident,
            true,
        )?;
        Ok(RenderedForm { pdf, pages_svg })
    }

    fn compile(
        &self,
        main: &str,
        data: serde_json::Value,
        mut files: Vec<(String, Vec<u8>)>,
        ident: &str,
        svg: bool,
    ) -> Result<(Vec<u8>, Vec<String>), FormError> {
        let json = serde_json::to_vec(&data).map_err(|e| FormError::Pdf(e.to_string()))?;
        files.push(("/data.json".to_string(), json));
        let today = chrono::Local::now().date_naive();
        FormWorld::new(&self.fonts, &self.templates, main, files, today).render(ident, svg)
    }
}

/// A form as printed and as previewed.
#[derive(Debug, Clone)]
pub struct RenderedForm {
    pub pdf: Vec<u8>,
    /// One SVG document per page.
    pub pages_svg: Vec<String>,
}

/// The transfer form with the default configuration (system fonts, built-in
/// templates): what the tablet and the `fieldlead form` command print.
pub fn render_transfer_form_pdf(
    lead: &SignedManifest,
    blobs: &dyn BlobSource,
    options: &FormOptions,
) -> Result<Vec<u8>, FormError> {
    Forms::new(&FormsConfig::default())?.transfer_form_pdf(lead, blobs, options)
}

/// Writes the built-in templates into `dir` (created if needed) as the starting
/// point of a bureau's own. Existing files are left alone, so a bureau's edits are
/// never overwritten; returns the names written.
pub fn export_default_templates(dir: &Path) -> Result<Vec<&'static str>, FormError> {
    let io = |source| FormError::TemplateDir {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut written = Vec::new();
    for (name, text) in DEFAULT_TEMPLATES {
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                std::io::Write::write_all(&mut f, text.as_bytes()).map_err(io)?;
                written.push(*name);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(written)
}
