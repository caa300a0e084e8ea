//! The `atoll` command end to end: init two nodes, build a genesis, validate it, and load
//! it into a state machine that elects both as validators.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use atoll_consensus::{scheduler, ConsensusState, Genesis};
use atoll_mkvs::{MemoryNodeDb, Mkvs};
use atoll_types::Height;

fn atoll(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_atoll")).args(args).output().expect("run atoll")
}

fn ok(args: &[&str]) -> String {
    let out = atoll(args);
    assert!(
        out.status.success(),
        "atoll {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(args: &[&str]) -> String {
    let out = atoll(args);
    assert!(!out.status.success(), "atoll {args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.starts_with("error: ") && err.trim_end().lines().count() == 1,
        "one clear line: {err:?}"
    );
    err
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn init_build_genesis_and_validate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("node-a"), dir.path().join("node-b"));
    ok(&["init", "--home", p(&a), "--moniker", "a", "--p2p-port", "30000"]);
    ok(&["init", "--home", p(&b), "--moniker", "b", "--p2p-port", "30010"]);
    // Keys are owner-only, and a second init refuses to overwrite.
    for key in ["entity", "identity", "consensus", "p2p", "vrf"] {
        let mode = std::fs::metadata(a.join("keys").join(format!("{key}.key")))
            .expect("key")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{key}.key");
    }
    assert!(fails(&["init", "--home", p(&a)]).contains("already"));
    let config = atoll_node::NodeConfig::load(&a.join("config.toml")).expect("config parses");
    assert_eq!(config.p2p.listen, "0.0.0.0:30000");

    let genesis = dir.path().join("genesis.json");
    ok(&[
        "genesis",
        "new",
        "--out",
        p(&genesis),
        "--chain-id",
        "atoll-cli-test",
        "--epoch-interval",
        "10",
    ]);
    ok(&[
        "genesis",
        "add-validator",
        "--genesis",
        p(&genesis),
        "--node",
        p(&a),
        "--escrow",
        "1000",
        "--balance",
        "5",
    ]);
    ok(&[
        "genesis",
        "add-validator",
        "--genesis",
        p(&genesis),
        "--node",
        p(&b),
        "--escrow",
        "2000",
        "--compute",
    ]);
    let user = "atoll1qrkzmt8m30e9nhxwuzz46v4at86shkc6ds3e2lct";
    ok(&["genesis", "add-balance", "--genesis", p(&genesis), "--address", user, "--amount", "1.5"]);
    let report = ok(&["genesis", "validate", p(&genesis)]);
    assert!(report.contains("valid: chain atoll-cli-test"), "{report}");

    // Mistakes get one clear line and change nothing.
    let before = std::fs::read_to_string(&genesis).expect("read");
    assert!(fails(&[
        "genesis",
        "add-balance",
        "--genesis",
        p(&genesis),
        "--address",
        "atoll1nope",
        "--amount",
        "1"
    ])
    .contains("address"));
    assert!(fails(&[
        "genesis",
        "add-balance",
        "--genesis",
        p(&genesis),
        "--address",
        user,
        "--amount",
        "0.0000000001"
    ])
    .contains("amount"));
    assert!(fails(&[
        "genesis",
        "add-validator",
        "--genesis",
        p(&genesis),
        "--node",
        p(&a),
        "--escrow",
        "1"
    ])
    .contains("already"));
    assert_eq!(std::fs::read_to_string(&genesis).expect("read"), before);
    std::fs::write(dir.path().join("broken.json"), "{").expect("write");
    assert!(fails(&["genesis", "validate", p(&dir.path().join("broken.json"))])
        .contains("genesis JSON"));

    // The genesis loads, and both nodes are elected validators by escrow.
    let parsed = Genesis::from_json(&before).expect("parse");
    assert_eq!(
        parsed.staking.total_supply.base_units(),
        (1_000 + 2_000 + 5 * 2 + 1_000 * 2) * 1_000_000_000 + 1_500_000_000
    );
    let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
    state.init_genesis(&parsed).expect("init");
    let validators =
        scheduler::validators(&state.tree_at(Height(0)).expect("tree")).expect("validators");
    assert_eq!(validators.len(), 2);
    assert!(validators[0].power > validators[1].power, "node b has more escrow");
}
