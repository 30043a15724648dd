//! The commands the UI invokes. Each one extracts its arguments, calls a use-case of
//! crates/device or a rule of crates/domain, and maps the error. Nothing else.

use std::sync::Arc;

use fieldlead_device::{
    form::TransferFormPreview, Enrolment, EvidenceItem, ListQuery, RecordSummary, RecordView,
    Settings, SignoffView,
};
use fieldlead_domain::{FieldProblem, LeadId, Party, RecordDraft, Sha256, Uscc};
use serde::Serialize;
use tauri::ipc::{InvokeBody, Request};
use tauri::State;

use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use crate::sync::SyncStatus;

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct DeviceInfo {
    pub public_key: String,
    pub data_dir: String,
    #[ts(type = "number")]
    pub schema_version: i64,
    pub app_version: String,
}

/// The outcome of checking a USCC as it is typed.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct UsccCheck {
    pub ok: bool,
    /// Set when `ok` is false.
    pub code: Option<String>,
    pub message: Option<String>,
    /// Set for an accepted but outdated 15-digit number.
    pub warning: Option<String>,
}

#[tauri::command]
pub async fn device_info(state: State<'_, AppState>) -> CmdResult<DeviceInfo> {
    let dev = state.device()?;
    Ok(DeviceInfo {
        public_key: dev.public_key().to_hex(),
        data_dir: dev.data_dir().display().to_string(),
        schema_version: fieldlead_device::Device::schema_version(),
        app_version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>) -> CmdResult<Settings> {
    Ok(state.device()?.settings()?)
}

#[tauri::command]
pub async fn save_settings(state: State<'_, AppState>, settings: Settings) -> CmdResult<Settings> {
    Ok(state.device()?.save_settings(&settings)?)
}

#[tauri::command]
pub async fn list_records(
    state: State<'_, AppState>,
    query: ListQuery,
) -> CmdResult<Vec<RecordSummary>> {
    Ok(state.device()?.list(&query)?)
}

#[tauri::command]
pub async fn get_record(state: State<'_, AppState>, id: LeadId) -> CmdResult<RecordView> {
    Ok(state.device()?.record(id)?)
}

#[tauri::command]
pub async fn new_visit(state: State<'_, AppState>) -> CmdResult<RecordView> {
    Ok(state.device()?.new_visit()?)
}

#[tauri::command]
pub async fn update_draft(
    state: State<'_, AppState>,
    id: LeadId,
    draft: RecordDraft,
) -> CmdResult<RecordView> {
    Ok(state.device()?.update_draft(id, draft)?)
}

/// Every problem that would stop sealing, for marking the form as it is filled.
#[tauri::command]
pub fn validate_draft(id: LeadId, draft: RecordDraft) -> Vec<FieldProblem> {
    draft.validate(id).err().unwrap_or_default()
}

#[tauri::command]
pub fn check_uscc(text: String) -> UsccCheck {
    match Uscc::parse(&text) {
        Ok(u) => UsccCheck {
            ok: true,
            code: None,
            message: None,
            warning: u.warning().map(str::to_owned),
        },
        Err(e) => UsccCheck {
            ok: false,
            code: Some(e.code().to_string()),
            message: Some(e.to_string()),
            warning: None,
        },
    }
}

fn header<'a>(request: &'a Request<'_>, name: &str) -> CmdResult<&'a str> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| CommandError::new("bad_request", format!("缺少请求头 {name}")))
}

/// Percent-decoded header text: captions and file names are Chinese.
fn text_header(request: &Request<'_>, name: &str) -> CmdResult<String> {
    let raw = header(request, name)?;
    percent_decode(raw)
        .ok_or_else(|| CommandError::new("bad_request", format!("请求头 {name} 编码无效")))
}

fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn raw_body<'a>(request: &'a Request<'_>) -> CmdResult<&'a [u8]> {
    match request.body() {
        InvokeBody::Raw(bytes) => Ok(bytes),
        InvokeBody::Json(_) => Err(CommandError::new("bad_request", "照片须以二进制数据发送")),
    }
}

fn lead_id(request: &Request<'_>) -> CmdResult<LeadId> {
    header(request, "x-lead-id")?
        .parse()
        .map_err(|_| CommandError::new("bad_request", "记录编号无效"))
}

/// A photo from the camera or the file picker, sent as raw bytes; the record id,
/// caption and file name travel in headers.
#[tauri::command]
pub async fn attach_photo(
    state: State<'_, AppState>,
    request: Request<'_>,
) -> CmdResult<EvidenceItem> {
    let id = lead_id(&request)?;
    let caption = text_header(&request, "x-caption")?;
    let name = text_header(&request, "x-file-name").ok();
    let bytes = raw_body(&request)?;
    Ok(state
        .device()?
        .attach_evidence_reader(id, bytes, name.as_deref(), &caption)?)
}

#[tauri::command]
pub async fn set_caption(
    state: State<'_, AppState>,
    id: LeadId,
    sha256: Sha256,
    caption: String,
) -> CmdResult<()> {
    Ok(state.device()?.set_caption(id, sha256, &caption)?)
}

