//! The node API against a running in-process network: every endpoint, proofs verified by
//! the client against a trusted app hash, the WebSocket stream, the OpenAPI document, and
//! bad requests answered with 4xx JSON errors that change nothing.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use atoll_client::model::{StateQuery, StreamMessage, StreamQuery};
use atoll_client::tx::SendOptions;
use atoll_client::{queries, verify, Client, ClientError};
use atoll_consensus::staking::methods::{self, AddEscrow, Transfer};
use atoll_consensus::staking::query as staking;
use atoll_consensus::{beacon, chain, governance, registry, scheduler, Fee, Transaction};
use atoll_engine::bft::NodeHandle;
use atoll_types::{Address, Amount, Signer};
use common::{testnet, wait_for_height, Testnet, TOKEN};

const LIMIT: Duration = Duration::from_secs(60);

struct Running {
    net: Testnet,
    node: NodeHandle,
    client: Client,
    api: tokio::task::JoinHandle<()>,
}

async fn running() -> Running {
    let net = testnet(1, 0, &[], 1_000);
    let node = net.start(0).await;
    let (address, api) = net.serve_api(0, &node, |c| c.max_body_bytes = 64 * 1024).await;
    let client = Client::new(&address.to_string()).expect("client");
    wait_for_height(&[&node], 2, LIMIT).await;
    Running { net, node, client, api }
}

impl Running {
    fn sender(&self) -> atoll_crypto::FileSigner {
        atoll_node::NodeKeys::load(self.net.home(0)).expect("keys").entity
    }

    async fn stop(self) {
        self.api.abort();
        self.node.shutdown().await;
    }
}

