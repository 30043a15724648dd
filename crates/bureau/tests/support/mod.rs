//! A real bureau on 127.0.0.1:0 with its own temp data folder per test, two
//! districts, a user of each role, and helpers to enrol tablets, seal leads, and
//! send the requests a tablet (bearer token) or a console user (session cookie and
//! CSRF token) sends, so that each test file states only what it checks.
#![allow(dead_code)]

pub mod backends;
pub mod browser;
pub mod postgres;
pub mod s3;

use backends::CityBackends;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fieldlead_bureau::{Actor, Bureau, Config, Role};
use fieldlead_domain::{
    BlobStatus, EnrolmentRequest, EnrolmentResponse, ErrorBody, LeadId, Manifest, RecordDraft,
    Sha256, SignedLeadStatus, SigningKey,
};
use reqwest::header::{COOKIE, SET_COOKIE};

pub const PASSWORD: &str = "correct horse battery 9";

pub struct TestBureau {
    pub addr: SocketAddr,
    pub url: String,
    pub bureau: Arc<Bureau>,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub config: Config,
    /// PostgreSQL and S3 when the suite runs on them (`FIELDLEAD_TEST_BACKENDS`).
    backends: Option<Arc<CityBackends>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub struct Tablet {
    pub key: SigningKey,
    pub token: String,
    pub enrolment: EnrolmentResponse,
}

pub fn test_config() -> Config {
    Config {
        cookie_secure: false,
        ..Config::default()
    }
}

impl TestBureau {
    /// A console user as the service sees them.
    pub fn user(&self, name: &str) -> fieldlead_bureau::model::User {
        self.bureau
            .storage()
            .user_credentials(name)
            .unwrap()
            .unwrap()
            .0
    }

    pub async fn start() -> TestBureau {
        Self::start_with(test_config()).await
    }

    pub async fn start_with(config: Config) -> TestBureau {
        let dir = tempfile::tempdir().unwrap();
        Bureau::init(dir.path()).unwrap();
        let mut tb = Self::serve(dir, config).await;
        let b = &tb.bureau;
        b.create_district("yuzhong", "渝中区市场监督管理局", &Actor::Cli)
            .unwrap();
        b.create_district("jiangbei", "江北区市场监督管理局", &Actor::Cli)
            .unwrap();
        for (user, role, district) in [
            ("officer_a", Role::Officer, Some("yuzhong")),
            ("reviewer_a", Role::Reviewer, Some("yuzhong")),
            ("officer_b", Role::Officer, Some("jiangbei")),
            ("reviewer_b", Role::Reviewer, Some("jiangbei")),
            ("city", Role::CityAdmin, None),
            ("enforcement_a", Role::Enforcement, Some("yuzhong")),
        ] {
            b.add_user(user, user, role, district, PASSWORD, &Actor::Cli)
                .unwrap();
        }
        tb.url = format!("http://{}", tb.addr);
        tb
    }

