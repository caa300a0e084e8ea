//! The FHE ParaTime over real nodes: `atoll devnet --fhe` runs it on the compute nodes
//! (each ParaTime process passes the known-answer test first); with the `atoll fhe`
//! commands a key holder generates a key set, uploads it to the client node and registers
//! it (the compute nodes fetch it from their peers by its id) and deploys a private vote,
//! three accounts cast encrypted, proven ballots, the owner closes the vote and decrypts
//! the tallies the committee computed on ciphertext, and publishes the winner's. Then a
//! sealed-bid auction (three bids, the winner revealed only at close) and a confidential
//! token (mint, transfer, an overdraft that moves nothing, the auditor's audits). Between
//! steps, someone without the client key finds only ciphertext in every compute node's
//! state.

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
/// Nodes (1 validator, 3 compute nodes, the client), 10 ports each, then the Ethereum
/// JSON-RPC port.
const PORTS: u16 = 5 * 10 + 1;

/// The devnet process and its stdout lines (kept open: the devnet prints until it stops).
struct Devnet(Child, Option<mpsc::Receiver<String>>);

impl Drop for Devnet {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = kill(Pid::from_raw(self.0.id() as i32), Signal::SIGINT);
            let deadline = Instant::now() + Duration::from_secs(60);
            while self.0.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `atoll devnet --fhe` and waits for its summary.
fn start(dir: &Path, base: u16) -> (Devnet, String) {
    let mut child = Command::new(ATOLL)
        .args(["devnet", "--dir", dir.to_str().expect("utf-8"), "--fhe"])
        .args(["--validators", "1", "--compute", "3", "--accounts", "4"])
        .args(["--base-port", &base.to_string()])
        .args(["--eth-rpc-port", &(base + PORTS - 1).to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start atoll devnet");
    let stdout = child.stdout.take().expect("stdout");
    let mut devnet = Devnet(child, None);
    let (send, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut summary = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                summary.push_str(&line);
                summary.push('\n');
                if line.starts_with("  Try, in another terminal") {
                    devnet.1 = Some(lines);
                    return (devnet, summary);
                }
            }
            Err(_) => panic!("devnet not ready; output so far:\n{summary}"),
        }
    }
}

/// Runs `atoll … --output json <args>` against the devnet; the last JSON line it printed.
fn cli(dir: &Path, api: &str, args: &[&str]) -> Value {
    let keys = dir.join("keys");
    let out = Command::new(ATOLL)
        .args(["--api", api, "--keys-dir", keys.to_str().expect("utf-8"), "--output", "json"])
        .args(args)
        .env("ATOLL_FHE_SETUP", dir.join("fhe/setup.crs"))
        .output()
        .expect("run atoll");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "atoll {args:?}: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().rfind(|l| l.starts_with('{')).expect("JSON output");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {last}"))
}

fn finalized(answer: &Value) {
    assert_eq!(answer["status"], "finalized", "{answer}");
    assert!(answer["outcome"]["error"].is_null(), "{answer}");
}

