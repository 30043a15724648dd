//! The lead bundle: one sealed lead as a single zip file, for a USB stick when
//! there is no network at all. Entries: `manifest.json` (the signed manifest),
//! `log.jsonl` (one signed audit entry per line), `receipt.json` (the bureau's
//! receipt, if the lead was delivered) and `blobs/<sha256>` (every photo and
//! signature image, stored uncompressed). Blobs are streamed in and out, never
//! held whole in memory. [`verify_bundle`] checks signature, chain and every blob's
//! hash offline and lists every problem it finds.

use fieldlead_domain::ErrorCode;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::Path;

use fieldlead_domain::{
    manifest_blobs, verify_lead, BlobRef, LeadId, PublicKey, Receipt, Sha256, SignedEntry,
    SignedManifest,
};
use serde::Serialize;
use sha2::Digest;

pub const MANIFEST_ENTRY: &str = "manifest.json";
pub const LOG_ENTRY: &str = "log.jsonl";
pub const RECEIPT_ENTRY: &str = "receipt.json";
pub const BLOB_PREFIX: &str = "blobs/";
/// Text entries above this are refused before they are read.
const MAX_TEXT_ENTRY: u64 = 16 * 1024 * 1024;

/// Why a bundle could not be written or opened at all.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("线索包读写出错：{0}")]
    Io(#[from] io::Error),
    #[error("不是有效的线索包（zip）：{0}")]
    Zip(String),
    #[error("线索包缺少 {0}")]
    MissingEntry(&'static str),
    #[error("线索包中的 {entry} 无法解析：{reason}")]
    Unreadable { entry: String, reason: String },
}

impl BundleError {
    /// The code the bureau answers with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            BundleError::Io(_) => ErrorCode::BundleIo,
            BundleError::Zip(_) => ErrorCode::BundleZip,
            BundleError::MissingEntry(_) => ErrorCode::BundleMissingEntry,
            BundleError::Unreadable { .. } => ErrorCode::BundleUnreadable,
        }
    }

    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

impl From<zip::result::ZipError> for BundleError {
    fn from(e: zip::result::ZipError) -> Self {
        match e {
            zip::result::ZipError::Io(io) => BundleError::Io(io),
            other => BundleError::Zip(other.to_string()),
        }
    }
}

/// One thing wrong with an otherwise readable bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleProblem {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
}

/// What [`verify_bundle`] found.
#[derive(Debug, Clone, Serialize)]
pub struct BundleReport {
    pub lead_id: LeadId,
    pub manifest_hash: Sha256,
    pub device_key: PublicKey,
    pub blobs_checked: usize,
    pub has_receipt: bool,
    /// Whether the receipt's signature was checked (needs the bureau key).
    pub receipt_signature_checked: bool,
    pub problems: Vec<BundleProblem>,
}

impl BundleReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Writes a bundle. `blob_path` gives the file holding each blob's bytes.
pub fn write_bundle(
    out: &Path,
    manifest: &SignedManifest,
    log: &[SignedEntry],
    receipt: Option<&Receipt>,
    blob_path: impl Fn(&Sha256) -> std::path::PathBuf,
) -> Result<(), BundleError> {
    let blobs = manifest_blobs(&manifest.manifest).map_err(|e| BundleError::Unreadable {
        entry: MANIFEST_ENTRY.into(),
        reason: e.to_string(),
    })?;
    // Written beside the target and renamed: a half-written bundle never carries the name.
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty());
    let tmp = tempfile_in(dir.unwrap_or(Path::new(".")))?;
    {
        let mut zip = zip::ZipWriter::new(tmp.as_file());
        let text = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let raw = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        zip.start_file(MANIFEST_ENTRY, text)?;
        serde_json::to_writer_pretty(&mut zip, manifest).map_err(io::Error::other)?;
        zip.start_file(LOG_ENTRY, text)?;
        for entry in log {
            serde_json::to_writer(&mut zip, entry).map_err(io::Error::other)?;
            zip.write_all(b"\n")?;
        }
        if let Some(r) = receipt {
            zip.start_file(RECEIPT_ENTRY, text)?;
            serde_json::to_writer_pretty(&mut zip, r).map_err(io::Error::other)?;
        }
        for b in &blobs {
            zip.start_file(format!("{BLOB_PREFIX}{}", b.sha256.to_hex()), raw)?;
            let mut f = File::open(blob_path(&b.sha256))?;
            io::copy(&mut f, &mut zip)?;
        }
        zip.finish()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(out)?;
    Ok(())
}

/// A temp file that is removed unless persisted.
struct TempFile {
    file: File,
    path: std::path::PathBuf,
    keep: bool,
}

