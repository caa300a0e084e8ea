//! `atoll keys …`: account keys in a directory, one owner-only file per name (`NAME.key`,
//! the 32-byte seed in hex).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use atoll_crypto::FileSigner;
use atoll_types::{Address, Signer};
use clap::Subcommand;
use serde_json::json;

use crate::output::Output;

/// Key management.
#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Create a new key.
    New {
        /// Its name.
        name: String,
    },
    /// List the keys.
    List,
    /// Show a key's address and public key.
    Show {
        /// Its name.
        name: String,
    },
    /// Import a key from its 64-digit hex seed, read from a file or from stdin: never from
    /// the command line, where other users see it (`ps`) and the shell keeps it.
    Import {
        /// The name to store it under.
        name: String,
        /// A file holding the seed (hex); stdin if not given.
        #[arg(long)]
        seed_file: Option<PathBuf>,
    },
    /// Print a key's seed (hex): anyone holding it controls the account.
    Export {
        /// Its name.
        name: String,
    },
}

/// The default keys directory: `$ATOLL_KEYS_DIR`, else `~/.atoll/keys`.
pub(crate) fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ATOLL_KEYS_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".atoll").join("keys")
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.');
    if !ok {
        bail!("key name {name:?}: use letters, digits, '-', '_' or '.' (at most 64)");
    }
    Ok(())
}

fn path_of(dir: &Path, name: &str) -> Result<PathBuf> {
    check_name(name)?;
    Ok(dir.join(format!("{name}.key")))
}

/// Loads a key by name from `dir`, or from a file path if `name` contains a `/`.
pub(crate) fn load(dir: &Path, name: &str) -> Result<FileSigner> {
    let path = if name.contains('/') { PathBuf::from(name) } else { path_of(dir, name)? };
    if !path.exists() {
        bail!("no key {name:?} (looked for {})", path.display());
    }
    Ok(FileSigner::load(&path)?)
}

fn describe(name: &str, key: &FileSigner) -> serde_json::Value {
    json!({
        "name": name,
        "address": Address::from_public_key(&key.public_key()).to_string(),
        "public_key": key.public_key().to_string(),
        "file": key.path().display().to_string(),
    })
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("securing {}", dir.display()))?;
    }
    Ok(())
}

/// Runs a `keys` command.
pub(crate) fn run(dir: &Path, command: KeysCommand, out: Output) -> Result<()> {
    match command {
        KeysCommand::New { name } => {
            let path = path_of(dir, &name)?;
            create_dir(dir)?;
            if path.exists() {
                bail!("key {name:?} already exists at {}", path.display());
            }
            let key = FileSigner::generate(&path)?;
            out.show(&describe(&name, &key), |v| {
                format!(
                    "created key {name}\n  address:    {}\n  public key: {}",
                    v["address"].as_str().unwrap_or_default(),
                    v["public_key"].as_str().unwrap_or_default()
                )
            });
        }
        KeysCommand::List => {
            let mut keys = Vec::new();
            if dir.exists() {
                let mut names: Vec<String> = std::fs::read_dir(dir)
                    .with_context(|| format!("reading {}", dir.display()))?
                    .filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().to_str()?.strip_suffix(".key").map(String::from))
                    .collect();
                names.sort();
                for name in names {
                    keys.push(describe(&name, &load(dir, &name)?));
                }
            }
            out.show(&json!(keys), |v| {
                let rows: Vec<String> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|k| {
                        format!(
                            "{:<20} {}",
                            k["name"].as_str().unwrap_or_default(),
                            k["address"].as_str().unwrap_or_default()
                        )
                    })
                    .collect();
                if rows.is_empty() {
                    format!("no keys in {}", dir.display())
                } else {
                    rows.join("\n")
                }
            });
        }
        KeysCommand::Show { name } => {
            let key = load(dir, &name)?;
            out.show(&describe(&name, &key), |v| {
                format!(
                    "{name}\n  address:    {}\n  public key: {}",
                    v["address"].as_str().unwrap_or_default(),
                    v["public_key"].as_str().unwrap_or_default()
                )
            });
        }
        KeysCommand::Import { name, seed_file } => {
            let path = path_of(dir, &name)?;
            let seed = match seed_file {
                Some(file) => std::fs::read_to_string(&file)
                    .with_context(|| format!("reading the seed from {}", file.display()))?,
                None => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).context("reading the seed")?;
                    line
                }
            };
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(seed.trim(), &mut bytes)
                .map_err(|_| anyhow::anyhow!("the seed must be 64 hex digits"))?;
            create_dir(dir)?;
            if path.exists() {
                bail!("key {name:?} already exists at {}", path.display());
            }
            let key = FileSigner::create(&path, &bytes)?;
            out.show(&describe(&name, &key), |v| {
                format!("imported key {name}: {}", v["address"].as_str().unwrap_or_default())
            });
        }
        KeysCommand::Export { name } => {
            let key = load(dir, &name)?;
            let seed = hex::encode(*key.seed());
            eprintln!("warning: this seed controls the account; keep it secret");
            out.show(&json!({ "name": name, "seed": seed }), |_| seed.clone());
        }
    }
    Ok(())
}
