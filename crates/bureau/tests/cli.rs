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
    let mut server = Command::new(env!("CARGO_BIN_EXE_fieldlead-bureau"))
        .args(["serve", "--data", d, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
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
