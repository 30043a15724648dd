//! The sampler's settings on this tablet: who they are, whom they send leads to.

use chrono::Datelike;
use fieldlead_domain::RecordDraft;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::bureau_url::BureauUrl;
use crate::error::DeviceError;
use crate::records::RecordView;
use crate::Device;

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The district bureau's server, e.g. `https://lead.yuzhong.example.gov.cn`.
    pub bureau_url: String,
    /// 移交单位: the sampling agency this tablet belongs to.
    pub sending_unit: String,
    pub sampler_name: String,
    pub sampler_credential: String,
    /// The usual second sampler; editable on each visit.
    pub partner_name: String,
    pub partner_credential: String,
    /// `zh-CN` (default) or `en`.
    pub locale: String,
}

impl Settings {
    fn check(&self, allow_insecure_http: bool) -> Result<(), DeviceError> {
        // An address the sync client would refuse is refused here already.
        if !self.bureau_url.trim().is_empty() {
            BureauUrl::parse(&self.bureau_url, allow_insecure_http)?;
        }
        if !matches!(self.locale.as_str(), "" | "zh-CN" | "en") {
            return Err(DeviceError::Settings("界面语言只能是 zh-CN 或 en".into()));
        }
        let long = [
            &self.sending_unit,
            &self.sampler_name,
            &self.sampler_credential,
            &self.partner_name,
            &self.partner_credential,
        ]
        .iter()
        .any(|s| s.chars().count() > fieldlead_domain::record::MAX_LINE_CHARS);
        if long {
            return Err(DeviceError::Settings("设置项过长".into()));
        }
        Ok(())
    }
}

impl Device {
    pub fn settings(&self) -> Result<Settings, DeviceError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT settings_json FROM settings WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(match json {
            Some(j) => serde_json::from_str(&j)?,
            None => Settings {
                locale: "zh-CN".into(),
                ..Settings::default()
            },
        })
    }

    pub fn save_settings(&mut self, settings: &Settings) -> Result<Settings, DeviceError> {
        let mut s = settings.clone();
        s.bureau_url = s.bureau_url.trim().trim_end_matches('/').to_string();
        s.check(self.insecure_http)?;
        self.conn.execute(
            "INSERT INTO settings (id, settings_json) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET settings_json = excluded.settings_json",
            params![serde_json::to_string(&s)?],
        )?;
        Ok(s)
    }

    /// Starts a visit: a new record prefilled from the settings and the clock.
    pub fn new_visit(&mut self) -> Result<RecordView, DeviceError> {
        let s = self.settings()?;
        let now = (self.clock)();
        let draft = RecordDraft {
            sending_unit: s.sending_unit,
            task_year: u16::try_from(now.year()).ok(),
            sampler1_name: s.sampler_name,
            sampler1_credential: s.sampler_credential,
            sampler2_name: s.partner_name,
            sampler2_credential: s.partner_credential,
            started_at: Some(now),
            ..RecordDraft::default()
        };
        self.create_record(draft)
    }
}
