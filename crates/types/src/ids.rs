//! Identifiers and counters of the protocol: runtime ids, epochs, heights, rounds.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::bytes::hex_bytes_newtype;

/// The 32-byte id of a ParaTime (runtime), fixed at registration.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct RuntimeId([u8; 32]);

hex_bytes_newtype!(RuntimeId, 32);

macro_rules! counter {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug,
            BorshSerialize, BorshDeserialize, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// The value as a plain integer.
            pub const fn get(self) -> u64 {
                self.0
            }

            /// The next value, or `None` at `u64::MAX`.
            pub const fn checked_next(self) -> Option<Self> {
                match self.0.checked_add(1) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }

            /// The previous value, or `None` at zero.
            pub const fn checked_prev(self) -> Option<Self> {
                match self.0.checked_sub(1) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<u64> for $name {
            fn from(v: u64) -> Self {
                Self(v)
            }
        }
    };
}

counter!(
    /// A consensus epoch: a fixed number of blocks, the unit of elections and debonding.
    Epoch
);
counter!(
    /// A consensus block height; the first block after genesis is height 1.
    Height
);
counter!(
    /// A ParaTime round: one runtime block, finalized or failed.
    Round
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_step_without_overflow() {
        assert_eq!(Height(1).checked_next(), Some(Height(2)));
        assert_eq!(Epoch(u64::MAX).checked_next(), None);
        assert_eq!(Round(0).checked_prev(), None);
        assert_eq!(serde_json::to_string(&Round(7)).expect("json"), "7");
    }
}