fn proven() -> StateQuery {
    StateQuery { height: None, proof: Some(true) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_endpoint_answers_and_proofs_verify_against_a_trusted_app_hash() {
    let run = running().await;
    let client = &run.client;
    let sender = run.sender();
    let from = Address::from_public_key(&sender.public_key());
    let to = Address::from_public_key(&atoll_crypto::MemorySigner::from_seed([7; 32]).public_key());

    // The stream sees the transfer's block and its event.
    let mut stream = client
        .stream(&StreamQuery { involving: Some(to.to_string()), ..StreamQuery::default() })
        .await
        .expect("stream");

    let status = client.status().await.expect("status");
    assert_eq!(status.chain_id, "atoll-testnet");
    assert_eq!(status.chain_context, run.node.chain_context());
    assert!(status.height >= 2 && status.validators == 1 && !status.catching_up);

    let sent = client
        .send(
            &sender,
            methods::TRANSFER,
            &Transfer { to, amount: Amount::new(3 * TOKEN) },
            SendOptions::default(),
        )
        .await
        .expect("transfer");
    let included = sent.included.expect("waited");
    let height = included.height.expect("committed");
    let summary = included.tx.expect("decoded");
    assert_eq!(summary.sender, Some(from));
    assert_eq!(summary.method.as_deref(), Some(methods::TRANSFER));
    assert!(summary.result.expect("result").ok);
    assert!(included.events.iter().any(|e| e.to_string().contains(&to.to_string())));

    // The node timed the transfer from its admission to its commit.
    let finality = client.status().await.expect("status").finality.expect("a latency measured");
    assert!(finality.samples >= 1 && finality.p50_ms <= finality.p99_ms, "{finality:?}");

    let block = client.block(height).await.expect("block");
    assert!(block.transactions.iter().any(|t| t.hash == sent.hash));
    assert_eq!(client.block_by_id(&block.id).await.expect("by id"), block);
    assert!(client.latest_block().await.expect("latest").height >= height);
    let events = client.events(height).await.expect("events");
    assert!(events.events.iter().any(|e| e.tx_hash == Some(sent.hash)));
    // The sender's transactions, newest first, the body decoded by method.
    let url = format!("{}/v1/accounts/{from}/transactions", client.base());
    let mine: serde_json::Value =
        reqwest::get(url).await.expect("GET").json().await.expect("transactions");
    let newest = &mine["transactions"][0];
    assert_eq!(newest["height"], height);
    assert_eq!(newest["tx"]["hash"], sent.hash.to_string());
    assert_eq!(newest["tx"]["decoded"]["to"], to.to_string(), "{newest}");

    let mut saw_block = false;
    let mut saw_event = false;
    while !(saw_block && saw_event) {
        let message = tokio::time::timeout(LIMIT, stream.next())
            .await
            .expect("stream message in time")
            .expect("stream open")
            .expect("message");
        match message {
            StreamMessage::Block { tx_hashes, .. } => saw_block |= tx_hashes.contains(&sent.hash),
            StreamMessage::Event(item) => {
                assert!(item.event.to_string().contains(&to.to_string()), "filtered");
                saw_event |= item.tx_hash == Some(sent.hash);
            }
        }
    }

    // Delegate, so delegation queries have something to prove.
    let escrow = Address::from_public_key(&sender.public_key());
    client
        .send(
            &sender,
            methods::ADD_ESCROW,
            &AddEscrow { escrow, amount: Amount::new(10 * TOKEN) },
            SendOptions::default(),
        )
        .await
        .expect("delegate");

    // Proven reads at a fixed height, checked against the next block's app hash.
    let at = client.status().await.expect("status").height;
    let trusted = client.block(at + 1).await;
    let trusted = match trusted {
        Ok(b) => b.app_hash,
        Err(_) => {
            client.wait_for_height(at + 1, LIMIT).await.expect("next block");
            client.block(at + 1).await.expect("next block").app_hash
        }
    };
    let q = StateQuery { height: Some(at), proof: Some(true) };

    let account = client.account(&to, q).await.expect("account");
    assert_eq!(account.value.general.balance, Amount::new(3 * TOKEN));
    verify(&account, &trusted, |s| staking::account(s, &to)).expect("account proof");
    // A proof is only as good as the root it is checked against.
    let wrong = atoll_types::Hash::digest(b"not the app hash");
    assert!(matches!(
        verify(&account, &wrong, |s| staking::account(s, &to)),
        Err(ClientError::Proof(_))
    ));
    let mut lie = account.clone();
    lie.value.general.balance = Amount::new(1_000_000 * TOKEN);
    assert!(matches!(
        verify(&lie, &trusted, |s| staking::account(s, &to)),
        Err(ClientError::Proof(_))
    ));

    let delegations = client.delegations(&from, q).await.expect("delegations");
    assert!(delegations.value.iter().any(|(e, _)| *e == escrow));
    verify(&delegations, &trusted, |s| staking::delegations_from(s, &from)).expect("proof");
    let delegators = client.delegators(&escrow, q).await.expect("delegators");
    verify(&delegators, &trusted, |s| staking::delegations_to(s, &escrow)).expect("proof");
    // [S] finding 11: lists are paged; the page after the last delegator is empty, and it
    // is proven like the first.
    let last = delegators.value.last().expect("a delegator").0;
    let page = atoll_client::model::ListQuery {
        after: Some(last.to_string()),
        ..atoll_client::model::ListQuery::from(q)
    };
    let next = client.delegators(&escrow, page).await.expect("next page");
    assert!(next.value.is_empty(), "{:?}", next.value);
    verify(&next, &trusted, |s| staking::delegations_to_after(s, &escrow, Some(&last)))
        .expect("proof of the next page");
    let debonding = client.debonding_delegations(&from, q).await.expect("debonding");
    verify(&debonding, &trusted, |s| staking::debonding_delegations(s, &from)).expect("proof");
    // Debonding pages are keyed by escrow and end epoch.
    let page = atoll_client::model::ListQuery {
        after: Some(format!("{escrow}:0")),
        ..atoll_client::model::ListQuery::from(q)
    };
    let next = client.debonding_delegations(&from, page).await.expect("next page");
    verify(&next, &trusted, |s| {
        staking::debonding_delegations_after(s, &from, Some((&escrow, atoll_types::Epoch(0))))
    })
    .expect("proof of the page");
    let bad = atoll_client::model::ListQuery {
        after: Some("nonsense".into()),
        ..atoll_client::model::ListQuery::from(q)
    };
    assert!(
        client.debonding_delegations(&from, bad).await.is_err(),
        "a malformed cursor is refused"
    );
    let validators = client.validators(q).await.expect("validators");
    assert_eq!(validators.value.len(), 1);
    verify(&validators, &trusted, scheduler::validators).expect("proof");
    let entities = client.entities(q).await.expect("entities");
    verify(&entities, &trusted, registry::entities).expect("proof");
    let entity_id = entities.value[0].id;
    let entity = client.entity(&entity_id, q).await.expect("entity");
    verify(&entity, &trusted, |s| {
        registry::entity(s, &entity_id).map(|e| e.expect("proven present"))
    })
    .expect("proof");
    let nodes = client.nodes(q).await.expect("nodes");
    verify(&nodes, &trusted, registry::nodes).expect("proof");
    let node_id = nodes.value[0].id;
    let node = client.node(&node_id, q).await.expect("node");
    verify(&node, &trusted, |s| registry::node(s, &node_id).map(|n| n.expect("present")))
        .expect("proof");
    let runtimes = client.runtimes(q).await.expect("runtimes");
    verify(&runtimes, &trusted, registry::runtimes).expect("proof");
    let epoch = client.epoch(q).await.expect("epoch");
    assert_eq!(epoch.value.height, at);
    verify(&epoch, &trusted, queries::epoch).expect("proof");
    let beacon_state = client.beacon(q).await.expect("beacon");
    verify(&beacon_state, &trusted, beacon::beacon).expect("proof");
    let proposals = client.proposals(q).await.expect("proposals");
    verify(&proposals, &trusted, governance::proposals).expect("proof");
    let chain_info = client.chain(q).await.expect("chain");
    assert_eq!(chain_info.value.token.symbol, "ATL");
    verify(&chain_info, &trusted, chain::chain_info).expect("proof");

    // Unproven reads at the latest height, and the absent ones.
    assert!(client.account(&to, StateQuery::default()).await.expect("account").proof.is_none());
    let missing = atoll_types::RuntimeId::from_bytes([1; 32]);
    for result in [
        client.runtime(&missing, proven()).await.map(|_| ()),
        client.committee(&missing, proven()).await.map(|_| ()),
        client.proposal(99, proven()).await.map(|_| ()),
    ] {
        assert_eq!(result.expect_err("absent").status(), Some(404));
    }
    assert!(client.votes(99, proven()).await.expect("votes").value.is_empty());
    let pruned = client.account(&to, StateQuery { height: Some(1 << 40), proof: None }).await;
    assert_eq!(pruned.expect_err("future height").status(), Some(404));

    // A binary batch of one sender's consecutive nonces, checked on several threads and
    // admitted in order: every one is admitted and committed.
    let nonce = client.account(&from, StateQuery::default()).await.expect("account").value;
    let elsewhere =
        Address::from_public_key(&atoll_crypto::MemorySigner::from_seed([9; 32]).public_key());
    let raws: Vec<Vec<u8>> = (0..48)
        .map(|i| {
            let tx = Transaction::new(
                nonce.general.nonce + i,
                Fee { amount: Amount::new(10_000), gas: 10_000 },
                methods::TRANSFER,
                &Transfer { to: elsewhere, amount: Amount::new(1_000_000) },
            );
            atoll_client::tx::sign(&sender, &run.node.chain_context(), &tx)
        })
        .collect();
    let items = client.submit_batch_binary(&raws).await.expect("batch");
    let hashes: Vec<_> = items.iter().map(|i| i.hash.expect("admitted")).collect();
    client.wait_for_transaction(&hashes[47], LIMIT).await.expect("the last one committed");
    let moved = client.account(&elsewhere, StateQuery::default()).await.expect("account");
    assert_eq!(moved.value.general.balance, Amount::new(48_000_000));

    // The OpenAPI document lists exactly the served routes, and each one is served.
    let document = client.openapi().await.expect("openapi");
    let listed: BTreeSet<String> =
        document["paths"].as_object().expect("paths").keys().cloned().collect();
    let served: BTreeSet<String> = atoll_node::api::openapi().paths.paths.keys().cloned().collect();
    assert_eq!(listed, served);
    for expected in [
        "/v1/status",
        "/v1/blocks/{height}",
        "/v1/transactions",
        "/v1/transactions/estimate-gas",
        "/v1/accounts/{address}",
        "/v1/governance/proposals/{id}/votes",
        "/v1/ws",
        "/openapi.json",
    ] {
        assert!(listed.contains(expected), "{expected} documented");
    }
    let http = reqwest::Client::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        let concrete = path
            .replace("{height}", &height.to_string())
            .replace("{id}", &entity_id.to_string())
            .replace("{address}", &to.to_string())
            .replace("{hash}", &sent.hash.to_string());
        let url = format!("{}{concrete}", client.base());
        let response = if item.get("get").is_some() {
            http.get(&url).send().await
        } else {
            http.post(&url).json(&serde_json::json!({})).send().await
        }
        .expect("request");
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert_ne!(body["error"]["kind"], "no_route", "{path} is served");
        assert!(status < 500, "{path}: {status} {body}");
    }
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_get_4xx_json_errors_and_change_nothing() {
    let run = running().await;
    let client = &run.client;
    let base = client.base().to_owned();
    let http = reqwest::Client::new();
    let sender = run.sender();
    let from = Address::from_public_key(&sender.public_key());
    // One transaction first, so that an already used nonce exists.
    let to = Address::from_public_key(&atoll_crypto::MemorySigner::from_seed([8; 32]).public_key());
    client
        .send(
            &sender,
            methods::TRANSFER,
            &Transfer { to, amount: Amount::new(TOKEN) },
            SendOptions::default(),
        )
        .await
        .expect("transfer");
    let before = client.account(&from, StateQuery::default()).await.expect("account").value;
    let chain_context = run.node.chain_context();

    let post = |path: &'static str, body: String| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let response = http
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.expect("JSON error body");
            (status, body["error"]["kind"].as_str().unwrap_or_default().to_owned(), body)
        }
    };
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let response = http.get(url).send().await.expect("request");
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.expect("JSON error body");
            (status, body["error"]["kind"].as_str().unwrap_or_default().to_owned())
        }
    };

    // Malformed JSON, unknown fields, wrong types, bad hex, oversized bodies.
    assert_eq!(post("/v1/transactions", "{\"tx\": ".into()).await.0, 400);
    assert_eq!(post("/v1/transactions", "{\"tx\": \"00\", \"x\": 1}".into()).await.0, 400);
    assert_eq!(post("/v1/transactions", "{\"tx\": 5}".into()).await.0, 400);
    let (status, kind, _) = post("/v1/transactions", "{\"tx\": \"zz\"}".into()).await;
    assert_eq!((status, kind.as_str()), (400, "bad_request"));
    let big = format!("{{\"tx\": \"{}\"}}", "00".repeat(64 * 1024));
    let (status, kind, _) = post("/v1/transactions", big).await;
    assert_eq!((status, kind.as_str()), (413, "too_large"));
    let many = serde_json::json!({ "txs": vec!["00"; 1_001] }).to_string();
    assert_eq!(post("/v1/transactions/batch", many).await.0, 400);

    // Garbage bytes, a bad signature, a wrong nonce: refused with module and code.
    let (status, kind, body) = post("/v1/transactions", "{\"tx\": \"00\"}".into()).await;
    assert_eq!((status, kind.as_str()), (422, "rejected"));
    assert_eq!(body["error"]["module"], "core");
    let tx = |nonce: u64| {
        Transaction::new(
            nonce,
            Fee { amount: Amount::new(10_000), gas: 10_000 },
            methods::TRANSFER,
            &Transfer { to: from, amount: Amount::new(1) },
        )
    };
    let mut forged = atoll_client::tx::sign(&sender, &chain_context, &tx(before.general.nonce));
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let used_nonce = atoll_client::tx::sign(&sender, &chain_context, &tx(before.general.nonce - 1));
    let far_nonce =
        atoll_client::tx::sign(&sender, &chain_context, &tx(before.general.nonce + 1_000_000));
    for raw in [forged, used_nonce, far_nonce] {
        let error = client.submit(&raw).await.expect_err("refused");
        assert_eq!(error.status(), Some(422));
        let detail = error.detail().expect("detail");
        assert_eq!(detail.kind, "rejected");
        assert!(detail.code.is_some() && detail.module.is_some(), "{detail:?}");
    }
    let batch = client.submit_batch(&[vec![0u8], vec![1, 2, 3]]).await.expect("batch answered");
    assert!(batch.iter().all(|item| item.hash.is_none() && item.error.is_some()));
    // The binary batch: the same answers; a body that is not a borsh list, or too long a
    // list, is a 400.
    let binary =
        client.submit_batch_binary(&[vec![0u8], vec![1, 2, 3]]).await.expect("batch answered");
    assert_eq!(binary, batch);
    let binary_post = |body: Vec<u8>| {
        let http = http.clone();
        let url = format!("{base}/v1/transactions/batch/binary");
        async move {
            let response = http.post(url).body(body).send().await.expect("request");
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.expect("JSON error body");
            (status, body["error"]["kind"].as_str().unwrap_or_default().to_owned())
        }
    };
    for body in [vec![1, 0, 0], vec![0xff, 0xff, 0xff, 0xff, 1], vec![1, 0, 0, 0, 9, 0, 0, 0, 1]] {
        assert_eq!(binary_post(body).await, (400, "bad_request".into()));
    }
    let too_many = atoll_types::encode(&vec![vec![0u8]; 1_001]);
    assert_eq!(binary_post(too_many).await, (400, "bad_request".into()));

    // Bad paths and parameters.
    assert_eq!(get("/v1/nope".into()).await, (404, "no_route".into()));
    assert_eq!(get("/v1/blocks/abc".into()).await, (400, "bad_request".into()));
    assert_eq!(get("/v1/blocks/999999".into()).await, (404, "not_found".into()));
    assert_eq!(get("/v1/transactions/xyz".into()).await, (400, "bad_request".into()));
    assert_eq!(get("/v1/accounts/atoll1bogus".into()).await, (400, "bad_request".into()));
    assert_eq!(get(format!("/v1/accounts/{from}?colour=red")).await, (400, "bad_request".into()));
    assert_eq!(get(format!("/v1/accounts/{from}?height=-1")).await, (400, "bad_request".into()));
    for query in ["limit=0", "limit=101", "before=7", "before=a:b"] {
        let path = format!("/v1/accounts/{from}/transactions?{query}");
        assert_eq!(get(path).await, (400, "bad_request".into()), "{query}");
    }
    let path = format!("/v1/runtimes/{}/rounds?limit=0", "00".repeat(32));
    assert_eq!(get(path).await, (400, "bad_request".into()));
    assert_eq!(get("/v1/ws".into()).await, (400, "bad_request".into()));
    let response = http.delete(format!("{base}/v1/status")).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 405);
    let estimate = client.estimate_gas(&sender.public_key(), "staking.Nope", &[]).await;
    assert_eq!(estimate.expect_err("unknown method").status(), Some(422));

    // Nothing changed.
    let after = client.account(&from, StateQuery::default()).await.expect("account").value;
    assert_eq!(after, before);
    assert_eq!(run.node.mempool_len(), 0);
    run.stop().await;
}

