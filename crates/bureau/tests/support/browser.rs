//! Headless Chromium driven over WebDriver (chromedriver), for the console's
//! browser tests. Needs the Debian packages `chromium` and `chromium-driver`.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};

/// chromedriver on a free port, killed when the test ends however it ends.
pub struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Chromium on Linux takes its UI language from the environment.
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .env("LANG", "zh_CN.UTF-8")
        .env("LANGUAGE", "zh_CN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian package chromium-driver, installed by scripts/setup)");
    let driver = Driver(child, port);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

/// A headless Chromium session; keep the driver alive as long as the client.
pub async fn headless_chromium() -> (Driver, Client) {
    let driver = chromedriver().await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-dev-shm-usage", "--window-size=1400,1000", "--lang=zh-CN"],
            // The browser of a user in China: its own controls (file and date
            // inputs) in Chinese, and pages asked for in Chinese.
            "prefs": { "intl.accept_languages": "zh-CN,zh" }
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.1))
        .await
        .expect("WebDriver session");
    (driver, client)
}

/// Saves what the browser shows as `target/test-artifacts/<name>.png` (beside
/// the tablet's screenshots), for a person to look at the console as its users
/// meet it.
pub async fn screenshot(c: &Client, name: &str) -> Result<(), fantoccini::error::CmdError> {
    let png = c.screenshot().await?;
    // target/<profile>/deps/<test binary>: test-artifacts sits beside the profile.
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .ancestors()
        .nth(3)
        .expect("target dir above the test binary")
        .join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("test-artifacts folder");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
    Ok(())
}

/// Ends a browser test: on a failed step, the page it was on goes into the
/// panic message; the session is closed either way.
pub async fn finish(c: Client, result: Result<(), fantoccini::error::CmdError>) {
    if let Err(e) = &result {
        let url = c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        let page = c.source().await.unwrap_or_default();
        let _ = c.close().await;
        panic!("browser step failed: {e:?}\nat {url}\n{page}");
    }
    let _ = c.close().await;
}
