//! Byte strings and fixed-size byte arrays as lowercase hex in JSON, for
//! `#[serde(with = "atoll_types::hex_serde::…")]` (keys, proofs, quotes, collateral and
//! measurements would otherwise be arrays of numbers; arrays above 32 bytes would not
//! serialize at all).

/// `Vec<u8>` as hex.
pub mod bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the value as hex.
    pub fn serialize<S: Serializer>(value: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(value))
    }

    /// Reads the value from hex (an optional `0x` prefix is accepted).
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex::decode(text.strip_prefix("0x").unwrap_or(&text)).map_err(serde::de::Error::custom)
    }
}

/// `[u8; N]` as hex.
pub mod array {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the value as hex.
    pub fn serialize<S: Serializer, const N: usize>(
        value: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(value))
    }

    /// Reads the value from hex (an optional `0x` prefix is accepted).
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(deserializer)?;
        let mut out = [0u8; N];
        hex::decode_to_slice(text.strip_prefix("0x").unwrap_or(&text), &mut out)
            .map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

/// `[[u8; 48]; 4]` (TDX runtime measurement registers) as four hex strings.
pub mod rtmrs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the value as hex.
    pub fn serialize<S: Serializer>(
        value: &[[u8; 48]; 4],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        value.iter().map(hex::encode).collect::<Vec<_>>().serialize(serializer)
    }

    /// Reads the value from hex (an optional `0x` prefix is accepted).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<[[u8; 48]; 4], D::Error> {
        let texts = Vec::<String>::deserialize(deserializer)?;
        let texts: [String; 4] =
            texts.try_into().map_err(|_| serde::de::Error::custom("expected four registers"))?;
        let mut out = [[0u8; 48]; 4];
        for (register, text) in out.iter_mut().zip(&texts) {
            hex::decode_to_slice(text.strip_prefix("0x").unwrap_or(text), register)
                .map_err(serde::de::Error::custom)?;
        }
        Ok(out)
    }
}

/// `Vec<Vec<u8>>` as a list of hex strings.
pub mod byte_list {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes the value as hex.
    pub fn serialize<S: Serializer>(value: &[Vec<u8>], serializer: S) -> Result<S::Ok, S::Error> {
        value.iter().map(hex::encode).collect::<Vec<_>>().serialize(serializer)
    }

    /// Reads the value from hex (an optional `0x` prefix is accepted).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|text| {
                hex::decode(text.strip_prefix("0x").unwrap_or(text))
                    .map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

/// `Option<Vec<u8>>` as hex or null.
pub mod optional_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the value as hex.
    pub fn serialize<S: Serializer>(
        value: &Option<Vec<u8>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => serializer.serialize_some(&hex::encode(bytes)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads the value from hex (an optional `0x` prefix is accepted).
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                hex::decode(text.strip_prefix("0x").unwrap_or(&text))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}
