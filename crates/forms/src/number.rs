//! Form numbers (编号) from a per-district pattern such as
//! `{district}移〔{year}〕{seq:04}号`, which gives `渝中移〔2026〕0007号`.
//!
//! Placeholders: `{district}` (the district's short name), `{year}` (four digits),
//! `{seq}` or `{seq:0N}` (the running number within district and year, zero-padded
//! to N digits, N from 1 to 9). `{{` and `}}` are literal braces. A pattern must
//! hold `{year}` and `{seq}`: numbers restart every year, so without the year two
//! forms could share a number. Who hands out the sequence is the caller's business
//! (the tablet's store, or the bureau's).

use std::fmt;

use crate::error::FormError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    District,
    Year,
    Seq { width: usize },
}

/// A validated form-number pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormNumberPattern {
    source: String,
    pieces: Vec<Piece>,
}

/// The pattern most Chongqing district bureaus would use.
pub const DEFAULT_FORM_NUMBER_PATTERN: &str = "{district}移〔{year}〕{seq:04}号";

/// Longest pattern accepted; a form number has to fit on one line of the form.
const MAX_PATTERN_CHARS: usize = 60;

impl FormNumberPattern {
    pub fn parse(pattern: &str) -> Result<Self, FormError> {
        let bad = |reason: &str| FormError::FormNumberPattern {
            pattern: pattern.to_string(),
            reason: reason.to_string(),
        };
        if pattern.chars().count() > MAX_PATTERN_CHARS {
            return Err(bad(&format!("最多 {MAX_PATTERN_CHARS} 个字符")));
        }
        if pattern.chars().any(char::is_control) {
            return Err(bad("含有控制字符"));
        }
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(bad("多余的“}”，字面的花括号请写作“}}”")),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => return Err(bad("“{”没有对应的“}”")),
                            Some(ch) => name.push(ch),
                        }
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                    }
                    pieces.push(parse_placeholder(&name).map_err(|r| bad(&r))?);
                }
                _ => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        let count = |want: fn(&Piece) -> bool| pieces.iter().filter(|p| want(p)).count();
        if count(|p| matches!(p, Piece::Seq { .. })) != 1 {
            return Err(bad("须且只能含一个 {seq}（流水号）"));
        }
        if count(|p| matches!(p, Piece::Year)) == 0 {
            return Err(bad("须含 {year}（年度），否则不同年度的编号会重复"));
        }
        Ok(FormNumberPattern {
            source: pattern.to_string(),
            pieces,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The form number for the `seq`-th form (from 1) of `district` in `year`.
    pub fn format(&self, district: &str, year: u16, seq: u32) -> Result<String, FormError> {
        if seq == 0 {
            return Err(FormError::FormNumber("流水号从 1 开始".to_string()));
        }
        if !(1000..=9999).contains(&year) {
            return Err(FormError::FormNumber(format!("年度 {year} 不是四位数")));
        }
        let district = district.trim();
        let uses_district = self.pieces.contains(&Piece::District);
        if uses_district && district.is_empty() {
            return Err(FormError::FormNumber(
                "编号格式含 {district}，但未设置区县简称".to_string(),
            ));
        }
        if district
            .chars()
            .any(|c| c.is_control() || c == '{' || c == '}')
        {
            return Err(FormError::FormNumber(
                "区县简称含有不允许的字符".to_string(),
            ));
        }
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::District => out.push_str(district),
                Piece::Year => out.push_str(&year.to_string()),
                Piece::Seq { width } => {
                    let digits = seq.to_string();
                    if *width > 0 && digits.len() > *width {
                        // A wider number would break the fixed width a bureau files by.
                        return Err(FormError::FormNumber(format!(
                            "流水号 {seq} 超过编号格式规定的 {width} 位"
                        )));
                    }
                    out.push_str(&format!("{seq:0width$}", width = *width));
                }
            }
        }
        Ok(out)
    }
}

