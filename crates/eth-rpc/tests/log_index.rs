//! The log index against a simple oracle: random blocks of logs (few addresses and topics,
//! so queries hit), appended round by round, then random `eth_getLogs`-style queries. The
//! index must name every block in range that holds a matching log, and only blocks where
//! each part of the query is met by some log. Reopening the file keeps it; a file from an
//! older layout is emptied for the feed to rebuild.

use atoll_eth_rpc::index::{Index, IndexedBlock, IndexedTx, LogQuery, RoundBatch};
use atoll_evm::module::{LogRecord, Receipt};
use proptest::prelude::*;

const ADDRESSES: [[u8; 20]; 4] = [[1; 20], [2; 20], [3; 20], [4; 20]];
const TOPICS: [[u8; 32]; 4] = [[10; 32], [11; 32], [12; 32], [13; 32]];

/// A log: an address index and topic indexes into the pools.
type LogSpec = (usize, Vec<usize>);
/// A block: its transactions, each a list of logs.
type BlockSpec = Vec<Vec<LogSpec>>;

fn log_record((address, topics): &LogSpec) -> LogRecord {
    LogRecord {
        address: ADDRESSES[*address],
        topics: topics.iter().map(|t| TOPICS[*t]).collect(),
        data: Vec::new(),
    }
}

fn indexed(number: u64, block: &BlockSpec) -> (IndexedBlock, Vec<IndexedTx>) {
    let txs: Vec<IndexedTx> = block
        .iter()
        .enumerate()
        .map(|(i, logs)| {
            let mut hash = [0u8; 32];
            hash[..8].copy_from_slice(&number.to_be_bytes());
            hash[8..16].copy_from_slice(&(i as u64).to_be_bytes());
            IndexedTx {
                block_number: number,
                block_hash: [number as u8; 32],
                index: i as u32,
                raw: Vec::new(),
                receipt: Receipt {
                    hash,
                    from: [0; 20],
                    to: None,
                    nonce: 0,
                    tx_type: 2,
                    success: true,
                    gas_used: 21_000,
                    effective_gas_price: 1,
                    contract_address: None,
                    logs: logs.iter().map(log_record).collect(),
                    output: Vec::new(),
                    error: None,
                },
                cumulative_gas_used: 0,
                first_log_index: 0,
            }
        })
        .collect();
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&number.to_be_bytes());
    let block = IndexedBlock {
        number,
        header: Vec::new(),
        hash,
        transactions: txs.iter().map(|t| t.receipt.hash).collect(),
    };
    (block, txs)
}

fn log_matches(log: &LogSpec, query: &(Vec<usize>, [Vec<usize>; 4])) -> bool {
    let (addresses, topics) = query;
    (addresses.is_empty() || addresses.contains(&log.0))
        && topics.iter().enumerate().all(|(position, wanted)| {
            wanted.is_empty() || log.1.get(position).is_some_and(|t| wanted.contains(t))
        })
}

fn blocks() -> impl Strategy<Value = Vec<BlockSpec>> {
    let log = (0..ADDRESSES.len(), prop::collection::vec(0..TOPICS.len(), 0..=4));
    let tx = prop::collection::vec(log, 0..3);
    prop::collection::vec(prop::collection::vec(tx, 0..4), 1..25)
}

