#!/usr/bin/env python3
"""The performance suite in one command: every figure of issue [Q] from one run on one machine.

    scripts/bench-suite.py [--out DIR] [--quick]

Builds the release binary, then measures, one after the other (never two at once, so the
figures are comparable):

1. the state machine's ceiling: `cargo bench -p atoll-consensus --bench transfers`
   (signed transfers per second, blocks of 10,000);
2. a 1-validator and a 4-validator localnet (`scripts/localnet.sh`), flat out and at half
   the committed rate measured flat out (finality p50/p99 from the load generator,
   `atoll bench transfers`, which times each transfer from submission to its block);
3. an idle devnet (`atoll devnet`: 9 nodes and their ParaTime processes): the CPU time of
   its whole process tree over 20 s, in cores;
4. the ParaTime under load on that devnet: `atoll bench anchors --txs 3000` (finalized
   anchors per second, rounds per consensus block), then every block of that run read back
   (the commitments each took, and whether it finalized a round);
5. the cost of a discrepancy: a devnet whose first compute node commits wrong results
   (`atoll devnet --byzantine dishonest`), 300 anchors, and for each discrepancy the
   consensus blocks from its detection to the round's finalization by the backups.

Prints one table with the ratios the issue sets targets for, and writes every raw report
to DIR/suite.json (default target/bench-suite). `--quick` makes every run smaller (for
trying the script, not for figures).
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ATOLL = ROOT / "target" / "release" / "atoll"
LOCALNET_PORT = 28000
DEVNET_PORT = 29000
TICKS = os.sysconf("SC_CLK_TCK")


def log(message):
    print(f"[suite {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def status(api):
    """The node's /v1/status, or None while it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{api}/v1/status", timeout=5) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def wait_for_height(api, height, limit=300):
    deadline = time.time() + limit
    while time.time() < deadline:
        s = status(api)
        if s and s["height"] >= height:
            return s
        time.sleep(0.5)
    raise SystemExit(f"{api} did not reach height {height} in {limit} s")


