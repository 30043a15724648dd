//! Identifier newtypes that can only hold valid values: parse, don't validate.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused. Each variant names the rule that failed so the
/// UI can say exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("统一社会信用代码应为18位（旧注册号为15位数字），实际为{0}位")]
    UsccLength(usize),
    #[error("统一社会信用代码第{position}位字符“{ch}”不允许（不使用 I、O、S、V、Z）")]
    UsccCharacter { position: usize, ch: char },
    #[error("统一社会信用代码校验位错误：应为“{expected}”，实际为“{found}”，请核对是否抄错")]
    UsccCheck { expected: char, found: char },
    #[error("旧版15位注册号只能由数字组成")]
    LegacyRegistrationDigits,
    #[error("生产许可证编号格式应为“(省简称)XK00-000-00000”，例如“(鄂)XK12-001-00018”")]
    LicenceFormat,
    #[error("生产许可证编号中的省份简称“{0}”不是有效的省级行政区简称")]
    LicenceProvince(String),
    #[error("CCC 证书编号应为16位数字（年份4位+认证机构2位+产品代码4位+序号6位）")]
    CccFormat,
    #[error("CCC 证书编号中的年份{0}不在有效范围（2001 年起）")]
    CccYear(u16),
    #[error("SHA-256 应为64位小写十六进制")]
    Sha256Format,
    #[error("编号应为 UUID 格式")]
    Uuid,
}

impl IdError {
    /// Stable machine-readable code, for the UI and the API.
    pub fn code(&self) -> &'static str {
        match self {
            IdError::UsccLength(_) => "uscc_length",
            IdError::UsccCharacter { .. } => "uscc_character",
            IdError::UsccCheck { .. } => "uscc_check",
            IdError::LegacyRegistrationDigits => "uscc_legacy_digits",
            IdError::LicenceFormat => "licence_format",
            IdError::LicenceProvince(_) => "licence_province",
            IdError::CccFormat => "ccc_format",
            IdError::CccYear(_) => "ccc_year",
            IdError::Sha256Format => "sha256_format",
            IdError::Uuid => "uuid_format",
        }
    }
}

macro_rules! string_newtype_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Unified social credit code (GB 32100-2015)

const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A unified social credit code (统一社会信用代码). Holds either a valid 18-character
/// code with a correct GB 32100 check character, or an old 15-digit registration
/// number, which is accepted but flagged by [`Uscc::warning`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uscc(String);

/// Characters in a unified social credit code (a legacy registration number has 15).
pub const USCC_CHARS: usize = 18;

impl Uscc {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        // Samplers copy codes from licences; tolerate case and surrounding spaces only.
        let s: String = input.trim().to_ascii_uppercase();
        let n = s.chars().count();
        if n == 15 {
            if !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(IdError::LegacyRegistrationDigits);
            }
            return Ok(Uscc(s));
        }
        if n != 18 {
            return Err(IdError::UsccLength(n));
        }
        let mut sum = 0u32;
        let mut values = [0u32; 18];
        for (i, ch) in s.chars().enumerate() {
            let v = USCC_ALPHABET.iter().position(|&a| a as char == ch).ok_or(
                IdError::UsccCharacter {
                    position: i + 1,
                    ch,
                },
            )?;
            values[i] = v as u32;
        }
        for i in 0..17 {
            sum += values[i] * USCC_WEIGHTS[i];
        }
        let check = (31 - sum % 31) % 31;
        let expected = USCC_ALPHABET[check as usize] as char;
        let found = s.as_bytes()[17] as char;
        if expected != found {
            return Err(IdError::UsccCheck { expected, found });
        }
        Ok(Uscc(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for an old 15-digit business registration number.
    pub fn is_legacy(&self) -> bool {
        self.0.len() == 15
    }

    /// A warning to show beside an accepted but outdated identifier.
    pub fn warning(&self) -> Option<&'static str> {
        self.is_legacy()
            .then_some("这是旧版15位工商注册号，无法校验，请向被抽样单位索取统一社会信用代码")
    }
}

impl FromStr for Uscc {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Uscc::parse(s)
    }
}
string_newtype_serde!(Uscc);

// ---------------------------------------------------------------------------
// Production licence (工业产品生产许可证 / 食品生产许可证)

/// Province-level abbreviations that may prefix a production licence number.
const PROVINCES: [&str; 31] = [
    "京", "津", "冀", "晋", "蒙", "辽", "吉", "黑", "沪", "苏", "浙", "皖", "闽", "赣", "鲁", "豫",
    "鄂", "湘", "粤", "桂", "琼", "渝", "川", "贵", "云", "藏", "陕", "甘", "青", "宁", "新",
];

/// Which licence regime a production licence number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceKind {
    /// 工业产品生产许可证: `(省)XK`+2+`-`+3+`-`+5.
    Industrial,
    /// 食品生产许可证: `SC`+14 digits; not an industrial product licence.
    Food,
}

/// A production licence number as printed on a product.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProductionLicence(String);

