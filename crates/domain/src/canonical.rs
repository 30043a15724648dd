//! RFC 8785 (JCS) canonical JSON and the hashes taken over it.

use serde::Serialize;

use crate::ids::Sha256;

#[derive(Debug, thiserror::Error)]
#[error("无法生成规范化 JSON：{0}")]
pub struct CanonicalError(String);

/// The RFC 8785 canonical form of `value`: sorted keys, no whitespace, ES6 numbers.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| CanonicalError(e.to_string()))
}

/// SHA-256 of the canonical JSON of `value`.
pub fn canonical_hash<T: Serialize>(value: &T) -> Result<Sha256, CanonicalError> {
    Ok(Sha256::digest(&canonical_json(value)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_by_utf16_and_no_whitespace() {
        // From RFC 8785 section 3.2.3: sorting by UTF-16 code units.
        let v = json!({"\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh", "1": "One", "\u{1f600}": "Emoji: Grinning Face", "\u{0080}": "Control", "\u{00f6}": "Latin Small Letter O With Diaeresis"});
        let out = String::from_utf8(canonical_json(&v).unwrap()).unwrap();
        let order: Vec<&str> = [
            "\\r",
            "1",
            "\u{0080}",
            "\u{00f6}",
            "\u{20ac}",
            "\u{1f600}",
            "\u{fb33}",
        ]
        .to_vec();
        let mut last = 0;
        for k in order {
            let pos = out.find(&format!("\"{k}\"")).unwrap();
            assert!(pos >= last, "{k} out of order in {out}");
            last = pos;
        }
        assert!(!out.contains("\": ") && !out.contains(", \""));
    }

    #[test]
    fn same_value_different_key_order_same_hash() {
        let a = json!({"b": 1, "a": [1, 2, {"y": "中", "x": null}]});
        let b: serde_json::Value =
            serde_json::from_str(r#"{ "a" : [1,2,{"x":null,"y":"中"}], "b":1 }"#).unwrap();
        assert_eq!(canonical_hash(&a).unwrap(), canonical_hash(&b).unwrap());
        assert_eq!(
            String::from_utf8(canonical_json(&a).unwrap()).unwrap(),
            r#"{"a":[1,2,{"x":null,"y":"中"}],"b":1}"#
        );
    }
}
