//! Finding fonts: the configured folders first, then the system's
//! (`/usr/share/fonts`, `~/.local/share/fonts`, ...). Only the fonts' metadata is
//! read up front; each font file (a Noto CJK collection is about 20 MB) is loaded
//! the first time a form uses it and kept for the life of the process, so only
//! the first form of a process pays for it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst_kit::fonts::{FontSearcher, FontSlot};

use crate::error::FormError;

/// Title faces, best first: a Song/Ming serif in the manner of official documents.
const TITLE_FAMILIES: &[&str] = &[
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "Source Han Serif CN",
    "SimSun",
    "Songti SC",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
];

/// Body faces, best first: 仿宋 where a bureau has installed one, else the serif.
const BODY_FAMILIES: &[&str] = &[
    "FangSong",
    "FangSong_GB2312",
    "仿宋",
    "仿宋_GB2312",
    "STFangsong",
    "Zhuque Fangsong (technical preview)",
    "Noto Serif CJK SC",
    "Source Han Serif SC",
    "Source Han Serif CN",
    "SimSun",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
];

/// For the SHA-256 digests: monospaced, so a digest reads in even columns.
const MONO_FAMILIES: &[&str] = &[
    "DejaVu Sans Mono",
    "Noto Sans Mono",
    "Liberation Mono",
    "Noto Sans Mono CJK SC",
];

/// The families the templates are told to use (`data.fonts`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FontChoice {
    pub title: String,
    pub body: String,
    pub mono: String,
}

/// Where fonts come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FontSources {
    pub dirs: Vec<PathBuf>,
    pub system: bool,
}

/// The fonts of one configuration: metadata of all, each face loaded on first use.
#[derive(Debug)]
pub(crate) struct FontSet {
    pub book: LazyHash<FontBook>,
    slots: Vec<FontSlot>,
    pub choice: FontChoice,
}

impl FontSet {
    /// The fonts for `sources`, searched once per process and configuration.
    pub fn cached(sources: &FontSources) -> Result<Arc<FontSet>, FormError> {
        static CACHE: OnceLock<Mutex<HashMap<FontSources, Arc<FontSet>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(set) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(sources) {
            return Ok(set.clone());
        }
        // Search outside the lock: a system search takes a moment. Two threads may
        // search at once; the second result simply replaces the first.
        let set = Arc::new(FontSet::search(sources)?);
        cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sources.clone(), set.clone());
        Ok(set)
    }

    fn search(sources: &FontSources) -> Result<FontSet, FormError> {
        let fonts = FontSearcher::new()
            .include_system_fonts(sources.system)
            .search_with(&sources.dirs);
        let choice = choose(&fonts.book).ok_or_else(|| FormError::NoCjkFont {
            searched: searched_dirs(sources),
        })?;
        Ok(FontSet {
            book: LazyHash::new(fonts.book),
            slots: fonts.fonts,
            choice,
        })
    }

    pub fn font(&self, index: usize) -> Option<Font> {
        self.slots.get(index)?.get()
    }
}

/// Picks the title, body and digest families, or `None` when no font can set Chinese.
fn choose(book: &FontBook) -> Option<FontChoice> {
    // Both characters must be present: a font that lists a few CJK symbols is not enough.
    let cjk = |family: &str| {
        book.select_family(&family.to_lowercase()).any(|i| {
            book.info(i).is_some_and(|info| {
                info.coverage.contains('中' as u32) && info.coverage.contains('表' as u32)
            })
        })
    };
    let any_cjk = book
        .families()
        .map(|(name, _)| name.to_string())
        .find(|name| cjk(name))?;
    let pick = |list: &[&str]| {
        list.iter()
            .find(|f| cjk(f))
            .map(|f| f.to_string())
            .unwrap_or_else(|| any_cjk.clone())
    };
    let title = pick(TITLE_FAMILIES);
    let body = pick(BODY_FAMILIES);
    let mono = MONO_FAMILIES
        .iter()
        .find(|f| book.contains_family(&f.to_lowercase()))
        .map(|f| f.to_string())
        .unwrap_or_else(|| body.clone());
    Some(FontChoice { title, body, mono })
}

fn searched_dirs(sources: &FontSources) -> Vec<PathBuf> {
    let mut dirs = sources.dirs.clone();
    if sources.system {
        dirs.push(PathBuf::from("/usr/share/fonts"));
        dirs.push(PathBuf::from("/usr/local/share/fonts"));
        if let Some(home) = std::env::var_os("HOME") {
            dirs.push(PathBuf::from(home).join(".local/share/fonts"));
        }
    }
    dirs
}