fn queries() -> impl Strategy<Value = (Vec<usize>, [Vec<usize>; 4])> {
    let set = |n: usize| prop::collection::vec(0..n, 0..3);
    (
        set(ADDRESSES.len()),
        [set(TOPICS.len()), set(TOPICS.len()), set(TOPICS.len()), set(TOPICS.len())],
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn log_blocks_cover_every_match_and_only_plausible_blocks(
        chain in blocks(),
        asked in prop::collection::vec((queries(), 0u64..30, 0u64..30), 1..8),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let index = Index::open(&dir.path().join("index.redb")).expect("opens");
        for (number, block) in chain.iter().enumerate() {
            let number = number as u64;
            let batch = RoundBatch { round: number, blocks: vec![indexed(number, block)], after_pruned: false };
            index.append(&batch).expect("appends");
        }
        for (query, a, b) in asked {
            let (from, to) = (a.min(b), a.max(b));
            let log_query = LogQuery {
                addresses: query.0.iter().map(|a| ADDRESSES[*a]).collect(),
                topics: std::array::from_fn(|i| query.1[i].iter().map(|t| TOPICS[*t]).collect()),
            };
            let found = index.log_blocks(from, to, &log_query).expect("answers");
            prop_assert!(found.windows(2).all(|w| w[0] < w[1]), "in order, once each");
            for (number, block) in chain.iter().enumerate() {
                let number = number as u64;
                let logs: Vec<&LogSpec> = block.iter().flatten().collect();
                let in_range = (from..=to).contains(&number);
                let matching = logs.iter().any(|log| log_matches(log, &query));
                // Each part of the query met by some log of the block.
                let address_met = query.0.is_empty() || logs.iter().any(|l| query.0.contains(&l.0));
                let topics_met = (0..4).all(|p| {
                    query.1[p].is_empty()
                        || logs.iter().any(|l| l.1.get(p).is_some_and(|t| query.1[p].contains(t)))
                });
                let plausible = in_range && !logs.is_empty() && address_met && topics_met;
                if in_range && matching {
                    prop_assert!(found.contains(&number), "block {} holds a match", number);
                }
                if found.contains(&number) {
                    prop_assert!(plausible, "block {} cannot match", number);
                }
            }
        }
    }
}

#[test]
fn the_log_index_survives_reopening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("index.redb");
    let block: BlockSpec = vec![vec![(1, vec![2])]];
    {
        let index = Index::open(&path).expect("opens");
        index
            .append(&RoundBatch { round: 0, blocks: vec![indexed(0, &block)], after_pruned: false })
            .expect("appends");
    }
    let index = Index::open(&path).expect("reopens");
    assert_eq!(index.next_block().expect("meta"), 1);
    let query = LogQuery { addresses: vec![ADDRESSES[1]], ..LogQuery::default() };
    assert_eq!(index.log_blocks(0, 10, &query).expect("answers"), vec![0]);
}

#[test]
fn an_index_in_an_older_layout_is_emptied_for_rebuilding() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("index.redb");
    {
        let index = Index::open(&path).expect("opens");
        let block: BlockSpec = vec![vec![(0, vec![])]];
        index
            .append(&RoundBatch { round: 0, blocks: vec![indexed(0, &block)], after_pruned: false })
            .expect("appends");
    }
    // The layout before log keys: the same tables, no schema version.
    {
        let db = redb::Database::open(&path).expect("redb");
        let txn = db.begin_write().expect("write");
        let meta: redb::TableDefinition<'_, &str, u64> = redb::TableDefinition::new("meta");
        txn.open_table(meta).expect("meta").remove("schema").expect("removed");
        txn.commit().expect("commit");
    }
    let index = Index::open(&path).expect("reopens");
    assert_eq!(index.next_block().expect("meta"), 0, "rebuilt from the start");
    assert_eq!(index.next_round().expect("meta"), 0);
    assert!(index.block(0).expect("reads").is_none());
}

#[test]
fn blocks_continue_the_index_unless_the_node_pruned_the_rounds_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    let index = Index::open(&dir.path().join("index.redb")).expect("opens");
    let block: BlockSpec = vec![vec![(1, vec![2])]];
    let batch = |number: u64, after_pruned| RoundBatch {
        round: number,
        blocks: vec![indexed(number, &block)],
        after_pruned,
    };
    assert!(index.append(&batch(5, false)).is_err(), "a gap nothing explains");
    assert_eq!(index.next_block().expect("meta"), 0, "nothing written");
    index.append(&batch(5, true)).expect("starts after the pruned rounds");
    index.append(&batch(6, false)).expect("continues");
    assert!(index.append(&batch(6, true)).is_err(), "never backwards");
    assert_eq!(index.next_block().expect("meta"), 7);
    assert!(index.block(4).expect("reads").is_none());
    assert_eq!(index.block(5).expect("reads").map(|b| b.number), Some(5));
    let query = LogQuery { addresses: vec![ADDRESSES[1]], ..LogQuery::default() };
    assert_eq!(index.log_blocks(0, 10, &query).expect("answers"), vec![5, 6]);
}
