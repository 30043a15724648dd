//! A real bureau on 127.0.0.1:0 with its own temp data folder per test, two
//! districts, a user of each role, and helpers to enrol tablets and seal leads.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::DateTime;
use fieldlead_bureau::{Actor, Bureau, Config, Role};
use fieldlead_domain::{
    BusinessRole, EnrolmentRequest, EnrolmentResponse, EvidenceEntry, GeoPoint, Ground, LeadId,
    LeadUpload, LogEvent, LogHead, Manifest, OutcomeKind, Party, RecordDraft, Sha256, SignedEntry,
    SignedManifest, SigningKey, Signoff, SignoffKind, MANIFEST_FORMAT,
};
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::json;

pub const PASSWORD: &str = "correct horse battery 9";

pub struct TestBureau {
    pub addr: SocketAddr,
    pub url: String,
    pub bureau: Arc<Bureau>,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub struct Tablet {
    pub key: SigningKey,
    pub token: String,
    pub enrolment: EnrolmentResponse,
}

/// A sealed lead and the bytes of every blob it names.
#[derive(Clone)]
pub struct SealedLead {
    pub upload: LeadUpload,
    pub blobs: Vec<(Sha256, Vec<u8>)>,
}

impl SealedLead {
    pub fn id(&self) -> LeadId {
        self.upload.manifest.manifest.lead_id
    }
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&self.upload).unwrap()
    }
}

pub fn test_config() -> Config {
    Config {
        cookie_secure: false,
        ..Config::default()
    }
}

