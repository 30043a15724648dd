//! RFC 8785 (JCS) canonical JSON and the hashes taken over it.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::protocol::ErrorCode;
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

/// Why a JSON document was refused by [`parse_strict`].
#[derive(Debug, thiserror::Error)]
pub enum StrictJsonError {
    /// Not JSON at all, or cut short.
    #[error("不是有效的 JSON：{0}")]
    Syntax(String),
    /// An object names the same key twice: which of the two a reader takes differs
    /// between parsers, so a signed document could be read two ways.
    #[error("JSON 对象中键“{0}”出现了两次")]
    DuplicateKey(String),
    /// Valid JSON whose fields do not fit the expected type.
    #[error("字段无效：{0}")]
    Fields(String),
}

impl StrictJsonError {
    /// The code the bureau answers with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            StrictJsonError::Syntax(_) => ErrorCode::MalformedBody,
            StrictJsonError::DuplicateKey(_) => ErrorCode::DuplicateKey,
            StrictJsonError::Fields(_) => ErrorCode::InvalidFields,
        }
    }

    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

/// Walks a document and fails on the first object with a repeated key.
struct UniqueKeys;

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(UniqueKeys)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Keys are borrowed from the input where they can be (no escapes), and a
        // small object's are compared in a list; a large one's go in a set, so a
        // body with a million keys costs no more than linear time.
        let mut few: Vec<Cow<'de, str>> = Vec::new();
        let mut many: HashSet<Cow<'de, str>> = HashSet::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let repeated = if many.is_empty() && few.len() < LIST_KEYS {
                few.contains(&key)
            } else {
                many.extend(few.drain(..));
                many.contains(&key)
            };
            if repeated {
                return Err(serde::de::Error::custom(DuplicateMarker(key.into_owned())));
            }
            if many.is_empty() {
                few.push(key);
            } else {
                many.insert(key);
            }
            map.next_value_seed(UniqueKeys)?;
        }
        Ok(())
    }
}

/// Keys of one object compared in a list before they go in a set.
const LIST_KEYS: usize = 16;

/// An object key, borrowed from the input when it holds no escapes.
struct Key;

impl<'de> serde::de::DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Carries the repeated key out through serde_json's error text.
struct DuplicateMarker(String);

impl std::fmt::Display for DuplicateMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{DUPLICATE_PREFIX}{}", self.0)
    }
}

const DUPLICATE_PREFIX: &str = "duplicate key: ";

/// Parses JSON received from outside strictly: refuses repeated keys anywhere in
/// the document before the typed parse, which itself refuses unknown fields where
/// the type says so.
pub fn parse_strict<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StrictJsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    if let Err(e) =
        serde::de::DeserializeSeed::deserialize(UniqueKeys, &mut de).and_then(|()| de.end())
    {
        let text = e.to_string();
        return Err(match text.strip_prefix(DUPLICATE_PREFIX) {
            Some(rest) => {
                // serde_json appends " at line L column C".
                let key = rest.rsplit_once(" at line ").map_or(rest, |(k, _)| k);
                StrictJsonError::DuplicateKey(key.chars().take(80).collect())
            }
            None => StrictJsonError::Syntax(text),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => StrictJsonError::Fields(e.to_string()),
        _ => StrictJsonError::Syntax(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_repeated_key_anywhere_is_refused_before_the_typed_parse() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            a: u32,
            b: serde_json::Value,
        }
        assert!(parse_strict::<T>(br#"{"a": 1, "b": {"x": [1, {"y": 2}]}}"#).is_ok());
        for doc in [
            &br#"{"a": 1, "a": 2, "b": null}"#[..],
            br#"{"a": 1, "b": {"x": 1, "x": 2}}"#,
            br#"{"a": 1, "b": [{"y": 1, "z": 2, "y": 3}]}"#,
        ] {
            match parse_strict::<T>(doc) {
                Err(StrictJsonError::DuplicateKey(k)) => {
                    assert!(["a", "x", "y"].contains(&k.as_str()))
                }
                other => panic!("{other:?}"),
            }
        }
        // The same key spelled with an escape, and repeats in objects large
        // enough to be checked in a set: the first of the pair before the switch,
        // and both after it.
        let wide = |first: &str, last: &str| {
            let mut keys: Vec<String> = vec![format!("\"{first}\": 0")];
            keys.extend((0..40).map(|i| format!("\"k{i}\": {i}")));
            keys.push(format!("\"{last}\": 1"));
            format!("{{\"a\": 1, \"b\": {{{}}}}}", keys.join(", "))
        };
        for (doc, key) in [
            (r#"{"a": 1, "\u0061": 2, "b": null}"#.to_string(), "a"),
            (wide("x", "x"), "x"),
            (wide("z", "k3"), "k3"),
            (wide("x", "k39"), "k39"),
        ] {
            match parse_strict::<T>(doc.as_bytes()) {
                Err(StrictJsonError::DuplicateKey(k)) => assert_eq!(k, key, "{doc}"),
                other => panic!("{doc}: {other:?}"),
            }
        }
        assert!(parse_strict::<T>(wide("x", "y").as_bytes()).is_ok());
        assert!(matches!(
            parse_strict::<T>(b"{\"a\": 1"),
            Err(StrictJsonError::Syntax(_))
        ));
        assert!(matches!(
            parse_strict::<T>(br#"{"a": "x", "b": 1}"#),
            Err(StrictJsonError::Fields(_))
        ));
        assert!(matches!(
            parse_strict::<T>(br#"{"a": 1, "b": 1} x"#),
            Err(StrictJsonError::Syntax(_))
        ));
    }

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
