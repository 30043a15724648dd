//! The app's commands through Tauri's mock runtime: the real command handlers, the
//! real capability file and the real tablet store on a temp dir, invoked the way the
//! web view invokes them (JSON arguments, raw bodies with headers), with no display.
//! A real bureau on 127.0.0.1:0 receives what the app's sync task sends.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldlead_bureau::{Actor, Bureau, Config};
use fieldlead_domain::{EnrolmentInvite, LeadId, RecordDraft};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

struct Tablet {
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    _dir: tempfile::TempDir,
}

/// The app as `run` builds it, on a fresh data dir. XDG dirs point into the temp
/// dir too, so nothing touches the real home.
fn tablet() -> Tablet {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("XDG_DATA_HOME", dir.path().join("xdg-data"));
    std::env::set_var("XDG_CONFIG_HOME", dir.path().join("xdg-config"));
    let data = dir.path().join("app");
    let app = fieldlead_app_lib::builder(mock_builder())
        .build(tauri::generate_context!())
        .unwrap();
    // What `run`'s setup hook does; the mock app is never run, so it would not.
    fieldlead_app_lib::start(app.handle(), &data);
    let window = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    Tablet {
        _app: app,
        window,
        _dir: dir,
    }
}

fn request(cmd: &str, body: InvokeBody, headers: &[(&str, String)]) -> InvokeRequest {
    let mut map = tauri::http::HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            tauri::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body,
        headers: map,
        invoke_key: INVOKE_KEY.to_string(),
    }
}

