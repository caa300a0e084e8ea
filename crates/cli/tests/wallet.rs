//! The CLI wallet end to end against a real `atoll node` process: keys, transfer, delegate,
//! undelegate, queries, a governance proposal and a vote, all with `--output json` parsed
//! here; a failing transaction exits non-zero with one line naming the module and code.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{atoll, atoll_output, free_port_triple, Node};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(120);

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Runs a wallet command with `--output json` and parses its output.
fn json(keys: &Path, api: &str, args: &[&str]) -> Value {
    let mut all = vec!["--keys-dir", p(keys), "--api", api, "--output", "json"];
    all.extend_from_slice(args);
    let out = atoll_output(&all);
    assert!(
        out.status.success(),
        "atoll {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// Runs a wallet command in its human mode and returns what it printed.
fn text(keys: &Path, api: &str, args: &[&str]) -> String {
    let mut all = vec!["--keys-dir", p(keys), "--api", api];
    all.extend_from_slice(args);
    let out = atoll_output(&all);
    assert!(out.status.success(), "atoll {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A JSON integer, or a decimal string (how u128 values are shown).
fn number(value: &Value) -> u128 {
    value
        .as_u64()
        .map(u128::from)
        .or_else(|| value.as_str()?.parse().ok())
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

#[test]
fn the_wallet_transfers_delegates_undelegates_queries_and_votes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("keys");
    let port = free_port_triple();
    let api = format!("127.0.0.1:{}", port + 1);
    let home = dir.path().join("node");
    let genesis = dir.path().join("genesis.json");
    atoll(&[
        "genesis",
        "new",
        "--out",
        p(&genesis),
        "--chain-id",
        "wallet-e2e",
        "--epoch-interval",
        "1000",
    ]);
    atoll(&[
        "init",
        "--home",
        p(&home),
        "--p2p-port",
        &port.to_string(),
        "--listen-host",
        "127.0.0.1",
    ]);
    atoll(&[
        "genesis",
        "add-validator",
        "--genesis",
        p(&genesis),
        "--node",
        p(&home),
        "--escrow",
        "1000",
    ]);

    // Keys: new, show, list, export and import round trip.
    let alice = json(&keys, &api, &["keys", "new", "alice"]);
    let alice_address = alice["address"].as_str().expect("address").to_owned();
    let bob = json(&keys, &api, &["keys", "new", "bob"]);
    let bob_address = bob["address"].as_str().expect("address").to_owned();
    assert_eq!(json(&keys, &api, &["keys", "show", "alice"])["address"], alice["address"]);
    assert_eq!(json(&keys, &api, &["keys", "list"]).as_array().expect("list").len(), 2);
    let seed =
        json(&keys, &api, &["keys", "export", "bob"])["seed"].as_str().expect("seed").to_owned();
    let seed_file = dir.path().join("bob.seed");
    std::fs::write(&seed_file, &seed).expect("seed file");
    let copy = json(&keys, &api, &["keys", "import", "bob-copy", "--seed-file", p(&seed_file)]);
    // [S] finding 18: the seed is never an argument (other users see the command line).
    let on_argv = atoll_output(&["--keys-dir", p(&keys), "keys", "import", "x", "--seed", &seed]);
    assert!(!on_argv.status.success(), "a seed on the command line is refused");
    assert_eq!(copy["address"], bob["address"]);
    let refused = atoll_output(&["--keys-dir", p(&keys), "keys", "new", "alice"]);
    assert!(!refused.status.success(), "an existing key is never overwritten");

    atoll(&[
        "genesis",
        "add-balance",
        "--genesis",
        p(&genesis),
        "--address",
        &alice_address,
        "--amount",
        "1000",
    ]);
    std::fs::copy(&genesis, home.join("genesis.json")).expect("genesis");
    let mut node = Node { home: home.clone(), metrics_port: port + 2, child: None };
    node.spawn();
    let deadline = Instant::now() + LIMIT;
    while node.height().is_none_or(|h| h < 2) {
        assert!(Instant::now() < deadline, "the node makes blocks");
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = json(&keys, &api, &["query", "status"]);
    assert_eq!(status["chain_id"], "wallet-e2e");

    // Transfer 1.5 tokens; the recipient sees exactly that.
    let sent = json(
        &keys,
        &api,
        &["tx", "transfer", "--from", "alice", "--to", &bob_address, "--amount", "1.5"],
    );
    assert_eq!(sent["status"], "committed");
    assert_eq!(sent["tx"]["result"]["ok"], true);
    let account = json(&keys, &api, &["query", "account", "bob"]);
    assert_eq!(account["balance"], "1.5 ATL");
    assert_eq!(account["account"]["general"]["balance"], "1500000000");

    // Delegate to the validator's entity, then undelegate half the shares.
    let identity: Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("node.json")).expect("node.json"))
            .expect("identity");
    let entity = identity["entity_address"].as_str().expect("entity").to_owned();
    json(
        &keys,
        &api,
        &["tx", "delegate", "--from", "alice", "--escrow", &entity, "--amount", "10"],
    );
    let delegations = json(&keys, &api, &["query", "delegations", "alice"]);
    let shares = number(&delegations["delegations"][0]["shares"]);
    assert!(shares > 0);
    json(
        &keys,
        &api,
        &[
            "tx",
            "undelegate",
            "--from",
            "alice",
            "--escrow",
            &entity,
            "--shares",
            &(shares / 2).to_string(),
        ],
    );
    let delegations = json(&keys, &api, &["query", "delegations", "alice"]);
    assert_eq!(delegations["debonding"].as_array().expect("debonding").len(), 1);
    assert_eq!(number(&delegations["delegations"][0]["shares"]), shares - shares / 2);
    // What the shares are worth, in tokens; in words for people.
    assert_eq!(delegations["delegations"][0]["amount"], "5 ATL", "{delegations}");
    assert_eq!(delegations["debonding"][0]["amount"], "5 ATL", "{delegations}");
    let shown = text(&keys, &api, &["query", "delegations", "alice"]);
    assert!(shown.contains(&format!("to {entity}: 5 ATL")), "{shown}");
    assert!(shown.contains(&format!("debonding from {entity}: 5 ATL")), "{shown}");
    assert!(shown.contains("paid out at epoch"), "{shown}");

    // A proposal, and the validator's entity votes on it.
    json(
        &keys,
        &api,
        &[
            "tx",
            "submit-proposal",
            "--from",
            "alice",
            "--deposit",
            "1",
            "--upgrade",
            "v2",
            "--epoch",
            "50",
            "--version",
            "2.0.0",
        ],
    );
    // A parameter change names only the fields it changes.
    json(
        &keys,
        &api,
        &[
            "tx",
            "submit-proposal",
            "--from",
            "alice",
            "--deposit",
            "1",
            "--module",
            "staking",
            "--set",
            "debonding_interval=3",
        ],
    );
    let proposals = json(&keys, &api, &["query", "proposals"]);
    assert_eq!(proposals.as_array().expect("proposals").len(), 2, "{proposals}");
    let change = &proposals[1]["content"]["change_parameters"];
    assert_eq!(change["module"], "staking", "{proposals}");
    assert_eq!(change["changes"]["debonding_interval"], "3");
    let id = proposals[0]["id"].as_u64().expect("proposal id");
    let entity_key = home.join("keys").join("entity.key");
    let vote = json(
        &keys,
        &api,
        &["tx", "vote", "--from", p(&entity_key), "--proposal", &id.to_string(), "--vote", "yes"],
    );
    assert_eq!(vote["tx"]["result"]["ok"], true);

    // Queries of the registry and the chain answer.
    assert_eq!(json(&keys, &api, &["query", "validators"]).as_array().expect("set").len(), 1);
    assert_eq!(json(&keys, &api, &["query", "entities"]).as_array().expect("entities").len(), 1);
    assert_eq!(json(&keys, &api, &["query", "nodes"]).as_array().expect("nodes").len(), 1);
    let height = sent["height"].as_u64().expect("height");
    let block = json(&keys, &api, &["query", "block", &height.to_string()]);
    let hash = sent["hash"].as_str().expect("hash");
    assert!(block["transactions"].as_array().expect("txs").iter().any(|t| t["hash"] == hash));
    assert_eq!(json(&keys, &api, &["query", "tx", hash])["height"], height);
    let shown = text(&keys, &api, &["query", "block", &height.to_string()]);
    assert!(shown.contains(&format!("{hash} staking.Transfer from")), "{shown}");
    assert!(shown.contains(" UTC"), "times are dates: {shown}");

    // Overspending fails with one clear line naming the module and code; nothing moves.
    let out = atoll_output(&[
        "--keys-dir",
        p(&keys),
        "--api",
        &api,
        "tx",
        "transfer",
        "--from",
        "bob",
        "--to",
        &alice_address,
        "--amount",
        "5000",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("error") && stderr.contains("staking"), "{stderr}");
    assert_eq!(json(&keys, &api, &["query", "account", "bob"])["balance"], "1.5 ATL");
    node.kill();
}
