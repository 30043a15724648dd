//! The data folder and its configuration file, `bureau.toml`, with environment
//! overrides: every key `some_key` can be set as `FIELDLEAD_BUREAU_SOME_KEY`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use fieldlead_domain::postprocess::RectificationAnchor;
use serde::{Deserialize, Serialize};

/// Prefix of the environment variables that override `bureau.toml`.
pub const ENV_PREFIX: &str = "FIELDLEAD_BUREAU_";
/// The database every instance of a city's bureau shares (same as
/// `FIELDLEAD_BUREAU_DATABASE_URL`): `postgres://user:password@host:port/db`.
pub const DATABASE_URL_ENV: &str = "FIELDLEAD_DATABASE_URL";
/// The object store every instance shares for photos and documents (same as
/// `FIELDLEAD_BUREAU_BLOBS_URL`): `s3://bucket/prefix`.
pub const BLOBS_URL_ENV: &str = "FIELDLEAD_BLOBS_URL";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("无法读取配置文件 {path}：{source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("配置文件 {path} 有误：{message}")]
    Parse { path: PathBuf, message: String },
    #[error("环境变量 {name} 的值有误：{message}")]
    Env { name: String, message: String },
    #[error("配置项 {key} 的值有误：{message}")]
    Value { key: &'static str, message: String },
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Read { .. } => "config_read",
            ConfigError::Parse { .. } => "config_parse",
            ConfigError::Env { .. } => "config_env",
            ConfigError::Value { .. } => "config_value",
        }
    }
}

/// `AWS_*` variables for the object store's client: endpoint, region,
/// credentials. Debug shows their names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ObjectStoreEnv(pub Vec<(String, String)>);

impl std::fmt::Debug for ObjectStoreEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

/// Server settings. Every field has a default; `bureau.toml` need only name changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The address tablets use to reach this server (put in enrolment QR codes);
    /// defaults to `http://{listen}`.
    pub public_url: Option<String>,
    /// Where the records live: `sqlite:FILE` (relative to the data folder), or a
    /// city's PostgreSQL, `postgres://user:password@host:port/database` (also
    /// from `FIELDLEAD_DATABASE_URL`). Unset: `sqlite:bureau.sqlite3`.
    pub database_url: Option<String>,
    /// Where photos and documents live: a city's S3-compatible object store,
    /// `s3://bucket/prefix` (also from `FIELDLEAD_BLOBS_URL`; endpoint, region
    /// and credentials from the usual `AWS_*` variables). Unset: the data
    /// folder's `blobs/`.
    pub blobs_url: Option<String>,
    /// The `AWS_*` variables of the environment the configuration was loaded in,
    /// for the object store's client (never in `bureau.toml`).
    #[serde(skip)]
    pub object_store_env: ObjectStoreEnv,
    /// Mark session cookies `Secure`. Turn off only for plain-HTTP trials on one machine.
    pub cookie_secure: bool,
    pub session_hours: u32,
    /// A delivered lead not acknowledged after this many hours is overdue. The
    /// notice sets no such clock: this bureau's own.
    pub overdue_hours: u32,
    /// The notice has the sampler report a lead 立即 (at once); a lead whose signed
    /// receipt came more than this many hours after it was locked is flagged.
    pub report_limit_hours: u32,
    pub enrolment_code_hours: u32,
    /// Largest `PUT /api/v1/leads/{id}` body.
    pub max_manifest_bytes: u64,
    /// Largest single blob a manifest may declare.
    pub max_blob_bytes: u64,
    /// Whole-request timeout for everything except blob bodies.
    pub request_timeout_secs: u64,
    /// A connection must send its request headers within this time (slow-loris).
    pub header_read_timeout_secs: u64,
    /// A blob upload that sends nothing for this long is cut (what it sent is kept).
    pub upload_idle_timeout_secs: u64,
    /// Sustained requests per second allowed to one device, and its burst.
    pub device_rate_per_sec: f64,
    pub device_burst: u32,
    /// Leads one device may deliver in 24 hours.
    pub device_leads_per_day: u32,
    /// Bytes of unfinished uploads one device may hold at a time.
    pub device_partial_quota_bytes: u64,
    /// Unfinished uploads untouched for this long are deleted (the tablet starts over).
    pub partial_upload_max_age_hours: u32,
    /// Requests served at once; more get 503 with Retry-After at once.
    pub max_concurrent_requests: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed (the TLS proxy in front of
    /// this server). Without any, the connection's own address counts.
    pub trusted_proxies: Vec<IpAddr>,
    /// Failed logins an account is allowed in 15 minutes before each further attempt
    /// must wait (1 s, 2 s, 4 s, ... up to `login_max_delay_secs`). No hard lockout.
    pub login_failures_per_15min: u32,
    pub login_max_delay_secs: u64,
    /// Failed logins allowed from one client address per hour (any account names).
    pub login_failures_per_address_per_hour: u32,
    /// EXIF capture time further than this from the record's time is flagged.
    pub exif_skew_minutes: i64,
    /// Photo GPS further than this from the declared place is flagged.
    pub gps_distance_m: f64,
    /// Perceptual hashes this close (in bits) count as near duplicates.
    pub near_duplicate_bits: u32,
    /// What 附件5's 60 days to rectify and 75 days to re-check run from: `served`
    /// (the order's 送达, as 附件5 words it) or `ordered` (the order's date, as
    /// section 三.3 words it).
    pub rectification_anchor: fieldlead_domain::postprocess::RectificationAnchor,
    /// What the 后处理 documents (附件1 to 附件5) print about the bureau itself.
    pub documents: DocumentSettings,
}

