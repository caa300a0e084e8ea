//! Inputs for the decoders-under-fire tests (feature `fuzz`, tests only): mutations of valid
//! encodings and a deterministic generator for the long runs, so that every crate's decoder
//! test feeds its decoders the same kinds of damage.

/// Applies `edits` (operation, position, byte) to a copy of `seed`: a flipped byte, an
/// inserted or removed byte, a truncation, or four bytes set to `0xff` (a length or count
/// field turned huge).
pub fn mutate(seed: &[u8], edits: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for &(op, at, byte) in edits {
        let at = if bytes.is_empty() { 0 } else { at % bytes.len() };
        match op % 5 {
            0 if !bytes.is_empty() => bytes[at] ^= byte | 1,
            1 => bytes.insert(at, byte),
            2 if !bytes.is_empty() => {
                bytes.remove(at);
            }
            3 => bytes.truncate(at),
            _ => {
                for b in bytes.iter_mut().skip(at).take(4) {
                    *b = 0xff;
                }
            }
        }
    }
    bytes
}

/// A xorshift generator of inputs: deterministic, so a long run that fails can be repeated.
pub struct Inputs {
    state: u64,
}

impl Default for Inputs {
    fn default() -> Self {
        Self { state: 0x9e37_79b9_7f4a_7c15 }
    }
}

impl Inputs {
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// Input number `i`: even ones are random bytes (up to 511), odd ones one to five
    /// mutations of one of `seeds`.
    pub fn input(&mut self, i: u64, seeds: &[Vec<u8>]) -> Vec<u8> {
        if i.is_multiple_of(2) || seeds.is_empty() {
            let len = (self.next() % 512) as usize;
            (0..len).map(|_| self.next() as u8).collect()
        } else {
            let seed = &seeds[(self.next() % seeds.len() as u64) as usize];
            let count = 1 + self.next() % 5;
            let edits: Vec<(u8, usize, u8)> = (0..count)
                .map(|_| (self.next() as u8, self.next() as usize, self.next() as u8))
                .collect();
            mutate(seed, &edits)
        }
    }
}

/// A decoder under test, by name: it takes any bytes and must not panic.
pub type Decoder = (&'static str, fn(&[u8]));

/// Feeds `bytes` to every decoder.
pub fn feed(decoders: &[Decoder], bytes: &[u8]) {
    for (_, decoder) in decoders {
        decoder(bytes);
    }
}

/// The long mode: `count` inputs per decoder (half random bytes, half mutated `seeds`),
/// printing a line per decoder as it finishes.
pub fn long_run(decoders: &[Decoder], seeds: &[Vec<u8>], count: u64) {
    let mut inputs = Inputs::default();
    for (name, decoder) in decoders {
        for i in 0..count {
            decoder(&inputs.input(i, seeds));
        }
        println!("{name}: {count} inputs, no panic");
    }
}

/// The three tests of a decoders-under-fire file, over `decoders()` and `seeds()` (functions
/// of the calling file; the caller depends on `proptest`): arbitrary bytes and mutated
/// seeds, a few hundred each in the test suite, and the ignored long mode of 1,000,000
/// inputs per decoder.
#[macro_export]
macro_rules! decoders_under_fire {
    () => {
        proptest::proptest! {
            #![proptest_config(proptest::test_runner::Config::with_cases(256))]

            #[test]
            fn arbitrary_bytes_never_panic(
                bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            ) {
                $crate::fuzz::feed(&decoders(), &bytes);
            }

            #[test]
            fn mutated_valid_encodings_never_panic(
                seed in proptest::prelude::any::<usize>(),
                edits in proptest::collection::vec(
                    proptest::prelude::any::<(u8, usize, u8)>(), 1..6),
            ) {
                let seeds = seeds();
                let seed = &seeds[seed % seeds.len()];
                $crate::fuzz::feed(&decoders(), &$crate::fuzz::mutate(seed, &edits));
            }
        }

        /// The long mode: 1,000,000 inputs per decoder, half random bytes, half mutated
        /// seeds.
        #[test]
        #[ignore = "long: run with --release -- --ignored"]
        fn a_million_inputs_per_decoder() {
            $crate::fuzz::long_run(&decoders(), &seeds(), 1_000_000);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_change_the_seed_and_inputs_repeat() {
        let seed = vec![1, 2, 3, 4, 5, 6];
        assert_eq!(mutate(&seed, &[(3, 2, 0)]), vec![1, 2], "truncated");
        assert_eq!(mutate(&seed, &[(4, 1, 0)]), vec![1, 0xff, 0xff, 0xff, 0xff, 6]);
        assert_ne!(mutate(&seed, &[(0, 0, 0)]), seed, "a flip always flips");
        let seeds = [seed];
        let (mut a, mut b) = (Inputs::default(), Inputs::default());
        for i in 0..20 {
            assert_eq!(a.input(i, &seeds), b.input(i, &seeds));
        }
    }
}
