// The app's own commands are declared here so the capability file can allow
// exactly these and nothing else.
const COMMANDS: &[&str] = &[
    "device_info",
    "get_settings",
    "save_settings",
    "list_records",
    "get_record",
    "new_visit",
    "update_draft",
    "validate_draft",
    "check_uscc",
    "attach_photo",
    "set_caption",
    "remove_photo",
    "sign",
    "record_refusal",
    "clear_signoff",
    "seal_problems",
    "seal",
    "sync_status",
    "sync_now",
    "enrol",
    "form_preview",
    "draft_form_preview",
    "ui_ready",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script failed");
}