/// The issuing bureau as its documents print it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerSettings {
    /// The full name that heads and signs a document, e.g. 重庆市渝中区市场监督管理局.
    pub issuer: Option<String>,
    /// What `{district}` stands for in its document numbers, e.g. 渝中.
    pub short: Option<String>,
    /// 异议受理联系电话, 异议材料寄送地址, 联系人.
    pub contact: fieldlead_forms::NoticeContact,
    /// Where its decisions are appealed (附件3, 附件5).
    pub appeal: fieldlead_forms::NoticeAppeal,
    /// 抄送 (附件1).
    pub cc: Option<String>,
}

/// `[documents]` in bureau.toml: numbering and the issuers' own details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentSettings {
    /// 编号 of an issued document: `{district}` (the issuer's short name),
    /// `{year}`, `{seq}` or `{seq:0N}`; one sequence per issuer and year.
    pub number_pattern: String,
    /// The testing institute the city commissions (附件2/3: 我局委托…（机构）).
    pub institute: Option<String>,
    /// The city bureau, which issues 附件2 to 附件4 and a producer's 附件1.
    pub city: IssuerSettings,
    /// Each district by its code (`[documents.districts.yuzhong]`); unset
    /// fields fall back to 重庆市{区县名}市场监督管理局 and the district's name.
    pub districts: std::collections::BTreeMap<String, IssuerSettings>,
}

/// The default pattern of 后处理 document numbers.
pub const DEFAULT_DOCUMENT_NUMBER_PATTERN: &str = "{district}市监〔{year}〕{seq}号";

impl Default for DocumentSettings {
    fn default() -> Self {
        DocumentSettings {
            number_pattern: DEFAULT_DOCUMENT_NUMBER_PATTERN.into(),
            institute: None,
            city: IssuerSettings {
                issuer: Some("重庆市市场监督管理局".into()),
                short: Some("渝".into()),
                ..IssuerSettings::default()
            },
            districts: Default::default(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8470)),
            public_url: None,
            database_url: None,
            blobs_url: None,
            object_store_env: ObjectStoreEnv::default(),
            cookie_secure: true,
            session_hours: 12,
            overdue_hours: 24,
            report_limit_hours: 24,
            enrolment_code_hours: 72,
            max_manifest_bytes: 4 * 1024 * 1024,
            max_blob_bytes: 200 * 1024 * 1024,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            upload_idle_timeout_secs: 60,
            device_rate_per_sec: 10.0,
            device_burst: 100,
            device_leads_per_day: 500,
            device_partial_quota_bytes: 1024 * 1024 * 1024,
            partial_upload_max_age_hours: 168,
            max_concurrent_requests: 256,
            trusted_proxies: Vec::new(),
            login_failures_per_15min: 5,
            login_max_delay_secs: 60,
            login_failures_per_address_per_hour: 30,
            exif_skew_minutes: 120,
            gps_distance_m: 1000.0,
            near_duplicate_bits: 10,
            rectification_anchor: Default::default(),
            documents: DocumentSettings::default(),
        }
    }
}

