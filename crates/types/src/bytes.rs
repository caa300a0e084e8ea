//! Fixed-size byte newtypes shown as lowercase hex: display, parsing and serde.

use thiserror::Error;

/// Why a hex string did not parse into a fixed-size byte value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    /// The string is not valid hex (odd length or a non-hex character).
    #[error("invalid hex: {0}")]
    Invalid(String),
    /// The string decoded to the wrong number of bytes.
    #[error("expected {expected} bytes, got {got}")]
    Length {
        /// The size of the value.
        expected: usize,
        /// The number of bytes the string held.
        got: usize,
    },
}

/// Parses `s` (optionally `0x`-prefixed) into exactly `N` bytes.
pub(crate) fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.len() != 2 * N {
        return Err(if s.len().is_multiple_of(2) {
            HexError::Length { expected: N, got: s.len() / 2 }
        } else {
            HexError::Invalid("odd number of digits".into())
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|e| HexError::Invalid(e.to_string()))?;
    Ok(out)
}

/// Implements `Display`, `Debug`, `FromStr`, `AsRef<[u8]>`, `TryFrom<&[u8]>` and hex serde
/// for a tuple newtype over `[u8; N]`.
macro_rules! hex_bytes_newtype {
    ($name:ident, $len:expr) => {
        impl $name {
            /// Length of the value in bytes.
            pub const LEN: usize = $len;

            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Consumes the value, returning the raw bytes.
            pub const fn into_bytes(self) -> [u8; $len] {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&::hex::encode(self.0))
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::bytes::HexError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::bytes::parse_hex::<$len>(s).map(Self)
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl TryFrom<&[u8]> for $name {
            type Error = $crate::bytes::HexError;

            fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
                <[u8; $len]>::try_from(bytes).map(Self).map_err(|_| {
                    $crate::bytes::HexError::Length { expected: $len, got: bytes.len() }
                })
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use hex_bytes_newtype;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_hex_rejects_wrong_length_and_bad_digits() {
        assert_eq!(parse_hex::<2>("abcd"), Ok([0xab, 0xcd]));
        assert_eq!(parse_hex::<2>("0xabcd"), Ok([0xab, 0xcd]));
        assert_eq!(parse_hex::<2>("abcdef"), Err(HexError::Length { expected: 2, got: 3 }));
        assert!(matches!(parse_hex::<2>("abc"), Err(HexError::Invalid(_))));
        assert!(matches!(parse_hex::<2>("zzzz"), Err(HexError::Invalid(_))));
        assert!(matches!(parse_hex::<2>("ab\u{e9}"), Err(HexError::Invalid(_))));
    }
}
