//! Starting the ParaTime on a compute node: the proof setup from its file, where key sets
//! come from (a directory the operator fills, then the node's blob store), and the
//! known-answer test — a machine that does not compute the known answer
//! would diverge from every other worker, so it refuses to serve the ParaTime at all.

use std::path::PathBuf;
use std::time::Instant;

use crate::kat::{self, KNOWN_ANSWER};
use crate::module::keysets::{Directory, KeySetSource, KeySets, NodeBlobs, Sources};
use crate::setup::ProofSetup;
use crate::FheConfig;

/// How a node runs the ParaTime.
#[derive(Clone, Debug)]
pub struct NodeOptions {
    /// The proof setup file (the same on every node of the ParaTime).
    pub setup: PathBuf,
    /// The setup was derived from a public seed (a devnet's): say so.
    pub setup_insecure: bool,
    /// A directory of key sets this node has (`<id>.keyset`), asked before the node's blob
    /// store.
    pub key_sets: Option<PathBuf>,
}

/// Loads what `options` name and runs the known-answer test: the ParaTime's configuration,
/// or why this node must not serve it.
pub fn prepare(options: &NodeOptions) -> Result<FheConfig, String> {
    let path = options.setup.display();
    let bytes = std::fs::read(&options.setup).map_err(|e| format!("proof setup {path}: {e}"))?;
    let mut setup =
        ProofSetup::from_bytes(&bytes).map_err(|e| format!("proof setup {path}: {e}"))?;
    setup.insecure = options.setup_insecure;
    if setup.insecure {
        eprintln!("atoll-fhe: INSECURE proof setup {} (derived from a public seed)", setup.id);
    }
    let started = Instant::now();
    let answer = kat::run().map_err(|e| format!("known-answer test: {e}"))?;
    if answer.to_string() != KNOWN_ANSWER {
        return Err(format!(
            "known-answer test: this machine computes {answer}, the ParaTime's answer is \
             {KNOWN_ANSWER}; its results would differ from every other worker's (needs x86-64 \
             with AVX2 and FMA, tfhe {})",
            crate::params::TFHE_VERSION
        ));
    }
    eprintln!("atoll-fhe: known-answer test passed in {:.1} s", started.elapsed().as_secs_f64());
    // The operator's directory first (if any), then the node's blob store and its peers.
    let mut sources: Vec<Box<dyn KeySetSource>> = Vec::new();
    if let Some(dir) = &options.key_sets {
        sources.push(Box::new(Directory::new(dir)));
    }
    sources.push(Box::new(NodeBlobs));
    let key_sets = KeySets::new(Box::new(Sources(sources)));
    Ok(FheConfig { setup, key_sets, genesis_balances: Vec::new(), known_answer: Some(answer) })
}
