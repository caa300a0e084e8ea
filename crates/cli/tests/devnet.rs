//! `atoll devnet` as a user runs it: the binary starts the whole network as separate
//! processes; the CLI transfers tokens and timestamps a document through it; SIGINT stops
//! every process; a second run resumes the same chain.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

mod common;

use common::free_base;

const ATOLL: &str = env!("CARGO_BIN_EXE_atoll");
/// Nodes of the devnet under test (4 validators, 4 compute nodes, the client), 10 ports
/// each, then the Ethereum JSON-RPC port.
const PORTS: u16 = 9 * 10 + 1;

/// A running `atoll devnet` with its stdout lines.
struct Devnet {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Devnet {
    fn start(dir: &Path, base: u16, extra: &[&str]) -> Self {
        let mut child = Command::new(ATOLL)
            .args(["devnet", "--dir", dir.to_str().expect("utf-8")])
            .args(["--base-port", &base.to_string()])
            .args(["--eth-rpc-port", &(base + PORTS - 1).to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start atoll devnet");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Waits for the summary (printed once the network works); returns it.
    fn wait_ready(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(400);
        let mut summary = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    summary.push_str(&line);
                    summary.push('\n');
                    if line.starts_with("  Try, in another terminal") {
                        return summary;
                    }
                }
                Err(_) => panic!(
                    "devnet not ready (exit: {:?}); output so far:\n{summary}",
                    self.child.try_wait()
                ),
            }
        }
    }

    /// Every process under the devnet (nodes and their ParaTime processes).
    fn descendants(&self) -> Vec<u32> {
        let mut parents = vec![self.child.id()];
        let mut found = Vec::new();
        while let Some(parent) = parents.pop() {
            for entry in std::fs::read_dir("/proc").expect("/proc").filter_map(Result::ok) {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
                let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                    continue;
                };
                // pid (comm) state ppid …: the command may hold spaces, so split after ')'.
                let ppid = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<u32>().ok());
                if ppid == Some(parent) {
                    found.push(pid);
                    parents.push(pid);
                }
            }
        }
        found
    }

    /// SIGINT, as Ctrl-C would send; waits for a clean exit.
    fn interrupt(mut self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGINT).expect("signal");
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "devnet exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "devnet did not stop after SIGINT");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
            let _ = self.child.wait();
        }
    }
}

/// Runs the CLI against the devnet.
fn run_cli(dir: &Path, api: &str, args: &[&str]) -> std::process::Output {
    let keys = dir.join("keys");
    Command::new(ATOLL)
        .args(["--api", api, "--keys-dir", keys.to_str().expect("utf-8"), "--output", "json"])
        .args(args)
        .output()
        .expect("run atoll")
}