impl TempFile {
    fn as_file(&self) -> &File {
        &self.file
    }
    fn persist(mut self, to: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, to)?;
        self.keep = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn tempfile_in(dir: &Path) -> io::Result<TempFile> {
    let mut r = [0u8; 8];
    getrandom_fill(&mut r);
    let path = dir.join(format!(".fieldlead-bundle-{}.tmp", hex::encode(r)));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok(TempFile {
        file,
        path,
        keep: false,
    })
}

fn getrandom_fill(buf: &mut [u8]) {
    // Uniqueness only, not secrecy: time and process id suffice.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = t ^ (u128::from(std::process::id()) << 64);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (seed >> ((i % 16) * 8)) as u8;
    }
}

/// An opened bundle: its lead and the means to read each blob.
pub struct Bundle<R: Read + Seek> {
    zip: zip::ZipArchive<R>,
    pub manifest: SignedManifest,
    pub log: Vec<SignedEntry>,
    pub receipt: Option<Receipt>,
}

impl<R: Read + Seek> std::fmt::Debug for Bundle<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("lead_id", &self.manifest.manifest.lead_id)
            .finish_non_exhaustive()
    }
}

impl Bundle<File> {
    pub fn open(path: &Path) -> Result<Self, BundleError> {
        Bundle::from_reader(File::open(path)?)
    }
}

impl<R: Read + Seek> Bundle<R> {
    pub fn from_reader(reader: R) -> Result<Self, BundleError> {
        let mut zip = zip::ZipArchive::new(reader)?;
        let manifest_text = read_text(&mut zip, MANIFEST_ENTRY)?
            .ok_or(BundleError::MissingEntry(MANIFEST_ENTRY))?;
        let manifest: SignedManifest =
            serde_json::from_str(&manifest_text).map_err(|e| BundleError::Unreadable {
                entry: MANIFEST_ENTRY.into(),
                reason: e.to_string(),
            })?;
        let log_text =
            read_text(&mut zip, LOG_ENTRY)?.ok_or(BundleError::MissingEntry(LOG_ENTRY))?;
        let lines: Vec<&str> = log_text.lines().filter(|l| !l.trim().is_empty()).collect();
        let log = fieldlead_domain::parse_log(&lines).map_err(|e| BundleError::Unreadable {
            entry: LOG_ENTRY.into(),
            reason: e.to_string(),
        })?;
        let receipt = read_text(&mut zip, RECEIPT_ENTRY)?
            .map(|t| {
                serde_json::from_str(&t).map_err(|e| BundleError::Unreadable {
                    entry: RECEIPT_ENTRY.into(),
                    reason: e.to_string(),
                })
            })
            .transpose()?;
        Ok(Bundle {
            zip,
            manifest,
            log,
            receipt,
        })
    }

    /// Every blob the manifest names.
    pub fn blobs(&self) -> Vec<BlobRef> {
        manifest_blobs(&self.manifest.manifest).unwrap_or_default()
    }

