//! The real tablet app, built and driven under Xvfb through tauri-driver and
//! WebKitWebDriver, through a sampler's whole flow: new visit, three photos from files,
//! grounds, signatures (two drawn, one refused before a witness), seal, and the record
//! shown as sealed with the hashes of exactly the files that were chosen. Screenshots
//! at 1280x800 and 800x1280 are kept under `target/test-artifacts/`, and on failure
//! `app-failure.png` shows the screen as it was.
//!
//! Needs: the app binary (`cargo build -p fieldlead-app`, done by scripts/test), Xvfb,
//! ImageMagick's `import`, WebKitWebDriver and tauri-driver (installed by scripts/setup).
//!
//! Screenshots are taken from the X server, not through WebDriver: with compositing
//! off, WebKitGTK's WebDriver screenshot waits for the page's next paint, which never
//! comes while the page is idle (no caret blinking, no animation). That command then
//! never answers, and as WebKitWebDriver runs a session's commands one after another,
//! every later command waits behind it.

use std::collections::HashSet;
use std::fmt::Display;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{Client, ClientBuilder, Locator};
use fieldlead_domain::Sha256;

/// The longest one WebDriver command may take. Each takes well under a second; the
/// margin is for a loaded 2-core machine running other tests beside this one.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the UI may take to show what a step leads to (an imported photo, a
/// signature saved, the seal).
const UI_TIMEOUT: Duration = Duration::from_secs(30);
/// Big enough for the window at 1280x800 and at 800x1280, both at the origin.
const SCREEN: (u32, u32) = (1280, 1280);

/// Kills a helper process and everything it started when the test ends, however it
/// ends. tauri-driver starts WebKitWebDriver, which starts the app; killing only
/// tauri-driver would leave both running.
struct Reaper(Child);
impl Drop for Reaper {
    fn drop(&mut self) {
        let mut pids: Vec<String> = descendants(self.0.id())
            .iter()
            .map(u32::to_string)
            .collect();
        pids.push(self.0.id().to_string());
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(&pids)
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// All processes below `root`, from /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent_of.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == p)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.remove(0);
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
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

/// A private X display, and pictures of what it shows.
struct Screen {
    display: String,
    import: PathBuf,
    _xvfb: Reaper,
}

impl Screen {
    fn start() -> Screen {
        let import = which("import");
        // Xvfb picks a free display itself and names it on the fd once it accepts
        // clients: no guessed number that another run may hold, no sleep.
        let mut xvfb = Command::new(which("Xvfb"))
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0"])
            .arg(format!("{}x{}x24", SCREEN.0, SCREEN.1))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = xvfb.stdout.take().unwrap();
        let xvfb = Reaper(xvfb);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("Xvfb did not start within 20 s");
        let n: u32 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("Xvfb did not name its display: {line:?}"));
        Screen {
            display: format!(":{n}"),
            import,
            _xvfb: xvfb,
        }
    }

    /// The whole screen as PNG bytes.
    fn capture_cmd(&self) -> Command {
        let mut cmd = Command::new(&self.import);
        cmd.args(["-display", &self.display, "-window", "root", "png:-"]);
        cmd
    }

    async fn capture(&self) -> image::RgbImage {
        let mut cmd = tokio::process::Command::from(self.capture_cmd());
        cmd.kill_on_drop(true).stderr(Stdio::piped());
        let out = tokio::time::timeout(COMMAND_TIMEOUT, cmd.output())
            .await
            .expect("capturing the screen with `import` timed out")
            .expect("running `import`");
        assert!(
            out.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        image::load_from_memory(&out.stdout)
            .expect("import's PNG")
            .to_rgb8()
    }
}

/// Saves the screen as `app-failure.png` when the test fails, also when the
/// WebDriver session is stuck, since it asks the X server, not the session.
struct ShotOnFailure<'a>(&'a Screen);
impl Drop for ShotOnFailure<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let path = artifacts_dir().join("app-failure.png");
        if let Ok(out) = self.0.capture_cmd().stderr(Stdio::null()).output() {
            if out.status.success() && std::fs::write(&path, out.stdout).is_ok() {
                eprintln!("e2e: the screen at the failure: {}", path.display());
            }
        }
    }
}

