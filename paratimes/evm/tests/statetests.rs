//! The Ethereum `GeneralStateTests` fixtures through the EVM ParaTime's own transaction
//! path and state backend. The directory is `$ATOLL_ETHEREUM_TESTS` or, by default,
//! `../shared/ethereum-tests/GeneralStateTests` beside the repository; the test skips with
//! a message when it is absent. Every failure must be one listed, with its reason, in
//! `statetests_known_failures.txt`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use atoll_evm::statetest::{run_dir, Verdict};

fn fixtures() -> PathBuf {
    std::env::var_os("ATOLL_ETHEREUM_TESTS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/ethereum-tests/GeneralStateTests")
    })
}

fn known_failures() -> BTreeSet<(String, usize)> {
    include_str!("statetests_known_failures.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let mut parts = line.split_whitespace();
            let file = parts.next().expect("path").to_owned();
            let index = parts.next().and_then(|i| i.parse().ok()).expect("variant index");
            (file, index)
        })
        .collect()
}

#[test]
fn general_state_tests_pass_but_for_the_listed_failures() {
    let dir = fixtures();
    if !dir.is_dir() {
        eprintln!(
            "skipped: no state test fixtures at {} (set ATOLL_ETHEREUM_TESTS)",
            dir.display()
        );
        return;
    }
    let report = run_dir(&dir).expect("fixtures readable");
    for (folder, tally) in &report.folders {
        println!(
            "{folder}: {} passed, {} failed, {} skipped ({:.1} s)",
            tally.passed,
            tally.failed,
            tally.skipped,
            tally.elapsed.as_secs_f64()
        );
    }
    let known = known_failures();
    let mut unexpected = Vec::new();
    for failure in &report.failures {
        let Verdict::Fail(reason) = &failure.verdict else { continue };
        let relative = failure.file.strip_prefix(&dir).unwrap_or(&failure.file);
        let key = (relative.display().to_string(), failure.index);
        let listed = known.contains(&key);
        println!(
            "FAIL{} {} {} {}[{}]: {reason}",
            if listed { " (known)" } else { "" },
            key.0,
            failure.name,
            failure.fork,
            failure.index
        );
        if !listed {
            unexpected.push(key);
        }
    }
    let total = report.total();
    println!("{} passed, {} failed", total.passed, total.failed);
    assert!(total.passed > 0, "no state test ran");
    assert!(unexpected.is_empty(), "unexpected state test failures: {unexpected:?}");
}