    /// A streaming reader of one blob, if the bundle holds it. A compressed blob
    /// entry is refused unread: it could inflate without bound (see [`Bundle::verify`]).
    pub fn blob(&mut self, sha: &Sha256) -> Result<Option<impl Read + '_>, BundleError> {
        let name = format!("{BLOB_PREFIX}{}", sha.to_hex());
        match self.zip.by_name(&name) {
            Ok(f) if f.compression() != zip::CompressionMethod::Stored => {
                Err(BundleError::Unreadable {
                    entry: name,
                    reason: format!("被压缩（{}），照片和签名图片必须原样存储", f.compression()),
                })
            }
            Ok(f) => Ok(Some(f)),
            Err(zip::result::ZipError::FileNotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Names of entries that are not part of the format.
    fn unexpected_entries(&self) -> Vec<String> {
        let blobs: Vec<String> = self
            .blobs()
            .iter()
            .map(|b| format!("{BLOB_PREFIX}{}", b.sha256.to_hex()))
            .collect();
        self.zip
            .file_names()
            .filter(|n| {
                ![MANIFEST_ENTRY, LOG_ENTRY, RECEIPT_ENTRY].contains(n)
                    && !blobs.iter().any(|b| b == n)
            })
            .map(str::to_string)
            .collect()
    }

    /// Checks signature, chain, every blob's size and hash, and the receipt (its
    /// signature too if `bureau_key` is given). Lists every problem. Reads each blob
    /// at most once and never past the size the manifest names; a compressed blob
    /// entry is a problem and is not inflated at all, so a hostile bundle costs no
    /// more time than its own length.
    pub fn verify(&mut self, bureau_key: Option<&PublicKey>) -> Result<BundleReport, BundleError> {
        let mut problems = Vec::new();
        let mut problem = |code: &str, message: String, sha256: Option<Sha256>| {
            problems.push(BundleProblem {
                code: code.to_string(),
                message,
                sha256,
            })
        };
        if let Err(e) = verify_lead(&self.manifest, &self.log) {
            problem(e.code(), format!("锁定记录或日志校验失败：{e}"), None);
        }
        let blobs = match manifest_blobs(&self.manifest.manifest) {
            Ok(b) => b,
            Err(e) => {
                problem(e.code(), e.to_string(), None);
                Vec::new()
            }
        };
        let mut checked = 0;
        for b in &blobs {
            let label = self.label(b);
            let name = format!("{BLOB_PREFIX}{}", b.sha256.to_hex());
            let entry = match self.zip.by_name(&name) {
                Ok(f) => f,
                Err(zip::result::ZipError::FileNotFound) => {
                    problem(
                        "bundle_blob_missing",
                        format!("缺少{label}（{}）", b.sha256.short()),
                        Some(b.sha256),
                    );
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            // Blobs are stored as they are. A compressed one could inflate to any size
            // (a zip bomb), so it is refused before a byte of it is inflated.
            if entry.compression() != zip::CompressionMethod::Stored {
                problem(
                    "bundle_blob_compressed",
                    format!(
                        "{label}（{}）在线索包中被压缩（{}）：照片和签名图片必须原样存储，未读取",
                        b.sha256.short(),
                        entry.compression()
                    ),
                    Some(b.sha256),
                );
                continue;
            }
            if entry.size() != b.bytes {
                problem(
                    "bundle_blob_altered",
                    format!(
                        "{label}（{}）与锁定记录不符：线索包中为 {} 字节，锁定记录为 {} 字节",
                        b.sha256.short(),
                        entry.size(),
                        b.bytes
                    ),
                    Some(b.sha256),
                );
                continue;
            }
            // Whatever the entry's headers claim, never more than one byte past the
            // size the manifest names is read.
            let mut hasher = sha2::Sha256::new();
            let n = io::copy(
                &mut entry.take(b.bytes.saturating_add(1)),
                &mut HashWriter(&mut hasher),
            )?;
            let got = Sha256::from_bytes(hasher.finalize().into());
            checked += 1;
            if n > b.bytes {
                problem(
                    "bundle_blob_altered",
                    format!(
                        "{label}（{}）与锁定记录不符：内容超过锁定记录所列的 {} 字节",
                        b.sha256.short(),
                        b.bytes
                    ),
                    Some(b.sha256),
                );
            } else if got != b.sha256 || n != b.bytes {
                problem(
                    "bundle_blob_altered",
                    format!(
                        "{label}（{}）与锁定记录不符：内容哈希为 {}，大小 {} 字节（锁定记录为 {} 字节）",
                        b.sha256.short(),
                        got.short(),
                        n,
                        b.bytes
                    ),
                    Some(b.sha256),
                );
            }
        }
        for name in self.unexpected_entries() {
            problem(
                "bundle_unexpected_entry",
                format!("线索包中有锁定记录未列出的文件 {name}"),
                None,
            );
        }
        let mut signature_checked = false;
        if let Some(r) = &self.receipt {
            let outcome = match bureau_key {
                Some(k) => {
                    signature_checked = true;
                    r.verify_for(k, &self.manifest)
                }
                None => r.covers(&self.manifest),
            };
            if let Err(e) = outcome {
                problem(e.code(), format!("回执校验失败：{e}"), None);
            }
        }
        Ok(BundleReport {
            lead_id: self.manifest.manifest.lead_id,
            manifest_hash: self.manifest.manifest_hash,
            device_key: self.manifest.manifest.device_key,
            blobs_checked: checked,
            has_receipt: self.receipt.is_some(),
            receipt_signature_checked: signature_checked,
            problems,
        })
    }

    fn label(&self, b: &BlobRef) -> String {
        self.manifest.manifest.blob_label(b.sha256)
    }
}

/// Opens and verifies a bundle file: see [`Bundle::verify`].
pub fn verify_bundle(
    path: &Path,
    bureau_key: Option<&PublicKey>,
) -> Result<BundleReport, BundleError> {
    Bundle::open(path)?.verify(bureau_key)
}

fn read_text<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &'static str,
) -> Result<Option<String>, BundleError> {
    let f = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if f.size() > MAX_TEXT_ENTRY {
        return Err(BundleError::Unreadable {
            entry: name.into(),
            reason: format!("超过 {MAX_TEXT_ENTRY} 字节"),
        });
    }
    let mut s = String::new();
    f.take(MAX_TEXT_ENTRY)
        .read_to_string(&mut s)
        .map_err(|e| BundleError::Unreadable {
            entry: name.into(),
            reason: e.to_string(),
        })?;
    Ok(Some(s))
}

struct HashWriter<'a>(&'a mut sha2::Sha256);
impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
