//! The simulation PKI: a devnet's stand-in for Intel's. A root, a PCK CA that certifies
//! each simulated machine's PCK key, and a TCB signer that signs the TCB info and QE
//! identity — certificates, CRLs and signed JSON in exactly the formats Intel's PCS serves,
//! so the DCAP verifier checks them as it checks Intel's, and only the trusted root
//! differs. Everything is derived from a seed and a start time: the same seed rebuilds the
//! same PKI, byte for byte.

use p256::ecdsa::SigningKey;
use pem::{EncodeConfig, LineEnding, Pem};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension,
    DistinguishedName, DnType, IsCa, KeyIdMethod, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::der;
use super::keys::{derive, rcgen_key, sign_raw};
use super::machine::{SimulatedMachine, SimulatedTcb};
use crate::error::TeeError;
use crate::verifier::Collateral;

/// The organization every simulation certificate names, so nobody takes one for Intel's.
const ORGANIZATION: &str = "Atoll devnet - SIMULATED TEE, not Intel";
/// How long the simulation's certificates are valid.
const CERTIFICATE_YEARS: u64 = 30;
const YEAR: u64 = 365 * 86_400;

/// The platform family (FMSPC) of every simulated machine.
pub const SIMULATED_FMSPC: [u8; 6] = [0x00, 0xa7, 0x01, 0x1e, 0x00, 0x00];
/// The PCE id of simulated machines.
const PCE_ID: [u8; 2] = [0, 0];
/// The PCE security version of simulated machines.
pub(crate) const PCE_SVN: u16 = 13;
/// The simulated quoting enclave's product id and security version.
pub(crate) const QE_PRODUCT_ID: u16 = 1;
pub(crate) const QE_SVN: u16 = 8;
/// The advisory the simulation's out-of-date platforms are affected by.
pub const SIMULATED_ADVISORY: &str = "ATOLL-SIM-SA-00001";

/// The simulated quoting enclave's signer (MRSIGNER): a hash, since no key signs it.
pub(crate) fn qe_signer() -> [u8; 32] {
    Sha256::digest(b"atoll simulated quoting enclave signer").into()
}

/// One certifying key and its certificate.
struct Authority {
    key: SigningKey,
    signer: rcgen::KeyPair,
    certificate: rcgen::Certificate,
}

impl Authority {
    fn pem(&self) -> String {
        pem_of(self.certificate.der())
    }
}

/// The canonical PEM (LF line endings) of a DER certificate.
fn pem_of(der: &[u8]) -> String {
    pem::encode_config(
        &Pem::new("CERTIFICATE", der.to_vec()),
        EncodeConfig::new().set_line_ending(LineEnding::LF),
    )
}

fn date(unix_seconds: u64) -> Result<OffsetDateTime, TeeError> {
    i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| TeeError::Simulation(format!("time {unix_seconds} is out of range")))
}

/// RFC 3339 in UTC, seconds precision (how Intel dates its collateral).
fn rfc3339(unix_seconds: u64) -> Result<String, TeeError> {
    let t = date(unix_seconds)?;
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

fn simulation_error(e: rcgen::Error) -> TeeError {
    TeeError::Simulation(e.to_string())
}

fn params(
    name: &str,
    serial: &[u8],
    not_before: u64,
    ca: IsCa,
) -> Result<CertificateParams, TeeError> {
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, name);
    subject.push(DnType::OrganizationName, ORGANIZATION);
    params.distinguished_name = subject;
    params.serial_number = Some(SerialNumber::from_slice(serial));
    params.not_before = date(not_before)?;
    params.not_after = date(not_before + CERTIFICATE_YEARS * YEAR)?;
    params.key_usages = match ca {
        IsCa::Ca(_) => vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
        _ => vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment],
    };
    params.is_ca = ca;
    params.key_identifier_method = KeyIdMethod::Sha256;
    Ok(params)
}

/// What collateral states and for how long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollateralTerms {
    /// When it is issued (seconds since the Unix epoch).
    pub issued_at: u64,
    /// How long it is valid, in seconds (Intel's: about 30 days).
    pub valid_for: u64,
    /// Its TCB evaluation number (raised by a TCB recovery).
    pub tcb_evaluation: u32,
    /// The serial numbers of revoked PCK certificates (see
    /// [`SimulatedMachine::pck_serial`]).
    pub revoked: Vec<Vec<u8>>,
}

/// A devnet's simulation PKI (module docs).
pub struct SimulationPki {
    root: Authority,
    pck_ca: Authority,
    tcb_signer: Authority,
    not_before: u64,
}

