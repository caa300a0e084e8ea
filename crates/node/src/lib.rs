//! Setting up an Atoll node: its keys, its configuration file and the genesis document.
//!
//! - [`keys`]: the node's key files (created owner-only) and its public identity.
//! - [`config`]: `config.toml`, with every setting documented in the file.
//! - [`genesis`]: building a genesis document validator by validator.
//! - [`run`]: starting the node from its home directory.
//! - [`registration`]: registering the node again before its descriptor expires.
//! - [`api`]: the REST/JSON and WebSocket API with its OpenAPI document.
//! - [`metrics_server`]: serving Prometheus metrics over HTTP.

pub mod api;
pub mod config;
pub mod genesis;
pub mod keys;
pub mod metrics_server;
pub mod registration;
pub mod run;
pub mod state_sync;

pub use config::{ConfigError, NodeConfig, Role};
pub use keys::{KeysError, NodeIdentity, NodeKeys};
