//! The devnet's live view: one status line (height, epoch, ParaTime round, discrepancies,
//! nodes running) and a line for every discrepancy-detection event, so a user running
//! `atoll devnet --byzantine <mode>` can watch backups resolve what the byzantine node did.

use std::collections::HashMap;

use atoll_client::model::StateQuery;
use atoll_client::Client;
use atoll_node::NodeIdentity;
use serde_json::Value;

use super::children::Running;
use super::layout::{Manifest, NodeSpec};

/// Blocks whose events are read per tick at most (the rest are skipped, not queued).
const MAX_SCAN: u64 = 50;

/// What the view remembers between ticks.
pub(crate) struct Watch {
    client: Client,
    runtime: atoll_types::RuntimeId,
    names: HashMap<String, String>,
    scanned: Option<u64>,
    discrepancies: u64,
    failed_rounds: u64,
}

fn round_of(event: &Value) -> String {
    match &event["round"] {
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

impl Watch {
    /// A view through `client` of the devnet made of `nodes`.
    pub(crate) fn new(client: Client, manifest: &Manifest, nodes: &[NodeSpec]) -> Self {
        let names = nodes
            .iter()
            .filter_map(|spec| {
                let text = std::fs::read_to_string(spec.home.join("node.json")).ok()?;
                let identity: NodeIdentity = serde_json::from_str(&text).ok()?;
                Some((identity.node_id.to_string(), spec.name.clone()))
            })
            .collect();
        Self {
            client,
            runtime: manifest.runtime,
            names,
            scanned: None,
            discrepancies: 0,
            failed_rounds: 0,
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

    /// Reads the events of the blocks since the last tick; returns the lines to print and
    /// the status line.
    pub(crate) async fn tick(&mut self, nodes: &mut [Running]) -> (Vec<String>, String) {
        let up = nodes.iter_mut().map(Running::alive).filter(|alive| *alive).count();
        let mut lines = Vec::new();
        let status = self.client.status().await;
        let chain = match &status {
            Ok(s) => format!("height {} · epoch {}", s.height, s.epoch),
            Err(_) => "client node not answering".to_owned(),
        };
        if let Ok(s) = &status {
            let from = match self.scanned {
                Some(last) => (last + 1).max(s.height.saturating_sub(MAX_SCAN - 1)),
                None => s.height.max(1),
            };
            for height in from..=s.height {
                let Ok(events) = self.client.events(height).await else { break };
                for item in events.events {
                    if item.event["module"].as_str() == Some("roothash") {
                        if let Some(line) = self.describe(height, &item.event["event"]) {
                            lines.push(line);
                        }
                    }
                }
                self.scanned = Some(height);
            }
        }
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
        (lines, line)
    }
}
