//! The Ethereum JSON-RPC over a real node: a validator that is the EVM ParaTime's compute
//! node (real sockets, disk and `atoll-evm` process) serves it; requests go over HTTP as
//! any Ethereum client sends them. Tokens are deposited to an Ethereum account, an ERC-20 is
//! deployed and used with raw signed transactions, and the blocks, transactions, receipts,
//! logs, state and fee answers are checked against what was sent — including that every
//! block hash is the keccak of its header's RLP, as clients recompute it.

use std::time::Duration;

use alloy_consensus::{TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256};
use atoll_consensus::roothash::{SubmitMsg, SUBMIT_MSG};
use atoll_crypto::MemorySigner;
use atoll_eth_rpc::{EthRpc, EthRpcConfig, RpcLimits};
use atoll_evm::transaction::{address_of, sign};
use atoll_evm::{runtime_id, DEFAULT_CHAIN_ID};
use atoll_node::genesis::RuntimeShape;
use atoll_testnet::*;
use atoll_types::{Amount, Signer};
use futures_util::{SinkExt, StreamExt};
use k256::ecdsa::SigningKey;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::*;

const LIMIT: Duration = Duration::from_secs(120);
const GWEI: u128 = 1_000_000_000;

struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    fn of(rpc: &EthRpc) -> Self {
        Self { http: reqwest::Client::new(), url: format!("http://{}", rpc.local_addr()) }
    }

    async fn raw(&self, body: Value) -> Value {
        let response = self.http.post(&self.url).json(&body).send().await.expect("sent");
        response.json().await.expect("json answer")
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        let answer =
            self.raw(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).await;
        if let Some(error) = answer.get("error") {
            panic!("{method} failed: {error}");
        }
        answer["result"].clone()
    }

    async fn error(&self, method: &str, params: Value) -> Value {
        let answer =
            self.raw(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).await;
        answer.get("error").cloned().unwrap_or_else(|| panic!("{method} answered {answer}"))
    }

    async fn number(&self) -> u64 {
        quantity(&self.call("eth_blockNumber", json!([])).await)
    }

    async fn receipt(&self, hash: B256) -> Value {
        let deadline = std::time::Instant::now() + LIMIT;
        loop {
            let receipt = self.call("eth_getTransactionReceipt", json!([hash])).await;
            if !receipt.is_null() {
                return receipt;
            }
            assert!(std::time::Instant::now() < deadline, "no receipt for {hash}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn send(&self, raw: Vec<u8>) -> B256 {
        let hash = self.call("eth_sendRawTransaction", json!([Bytes::from(raw.clone())])).await;
        let hash: B256 = serde_json::from_value(hash).expect("hash");
        assert_eq!(hash, keccak256(&raw));
        hash
    }
}

fn quantity(value: &Value) -> u64 {
    let text = value.as_str().unwrap_or_else(|| panic!("quantity: {value}"));
    u64::from_str_radix(text.trim_start_matches("0x"), 16).expect("hex quantity")
}

fn legacy(key: &SigningKey, nonce: u64, to: TxKind, input: Vec<u8>, gas: u64) -> Vec<u8> {
    let tx = TxLegacy {
        chain_id: Some(DEFAULT_CHAIN_ID),
        nonce,
        gas_price: 3 * GWEI,
        gas_limit: gas,
        to,
        value: U256::ZERO,
        input: Bytes::from(input),
    };
    TxEnvelope::from(sign(tx, key)).encoded_2718()
}

async fn start_rpc(running: &Running, dir: &std::path::Path) -> EthRpc {
    let config = EthRpcConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        index_path: dir.join("eth-index.redb"),
        limits: RpcLimits { max_batch: 200, ..RpcLimits::default() },
    };
    atoll_eth_rpc::start(config, running.compute.handle()).await.expect("JSON-RPC starts")
}

/// A one-node network running the EVM ParaTime, its JSON-RPC, and Alice's Ethereum account
/// funded with 50 tokens by a deposit from the consensus layer.
struct Setup {
    _net: Net,
    nodes: Vec<Option<Running>>,
    rpc: EthRpc,
    client: Client,
    alice: SigningKey,
}

/// How many rounds the pruning node of the window test keeps (the least a node may).
const RETAIN: u64 = atoll_node::config::MIN_RETAIN_ROUNDS;

