//! Bounded encoding of tfhe objects: tfhe's own versioned "safe serialization" (a header naming
//! the type and its version, then the body) with a size limit on both sides, and — for
//! anything that arrives from outside — its parameter-set conformance check. A decoder never
//! panics on input: tfhe's checks run under `catch_unwind` as a last line of defence.

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::de::DeserializeOwned;
use serde::Serialize;
use tfhe::conformance::ParameterSetConformant;
use tfhe::named::Named;
use tfhe::safe_serialization::{safe_deserialize, safe_deserialize_conformant, safe_serialize};
use tfhe::{Unversionize, Versionize};

use crate::FheError;

/// Encodes `value`, refusing one over `limit` bytes.
pub(crate) fn encode<T: Serialize + Versionize + Named>(
    value: &T,
    limit: u64,
) -> Result<Vec<u8>, FheError> {
    let mut out = Vec::new();
    safe_serialize(value, &mut out, limit)
        .map_err(|e| FheError::Encoding { what: T::NAME, reason: e.to_string() })?;
    Ok(out)
}

/// Decodes a value this ParaTime wrote itself (its own state), at most `limit` bytes.
pub(crate) fn decode<T: DeserializeOwned + Unversionize + Named>(
    bytes: &[u8],
    limit: u64,
) -> Result<T, FheError> {
    check_len::<T>(bytes, limit)?;
    catch_unwind(AssertUnwindSafe(|| safe_deserialize::<T>(bytes, limit)))
        .map_err(|_| FheError::Malformed { what: T::NAME, reason: "rejected".into() })?
        .map_err(|reason| FheError::Malformed { what: T::NAME, reason })
}

/// Decodes a value from outside (a user, a peer, a file): at most `limit` bytes, and it must
/// conform to `parameters` (sizes, moduli, noise bounds of the ParaTime's parameter set).
pub(crate) fn decode_conformant<T>(
    bytes: &[u8],
    limit: u64,
    parameters: &T::ParameterSet,
) -> Result<T, FheError>
where
    T: DeserializeOwned + Unversionize + Named + ParameterSetConformant,
{
    check_len::<T>(bytes, limit)?;
    catch_unwind(AssertUnwindSafe(|| safe_deserialize_conformant::<T>(bytes, limit, parameters)))
        .map_err(|_| FheError::Malformed { what: T::NAME, reason: "rejected".into() })?
        .map_err(|reason| FheError::Malformed { what: T::NAME, reason })
}

fn check_len<T: Named>(bytes: &[u8], limit: u64) -> Result<(), FheError> {
    if bytes.len() as u64 > limit {
        return Err(FheError::TooLarge { what: T::NAME, size: bytes.len() as u64, limit });
    }
    Ok(())
}