impl Tablet {
    /// The app's data dir, as `tablet` passed it to `start`.
    fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("app")
    }

    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        self.send(request(cmd, InvokeBody::Json(args), &[]))
    }

    fn send(&self, req: InvokeRequest) -> Result<Value, Value> {
        tauri::test::get_ipc_response(&self.window, req).map(|b| b.deserialize::<Value>().unwrap())
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn attach(&self, id: &str, bytes: Vec<u8>, caption: &str) -> Result<Value, Value> {
        self.send(request(
            "attach_photo",
            InvokeBody::Raw(bytes),
            &[
                ("x-lead-id", id.to_string()),
                ("x-caption", percent_encode(caption)),
                ("x-file-name", "IMG_0001.jpg".into()),
            ],
        ))
    }

    fn sign(&self, id: &str, party: &str, png: Vec<u8>) -> Result<Value, Value> {
        self.send(request(
            "sign",
            InvokeBody::Raw(png),
            &[("x-lead-id", id.to_string()), ("x-party", party.into())],
        ))
    }

    /// A complete lead, sealed through the commands as the UI does it.
    fn seal_lead(&self, seed: u8) -> String {
        let view = self.ok("new_visit", json!({}));
        let id = view["id"].as_str().unwrap().to_string();
        self.ok(
            "update_draft",
            json!({ "id": id, "draft": fieldlead_domain::sample::terminated_draft() }),
        );
        self.attach(&id, jpeg(seed), "货架上的电线，无厂名厂址")
            .unwrap();
        self.attach(&id, jpeg(seed.wrapping_add(100)), "铭牌")
            .unwrap();
        self.sign(&id, "sampler1", png(1)).unwrap();
        self.sign(&id, "sampler2", png(2)).unwrap();
        self.ok(
            "record_refusal",
            json!({ "id": id, "witness": "商场保安 孙七" }),
        );
        let sealed = self.ok("seal", json!({ "id": id }));
        assert_eq!(sealed["state"], "sealed");
        id
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn jpeg(seed: u8) -> Vec<u8> {
    fieldlead_domain::sample::photo_sized(96, 64, seed, 90)
}

fn png(seed: u8) -> Vec<u8> {
    fieldlead_domain::sample::signature_png(seed)
}

#[test]
fn a_visit_goes_from_draft_to_sealed_record_and_printable_form() {
    let t = tablet();
    // The UI says its first screen is up; without the startup probe that changes nothing.
    assert_eq!(t.ok("ui_ready", json!({})), Value::Null);
    let info = t.ok("device_info", json!({}));
    assert_eq!(info["public_key"].as_str().unwrap().len(), 64);

    // The USCC is checked as typed, with a Chinese message.
    let bad = t.ok("check_uscc", json!({ "text": "91110108551385082A" }));
    assert_eq!(bad["ok"], false);
    assert!(bad["message"].as_str().unwrap().contains("校验"), "{bad}");
    assert_eq!(
        t.ok("check_uscc", json!({ "text": "91110108551385082Q" }))["ok"],
        true
    );

    let id = t.seal_lead(7);
    let record = t.ok("get_record", json!({ "id": id }));
    assert_eq!(record["evidence"].as_array().unwrap().len(), 2);
    assert_eq!(record["manifest_hash"].as_str().unwrap().len(), 64);
    let list = t.ok("list_records", json!({ "query": { "text": "电线" } }));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        list[0]["outbox_state"],
        Value::Null,
        "not enrolled: not queued yet"
    );
    assert_eq!(
        t.ok("list_records", json!({ "query": { "text": "电视机" } })),
        json!([])
    );

    let form = t.ok("form_preview", json!({ "id": id }));
    let pages = form["pages_svg"].as_array().unwrap();
    assert!(!pages.is_empty());
    assert!(pages[0].as_str().unwrap().starts_with("<svg"));
    let pdf = std::fs::read(form["pdf_path"].as_str().unwrap()).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
}

/// Before locking, the sampler (and the business's person, before signing) can
/// read the form as it will print: 预览 pages, nothing written to disk, nothing
/// added to the record's log, and the record still a draft to edit and seal.
#[test]
fn a_draft_previews_its_form_before_locking_and_stays_a_draft() {
    let t = tablet();
    let view = t.ok("new_visit", json!({}));
    let id = view["id"].as_str().unwrap().to_string();
    t.ok(
        "update_draft",
        json!({ "id": id, "draft": fieldlead_domain::sample::terminated_draft() }),
    );
    t.attach(&id, jpeg(7), "货架上的电线，无厂名厂址").unwrap();
    t.sign(&id, "sampler1", png(1)).unwrap();
    let before = t.ok("get_record", json!({ "id": id }));

    let form = t.ok("draft_form_preview", json!({ "id": id }));
    assert!(form["pdf_path"].is_null(), "{}", form["pdf_path"]);
    let pages = form["pages_svg"].as_array().unwrap();
    assert!(!pages.is_empty());
    assert!(pages[0].as_str().unwrap().starts_with("<svg"));
    let forms_dir = t.data_dir().join(fieldlead_device::form::FORMS_DIR);
    assert!(
        !forms_dir.exists() || std::fs::read_dir(&forms_dir).unwrap().next().is_none(),
        "a preview is never written out"
    );
    assert_eq!(t.ok("get_record", json!({ "id": id })), before);
    // A sealed record's form is the real one, and a sealed record has no 预览.
    let sealed = t.seal_lead(8);
    let err = t
        .call("draft_form_preview", json!({ "id": sealed }))
        .unwrap_err();
    assert_eq!(err["code"], "record_sealed");
}

#[test]
fn errors_reach_the_ui_as_code_and_chinese_message_and_change_nothing() {
    let t = tablet();
    let view = t.ok("new_visit", json!({}));
    let id = view["id"].as_str().unwrap().to_string();

    // Sealing an empty visit names each missing field.
    let err = t.call("seal", json!({ "id": id })).unwrap_err();
    assert_eq!(err["code"], "invalid_draft", "{err}");
    assert!(!err["problems"].as_array().unwrap().is_empty());
    assert!(err["message"]
        .as_str()
        .unwrap()
        .chars()
        .any(|c| c > '\u{2e80}'));

    // Not a picture: refused, and nothing is attached.
    let err = t.attach(&id, b"not a photo".to_vec(), "x").unwrap_err();
    assert_eq!(err["code"], "not_an_image");
    assert!(err["message"].as_str().unwrap().contains("照片"), "{err}");
    // A photo sent as JSON instead of bytes, or without its record id.
    let err = t
        .send(request(
            "attach_photo",
            InvokeBody::Json(json!({})),
            &[("x-lead-id", id.clone()), ("x-caption", "a".into())],
        ))
        .unwrap_err();
    assert_eq!(err["code"], "bad_request");
    let err = t
        .send(request("attach_photo", InvokeBody::Raw(jpeg(1)), &[]))
        .unwrap_err();
    assert_eq!(err["code"], "bad_request");
    let record = t.ok("get_record", json!({ "id": id }));
    assert!(record["evidence"].as_array().unwrap().is_empty());

    // Only the business's person may refuse to sign, and only before a witness.
    let err = t
        .call("record_refusal", json!({ "id": id, "witness": " " }))
        .unwrap_err();
    assert_eq!(err["code"], "witness_required");
    // An unknown record.
    let err = t
        .call("get_record", json!({ "id": LeadId::new().to_string() }))
        .unwrap_err();
    assert_eq!(err["code"], "record_not_found");
    // A form before sealing; a 预览 of a draft whose fields do not pass yet.
    let err = t.call("form_preview", json!({ "id": id })).unwrap_err();
    assert_eq!(err["code"], "not_sealed");
    let err = t
        .call("draft_form_preview", json!({ "id": id }))
        .unwrap_err();
    assert_eq!(err["code"], "invalid_draft");
    assert!(!err["problems"].as_array().unwrap().is_empty());

    // A sealed record is read-only.
    let sealed = t.seal_lead(9);
    let err = t
        .call(
            "update_draft",
            json!({ "id": sealed, "draft": RecordDraft::default() }),
        )
        .unwrap_err();
    assert_eq!(err["code"], "record_sealed");
    let err = t.attach(&sealed, jpeg(50), "后补").unwrap_err();
    assert_eq!(err["code"], "record_sealed");
}

#[test]
fn only_the_apps_own_commands_are_allowed() {
    let t = tablet();
    // Core plugins the capability file does not grant are refused by the ACL.
    let err = t
        .call("plugin:path|resolve_directory", json!({ "directory": 1 }))
        .unwrap_err();
    assert!(
        err.to_string().contains("not allowed") || err.to_string().contains("not found"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// Sync through the app, against a real bureau.

struct Server {
    bureau: Arc<Bureau>,
    url: String,
    _runtime: tokio::runtime::Runtime,
}

fn bureau(data: &Path) -> Server {
    Bureau::init(data).unwrap();
    let bureau = Arc::new(
        Bureau::open(
            data,
            Config {
                cookie_secure: false,
                ..Config::default()
            },
        )
        .unwrap(),
    );
    bureau
        .create_district("yuzhong", "渝中区市场监督管理局", &Actor::Cli)
        .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", std_listener.local_addr().unwrap());
    let b = Arc::clone(&bureau);
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
        let _ = fieldlead_bureau::server::serve(b, listener, std::future::pending()).await;
    });
    Server {
        bureau,
        url,
        _runtime: runtime,
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_app_enrols_and_delivers_a_sealed_lead_by_itself() {
    let data = tempfile::tempdir().unwrap();
    let server = bureau(data.path());
    let t = tablet();

    let status = t.ok("sync_status", json!({}));
    assert_eq!(status["enrolment"], Value::Null);

    // Not the bureau's QR text: a clear error, no enrolment.
    let err = t
        .call(
            "enrol",
            json!({ "invite": "hello", "code": null, "label": "平板 1" }),
        )
        .unwrap_err();
    assert_eq!(err["code"], "invite_invalid");
    // A QR code printed before invites carried the bureau's fingerprint: the
    // sampler is told to ask for a new one.
    let old = json!({
        "kind": "fieldlead-enrolment", "version": 1, "server": server.url,
        "code": "ABCD-EFGH-JKMN", "district": "渝中区市场监督管理局",
    });
    let err = t
        .call(
            "enrol",
            json!({ "invite": old.to_string(), "code": null, "label": "平板 1" }),
        )
        .unwrap_err();
    assert_eq!(err["code"], "invite_outdated", "{err}");
    // Address and code typed in, but no fingerprint: refused before anything is sent.
    let fingerprint = server.bureau.public_key().fingerprint().to_string();
    let err = t
        .call(
            "enrol",
            json!({ "invite": server.url, "code": "ABCD-EFGH-JKMN", "fingerprint": "", "label": "平板 1" }),
        )
        .unwrap_err();
    assert_eq!(err["code"], "fingerprint_missing", "{err}");
    // Plain http to an address that is not loopback: refused before any connection.
    // (0.0.0.0 is not loopback to the rule, yet would land on this machine were the
    // rule ever broken: no packet can leave.)
    let err = t
        .call(
            "enrol",
            json!({ "invite": "http://0.0.0.0:9", "code": "ABCD-EFGH-JKMN", "fingerprint": fingerprint, "label": "平板 1" }),
        )
        .unwrap_err();
    assert_eq!(err["code"], "bureau_url_insecure", "{err}");
    // A bureau that is not there: offline, no enrolment.
    let err = t
        .call(
            "enrol",
            json!({ "invite": "http://127.0.0.1:9", "code": "ABCD-EFGH-JKMN", "fingerprint": fingerprint, "label": "平板 1" }),
        )
        .unwrap_err();
    assert_eq!(err["code"], "offline", "{err}");
    assert_eq!(t.ok("sync_status", json!({}))["enrolment"], Value::Null);

    let b = &server.bureau;
    let district = b.district("yuzhong").unwrap();
    let code = b.issue_enrolment_code(&district, &Actor::Cli).unwrap().code;
    let invite = EnrolmentInvite::new(
        &server.url,
        code,
        "渝中区市场监督管理局",
        b.public_key().fingerprint(),
    );
    let enrolment = t.ok(
        "enrol",
        json!({ "invite": invite.to_qr_text(), "code": null, "label": "平板 1" }),
    );
    assert_eq!(enrolment["bureau_key_fingerprint"], fingerprint);
    assert_eq!(enrolment["district_code"], "yuzhong");

    // Sealing is enough: the sync task delivers it with no further tap.
    let id = t.seal_lead(11);
    wait_until("the lead to be delivered", || {
        let list = t.ok("list_records", json!({ "query": {} }));
        list[0]["outbox_state"] == "delivered"
    });
    let list = t.ok("list_records", json!({ "query": {} }));
    assert!(
        list[0]["received_at"].is_string(),
        "the report time is shown"
    );
    assert_eq!(list[0]["state"], "delivered");
    let status = t.ok("sync_status", json!({}));
    assert_eq!(status["outbox"][0]["lead_id"], id.as_str());
    assert_eq!(status["outbox"][0]["state"], "delivered");
    assert_eq!(status["runtime"]["online"], true);
    let lead: LeadId = id.parse().unwrap();
    assert!(
        b.storage().lead(lead).unwrap().is_some(),
        "the bureau has it"
    );

    // "Sync now" with nothing waiting is harmless.
    t.ok("sync_now", json!({}));
}