def atoll_json(*args):
    """Runs `atoll --output json ARGS` and returns its report."""
    command = [str(ATOLL), "--output", "json", *args]
    log(" ".join(command[1:]))
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"atoll {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def stop(process):
    """Interrupts a process group (the scripts and devnet stop their nodes on SIGINT)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def ceiling(quick):
    """Signed transfers per second of the state machine alone, per criterion benchmark."""
    log("state machine ceiling (criterion)")
    command = ["cargo", "bench", "-p", "atoll-consensus", "--bench", "transfers", "--", "--noplot"]
    if quick:
        command += ["--warm-up-time", "1", "--measurement-time", "5"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    figures, name = {}, None
    units = {"elem/s": 1, "Kelem/s": 1e3, "Melem/s": 1e6}
    for line in done.stdout.splitlines():
        if line.startswith("signed_transfers/"):
            name = line.split("time:")[0].strip().removeprefix("signed_transfers/")
        found = re.search(r"thrpt:\s+\[\S+ \S+ (\S+) (\S+) ", line)
        if found and name:
            figures[name] = float(found.group(1)) * units[found.group(2)]
            name = None
    if not figures:
        raise SystemExit(f"no throughput in the benchmark's output:\n{done.stdout}")
    return figures


def localnet(validators, out, quick):
    """Flat out, then at half the committed rate, on a fresh localnet."""
    home = out / f"localnet-{validators}"
    apis = [f"127.0.0.1:{LOCALNET_PORT + 10 * i + 1}" for i in range(validators)]
    env = dict(os.environ, ATOLL=str(ATOLL), BASE_PORT=str(LOCALNET_PORT), RUST_LOG="warn")
    log(f"{validators}-validator localnet in {home}")
    net = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "localnet.sh"), str(home), str(validators)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    try:
        wait_for_height(apis[0], 3)
        also = [a for api in apis[1:] for a in ("--also", api)]
        common = ["--keys-dir", str(home / "keys"), "--api", apis[0], "bench", "transfers",
                  "--from", "bench", "--accounts", "1000"]
        txs = 4_000 if quick else 50_000
        flat = atoll_json(*common, "--txs", str(txs), "--batch", "250", *also)
        rate = max(1, int(flat["committed_tps"] / 2))
        seconds = 5 if quick else 20
        half = atoll_json(*common, "--txs", str(rate * seconds), "--rate", str(rate),
                          "--batch", "100", *also)
        return {"flat_out": flat, "half_load": half}
    finally:
        stop(net)


def tree_cpu_seconds(root_pid):
    """User + system CPU seconds of `root_pid` and every process under it."""
    children, times = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    total, stack = 0.0, [root_pid]
    while stack:
        pid = stack.pop()
        total += times.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total


def round_blocks(api, first, last):
    """What each consensus block from `first` to `last` did for the ParaTimes: its commitments
    and the rounds it finalized (from `GET /v1/blocks/{h}/events`)."""
    blocks = []
    for height in range(first, last + 1):
        with urllib.request.urlopen(f"http://{api}/v1/blocks/{height}/events", timeout=10) as r:
            events = [e["event"] for e in json.load(r)["events"] if e["event"]["module"] == "roothash"]
        kinds = [next(iter(e["event"])) for e in events]
        blocks.append({"height": height, "commitments": kinds.count("executor_committed"),
                       "finalized": kinds.count("finalized"),
                       "failed": kinds.count("round_failed"),
                       "discrepancies": kinds.count("execution_discrepancy_detected")})
    return blocks


def blocks_to_resolve(blocks):
    """For each discrepancy in `blocks`: the consensus blocks from its detection to the next
    finalized round (0: the same block), or None if a round failed or nothing came first."""
    costs = []
    for i, detected in enumerate(blocks):
        for _ in range(detected["discrepancies"]):
            end = next((b for b in blocks[i:] if b["finalized"] or b["failed"]), None)
            ok = end is not None and end["finalized"]
            costs.append(end["height"] - detected["height"] if ok else None)
    return costs


DEVNET_API = f"127.0.0.1:{DEVNET_PORT + 81}"


def start_devnet(home, *extra):
    """A fresh devnet in `home` (`extra`: more `atoll devnet` arguments), once it is ready."""
    log(f"devnet in {home} {' '.join(extra)}")
    net = subprocess.Popen(
        [str(ATOLL), "devnet", "--dir", str(home), "--reset", "--base-port", str(DEVNET_PORT),
         "--eth-rpc-port", str(DEVNET_PORT + 545), *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        start_new_session=True)
    for line in net.stdout:
        if line.startswith("  Try, in another terminal"):
            break
    else:
        stop(net)
        raise SystemExit("the devnet stopped before it was ready")
    # Its status lines go on: drain them so that it never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in net.stdout], daemon=True).start()
    return net


def devnet(out, quick):
    """Idle CPU of a fresh devnet, then the ParaTime anchors benchmark on it."""
    home = out / "devnet"
    api = DEVNET_API
    net = start_devnet(home)
    try:
        # Past start-up work (registrations, first epochs), then 20 s of idling.
        time.sleep(10 if quick else 40)
        before_height, before_cpu = status(api)["height"], tree_cpu_seconds(net.pid)
        window = 20
        time.sleep(window)
        after_height, after_cpu = status(api)["height"], tree_cpu_seconds(net.pid)
        idle = {"cores": (after_cpu - before_cpu) / window,
                "blocks": after_height - before_height, "seconds": window}
        first = status(api)["height"] + 1
        anchors = atoll_json("--keys-dir", str(home / "keys"), "--api", api, "bench", "anchors",
                             "--from", "carol", "--txs", "600" if quick else "3000")
        anchors["blocks"] = round_blocks(api, first, status(api)["height"])
        return {"idle": idle, "anchors": anchors}
    finally:
        stop(net)


def discrepancy(out, quick):
    """Anchors on a devnet whose first compute node commits wrong results: what each
    discrepancy it causes costs, in consensus blocks until the backups finalize the round."""
    home = out / "devnet-dishonest"
    api = DEVNET_API
    net = start_devnet(home, "--byzantine", "dishonest")
    try:
        time.sleep(10 if quick else 40)
        first = status(api)["height"] + 1
        anchors = atoll_json("--keys-dir", str(home / "keys"), "--api", api, "bench", "anchors",
                             "--from", "carol", "--txs", "100" if quick else "300")
        blocks = round_blocks(api, first, status(api)["height"])
        return {"anchors": anchors, "blocks": blocks, "blocks_to_resolve": blocks_to_resolve(blocks)}
    finally:
        stop(net)


def table(results):
    ceiling_tps = results.get("ceiling", {}).get("block/10000")
    rows = [("figure", "measured", "ratio", "target")]
    for name, tps in sorted(results.get("ceiling", {}).items()):
        ratio = f"{tps / ceiling_tps:.2f}×" if ceiling_tps else "–"
        rows.append((f"state machine, {name}", f"{tps:,.0f} tx/s", ratio, "—"))
    for validators, target in ((1, 0.7), (4, 0.35)):
        run = results.get(f"localnet_{validators}")
        if not run:
            continue
        flat, half = run["flat_out"], run["half_load"]
        ratio = f"{flat['committed_tps'] / ceiling_tps:.2f}×" if ceiling_tps else "–"
        rows.append((f"{validators}-validator localnet, flat out",
                     f"{flat['committed_tps']:,.0f} tx/s (p50 {flat['latency_ms']['p50']} ms)",
                     ratio, f"≥ {target}×"))
        rows.append((f"{validators}-validator localnet, {half['target_rate']} tx/s (half)",
                     f"p50 {half['latency_ms']['p50']} ms, p99 {half['latency_ms']['p99']} ms",
                     "—", "p50 ≤ 500 ms, p99 ≤ 1,000 ms"))
    if "devnet" in results:
        idle, anchors = results["devnet"]["idle"], results["devnet"]["anchors"]
        rows.append(("idle devnet, all processes",
                     f"{idle['cores']:.2f} cores ({idle['blocks']} blocks in {idle['seconds']} s)",
                     "—", "≤ 0.10 cores"))
        rows.append(("ParaTime anchors under load",
                     f"{anchors['finalized_tps']:,.0f} tx/s, p50 {anchors['latency_ms']['p50']} ms, "
                     f"{anchors['rounds']} rounds / {anchors['consensus_blocks']} blocks",
                     f"{anchors['rounds_per_block']:.2f} rounds/block", "≥ 0.9 rounds/block"))
    if "discrepancy" in results:
        costs = results["discrepancy"]["blocks_to_resolve"]
        shown = " ".join("failed" if c is None else str(c) for c in costs) or "no discrepancy seen"
        rows.append(("discrepancy → finalized by backups (`--byzantine dishonest`)",
                     f"{shown} blocks", "—", "≤ 2 blocks"))
    table_text = "\n".join("| " + " | ".join(row) + " |" + ("\n|---|---|---|---|" if i == 0 else "")
                     for i, row in enumerate(rows))
    blocks = results.get("devnet", {}).get("anchors", {}).get("blocks")
    if blocks:
        # Per block of the anchors run: commitments it took, and F if it finalized a round.
        table_text += "\n\nanchors run, per consensus block (commitments, F: a round finalized): " + \
            " ".join(f"{b['commitments']}{'F' * b['finalized']}" for b in blocks)
    return table_text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "target" / "bench-suite"))
    parser.add_argument("--quick", action="store_true", help="smaller runs, to try the script")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["ceiling", "localnet_1", "localnet_4", "devnet", "discrepancy"])
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log("cargo build --release -p atoll")
    subprocess.run(["cargo", "build", "--release", "-p", "atoll"], cwd=ROOT, check=True)
    started = time.time()
    results = {"machine": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}}
    steps = [("ceiling", lambda: ceiling(args.quick)),
             ("localnet_1", lambda: localnet(1, out, args.quick)),
             ("localnet_4", lambda: localnet(4, out, args.quick)),
             ("devnet", lambda: devnet(out, args.quick)),
             ("discrepancy", lambda: discrepancy(out, args.quick))]
    for name, step in steps:
        if name not in args.skip:
            results[name] = step()
            (out / "suite.json").write_text(json.dumps(results, indent=2))
    results["minutes"] = round((time.time() - started) / 60, 1)
    (out / "suite.json").write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"\n{results['machine']}, {results['minutes']} min; raw reports in {out / 'suite.json'}")


if __name__ == "__main__":
    main()
