//! The fieldlead tablet app: a thin Tauri 2 shell. Each command in [`commands`]
//! deserialises its arguments, calls a use-case of `fieldlead_device` and maps the
//! error to `{code, message}`; photos and signature images are served to the web view
//! from the evidence store through the `evidence:` URI scheme. All data lives in the
//! platform's app data dir.

pub mod commands;
pub mod error;
mod state;
pub mod sync;

use fieldlead_domain::Sha256;
use tauri::http::{header, Response, StatusCode};
use tauri::{Emitter, Manager, Runtime};

pub use error::CommandError;
pub use state::AppState;

/// The app without its state: commands and the evidence scheme on `base`. `run`
/// adds the state from the app data dir ([`start`]); tests start it on a temp dir
/// with the mock runtime.
pub fn builder<R: Runtime>(base: tauri::Builder<R>) -> tauri::Builder<R> {
    base.register_uri_scheme_protocol("evidence", |ctx, request| {
        serve_blob(
            ctx.app_handle().state::<AppState>().inner(),
            request.uri().path(),
        )
    })
    .invoke_handler(tauri::generate_handler![
        commands::device_info,
        commands::get_settings,
        commands::save_settings,
        commands::list_records,
        commands::get_record,
        commands::new_visit,
        commands::update_draft,
        commands::validate_draft,
        commands::check_uscc,
        commands::attach_photo,
        commands::set_caption,
        commands::remove_photo,
        commands::sign,
        commands::record_refusal,
        commands::clear_signoff,
        commands::seal_problems,
        commands::seal,
        commands::sync_status,
        commands::sync_now,
        commands::enrol,
        commands::form_preview,
        commands::draft_form_preview,
        commands::ui_ready,
    ])
}

/// `evidence://localhost/<sha256>`: a thumbnail or signature image by its hash.
/// Only well-formed hashes are looked up, so no path reaches the file system.
pub fn serve_blob(state: &AppState, path: &str) -> Response<Vec<u8>> {
    let reply = |status: StatusCode, ty: &str, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, ty)
            .header(header::CACHE_CONTROL, "max-age=31536000, immutable")
            .body(body)
            .unwrap_or_default()
    };
    let Ok(sha) = path.trim_start_matches('/').parse::<Sha256>() else {
        return reply(StatusCode::BAD_REQUEST, "text/plain", b"bad hash".to_vec());
    };
    let bytes = match state.device() {
        Ok(dev) => dev.evidence_store().read(&sha).ok(),
        Err(_) => None,
    };
    match bytes {
        Some(b) => reply(StatusCode::OK, fieldlead_device::content_type(&b), b),
        None => reply(StatusCode::NOT_FOUND, "text/plain", b"not found".to_vec()),
    }
}

/// Opens the tablet's data in `dir` and starts the sync task, which reports to every
/// window through events.
pub fn start<R: Runtime>(app: &tauri::AppHandle<R>, dir: &std::path::Path) {
    let state = AppState::open(dir);
    let service = state.sync().ok().cloned();
    app.manage(state);
    if let Some(service) = service {
        let handle = app.clone();
        tauri::async_runtime::spawn(async move {
            let emit = move |event: sync::SyncEvent| {
                let _ = match event {
                    sync::SyncEvent::Progress(p) => handle.emit(sync::EVENT_PROGRESS, p),
                    sync::SyncEvent::Status(s) => handle.emit(sync::EVENT_STATUS, s),
                };
            };
            service.run(&emit).await;
        });
    }
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    builder(tauri::Builder::<tauri::Wry>::new())
        .setup(|app| {
            let dir = app.path().app_data_dir()?;
            start(app.handle(), &dir);
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running the fieldlead app");
}