impl Config {
    /// Reads `bureau.toml` from the data folder (defaults if absent), then applies
    /// environment overrides from `env`.
    pub fn load(
        paths: &DataPaths,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let path = paths.config();
        let mut table: toml::Table = match std::fs::read_to_string(&path) {
            Ok(text) => text
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: path.clone(),
                    message: e.message().to_string(),
                })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let mut object_store_env = ObjectStoreEnv::default();
        for (name, value) in env {
            if name.starts_with("AWS_") {
                object_store_env.0.push((name, value));
                continue;
            }
            // The names a city's deployment sets for every process alike.
            let key = match name.as_str() {
                DATABASE_URL_ENV => "database_url".to_string(),
                BLOBS_URL_ENV => "blobs_url".to_string(),
                other => match other.strip_prefix(ENV_PREFIX) {
                    Some(key) => key.to_ascii_lowercase(),
                    None => continue,
                },
            };
            // A value that parses as TOML keeps its type (numbers, booleans);
            // anything else is a string.
            let parsed = format!("v = {value}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value));
            table.insert(key, parsed);
        }
        let mut config: Config =
            Config::deserialize(table).map_err(|e: toml::de::Error| ConfigError::Env {
                name: format!("{ENV_PREFIX}* / {}", path.display()),
                message: e.message().to_string(),
            })?;
        config.object_store_env = object_store_env;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let positive = |key, v: u64| {
            if v == 0 {
                Err(ConfigError::Value {
                    key,
                    message: "必须大于 0".into(),
                })
            } else {
                Ok(())
            }
        };
        positive("max_manifest_bytes", self.max_manifest_bytes)?;
        positive("max_blob_bytes", self.max_blob_bytes)?;
        positive("request_timeout_secs", self.request_timeout_secs)?;
        positive("header_read_timeout_secs", self.header_read_timeout_secs)?;
        positive("upload_idle_timeout_secs", self.upload_idle_timeout_secs)?;
        positive("session_hours", u64::from(self.session_hours))?;
        positive("report_limit_hours", u64::from(self.report_limit_hours))?;
        positive("device_burst", u64::from(self.device_burst))?;
        positive("device_leads_per_day", u64::from(self.device_leads_per_day))?;
        positive(
            "partial_upload_max_age_hours",
            u64::from(self.partial_upload_max_age_hours),
        )?;
        positive(
            "max_concurrent_requests",
            u64::from(self.max_concurrent_requests),
        )?;
        positive("login_max_delay_secs", self.login_max_delay_secs)?;
        positive(
            "login_failures_per_address_per_hour",
            u64::from(self.login_failures_per_address_per_hour),
        )?;
        if !(self.device_rate_per_sec.is_finite() && self.device_rate_per_sec > 0.0) {
            return Err(ConfigError::Value {
                key: "device_rate_per_sec",
                message: "必须为正数".into(),
            });
        }
        if let Err(e) = fieldlead_forms::FormNumberPattern::parse(&self.documents.number_pattern) {
            return Err(ConfigError::Value {
                key: "documents.number_pattern",
                message: e.to_string(),
            });
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Value {
                    key: "public_url",
                    message: "应以 http:// 或 https:// 开头".into(),
                });
            }
        }
        if let Some(url) = &self.blobs_url {
            crate::blobs::s3::S3Address::parse(url).map_err(|message| ConfigError::Value {
                key: "blobs_url",
                message,
            })?;
        }
        Ok(())
    }

    /// The URL tablets are told to use.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// The text of a `bureau.toml` with every default written out, for `init`.
    pub fn default_file_text() -> String {
        let body = toml::to_string_pretty(&Config::default()).expect("defaults serialise");
        format!(
            "# fieldlead-bureau settings. Each key can be overridden by the environment\n\
             # variable {ENV_PREFIX}KEY (upper case), e.g. {ENV_PREFIX}LISTEN=0.0.0.0:8470.\n\
             # public_url = \"https://fieldlead.example.gov.cn\"  # what enrolment QR codes point to\n\
             #\n\
             # rectification_anchor: what 附件5's 60 and 75 days run from.\n\
             #   \"served\"  — {served}\n\
             #   \"ordered\" — {ordered}\n\n{body}",
            served = RectificationAnchor::Served.wording(),
            ordered = RectificationAnchor::Ordered.wording(),
        )
    }
}

