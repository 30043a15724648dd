//! `fieldlead inspect FILE...`: one JSON object per line on stdout, in argument
//! order; a refused file gets `{path, error: {code, message}}` and the exit code 1.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use fieldlead_evidence::{inspect_path, ExifSummary, Format, Inspection, IntakeError};
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Photo files (JPEG, PNG, WebP, HEIC).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// One usable photo, as printed.
#[derive(Debug, Serialize)]
struct PhotoLine<'a> {
    path: &'a str,
    sha256: String,
    bytes: u64,
    format: Format,
    width: Option<u32>,
    height: Option<u32>,
    preview: bool,
    /// 16 hex characters, or null when there is no preview.
    phash: Option<String>,
    exif: &'a ExifSummary,
    thumbnail: Option<ThumbnailSize>,
}

#[derive(Debug, Serialize)]
struct ThumbnailSize {
    width: u32,
    height: u32,
}

/// A refused file, as printed.
#[derive(Debug, Serialize)]
struct RefusalLine<'a> {
    path: &'a str,
    error: ErrorBody,
}

#[derive(Debug, Serialize)]
struct ErrorBody {
    code: &'static str,
    message: String,
}

pub fn run(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    let mut refused = false;
    for path in &args.files {
        let shown = path.to_string_lossy();
        let line = match inspect_path(path) {
            Ok(inspection) => photo_line(&shown, &inspection),
            Err(e) => {
                refused = true;
                refusal_line(&shown, &e)
            }
        }?;
        writeln!(out, "{line}").context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    Ok(if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn photo_line(path: &str, inspection: &Inspection) -> anyhow::Result<String> {
    let line = PhotoLine {
        path,
        sha256: inspection.sha256.to_hex(),
        bytes: inspection.bytes,
        format: inspection.format,
        width: inspection.width,
        height: inspection.height,
        preview: inspection.preview,
        phash: inspection.phash.map(|p| format!("{p:016x}")),
        exif: &inspection.exif,
        thumbnail: inspection.thumbnail.as_ref().map(|t| ThumbnailSize {
            width: t.width,
            height: t.height,
        }),
    };
    Ok(serde_json::to_string(&line)?)
}

fn refusal_line(path: &str, error: &IntakeError) -> anyhow::Result<String> {
    let line = RefusalLine {
        path,
        error: ErrorBody {
            code: error.code(),
            message: error.to_string(),
        },
    };
    Ok(serde_json::to_string(&line)?)
}
