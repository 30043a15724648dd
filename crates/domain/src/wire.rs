//! Wire names: the one spelling of each closed set of values (lead states, blob
//! kinds, decisions, parties...) used by JSON, both databases' row codecs, the
//! console's forms and URLs. [`wire_names!`] gives an enum `ALL`, `as_str`,
//! `FromStr` and `Display` from one table, and a test in each module checks the
//! table against the enum's serde names, so the two can never drift apart.

use thiserror::Error;

/// A value that is not one of a closed set's wire names.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("「{value}」不是有效的{what}")]
pub struct UnknownName {
    /// What the set is, in Chinese, for the message ("线索状态").
    pub what: &'static str,
    pub value: String,
}

/// Implements `ALL`, `as_str`, `FromStr` and `Display` for a fieldless enum from
/// one table of `Variant => "wire_name"`.
#[macro_export]
macro_rules! wire_names {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: [$ty; [$(stringify!($variant)),+].len()] = [$($ty::$variant),+];

            /// The value's wire name, as JSON and the databases spell it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::wire::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err($crate::wire::UnknownName { what: $what, value: s.to_string() }),
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Asserts that every value's wire name is its serde name and parses back.
#[cfg(test)]
pub(crate) fn assert_names_match_serde<T>(all: &[T], as_str: impl Fn(&T) -> &'static str)
where
    T: serde::Serialize + std::str::FromStr + PartialEq + std::fmt::Debug,
    <T as std::str::FromStr>::Err: std::fmt::Debug,
{
    for v in all {
        let serde_name = serde_json::to_value(v).unwrap();
        assert_eq!(
            serde_name,
            serde_json::Value::String(as_str(v).to_string()),
            "{v:?}"
        );
        assert_eq!(&as_str(v).parse::<T>().unwrap(), v);
    }
}
