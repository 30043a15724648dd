//! `fieldlead form`: the 产品违法线索移交表 of a sealed lead on this tablet, as PDF.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use fieldlead_device::form::{
    write_pdf, FormNumberPattern, FormNumbering, Forms, FormsConfig, DEFAULT_FORM_NUMBER_PATTERN,
};
use fieldlead_device::{Device, DeviceError};
use fieldlead_domain::LeadId;

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
    let source = match device.form_source(args.lead) {
        Err(DeviceError::FormNotSealed(id)) => bail!("记录 {id} 尚未锁定，不能打印移交表"),
        other => other?,
    };
    let pattern = match args.seq {
        Some(_) => Some(FormNumberPattern::parse(&args.number_pattern)?),
        None => None,
    };
    let numbering = match (&args.district, args.seq, &pattern) {
        (Some(district), Some(seq), Some(pattern)) => Some(FormNumbering {
            pattern,
            district,
            seq,
        }),
        _ => None,
    };
    let forms = Forms::new(&FormsConfig {
        template_dir: args.template_dir.clone(),
        font_dirs: args.font_dirs.clone(),
        system_fonts: true,
    })?;
    let pdf = source.pdf(&forms, numbering, args.receiving_unit.clone())?;
    write_pdf(&args.output, &pdf).with_context(|| format!("无法写入 {}", args.output.display()))?;
    println!("{}", args.output.display());
    Ok(ExitCode::SUCCESS)
}
