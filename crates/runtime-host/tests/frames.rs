//! Decoders under fire ([R]): the runtime host protocol's frames, read from the socket
//! between a node and its ParaTime process, over arbitrary bytes and splices into valid
//! frames — each read ends in a frame or an error, never a panic, and a declared length
//! over the limit is refused before anything is allocated for it.
//!
//! CI runs a few hundred inputs; the long mode runs 1,000,000:
//! `cargo test --release -p atoll-runtime-host --test frames -- --ignored --nocapture`.

use atoll_runtime_host::{
    read_frame, write_frame, Frame, FrameError, HostRequest, HostResponse, ProtocolError,
    MAX_FRAME_SIZE,
};
use atoll_types::{PublicKey, RuntimeId};
use proptest::prelude::*;

fn framed(frame: &Frame) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_frame(&mut bytes, frame).expect("writes");
    bytes
}

/// Valid frames of several kinds, to mutate.
fn seeds() -> Vec<Vec<u8>> {
    [
        Frame::HostRequest { id: 1, request: HostRequest::Abort },
        Frame::HostRequest {
            id: 2,
            request: HostRequest::Attest { node: PublicKey::from_bytes([7; 32]), height: 9 },
        },
        Frame::HostResponse { id: 3, response: Ok(HostResponse::Query(vec![1, 2, 3, 4])) },
        Frame::HostResponse {
            id: 4,
            response: Err(ProtocolError { code: 5, message: "no such method".into() }),
        },
        Frame::HostResponse { id: 5, response: Ok(HostResponse::Aborted) },
    ]
    .iter()
    .map(framed)
    .chain(std::iter::once(
        // A runtime id where a key goes: the same bytes, another meaning.
        framed(&Frame::HostRequest {
            id: 6,
            request: HostRequest::Attest {
                node: PublicKey::from_bytes(RuntimeId::from_bytes([1; 32]).into_bytes()),
                height: u64::MAX,
            },
        }),
    ))
    .collect()
}

/// Splices `replacement` over `length` bytes of a copy of `seed` at `at` (each may be
/// empty, so this inserts, deletes, overwrites and truncates).
fn splice(seed: &[u8], at: usize, length: usize, replacement: &[u8]) -> Vec<u8> {
    let start = at % (seed.len() + 1);
    let end = (start + length).min(seed.len());
    [&seed[..start], replacement, &seed[end..]].concat()
}

/// Reads every frame `bytes` holds, until the stream ends or cannot be resynchronised.
fn read_all(bytes: &[u8]) -> usize {
    let mut reader = bytes;
    let mut frames = 0;
    loop {
        match read_frame(&mut reader) {
            Ok(_) => frames += 1,
            Err(FrameError::Malformed(_)) => {}
            Err(_) => return frames,
        }
    }
}

/// Arbitrary bytes, or a valid frame with a splice of arbitrary bytes.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        (0usize..6, any::<usize>(), 0usize..16, proptest::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(seed, at, length, bytes)| splice(&seeds()[seed], at, length, &bytes)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_and_spliced_frames_never_panic(bytes in input()) {
        read_all(&bytes);
    }
}

#[test]
fn the_seeds_read_back_and_an_oversized_length_is_refused_unread() {
    let all: Vec<u8> = seeds().concat();
    assert_eq!(read_all(&all), seeds().len());
    let huge = ((MAX_FRAME_SIZE + 1) as u32).to_be_bytes();
    assert!(matches!(read_frame(&mut huge.as_slice()), Err(FrameError::TooLarge(_))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000_000))]

    /// The long mode: 1,000,000 inputs.
    #[test]
    #[ignore = "long: run with --release -- --ignored"]
    fn a_million_frames(bytes in input()) {
        read_all(&bytes);
    }
}