/// [S] finding 11: WebSocket streams were unbounded, each decoding every block itself.
/// Past `max_streams` an upgrade is refused with 503, and a closed stream frees its place;
/// the streams that are open all see the same heights.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn streams_beyond_the_cap_are_refused() {
    let net = testnet(1, 0, &[], 1_000);
    let node = net.start(0).await;
    let (address, api) = net.serve_api(0, &node, |c| c.max_streams = 2).await;
    let client = Client::new(&address.to_string()).expect("client");
    let blocks = StreamQuery { events: Some(false), ..StreamQuery::default() };
    let mut first = client.stream(&blocks).await.expect("first stream");
    let mut second = client.stream(&blocks).await.expect("second stream");
    let refused = client.stream(&blocks).await.map(|_| ()).expect_err("a third is refused");
    assert!(refused.to_string().contains("503"), "{refused}");
    let height_of = |m: StreamMessage| match m {
        StreamMessage::Block { height, .. } => height,
        other => panic!("unexpected {other:?}"),
    };
    let a = height_of(
        tokio::time::timeout(LIMIT, first.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("message"),
    );
    let mut b = height_of(
        tokio::time::timeout(LIMIT, second.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("message"),
    );
    while b < a {
        b = height_of(
            tokio::time::timeout(LIMIT, second.next())
                .await
                .expect("in time")
                .expect("open")
                .expect("message"),
        );
    }
    drop(first);
    // The closed stream's place frees once the server sees it closed.
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(stream) = client.stream(&blocks).await {
            reopened = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reopened.is_some(), "a closed stream frees its place");
    api.abort();
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_explorer_is_served_with_a_content_security_policy_and_nothing_from_elsewhere() {
    let run = running().await;
    let base = run.client.base().to_owned();
    let http = reqwest::Client::new();
    let get = |path: &str| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move { http.get(url).send().await.expect("GET") }
    };
    let page = get("/explorer").await;
    assert_eq!(page.status(), 200);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    assert!(header(&page, "content-type").starts_with("text/html"));
    let policy = header(&page, "content-security-policy");
    assert!(
        policy.contains("default-src 'none'") && policy.contains("script-src 'self'"),
        "{policy}"
    );
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{policy}");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    let html = page.text().await.expect("html");
    assert!(html.contains(r#"<script type="module" src="/explorer/app.js">"#), "{html}");
    // No external resource: every URL in the page and its assets is this node's. Every
    // module app.js imports (and those they import) is served as JavaScript.
    let mut modules = vec!["app.js".to_owned()];
    let mut scripts = Vec::new();
    while let Some(name) = modules.pop() {
        if scripts.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let path = format!("/explorer/{name}");
        let asset = get(&path).await;
        assert_eq!(asset.status(), 200, "{name}");
        assert!(header(&asset, "content-type").starts_with("text/javascript"), "{name}");
        let text = asset.text().await.expect("js");
        for import in text.split("from \"./").skip(1) {
            modules.push(import.split('"').next().expect("module name").to_owned());
        }
        scripts.push((name, text));
    }
    assert!(scripts.len() >= 5, "the explorer's modules: {:?}", scripts.iter().map(|s| &s.0));
    let style = get("/explorer/style.css").await.text().await.expect("css");
    for text in scripts.iter().map(|(_, t)| t).chain([&html, &style]) {
        assert!(!text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"));
    }
    // Data reaches the page as text nodes only.
    for (name, script) in &scripts {
        assert!(!script.contains("innerHTML") && !script.contains("insertAdjacentHTML"), "{name}");
        assert!(!script.contains("eval(") && !script.contains("document.write"), "{name}");
    }
    // Unknown assets are API-style JSON 404s.
    let missing = get("/explorer/missing.js").await;
    assert_eq!(missing.status(), 404);
    assert!(header(&missing, "content-type").starts_with("application/json"));
    run.stop().await;
}