impl TestBureau {
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
        ] {
            b.add_user(user, user, role, district, PASSWORD, &Actor::Cli)
                .unwrap();
        }
        tb.url = format!("http://{}", tb.addr);
        tb
    }

    /// Serves an existing data folder (used to restart on the same data).
    pub async fn serve(dir: tempfile::TempDir, config: Config) -> TestBureau {
        let bureau = Arc::new(Bureau::open(dir.path(), config).unwrap());
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
            shutdown: Some(tx),
            task: Some(task),
        }
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
        let resp = self
            .client
            .post(format!("{}/api/v1/enrol", self.url))
            .json(&req)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
        let enrolment: EnrolmentResponse = resp.json().await.unwrap();
        Tablet {
            key,
            token: enrolment.token.clone(),
            enrolment,
        }
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
        self.client
            .put(format!("{}/api/v1/blobs/{sha}", self.url))
            .bearer_auth(&t.token)
            .header("upload-offset", offset.to_string())
            .body(bytes)
            .send()
            .await
            .unwrap()
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

    /// Logs in through the login page; returns the session cookie and CSRF token.
    pub async fn login(&self, username: &str) -> Console {
        self.try_login(username, PASSWORD).await.expect("login")
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Result<Console, u16> {
        let page = self.get("/login", None).await;
        let login_cookie = cookie_of(&page, "fl_login_csrf").unwrap();
        let html = page.text().await.unwrap();
        let csrf = hidden(&html, "csrf");
        let resp = self
            .post_form(
                "/login",
                Some(&format!("fl_login_csrf={login_cookie}")),
                &[
                    ("username", username),
                    ("password", password),
                    ("csrf", &csrf),
                ],
            )
            .await;
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

pub struct Console {
    pub cookie: String,
    pub csrf: String,
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

fn t(s: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

pub fn draft() -> RecordDraft {
    RecordDraft {
        sending_unit: "重庆市某某质量检验检测研究院".into(),
        task_year: Some(2026),
        task_name: "2026年重庆市电线电缆产品质量监督抽查".into(),
        task_number: "CQ-2026-017".into(),
        product_category: "电线电缆".into(),
        business_name: "重庆某某五金经营部".into(),
        business_uscc: "914403001922038216".into(),
        business_address: "重庆市渝中区解放碑民族路 88 号".into(),
        business_person: "张三".into(),
        business_phone: "023-6380 1234".into(),
        business_role: Some(BusinessRole::Seller),
        product_name: "聚氯乙烯绝缘电线".into(),
        product_spec_model: "BV 2.5mm²".into(),
        product_batch: "2026-09".into(),
        producer_none: true,
        sampler1_name: "李四".into(),
        sampler1_credential: "CQ50001234".into(),
        sampler2_name: "王五".into(),
        sampler2_credential: "CQ50005678".into(),
        place_address: "重庆市渝中区解放碑民族路 88 号门市".into(),
        place_gps: Some(GeoPoint::new(295_630_000, 1_065_510_000).unwrap()),
        started_at: Some(t("2026-11-20T10:15:00+08:00")),
        outcome: Some(OutcomeKind::Terminated),
        grounds: vec![Ground::NoFactoryAddress, Ground::NoFactoryName],
        situation: "货架上的电线无厂名厂址，经营者无法提供进货票据。".into(),
        ..RecordDraft::default()
    }
}

/// A JPEG of a simple scene; `seed` changes the picture, `quality` only the bytes.
pub fn photo(seed: u8, quality: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(160, 120, |x, y| {
        let (fx, fy) = (x as f64 / 160.0, y as f64 / 120.0);
        let cx = 0.2 + f64::from(seed % 7) * 0.1;
        let disc = (fx - cx).powi(2) + (fy - 0.5).powi(2) < 0.04;
        let v = if disc {
            230
        } else {
            (fx * 120.0 + fy * 60.0) as u8
        };
        image::Rgb([v, v.wrapping_add(seed.wrapping_mul(31)), 255 - v])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&img)
        .unwrap();
    out
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

fn signature_png(seed: u8) -> Vec<u8> {
    let img =
        image::GrayImage::from_fn(64, 24, |x, y| image::Luma([((x * 3 + y * 5) as u8) ^ seed]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
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
/// malicious tablet could send, correctly signed.
pub fn seal_edited(
    lead: LeadId,
    key: &SigningKey,
    photos: &[Vec<u8>],
    draft: RecordDraft,
    edit: impl FnOnce(&mut Manifest),
) -> SealedLead {
    let mut log: Vec<SignedEntry> = Vec::new();
    let mut push = |event, payload, time: &str| {
        let e = SignedEntry::next(log.last(), lead, t(time), event, payload, key).unwrap();
        log.push(e);
    };
    push(
        LogEvent::Created,
        json!({"task": "抽查"}),
        "2026-11-20T10:15:00+08:00",
    );
    let mut blobs = Vec::new();
    let mut evidence = Vec::new();
    for (i, p) in photos.iter().enumerate() {
        let sha = Sha256::digest(p);
        // What the tablet reads from the photo at capture.
        let exif = fieldlead_evidence::ExifSummary::read(p);
        push(
            LogEvent::EvidenceAdded,
            json!({"sha256": sha.to_hex()}),
            "2026-11-20T10:20:00+08:00",
        );
        evidence.push(EvidenceEntry {
            sha256: sha,
            bytes: p.len() as u64,
            format: "jpeg".into(),
            caption: format!("现场照片 {}", i + 1),
            width: Some(160),
            height: Some(120),
            exif_datetime: exif.datetime_original,
            exif_offset: exif.offset_time_original,
            exif_gps: exif.gps,
            make: exif.make,
            model: exif.model,
            phash: None,
            added_at: t("2026-11-20T10:20:00+08:00"),
        });
        blobs.push((sha, p.clone()));
    }
    evidence.sort_by_key(|e| e.sha256);
    evidence.dedup_by_key(|e| e.sha256);
    let mut signoffs = Vec::new();
    for (party, name, seed) in [(Party::Sampler1, "李四", 1u8), (Party::Sampler2, "王五", 2)] {
        let png = signature_png(seed);
        let sha = Sha256::digest(&png);
        signoffs.push(Signoff {
            party,
            name: name.into(),
            signoff: SignoffKind::Signed {
                image_sha256: sha,
                image_bytes: png.len() as u64,
            },
            at: t("2026-11-20T10:28:00+08:00"),
        });
        blobs.push((sha, png));
    }
    signoffs.push(Signoff {
        party: Party::Business,
        name: "张三".into(),
        signoff: SignoffKind::Refused {
            witness: "同市场经营户 刘七".into(),
        },
        at: t("2026-11-20T10:29:00+08:00"),
    });
    let head = log.last().unwrap();
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        lead_id: lead,
        device_key: key.public_key(),
        record: draft.validate(lead).unwrap(),
        evidence,
        signoffs,
        log_head: LogHead {
            seq: head.entry.seq,
            entry_hash: head.entry_hash,
        },
        sealed_at: t("2026-11-20T10:30:00+08:00"),
    };
    let mut manifest = manifest;
    edit(&mut manifest);
    let signed = SignedManifest::sign(manifest, key).unwrap();
    let seal = SignedEntry::next(
        log.last(),
        lead,
        t("2026-11-20T10:30:00+08:00"),
        LogEvent::Sealed,
        json!({"manifest_hash": signed.manifest_hash.to_hex()}),
        key,
    )
    .unwrap();
    log.push(seal);
    blobs.sort_by_key(|b| b.0);
    blobs.dedup_by_key(|b| b.0);
    SealedLead {
        upload: LeadUpload {
            manifest: signed,
            log,
        },
        blobs,
    }
}
