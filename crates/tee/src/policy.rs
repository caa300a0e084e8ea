//! The quote policy: which verified evidence a runtime accepts.
//!
//! It lives on chain in a TEE runtime's descriptor (changeable by governance), so every node
//! applies the same rules; the verifier applies it after the evidence itself verified.

use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::TeeError;
use crate::verifier::Verified;

/// A platform's TCB status, as Intel's TCB info rates it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TcbStatus {
    /// Patched and configured as recommended.
    UpToDate,
    /// Up to date, but software hardening against a known attack is needed.
    #[serde(rename = "SWHardeningNeeded")]
    SwHardeningNeeded,
    /// Up to date, but the platform's configuration needs changing.
    ConfigurationNeeded,
    /// Both of the above.
    #[serde(rename = "ConfigurationAndSWHardeningNeeded")]
    ConfigurationAndSwHardeningNeeded,
    /// A newer TCB exists (microcode or firmware updates are missing).
    OutOfDate,
    /// Out of date, and the configuration needs changing.
    OutOfDateConfigurationNeeded,
    /// The platform's keys are revoked.
    Revoked,
}

impl TcbStatus {
    /// Every status with Intel's name for it.
    pub const ALL: [(&'static str, TcbStatus); 7] = [
        ("UpToDate", TcbStatus::UpToDate),
        ("SWHardeningNeeded", TcbStatus::SwHardeningNeeded),
        ("ConfigurationNeeded", TcbStatus::ConfigurationNeeded),
        ("ConfigurationAndSWHardeningNeeded", TcbStatus::ConfigurationAndSwHardeningNeeded),
        ("OutOfDate", TcbStatus::OutOfDate),
        ("OutOfDateConfigurationNeeded", TcbStatus::OutOfDateConfigurationNeeded),
        ("Revoked", TcbStatus::Revoked),
    ];
}

impl FromStr for TcbStatus {
    type Err = TeeError;

    fn from_str(name: &str) -> Result<Self, TeeError> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).ok_or_else(|| {
            TeeError::Malformed { what: "TCB status", reason: format!("unknown status {name:?}") }
        })
    }
}

/// What a runtime requires of its enclaves' evidence.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotePolicy {
    /// The TCB statuses accepted (`Revoked` never is, whatever this says).
    pub allowed_tcb: Vec<TcbStatus>,
    /// Security advisories (`INTEL-SA-…`) that make a platform unacceptable.
    pub denied_advisories: Vec<String>,
    /// The oldest TCB evaluation (Intel's `tcbEvaluationDataNumber`) whose collateral is
    /// accepted: raising it is how a TCB recovery is enforced.
    pub min_tcb_evaluation: u32,
    /// Platforms allowed to serve (by platform id); empty: any.
    #[serde(with = "atoll_types::hex_serde::byte_list")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub allowed_platforms: Vec<Vec<u8>>,
    /// Platforms never allowed.
    #[serde(with = "atoll_types::hex_serde::byte_list")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub denied_platforms: Vec<Vec<u8>>,
}

impl QuotePolicy {
    /// Only up-to-date platforms, no advisories denied, any platform, any evaluation.
    pub fn up_to_date() -> Self {
        Self {
            allowed_tcb: vec![TcbStatus::UpToDate],
            denied_advisories: Vec::new(),
            min_tcb_evaluation: 0,
            allowed_platforms: Vec::new(),
            denied_platforms: Vec::new(),
        }
    }

    /// Accepts `verified`, or says which rule it breaks. A debug enclave and a revoked
    /// platform are refused whatever the policy says.
    pub fn check(&self, verified: &Verified) -> Result<(), TeeError> {
        if verified.debug {
            return Err(TeeError::Debug);
        }
        if verified.tcb == TcbStatus::Revoked || !self.allowed_tcb.contains(&verified.tcb) {
            return Err(TeeError::TcbStatus(verified.tcb));
        }
        if let Some(advisory) =
            verified.advisories.iter().find(|a| self.denied_advisories.contains(a))
        {
            return Err(TeeError::Advisory(advisory.clone()));
        }
        if verified.tcb_evaluation < self.min_tcb_evaluation {
            return Err(TeeError::TcbEvaluation {
                got: verified.tcb_evaluation,
                minimum: self.min_tcb_evaluation,
            });
        }
        let platform = &verified.platform;
        if self.denied_platforms.contains(platform)
            || (!self.allowed_platforms.is_empty() && !self.allowed_platforms.contains(platform))
        {
            return Err(TeeError::Platform(hex::encode(platform)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::EnclaveIdentity;

    fn verified() -> Verified {
        Verified {
            identity: EnclaveIdentity::Sgx {
                mr_enclave: [1; 32],
                mr_signer: [2; 32],
                product_id: 0,
                svn: 1,
            },
            report_data: [0; 64],
            tcb: TcbStatus::SwHardeningNeeded,
            advisories: vec!["INTEL-SA-00615".into()],
            tcb_evaluation: 17,
            platform: vec![9; 16],
            debug: false,
        }
    }

    fn allowing(status: TcbStatus) -> QuotePolicy {
        QuotePolicy { allowed_tcb: vec![status], ..QuotePolicy::up_to_date() }
    }

    #[test]
    fn each_rule_refuses_what_it_names() {
        let ok = allowing(TcbStatus::SwHardeningNeeded);
        assert_eq!(ok.check(&verified()), Ok(()));
        assert_eq!(
            QuotePolicy::up_to_date().check(&verified()),
            Err(TeeError::TcbStatus(TcbStatus::SwHardeningNeeded))
        );
        let advisory =
            QuotePolicy { denied_advisories: vec!["INTEL-SA-00615".into()], ..ok.clone() };
        assert_eq!(advisory.check(&verified()), Err(TeeError::Advisory("INTEL-SA-00615".into())));
        let recovery = QuotePolicy { min_tcb_evaluation: 18, ..ok.clone() };
        assert_eq!(
            recovery.check(&verified()),
            Err(TeeError::TcbEvaluation { got: 17, minimum: 18 })
        );
        let denied = QuotePolicy { denied_platforms: vec![vec![9; 16]], ..ok.clone() };
        assert!(matches!(denied.check(&verified()), Err(TeeError::Platform(_))));
        let elsewhere = QuotePolicy { allowed_platforms: vec![vec![8; 16]], ..ok.clone() };
        assert!(matches!(elsewhere.check(&verified()), Err(TeeError::Platform(_))));
        let here = QuotePolicy { allowed_platforms: vec![vec![9; 16]], ..ok.clone() };
        assert_eq!(here.check(&verified()), Ok(()));
    }

    #[test]
    fn debug_enclaves_and_revoked_platforms_are_refused_whatever_the_policy() {
        let everything = QuotePolicy {
            allowed_tcb: TcbStatus::ALL.iter().map(|(_, s)| *s).collect(),
            ..QuotePolicy::up_to_date()
        };
        let debug = Verified { debug: true, ..verified() };
        assert_eq!(everything.check(&debug), Err(TeeError::Debug));
        let revoked = Verified { tcb: TcbStatus::Revoked, ..verified() };
        assert_eq!(everything.check(&revoked), Err(TeeError::TcbStatus(TcbStatus::Revoked)));
    }

    #[test]
    fn intel_status_names_parse_and_unknown_ones_are_refused() {
        for (name, status) in TcbStatus::ALL {
            assert_eq!(name.parse::<TcbStatus>(), Ok(status));
        }
        assert!("Fine".parse::<TcbStatus>().is_err());
    }
}
