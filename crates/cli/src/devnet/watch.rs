//! The devnet's live view: one status line (height, epoch, ParaTime round, discrepancies,
//! nodes running) and a line for every discrepancy-detection event, so a user running
//! `atoll devnet --byzantine <mode>` can watch backups resolve what the byzantine node did.
//! The events come from the client node's WebSocket stream (roothash events only).

use std::collections::HashMap;
use std::time::Duration;

use atoll_client::model::{EventItem, StateQuery, StreamMessage, StreamQuery};
use atoll_client::Client;
use atoll_consensus::registry::types::NodeStatus;
use atoll_node::NodeIdentity;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::children::Running;
use super::layout::{Manifest, NodeSpec};

/// What the view remembers.
pub(crate) struct Watch {
    client: Client,
    runtime: atoll_types::RuntimeId,
    names: HashMap<String, String>,
    events: mpsc::Receiver<EventItem>,
    follower: JoinHandle<()>,
    discrepancies: u64,
    failed_rounds: u64,
    /// compute-0's node id and byzantine mode, when it runs one.
    byzantine: Option<(String, String)>,
    /// The last epoch whose committee was described.
    epoch_seen: Option<u64>,
}

/// Forwards the node's roothash events from height `from` on: those already committed
/// (start-up rounds, e.g. a byzantine node caught while the devnet was getting ready) read
/// block by block, then the live stream, reconnecting whenever it ends.
async fn follow(client: Client, from: u64, events: mpsc::Sender<EventItem>) {
    let query = StreamQuery {
        blocks: Some(false),
        events: Some(true),
        module: Some("roothash".to_owned()),
        involving: None,
    };
    let mut seen = from.saturating_sub(1);
    loop {
        if let Ok(mut stream) = client.stream(&query).await {
            // Heights committed before the stream opened are read block by block.
            let tip = client.status().await.map_or(seen, |s| s.height);
            for height in seen + 1..=tip {
                let Ok(past) = client.events(height).await else { break };
                for item in past.events {
                    if item.event["module"] == "roothash" && events.send(item).await.is_err() {
                        return;
                    }
                }
                seen = height;
            }
            while let Some(Ok(message)) = stream.next().await {
                if let StreamMessage::Event(item) = message {
                    if item.height <= seen {
                        continue;
                    }
                    if events.send(item).await.is_err() {
                        return;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn round_of(event: &Value) -> String {
    match &event["round"] {
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

impl Watch {
    /// A view through `client` of the devnet made of `nodes`.
    pub(crate) fn new(
        client: Client,
        from: u64,
        manifest: &Manifest,
        nodes: &[NodeSpec],
        byzantine: Option<&str>,
    ) -> Self {
        let names: HashMap<String, String> = nodes
            .iter()
            .filter_map(|spec| {
                let identity = NodeIdentity::load(&spec.home).ok()?;
                Some((identity.node_id.to_string(), spec.name.clone()))
            })
            .collect();
        let byzantine = byzantine.and_then(|mode| {
            let id = names.iter().find(|(_, name)| *name == "compute-0")?.0.clone();
            Some((id, mode.to_owned()))
        });
        let (send, events) = mpsc::channel(256);
        let follower = tokio::spawn(follow(client.clone(), from, send));
        Self {
            client,
            runtime: manifest.runtime,
            names,
            events,
            follower,
            discrepancies: 0,
            failed_rounds: 0,
            byzantine,
            epoch_seen: None,
        }
    }

    /// With a byzantine node, a line at every new epoch saying what it does in this epoch's
    /// committee of the ParaTime (and so whether its fault can show).
    pub(crate) async fn epoch_line(&mut self) -> Option<String> {
        let (id, mode) = self.byzantine.clone()?;
        let epoch = self.client.status().await.ok()?.epoch;
        if self.epoch_seen == Some(epoch) {
            return None;
        }
        let who = format!("compute-0 (BYZANTINE: {mode})");
        let Ok(committee) = self.client.committee(&self.runtime, StateQuery::default()).await
        else {
            return self.suspension_line(epoch, &id, &who).await;
        };
        let committee = committee.value;
        if committee.epoch.0 != epoch {
            return None; // elected at the epoch's first block: asked again next second
        }
        self.epoch_seen = Some(epoch);
        let primary = committee.workers.iter().position(|w| w.to_string() == id);
        let backup = committee.backup_workers.iter().any(|w| w.to_string() == id);
        let workers = committee.workers.len();
        Some(match (primary, backup) {
            (Some(i), _) => format!(
                "epoch {epoch}: {who} is primary worker {} of {workers}{}: its fault shows in the rounds of this epoch",
                i + 1,
                if backup { " and a backup worker" } else { "" }
            ),
            (None, true) => format!(
                "epoch {epoch}: {who} is only a backup worker: its fault shows if a discrepancy calls the backups"
            ),
            (None, false) => format!(
                "epoch {epoch}: {who} is not elected to the ParaTime's committee this epoch: nothing to see until it is"
            ),
        })
    }

    /// The line for an epoch without a committee: the ParaTime is suspended, and when the
    /// byzantine node is suspended from it (its liveness failures), that is why.
    async fn suspension_line(&mut self, epoch: u64, id: &str, who: &str) -> Option<String> {
        let path = format!("/v1/runtimes/{}/roothash", self.runtime);
        let state = self.client.state::<Value>(&path, StateQuery::default()).await.ok()?;
        if state.value["suspended"] != Value::Bool(true) {
            return None; // not elected yet: asked again next second
        }
        self.epoch_seen = Some(epoch);
        let status = self
            .client
            .state::<NodeStatus>(&format!("/v1/nodes/{id}/status"), StateQuery::default())
            .await
            .ok()?;
        let until = status.value.faults.get(&self.runtime).map(|f| f.suspended_until.0);
        Some(match until.filter(|u| *u > epoch) {
            Some(until) => format!(
                "epoch {epoch}: the ParaTime is suspended: {who} is suspended from it until epoch {until} (liveness failures), which leaves too few compute nodes to fill its committee; rounds resume at the first election with enough"
            ),
            None => format!(
                "epoch {epoch}: the ParaTime is suspended: too few eligible compute nodes to fill its committee this epoch"
            ),
        })
    }

    /// The next event worth a line of its own, as that line.
    pub(crate) async fn next_line(&mut self) -> String {
        loop {
            let Some(item) = self.events.recv().await else {
                return std::future::pending().await;
            };
            if let Some(line) = self.describe(item.height, &item.event["event"]) {
                return line;
            }
        }
    }

    fn name(&self, key: &Value) -> String {
        let key = key.as_str().unwrap_or_default();
        self.names.get(key).cloned().unwrap_or_else(|| format!("{}…", &key[..key.len().min(12)]))
    }

    /// Describes a roothash event worth a line of its own.
    fn describe(&mut self, height: u64, event: &Value) -> Option<String> {
        let runtime = self.runtime.to_string();
        let (kind, body) = event.as_object()?.iter().next()?;
        if body["runtime"].as_str() != Some(runtime.as_str()) {
            return None;
        }
        let round = round_of(body);
        match kind.as_str() {
            "execution_discrepancy_detected" => {
                self.discrepancies += 1;
                let cause = if body["timeout"].as_bool() == Some(true) {
                    "a primary worker timed out"
                } else {
                    "the primary workers disagree"
                };
                Some(format!(
                    "height {height}: ParaTime round {round}: discrepancy detected ({cause}); backup workers re-execute {}'s batch",
                    self.name(&body["scheduler"])
                ))
            }
            "finalized" if body["discrepancy"].as_bool() == Some(true) => {
                let bad: Vec<String> =
                    body["bad"].as_array().into_iter().flatten().map(|k| self.name(k)).collect();
                Some(format!(
                    "height {height}: ParaTime round {round}: finalized by the backup workers{}",
                    if bad.is_empty() {
                        String::new()
                    } else {
                        format!("; wrong results from {} (slashed)", bad.join(", "))
                    }
                ))
            }
            "round_failed" => {
                self.failed_rounds += 1;
                Some(format!("height {height}: ParaTime round {round} failed; the next round builds on the last good state"))
            }
            _ => None,
        }
    }

    /// The status line.
    pub(crate) async fn status(&self, nodes: &mut [Running]) -> String {
        let up = nodes.iter_mut().map(Running::alive).filter(|alive| *alive).count();
        let chain = match self.client.status().await {
            Ok(s) => format!("height {} · epoch {}", s.height, s.epoch),
            Err(_) => "client node not answering".to_owned(),
        };
        let round = match self.client.roothash(&self.runtime, StateQuery::default()).await {
            Ok(r) => format!("ParaTime round {} ({})", r.value.round, r.value.header_type),
            Err(_) => "ParaTime round ?".to_owned(),
        };
        let mut line = format!("{chain} · {round}");
        if self.discrepancies > 0 || self.failed_rounds > 0 {
            line.push_str(&format!(
                " · {} discrepancies, {} failed rounds",
                self.discrepancies, self.failed_rounds
            ));
        }
        line.push_str(&format!(" · {up}/{} nodes running · Ctrl-C stops", nodes.len()));
        line
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.follower.abort();
    }
}