impl fmt::Display for FormNumberPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for FormNumberPattern {
    type Err = FormError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FormNumberPattern::parse(s)
    }
}

fn parse_placeholder(name: &str) -> Result<Piece, String> {
    match name {
        "district" => Ok(Piece::District),
        "year" => Ok(Piece::Year),
        "seq" => Ok(Piece::Seq { width: 0 }),
        _ => {
            if let Some(spec) = name.strip_prefix("seq:") {
                let width = spec
                    .strip_prefix('0')
                    .and_then(|w| w.parse::<usize>().ok())
                    .filter(|w| (1..=9).contains(w))
                    .ok_or_else(|| {
                        format!("“{{{name}}}”的位数应写作 0 加 1 至 9，如 {{seq:04}}")
                    })?;
                Ok(Piece::Seq { width })
            } else {
                Err(format!(
                    "未知的占位符“{{{name}}}”，可用 {{district}}、{{year}}、{{seq}}、{{seq:04}}"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chongqing_default_pattern() {
        let p = FormNumberPattern::parse(DEFAULT_FORM_NUMBER_PATTERN).unwrap();
        assert_eq!(p.format("渝中", 2026, 7).unwrap(), "渝中移〔2026〕0007号");
        assert_eq!(
            p.format("江北", 2027, 1234).unwrap(),
            "江北移〔2027〕1234号"
        );
    }

    #[test]
    fn unpadded_sequence_and_literal_braces() {
        let p = FormNumberPattern::parse("{{{district}}}-{year}-{seq}").unwrap();
        assert_eq!(p.format("沙坪坝", 2026, 42).unwrap(), "{沙坪坝}-2026-42");
    }

    #[test]
    fn district_may_be_written_into_the_pattern() {
        let p = FormNumberPattern::parse("渝北市监移〔{year}〕{seq:03}号").unwrap();
        assert_eq!(p.format("", 2026, 5).unwrap(), "渝北市监移〔2026〕005号");
    }

    #[test]
    fn sequence_wider_than_the_pattern_is_refused_not_truncated() {
        let p = FormNumberPattern::parse("{year}-{seq:02}").unwrap();
        assert_eq!(p.format("", 2026, 99).unwrap(), "2026-99");
        let e = p.format("", 2026, 100).unwrap_err();
        assert_eq!(e.code(), "form_number");
    }

    #[test]
    fn bad_values_are_refused() {
        let p = FormNumberPattern::parse(DEFAULT_FORM_NUMBER_PATTERN).unwrap();
        assert_eq!(p.format("渝中", 2026, 0).unwrap_err().code(), "form_number");
        assert_eq!(p.format("渝中", 26, 1).unwrap_err().code(), "form_number");
        assert_eq!(p.format("  ", 2026, 1).unwrap_err().code(), "form_number");
        assert_eq!(
            p.format("渝{中", 2026, 1).unwrap_err().code(),
            "form_number"
        );
    }

    #[test]
    fn malformed_patterns_are_refused_with_the_reason() {
        for (pattern, needle) in [
            ("{district}移〔{year}〕号", "{seq}"),
            ("{district}移{seq}号", "{year}"),
            ("{year}{seq}{seq}", "{seq}"),
            ("{year}-{seq", "没有对应"),
            ("{year}-seq}", "多余"),
            ("{year}-{seq:4}", "位数"),
            ("{year}-{seq:00}", "位数"),
            ("{year}-{seq:010}", "位数"),
            ("{yr}-{seq}", "未知的占位符"),
            ("{year}\n{seq}", "控制字符"),
        ] {
            let e = FormNumberPattern::parse(pattern).unwrap_err();
            assert_eq!(e.code(), "form_number_pattern", "{pattern}");
            assert!(e.to_string().contains(needle), "{pattern}: {e}");
        }
        let long = format!("{}{{year}}{{seq}}", "长".repeat(60));
        assert!(FormNumberPattern::parse(&long).is_err());
    }
}
