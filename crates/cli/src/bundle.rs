//! `fieldlead export` writes a sealed lead of this tablet as one bundle file for a
//! USB stick; `fieldlead verify` checks a bundle offline (signature, chain, every
//! photo's hash, the receipt) and says exactly what fails.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use fieldlead_device::Device;
use fieldlead_domain::{LeadId, PublicKey};
use fieldlead_evidence::bundle::verify_bundle;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The lead (record) id.
    pub lead: LeadId,
    /// The tablet's data folder.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Where to write the bundle (.zip).
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The bundle file.
    pub bundle: PathBuf,
    /// The bureau's public key (hex), to check the receipt's signature too.
    #[arg(long)]
    pub bureau_key: Option<PublicKey>,
}

pub fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let device = Device::open(&args.data_dir).context("无法打开平板数据目录")?;
    device.export_bundle(args.lead, &args.output)?;
    println!("已导出线索包 {}", args.output.display());
    Ok(ExitCode::SUCCESS)
}

/// Prints the report as JSON; exits 1 if anything fails.
pub fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let report = verify_bundle(&args.bundle, args.bureau_key.as_ref())
        .with_context(|| format!("无法读取线索包 {}", args.bundle.display()))?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if report.is_ok() {
        eprintln!(
            "线索包完好：签名、日志链与 {} 个文件均校验通过",
            report.blobs_checked
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &report.problems {
            eprintln!("不通过：{}", p.message);
        }
        Ok(ExitCode::from(1))
    }
}
