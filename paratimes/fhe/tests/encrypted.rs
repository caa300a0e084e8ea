//! The contract model on ciphertexts: the demo programs evaluated by tfhe with a real key set
//! decrypt to exactly what the clear oracle computes; inputs need a valid proof bound to their
//! transaction; malformed or oversized keys, inputs and ciphertexts are refused; the
//! known-answer test is repeatable and right.

mod common;

use std::sync::OnceLock;

use atoll_fhe::cipher::{open_inputs, prove_inputs, Cipher, Encrypted};
use atoll_fhe::clear::{Clear, ClearValue};
use atoll_fhe::demos::{auction, token, vote};
use atoll_fhe::keys::{generate, key_set_id, Evaluation, Generated};
use atoll_fhe::params::{config, MAX_PROVEN_BITS};
use atoll_fhe::program::{Program, Ty};
use atoll_fhe::FheError;
use common::Memory;
use tfhe::zk::CompactPkeCrs;

struct Keys {
    generated: Generated,
    evaluation: Evaluation,
    crs: CompactPkeCrs,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let generated = generate([7; 32]).expect("key set");
        let evaluation = Evaluation::open(
            &key_set_id(&generated.key_set),
            &generated.key_set,
            &generated.public_key,
        )
        .expect("opens");
        let crs = CompactPkeCrs::from_config(config(), MAX_PROVEN_BITS).expect("crs");
        Keys { generated, evaluation, crs }
    })
}

/// Runs the same calls on both backends (ciphertext inputs encrypted with the client key);
/// every reveal must decrypt to the oracle's value, and every stored ciphertext to the
/// oracle's state.
/// A call: function, caller, account arguments, inputs.
type Call<'a> = (&'a str, u64, Vec<u64>, Vec<(Ty, u64)>);

