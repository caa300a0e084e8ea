//! Atoll's precompiles, beside Ethereum's, at fixed addresses:
//!
//! - [`RANDOM_BYTES`] (`0x0100…0001`): `n` bytes (the first input word, at most 1,024) from
//!   a stream seeded by the block's randomness and the transaction, personalized by the rest
//!   of the input: the same on every compute node, different for every call.
//! - [`WITHDRAW`] (`0x0100…0002`): called with a value (a whole number of base units,
//!   i.e. of 10⁹ wei) and a 21-byte Atoll address, it takes the value and records the
//!   withdrawal as a log; the `evm` module turns each such log of a successful transaction
//!   into a consensus-layer transfer (a revert undoes the log with everything else).

use revm::context::Cfg;
use revm::context_interface::{ContextTr, JournalTr};
use revm::handler::{precompile_output_to_interpreter_result, EthPrecompiles, PrecompileProvider};
use revm::interpreter::{CallInputs, CallScheme, InterpreterResult};
use revm::precompile::{
    EthPrecompileOutput, EthPrecompileResult, PrecompileHalt, PrecompileOutput,
};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{address, keccak256, Address, AddressSet, Bytes, Log, B256, U256};

/// Random bytes.
pub const RANDOM_BYTES: Address = address!("0100000000000000000000000000000000000001");
/// Withdrawal to the consensus layer.
pub const WITHDRAW: Address = address!("0100000000000000000000000000000000000002");

/// Most random bytes per call.
pub const MAX_RANDOM_BYTES: usize = 1_024;
/// Gas of a withdrawal.
pub const WITHDRAW_GAS: u64 = 20_000;
const RANDOM_BASE_GAS: u64 = 1_000;
const RANDOM_WORD_GAS: u64 = 100;

/// The topic of a withdrawal log: `Withdraw(address,bytes21,uint256)` with the sender as
/// second topic; data = the 21-byte consensus address and the amount in wei (32 bytes).
pub fn withdraw_topic() -> B256 {
    keccak256(b"Withdraw(address,bytes21,uint256)")
}

/// A withdrawal read back from its log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    /// The Ethereum account the value came from.
    pub from: Address,
    /// The consensus-layer recipient.
    pub to: [u8; 21],
    /// The amount, in wei (a whole number of base units).
    pub wei: U256,
}

impl Withdrawal {
    /// The withdrawal `log` records, if it is one.
    pub fn from_log(log: &Log) -> Option<Self> {
        let topics = log.topics();
        if log.address != WITHDRAW || topics.len() != 2 || topics[0] != withdraw_topic() {
            return None;
        }
        let data = &log.data.data;
        if data.len() != 21 + 32 {
            return None;
        }
        let mut to = [0u8; 21];
        to.copy_from_slice(&data[..21]);
        Some(Self {
            from: Address::from_slice(&topics[1][12..]),
            to,
            wei: U256::from_be_slice(&data[21..]),
        })
    }
}

/// Ethereum's precompiles plus, when enabled, Atoll's.
#[derive(Debug, Clone)]
pub struct AtollPrecompiles {
    inner: EthPrecompiles,
    addresses: AddressSet,
    spec: SpecId,
    /// The randomness seed of the transaction; `None` leaves Atoll's precompiles out
    /// (Ethereum's own test fixtures).
    seed: Option<B256>,
    calls: u64,
}

impl AtollPrecompiles {
    /// The precompiles of `spec`, with Atoll's when `seed` is given.
    pub fn new(spec: SpecId, seed: Option<B256>) -> Self {
        let mut this = Self {
            inner: EthPrecompiles::new(spec),
            addresses: AddressSet::default(),
            spec,
            seed,
            calls: 0,
        };
        this.renew();
        this
    }

    fn renew(&mut self) {
        self.addresses.clone_from(self.inner.warm_addresses());
        if self.seed.is_some() {
            self.addresses.insert(RANDOM_BYTES);
            self.addresses.insert(WITHDRAW);
        }
    }

