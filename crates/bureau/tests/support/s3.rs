//! A real, throwaway S3-compatible server for a test: moto in server mode (from
//! the venv scripts/test installs, or `FIELDLEAD_S3_SERVER`) on a free loopback
//! port, killed when dropped. Each bucket a test asks for is new and empty.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub struct S3Server {
    child: Child,
    pub port: u16,
}

/// moto's server program.
fn program() -> PathBuf {
    if let Some(p) = std::env::var_os("FIELDLEAD_S3_SERVER") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_default();
    PathBuf::from(format!("{home}/.cache/fieldlead/s3-server/bin/moto_server"))
}

impl S3Server {
    pub fn start() -> S3Server {
        let program = program();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} (moto, installed by scripts/test into a venv): {e}",
                    program.display()
                )
            });
        let server = S3Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `AWS_*` variables a bureau needs to reach this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "fieldlead-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "fieldlead-test-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// A new, empty bucket, as an `s3://bucket/prefix` URL.
    pub fn new_bucket(&self) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        let bucket = format!(
            "fieldlead-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let status = Command::new("curl")
            .args(["-sf", "-X", "PUT"])
            .arg(format!("{}/{bucket}", self.endpoint()))
            .stdout(Stdio::null())
            .status()
            .expect("curl");
        assert!(status.success(), "create bucket {bucket}");
        format!("s3://{bucket}/bureau")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
