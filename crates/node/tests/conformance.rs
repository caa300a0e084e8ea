//! The API against its own OpenAPI document, checked by a client nobody here wrote:
//! schemathesis (PyPI, installed by `clients/openapi/install.sh` on first use) runs
//! every check it has — server errors, statuses, content types, headers and response
//! schemas against the document, schema-valid requests accepted and schema-violating ones
//! refused, unsupported methods — over every operation, in its coverage, fuzzing and
//! stateful phases, against a live node with a transfer in its history. Configuration, and
//! why each exception is there: `clients/openapi/schemathesis.toml`. Then a typed client is
//! generated from the document (pydantic models by datamodel-code-generator, undocumented
//! fields forbidden) and the node's answers are read with it
//! (`clients/openapi/typed_client.py`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use atoll_client::tx::SendOptions;
use atoll_client::Client;
use atoll_consensus::staking::methods::{self, Transfer};
use atoll_types::{Address, Amount, Signer};
use common::{testnet, wait_for_height, TOKEN};

const LIMIT: Duration = Duration::from_secs(60);

/// The OpenAPI kit (schemathesis, datamodel-code-generator): installed with its own
/// script if missing.
fn kit() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/openapi");
    if !dir.join(".venv/bin/datamodel-codegen").exists() {
        let installed = Command::new(dir.join("install.sh")).status().expect("install.sh");
        assert!(installed.success(), "clients/openapi/install.sh failed");
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_as_its_openapi_document_says() {
    let net = testnet(1, 0, &[], 1_000);
    let node = net.start(0).await;
    let (address, api) = net.serve_api(0, &node, |c| c.rate_limit_per_second = 0).await;
    wait_for_height(&[&node], 2, LIMIT).await;

    // A transfer, so that an account, a transaction and its events exist; the ids of what
    // exists go to schemathesis for the routes that would otherwise answer only 404.
    let keys = atoll_node::NodeKeys::load(net.home(0)).expect("keys");
    let sender = keys.entity;
    let from = Address::from_public_key(&sender.public_key());
    let client = Client::new(&address.to_string()).expect("client");
    let to = Address::from_public_key(&atoll_crypto::MemorySigner::from_seed([4; 32]).public_key());
    let transfer = Transfer { to, amount: Amount::new(TOKEN) };
    let sent = client
        .send(&sender, methods::TRANSFER, &transfer, SendOptions::default())
        .await
        .expect("transfer");
    let height = sent.included.and_then(|t| t.height).expect("committed");
    let block = client.block(height).await.expect("its block");
    let ids = [
        ("ATOLL_ENTITY", sender.public_key().to_string()),
        ("ATOLL_NODE", keys.identity.public_key().to_string()),
        ("ATOLL_TX", sent.hash.to_string()),
        ("ATOLL_BLOCK", block.id.to_string()),
    ];

    let kit = kit();
    let (api_url, account) = (format!("http://{address}"), from.to_string());
    let runs = tokio::task::spawn_blocking(move || {
        // Its run cache goes under target/, not into the source tree.
        let schemathesis = Command::new(kit.join(".venv/bin/st"))
            .current_dir(env!("CARGO_TARGET_TMPDIR"))
            .arg("--config-file")
            .arg(kit.join("schemathesis.toml"))
            .args(["run", &format!("{api_url}/openapi.json"), "--checks", "all"])
            .args(["--max-examples", "25", "--workers", "1", "--seed", "7", "--no-color"])
            .env("ATOLL_ADDRESS", &account)
            .envs(ids)
            .output()
            .expect("schemathesis runs");
        let typed = Command::new(kit.join(".venv/bin/python"))
            .arg(kit.join("typed_client.py"))
            .args([&api_url, &account])
            .output()
            .expect("the typed client runs");
        (schemathesis, typed)
    })
    .await
    .expect("joined");
    let (schemathesis, typed) = runs;
    let report = String::from_utf8_lossy(&schemathesis.stdout);
    println!("{report}");
    assert!(schemathesis.status.success(), "schemathesis found failures:\n{report}");
    assert!(report.contains("passed"), "schemathesis ran no test:\n{report}");
    let read = String::from_utf8_lossy(&typed.stdout);
    assert!(
        typed.status.success(),
        "the generated client could not read the answers:\n{read}\n{}",
        String::from_utf8_lossy(&typed.stderr)
    );
    assert!(read.contains("1 delegation(s)"), "the typed client read the account:\n{read}");
    api.abort();
    node.shutdown().await;
}
