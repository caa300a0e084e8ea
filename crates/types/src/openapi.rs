//! OpenAPI schemas of the types the node API shows as strings or numbers (feature
//! `openapi`): hashes, keys and ids as hex, addresses as bech32, amounts as base units in a
//! decimal string, heights, epochs and rounds as integers.

use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};

fn string(description: &str, pattern: Option<&str>) -> RefOr<Schema> {
    let mut builder = ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .description(Some(description));
    if let Some(pattern) = pattern {
        builder = builder.pattern(Some(pattern));
    }
    builder.into()
}

fn integer(description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Integer))
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(0))
        .description(Some(description))
        .into()
}

macro_rules! schema {
    ($name:ty, $schema:expr) => {
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }
        impl utoipa::ToSchema for $name {}
    };
}

schema!(crate::Hash, string("SHA-256 hash, 64 hex digits", Some("^[0-9a-f]{64}$")));
schema!(crate::ChainContext, string("chain context (genesis hash), 64 hex digits", None));
schema!(crate::RuntimeId, string("runtime id, 64 hex digits", Some("^[0-9a-f]{64}$")));
schema!(crate::PublicKey, string("Ed25519 public key, 64 hex digits", Some("^[0-9a-f]{64}$")));
schema!(crate::Signature, string("Ed25519 signature, 128 hex digits", None));
schema!(crate::Address, string("account address, bech32 `atoll1…`", Some("^atoll1")));
schema!(crate::Amount, string("amount in base units, a decimal string", Some("^[0-9]+$")));
schema!(crate::Height, integer("block height"));
schema!(crate::Epoch, integer("epoch number"));
schema!(crate::Round, integer("round number"));
