//! The physical limits later benchmarks are compared against: Ed25519 verification (single
//! and batched), SHA-256, Deoxys-II sealed boxes and VRF verification.
//!
//! Run: `cargo bench -p atoll-crypto --bench primitives`.

use std::hint::black_box;

use atoll_crypto::{
    BatchVerifier, DeoxysKey, MemorySigner, SealedBox, VrfSecretKey, X25519SecretKey,
};
use atoll_types::{Hash, PublicKey, Signature, Signer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn signed_messages(n: usize) -> Vec<(PublicKey, Vec<u8>, Signature)> {
    (0..n)
        .map(|i| {
            let signer = MemorySigner::from_seed([(i % 251) as u8; 32]);
            let message = format!("transfer {i} of 100 base units to someone").into_bytes();
            let signature = signer.sign_raw(&message);
            (signer.public_key(), message, signature)
        })
        .collect()
}

fn ed25519(c: &mut Criterion) {
    let mut group = c.benchmark_group("ed25519_verify");
    let single = signed_messages(1);
    group.throughput(Throughput::Elements(1));
    group.bench_function("single", |b| {
        let (key, message, signature) = &single[0];
        b.iter(|| key.verify(black_box(message), black_box(signature)).is_ok())
    });
    for n in [64usize, 256] {
        let items = signed_messages(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("batch", n), &items, |b, items| {
            b.iter(|| {
                let mut verifier = BatchVerifier::with_capacity(items.len());
                for (key, message, signature) in items {
                    verifier.queue(key, message, signature);
                }
                verifier.verify().is_ok()
            })
        });
    }
    group.finish();
}

fn sha256(c: &mut Criterion) {
    let mut group = c.benchmark_group("sha256");
    for size in [64usize, 1024] {
        let data = vec![0xa5u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &data, |b, data| {
            b.iter(|| Hash::digest(black_box(data)))
        });
    }
    group.finish();
}

fn sealed_box(c: &mut Criterion) {
    let mut group = c.benchmark_group("sealed_box_1KiB");
    let recipient = X25519SecretKey::from_bytes([9; 32]);
    let public = recipient.public_key();
    let plaintext = vec![0x5au8; 1024];
    let sealed = SealedBox::seal(&public, &plaintext, b"").expect("seal");
    group.throughput(Throughput::Bytes(1024));
    group.bench_function("seal", |b| {
        b.iter(|| SealedBox::seal(&public, black_box(&plaintext), b"").expect("seal"))
    });
    group.bench_function("open", |b| {
        b.iter(|| black_box(&sealed).open(&recipient, b"").expect("open"))
    });
    // The symmetric part alone, to show how much of a box is key agreement.
    let key = DeoxysKey::from_bytes([7; 32]);
    group.bench_function("deoxys_seal_only", |b| {
        b.iter(|| key.seal(&[0; 15], black_box(&plaintext), b"").expect("seal"))
    });
    group.finish();
}

fn vrf(c: &mut Criterion) {
    let key = VrfSecretKey::from_seed([3; 32]);
    let public = key.public_key();
    let (_, proof) = key.prove(b"epoch 42");
    c.bench_function("vrf_verify", |b| {
        b.iter(|| public.verify(black_box(b"epoch 42"), black_box(&proof)).expect("verify"))
    });
}

criterion_group!(benches, ed25519, sha256, sealed_box, vrf);
criterion_main!(benches);