impl SimulationPki {
    /// The PKI derived from `seed`, its certificates valid from `not_before` (seconds since
    /// the Unix epoch) for 30 years.
    pub fn from_seed(seed: &[u8; 32], not_before: u64) -> Result<Self, TeeError> {
        let authority =
            |label: &str, name: &str, serial: u8, ca: IsCa, issuer: Option<&Authority>| {
                let key = derive(seed, label);
                let signer = rcgen_key(&key)?;
                let params = params(name, &[serial], not_before, ca)?;
                let certificate = match issuer {
                    None => params.self_signed(&signer),
                    Some(issuer) => params.signed_by(&signer, &issuer.certificate, &issuer.signer),
                }
                .map_err(simulation_error)?;
                Ok::<_, TeeError>(Authority { key, signer, certificate })
            };
        let root = authority(
            "root",
            "Atoll Simulated SGX Root CA",
            1,
            IsCa::Ca(BasicConstraints::Unconstrained),
            None,
        )?;
        let pck_ca = authority(
            "pck ca",
            "Atoll Simulated SGX PCK Processor CA",
            2,
            IsCa::Ca(BasicConstraints::Constrained(0)),
            Some(&root),
        )?;
        let tcb_signer = authority(
            "tcb signer",
            "Atoll Simulated SGX TCB Signing",
            3,
            IsCa::ExplicitNoCa,
            Some(&root),
        )?;
        Ok(Self { root, pck_ca, tcb_signer, not_before })
    }

    /// The root certificate (DER): what a devnet genesis trusts, and nothing else does.
    pub fn root_der(&self) -> Vec<u8> {
        self.root.certificate.der().to_vec()
    }

    /// A simulated machine with its own keys (derived from `seed`), its PCK certificate
    /// issued by this PKI, at TCB level `tcb`.
    pub fn machine(
        &self,
        seed: &[u8; 32],
        tcb: SimulatedTcb,
    ) -> Result<SimulatedMachine, TeeError> {
        let ppid = SimulatedMachine::ppid_of(seed);
        let pck_key = derive(seed, "pck");
        let signer = rcgen_key(&pck_key)?;
        let mut params = params(
            "Atoll Simulated SGX PCK Certificate",
            &SimulatedMachine::serial_of(&ppid),
            self.not_before,
            IsCa::ExplicitNoCa,
        )?;
        params.custom_extensions.push(CustomExtension::from_oid_content(
            &[1, 2, 840, 113741, 1, 13, 1],
            sgx_extension(&ppid, tcb),
        ));
        let certificate = params
            .signed_by(&signer, &self.pck_ca.certificate, &self.pck_ca.signer)
            .map_err(simulation_error)?;
        let chain = [pem_of(certificate.der()), self.pck_ca.pem(), self.root.pem()].concat();
        Ok(SimulatedMachine::new(*seed, tcb, chain))
    }

    /// Collateral for simulated machines, as a PCCS would serve it: CRLs of the root and the
    /// PCK CA, the TCB info of the simulated platform family and the QE identity, signed by
    /// the TCB signer.
    pub fn collateral(&self, terms: &CollateralTerms) -> Result<Collateral, TeeError> {
        let (issued, next) = (terms.issued_at, terms.issued_at.saturating_add(terms.valid_for));
        let crl = |issuer: &Authority, revoked: &[Vec<u8>]| {
            CertificateRevocationListParams {
                this_update: date(issued)?,
                next_update: date(next)?,
                crl_number: SerialNumber::from(u64::from(terms.tcb_evaluation)),
                issuing_distribution_point: None,
                revoked_certs: revoked
                    .iter()
                    .map(|serial| {
                        Ok(RevokedCertParams {
                            serial_number: SerialNumber::from_slice(serial),
                            revocation_time: date(issued)?,
                            reason_code: Some(RevocationReason::KeyCompromise),
                            invalidity_date: None,
                        })
                    })
                    .collect::<Result<_, TeeError>>()?,
                key_identifier_method: KeyIdMethod::Sha256,
            }
            .signed_by(&issuer.certificate, &issuer.signer)
            .map(|crl| crl.der().to_vec())
            .map_err(simulation_error)
        };
        let tcb_info = self.tcb_info(terms)?;
        let qe_identity = self.qe_identity(terms)?;
        let signer_chain = [self.tcb_signer.pem(), self.root.pem()].concat();
        Ok(Collateral::Dcap(Box::new(dcap_qvl::QuoteCollateralV3 {
            pck_crl_issuer_chain: [self.pck_ca.pem(), self.root.pem()].concat(),
            root_ca_crl: crl(&self.root, &[])?,
            pck_crl: crl(&self.pck_ca, &terms.revoked)?,
            tcb_info_issuer_chain: signer_chain.clone(),
            tcb_info_signature: sign_raw(&self.tcb_signer.key, tcb_info.as_bytes()).to_vec(),
            tcb_info,
            qe_identity_issuer_chain: signer_chain,
            qe_identity_signature: sign_raw(&self.tcb_signer.key, qe_identity.as_bytes()).to_vec(),
            qe_identity,
            pck_certificate_chain: None,
        })))
    }

