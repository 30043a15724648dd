//! The real tablet app, built and driven under Xvfb through tauri-driver and
//! WebKitWebDriver, through a sampler's whole flow: new visit, three photos from files,
//! grounds, signatures (two drawn, one refused before a witness), seal, and the record
//! shown as sealed with the hashes of exactly the files that were chosen. Screenshots
//! at 1280x800 and 800x1280 are kept under `target/test-artifacts/`.
//!
//! Needs: the app binary (`cargo build -p fieldlead-app`, done by scripts/test), Xvfb,
//! WebKitWebDriver and tauri-driver (installed by scripts/setup).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::{Client, ClientBuilder, Locator};
use fieldlead_domain::Sha256;

/// Kills a helper process when the test ends, however it ends.
struct Reaper(Child);
impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// target/debug (or whatever profile dir this test binary sits in).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

fn artifacts_dir() -> PathBuf {
    let dir = profile_dir().parent().unwrap().join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn require(path: &Path, hint: &str) {
    assert!(path.exists(), "{} is missing: {hint}", path.display());
}

fn which(cmd: &str) -> PathBuf {
    let home_bin = Path::new(&std::env::var("HOME").unwrap_or_default())
        .join(".cargo/bin")
        .join(cmd);
    if home_bin.exists() {
        return home_bin;
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(cmd))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| panic!("{cmd} not found: run scripts/setup"))
}

/// A photo-like JPEG, distinct per seed.
fn write_photo(dir: &Path, name: &str, seed: u32) -> PathBuf {
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        let v = (x * 3 + y * 2 + seed * 50) % 256;
        image::Rgb([v as u8, ((x ^ y) + seed) as u8, (y / 2) as u8])
    });
    let path = dir.join(name);
    img.save(&path).unwrap();
    path
}

async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"))
}

