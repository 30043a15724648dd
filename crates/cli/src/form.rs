//! `fieldlead form`: the 产品违法线索移交表 of a sealed lead on this tablet, as PDF.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use fieldlead_device::Device;
use fieldlead_domain::{LeadId, Sha256};
use fieldlead_forms::{
    BlobFns, FormNumberPattern, FormOptions, Forms, FormsConfig, DEFAULT_FORM_NUMBER_PATTERN,
};

#[derive(Debug, clap::Args)]
pub struct FormArgs {
    /// The lead (record) id.
    pub lead: LeadId,
    /// The tablet's data folder.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Where to write the PDF.
    #[arg(short, long)]
    pub output: PathBuf,
    /// District short name for the form number (编号), e.g. 渝中.
    #[arg(long, requires = "seq")]
    pub district: Option<String>,
    /// Running number of the form in the district and year.
    #[arg(long, requires = "district")]
    pub seq: Option<u32>,
    #[arg(long, default_value = DEFAULT_FORM_NUMBER_PATTERN)]
    pub number_pattern: String,
    /// The receiving district bureau, printed in the receiving section.
    #[arg(long)]
    pub receiving_unit: Option<String>,
    /// A bureau's own templates (see `fieldlead_forms::export_default_templates`).
    #[arg(long)]
    pub template_dir: Option<PathBuf>,
    /// Extra folders to search for fonts before the system's.
    #[arg(long = "font-dir")]
    pub font_dirs: Vec<PathBuf>,
}

pub fn run(args: &FormArgs) -> anyhow::Result<ExitCode> {
    let device = Device::open(&args.data_dir).context("无法打开平板数据目录")?;
    let Some(lead) = device.manifest(args.lead)? else {
        bail!("记录 {} 尚未封存，不能打印移交表", args.lead);
    };
    let view = device.record(args.lead)?;
    let thumbs: HashMap<Sha256, Sha256> = view
        .evidence
        .iter()
        .filter_map(|e| Some((e.sha256, e.intake.thumbnail.as_ref()?.sha256)))
        .collect();
    let store = device.evidence_store();
    let blobs = BlobFns {
        thumbnail: |photo: &Sha256| store.read(thumbs.get(photo)?).ok(),
        blob: |sha: &Sha256| store.read(sha).ok(),
    };
    let form_number = match (&args.district, args.seq) {
        (Some(d), Some(seq)) => Some(FormNumberPattern::parse(&args.number_pattern)?.format(
            d,
            lead.manifest.record.task.year,
            seq,
        )?),
        _ => None,
    };
    let forms = Forms::new(&FormsConfig {
        template_dir: args.template_dir.clone(),
        font_dirs: args.font_dirs.clone(),
        system_fonts: true,
    })?;
    let pdf = forms.transfer_form_pdf(
        &lead,
        &blobs,
        &FormOptions {
            form_number,
            receiving_unit: args.receiving_unit.clone(),
        },
    )?;
    // Never leave a half-written PDF under the name asked for.
    let tmp = args.output.with_extension("pdf.tmp");
    std::fs::write(&tmp, &pdf).with_context(|| format!("无法写入 {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.output)
        .with_context(|| format!("无法写入 {}", args.output.display()))?;
    println!("{}", args.output.display());
    Ok(ExitCode::SUCCESS)
}