/// Where everything lives inside the data folder.
#[derive(Debug, Clone)]
pub struct DataPaths {
    root: PathBuf,
}

impl DataPaths {
    pub fn new(root: &Path) -> Self {
        DataPaths {
            root: root.to_path_buf(),
        }
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn config(&self) -> PathBuf {
        self.root.join("bureau.toml")
    }
    pub fn database(&self) -> PathBuf {
        self.root.join("bureau.sqlite3")
    }
    pub fn key(&self) -> PathBuf {
        self.root.join("bureau.key")
    }
    /// The bureau's own working-day table, read over the built-in one: years it
    /// holds are added or replace the built-in ones.
    pub fn calendar(&self) -> PathBuf {
        self.root.join(fieldlead_domain::calendar::OVERRIDE_FILE)
    }

    /// The working-day calendar: the built-in notices, with this folder's
    /// `workday-calendar.toml` read over them when there is one.
    pub fn load_calendar(&self) -> Result<fieldlead_domain::calendar::Calendar, String> {
        let path = self.calendar();
        let calendar = fieldlead_domain::calendar::Calendar::builtin();
        match std::fs::read_to_string(&path) {
            Ok(text) => calendar
                .with_overrides(&text)
                .map_err(|e| format!("{}：{e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(calendar),
            Err(e) => Err(format!("无法读取 {}：{e}", path.display())),
        }
    }
    /// The content-addressed store of received blobs.
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }
    /// Partial uploads, kept across restarts so uploads resume.
    pub fn uploads(&self) -> PathBuf {
        self.root.join("uploads")
    }
    /// Where `enrol` writes an enrolment QR code by default. Named after a hash of
    /// the code's stored hash, not the code, and removed once the code is used.
    pub fn enrolment_png(&self, code_hash: &str) -> PathBuf {
        let name = fieldlead_domain::Sha256::digest(code_hash.as_bytes()).to_hex();
        self.root
            .join("enrolment")
            .join(format!("{}.png", &name[..16]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn file_then_environment_override() {
        let dir = tempfile::tempdir().unwrap();
        let paths = DataPaths::new(dir.path());
        std::fs::write(
            paths.config(),
            "overdue_hours = 48\ncookie_secure = false\n",
        )
        .unwrap();
        let c = Config::load(
            &paths,
            env(&[
                ("FIELDLEAD_BUREAU_OVERDUE_HOURS", "6"),
                ("FIELDLEAD_BUREAU_LISTEN", "0.0.0.0:9000"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.overdue_hours, 6);
        assert!(!c.cookie_secure);
        assert_eq!(c.listen.port(), 9000);
    }

    #[test]
    fn unknown_key_and_bad_value_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let paths = DataPaths::new(dir.path());
        std::fs::write(paths.config(), "overdue_hourz = 1\n").unwrap();
        assert!(Config::load(&paths, env(&[])).is_err());
        std::fs::write(paths.config(), Config::default_file_text()).unwrap();
        assert_eq!(Config::load(&paths, env(&[])).unwrap(), Config::default());
        let e = Config::load(&paths, env(&[("FIELDLEAD_BUREAU_MAX_BLOB_BYTES", "0")])).unwrap_err();
        assert_eq!(e.code(), "config_value");
    }
}
