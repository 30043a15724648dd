//! The WebDriver steps of the app end-to-end test: every command with a deadline,
//! waiting for what the UI shows, typing, clicking, drawing a signature, choosing a
//! photo file, and screenshots of the window cut from the X screen.

use std::collections::HashSet;
use std::fmt::Display;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::{Client, Locator};

use super::{artifacts_dir, Screen, COMMAND_TIMEOUT, SCREEN, UI_TIMEOUT};

/// Runs one WebDriver command with a deadline, so that a command that never answers
/// fails the test, naming what it was doing, instead of blocking it for good.
pub async fn wd<T, E: std::fmt::Debug>(
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

/// The first element matching `css` that is shown. Closed dialogs and popups stay in
/// the page hidden, so the first match alone may be one nobody can see or click.
pub async fn shown(c: &Client, css: &str) -> Element {
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
pub async fn wait_hidden(c: &Client, css: &str) {
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
pub async fn wait_count(c: &Client, css: &str, n: usize) {
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

/// The texts of every element matching `css`, in page order.
pub async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for el in wd(format!("find {css}"), c.find_all(Locator::Css(css))).await {
        texts.push(wd(format!("text of {css}"), el.text()).await);
    }
    texts
}

/// Waits until the shown element matching `css` has a text containing `needle`: the
/// UI fills some texts in after a call to the core returns.
pub async fn wait_text(c: &Client, css: &str, needle: &str) -> String {
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

pub async fn type_into(c: &Client, testid: &str, text: &str) {
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
pub async fn click(c: &Client, css: &str) {
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
pub async fn draw_signature(c: &Client) {
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
pub async fn choose_file(c: &Client, path: &Path) {
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
pub async fn wait_for_present(c: &Client, css: &str) -> Element {
    wait_count(c, css, 1).await;
    wd(format!("find {css}"), c.find(Locator::Css(css))).await
}

/// Resizes the window and waits until the page has its new size. Skipped when the
/// window already has that size: WebKitWebDriver then waits for a resize that never
/// comes.
pub async fn resize(c: &Client, w: u32, h: u32) {
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
pub fn looks_painted(img: &image::RgbImage) -> bool {
    let colours: HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    let black = img.pixels().filter(|p| p.0 == [0, 0, 0]).count();
    colours.len() >= 32 && black * 20 < img.pixels().len()
}

/// Saves the app's window at `w`x`h` as `name`, cut from the X screen.
pub async fn screenshot(c: &Client, screen: &Screen, w: u32, h: u32, name: &str) {
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

/// Waits until `css` is shown and has stopped moving (a popup sliding in), so
/// a click lands on it rather than where it was a frame before.
pub async fn settled(c: &Client, css: &str) -> Element {
    let deadline = Instant::now() + UI_TIMEOUT;
    let mut last = None;
    loop {
        let el = shown(c, css).await;
        let rect = wd(format!("the place of {css}"), el.rectangle()).await;
        if last == Some(rect) {
            return el;
        }
        assert!(
            Instant::now() < deadline,
            "{css} is still moving after {UI_TIMEOUT:?}"
        );
        last = Some(rect);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}
