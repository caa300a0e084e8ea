//! Building, signing and sending consensus transactions: the nonce comes from the sender's
//! account, the gas from the node's estimate, the fee from a gas price.

use std::time::Duration;

use atoll_consensus::{Fee, SignedTransaction, Transaction};
use atoll_types::{Address, Amount, ChainContext, Signer};
use borsh::BorshSerialize;

use crate::model::{StateQuery, TransactionResponse};
use crate::{Client, ClientError};

/// Signs `tx` for `chain` and encodes it for submission.
pub fn sign(signer: &dyn Signer, chain: &ChainContext, tx: &Transaction) -> Vec<u8> {
    atoll_types::encode(&SignedTransaction::sign(signer, chain, tx))
}

/// How to send a transaction.
#[derive(Clone, Copy, Debug)]
pub struct SendOptions {
    /// Base units paid per unit of gas.
    pub gas_price: u128,
    /// Use this gas limit instead of the node's estimate.
    pub gas: Option<u64>,
    /// Use this nonce instead of the account's next one.
    pub nonce: Option<u64>,
    /// Wait this long for inclusion (`None`: return once admitted).
    pub wait: Option<Duration>,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self { gas_price: 0, gas: None, nonce: None, wait: Some(Duration::from_secs(30)) }
    }
}

/// A sent transaction.
#[derive(Clone, Debug)]
pub struct Sent {
    /// Its hash.
    pub hash: atoll_types::Hash,
    /// The fee paid.
    pub fee: Fee,
    /// The nonce used.
    pub nonce: u64,
    /// The committed transaction with its result and events, if waited for.
    pub included: Option<TransactionResponse>,
}

impl Client {
    /// Builds `method(body)` for `signer`, with its next nonce and the estimated gas, signs
    /// it, submits it, and (if asked) waits until a block includes it. A dry run that fails
    /// is reported before anything is sent.
    pub async fn send<B: BorshSerialize>(
        &self,
        signer: &dyn Signer,
        method: &str,
        body: &B,
        options: SendOptions,
    ) -> Result<Sent, ClientError> {
        // The chain context from the state (cheaper than the status, which asks the network).
        let chain = self.chain(StateQuery::default()).await?.value.chain_context;
        let sender = Address::from_public_key(&signer.public_key());
        let nonce = match options.nonce {
            Some(nonce) => nonce,
            None => self.account(&sender, StateQuery::default()).await?.value.general.nonce,
        };
        let encoded = atoll_types::encode(body);
        // The estimate also tells the chain's lowest gas price, which the fee always meets.
        let estimate = self.estimate_gas(&signer.public_key(), method, &encoded).await?;
        let gas = match options.gas {
            Some(gas) => gas,
            None => {
                if let Some(detail) = estimate.error {
                    return Err(ClientError::Api { status: 422, detail });
                }
                estimate.gas
            }
        };
        let price = options.gas_price.max(estimate.min_gas_price);
        let fee = Fee { amount: Amount::new(u128::from(gas).saturating_mul(price)), gas };
        let tx = Transaction { nonce, fee, method: method.to_owned(), body: encoded };
        let raw = sign(signer, &chain, &tx);
        let hash = self.submit(&raw).await?;
        let included = match options.wait {
            Some(timeout) => Some(self.wait_for_transaction(&hash, timeout).await?),
            None => None,
        };
        Ok(Sent { hash, fee, nonce, included })
    }
}