/// Runs one WebDriver command with a deadline, so that a command that never answers
/// fails the test, naming what it was doing, instead of blocking it for good.
async fn wd<T, E: std::fmt::Debug>(
    what: impl Display,
    cmd: impl Future<Output = Result<T, E>>,
) -> T {
    match tokio::time::timeout(COMMAND_TIMEOUT, cmd).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => panic!("WebDriver: {what}: {e:?}"),
        Err(_) => panic!(
            "WebDriver: {what}: no answer within {COMMAND_TIMEOUT:?}; WebKitWebDriver is stuck"
        ),
    }
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

/// The first element matching `css` that is shown. Closed dialogs and popups stay in
/// the page hidden, so the first match alone may be one nobody can see or click.
async fn shown(c: &Client, css: &str) -> Element {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        for el in wd(format!("find {css}"), c.find_all(Locator::Css(css))).await {
            // An element re-rendered since it was found is gone: look again.
            if let Ok(true) = tokio::time::timeout(COMMAND_TIMEOUT, el.is_displayed())
                .await
                .unwrap_or_else(|_| panic!("WebDriver: is {css} shown: no answer"))
            {
                return el;
            }
        }
        assert!(
            Instant::now() < deadline,
            "nothing shown matches {css} after {UI_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until nothing matching `css` is shown (a toast that would cover a
/// screenshot).
async fn wait_hidden(c: &Client, css: &str) {
    let deadline = Instant::now() + UI_TIMEOUT;
    'poll: loop {
        for el in wd(format!("find {css}"), c.find_all(Locator::Css(css))).await {
            // An element gone since it was found is not shown.
            if let Ok(true) = tokio::time::timeout(COMMAND_TIMEOUT, el.is_displayed())
                .await
                .unwrap_or_else(|_| panic!("WebDriver: is {css} shown: no answer"))
            {
                assert!(
                    Instant::now() < deadline,
                    "{css} is still shown after {UI_TIMEOUT:?}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue 'poll;
            }
        }
        return;
    }
}

/// Waits until at least `n` elements match.
async fn wait_count(c: &Client, css: &str, n: usize) {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let found = wd(format!("find {css}"), c.find_all(Locator::Css(css)))
            .await
            .len();
        if found >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited {UI_TIMEOUT:?} for {n} of {css}, found {found}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the shown element matching `css` has a text containing `needle`: the
/// UI fills some texts in after a call to the core returns.
async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let el = shown(c, css).await;
        // Stale when Vue replaced the element meanwhile: read again.
        let text = tokio::time::timeout(COMMAND_TIMEOUT, el.text())
            .await
            .unwrap_or_else(|_| panic!("WebDriver: text of {css}: no answer"))
            .unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{css} shows {text:?}, not {needle:?}, after {UI_TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn type_into(c: &Client, testid: &str, text: &str) {
    let css = format!("[data-testid={testid}] input, [data-testid={testid}] textarea");
    let el = shown(c, &css).await;
    // WebDriver's clear does not fire `input`, so the form would keep the old value.
    wd(
        format!("clear {testid}"),
        c.execute(
            "arguments[0].value = ''; arguments[0].dispatchEvent(new Event('input', { bubbles: true }));",
            vec![serde_json::to_value(&el).unwrap()],
        ),
    )
    .await;
    wd(format!("type into {testid}"), el.send_keys(text)).await;
}

/// Clicks the shown element matching `css`. A popup or dialog just closed still
/// catches clicks with its overlay while that fades out; WebDriver then refuses the
/// click without making it, so it is safe to try again once the overlay is gone.
async fn click(c: &Client, css: &str) {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let el = shown(c, css).await;
        match tokio::time::timeout(COMMAND_TIMEOUT, el.click()).await {
            Ok(Ok(())) => return,
            Ok(Err(CmdError::Standard(e)))
                if e.error == ErrorStatus::ElementClickIntercepted && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(Err(e)) => panic!("WebDriver: click {css}: {e:?}"),
            Err(_) => panic!("WebDriver: click {css}: no answer within {COMMAND_TIMEOUT:?}"),
        }
    }
}

/// Draws a zigzag on the shown signature pad and confirms it.
async fn draw_signature(c: &Client) {
    let canvas = shown(c, ".van-popup .van-signature canvas").await;
    // Let the popup finish sliding in so the canvas has its final place and size.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (x, y, w, h) = wd("the signature pad's place", canvas.rectangle()).await;
    // Vant sizes the canvas's bitmap once, when the pad is mounted; mounted inside a
    // popup that is still hidden, it gets 0x0, and every stroke is lost: the sampler
    // confirms and is told that nothing was signed.
    let bitmap = wd(
        "the signature canvas's bitmap size",
        c.execute(
            "return [arguments[0].width, arguments[0].height]",
            vec![serde_json::to_value(&canvas).unwrap()],
        ),
    )
    .await;
    assert!(
        bitmap[0].as_u64().unwrap_or(0) > 0 && bitmap[1].as_u64().unwrap_or(0) > 0,
        "the signature pad shows {w}x{h}, but its canvas's bitmap is {bitmap}: it was sized \
         while its popup was hidden, and nothing drawn on it is kept"
    );
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
    wd("draw on the signature pad", c.perform_actions(mouse)).await;
    click(c, ".van-popup .van-signature__footer .van-button--primary").await;
}

/// Puts a file into the photo picker as the file chooser would, and fires `change`.
/// (A native file dialog cannot be driven under WebDriver; everything from the
/// picker's `change` event on is the app's real path.)
async fn choose_file(c: &Client, path: &Path) {
    let input = wait_for_present(c, "[data-testid=photo-input] input[type=file]").await;
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    wd(
        format!("choose {name}"),
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
        ),
    )
    .await;
}

/// The first element matching `css`, shown or not (a file input is hidden behind
/// its button).
async fn wait_for_present(c: &Client, css: &str) -> Element {
    wait_count(c, css, 1).await;
    wd(format!("find {css}"), c.find(Locator::Css(css))).await
}

/// Resizes the window and waits until the page has its new size. Skipped when the
/// window already has that size: WebKitWebDriver then waits for a resize that never
/// comes.
async fn resize(c: &Client, w: u32, h: u32) {
    let (_, _, cw, ch) = wd("window size", c.get_window_rect()).await;
    if (cw, ch) != (u64::from(w), u64::from(h)) {
        wd(format!("resize to {w}x{h}"), c.set_window_rect(0, 0, w, h)).await;
    }
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let inner = wd(
            "the page's size",
            c.execute("return [window.innerWidth, window.innerHeight]", vec![]),
        )
        .await;
        if inner == serde_json::json!([w, h]) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the page is {inner}, not [{w},{h}], after resizing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a capture shows a painted window: many colours (text is anti-aliased) and
/// hardly any of the black that the X root shows where the window has not painted.
fn looks_painted(img: &image::RgbImage) -> bool {
    let colours: HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    let black = img.pixels().filter(|p| p.0 == [0, 0, 0]).count();
    colours.len() >= 32 && black * 20 < img.pixels().len()
}

/// Saves the app's window at `w`x`h` as `name`, cut from the X screen.
async fn screenshot(c: &Client, screen: &Screen, w: u32, h: u32, name: &str) {
    eprintln!("e2e: screenshot {name}");
    resize(c, w, h).await;
    let (x, y, ww, wh) = wd("window place", c.get_window_rect()).await;
    assert_eq!((ww, wh), (u64::from(w), u64::from(h)), "window size");
    let (x, y) = (x as u32, y as u32);
    assert!(
        x + w <= SCREEN.0 && y + h <= SCREEN.1,
        "the window at {x},{y} does not fit on the screen"
    );
    // The page has its size; give the window a moment to paint it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deadline = Instant::now() + UI_TIMEOUT;
    let shot = loop {
        let full = screen.capture().await;
        let shot = image::imageops::crop_imm(&full, x, y, w, h).to_image();
        if looks_painted(&shot) {
            break shot;
        }
        if Instant::now() > deadline {
            let path = artifacts_dir().join(format!("unpainted-{name}"));
            shot.save(&path).unwrap();
            panic!("{name}: the window shows nothing; see {}", path.display());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    shot.save(artifacts_dir().join(name)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sampler_records_photographs_signs_and_seals_a_lead() {
    let started = Instant::now();
    let app = profile_dir().join("fieldlead-app");
    require(
        &app,
        "build it with `cargo build -p fieldlead-app` (scripts/test does)",
    );
    require(
        Path::new("/usr/bin/WebKitWebDriver"),
        "install webkit2gtk-driver (scripts/setup)",
    );
    let tauri_driver = which("tauri-driver");
    // Left by an earlier failed run, they would pass for this run's.
    for stale in std::fs::read_dir(artifacts_dir()).unwrap().flatten() {
        let name = stale.file_name().to_string_lossy().into_owned();
        if name == "app-failure.png" || name.starts_with("unpainted-app-") {
            let _ = std::fs::remove_file(stale.path());
        }
    }

    let home = tempfile::tempdir().unwrap();
    let photos = tempfile::tempdir().unwrap();
    let screen = Screen::start();

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
            .env("DISPLAY", &screen.display)
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("HOME", home.path())
            // Xvfb has no GPU: compositing would only run through Mesa's software GL.
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
    let url = format!("http://127.0.0.1:{port}");
    let connecting = Instant::now();
    let c = loop {
        let mut builder =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(caps.clone());
        let attempt = builder.connect(&url);
        let error = match tokio::time::timeout(COMMAND_TIMEOUT, attempt).await {
            Ok(Ok(c)) => break c,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer".to_string(),
        };
        // tauri-driver takes a moment to listen.
        assert!(
            connecting.elapsed() < Duration::from_secs(30),
            "tauri-driver did not start the app: {error}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    // Declared after the client and the processes, so dropped before them: the app
    // is still there as it was when the test failed.
    let _failure_shot = ShotOnFailure(&screen);
    resize(&c, 1280, 800).await;

    // Records list, empty; start a new visit.
    click(&c, "[data-testid=new-visit]").await;
    shown(&c, "[data-testid=f-business-name]").await;

    type_into(&c, "f-sending-unit", "重庆市某某质量检验检测研究院").await;
    type_into(&c, "f-task-name", "2026年电线电缆产品质量监督抽查").await;
    type_into(&c, "f-task-number", "CQ-2026-017").await;
    type_into(&c, "f-product-category", "电线电缆").await;
    type_into(&c, "f-business-name", "重庆某某五金经营部").await;
    // A wrong check character is named as it is typed.
    type_into(&c, "f-uscc", "914403001922038217").await;
    wait_text(
        &c,
        "[data-testid=f-uscc] .van-field__error-message",
        "校验位",
    )
    .await;
    type_into(&c, "f-uscc", "914403001922038216").await;
    shown(&c, "[data-testid=uscc-ok]").await;
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
    screenshot(&c, &screen, 1280, 800, "app-visit-1280x800.png").await;
    screenshot(&c, &screen, 800, 1280, "app-visit-800x1280.png").await;
    resize(&c, 1280, 800).await;

    eprintln!("e2e: grounds");
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

    eprintln!("e2e: three photos from files");
    click(&c, "[data-testid=step-evidence]").await;
    let mut expected = Vec::new();
    for i in 0..3u32 {
        let p = write_photo(photos.path(), &format!("现场{i}.jpg"), i);
        expected.push(Sha256::digest(&std::fs::read(&p).unwrap()).to_hex());
        choose_file(&c, &p).await;
        wait_count(&c, "[data-testid=photo-card]", i as usize + 1).await;
    }
    // The thumbnails come from the app's evidence: scheme; a broken one has no size.
    wait_count(&c, "[data-testid=photo-card] img.fl-thumb", 3).await;
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let loaded = wd(
            "thumbnails loaded",
            c.execute(
                "return [...document.querySelectorAll('[data-testid=photo-card] img.fl-thumb')]
                   .filter(i => i.complete && i.naturalWidth > 0).length",
                vec![],
            ),
        )
        .await;
        if loaded == serde_json::json!(3) {
            break;
        }
        assert!(Instant::now() < deadline, "{loaded} of 3 thumbnails loaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    screenshot(&c, &screen, 1280, 800, "app-evidence-1280x800.png").await;
    screenshot(&c, &screen, 800, 1280, "app-evidence-800x1280.png").await;
    resize(&c, 1280, 800).await;
    let captions = wd(
        "find the captions",
        c.find_all(Locator::Css("[data-testid=photo-caption] input")),
    )
    .await;
    assert_eq!(captions.len(), 3);
    for (i, el) in captions.iter().enumerate() {
        wd(
            format!("caption {i}"),
            el.send_keys(&format!("现场照片{}：货架与标签", i + 1)),
        )
        .await;
        // Blur saves the caption.
        wd("blur", c.execute("document.activeElement.blur()", vec![])).await;
    }

    eprintln!("e2e: signatures");
    // Both samplers draw; the business's person refuses before a witness.
    click(&c, "[data-testid=step-signatures]").await;
    for party in ["sampler1", "sampler2"] {
        click(&c, &format!("[data-testid=sign-{party}]")).await;
        draw_signature(&c).await;
        shown(&c, &format!("[data-testid=signoff-{party}] img")).await;
    }
    click(&c, "[data-testid=refuse-business]").await;
    type_into(&c, "witness", "隔壁商户 刘七").await;
    click(&c, ".van-dialog .van-dialog__confirm").await;
    wait_text(&c, "[data-testid=signoff-business]", "刘七").await;

    eprintln!("e2e: seal");
    click(&c, "[data-testid=step-seal]").await;
    // The button is enabled once the core finds nothing left to fix.
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let seal = shown(&c, "[data-testid=seal]").await;
        if wd("is the seal button enabled", seal.is_enabled()).await {
            click(&c, "[data-testid=seal]").await;
            break;
        }
        if Instant::now() > deadline {
            let mut listed = Vec::new();
            for p in wd(
                "find the problems",
                c.find_all(Locator::Css("[data-testid=seal-problem]")),
            )
            .await
            {
                listed.push(wd("problem text", p.text()).await);
            }
            panic!("sealing stays disabled; still to fix: {listed:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Confirming that the record becomes read-only.
    click(&c, ".van-dialog .van-dialog__confirm").await;
    let hash = shown(&c, "[data-testid=manifest-hash]").await;
    let hash = wd("manifest hash", hash.text()).await;
    assert!(
        hash.chars().filter(|c| c.is_ascii_hexdigit()).count() >= 64,
        "{hash}"
    );
    let mut shown_hashes = Vec::new();
    for el in wd(
        "find the sealed photos",
        c.find_all(Locator::Css("[data-testid=sealed-photo]")),
    )
    .await
    {
        shown_hashes.push(wd("sealed photo text", el.text()).await);
    }
    assert_eq!(shown_hashes.len(), 3, "{shown_hashes:?}");
    for sha in &expected {
        assert!(
            shown_hashes.iter().any(|s| s.contains(sha.as_str())),
            "{sha} not shown in {shown_hashes:?}"
        );
    }
    // The "sealed" toast would hide part of the record.
    wait_hidden(&c, ".van-toast").await;
    screenshot(&c, &screen, 1280, 800, "app-sealed-1280x800.png").await;
    screenshot(&c, &screen, 800, 1280, "app-sealed-800x1280.png").await;
    resize(&c, 1280, 800).await;

    eprintln!("e2e: the list");
    // The list shows it as sealed, waiting to be sent.
    click(&c, ".van-nav-bar__left").await;
    wait_text(&c, "[data-testid^=state-]", "待报送").await;
    screenshot(&c, &screen, 1280, 800, "app-list-1280x800.png").await;

    wd("close the session", c.close()).await;
    eprintln!("e2e: done in {:?}", started.elapsed());
}