    /// The TCB info: which platform TCB levels are up to date, out of date or revoked.
    fn tcb_info(&self, terms: &CollateralTerms) -> Result<String, TeeError> {
        let issued = rfc3339(terms.issued_at)?;
        let level = |tcb: SimulatedTcb, status: &str, advisories: &[&str]| {
            let components: Vec<_> =
                tcb.cpu_svn().iter().map(|svn| json!({ "svn": svn })).collect();
            json!({
                "tcb": { "sgxtcbcomponents": components, "pcesvn": PCE_SVN },
                "tcbDate": issued,
                "tcbStatus": status,
                "advisoryIDs": advisories,
            })
        };
        Ok(json!({
            "id": "SGX",
            "version": 3,
            "issueDate": issued,
            "nextUpdate": rfc3339(terms.issued_at.saturating_add(terms.valid_for))?,
            "fmspc": hex::encode_upper(SIMULATED_FMSPC),
            "pceId": hex::encode_upper(PCE_ID),
            "tcbType": 0,
            "tcbEvaluationDataNumber": terms.tcb_evaluation,
            "tcbLevels": [
                level(SimulatedTcb::UpToDate, "UpToDate", &[]),
                level(SimulatedTcb::OutOfDate, "OutOfDate", &[SIMULATED_ADVISORY]),
                level(SimulatedTcb::Revoked, "Revoked", &[SIMULATED_ADVISORY]),
            ],
        })
        .to_string())
    }

    /// The QE identity: the simulated quoting enclave's signer, product and levels.
    fn qe_identity(&self, terms: &CollateralTerms) -> Result<String, TeeError> {
        let issued = rfc3339(terms.issued_at)?;
        Ok(json!({
            "id": "QE",
            "version": 2,
            "issueDate": issued,
            "nextUpdate": rfc3339(terms.issued_at.saturating_add(terms.valid_for))?,
            "tcbEvaluationDataNumber": terms.tcb_evaluation,
            "miscselect": "00000000",
            "miscselectMask": "FFFFFFFF",
            "attributes": "11000000000000000000000000000000",
            "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000",
            "mrsigner": hex::encode_upper(qe_signer()),
            "isvprodid": QE_PRODUCT_ID,
            "tcbLevels": [
                { "tcb": { "isvsvn": QE_SVN }, "tcbDate": issued, "tcbStatus": "UpToDate" },
            ],
        })
        .to_string())
    }
}

/// Intel's SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1): the platform's
/// PPID, its TCB (16 CPU SVN components, the PCE SVN, the CPU SVN), PCE id, FMSPC and SGX
/// type.
fn sgx_extension(ppid: &[u8; 16], tcb: SimulatedTcb) -> Vec<u8> {
    const SGX: [u64; 7] = [1, 2, 840, 113741, 1, 13, 1];
    let under = |path: &[u64]| der::oid(&[&SGX[..], path].concat());
    let cpu_svn = tcb.cpu_svn();
    let mut tcb_items: Vec<Vec<u8>> = (1..=16u64)
        .map(|i| der::sequence(&[under(&[2, i]), der::integer(u64::from(cpu_svn[i as usize - 1]))]))
        .collect();
    tcb_items.push(der::sequence(&[under(&[2, 17]), der::integer(u64::from(PCE_SVN))]));
    tcb_items.push(der::sequence(&[under(&[2, 18]), der::octets(&cpu_svn)]));
    der::sequence(&[
        der::sequence(&[under(&[1]), der::octets(ppid)]),
        der::sequence(&[under(&[2]), der::sequence(&tcb_items)]),
        der::sequence(&[under(&[3]), der::octets(&PCE_ID)]),
        der::sequence(&[under(&[4]), der::octets(&SIMULATED_FMSPC)]),
        der::sequence(&[under(&[5]), der::enumerated(0)]),
    ])
}