    /// Serves an existing data folder (used to restart on the same data), on
    /// the database and object store the suite runs on.
    pub async fn serve(dir: tempfile::TempDir, mut config: Config) -> TestBureau {
        let backends = CityBackends::for_data(dir.path());
        if let Some(b) = &backends {
            b.apply(&mut config);
        }
        let bureau = Arc::new(Bureau::open(dir.path(), config.clone()).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let b = Arc::clone(&bureau);
        let task = tokio::spawn(async move {
            fieldlead_bureau::server::serve(b, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestBureau {
            addr,
            url: format!("http://{addr}"),
            bureau,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            dir,
            config,
            backends,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server and serves the same data again (a restart), with the
    /// same configuration.
    pub async fn restart(mut self) -> TestBureau {
        let (config, backends) = (self.config.clone(), self.backends.take());
        let dir = self.stop().await;
        let tb = Self::serve(dir, config).await;
        drop(backends);
        tb
    }

    /// The bytes the bureau's blob store holds under this hash.
    pub fn stored(&self, sha: &Sha256) -> Vec<u8> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut self.bureau.blob_store().open(sha).unwrap(), &mut out)
            .unwrap();
        out
    }

    /// Stops the server and hands back its data folder.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
        let TestBureau { dir, .. } = self;
        dir
    }

    pub fn code(&self, district: &str) -> fieldlead_domain::EnrolmentCode {
        let d = self.bureau.district(district).unwrap();
        self.bureau
            .issue_enrolment_code(&d, &Actor::Cli)
            .unwrap()
            .code
    }

    pub async fn enrol(&self, district: &str, seed: u8) -> Tablet {
        let key = SigningKey::from_seed(&[seed; 32]);
        let req = EnrolmentRequest::new(self.code(district), &format!("平板 {seed}"), &key);
        let resp = self.enrol_request(&req).await;
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        let enrolment: EnrolmentResponse = resp.json().await.unwrap();
        Tablet {
            key,
            token: enrolment.token.clone(),
            enrolment,
        }
    }

    /// POST /api/v1/enrol with this request, as a tablet being set up sends it.
    pub async fn enrol_request(&self, req: &EnrolmentRequest) -> reqwest::Response {
        self.enrol_builder(req).send().await.unwrap()
    }

    /// The enrolment request not yet sent (to add headers a proxy would).
    pub fn enrol_builder(&self, req: &EnrolmentRequest) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}/api/v1/enrol", self.url))
            .json(req)
    }

    /// GET of an API path with a tablet's bearer token.
    pub async fn get_with_token(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// The lead's status as the bureau signed it for the tablet (not yet verified).
    pub async fn lead_status(&self, token: &str, lead: LeadId) -> SignedLeadStatus {
        self.get_with_token(token, &format!("/api/v1/leads/{lead}"))
            .await
            .json()
            .await
            .unwrap()
    }

    /// What the bureau holds of an upload, as the tablet asks before resuming.
    pub async fn blob_status(&self, t: &Tablet, sha: &Sha256) -> BlobStatus {
        self.get_with_token(&t.token, &format!("/api/v1/blobs/{sha}"))
            .await
            .json()
            .await
            .unwrap()
    }

    pub async fn put_lead(&self, t: &Tablet, lead: &SealedLead) -> reqwest::Response {
        self.put_lead_raw(&t.token, &lead.id().to_string(), lead.body())
            .await
    }

    pub async fn put_lead_raw(&self, token: &str, id: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .put(format!("{}/api/v1/leads/{id}", self.url))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_blob(
        &self,
        t: &Tablet,
        sha: &Sha256,
        offset: u64,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        self.put_blob_raw(&t.token, sha, &offset.to_string(), bytes)
            .await
    }

    /// A blob upload with the `Upload-Offset` header as given, well-formed or not.
    pub async fn put_blob_raw(
        &self,
        token: &str,
        sha: &Sha256,
        offset: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        self.client
            .put(format!("{}/api/v1/blobs/{sha}", self.url))
            .bearer_auth(token)
            .header("upload-offset", offset)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }

    /// Where the blob store keeps the bytes of this hash on the server's disk
    /// (the data folder's store: `None` when the suite runs on S3).
    pub fn object_path(&self, sha: &Sha256) -> Option<PathBuf> {
        if self.backends.is_some() {
            return None;
        }
        let hex = sha.to_hex();
        Some(
            self.dir
                .path()
                .join("blobs/objects")
                .join(&hex[..2])
                .join(&hex[2..]),
        )
    }

    /// Waits (up to 30 s) until the photo analysis has seen every blob; the page
    /// shows thumbnails and near duplicates only then.
    pub async fn wait_for_analysis(&self) {
        for _ in 0..300 {
            if self.bureau.storage().unanalysed_blobs().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Puts a lead of `t` with one large photo (`photo(1, 95)`), none of its blobs
    /// sent yet; hands back the lead and its largest blob (the photo), for the
    /// tests of uploads sent in parts, stalled or cut off.
    pub async fn put_lead_with_large_photo(&self, t: &Tablet) -> (SealedLead, Sha256, Vec<u8>) {
        let lead = seal(&t.key, &[photo(1, 95)]);
        self.put_lead(t, &lead).await;
        let (sha, bytes) = lead.blobs.iter().max_by_key(|b| b.1.len()).unwrap().clone();
        (lead, sha, bytes)
    }

    /// Pushes a lead and all its blobs.
    pub async fn deliver(&self, t: &Tablet, lead: &SealedLead) {
        let r = self.put_lead(t, lead).await;
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        for (sha, bytes) in &lead.blobs {
            let r = self.put_blob(t, sha, 0, bytes.clone()).await;
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(format!("{}{path}", self.url));
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    pub async fn post_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self.client.post(format!("{}{path}", self.url)).form(form);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    /// A console page's HTML as this user sees it.
    pub async fn page(&self, s: &Console, path: &str) -> String {
        self.get(path, Some(&s.cookie)).await.text().await.unwrap()
    }

    /// A console form sent by this user: the session cookie and the session's CSRF
    /// token go with the fields.
    pub async fn submit(
        &self,
        s: &Console,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = fields.to_vec();
        form.push(("csrf", &s.csrf));
        self.post_form(path, Some(&s.cookie), &form).await
    }

    /// Fetches the login page and sends its form with the page's own CSRF token and
    /// cookie (the double submit a browser makes).
    pub async fn post_login(&self, username: &str, password: &str) -> reqwest::Response {
        let page = self.get("/login", None).await;
        let login_cookie = cookie_of(&page, "fl_login_csrf").unwrap();
        let html = page.text().await.unwrap();
        let csrf = hidden(&html, "csrf");
        self.post_form(
            "/login",
            Some(&format!("fl_login_csrf={login_cookie}")),
            &[
                ("username", username),
                ("password", password),
                ("csrf", &csrf),
            ],
        )
        .await
    }

    /// Logs in through the login page; returns the session cookie and CSRF token.
    pub async fn login(&self, username: &str) -> Console {
        self.try_login(username, PASSWORD).await.expect("login")
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Result<Console, u16> {
        let resp = self.post_login(username, password).await;
        if resp.status() != 303 {
            return Err(resp.status().as_u16());
        }
        let session = cookie_of(&resp, "fl_session").unwrap();
        let cookie = format!("fl_session={session}");
        let home = self.get("/", Some(&cookie)).await.text().await.unwrap();
        Ok(Console {
            cookie,
            csrf: hidden(&home, "csrf"),
        })
    }
}

#[derive(Clone)]
pub struct Console {
    pub cookie: String,
    pub csrf: String,
}

/// The JSON error body every refused API request carries.
pub async fn error(resp: reqwest::Response) -> ErrorBody {
    resp.json().await.unwrap()
}

pub fn cookie_of(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

/// The value of the first hidden input with this name.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in page"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

// ---------------------------------------------------------------------------
// Leads

#[allow(unused_imports)]
pub use fieldlead_domain::sample::{photo, SealedLead};

/// The sample record every test starts from.
pub fn draft() -> RecordDraft {
    fieldlead_domain::sample::terminated_draft()
}

/// The photo with EXIF tags written by the real exiftool, as a camera would.
pub fn with_exif(jpeg: &[u8], tags: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.jpg");
    std::fs::write(&path, jpeg).unwrap();
    let out = std::process::Command::new("exiftool")
        .arg("-q")
        .arg("-overwrite_original")
        .args(tags)
        .arg(&path)
        .output()
        .expect("exiftool (Debian package libimage-exiftool-perl, installed by scripts/setup)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&path).unwrap()
}

/// Seals a lead with these photos, signed by `key`, as a tablet would.
pub fn seal(key: &SigningKey, photos: &[Vec<u8>]) -> SealedLead {
    seal_with(key, photos, draft())
}

pub fn seal_with(key: &SigningKey, photos: &[Vec<u8>], draft: RecordDraft) -> SealedLead {
    seal_as(LeadId::new(), key, photos, draft)
}

/// Seals under a given lead id (to make a second, different lead with the same id).
pub fn seal_as(
    lead: LeadId,
    key: &SigningKey,
    photos: &[Vec<u8>],
    draft: RecordDraft,
) -> SealedLead {
    seal_edited(lead, key, photos, draft, |_| {})
}

/// Seals a manifest changed by `edit` before signing: what a modified or
/// malicious tablet could send, correctly signed. Each photo's entry carries what
/// the tablet reads from it at capture (camera, time, GPS).
pub fn seal_edited(
    lead: LeadId,
    key: &SigningKey,
    photos: &[Vec<u8>],
    draft: RecordDraft,
    edit: impl FnOnce(&mut Manifest),
) -> SealedLead {
    fieldlead_domain::sample::sealed_lead_with(lead, key, photos, draft, |m| {
        for p in photos {
            let sha = Sha256::digest(p);
            let exif = fieldlead_evidence::ExifSummary::read(p);
            if let Some(e) = m.evidence.iter_mut().find(|e| e.sha256 == sha) {
                e.exif_datetime = exif.datetime_original;
                e.exif_offset = exif.offset_time_original;
                e.exif_gps = exif.gps;
                e.make = exif.make;
                e.model = exif.model;
            }
        }
        edit(m)
    })
}

// ---------------------------------------------------------------------------
// The console's world

/// A bureau with one delivered lead in each district: A's with two photos from
/// tablet A (yuzhong), B's with one from tablet B (jiangbei).
pub struct World {
    pub tb: TestBureau,
    pub lead_a: SealedLead,
    pub lead_b: SealedLead,
    pub device_a: String,
    pub device_b: String,
    pub tablet_a_token: String,
}

pub async fn world(config: Config) -> World {
    let tb = TestBureau::start_with(config).await;
    let a = tb.enrol("yuzhong", 1).await;
    let b = tb.enrol("jiangbei", 2).await;
    let lead_a = seal(&a.key, &[photo(1, 90), photo(2, 90)]);
    let lead_b = seal(&b.key, &[photo(3, 90)]);
    tb.deliver(&a, &lead_a).await;
    tb.deliver(&b, &lead_b).await;
    World {
        device_a: a.enrolment.device_id.to_string(),
        device_b: b.enrolment.device_id.to_string(),
        tablet_a_token: a.token,
        tb,
        lead_a,
        lead_b,
    }
}

/// A 后处理 document served by post, with its tracking number: how most reach a
/// business.
pub fn posted() -> Option<fieldlead_domain::postprocess::ServiceDetails> {
    use fieldlead_domain::postprocess::{ServiceDetails, ServiceMethod, ServiceProof};
    Some(
        ServiceDetails::new(
            ServiceMethod::Post,
            "李四",
            ServiceProof::Tracking {
                number: "SF1234567890".into(),
            },
        )
        .unwrap(),
    )
}

/// The ASCII words a page shows a reader, outside `<code>` (ids, hashes),
/// tags, attributes, scripts and styles: what a Chinese-only page must not
/// have beyond the few names every reader knows (`allowed`).
/// What the console may show in Latin letters: names every reader of its pages
/// knows, and the test users' login names. A test adds what its data typed in.
pub const CONSOLE_ASCII: &[&str] = &[
    "fieldlead",
    "GPS",
    "EXIF",
    "XMP",
    "SHA-256",
    "Ed25519",
    "PDF",
    "CSV",
    "Excel",
    "CCC",
    "JPEG",
    "PNG",
    "QR",
    "officer",
    "reviewer",
    "enforcement",
    "yuzhong",
];

pub fn english_words(html: &str, allowed: &[&str]) -> Vec<String> {
    // Drop whole elements whose content is not prose.
    let mut text = html.to_string();
    for (open, close) in [
        ("<script", "</script>"),
        ("<style", "</style>"),
        ("<code", "</code>"),
        ("<title", "</title>"),
    ] {
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(open) {
            out.push_str(&rest[..i]);
            rest = rest[i..]
                .find(close)
                .map_or("", |j| &rest[i + j + close.len()..]);
        }
        out.push_str(rest);
        text = out;
    }
    // Tags (with their attributes) out; entities are not words.
    let mut prose = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                prose.push(' ');
            }
            _ if !in_tag => prose.push(c),
            _ => {}
        }
    }
    let mut words: Vec<String> = prose
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '&' && c != '#')
        .filter(|w| !w.starts_with('&'))
        .filter(|w| w.chars().filter(char::is_ascii_alphabetic).count() >= 2)
        // Short ids and hashes (平板 0190b2a4) are codes, not words.
        .filter(|w| !(w.len() >= 8 && w.chars().all(|c| c.is_ascii_hexdigit() || c == '-')))
        .filter(|w| !allowed.contains(w))
        .map(str::to_string)
        .collect();
    words.sort();
    words.dedup();
    words
}
