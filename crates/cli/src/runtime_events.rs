//! Runtime events in words. A runtime event reaches the CLI as a module name, a code and
//! the borsh bytes of the event (hex); the events of the modules this binary carries
//! (`accounts`, `consensus_accounts`, `timestamp`, `evm`) are decoded here, as consensus
//! events are, so `atoll paratime tx` prints "transfer of 10 ATL from … to …" rather than
//! hex. An event this binary does not know (another ParaTime's) keeps its hex.

use atoll_client::model::RuntimeEventItem;
use atoll_runtime_sdk::modules::{accounts, consensus_accounts};
use borsh::BorshDeserialize;
use serde_json::{json, Value};

use crate::chain::tokens;

/// How amounts are written: the token's decimal exponent and symbol.
#[derive(Clone, Copy)]
pub(crate) struct Denomination<'a> {
    pub exponent: u8,
    pub symbol: &'a str,
}

/// The event as JSON fields (`kind` and the event's own), or `None` if this binary does not
/// know it or its bytes do not decode.
pub(crate) fn decode(event: &RuntimeEventItem) -> Option<Value> {
    let bytes = hex::decode(&event.data).ok()?;
    let bytes = bytes.as_slice();
    match (event.module.as_str(), event.code) {
        (accounts::NAME, accounts::events::TRANSFER) => {
            let e = accounts::TransferEvent::try_from_slice(bytes).ok()?;
            Some(json!({
                "kind": "transfer",
                "from": e.from.to_string(),
                "to": e.to.to_string(),
                "amount": e.amount.base_units().to_string(),
            }))
        }
        (consensus_accounts::NAME, code) => {
            let kind = match code {
                consensus_accounts::events::DEPOSIT => "deposit",
                consensus_accounts::events::WITHDRAW => "withdraw",
                consensus_accounts::events::WITHDRAW_REFUNDED => "withdraw_refunded",
                _ => return None,
            };
            let e = consensus_accounts::MovementEvent::try_from_slice(bytes).ok()?;
            Some(json!({
                "kind": kind,
                "account": e.account.to_string(),
                "consensus": e.consensus.to_string(),
                "amount": e.amount.base_units().to_string(),
            }))
        }
        (atoll_timestamp::NAME, atoll_timestamp::events::ANCHORED) => {
            let e = atoll_timestamp::Anchored::try_from_slice(bytes).ok()?;
            Some(json!({ "kind": "anchored", "document": e.document, "round": e.round.0 }))
        }
        (atoll_evm::state::NAME, atoll_evm::module::events::LOG) => {
            let e = atoll_evm::module::LogRecord::try_from_slice(bytes).ok()?;
            Some(json!({
                "kind": "log",
                "address": format!("0x{}", hex::encode(e.address)),
                "topics": e.topics.iter().map(|t| format!("0x{}", hex::encode(t))).collect::<Vec<_>>(),
                "data": format!("0x{}", hex::encode(&e.data)),
            }))
        }
        _ => None,
    }
}

/// One line for the event: decoded where this binary knows it, module, code and hex where
/// not.
pub(crate) fn describe(event: &RuntimeEventItem, denomination: Denomination<'_>) -> String {
    let Some(fields) = decode(event) else {
        return format!("{} event {}: 0x{}", event.module, event.code, event.data);
    };
    let text = |key: &str| fields[key].as_str().unwrap_or("?").to_owned();
    let amount = || {
        text("amount").parse::<u128>().map_or_else(
            |_| "?".to_owned(),
            |units| {
                tokens(atoll_types::Amount::new(units), denomination.exponent, denomination.symbol)
            },
        )
    };
    match fields["kind"].as_str().unwrap_or_default() {
        "transfer" => format!("transfer of {} from {} to {}", amount(), text("from"), text("to")),
        "deposit" => format!(
            "deposit of {} into {} from consensus account {}",
            amount(),
            text("account"),
            text("consensus")
        ),
        "withdraw" => format!(
            "withdrawal of {} from {} to consensus account {}",
            amount(),
            text("account"),
            text("consensus")
        ),
        "withdraw_refunded" => format!(
            "withdrawal of {} refunded to {} (the consensus layer refused it)",
            amount(),
            text("account")
        ),
        "anchored" => {
            format!("document {} anchored in round {}", text("document"), fields["round"])
        }
        "log" => {
            let topics: Vec<&str> = fields["topics"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            format!(
                "EVM log from {}: topics [{}], data {}",
                text("address"),
                topics.join(", "),
                text("data")
            )
        }
        _ => format!("{} event {}: {fields}", event.module, event.code),
    }
}

#[cfg(test)]
mod tests {
    use atoll_types::{Address, Amount, Hash, Round};

    use super::*;

    fn item<E: borsh::BorshSerialize>(module: &str, code: u32, event: &E) -> RuntimeEventItem {
        RuntimeEventItem {
            module: module.to_owned(),
            code,
            data: hex::encode(atoll_types::encode(event)),
        }
    }

    const ATL: Denomination<'static> = Denomination { exponent: 9, symbol: "ATL" };

    #[test]
    fn known_events_are_decoded_into_words() {
        let (from, to) = (Address::reserved("test: from"), Address::reserved("test: to"));
        let transfer = accounts::TransferEvent { from, to, amount: Amount::new(10_500_000_000) };
        let line = describe(&item(accounts::NAME, accounts::events::TRANSFER, &transfer), ATL);
        assert_eq!(line, format!("transfer of 10.5 ATL from {from} to {to}"));

        let deposit = consensus_accounts::MovementEvent {
            account: to,
            consensus: from,
            amount: Amount::new(1),
        };
        let code = consensus_accounts::events::DEPOSIT;
        let line = describe(&item(consensus_accounts::NAME, code, &deposit), ATL);
        assert_eq!(
            line,
            format!("deposit of 0.000000001 ATL into {to} from consensus account {from}")
        );

        let document = Hash::digest(b"a document");
        let anchored = atoll_timestamp::Anchored { document, round: Round(12) };
        let code = atoll_timestamp::events::ANCHORED;
        let line = describe(&item(atoll_timestamp::NAME, code, &anchored), ATL);
        assert_eq!(line, format!("document {document} anchored in round 12"));

        let log = atoll_evm::module::LogRecord {
            address: [0xab; 20],
            topics: vec![[0xcd; 32]],
            data: vec![1, 2],
        };
        let item = item(atoll_evm::state::NAME, atoll_evm::module::events::LOG, &log);
        assert_eq!(decode(&item).expect("decoded")["topics"][0], format!("0x{}", "cd".repeat(32)));
        assert!(describe(&item, ATL).starts_with(&format!("EVM log from 0x{}", "ab".repeat(20))));
    }

    #[test]
    fn unknown_or_corrupt_events_keep_their_hex() {
        let unknown = RuntimeEventItem { module: "other".into(), code: 1, data: "beef".into() };
        assert_eq!(decode(&unknown), None);
        assert_eq!(describe(&unknown, ATL), "other event 1: 0xbeef");
        let corrupt =
            RuntimeEventItem { module: accounts::NAME.into(), code: 1, data: "00ff".into() };
        assert_eq!(decode(&corrupt), None);
        assert_eq!(describe(&corrupt, ATL), "accounts event 1: 0x00ff");
        let not_hex =
            RuntimeEventItem { module: accounts::NAME.into(), code: 1, data: "zz".into() };
        assert_eq!(describe(&not_hex, ATL), "accounts event 1: 0xzz");
    }
}
