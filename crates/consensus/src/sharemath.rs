//! `a × b ÷ c` without overflow, for share arithmetic.
//!
//! Share conversions multiply two `u128` quantities (an amount and a share count) before
//! dividing; the product can need 256 bits. These helpers compute it exactly and round
//! down, which is always against the party withdrawing (delegators get at most what
//! their shares are worth; new delegators get at most the shares their tokens buy).

/// `a × b` as a 256-bit number `(high, low)`.
fn widening_mul(a: u128, b: u128) -> (u128, u128) {
    let (a_hi, a_lo) = (a >> 64, a & u64::MAX as u128);
    let (b_hi, b_lo) = (b >> 64, b & u64::MAX as u128);
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let middle = (lo_lo >> 64) + (hi_lo & u64::MAX as u128) + (lo_hi & u64::MAX as u128);
    let low = (lo_lo & u64::MAX as u128) | (middle << 64);
    let high = hi_hi + (hi_lo >> 64) + (lo_hi >> 64) + (middle >> 64);
    (high, low)
}

/// `⌊a × b ÷ c⌋`, or `None` if `c = 0` or the result does not fit a `u128`.
pub fn mul_div_floor(a: u128, b: u128, c: u128) -> Option<u128> {
    if c == 0 {
        return None;
    }
    let (high, low) = widening_mul(a, b);
    if high == 0 {
        return Some(low / c);
    }
    if high >= c {
        return None;
    }
    // Long division of the 256-bit (high, low) by c, one bit at a time; `rem < c` always.
    let mut rem = high;
    let mut quotient = 0u128;
    for i in (0..128).rev() {
        let carry = rem >> 127;
        rem = (rem << 1) | ((low >> i) & 1);
        quotient <<= 1;
        if carry == 1 || rem >= c {
            rem = rem.wrapping_sub(c);
            quotient |= 1;
        }
    }
    Some(quotient)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(mul_div_floor(10, 3, 4), Some(7));
        assert_eq!(mul_div_floor(u128::MAX, u128::MAX, u128::MAX), Some(u128::MAX));
        assert_eq!(mul_div_floor(u128::MAX, 2, 2), Some(u128::MAX));
        assert_eq!(mul_div_floor(u128::MAX, 2, 1), None);
        assert_eq!(mul_div_floor(1, 1, 0), None);
        assert_eq!(mul_div_floor(1 << 100, 1 << 100, 1 << 90), Some(1 << 110));
    }

    proptest! {
        #[test]
        fn matches_u128_when_product_fits(a: u64, b: u64, c in 1u128..) {
            let (a, b) = (a as u128, b as u128);
            prop_assert_eq!(mul_div_floor(a, b, c), Some(a * b / c));
        }

        #[test]
        fn result_is_the_floor(a: u128, b: u128, c in 1u128..) {
            if let Some(q) = mul_div_floor(a, b, c) {
                // q × c ≤ a × b < (q + 1) × c, compared in 256 bits.
                let product = widening_mul(a, b);
                prop_assert!(widening_mul(q, c) <= product);
                let (h, l) = widening_mul(q, c);
                let (l2, carry) = l.overflowing_add(c);
                prop_assert!((h + carry as u128, l2) > product);
            } else {
                prop_assert!(widening_mul(a, b).0 >= c);
            }
            prop_assert_eq!(mul_div_floor(a, c, c), Some(a));
        }
    }
}
