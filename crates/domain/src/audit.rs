//! The per-record audit log: an append-only hash chain of signed entries.
//!
//! entry_hash = SHA-256 of the RFC 8785 canonical JSON of the [`LogEntry`]; each
//! entry names the hash of the one before it, and the device key signs each
//! entry_hash. Changing, dropping or reordering any entry breaks the chain at a
//! place [`verify_chain`] names.

use crate::protocol::ErrorCode;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::canonical::{canonical_hash, canonical_json, CanonicalError};
use crate::crypto::{PublicKey, Signature, SigningKey};
use crate::ids::{LeadId, Sha256};

/// What happened to the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogEvent {
    Created,
    Edited,
    EvidenceAdded,
    EvidenceRemoved,
    CaptionChanged,
    Signed,
    SignoffCleared,
    Sealed,
}

impl LogEvent {
    /// The event as the console's log of a record shows it.
    pub fn label_zh(self) -> &'static str {
        match self {
            LogEvent::Created => "创建记录",
            LogEvent::Edited => "修改记录",
            LogEvent::EvidenceAdded => "添加证据",
            LogEvent::EvidenceRemoved => "删除证据",
            LogEvent::CaptionChanged => "修改照片说明",
            LogEvent::Signed => "签名",
            LogEvent::SignoffCleared => "清除签名",
            LogEvent::Sealed => "锁定记录",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    pub lead_id: LeadId,
    pub seq: u64,
    /// Hash of the previous entry; `None` only for the first entry (seq 0).
    pub prev_hash: Option<Sha256>,
    /// The tablet's clock, which may be wrong; the bureau's receipt gives server time.
    pub device_time: DateTime<FixedOffset>,
    pub event: LogEvent,
    pub payload: serde_json::Value,
}

impl LogEntry {
    pub fn hash(&self) -> Result<Sha256, CanonicalError> {
        canonical_hash(self)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedEntry {
    pub entry: LogEntry,
    pub entry_hash: Sha256,
    pub signature: Signature,
}

impl SignedEntry {
    /// Builds the next entry after `prev` (or the first one) and signs it.
    pub fn next(
        prev: Option<&SignedEntry>,
        lead_id: LeadId,
        device_time: DateTime<FixedOffset>,
        event: LogEvent,
        payload: serde_json::Value,
        key: &SigningKey,
    ) -> Result<SignedEntry, CanonicalError> {
        let entry = LogEntry {
            lead_id,
            seq: prev.map_or(0, |p| p.entry.seq + 1),
            prev_hash: prev.map(|p| p.entry_hash),
            device_time,
            event,
            payload,
        };
        let entry_hash = entry.hash()?;
        let signature = key.sign(entry_hash.as_bytes());
        Ok(SignedEntry {
            entry,
            entry_hash,
            signature,
        })
    }
}

/// What is wrong with one entry of a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainFault {
    #[error("日志为空")]
    Empty,
    #[error("无法解析：{0}")]
    Unparsable(String),
    #[error("不属于本记录")]
    WrongLead,
    #[error("序号应为 {expected}，实际为 {found}（条目缺失或顺序错乱）")]
    Sequence { expected: u64, found: u64 },
    #[error("前一条哈希不符（条目被删除、插入或重排）")]
    PrevHash,
    #[error("内容与其哈希不符（条目被修改）")]
    EntryHash,
    #[error("签名无效")]
    Signature,
}

impl ChainFault {
    /// The code the bureau answers with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ChainFault::Empty => ErrorCode::ChainEmpty,
            ChainFault::Unparsable(_) => ErrorCode::EntryUnparsable,
            ChainFault::WrongLead => ErrorCode::EntryWrongLead,
            ChainFault::Sequence { .. } => ErrorCode::EntrySequence,
            ChainFault::PrevHash => ErrorCode::EntryPrevHash,
            ChainFault::EntryHash => ErrorCode::EntryHash,
            ChainFault::Signature => ErrorCode::EntrySignature,
        }
    }

    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

/// A broken chain, and the index (0-based, in the order given) of the first bad entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("审计日志第 {} 条：{fault}", .index + 1)]
pub struct ChainError {
    pub index: usize,
    pub fault: ChainFault,
}

/// Parses a log as transported: one JSON document per entry.
pub fn parse_log<S: AsRef<str>>(docs: &[S]) -> Result<Vec<SignedEntry>, ChainError> {
    docs.iter()
        .enumerate()
        .map(|(index, d)| {
            serde_json::from_str(d.as_ref()).map_err(|e| ChainError {
                index,
                fault: ChainFault::Unparsable(e.to_string()),
            })
        })
        .collect()
}

/// Verifies a whole chain for `lead_id`, signed by `key`.
pub fn verify_chain(
    lead_id: LeadId,
    entries: &[SignedEntry],
    key: &PublicKey,
) -> Result<(), ChainError> {
    verify_chain_keeping(lead_id, entries, key, |_| {})
}

/// [`verify_chain`], handing `keep` each entry's canonical JSON, the bytes its
/// `entry_hash` was checked against, in log order.
pub(crate) fn verify_chain_keeping(
    lead_id: LeadId,
    entries: &[SignedEntry],
    key: &PublicKey,
    mut keep: impl FnMut(Vec<u8>),
) -> Result<(), ChainError> {
    if entries.is_empty() {
        return Err(ChainError {
            index: 0,
            fault: ChainFault::Empty,
        });
    }
    let mut prev: Option<&SignedEntry> = None;
    for (index, e) in entries.iter().enumerate() {
        let fail = |fault| Err(ChainError { index, fault });
        if e.entry.lead_id != lead_id {
            return fail(ChainFault::WrongLead);
        }
        if e.entry.seq != index as u64 {
            return fail(ChainFault::Sequence {
                expected: index as u64,
                found: e.entry.seq,
            });
        }
        if e.entry.prev_hash != prev.map(|p| p.entry_hash) {
            return fail(ChainFault::PrevHash);
        }
        let canonical = match canonical_json(&e.entry) {
            Ok(c) => c,
            Err(err) => return fail(ChainFault::Unparsable(err.to_string())),
        };
        if Sha256::digest(&canonical) != e.entry_hash {
            return fail(ChainFault::EntryHash);
        }
        if !key.verify(e.entry_hash.as_bytes(), &e.signature) {
            return fail(ChainFault::Signature);
        }
        keep(canonical);
        prev = Some(e);
    }
    Ok(())
}