/// Runs the CLI against the devnet; returns its stdout, or panics with its stderr.
fn cli(dir: &Path, api: &str, args: &[&str]) -> String {
    let out = run_cli(dir, api, args);
    assert!(out.status.success(), "atoll {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs the CLI in its human mode; returns its stdout, or panics with its stderr.
fn text_cli(dir: &Path, api: &str, args: &[&str]) -> String {
    let keys = dir.join("keys");
    let out = Command::new(ATOLL)
        .args(["--api", api, "--keys-dir", keys.to_str().expect("utf-8")])
        .args(args)
        .output()
        .expect("run atoll");
    assert!(out.status.success(), "atoll {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// One HTTP/1.0 exchange with a local port (as any client makes it): status and body.
fn http(port: u16, head: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(stream, "{head} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
        .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    let (status, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let code = status.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("a status");
    (code, body.to_owned())
}

/// One Ethereum JSON-RPC call.
fn eth(port: u16, method: &str, params: Value) -> Value {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        .to_string();
    let (_, answer) = http(port, "POST /", &body);
    let answer: Value = serde_json::from_str(&answer).expect("JSON-RPC answer");
    assert!(answer.get("error").is_none(), "{method}: {answer}");
    answer["result"].clone()
}

/// The first development account's key, from the devnet's summary.
fn development_key(summary: &str) -> k256::ecdsa::SigningKey {
    let key_hex = summary
        .lines()
        .find(|l| l.contains("(0) 0xf39F"))
        .and_then(|l| l.split_whitespace().last())
        .expect("the first development key");
    k256::ecdsa::SigningKey::from_slice(
        &hex::decode(key_hex.trim_start_matches("0x")).expect("hex"),
    )
    .expect("key")
}

/// Signs and sends an EIP-1559 transaction through the Ethereum JSON-RPC; waits for and
/// returns its receipt.
fn send_eth(
    rpc: u16,
    key: &k256::ecdsa::SigningKey,
    nonce: u64,
    to: alloy_primitives::TxKind,
    value: alloy_primitives::U256,
    input: Vec<u8>,
) -> Value {
    let tx = alloy_consensus::TxEip1559 {
        chain_id: 0xa70,
        nonce,
        gas_limit: if input.is_empty() { 21_000 } else { 3_000_000 },
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 0,
        to,
        value,
        access_list: Default::default(),
        input: input.into(),
    };
    let raw = alloy_eips::eip2718::Encodable2718::encoded_2718(&alloy_consensus::TxEnvelope::from(
        atoll_evm::transaction::sign(tx, key),
    ));
    let hash =
        eth(rpc, "eth_sendRawTransaction", serde_json::json!([format!("0x{}", hex::encode(raw))]));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let receipt = eth(rpc, "eth_getTransactionReceipt", serde_json::json!([hash]));
        if !receipt.is_null() {
            return receipt;
        }
        assert!(Instant::now() < deadline, "no receipt for {hash}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A GET of the node API: the JSON body of a 200 answer, `None` otherwise.
fn rest(port: u16, path: &str) -> Option<Value> {
    let (status, body) = http(port, &format!("GET {path}"), "");
    (status == 200).then(|| json(&body))
}

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn height(dir: &Path, api: &str) -> u64 {
    json(&cli(dir, api, &["query", "status"]))["height"].as_u64().expect("height")
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
    })
}

/// One devnet at a time: each is 14 processes.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn devnet_runs_transfers_and_timestamps_stops_cleanly_and_resumes() {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("devnet");
    let base = free_base(PORTS);
    let api = format!("127.0.0.1:{}", base + 81);

    let mut devnet = Devnet::start(&dir, base, &["--epoch-interval", "50"]);
    let summary = devnet.wait_ready();
    assert!(summary.contains(&format!("http://{api}/v1")), "{summary}");
    assert!(summary.contains("alice"), "{summary}");
    let processes = devnet.descendants();
    // 9 nodes, and a ParaTime process under each of the 4 compute nodes and the client.
    assert!(processes.len() >= 14, "processes under the devnet: {processes:?}");

    // A transfer through the CLI.
    let before = json(&cli(&dir, &api, &["query", "account", "bob"]));
    let sent = json(&cli(
        &dir,
        &api,
        &["tx", "transfer", "--from", "alice", "--to", "bob", "--amount", "12.5"],
    ));
    assert!(sent["height"].as_u64().is_some(), "{sent}");
    let after = json(&cli(&dir, &api, &["query", "account", "bob"]));
    let base_units = |v: &Value| {
        v["account"]["general"]["balance"]
            .as_str()
            .expect("balance")
            .parse::<u128>()
            .expect("number")
    };
    assert_eq!(base_units(&after) - base_units(&before), 12_500_000_000);

    // A timestamp through the CLI: anchored in a finalized round, then proven on lookup.
    let document = tmp.path().join("contract.txt");
    std::fs::write(&document, "the devnet test's document").expect("write");
    let doc = document.to_str().expect("utf-8");
    let anchored = cli(&dir, &api, &["timestamp", "anchor", "--from", "bob", "--file", doc]);
    let finalized = json(anchored.lines().last().expect("output"));
    assert_eq!(finalized["status"], "finalized", "{anchored}");
    let round = finalized["round"].as_u64().expect("round");
    // Its event decoded (the hex stays beside it), and in words for people.
    let event = &finalized["outcome"]["events"][0];
    assert_eq!(event["decoded"]["kind"], "anchored", "{anchored}");
    assert_eq!(event["decoded"]["round"].as_u64(), Some(round), "{anchored}");
    let hash = finalized["hash"].as_str().expect("hash");
    let shown = text_cli(&dir, &api, &["paratime", "tx", hash]);
    assert!(shown.contains(&format!("anchored in round {round}")), "{shown}");
    let shown = text_cli(&dir, &api, &["timestamp", "get", "--file", doc]);
    assert!(shown.contains(" UTC by atoll1"), "times are dates: {shown}");
    let found = json(&cli(&dir, &api, &["timestamp", "get", "--file", doc]));
    assert_eq!(found["anchored"], true, "{found}");
    assert_eq!(found["round"].as_u64(), Some(round));
    // [S] finding 17: checked against a consensus root the user trusts (here the status of
    // a node they run), the round's runtime block is proven too; a wrong root is refused.
    let status = json(&cli(&dir, &api, &["query", "status"]));
    let at = status["height"].as_u64().expect("height");
    let trust = format!("{at}:{}", status["app_hash"].as_str().expect("app hash"));
    let args = ["timestamp", "get", "--file", doc, "--trust", &trust];
    let trusted = json(&cli(&dir, &api, &args));
    assert_eq!(trusted["trusted_height"].as_u64(), Some(at), "{trusted}");
    let forged = format!("{at}:{}", "00".repeat(32));
    let refused = run_cli(&dir, &api, &["timestamp", "get", "--file", doc, "--trust", &forged]);
    assert!(!refused.status.success(), "a root nobody committed is refused");

    // The EVM ParaTime: the development accounts are funded and a value transfer signed
    // with the first one's printed key goes through the Ethereum JSON-RPC.
    let rpc = base + PORTS - 1;
    assert!(summary.contains(&format!("http://127.0.0.1:{rpc}")), "{summary}");
    assert!(summary.contains("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"), "{summary}");
    assert_eq!(eth(rpc, "eth_chainId", serde_json::json!([])), "0xa70");
    let key = development_key(&summary);
    let from = atoll_evm::transaction::address_of(&key);
    let to = alloy_primitives::Address::repeat_byte(0x42);
    let wei = |v: Value| {
        alloy_primitives::U256::from_str_radix(
            v.as_str().expect("quantity").trim_start_matches("0x"),
            16,
        )
        .expect("hex quantity")
    };
    let ether = alloy_primitives::U256::from(10u64).pow(alloy_primitives::U256::from(18u64));
    let funded = wei(eth(rpc, "eth_getBalance", serde_json::json!([from, "latest"])));
    assert_eq!(funded, alloy_primitives::U256::from(10_000u64) * ether);
    let receipt = send_eth(rpc, &key, 0, alloy_primitives::TxKind::Call(to), ether, Vec::new());
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(wei(eth(rpc, "eth_getBalance", serde_json::json!([to, "latest"]))), ether);

    // Ctrl-C stops every process.
    let stopped_at = height(&dir, &api);
    devnet.interrupt();
    let stray: Vec<u32> = processes.iter().copied().filter(|p| alive(*p)).collect();
    assert!(stray.is_empty(), "processes left running: {stray:?}");

    // A second run resumes the same chain: the height goes on and the document is there.
    let mut devnet = Devnet::start(&dir, base, &[]);
    devnet.wait_ready();
    let resumed = height(&dir, &api);
    assert!(resumed > stopped_at, "height {resumed} after restart, {stopped_at} before");
    let found = json(&cli(&dir, &api, &["timestamp", "get", "--file", doc]));
    assert_eq!(found["round"].as_u64(), Some(round), "{found}");
    devnet.interrupt();
}

/// A dishonest compute node is caught, and the explorer shows it: headless Chromium
/// (clients/browser/explorer.mjs) goes through every page, the search, a live transfer, the
/// round timeline with the discrepancy and the slash, and a proposal with a hostile name.
#[test]
fn a_byzantine_compute_node_is_caught_by_discrepancy_detection_and_the_explorer_shows_it() {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("devnet");
    let base = free_base(PORTS);
    let api = format!("127.0.0.1:{}", base + 81);
    let mut devnet =
        Devnet::start(&dir, base, &["--epoch-interval", "20", "--byzantine", "dishonest"]);
    let summary = devnet.wait_ready();
    assert!(summary.contains("compute-0 (BYZANTINE: dishonest)"), "{summary}");
    // Created with --byzantine, every compute node is a primary worker: the view says so
    // for the epoch, and the first anchored documents show the discrepancy and its
    // resolution on the devnet's output.
    let deadline = Instant::now() + Duration::from_secs(300);
    let (mut detected, mut resolved, mut elected) = (false, false, false);
    let mut i = 0;
    while !(detected && resolved && elected) {
        assert!(Instant::now() < deadline, "no discrepancy resolved in time");
        i += 1;
        let document = format!("{:064x}", 1_000 + i);
        cli(&dir, &api, &["timestamp", "anchor", "--from", "alice", "--hash", &document]);
        while let Ok(line) = devnet.lines.try_recv() {
            detected |= line.contains("discrepancy detected");
            resolved |=
                line.contains("finalized by the backup workers; wrong results from compute-0");
            elected |= line.contains("compute-0 (BYZANTINE: dishonest) is primary worker");
        }
    }
    assert!(i <= 2, "the fault showed only after {i} anchored documents");
    explorer_shows_the_network(&dir, &api, base, &summary);
    devnet.interrupt();
}

/// Runs the browser check of the explorer against the devnet (installing Chromium and
/// playwright-core with clients/browser/install.sh first if needed).
fn explorer_shows_the_network(dir: &Path, api: &str, base: u16, summary: &str) {
    let port = base + 81;
    // An ERC-20 deployed and one transfer of it on the EVM ParaTime, for its pages.
    let rpc = base + PORTS - 1;
    let key = development_key(summary);
    let supply = alloy_primitives::U256::from(1_000_000u64);
    let creation = atoll_evm::erc20::token_creation("Explorer Token", "EXP", supply);
    let zero = alloy_primitives::U256::ZERO;
    let created = send_eth(rpc, &key, 0, alloy_primitives::TxKind::Create, zero, creation);
    let token = created["contractAddress"].as_str().expect("a contract address").to_owned();
    let to = alloy_primitives::Address::repeat_byte(0x42);
    let data = atoll_evm::erc20::transfer_data(to, alloy_primitives::U256::from(1_234u64));
    let token_address: alloy_primitives::Address = token.parse().expect("address");
    let call = alloy_primitives::TxKind::Call(token_address);
    let moved = send_eth(rpc, &key, 1, call, zero, data);
    assert_eq!(moved["status"], "0x1", "{moved}");
    let evm_tx = moved["transactionHash"].as_str().expect("hash").to_owned();
    let evm_runtime = rest(port, "/v1/eth").expect("eth endpoints")["endpoints"][0]["runtime"]
        .as_str()
        .expect("the EVM ParaTime")
        .to_owned();
    // The JSON-RPC on the API port: one request at a time, no subscriptions.
    let eth_path = format!("POST /v1/runtimes/{evm_runtime}/eth");
    let call = |body: &str| http(port, &eth_path, body);
    let (status, answer) = call(r#"{"jsonrpc":"2.0","id":7,"method":"eth_chainId","params":[]}"#);
    assert_eq!((status, json(&answer)["result"].clone()), (200, Value::from("0xa70")), "{answer}");
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}]"#;
    assert_eq!(call(batch).0, 400, "a batch is refused");
    let subscribe = r#"{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}"#;
    assert_eq!(call(subscribe).0, 400, "a subscription is refused");
    let (status, answer) = call(r#"{"jsonrpc":"2.0","id":1,"method":"eth_nope","params":[]}"#);
    assert_eq!(status, 200);
    assert!(json(&answer)["error"].is_object(), "{answer}");
    let other = format!("POST /v1/runtimes/{}/eth", "00".repeat(32));
    assert_eq!(http(port, &other, r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#).0, 404);
    let runtime = summary
        .lines()
        .find_map(|l| l.trim().strip_prefix("ParaTime     timestamp "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the timestamp ParaTime's id in the summary")
        .to_owned();
    // A round the index recorded a slash in, stored by the client node.
    let deadline = Instant::now() + Duration::from_secs(120);
    // (Its opening height is one with a committee: the explorer shows the committee there.)
    let (round, opened) = loop {
        assert!(Instant::now() < deadline, "no slashed round in the round index");
        let rounds = rest(port, &format!("/v1/runtimes/{runtime}/rounds?limit=100"));
        let slashed = rounds.and_then(|r| {
            r["rounds"].as_array()?.iter().find_map(|r| {
                let slashed = !r["slashed"].as_array()?.is_empty();
                slashed.then(|| Some((r["round"].as_u64()?, r["opened"]["height"].as_u64()?)))?
            })
        });
        if let Some(found) = slashed
            .filter(|(r, _)| rest(port, &format!("/v1/runtimes/{runtime}/rounds/{r}")).is_some())
        {
            break found;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let hostile = r#"<img src=x onerror="window.pwned=1"><b>&amp;</b>"#;
    let epoch = rest(port, "/v1/epoch").expect("epoch")["value"]["epoch"].as_u64().expect("epoch");
    let upgrade_epoch = (epoch + 1_000).to_string();
    cli(
        dir,
        api,
        &["tx", "submit-proposal", "--from", "alice", "--deposit", "1000"]
            .into_iter()
            .chain(["--upgrade", hostile, "--epoch", &upgrade_epoch, "--version", "9.9.9"])
            .collect::<Vec<_>>(),
    );
    let bob = "atoll1qq6lzzr6rkqeyjteefhgtjr3r5ukjeccygzkpfkx";
    let sent =
        json(&cli(dir, api, &["tx", "transfer", "--from", "alice", "--to", bob, "--amount", "1"]));
    let tx = sent["hash"].as_str().expect("hash").to_owned();
    let alice = json(&cli(dir, api, &["keys", "show", "alice"]))["address"]
        .as_str()
        .expect("alice's address")
        .to_owned();
    let keys = dir.join("keys").display().to_string();
    let transfer = serde_json::json!([
        ATOLL,
        "--api",
        api,
        "--keys-dir",
        keys,
        "tx",
        "transfer",
        "--from",
        "carol",
        "--to",
        bob,
        "--amount",
        "1.234567"
    ]);

    let browser = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/browser");
    // Every dependency of package.json present, or install (again).
    if !["playwright-core", "axe-core"]
        .iter()
        .all(|d| browser.join("node_modules").join(d).exists())
    {
        let installed = Command::new(browser.join("install.sh")).status().expect("install.sh");
        assert!(installed.success(), "clients/browser/install.sh failed");
    }
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explorer-screenshots");
    let output = Command::new("node")
        .arg(browser.join("explorer.mjs"))
        .env("EXPLORER_URL", format!("http://127.0.0.1:{port}/explorer"))
        .env("SHOTS_DIR", &shots)
        .env("RUNTIME", &runtime)
        .env("ROUND", round.to_string())
        .env("COMMITTEE_HEIGHT", opened.to_string())
        .env("ALICE", &alice)
        .env("TX", &tx)
        .env("HOSTILE", hostile)
        .env("TRANSFER", transfer.to_string())
        .env("TRANSFER_TEXT", "1.234567 ATL")
        .env("EVM_RUNTIME", &evm_runtime)
        .env("EVM_TX", &evm_tx)
        .env("EVM_TOKEN", &token)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "the explorer check failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{}screenshots: {}", String::from_utf8_lossy(&output.stdout), shots.display());
}

#[test]
fn a_simulated_tee_devnet_serves_its_paratime_only_through_attested_nodes() {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("devnet");
    let base = free_base(PORTS);
    let api = format!("127.0.0.1:{}", base + 81);
    let mut devnet = Devnet::start(&dir, base, &["--epoch-interval", "20", "--tee"]);
    // Ready means the timestamping ParaTime finalized a round: its committee formed from
    // nodes that registered their runtime's attestation.
    let summary = devnet.wait_ready();
    assert!(summary.contains("TEE          SIMULATED"), "{summary}");
    let document = format!("{:064x}", 7);
    let anchored =
        cli(&dir, &api, &["timestamp", "anchor", "--from", "alice", "--hash", &document]);
    let finalized = json(anchored.lines().last().expect("output"));
    assert_eq!(finalized["status"], "finalized", "{anchored}");
    // Every compute node serves it with an attestation; the registry verified them.
    let nodes = json(&cli(&dir, &api, &["query", "nodes"]));
    let attested = nodes
        .as_array()
        .or_else(|| nodes["value"].as_array())
        .expect("nodes")
        .iter()
        .filter(|n| {
            n["runtimes"].as_array().is_some_and(|rs| rs.iter().any(|r| !r["tee"].is_null()))
        })
        .count();
    assert_eq!(attested, 4, "{nodes}");
    devnet.interrupt();
}