async fn setup() -> Setup {
    setup_keeping(None).await
}

/// [`setup`] with the node keeping only the last `retain_rounds` rounds.
async fn setup_keeping(retain_rounds: Option<u64>) -> Setup {
    logs();
    let shape = RuntimeShape {
        group_size: 1,
        backup_size: 1,
        allowed_stragglers: 0,
        round_timeout: 6,
        propose_batch_timeout: 2,
    };
    let depositor = MemorySigner::from_seed([21; 32]);
    let funded = [atoll_types::Address::from_public_key(&depositor.public_key())];
    let mut net = network(&paratime(), 1, shape, None, &funded, |_| {});
    // Blocks keep coming while idle, as Ethereum clients expect.
    net.configs[0].compute[0].empty_round_interval_ms = Some(1_000);
    net.configs[0].compute[0].retain_rounds = retain_rounds;
    let nodes = net.start_all().await;
    let n0 = first(&nodes);
    let rpc = start_rpc(n0, net.dir.path()).await;
    let client = Client::of(&rpc);
    let alice = SigningKey::from_slice(&[31; 32]).expect("key");
    let a = address_of(&alice);
    let deposit = SubmitMsg {
        runtime: runtime_id(),
        amount: Amount::new(50 * TOKEN),
        to: Some(atoll_types::Address::from_eth(a.0 .0)),
    };
    eventually("first blocks", LIMIT, || async { n0.node.status().height >= 2 }).await;
    consensus_tx(&n0.node, &depositor, SUBMIT_MSG, &deposit);
    let wei = U256::from(50 * TOKEN) * U256::from(GWEI);
    eventually("the deposit shows in eth_getBalance", LIMIT, || async {
        let balance = client.call("eth_getBalance", json!([a, "latest"])).await;
        serde_json::from_value::<U256>(balance).ok() == Some(wei)
    })
    .await;
    Setup { _net: net, nodes, rpc, client, alice }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ethereum_clients_see_blocks_transactions_receipts_logs_and_state() {
    let _serial = SERIAL.lock().await;
    let Setup { _net, nodes, rpc, client, alice } = setup().await;
    let a = address_of(&alice);

    // Chain, network and client identity.
    assert_eq!(quantity(&client.call("eth_chainId", json!([])).await), DEFAULT_CHAIN_ID);
    assert_eq!(client.call("net_version", json!([])).await, json!(DEFAULT_CHAIN_ID.to_string()));
    assert_eq!(client.call("eth_accounts", json!([])).await, json!([]));
    assert_eq!(client.call("eth_syncing", json!([])).await, json!(false));
    assert!(client
        .call("web3_clientVersion", json!([]))
        .await
        .as_str()
        .expect("a string")
        .starts_with("atoll/"));

    // Deploy the token (EIP-1559), transfer with a legacy transaction.
    let deployed = client
        .send(eip1559(
            &alice,
            0,
            TxKind::Create,
            token_creation("Rpc", "RPC", U256::from(1_000u64)),
            2_000_000,
            U256::ZERO,
        ))
        .await;
    let receipt = client.receipt(deployed).await;
    assert_eq!(receipt["status"], json!("0x1"));
    let token: Address =
        serde_json::from_value(receipt["contractAddress"].clone()).expect("address");
    assert_eq!(token, a.create(0));
    let code = client.call("eth_getCode", json!([token, "latest"])).await;
    assert!(code.as_str().expect("a string").len() > 200);
    let bob = Address::repeat_byte(0xb0);
    let transfer_topic = keccak256(b"Transfer(address,address,uint256)");

    // Before the transfer: polled filters and WebSocket subscriptions.
    let log_filter =
        client.call("eth_newFilter", json!([{"address": token, "topics": [transfer_topic]}])).await;
    let block_filter = client.call("eth_newBlockFilter", json!([])).await;
    let pending_filter = client.call("eth_newPendingTransactionFilter", json!([])).await;
    let ws = format!("ws://{}", rpc.local_addr());
    let (mut socket, _) = tokio_tungstenite::connect_async(ws.as_str()).await.expect("ws");
    for (id, params) in [
        (1, json!(["newHeads"])),
        (2, json!(["logs", {"address": token}])),
        (3, json!(["newPendingTransactions"])),
    ] {
        let request =
            json!({"jsonrpc": "2.0", "id": id, "method": "eth_subscribe", "params": params});
        socket.send(Message::text(request.to_string())).await.expect("subscribe");
    }
    // Every subscription is confirmed (with its id) before the transfer is sent.
    let mut confirmed = 0;
    while confirmed < 3 {
        let Some(Ok(Message::Text(text))) = socket.next().await else { continue };
        let answer: Value = serde_json::from_str(&text).expect("json");
        let id = answer["result"].as_str().unwrap_or_default();
        assert!(id.starts_with("0x") && id.len() == 34, "a geth-style id: {answer}");
        confirmed += 1;
    }

    let moved = client
        .send(legacy(
            &alice,
            1,
            TxKind::Call(token),
            transfer_data(bob, U256::from(250u64)),
            100_000,
        ))
        .await;
    let receipt = client.receipt(moved).await;
    assert_eq!(receipt["status"], json!("0x1"));
    assert_eq!(receipt["type"], json!("0x0"));
    assert_eq!(receipt["effectiveGasPrice"], json!(format!("{:#x}", 3 * GWEI)));
    let logs = receipt["logs"].as_array().expect("logs");
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["topics"][0], json!(transfer_topic));
    assert_eq!(logs[0]["transactionHash"], json!(moved));

    // The filters saw it, once.
    let changes = client.call("eth_getFilterChanges", json!([log_filter])).await;
    assert_eq!(changes.as_array().expect("logs").len(), 1, "{changes}");
    assert_eq!(changes[0]["transactionHash"], json!(moved));
    let again = client.call("eth_getFilterChanges", json!([log_filter])).await;
    assert_eq!(again, json!([]), "a second poll has nothing new");
    let all = client.call("eth_getFilterLogs", json!([log_filter])).await;
    assert_eq!(all.as_array().expect("logs").len(), 1);
    let blocks = client.call("eth_getFilterChanges", json!([block_filter])).await;
    assert!(blocks.as_array().expect("hashes").contains(&receipt["blockHash"]), "{blocks}");
    let pending = client.call("eth_getFilterChanges", json!([pending_filter])).await;
    assert_eq!(pending, json!([moved]));
    assert_eq!(client.call("eth_uninstallFilter", json!([log_filter])).await, json!(true));
    let gone = client.error("eth_getFilterChanges", json!([log_filter])).await;
    assert!(gone["message"].as_str().expect("a string").contains("filter not found"));

    // The subscriptions were notified: the pending hash, the head and the log.
    let (mut saw_head, mut saw_log, mut saw_pending) = (false, false, false);
    let deadline = std::time::Instant::now() + LIMIT;
    while !(saw_head && saw_log && saw_pending) {
        assert!(std::time::Instant::now() < deadline, "notifications missing");
        let Some(Ok(Message::Text(text))) = socket.next().await else { continue };
        let message: Value = serde_json::from_str(&text).expect("json");
        let result = &message["params"]["result"];
        if result["hash"] == receipt["blockHash"] {
            saw_head = true;
        } else if result["transactionHash"] == json!(moved) {
            assert_eq!(result["topics"][0], json!(transfer_topic));
            saw_log = true;
        } else if *result == json!(moved) {
            saw_pending = true;
        }
    }

    // The block holds the transaction; its hash is keccak(rlp(header)), and its parent's.
    let number = quantity(&receipt["blockNumber"]);
    let block = client.call("eth_getBlockByNumber", json!([format!("{number:#x}"), true])).await;
    let parsed: alloy_rpc_types_eth::Block = serde_json::from_value(block.clone()).expect("block");
    assert_eq!(
        parsed.header.inner.hash_slow(),
        parsed.header.hash,
        "the hash is keccak(rlp(header))"
    );
    let txs = block["transactions"].as_array().expect("transactions");
    assert!(txs.iter().any(|t| t["hash"] == json!(moved)));
    assert!(block["baseFeePerGas"].is_string());
    let parent = client.call("eth_getBlockByHash", json!([parsed.header.parent_hash, false])).await;
    assert_eq!(quantity(&parent["number"]), number - 1, "numbers have no gaps");
    let by_hash = client.call("eth_getBlockByHash", json!([parsed.header.hash, false])).await;
    assert_eq!(by_hash["hash"], block["hash"]);
    let tx = client.call("eth_getTransactionByHash", json!([moved])).await;
    assert_eq!(tx["from"], json!(a));
    assert_eq!(tx["blockHash"], block["hash"]);
    let receipts = client.call("eth_getBlockReceipts", json!([format!("{number:#x}")])).await;
    assert!(receipts
        .as_array()
        .expect("an array")
        .iter()
        .any(|r| r["transactionHash"] == json!(moved)));

    // State and calls.
    let balance_of = Bytes::from(balance_of_data(bob));
    let result =
        client.call("eth_call", json!([{"to": token, "data": balance_of}, "latest"])).await;
    let result: Bytes = serde_json::from_value(result).expect("bytes");
    assert_eq!(U256::from_be_slice(&result), U256::from(250));
    // At the block before the transfer, Bob had nothing.
    let before = client
        .call("eth_call", json!([{"to": token, "data": balance_of}, format!("{:#x}", number - 1)]))
        .await;
    let before: Bytes = serde_json::from_value(before).expect("bytes");
    assert_eq!(U256::from_be_slice(&before), U256::ZERO);
    assert_eq!(quantity(&client.call("eth_getTransactionCount", json!([a, "latest"])).await), 2);
    let gas = client
        .call("eth_estimateGas", json!([{"from": a, "to": token, "data": Bytes::from(transfer_data(bob, U256::from(1u64)))}]))
        .await;
    assert!(quantity(&gas) > 21_000);

    // A revert answers code 3 with the revert data.
    let too_much = Bytes::from(transfer_data(a, U256::from(1_000_000u64)));
    let error = client
        .error("eth_call", json!([{"from": bob, "to": token, "data": too_much}, "latest"]))
        .await;
    assert_eq!(error["code"], json!(3));
    assert!(error["data"].as_str().expect("a string").starts_with("0x"));

    // Logs by address and topic, over a range.
    let found = client
        .call(
            "eth_getLogs",
            json!([{"fromBlock": "0x0", "toBlock": "latest", "address": token, "topics": [transfer_topic]}]),
        )
        .await;
    let found = found.as_array().expect("logs");
    assert_eq!(found.len(), 2, "the mint and the transfer");
    let none = client.call("eth_getLogs", json!([{"fromBlock": "0x0", "address": bob}])).await;
    assert_eq!(none, json!([]));
    // By a topic at a later position only (the recipient), and by one that never appears.
    let to_bob = B256::left_padding_from(bob.as_slice());
    let to_bob_logs = client
        .call("eth_getLogs", json!([{"fromBlock": "0x0", "topics": [null, null, to_bob]}]))
        .await;
    assert_eq!(to_bob_logs.as_array().expect("logs").len(), 1, "{to_bob_logs}");
    assert_eq!(to_bob_logs[0]["transactionHash"], json!(moved));
    let swapped =
        client.call("eth_getLogs", json!([{"fromBlock": "0x0", "topics": [null, to_bob]}])).await;
    assert_eq!(swapped, json!([]), "Bob never sent");

    // Fees.
    let history = client.call("eth_feeHistory", json!(["0x4", "latest", [50.0]])).await;
    let blocks = history["gasUsedRatio"].as_array().expect("an array").len();
    assert_eq!(history["baseFeePerGas"].as_array().expect("an array").len(), blocks + 1);
    assert!(quantity(&client.call("eth_gasPrice", json!([])).await) >= GWEI as u64);

    // Bad input changes nothing and answers errors, never a crash.
    let unknown = client.error("eth_noSuchMethod", json!([])).await;
    assert_eq!(unknown["code"], json!(-32601));
    assert_eq!(
        unknown["message"],
        json!("the method eth_noSuchMethod does not exist/is not available"),
        "geth's words"
    );
    let bad = client.error("eth_getBalance", json!(["not an address"])).await;
    assert_eq!(bad["code"], json!(-32602));
    let replay = client
        .error(
            "eth_sendRawTransaction",
            json!([Bytes::from(eip1559(&alice, 0, TxKind::Create, vec![], 60_000, U256::ZERO))]),
        )
        .await;
    assert!(replay["message"].as_str().expect("a string").contains("nonce too low"), "{replay}");
    let garbage = client.error("eth_sendRawTransaction", json!(["0xdeadbeef"])).await;
    assert_eq!(garbage["code"], json!(-32000));
    let malformed = client
        .http
        .post(&client.url)
        .header("content-type", "application/json")
        .body("{\"jsonrpc\":")
        .send()
        .await
        .expect("sent");
    let malformed: Value = malformed.json().await.expect("json");
    assert_eq!(malformed["error"]["code"], json!(-32700));
    // Browser dapps may call it: a CORS preflight is answered for any origin.
    let preflight = client
        .http
        .request(reqwest::Method::OPTIONS, &client.url)
        .header("origin", "https://dapp.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("preflight");
    assert!(preflight.status().is_success(), "{:?}", preflight.status());
    assert_eq!(
        preflight.headers().get("access-control-allow-origin").map(|v| v.as_bytes()),
        Some(b"*".as_slice())
    );
    // A batch of 100 calls.
    let batch: Vec<Value> = (0..100)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber", "params": []}))
        .collect();
    let answers = client.raw(Value::Array(batch)).await;
    assert_eq!(answers.as_array().expect("batch answer").len(), 100);
    // An unknown method inside a batch is answered in place, the others as usual.
    let mixed = client
        .raw(json!([
            {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": 2, "method": "debug_traceTransaction", "params": [moved]},
        ]))
        .await;
    let mixed = mixed.as_array().expect("batch answer");
    let of = |id: u64| mixed.iter().find(|a| a["id"] == json!(id)).expect("answered").clone();
    assert_eq!(quantity(&of(1)["result"]), DEFAULT_CHAIN_ID);
    assert_eq!(of(2)["error"]["code"], json!(-32601));
    assert!(of(2)["error"]["message"].as_str().expect("a string").contains("debug_trace"));
    let oversized: Vec<Value> = (0..201)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber", "params": []}))
        .collect();
    let refused = client.raw(Value::Array(oversized)).await;
    assert!(refused.get("error").is_some(), "an oversized batch is refused: {refused}");
    assert_eq!(quantity(&client.call("eth_getTransactionCount", json!([a, "latest"])).await), 2);

    rpc.stop().await;
    stop_all(nodes).await;
}

/// A node that keeps a window of recent rounds answers state queries inside it, refuses
/// older ones with geth's server error and a message that says why, and still serves the
/// older blocks, transactions and receipts from its index. A new index on that node starts
/// at the earliest round it keeps, with the same block hashes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_keeping_a_window_of_rounds_serves_recent_state_and_refuses_older_state() {
    let _serial = SERIAL.lock().await;
    let Setup { _net, nodes, rpc, client, alice } = setup_keeping(Some(RETAIN)).await;
    let a = address_of(&alice);
    let compute = first(&nodes).compute.handle();
    assert_eq!(compute.retain_rounds(), Some(RETAIN));
    let funded_at = client.number().await;
    let funded = client.call("eth_getBalance", json!([a, "latest"])).await;
    let sent =
        client.send(legacy(&alice, 0, TxKind::Call(Address::repeat_byte(7)), vec![], 21_000)).await;
    let receipt = client.receipt(sent).await;
    let mined = quantity(&receipt["blockNumber"]);
    let after = client.call("eth_getBalance", json!([a, "latest"])).await;
    assert_ne!(after, funded, "the sender paid for gas");

    eventually("the window moves past the transfer", LIMIT, || async {
        compute.earliest_round().expect("earliest") > mined + 1
    })
    .await;
    let latest = client.number().await;
    let inside = format!("{:#x}", latest - 1);
    assert_eq!(client.call("eth_getBalance", json!([a, inside])).await, after);
    assert_eq!(client.call("eth_getTransactionCount", json!([a, inside])).await, json!("0x1"));
    for old in [funded_at, mined] {
        let at = format!("{old:#x}");
        for (method, params) in [
            ("eth_getBalance", json!([a, at])),
            ("eth_call", json!([{"from": a, "to": a}, at])),
            ("eth_getCode", json!([a, at])),
        ] {
            let error = client.error(method, params).await;
            assert_eq!(error["code"], json!(-32000), "{method}: {error}");
            let message = error["message"].as_str().expect("a message");
            assert!(
                message.starts_with(&format!("historical state of block {old} is not available")),
                "{method}: {message}"
            );
        }
    }
    // Blocks, transactions and receipts are in the index, not in the pruned state.
    let block = client.call("eth_getBlockByNumber", json!([format!("{mined:#x}"), false])).await;
    assert_eq!(block["transactions"], json!([sent]));
    assert_eq!(client.call("eth_getTransactionReceipt", json!([sent])).await, receipt);
    let head = client.call("eth_getBlockByNumber", json!([format!("{latest:#x}"), false])).await;

    // The index is lost: the new one starts where the node's rounds start.
    let dir = _net.dir.path();
    rpc.stop().await;
    std::fs::remove_file(dir.join("eth-index.redb")).expect("index removed");
    let rpc = start_rpc(first(&nodes), dir).await;
    let client = Client::of(&rpc);
    eventually("the new index reaches the head", LIMIT, || async {
        client.number().await >= latest
    })
    .await;
    let again = client.call("eth_getBlockByNumber", json!([format!("{latest:#x}"), false])).await;
    assert_eq!(again["hash"], head["hash"], "the same block, rebuilt from the kept rounds");
    let pruned = client.call("eth_getBlockByNumber", json!([format!("{mined:#x}"), false])).await;
    assert_eq!(pruned, Value::Null, "a round the node no longer has is not invented");
    assert_eq!(client.call("eth_getTransactionReceipt", json!([sent])).await, Value::Null);
    assert_eq!(client.call("eth_getBalance", json!([a, "latest"])).await, after);
    rpc.stop().await;
}

/// A client program nobody here wrote, and how to install it.
struct ClientKit {
    /// Its directory under `clients/`.
    dir: &'static str,
    /// What exists once its install script ran.
    installed: &'static str,
    /// The interpreter, relative to the directory when it starts with `.`.
    interpreter: &'static str,
}

const NODE: ClientKit = ClientKit { dir: "js", installed: "node_modules", interpreter: "node" };
const CAST: ClientKit =
    ClientKit { dir: "js", installed: "node_modules/.bin/cast", interpreter: "bash" };
const ANVIL: ClientKit =
    ClientKit { dir: "js", installed: "node_modules/.bin/anvil", interpreter: "node" };
const HARDHAT: ClientKit =
    ClientKit { dir: "hardhat", installed: "node_modules/.bin/hardhat", interpreter: "bash" };
const PYTHON: ClientKit =
    ClientKit { dir: "py", installed: ".venv/bin/python", interpreter: ".venv/bin/python" };

/// Runs `script` of `kit` against the endpoint; installs the kit first with its own
/// `install.sh` (from the npm registry or PyPI) if needed.
fn run_client(kit: &ClientKit, script: &str, setup: &Setup) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients");
    let dir = root.join(kit.dir);
    if !dir.join(kit.installed).exists() {
        let installed = std::process::Command::new(dir.join("install.sh"))
            .status()
            .unwrap_or_else(|e| panic!("clients/{}/install.sh: {e}", kit.dir));
        assert!(installed.success(), "clients/{}/install.sh failed", kit.dir);
    }
    let interpreter = if kit.interpreter.starts_with('.') {
        dir.join(kit.interpreter).display().to_string()
    } else {
        kit.interpreter.to_owned()
    };
    let token = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contracts/Token.bin");
    let addr = setup.rpc.local_addr();
    let started = std::time::Instant::now();
    let output = std::process::Command::new(&interpreter)
        .arg(dir.join(script))
        .env("RPC_URL", format!("http://{addr}"))
        .env("WS_URL", format!("ws://{addr}"))
        .env("PRIVATE_KEY", format!("0x{}", hex::encode(setup.alice.to_bytes())))
        .env("TOKEN_BIN", token)
        .output()
        .unwrap_or_else(|e| panic!("{interpreter} runs: {e}"));
    assert!(
        output.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{script}: passed in {:.1} s", started.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ethers_viem_web3py_cast_and_hardhat_use_contracts_unchanged_shaped_as_anvil() {
    let _serial = SERIAL.lock().await;
    let setup = setup().await;
    let setup = tokio::task::spawn_blocking(move || {
        run_client(&NODE, "ethers.mjs", &setup);
        run_client(&NODE, "viem.mjs", &setup);
        run_client(&PYTHON, "web3_client.py", &setup);
        run_client(&CAST, "cast.sh", &setup);
        run_client(&HARDHAT, "run.sh", &setup);
        run_client(&ANVIL, "shape.mjs", &setup);
        setup
    })
    .await
    .expect("clients ran");
    let Setup { _net, nodes, rpc, .. } = setup;
    rpc.stop().await;
    stop_all(nodes).await;
}