    fn random_bytes(&mut self, seed: B256, input: &[u8], gas_limit: u64) -> EthPrecompileResult {
        if input.len() < 32 {
            return Err(PrecompileHalt::Other(
                "random bytes: the input starts with a count".into(),
            ));
        }
        let count = U256::from_be_slice(&input[..32]);
        let count = usize::try_from(count)
            .ok()
            .filter(|n| *n <= MAX_RANDOM_BYTES)
            .ok_or_else(|| PrecompileHalt::Other("random bytes: at most 1,024".into()))?;
        let gas = RANDOM_BASE_GAS + RANDOM_WORD_GAS * count.div_ceil(32) as u64;
        if gas > gas_limit {
            return Err(PrecompileHalt::OutOfGas);
        }
        self.calls += 1;
        let personal = keccak256(&input[32..]);
        let mut out = Vec::with_capacity(count.div_ceil(32) * 32);
        for block in 0..count.div_ceil(32) as u64 {
            out.extend_from_slice(
                keccak256(
                    [
                        b"atoll/evm: random bytes".as_slice(),
                        seed.as_slice(),
                        &self.calls.to_be_bytes(),
                        personal.as_slice(),
                        &block.to_be_bytes(),
                    ]
                    .concat(),
                )
                .as_slice(),
            );
        }
        out.truncate(count);
        Ok(EthPrecompileOutput::new(gas, Bytes::from(out)))
    }
}

fn withdraw<CTX: ContextTr>(
    context: &mut CTX,
    inputs: &CallInputs,
    input: &[u8],
) -> EthPrecompileResult {
    if WITHDRAW_GAS > inputs.gas_limit {
        return Err(PrecompileHalt::OutOfGas);
    }
    if inputs.is_static || inputs.scheme != CallScheme::Call || inputs.target_address != WITHDRAW {
        return Err(PrecompileHalt::Other("withdraw: only a plain call moves value".into()));
    }
    if input.len() != 21 {
        return Err(PrecompileHalt::Other("withdraw: the input is a 21-byte Atoll address".into()));
    }
    let wei = inputs.call_value();
    if wei.is_zero() || wei % U256::from(crate::module::WEI_PER_BASE_UNIT) != U256::ZERO {
        return Err(PrecompileHalt::Other(
            "withdraw: the value must be a positive whole number of base units (10^9 wei)".into(),
        ));
    }
    let mut data = input.to_vec();
    data.extend_from_slice(&wei.to_be_bytes::<32>());
    let mut sender = [0u8; 32];
    sender[12..].copy_from_slice(inputs.caller.as_slice());
    context.journal_mut().log(Log::new_unchecked(
        WITHDRAW,
        vec![withdraw_topic(), B256::from(sender)],
        Bytes::from(data),
    ));
    Ok(EthPrecompileOutput::new(WITHDRAW_GAS, Bytes::new()))
}

impl<CTX> PrecompileProvider<CTX> for AtollPrecompiles
where
    CTX: ContextTr<Cfg: Cfg<Spec = SpecId>>,
{
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: <CTX::Cfg as Cfg>::Spec) -> bool {
        if spec == self.spec {
            return false;
        }
        self.spec = spec;
        self.inner = EthPrecompiles::new(spec);
        self.renew();
        true
    }

    fn run(
        &mut self,
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<Option<Self::Output>, String> {
        let Some(seed) = self.seed else { return self.inner.run(context, inputs) };
        let address = inputs.bytecode_address;
        if address != RANDOM_BYTES && address != WITHDRAW {
            return self.inner.run(context, inputs);
        }
        let input = inputs.input.bytes(context);
        let result = if address == RANDOM_BYTES {
            self.random_bytes(seed, &input, inputs.gas_limit)
        } else {
            withdraw(context, inputs, &input)
        };
        let output = PrecompileOutput::from_eth_result(result, inputs.reservoir);
        Ok(Some(precompile_output_to_interpreter_result(output, inputs.gas_limit)))
    }

    fn warm_addresses(&self) -> &AddressSet {
        &self.addresses
    }

    fn contains(&self, address: &Address) -> bool {
        self.addresses.contains(address)
    }
}