fn same_as_oracle(program: &Program, calls: &[Call<'_>]) {
    let keys = keys();
    let client = &keys.generated.client;
    let mut backend = Encrypted::new(&keys.evaluation.server);
    let mut encrypted: Memory<Cipher> = Memory::new(1);
    let mut clear: Memory<ClearValue> = Memory::new(1);
    for (function, caller, accounts, inputs) in calls {
        let plain: Vec<ClearValue> =
            inputs.iter().map(|&(ty, value)| ClearValue { ty, value }).collect();
        let ciphers: Vec<Cipher> =
            inputs.iter().map(|&(ty, v)| Cipher::encrypt(ty, v, client)).collect();
        let want = clear.call(&mut Clear, program, function, *caller, accounts, &plain);
        let got = encrypted.call(&mut backend, program, function, *caller, accounts, &ciphers);
        match (want, got) {
            (Ok(want), Ok(got)) => {
                let want: Vec<(u16, u64)> = want.iter().map(|r| (r.label, r.value.value)).collect();
                let got: Vec<(u16, u64)> =
                    got.iter().map(|r| (r.label, r.value.decrypt(client))).collect();
                assert_eq!(got, want, "{function} by {caller}");
            }
            (Err(want), Err(got)) => assert_eq!(got, want),
            (want, got) => {
                panic!("{function}: oracle {:?}, encrypted {:?}", want.is_ok(), got.is_ok())
            }
        }
    }
    assert_eq!(encrypted.state.len(), clear.state.len());
    for (key, value) in &clear.state {
        let stored = &encrypted.state[key];
        // What is stored is ciphertext, and it round-trips through its encoding.
        let decoded = Cipher::decode(&stored.encode().expect("encodes")).expect("decodes");
        assert_eq!(decoded.ty(), value.ty);
        assert_eq!(decoded.decrypt(client), value.value, "slot {key:?}");
    }
}

#[test]
fn a_private_vote_on_ciphertext_tallies_what_the_oracle_tallies() {
    let ballot = |c| vec![(Ty::U8, c)];
    same_as_oracle(
        &vote(3),
        &[
            ("vote", 10, vec![], ballot(2)),
            ("vote", 11, vec![], ballot(0)),
            ("vote", 12, vec![], ballot(2)),
            ("vote", 12, vec![], ballot(1)),
            ("close", 10, vec![], vec![]),
            ("close", 1, vec![], vec![]),
        ],
    );
}

#[test]
fn a_sealed_bid_auction_on_ciphertext_finds_the_winner() {
    let bid = |b| vec![(Ty::U32, b)];
    same_as_oracle(
        &auction(),
        &[
            ("bid", 21, vec![], bid(500)),
            ("bid", 22, vec![], bid(900)),
            ("bid", 23, vec![], bid(900)),
            ("close", 1, vec![], vec![]),
        ],
    );
}

#[test]
fn a_confidential_token_on_ciphertext_refuses_overdrafts() {
    let amount = |a| vec![(Ty::U32, a)];
    same_as_oracle(
        &token(),
        &[
            ("mint", 1, vec![31], amount(100)),
            ("transfer", 31, vec![32], amount(30)),
            ("transfer", 32, vec![31], amount(31)),
            ("audit", 1, vec![31], vec![]),
            ("audit", 1, vec![32], vec![]),
        ],
    );
}

#[test]
fn inputs_need_a_proof_bound_to_their_transaction() {
    let keys = keys();
    let public = &keys.evaluation.public;
    let types = [Ty::U32, Ty::U8];
    let values = [(Ty::U32, 4_000_000_000), (Ty::U8, 7)];
    let proven = prove_inputs(public, &keys.crs, b"tx: alice, nonce 3", &values).expect("proven");
    let opened = open_inputs(&proven, &keys.evaluation, &keys.crs, b"tx: alice, nonce 3", &types)
        .expect("valid");
    let plain: Vec<u64> = opened.iter().map(|c| c.decrypt(&keys.generated.client)).collect();
    assert_eq!(plain, vec![4_000_000_000, 7]);
    // Replayed by another sender or with another nonce: the proof does not verify.
    for other in [&b"tx: mallory, nonce 3"[..], b"tx: alice, nonce 4"] {
        let err = open_inputs(&proven, &keys.evaluation, &keys.crs, other, &types)
            .err()
            .expect("refused");
        assert!(matches!(err, FheError::Proof(_)), "{err}");
    }
    // The wrong types or count for the function.
    assert!(matches!(
        open_inputs(
            &proven,
            &keys.evaluation,
            &keys.crs,
            b"tx: alice, nonce 3",
            &[Ty::U32, Ty::U16]
        ),
        Err(FheError::Inputs(_))
    ));
    assert!(matches!(
        open_inputs(&proven, &keys.evaluation, &keys.crs, b"tx: alice, nonce 3", &[Ty::U32]),
        Err(FheError::Inputs(_))
    ));
    // Encrypted to another key set: the proof does not verify against this one's key.
    let other = generate([8; 32]).expect("another key set");
    let other_public = atoll_fhe::keys::decode_public_key(&other.public_key).expect("public key");
    let foreign = prove_inputs(&other_public, &keys.crs, b"m", &values).expect("proven");
    assert!(open_inputs(&foreign, &keys.evaluation, &keys.crs, b"m", &types).is_err());
}

#[test]
fn malformed_and_oversized_inputs_keys_and_ciphertexts_are_refused() {
    let keys = keys();
    let public = &keys.evaluation.public;
    let proven = prove_inputs(public, &keys.crs, b"m", &[(Ty::U8, 1)]).expect("proven");
    // Every truncation and a flipped byte in each region: an error, never a panic.
    for cut in [0, 1, 8, proven.len() / 2, proven.len() - 1] {
        assert!(open_inputs(&proven[..cut], &keys.evaluation, &keys.crs, b"m", &[Ty::U8]).is_err());
    }
    for at in [0, 10, proven.len() / 3, proven.len() / 2, proven.len() - 2] {
        let mut bad = proven.clone();
        bad[at] ^= 0x55;
        assert!(
            open_inputs(&bad, &keys.evaluation, &keys.crs, b"m", &[Ty::U8]).is_err(),
            "byte {at}"
        );
    }
    let huge = vec![0u8; (atoll_fhe::params::MAX_INPUT_BYTES + 1) as usize];
    assert!(matches!(
        open_inputs(&huge, &keys.evaluation, &keys.crs, b"m", &[Ty::U8]),
        Err(FheError::TooLarge { .. })
    ));
    // A key set that does not hash to its id, or whose public key is another's.
    let id = key_set_id(&keys.generated.key_set);
    let wrong_id = key_set_id(b"something else");
    assert!(
        Evaluation::open(&wrong_id, &keys.generated.key_set, &keys.generated.public_key).is_err()
    );
    let other = generate([9; 32]).expect("another key set");
    assert!(Evaluation::open(&id, &keys.generated.key_set, &other.public_key).is_err());
    let mut bad = keys.generated.key_set[..4096].to_vec();
    bad[100] ^= 1;
    assert!(Evaluation::open(&key_set_id(&bad), &bad, &keys.generated.public_key).is_err());
    assert!(atoll_fhe::keys::decode_public_key(&keys.generated.public_key[..100]).is_err());
    // A stored ciphertext cut short.
    let stored = Cipher::trivial(Ty::U16, 5).encode().expect("encodes");
    for cut in [0, 3, stored.len() / 2, stored.len() - 1] {
        assert!(Cipher::decode(&stored[..cut]).is_err());
    }
}

#[test]
fn the_known_answer_test_is_repeatable_and_known() {
    let first = atoll_fhe::kat::run().expect("runs");
    let second = atoll_fhe::kat::run().expect("runs");
    assert_eq!(first, second);
    assert_eq!(first.to_string(), atoll_fhe::kat::KNOWN_ANSWER);
}
