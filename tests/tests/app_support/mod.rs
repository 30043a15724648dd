//! What drives the real tablet app in the end-to-end test (`app_e2e`): the helper
//! processes (Xvfb, tauri-driver, which starts WebKitWebDriver, which starts the app),
//! killed with everything they started however the test ends; the private X screen
//! that screenshots are cut from; and the app started on it with a WebDriver session.
//! `ui` holds the WebDriver steps a test takes on the app's pages.
//!
//! Needs: the app binary (`cargo build -p fieldlead-app`, done by scripts/test), Xvfb,
//! ImageMagick's `import`, WebKitWebDriver and tauri-driver (installed by scripts/setup).
#![allow(dead_code)]

pub mod ui;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};

/// The longest one WebDriver command may take. Each takes well under a second; the
/// margin is for a loaded 2-core machine running other tests beside this one.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the UI may take to show what a step leads to (an imported photo, a
/// signature saved, the seal).
pub const UI_TIMEOUT: Duration = Duration::from_secs(30);
/// Big enough for the window at 1280x800 and at 800x1280, both at the origin.
pub const SCREEN: (u32, u32) = (1280, 1280);

/// Kills a helper process and everything it started when the test ends, however it
/// ends. tauri-driver starts WebKitWebDriver, which starts the app; killing only
/// tauri-driver would leave both running.
pub struct Reaper(Child);
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
pub fn descendants(root: u32) -> Vec<u32> {
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

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// target/debug (or whatever profile dir this test binary sits in).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

pub fn artifacts_dir() -> PathBuf {
    let dir = profile_dir().parent().unwrap().join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn require(path: &Path, hint: &str) {
    assert!(path.exists(), "{} is missing: {hint}", path.display());
}

pub fn which(cmd: &str) -> PathBuf {
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
pub struct Screen {
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
pub struct ShotOnFailure<'a>(pub &'a Screen);
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

/// The app under tauri-driver on a private screen, with a WebDriver session to it.
/// Fields drop in this order: the session, then the processes, then the screen.
pub struct App {
    pub c: Client,
    _driver: Reaper,
    pub screen: Screen,
    _home: tempfile::TempDir,
}

impl App {
    /// Starts the app binary built beside this test binary, with an empty home of
    /// its own, on a fresh screen, and opens a WebDriver session to it.
    pub async fn start() -> App {
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
        let screen = Screen::start();

        let port = free_port();
        let native = free_port();
        let driver = Reaper(
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
        App {
            c,
            _driver: driver,
            screen,
            _home: home,
        }
    }
}