#[test]
fn the_demo_programs_run_on_the_devnet_and_only_the_key_holder_reads_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("devnet");
    let base = free_base(PORTS);
    let api = format!("127.0.0.1:{}", base + 41);
    let (_devnet, summary) = start(&dir, base);
    assert!(summary.contains("INSECURE proof setup"), "{summary}");

    let started = Instant::now();
    let step = |what: &str| eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());
    let keygen = cli(&dir, &api, &["fhe", "keygen"]);
    step("key set generated");
    let key_set = keygen["key_set"].as_str().expect("key set id").to_owned();
    finalized(&cli(&dir, &api, &["fhe", "register", "--from", "alice", "--key-set", &key_set]));
    let deployed = cli(
        &dir,
        &api,
        &["fhe", "deploy", "--from", "alice", "--key-set", &key_set, "vote", "--candidates", "3"],
    );
    let contract = deployed["contract"].as_u64().expect("contract id").to_string();
    let contract = contract.as_str();
    step("key set registered, vote deployed");

    for (voter, choice) in [("bob", "u8:2"), ("carol", "u8:0"), ("dave", "u8:2")] {
        let args = [
            "fhe",
            "call",
            "--from",
            voter,
            "--contract",
            contract,
            "--function",
            "vote",
            "--input",
            choice,
        ];
        finalized(&cli(&dir, &api, &args));
        step(&format!("{voter}'s ballot finalized"));
    }
    // A tally on chain is ciphertext: someone without the client key (none published)
    // cannot read it, on any compute node.
    let outsider = Outsider::new(tmp.path(), &summary);
    outsider.sees_ciphertext(contract, 2, None);

    finalized(&cli(
        &dir,
        &api,
        &["fhe", "call", "--from", "alice", "--contract", contract, "--function", "close"],
    ));
    let tallies: Vec<u64> = (0..3)
        .map(|label| {
            let label = label.to_string();
            let reveal =
                cli(&dir, &api, &["fhe", "reveal", "--contract", contract, "--label", &label]);
            reveal["value"].as_u64().unwrap_or_else(|| panic!("decrypted: {reveal}"))
        })
        .collect();
    assert_eq!(tallies, vec![1, 0, 2]);
    step("closed, tallies decrypted");

    finalized(&cli(
        &dir,
        &api,
        &["fhe", "publish", "--from", "alice", "--contract", contract, "--label", "2"],
    ));
    let reveal = cli(&dir, &api, &["fhe", "reveal", "--contract", contract, "--label", "2"]);
    assert_eq!(reveal["published"].as_u64(), Some(2), "{reveal}");
    step("winner published");

    // A sealed-bid auction over the same key set: the highest bid and its bidder stay
    // ciphertext until the owner closes it.
    let deployed =
        cli(&dir, &api, &["fhe", "deploy", "--from", "alice", "--key-set", &key_set, "auction"]);
    let auction = deployed["contract"].as_u64().expect("contract id").to_string();
    let auction = auction.as_str();
    for (bidder, bid) in [("bob", "u32:700"), ("carol", "u32:950"), ("dave", "u32:800")] {
        let args = [
            "fhe",
            "call",
            "--from",
            bidder,
            "--contract",
            auction,
            "--function",
            "bid",
            "--input",
            bid,
        ];
        finalized(&cli(&dir, &api, &args));
    }
    outsider.sees_ciphertext(auction, 0, None);
    outsider.sees_ciphertext(auction, 1, None);
    step("auction: three sealed bids");
    finalized(&cli(
        &dir,
        &api,
        &["fhe", "call", "--from", "alice", "--contract", auction, "--function", "close"],
    ));
    let revealed = |contract: &str, label: &str| -> u64 {
        let reveal = cli(&dir, &api, &["fhe", "reveal", "--contract", contract, "--label", label]);
        reveal["value"].as_u64().unwrap_or_else(|| panic!("decrypted: {reveal}"))
    };
    assert_eq!(revealed(auction, "0"), 950);
    let carol = outsider.address("carol");
    assert_eq!(revealed(auction, "1"), atoll_fhe::module::state::account_tag(&carol));
    step("auction closed: carol's bid of 950 won");

    // A confidential token audited by its key holder: balances are ciphertext, and an
    // overdraft moves nothing (decided on ciphertext).
    let deployed =
        cli(&dir, &api, &["fhe", "deploy", "--from", "alice", "--key-set", &key_set, "token"]);
    let token = deployed["contract"].as_u64().expect("contract id").to_string();
    let token = token.as_str();
    let call = |from: &str, function: &str, account: &str, input: Option<&str>| {
        let mut args = vec![
            "fhe",
            "call",
            "--from",
            from,
            "--contract",
            token,
            "--function",
            function,
            "--account",
            account,
        ];
        if let Some(input) = input {
            args.extend(["--input", input]);
        }
        finalized(&cli(&dir, &api, &args));
    };
    call("alice", "mint", "bob", Some("u32:500"));
    call("bob", "transfer", "carol", Some("u32:200"));
    call("carol", "transfer", "dave", Some("u32:1000"));
    step("token: minted, transferred, an overdraft tried");
    for who in ["bob", "carol", "dave"] {
        outsider.sees_ciphertext(token, 0, Some(who));
    }
    let mut audited = Vec::new();
    for who in ["bob", "carol", "dave"] {
        call("alice", "audit", who, None);
        audited.push(revealed(token, "0"));
    }
    assert_eq!(audited, vec![300, 200, 0]);
    step("token audited");
}

/// Someone with no client key, asking every compute node of the devnet.
struct Outsider {
    keys: std::path::PathBuf,
    apis: Vec<String>,
    accounts: Vec<(String, String)>,
}

impl Outsider {
    /// An empty keys directory under `tmp`; the compute nodes' APIs and the accounts from the
    /// devnet's `summary`.
    fn new(tmp: &Path, summary: &str) -> Self {
        let keys = tmp.join("outsider-keys");
        std::fs::create_dir_all(&keys).expect("dir");
        let mut apis = Vec::new();
        let mut accounts = Vec::new();
        for line in summary.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [name, api, ..] if name.starts_with("compute-") => apis.push((*api).to_owned()),
                [name, address, ..] if address.starts_with("atoll1") => {
                    accounts.push(((*name).to_owned(), (*address).to_owned()));
                }
                _ => {}
            }
        }
        assert_eq!(apis.len(), 3, "{summary}");
        Self { keys, apis, accounts }
    }

    fn address(&self, name: &str) -> atoll_types::Address {
        let (_, address) = self.accounts.iter().find(|(n, _)| n == name).expect("a devnet account");
        address.parse().expect("address")
    }

    /// Every compute node stores `slot` of `contract` (for `account`) as a ciphertext this
    /// outsider cannot decrypt.
    fn sees_ciphertext(&self, contract: &str, slot: u16, account: Option<&str>) {
        let slot = slot.to_string();
        let address = account.map(|name| self.address(name).to_string());
        for api in &self.apis {
            let mut args = vec!["fhe", "value", "--contract", contract, "--slot", &slot];
            if let Some(address) = &address {
                args.extend(["--account", address]);
            }
            // A node may store the finalized round a moment after the client node.
            let deadline = Instant::now() + Duration::from_secs(60);
            let seen = loop {
                let out = Command::new(ATOLL)
                    .args(["--api", api, "--keys-dir", self.keys.to_str().expect("utf-8")])
                    .args(["--output", "json"])
                    .args(&args)
                    .output()
                    .expect("run atoll");
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                let seen: Value = serde_json::from_slice(&out.stdout).expect("json");
                if seen["stored"] == true || Instant::now() > deadline {
                    break seen;
                }
                std::thread::sleep(Duration::from_millis(500));
            };
            assert_eq!(seen["stored"], true, "{api}: {seen}");
            assert!(seen["value"].is_null(), "{api}: {seen}");
            assert!(seen["ciphertext_bytes"].as_u64().expect("size") > 10_000, "{api}: {seen}");
        }
    }
}