/// Waits until at least `n` elements match, polling, with a hard deadline.
async fn wait_count(c: &Client, css: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = tokio::time::timeout(Duration::from_secs(10), c.find_all(Locator::Css(css)))
            .await
            .map(|r| r.map(|v| v.len()).unwrap_or(0))
            .unwrap_or(0);
        if found >= n {
            return;
        }
        if Instant::now() > deadline {
            let png = c.screenshot().await.unwrap_or_default();
            std::fs::write(artifacts_dir().join("app-failure.png"), png).unwrap();
            panic!("waited for {n} of {css}, found {found}; see app-failure.png");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn type_into(c: &Client, testid: &str, text: &str) {
    let css = format!("[data-testid={testid}] input, [data-testid={testid}] textarea");
    let el = wait_for(c, &css).await;
    // WebDriver's clear does not fire `input`, so the form would keep the old value.
    c.execute(
        "arguments[0].value = ''; arguments[0].dispatchEvent(new Event('input', { bubbles: true }));",
        vec![serde_json::to_value(&el).unwrap()],
    )
    .await
    .unwrap();
    el.send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    wait_for(c, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn text_of(c: &Client, css: &str) -> String {
    wait_for(c, css).await.text().await.unwrap()
}

/// Draws a zigzag on the visible signature pad and confirms it.
async fn draw_signature(c: &Client) {
    let canvas = wait_for(c, ".van-popup .van-signature canvas").await;
    // Let the popup finish opening so the canvas has its final place and size.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (x, y, w, h) = canvas.rectangle().await.unwrap();
    let (cx, cy) = (x + w / 2.0, y + h / 2.0);
    let mut mouse = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x: cx - w / 4.0,
            y: cy,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        });
    for i in 0..8 {
        mouse = mouse.then(PointerAction::MoveTo {
            duration: Some(Duration::from_millis(30)),
            x: cx - w / 4.0 + f64::from(i) * w / 16.0,
            y: cy + if i % 2 == 0 { h / 6.0 } else { -h / 6.0 },
        });
    }
    let mouse = mouse.then(PointerAction::Up {
        button: MOUSE_BUTTON_LEFT,
    });
    c.perform_actions(mouse).await.unwrap();
    click(c, ".van-popup .van-signature__footer .van-button--primary").await;
}

/// Puts a file into the photo picker as the file chooser would, and fires `change`.
/// (A native file dialog cannot be driven under WebDriver; everything from the
/// picker's `change` event on is the app's real path.)
async fn choose_file(c: &Client, path: &Path) {
    let input = wait_for(c, "[data-testid=photo-input] input[type=file]").await;
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    c.execute(
        "const [input, bytes, name] = arguments;
         const file = new File([new Uint8Array(bytes)], name, { type: 'image/jpeg' });
         const dt = new DataTransfer();
         dt.items.add(file);
         input.files = dt.files;
         input.dispatchEvent(new Event('change', { bubbles: true }));",
        vec![
            serde_json::to_value(&input).unwrap(),
            serde_json::json!(bytes),
            serde_json::json!(name),
        ],
    )
    .await
    .unwrap();
}

/// Resizes the window unless it already has that size (WebKitWebDriver waits for a
/// resize that never comes otherwise).
async fn resize(c: &Client, w: u32, h: u32) {
    let (_, _, cw, ch) = c.get_window_rect().await.unwrap();
    if (cw, ch) != (u64::from(w), u64::from(h)) {
        tokio::time::timeout(Duration::from_secs(10), c.set_window_rect(0, 0, w, h))
            .await
            .expect("resizing the window timed out")
            .unwrap();
    }
}

async fn screenshot(c: &Client, w: u32, h: u32, name: &str) {
    eprintln!("e2e: screenshot {name}");
    resize(c, w, h).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    match tokio::time::timeout(Duration::from_secs(15), c.screenshot()).await {
        Ok(png) => std::fs::write(artifacts_dir().join(name), png.unwrap()).unwrap(),
        Err(_) => eprintln!("e2e: screenshot {name} timed out"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "not finished: WebKitWebDriver's screenshot hangs once photo thumbnails are on the page; run with --ignored"]
async fn a_sampler_records_photographs_signs_and_seals_a_lead() {
    let app = profile_dir().join("fieldlead-app");
    require(
        &app,
        "build it with `cargo build -p fieldlead-app` (scripts/test does)",
    );
    require(
        Path::new("/usr/bin/WebKitWebDriver"),
        "install webkit2gtk-driver (scripts/setup)",
    );
    let xvfb = which("Xvfb");
    let tauri_driver = which("tauri-driver");

    let home = tempfile::tempdir().unwrap();
    let photos = tempfile::tempdir().unwrap();

    // A private X display for this test.
    let display = format!(":{}", 90 + free_port() % 400);
    let _x = Reaper(
        Command::new(xvfb)
            .args([
                display.as_str(),
                "-screen",
                "0",
                "1600x1400x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_millis(800)).await;

    let port = free_port();
    let native = free_port();
    let _driver = Reaper(
        Command::new(tauri_driver)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("DISPLAY", &display)
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("HOME", home.path())
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app.to_str().unwrap() }),
    );
    let started = Instant::now();
    let c = loop {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if started.elapsed() < Duration::from_secs(30) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => panic!("tauri-driver did not start the app: {e}"),
        }
    };
    resize(&c, 1280, 800).await;

    // Records list, empty; start a new visit.
    click(&c, "[data-testid=new-visit]").await;
    wait_for(&c, "[data-testid=f-business-name]").await;

    type_into(&c, "f-sending-unit", "重庆市某某质量检验检测研究院").await;
    type_into(&c, "f-task-name", "2026年电线电缆产品质量监督抽查").await;
    type_into(&c, "f-task-number", "CQ-2026-017").await;
    type_into(&c, "f-product-category", "电线电缆").await;
    type_into(&c, "f-business-name", "重庆某某五金经营部").await;
    // A wrong check character is named as it is typed.
    type_into(&c, "f-uscc", "914403001922038217").await;
    let msg = text_of(&c, "[data-testid=f-uscc] .van-field__error-message").await;
    assert!(msg.contains("校验位"), "{msg}");
    type_into(&c, "f-uscc", "914403001922038216").await;
    wait_for(&c, "[data-testid=uscc-ok]").await;
    type_into(&c, "f-business-address", "重庆市渝中区民族路 88 号").await;
    type_into(&c, "f-business-person", "张三").await;
    type_into(&c, "f-business-phone", "023-63801234").await;
    click(&c, "[data-testid=role-seller]").await;
    type_into(&c, "f-product-name", "聚氯乙烯绝缘电线").await;
    click(&c, "[data-testid=f-producer-none]").await;
    type_into(&c, "f-s1-name", "李四").await;
    type_into(&c, "f-s1-cred", "CQ50001234").await;
    type_into(&c, "f-s2-name", "王五").await;
    type_into(&c, "f-s2-cred", "CQ50005678").await;
    type_into(&c, "f-place", "重庆市渝中区民族路 88 号门市").await;
    screenshot(&c, 1280, 800, "app-visit-1280x800.png").await;
    screenshot(&c, 800, 1280, "app-visit-800x1280.png").await;
    resize(&c, 1280, 800).await;

    eprintln!("e2e: Grounds");
    // Grounds.
    click(&c, "[data-testid=step-grounds]").await;
    click(&c, "[data-testid=outcome-terminated]").await;
    click(&c, "[data-testid=ground-no_factory_name]").await;
    click(&c, "[data-testid=ground-no_factory_address]").await;
    type_into(
        &c,
        "f-situation",
        "货架上的电线无厂名厂址，经营者不能提供进货票据。",
    )
    .await;

    eprintln!("e2e: Three photos from files");
    // Three photos from files.
    click(&c, "[data-testid=step-evidence]").await;
    eprintln!("e2e: on evidence step");
    let mut expected = Vec::new();
    for i in 0..3u32 {
        let p = write_photo(photos.path(), &format!("现场{i}.jpg"), i);
        expected.push(Sha256::digest(&std::fs::read(&p).unwrap()).to_hex());
        eprintln!("e2e: choosing photo {i}");
        choose_file(&c, &p).await;
        eprintln!("e2e: chose photo {i}");
        wait_count(&c, "[data-testid=photo-card]", i as usize + 1).await;
    }
    eprintln!("e2e: photos shown");
    screenshot(&c, 1280, 800, "app-evidence-1280x800.png").await;
    screenshot(&c, 800, 1280, "app-evidence-800x1280.png").await;
    resize(&c, 1280, 800).await;
    let captions = c
        .find_all(Locator::Css("[data-testid=photo-caption] input"))
        .await
        .unwrap();
    assert_eq!(captions.len(), 3);
    for (i, el) in captions.iter().enumerate() {
        eprintln!("e2e: caption {i}");
        el.send_keys(&format!("现场照片{}：货架与标签", i + 1))
            .await
            .unwrap();
        // Blur saves the caption.
        c.execute("document.activeElement.blur()", vec![])
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    eprintln!("e2e: Signatures");
    // Signatures: both samplers draw; the business's person refuses before a witness.
    click(&c, "[data-testid=step-signatures]").await;
    for party in ["sampler1", "sampler2"] {
        click(&c, &format!("[data-testid=sign-{party}]")).await;
        draw_signature(&c).await;
        wait_for(&c, &format!("[data-testid=signoff-{party}] img")).await;
    }
    click(&c, "[data-testid=refuse-business]").await;
    type_into(&c, "witness", "隔壁商户 刘七").await;
    click(&c, ".van-dialog .van-dialog__confirm").await;
    let refused = text_of(&c, "[data-testid=signoff-business]").await;
    assert!(refused.contains("刘七"), "{refused}");

    eprintln!("e2e: Seal, confirming");
    // Seal, confirming that the record becomes read-only.
    click(&c, "[data-testid=step-seal]").await;
    let problems = c
        .find_all(Locator::Css("[data-testid=seal-problem]"))
        .await
        .unwrap();
    let mut listed = Vec::new();
    for p in &problems {
        listed.push(p.text().await.unwrap());
    }
    assert!(listed.is_empty(), "still to fix: {listed:?}");
    click(&c, "[data-testid=seal]").await;
    click(&c, ".van-dialog .van-dialog__confirm").await;
    let hash = text_of(&c, "[data-testid=manifest-hash]").await;
    assert!(
        hash.chars().filter(|c| c.is_ascii_hexdigit()).count() >= 64,
        "{hash}"
    );
    let mut shown = Vec::new();
    for el in c
        .find_all(Locator::Css("[data-testid=sealed-photo]"))
        .await
        .unwrap()
    {
        shown.push(el.text().await.unwrap());
    }
    assert_eq!(shown.len(), 3);
    for sha in &expected {
        assert!(
            shown.iter().any(|s| s.contains(sha.as_str())),
            "{sha} not shown in {shown:?}"
        );
    }
    screenshot(&c, 1280, 800, "app-sealed-1280x800.png").await;
    screenshot(&c, 800, 1280, "app-sealed-800x1280.png").await;

    eprintln!("e2e: The list shows it");
    // The list shows it as sealed, waiting to be sent.
    click(&c, ".van-nav-bar__left").await;
    let state = text_of(&c, "[data-testid^=state-]").await;
    assert!(state.contains("待报送"), "{state}");
    screenshot(&c, 1280, 800, "app-list-1280x800.png").await;

    c.close().await.unwrap();
}
