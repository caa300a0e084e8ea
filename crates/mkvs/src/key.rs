//! Keys as bit strings, and the limits on keys and values.
//!
//! The trie branches on the bits of a *prefix-free* encoding of each key: every byte is
//! preceded by a `1` bit and the key ends with a `0` bit, so `enc(k)` has `9 × len + 1`
//! bits. No encoded key is a prefix of another, so every key sits at a leaf, and comparing
//! encoded keys bit by bit orders them exactly as comparing the keys byte by byte (a key
//! that is a prefix of another sorts first because its terminating `0` meets a `1`).

/// The longest key accepted, in bytes. Bounds the depth of the trie to `9 × 256 + 1`.
pub const MAX_KEY_LEN: usize = 256;
/// The largest value accepted, in bytes.
pub const MAX_VALUE_LEN: usize = 1 << 20;
/// The deepest a trie can be: one branching bit per encoded key bit.
pub const MAX_DEPTH: usize = 9 * MAX_KEY_LEN + 1;

/// Bit `i` of the prefix-free encoding of `key`; bits past the end read as `0`.
pub(crate) fn bit(key: &[u8], i: u32) -> bool {
    let i = i as usize;
    let byte = i / 9;
    let offset = i % 9;
    if byte >= key.len() {
        return false;
    }
    if offset == 0 {
        return true;
    }
    key[byte] & (0x80 >> (offset - 1)) != 0
}

/// The first bit at which the encodings of `a` and `b` differ, or `None` if `a == b`.
pub(crate) fn crit_bit(a: &[u8], b: &[u8]) -> Option<u32> {
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if common == a.len() && common == b.len() {
        return None;
    }
    let base = 9 * common as u32;
    if common == a.len() || common == b.len() {
        // One key ends here: its terminator 0 meets the other's continuation 1.
        return Some(base);
    }
    let diff = a[common] ^ b[common];
    Some(base + 1 + diff.leading_zeros())
}

/// The smallest key strictly greater than `key` in byte order: `key || 0x00`.
pub(crate) fn successor(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

/// The smallest key greater than every key starting with `prefix`, or `None` if there is
/// none (the prefix is empty or all `0xff`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last != 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode_bits(key: &[u8]) -> Vec<bool> {
        (0..(9 * key.len() as u32 + 1)).map(|i| bit(key, i)).collect()
    }

    #[test]
    fn encoding_layout() {
        assert_eq!(encode_bits(&[]), vec![false]);
        let bits = encode_bits(&[0b1010_0001]);
        assert_eq!(bits, vec![true, true, false, true, false, false, false, false, true, false]);
    }

    #[test]
    fn prefix_end_cases() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(&[]), None);
    }

    proptest! {
        #[test]
        fn bit_order_equals_byte_order(a in proptest::collection::vec(any::<u8>(), 0..6),
                                       b in proptest::collection::vec(any::<u8>(), 0..6)) {
            let (ea, eb) = (encode_bits(&a), encode_bits(&b));
            prop_assert_eq!(ea.cmp(&eb), a.cmp(&b));
            match crit_bit(&a, &b) {
                None => prop_assert_eq!(&a, &b),
                Some(c) => {
                    let c = c as usize;
                    prop_assert_eq!(&ea[..c], &eb[..c]);
                    prop_assert_ne!(ea[c], eb[c]);
                    // The smaller key has 0 at the critical bit.
                    prop_assert_eq!(ea[c], a > b);
                }
            }
        }

        #[test]
        fn encodings_are_prefix_free(a in proptest::collection::vec(any::<u8>(), 0..6),
                                     b in proptest::collection::vec(any::<u8>(), 0..6)) {
            prop_assume!(a != b);
            let (ea, eb) = (encode_bits(&a), encode_bits(&b));
            prop_assert!(!ea.starts_with(&eb) && !eb.starts_with(&ea));
        }
    }
}
