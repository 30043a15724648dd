//! `fieldlead`: the command line of fieldlead. `inspect` analyses evidence photos the
//! way the tablet's intake does and prints one JSON object per file, storing nothing;
//! `form` prints the transfer form of a sealed lead to PDF; `export` writes a sealed
//! lead as one bundle file and `verify` checks such a bundle offline.

use std::process::ExitCode;

use clap::Parser;

mod bundle;
mod form;
mod inspect;

#[derive(Debug, Parser)]
#[command(
    name = "fieldlead",
    version,
    about = "fieldlead: field evidence for product-quality sampling"
)]
enum Cli {
    /// Analyse photos as intake would (format, SHA-256, EXIF, perceptual hash) and
    /// print one JSON line per file; stores nothing. Exits 1 if any file is refused.
    Inspect(inspect::InspectArgs),
    /// Print the 产品违法线索移交表 of a sealed lead on this tablet to a PDF file.
    Form(form::FormArgs),
    /// Write a sealed lead of this tablet as one bundle file (manifest, log,
    /// receipt, photos) to carry on a USB stick.
    Export(bundle::ExportArgs),
    /// Check a lead bundle offline: signature, chain, every photo's hash and the
    /// receipt. Prints a JSON report; exits 1 and says what fails if anything does.
    Verify(bundle::VerifyArgs),
}

fn main() -> ExitCode {
    let outcome = match Cli::parse() {
        Cli::Inspect(args) => inspect::run(&args),
        Cli::Form(args) => form::run(&args),
        Cli::Export(args) => bundle::export(&args),
        Cli::Verify(args) => bundle::verify(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fieldlead: {e:#}");
            ExitCode::from(2)
        }
    }
}
