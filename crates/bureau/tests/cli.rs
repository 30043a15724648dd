//! The `fieldlead-bureau` binary as an operator uses it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn bureau(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"))
        .args(args)
        .env("FIELDLEAD_NEW_PASSWORD", "a long test password")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `fieldlead-bureau serve` on `data` at a free port, with what `env` adds to
/// its command; the process and the first line it printed (its address).
fn serve(
    data: &std::path::Path,
    env: impl FnOnce(&mut Command) -> &mut Command,
) -> (std::process::Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"));
    cmd.args([
        "serve",
        "--data",
        data.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    let mut child = env(&mut cmd).spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    (child, first)
}

/// A data folder made by `fieldlead-bureau init`, in a temp folder of its own.
fn initialised() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    bureau(&["init", "--data", data.to_str().unwrap()]);
    (dir, data)
}

#[test]
fn init_district_user_enrol_and_revoke_from_the_command_line() {
    let (_dir, data) = initialised();
    let d = data.to_str().unwrap();
    for f in ["bureau.toml", "bureau.key", "bureau.sqlite3"] {
        assert!(data.join(f).exists(), "{f}");
    }
    // init is harmless to repeat and keeps the key.
    let key = std::fs::read(data.join("bureau.key")).unwrap();
    bureau(&["init", "--data", d]);
    assert_eq!(std::fs::read(data.join("bureau.key")).unwrap(), key);

    bureau(&[
        "district",
        "add",
        "--data",
        d,
        "yuzhong",
        "渝中区市场监督管理局",
    ]);
    let out = bureau(&[
        "user",
        "add",
        "--data",
        d,
        "--username",
        "li",
        "--name",
        "李四",
        "--role",
        "officer",
        "--district",
        "yuzhong",
    ]);
    assert!(out.contains("a long test password"));
    assert!(bureau(&["user", "list", "--data", d]).contains("li\tofficer\tyuzhong"));

    let out = bureau(&["enrol", "--data", d, "--district", "yuzhong"]);
    let code_line = out.lines().find(|l| l.starts_with("设备注册码")).unwrap();
    let code = code_line.rsplit('：').next().unwrap().trim();
    assert!(
        fieldlead_domain::EnrolmentCode::parse(code).is_ok(),
        "{code}"
    );
    assert!(out.contains('█'), "QR code in the terminal");
    // The bureau key's fingerprint is printed for typing it in by hand.
    let fp_line = out
        .lines()
        .find(|l| l.starts_with("区县局密钥指纹"))
        .unwrap();
    let fp = fp_line.rsplit('：').next().unwrap().trim();
    assert!(fieldlead_domain::KeyFingerprint::parse(fp).is_ok(), "{fp}");
    let png_line = out.lines().find(|l| l.starts_with("二维码图片")).unwrap();
    let png = std::path::PathBuf::from(png_line.rsplit('：').next().unwrap().trim());
    assert!(
        image::open(&png).is_ok(),
        "QR code PNG at {}",
        png.display()
    );
    // The file's name does not give the live code away to anyone who lists the folder.
    let name = png.file_name().unwrap().to_string_lossy().to_string();
    assert!(!name.contains(&code.replace('-', "")), "{name}");
    assert!(!name.contains(code), "{name}");

    // A wrong role or a missing district is refused with a clear message.
    let out = Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"))
        .args([
            "user",
            "add",
            "--data",
            d,
            "--username",
            "x",
            "--name",
            "X",
            "--role",
            "reviewer",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("必须指定区县"));
}

/// Kills the demo server when the test ends, whether it passed or not.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn demo_starts_a_ready_district_and_serves_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"))
        .args([
            "demo",
            "--data",
            dir.path().to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.contains("正在 http://") {
            break;
        }
    }
    for user in ["officer", "reviewer", "city"] {
        assert!(printed.contains(&format!("用户 {user}")), "{printed}");
    }
    assert!(printed.contains("设备注册码（演示区市场监督管理局）"));
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    stream.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    // Plain-HTTP demo: the session cookie cannot be Secure or browsers drop it.
    assert!(!resp.contains("Secure"));
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_data_folder_is_private_and_a_readable_key_is_refused() {
    let (_dir, data) = initialised();
    let d = data.to_str().unwrap();
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("bureau.sqlite3")), 0o600);
    assert_eq!(mode(&data.join("bureau.key")), 0o600);
    // Someone loosened the key file: the bureau will not sign receipts with it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        data.join("bureau.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"))
        .args(["district", "list", "--data", d])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chmod 600"), "{err}");
}

#[test]
fn commands_beside_a_live_server_leave_its_work_alone_and_a_second_server_is_refused() {
    let (_dir, data) = initialised();
    let d = data.to_str().unwrap();
    let (mut server, first) = serve(&data, |c| c);
    assert!(first.contains("正在"), "{first}");
    // A photo the live server is writing right now (named with its process id).
    let in_progress = data
        .join("blobs/tmp")
        .join(format!("{}-7.part", server.id()));
    std::fs::write(&in_progress, b"half a thumbnail").unwrap();
    bureau(&["user", "list", "--data", d]);
    bureau(&["district", "list", "--data", d]);
    assert!(
        in_progress.exists(),
        "a command cleared the server's temp file"
    );

    let second = Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"))
        .args(["serve", "--data", d, "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("只能运行一个服务"), "{err}");
}

#[test]
fn the_calendar_answers_working_days_and_periods_and_names_a_missing_year() {
    let run = |args: &[&str]| bureau(args).trim().to_string();
    assert_eq!(run(&["calendar", "is-workday", "2026-02-14"]), "true");
    assert_eq!(run(&["calendar", "is-workday", "2026-02-16"]), "false");
    assert_eq!(run(&["calendar", "is-workday", "2026-03-07"]), "false");
    assert_eq!(
        run(&["calendar", "workdays-after", "2026-02-13", "5"]),
        "2026-02-27"
    );
    assert_eq!(
        run(&["calendar", "days-after", "2025-09-16", "15"]),
        "2025-10-09"
    );
    assert!(run(&["calendar", "years"]).contains("国办发明电〔2025〕7号"));

    let unknown = Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"))
        .args(["calendar", "is-workday", "2027-03-01"])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("2027 年的工作日历"));
    assert!(unknown.stdout.is_empty());

    // A bureau adds the next year in its data folder, without a rebuild.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("workday-calendar.toml"),
        "[years.2027]\nnotice = \"国务院办公厅关于2027年部分节假日安排的通知\"\npublished = 2026-11-01\ndays_off = [\"2027-01-01..2027-01-03\"]\nworking_days = []\n",
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    assert_eq!(
        run(&["calendar", "--data", d, "is-workday", "2027-01-01"]),
        "false"
    );
    assert_eq!(
        run(&["calendar", "--data", d, "workdays-after", "2026-12-31", "1"]),
        "2027-01-04"
    );
    // A broken table is refused with its file and reason, not half-read.
    std::fs::write(dir.path().join("workday-calendar.toml"), "[years.2027]\n").unwrap();
    let broken = Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"))
        .args(["calendar", "--data", d, "is-workday", "2026-01-05"])
        .output()
        .unwrap();
    assert!(!broken.status.success());
    assert!(String::from_utf8_lossy(&broken.stderr).contains("workday-calendar.toml"));
}

#[test]
fn a_bureau_with_a_broken_calendar_file_does_not_start_and_names_it() {
    let (_dir, data) = initialised();
    std::fs::write(
        data.join("workday-calendar.toml"),
        "[years.2027]\nnotice = 1\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"))
        .args(["district", "list", "--data", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("workday-calendar.toml"), "{err}");
    // Fixed, it starts again.
    std::fs::remove_file(data.join("workday-calendar.toml")).unwrap();
    bureau(&["district", "list", "--data", data.to_str().unwrap()]);
}

#[test]
fn templates_are_copied_into_the_data_folder_once_and_edits_are_kept() {
    let (_dir, data) = initialised();
    let d = data.to_str().unwrap();
    let first = bureau(&["templates", "--data", d]);
    assert!(first.contains("notice_5.typ"), "{first}");
    let edited = data.join("templates/notice_1.typ");
    std::fs::write(&edited, "// 本局修改\n").unwrap();
    let again = bureau(&["templates", "--data", d]);
    assert!(again.contains("未改动"), "{again}");
    assert_eq!(
        std::fs::read_to_string(&edited).unwrap(),
        "// 本局修改\n",
        "an edited template is never overwritten"
    );
}

// ---------------------------------------------------------------------------
// A city's bureau: two `serve` processes on one PostgreSQL and one bucket.

mod support;

use fieldlead_bureau::{Actor, Bureau, Config, StorageError};
use fieldlead_domain::{BlobStatus, EnrolmentRequest, EnrolmentResponse, LeadState, SigningKey};
use support::backends::CityBackends;
use support::SealedLead;

/// One `fieldlead-bureau serve` process of the city's bureau.
struct Instance {
    child: std::process::Child,
    url: String,
}

impl Instance {
    fn start(data: &std::path::Path, city: &CityBackends) -> Instance {
        let (child, first) = serve(data, |c| {
            c.env("FIELDLEAD_DATABASE_URL", &city.database_url)
                .env("FIELDLEAD_BLOBS_URL", &city.blobs_url)
                .envs(city.s3_env.iter().map(|(k, v)| (k, v)))
                .env("FIELDLEAD_BUREAU_COOKIE_SECURE", "false")
        });
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_string();
        Instance { child, url }
    }

    /// `kill -9`: no shutdown, requests cut wherever they are.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

struct CityTablet {
    key: SigningKey,
    token: String,
    enrolment: EnrolmentResponse,
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn put_lead(url: &str, t: &CityTablet, lead: &SealedLead) -> u16 {
    http()
        .put(format!("{url}/api/v1/leads/{}", lead.id()))
        .bearer_auth(&t.token)
        .header("content-type", "application/json")
        .body(lead.body())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn blob_status(url: &str, t: &CityTablet, sha: &fieldlead_domain::Sha256) -> BlobStatus {
    http()
        .get(format!("{url}/api/v1/blobs/{sha}"))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Sends a blob from wherever the bureau says it stands; the status code.
async fn send_rest(url: &str, t: &CityTablet, sha: &fieldlead_domain::Sha256, bytes: &[u8]) -> u16 {
    let held = blob_status(url, t, sha).await.offset as usize;
    http()
        .put(format!("{url}/api/v1/blobs/{sha}"))
        .bearer_auth(&t.token)
        .header("upload-offset", held.to_string())
        .body(bytes[held..].to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The lead's status as `url` signs it, verified with the bureau's key.
async fn verified_status(
    url: &str,
    t: &CityTablet,
    lead: &SealedLead,
) -> fieldlead_domain::LeadStatus {
    let status: fieldlead_domain::SignedLeadStatus = http()
        .get(format!("{url}/api/v1/leads/{}", lead.id()))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    status.verify(&t.enrolment.bureau_key, lead.id()).unwrap()
}

/// A PNG of noise, larger than one of the object store's parts.
fn large_photo(seed: u8) -> Vec<u8> {
    let mut x = u64::from(seed) | 1;
    let img = image::RgbImage::from_fn(2200, 1900, |_, _| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_work_and_a_kill_mid_upload_loses_and_duplicates_nothing() {
    let city = CityBackends::start();
    let (_one_dir, one_data) = initialised();
    let (_two_dir, two_data) = initialised();
    let config = || {
        let mut c = Config {
            cookie_secure: false,
            ..Config::default()
        };
        city.apply(&mut c);
        c
    };
    // The second instance with a key of its own is refused: tablets trust one.
    let admin = Bureau::open_beside(&one_data, config()).unwrap();
    let e = Bureau::open_beside(&two_data, config()).unwrap_err();
    assert!(
        matches!(
            e,
            fieldlead_bureau::BureauError::Storage(StorageError::SigningKeyMismatch { .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("bureau.key"), "{e}");
    std::fs::copy(one_data.join("bureau.key"), two_data.join("bureau.key")).unwrap();
    admin
        .create_district("yuzhong", "渝中区市场监督管理局", &Actor::Cli)
        .unwrap();
    let district = admin.district("yuzhong").unwrap();

    let mut one = Instance::start(&one_data, &city);
    let two = Instance::start(&two_data, &city);

    // Four tablets, enrolled alternately on each instance with codes issued
    // beside them.
    let mut tablets = Vec::new();
    for i in 0..4u8 {
        let code = admin
            .issue_enrolment_code(&district, &Actor::Cli)
            .unwrap()
            .code;
        let key = SigningKey::from_seed(&[i + 1; 32]);
        let req = EnrolmentRequest::new(code, &format!("平板 {i}"), &key);
        let url = if i % 2 == 0 { &one.url } else { &two.url };
        let resp = http()
            .post(format!("{url}/api/v1/enrol"))
            .json(&req)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let enrolment: EnrolmentResponse = resp.json().await.unwrap();
        tablets.push(CityTablet {
            key,
            token: enrolment.token.clone(),
            enrolment,
        });
    }

    // Tablet 0's lead carries a photo larger than a part: its upload to the
    // first instance is cut by a kill after the first part is stored.
    let big = large_photo(7);
    let part = fieldlead_bureau::blobs::s3::PART_SIZE;
    assert!(big.len() > part + (2 << 20), "{}", big.len());
    let leads: Vec<SealedLead> = tablets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut photos = vec![support::photo(i as u8, 90)];
            if i == 0 {
                photos.push(big.clone());
            }
            support::seal(&t.key, &photos)
        })
        .collect();
    for (i, (t, lead)) in tablets.iter().zip(&leads).enumerate() {
        // Manifests alternately to both; the copy the other gets is the same lead.
        let (first, other) = if i % 2 == 0 {
            (&one.url, &two.url)
        } else {
            (&two.url, &one.url)
        };
        assert_eq!(put_lead(first, t, lead).await, 201);
        assert_eq!(put_lead(other, t, lead).await, 200);
    }
    let big_sha = fieldlead_domain::Sha256::digest(&big);
    // The first part and a little more arrive at once, then the tablet stalls
    // mid-request, and the instance is killed.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    tx.send(Ok(big[..part + (1 << 20)].to_vec())).await.unwrap();
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let request = http()
        .put(format!("{}/api/v1/blobs/{big_sha}", one.url))
        .bearer_auth(&tablets[0].token)
        .header("upload-offset", "0")
        .header("content-length", big.len().to_string())
        .body(body)
        .send();
    let request = tokio::spawn(request);
    // The other instance sees the stored part as soon as it is checkpointed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while blob_status(&two.url, &tablets[0], &big_sha).await.offset < part as u64 {
        assert!(std::time::Instant::now() < deadline, "no part stored");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    one.kill();
    assert!(
        request.await.unwrap().is_err(),
        "the killed instance answered"
    );
    drop(tx);
    let held = blob_status(&two.url, &tablets[0], &big_sha).await;
    assert_eq!(
        held.offset, part as u64,
        "the stored part survives the kill"
    );
    assert!(!held.complete);

    // The tablet resumes on the instance still up; the first comes back and
    // takes its share of the rest.
    assert_eq!(send_rest(&two.url, &tablets[0], &big_sha, &big).await, 201);
    let one = Instance::start(&one_data, &city);
    for (i, (t, lead)) in tablets.iter().zip(&leads).enumerate() {
        for (n, (sha, bytes)) in lead.blobs.iter().enumerate() {
            let url = if (i + n) % 2 == 0 { &one.url } else { &two.url };
            let status = send_rest(url, t, sha, bytes).await;
            assert!(
                status == 201 || status == 200,
                "blob {n} of lead {i}: {status}"
            );
        }
    }

    // Every lead received once, with the same verified receipt from either
    // instance; every blob whole.
    let held = admin
        .storage()
        .leads(
            fieldlead_bureau::storage::Scope::All,
            &fieldlead_bureau::storage::LeadFilter::default(),
        )
        .unwrap();
    assert_eq!(held.len(), leads.len(), "nothing lost or duplicated");
    for (i, (t, lead)) in tablets.iter().zip(&leads).enumerate() {
        let from_one = verified_status(&one.url, t, lead).await;
        let from_two = verified_status(&two.url, t, lead).await;
        assert_eq!(from_one.state, LeadState::Delivered, "lead {i}");
        let receipt = from_one.receipt.expect("receipt");
        receipt
            .verify_for(&t.enrolment.bureau_key, &lead.upload.manifest)
            .unwrap();
        assert_eq!(from_two.receipt, Some(receipt), "one receipt per lead");
        for (sha, _) in &lead.blobs {
            assert!(admin.blob_store().verify(sha).unwrap(), "blob of lead {i}");
        }
    }

    // A console user's session holds whichever instance answers: the login page
    // from one, the login to the other, the pages from both.
    admin
        .add_user(
            "officer",
            "officer",
            fieldlead_bureau::Role::Officer,
            Some("yuzhong"),
            support::PASSWORD,
            &Actor::Cli,
        )
        .unwrap();
    let console = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = console
        .get(format!("{}/login", one.url))
        .send()
        .await
        .unwrap();
    let login_cookie = support::cookie_of(&page, "fl_login_csrf").unwrap();
    let csrf = support::hidden(&page.text().await.unwrap(), "csrf");
    let login = console
        .post(format!("{}/login", two.url))
        .header("cookie", format!("fl_login_csrf={login_cookie}"))
        .form(&[
            ("username", "officer"),
            ("password", support::PASSWORD),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303, "{}", login.text().await.unwrap());
    let session = support::cookie_of(&login, "fl_session").unwrap();
    for url in [&one.url, &two.url] {
        let inbox = console
            .get(format!("{url}/"))
            .header("cookie", format!("fl_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(inbox.status(), 200, "{url}");
        let html = inbox.text().await.unwrap();
        for lead in &leads {
            assert!(
                html.contains(&format!("/leads/{}", lead.id())),
                "{url}: {html}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Backup, restore and migration.

/// What a bureau holds, to compare two copies: its leads with their blobs'
/// presence and its audit log.
fn holdings(b: &Bureau) -> (Vec<String>, usize) {
    use fieldlead_bureau::storage::{LeadFilter, Scope};
    let s = b.storage();
    let mut leads: Vec<String> = s
        .leads(Scope::All, &LeadFilter::default())
        .unwrap()
        .into_iter()
        .map(|l| {
            let blobs = s.lead_blobs(l.id).unwrap();
            for blob in &blobs {
                assert!(
                    b.blob_store().verify(&blob.sha256).unwrap(),
                    "{}",
                    blob.sha256
                );
            }
            format!("{} {:?} {}", l.id, l.state, blobs.len())
        })
        .collect();
    leads.sort();
    let audit = s.audit_events(Scope::All, None, 10_000).unwrap().len();
    (leads, audit)
}

fn bureau_fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"))
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_beside_a_live_server_restores_whole_and_a_damaged_one_restores_nothing() {
    let w = support::world(support::test_config()).await;
    let data = w.tb.dir.path().to_str().unwrap().to_string();
    let before = holdings(&w.tb.bureau);
    let out = tempfile::tempdir().unwrap();
    let backup = out.path().join("backup");
    let b = backup.to_str().unwrap();
    let said = bureau(&["backup", "--data", &data, "--to", b]);
    assert!(said.contains("均已读回核对"), "{said}");
    assert!(!out.path().join("backup.incomplete").exists());
    // Never over an earlier backup.
    let e = bureau_fails(&["backup", "--data", &data, "--to", b]);
    assert!(e.contains("不会覆盖"), "{e}");

    let restored = out.path().join("restored");
    bureau(&["restore", "--from", b, "--data", restored.to_str().unwrap()]);
    let again = Bureau::open_beside(&restored, support::test_config()).unwrap();
    assert_eq!(holdings(&again), before);
    assert_eq!(again.public_key(), w.tb.bureau.public_key(), "the same key");

    // One photo's bytes changed in the backup: the restore refuses and leaves
    // no folder behind.
    let photo = &w.lead_a.blobs[0].0.to_hex();
    let damaged = backup
        .join("blobs/objects")
        .join(&photo[..2])
        .join(&photo[2..]);
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&damaged, bytes).unwrap();
    let target = out.path().join("from-damaged");
    let e = bureau_fails(&["restore", "--from", b, "--data", target.to_str().unwrap()]);
    assert!(e.contains("备份已损坏"), "{e}");
    assert!(!target.exists() && !out.path().join("from-damaged.incomplete").exists());
    // Not a backup at all.
    let e = bureau_fails(&[
        "restore",
        "--from",
        &data,
        "--data",
        target.to_str().unwrap(),
    ]);
    assert!(e.contains("不是完整的备份"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_bureau_moves_into_postgres_and_s3_with_every_row_and_hash_checked() {
    let w = support::world(support::test_config()).await;
    let before = holdings(&w.tb.bureau);
    let key = w.tb.bureau.public_key();
    let dir = w.tb.stop().await;
    let data = dir.path().to_str().unwrap().to_string();
    let city = CityBackends::start();
    let migrate = |db: &str| {
        Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"))
            .args(["migrate", "--data", &data, "--to-database", db])
            .args(["--to-blobs", &city.blobs_url])
            .envs(city.s3_env.iter().map(|(k, v)| (k, v)))
            // As set in a shell already prepared for the city's instances.
            .env("FIELDLEAD_DATABASE_URL", &city.database_url)
            .env("FIELDLEAD_BLOBS_URL", &city.blobs_url)
            .output()
            .unwrap()
    };
    let out = migrate(&city.database_url);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("逐行核对一致"), "{said}");
    assert!(said.contains("leads\t2 行"), "{said}");

    // The city's bureau on the moved data: the same leads, blobs and log,
    // signed with the same key.
    let mut config = support::test_config();
    city.apply(&mut config);
    let moved = Bureau::open_beside(dir.path(), config).unwrap();
    assert_eq!(holdings(&moved), before);
    assert_eq!(moved.public_key(), key);
    // New rows continue after the moved ones.
    moved
        .create_district("shapingba", "沙坪坝区市场监督管理局", &Actor::Cli)
        .unwrap();

    // A second run finds the target in use and changes nothing.
    let out = migrate(&city.database_url);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("迁移只写入空数据库"));
    assert_eq!(holdings(&moved).0, before.0);
    drop(moved);

    // The city's backup procedure (README): pg_dump of the database, restored
    // with pg_restore into an empty one; the bucket's blobs never change, so the
    // restored records find theirs.
    let dump = dir.path().join("city.dump");
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(city.pg.program(program))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        "pg_dump",
        &[
            "--format=custom",
            "--file",
            dump.to_str().unwrap(),
            &city.database_url,
        ],
    );
    let restored_url = city.pg.new_database();
    run(
        "pg_restore",
        &[
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            &restored_url,
            dump.to_str().unwrap(),
        ],
    );
    let mut config = support::test_config();
    city.apply(&mut config);
    config.database_url = Some(restored_url);
    let restored = Bureau::open_beside(dir.path(), config).unwrap();
    let (leads, audit) = holdings(&restored);
    assert_eq!(leads, before.0);
    assert!(
        audit > before.1,
        "the log, with the district added after the move"
    );
}