#[tauri::command]
pub async fn remove_photo(state: State<'_, AppState>, id: LeadId, sha256: Sha256) -> CmdResult<()> {
    Ok(state.device()?.remove_evidence(id, sha256)?)
}

/// A signature drawn on the pad, as PNG bytes; record id and party in headers.
#[tauri::command]
pub async fn sign(state: State<'_, AppState>, request: Request<'_>) -> CmdResult<SignoffView> {
    let id = lead_id(&request)?;
    let party: Party = serde_json::from_value(serde_json::Value::String(
        header(&request, "x-party")?.to_string(),
    ))
    .map_err(|_| CommandError::new("bad_request", "签名人无效"))?;
    let png = raw_body(&request)?;
    Ok(state.device()?.sign(id, party, png)?)
}

#[tauri::command]
pub async fn record_refusal(
    state: State<'_, AppState>,
    id: LeadId,
    witness: String,
) -> CmdResult<SignoffView> {
    Ok(state.device()?.record_refusal(id, &witness)?)
}

#[tauri::command]
pub async fn clear_signoff(state: State<'_, AppState>, id: LeadId, party: Party) -> CmdResult<()> {
    Ok(state.device()?.clear_signoff(id, party)?)
}

/// What still stops sealing: field problems of `draft`, photos, captions, signoffs.
#[tauri::command]
pub async fn seal_problems(
    state: State<'_, AppState>,
    id: LeadId,
    draft: RecordDraft,
) -> CmdResult<Vec<FieldProblem>> {
    Ok(state.device()?.seal_problems(id, &draft)?)
}

/// Seals the record and returns it as the list and detail screens show it.
#[tauri::command]
pub async fn seal(state: State<'_, AppState>, id: LeadId) -> CmdResult<RecordView> {
    let view = {
        let mut dev = state.device()?;
        dev.seal(id)?;
        dev.record(id)?
    };
    // "Immediately": the sync task tries at once, whatever backoff it was in.
    if let Ok(sync) = state.sync() {
        sync.kick(true);
    }
    Ok(view)
}

/// The first screen is on display and answers touches. With `FIELDLEAD_STARTUP_PROBE`
/// set, the app prints how long that took and quits: the cold-start benchmark
/// (`scripts/bench-startup`) times it from outside. Otherwise it does nothing.
#[tauri::command]
pub fn ui_ready<R: tauri::Runtime>(app: tauri::AppHandle<R>) {
    if std::env::var_os("FIELDLEAD_STARTUP_PROBE").is_some() {
        println!("ui_ready");
        app.exit(0);
    }
}

// ----------------------------------------------------------------------
// Sync

/// Enrolment, outbox and what the sync task is doing.
#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> CmdResult<SyncStatus> {
    let sync = state.sync()?;
    sync.status(&mut *state.device()?)
}

/// "Sync now": a round at once, backoff forgotten. Progress arrives as events.
#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> CmdResult<()> {
    state.sync()?.kick(true);
    Ok(())
}

/// Enrols with the bureau's QR text, or with its address, a code and the bureau's
/// key fingerprint from paper.
#[tauri::command]
pub async fn enrol(
    state: State<'_, AppState>,
    invite: String,
    code: Option<String>,
    fingerprint: Option<String>,
    label: String,
) -> CmdResult<Enrolment> {
    let sync = Arc::clone(state.sync()?);
    sync.enrol(&invite, code.as_deref(), fingerprint.as_deref(), &label)
        .await
}

// ----------------------------------------------------------------------
// Form

/// The 产品违法线索移交表 on screen: its pages as SVG and, for a sealed lead, the
/// PDF written into the app data dir, ready to print or hand over (`null` for
/// the 预览 of a record not locked yet).
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct FormPreview {
    pub pages_svg: Vec<String>,
    pub pdf_path: Option<String>,
}

impl From<TransferFormPreview> for FormPreview {
    fn from(p: TransferFormPreview) -> Self {
        FormPreview {
            pages_svg: p.pages_svg,
            pdf_path: p.pdf_path.map(|p| p.display().to_string()),
        }
    }
}

/// The form of a sealed lead.
#[tauri::command]
pub async fn form_preview(state: State<'_, AppState>, id: LeadId) -> CmdResult<FormPreview> {
    // Gathered under the device's lock, rendered without it.
    let source = state.device()?.form_source(id)?;
    Ok(source.preview(state.forms()?)?.into())
}

/// The form of a draft as it would print if locked now: 预览 across every
/// page, unsigned parts blank, nothing written to disk. A draft whose fields
/// do not pass yet is refused with its problems (`invalid_draft`).
#[tauri::command]
pub async fn draft_form_preview(state: State<'_, AppState>, id: LeadId) -> CmdResult<FormPreview> {
    let source = state.device()?.draft_form_source(id)?;
    Ok(source.preview(state.forms()?)?.into())
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn percent_decoding_of_chinese_captions() {
        assert_eq!(
            percent_decode("%E8%B4%A7%E6%9E%B6%20A").as_deref(),
            Some("货架 A")
        );
        assert_eq!(percent_decode("abc").as_deref(), Some("abc"));
        assert_eq!(percent_decode("%E8%B4"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
    }
}