impl ProductionLicence {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s = input
            .trim()
            .replace(['（', '('], "(")
            .replace(['）', ')'], ")")
            .to_uppercase();
        if let Some(digits) = s.strip_prefix("SC") {
            if digits.len() == 14 && digits.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(ProductionLicence(s));
            }
            return Err(IdError::LicenceFormat);
        }
        let rest = if let Some(after) = s.strip_prefix('(') {
            let (prov, rest) = after.split_once(')').ok_or(IdError::LicenceFormat)?;
            if !PROVINCES.contains(&prov) {
                return Err(IdError::LicenceProvince(prov.to_string()));
            }
            rest
        } else {
            s.as_str()
        };
        let body = rest.strip_prefix("XK").ok_or(IdError::LicenceFormat)?;
        let parts: Vec<&str> = body.split('-').collect();
        let ok = parts.len() == 3
            && [2usize, 3, 5]
                .iter()
                .zip(&parts)
                .all(|(&len, p)| p.len() == len && p.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(IdError::LicenceFormat);
        }
        Ok(ProductionLicence(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> LicenceKind {
        if self.0.starts_with("SC") {
            LicenceKind::Food
        } else {
            LicenceKind::Industrial
        }
    }
}

impl FromStr for ProductionLicence {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        ProductionLicence::parse(s)
    }
}
string_newtype_serde!(ProductionLicence);

// ---------------------------------------------------------------------------
// CCC certificate number

/// A compulsory product certification (CCC) certificate number: 16 digits =
/// year (4) + certification body (2, `01` = CQC) + product code (4) + serial (6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CccCertificate(String);

impl CccCertificate {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let s = input.trim();
        if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdError::CccFormat);
        }
        let year: u16 = s[..4].parse().map_err(|_| IdError::CccFormat)?;
        // CCC certificates were first issued for the scheme that began in 2002;
        // the earliest numbers carry 2001.
        if !(2001..=2099).contains(&year) {
            return Err(IdError::CccYear(year));
        }
        Ok(CccCertificate(s.to_string()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn year(&self) -> u16 {
        self.0[..4].parse().expect("validated digits")
    }
    /// Two-digit certification body code; `01` is CQC.
    pub fn body(&self) -> &str {
        &self.0[4..6]
    }
    pub fn product_code(&self) -> &str {
        &self.0[6..10]
    }
}

impl FromStr for CccCertificate {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        CccCertificate::parse(s)
    }
}
string_newtype_serde!(CccCertificate);

// ---------------------------------------------------------------------------
// SHA-256 digest

/// A SHA-256 digest; displayed and serialised as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, type = "string"))]
pub struct Sha256([u8; 32]);

impl Sha256 {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Sha256(bytes)
    }
    pub fn digest(data: &[u8]) -> Self {
        use sha2::Digest;
        Sha256(sha2::Sha256::digest(data).into())
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
    pub fn to_hex(&self) -> String {
        let mut out = Vec::with_capacity(64);
        push_hex(&mut out, &self.0);
        String::from_utf8(out).expect("hex is ASCII")
    }
    /// The first 8 hex characters, for showing beside a thumbnail.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}
impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl FromStr for Sha256 {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(IdError::Sha256Format);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| IdError::Sha256Format)?;
        Ok(Sha256(out))
    }
}
impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut hex = [0u8; 64];
        s.serialize_str(hex_str(&self.0, &mut hex))
    }
}

/// Appends `bytes` as lowercase hex.
pub(crate) fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + bytes.len() * 2, 0);
    hex_str(bytes, &mut out[start..]);
}

/// `bytes` as lowercase hex in `buf` (twice as long), without allocating.
pub(crate) fn hex_str<'a>(bytes: &[u8], buf: &'a mut [u8]) -> &'a str {
    hex::encode_to_slice(bytes, buf).expect("the buffer holds two digits per byte");
    std::str::from_utf8(buf).expect("hex is ASCII")
}
impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------
// UUID-based identifiers

macro_rules! uuid_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export, type = "string"))]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A new time-ordered identifier (UUID v7), so ids sort by creation.
            pub fn new() -> Self {
                $name(uuid::Uuid::now_v7())
            }
            pub fn as_uuid(&self) -> &uuid::Uuid {
                &self.0
            }
        }
        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }
        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                // Only the canonical hyphenated lowercase form: ids travel in URLs
                // and file names, and one spelling per id keeps them comparable.
                let u = uuid::Uuid::parse_str(s).map_err(|_| IdError::Uuid)?;
                if u.hyphenated().to_string() != s {
                    return Err(IdError::Uuid);
                }
                Ok($name(u))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0.hyphenated())
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

uuid_id!(
    /// Identifies one sampling record and, once sealed, its lead.
    LeadId
);
uuid_id!(
    /// Identifies one enrolled tablet.
    DeviceId
);
uuid_id!(
    /// Identifies one 后处理 case: one inspection result and what follows it.
    CaseId
);
uuid_id!(
    /// Identifies one issued 后处理 document (附件1 to 附件5).
    DocumentId
);
uuid_id!(
    /// Identifies one 附件6 transfer of failed products' leads to enforcement.
    TransferId
);
