//! The Typst world a form is compiled in: the templates (a bureau's folder first,
//! then the embedded defaults), the data as `/data.json`, generated files (the QR
//! code, thumbnails, signatures) under fixed virtual paths, and the fonts. Nothing
//! is read from anywhere else: a template cannot reach outside its folder, and
//! there are no packages.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, Source, VirtualPath};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, World};

use crate::error::FormError;
use crate::fonts::FontSet;

/// The default templates, compiled in. A bureau's folder may replace any of them
/// (same file name) and add files of its own (e.g. a logo).
pub const DEFAULT_TEMPLATES: &[(&str, &str)] = &[
    ("common.typ", include_str!("../templates/common.typ")),
    (
        "list_common.typ",
        include_str!("../templates/list_common.typ"),
    ),
    (
        "transfer_form.typ",
        include_str!("../templates/transfer_form.typ"),
    ),
    ("list_6.typ", include_str!("../templates/list_6.typ")),
    ("list_7.typ", include_str!("../templates/list_7.typ")),
    ("list_8.typ", include_str!("../templates/list_8.typ")),
    (
        "list_handling.typ",
        include_str!("../templates/list_handling.typ"),
    ),
    (
        "notice_common.typ",
        include_str!("../templates/notice_common.typ"),
    ),
    ("notice_1.typ", include_str!("../templates/notice_1.typ")),
    ("notice_2.typ", include_str!("../templates/notice_2.typ")),
    ("notice_3.typ", include_str!("../templates/notice_3.typ")),
    ("notice_4.typ", include_str!("../templates/notice_4.typ")),
    ("notice_5.typ", include_str!("../templates/notice_5.typ")),
];

/// Where templates come from.
#[derive(Debug, Clone)]
pub(crate) struct Templates {
    pub dir: Option<PathBuf>,
}

impl Templates {
    fn read(&self, vpath: &VirtualPath) -> FileResult<Vec<u8>> {
        if let Some(dir) = &self.dir {
            // `resolve` refuses paths that climb out of the folder.
            if let Some(path) = vpath.resolve(dir) {
                match std::fs::read(&path) {
                    Ok(bytes) => return Ok(bytes),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(FileError::from_io(e, &path)),
                }
            }
        }
        let name = vpath.as_rootless_path();
        DEFAULT_TEMPLATES
            .iter()
            .find(|(n, _)| Path::new(n) == name)
            .map(|(_, text)| text.as_bytes().to_vec())
            .ok_or_else(|| FileError::NotFound(vpath.as_rooted_path().to_path_buf()))
    }
}

fn library() -> &'static LazyHash<Library> {
    static LIBRARY: OnceLock<LazyHash<Library>> = OnceLock::new();
    LIBRARY.get_or_init(|| LazyHash::new(Library::builder().build()))
}

/// One compilation: a main template and the files made for it.
pub(crate) struct FormWorld<'a> {
    fonts: &'a FontSet,
    templates: &'a Templates,
    main: FileId,
    files: HashMap<FileId, Bytes>,
    today: Datetime,
}

impl<'a> FormWorld<'a> {
    pub fn new(
        fonts: &'a FontSet,
        templates: &'a Templates,
        main: &str,
        files: Vec<(String, Vec<u8>)>,
        today: chrono::NaiveDate,
    ) -> Self {
        use chrono::Datelike;
        let files = files
            .into_iter()
            .map(|(path, bytes)| (file_id(&path), Bytes::new(bytes)))
            .collect();
        FormWorld {
            fonts,
            templates,
            main: file_id(main),
            files,
            today: Datetime::from_ymd(today.year(), today.month() as u8, today.day() as u8)
                .unwrap_or_else(|| Datetime::from_ymd(2000, 1, 1).expect("valid date")),
        }
    }

    /// Compiles once and writes the PDF and, with `svg`, each page as SVG (text as
    /// outlines, so a web view shows it without the fonts).
    pub fn render(&self, ident: &str, svg: bool) -> Result<(Vec<u8>, Vec<String>), FormError> {
        let warned = typst::compile::<typst::layout::PagedDocument>(self);
        let document = warned.output.map_err(|diags| self.template_error(&diags))?;
        let options = typst_pdf::PdfOptions {
            ident: typst::foundations::Smart::Custom(ident),
            ..Default::default()
        };
        let pdf = typst_pdf::pdf(&document, &options)
            .map_err(|diags| FormError::Pdf(self.describe(&diags)))?;
        let pages = if svg {
            document.pages.iter().map(typst_svg::svg).collect()
        } else {
            Vec::new()
        };
        // Typst memoises layouts across compilations; keep what recent forms used and
        // let the rest go, so a long-running bureau server does not grow without end.
        typst::comemo::evict(30);
        Ok((pdf, pages))
    }

    fn template_error(&self, diags: &[SourceDiagnostic]) -> FormError {
        FormError::Template {
            template: self.main.vpath().as_rootless_path().display().to_string(),
            message: self.describe(diags),
        }
    }

    /// `file:line: message (hint)` for each diagnostic.
    fn describe(&self, diags: &[SourceDiagnostic]) -> String {
        diags
            .iter()
            .map(|d| {
                let place = d.span.id().and_then(|id| {
                    let source = self.source(id).ok()?;
                    let range = source.range(d.span)?;
                    let line = source.byte_to_line(range.start)? + 1;
                    Some(format!(
                        "{}:{line}: ",
                        id.vpath().as_rootless_path().display()
                    ))
                });
                let mut text = format!("{}{}", place.unwrap_or_default(), d.message);
                for hint in &d.hints {
                    text.push_str(&format!("（{hint}）"));
                }
                text
            })
            .collect::<Vec<_>>()
            .join("；")
    }
}

fn file_id(path: &str) -> FileId {
    FileId::new(None, VirtualPath::new(path))
}

impl World for FormWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        library()
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id.package().is_some() {
            return Err(FileError::Other(Some(
                "表格模板不能使用 Typst 软件包（离线环境）".into(),
            )));
        }
        let bytes = self.templates.read(id.vpath())?;
        let text = String::from_utf8(bytes).map_err(|_| FileError::InvalidUtf8)?;
        Ok(Source::new(id, text))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if let Some(bytes) = self.files.get(&id) {
            return Ok(bytes.clone());
        }
        if id.package().is_some() {
            return Err(FileError::NotFound(id.vpath().as_rooted_path().into()));
        }
        self.templates.read(id.vpath()).map(Bytes::new)
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.font(index)
    }

    fn today(&self, _offset: Option<i64>) -> Option<Datetime> {
        Some(self.today)
    }
}
