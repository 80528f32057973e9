//! Proof of work: targets, compact `bits`, chain work and retargeting.
//!
//! A miner changes a block header (its nonce) and hashes it again and again until the block hash, read as a
//! 256-bit big-endian number, is at most the block's [`Target`]. A smaller target is harder to meet: a target
//! with `n` leading zero bits is met by about one hash in `2^n`. Nobody can find such a hash faster than by
//! trying, so a valid block proves that work was done, and anyone can check it with a single hash.
//!
//! - [`Target`] is the threshold; [`Target::leading_zero_bits`] shows its difficulty for people.
//! - [`CompactTarget`] is the 4-byte "bits" form stored in headers (Bitcoin's format), see
//!   [`CompactTarget::to_target`].
//! - [`Work`] is the expected number of hashes to meet a target, `2^256 / (target + 1)`; the chain with the
//!   most total work is the best chain.
//! - [`retarget`] moves the target every retarget interval so that blocks keep arriving at the intended
//!   pace, changing it by at most ×4 or ÷4 at a time.

use std::fmt;
use std::str::FromStr;

use ruint::Uint;
use ruint::aliases::U256;

use crate::hash::BlockHash;

/// A 512-bit unsigned integer, wide enough for a 256-bit target times a 66-bit factor.
type U512 = Uint<512, 8>;

/// The sign bit of the mantissa of a [`CompactTarget`].
const SIGN_BIT: u32 = 0x0080_0000;
/// The mantissa (low three bytes) of a [`CompactTarget`], sign bit included.
const MANTISSA_MASK: u32 = 0x00ff_ffff;

// ------------------------------------------------------------------------------------------------------------
// Target
// ------------------------------------------------------------------------------------------------------------

/// A proof-of-work target: a block hash meets it when the hash, read as a 256-bit big-endian unsigned number
/// (first byte most significant), is less than or equal to it.
///
/// Shows and parses as 64 hex digits, big-endian, and serializes as that string.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target(U256);

impl Target {
    /// The easiest target, `2^256 - 1` (all ones): every hash meets it.
    pub const MAX: Self = Self(U256::MAX);

    /// Wraps a 256-bit number.
    ///
    /// A zero target is representable (only the all-zero hash meets it) but has no compact form; see
    /// [`Target::work`].
    pub const fn from_u256(value: U256) -> Self {
        Self(value)
    }

    /// Returns the target as a 256-bit number.
    pub const fn as_u256(&self) -> U256 {
        self.0
    }

    /// Reads a target from 32 big-endian bytes (first byte most significant).
    pub const fn from_be_bytes(bytes: [u8; 32]) -> Self {
        Self(U256::from_be_bytes(bytes))
    }

    /// Returns the target as 32 big-endian bytes (first byte most significant).
    pub const fn to_be_bytes(&self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// Returns the target `2^(256 - n) - 1`: exactly the hashes with at least `n` leading zero bits meet it.
    ///
    /// `n` is clamped to `0..=255`, so the result is never zero (`n >= 255` gives the target `1`).
    pub fn from_leading_zero_bits(n: u32) -> Self {
        let n = n.min(255) as usize;
        Self(U256::MAX >> n)
    }

    /// Returns the number of leading zero bits of the target (256 for a zero target).
    ///
    /// This is the difficulty as people read it: a hash must start with at least this many zero bits.
    pub fn leading_zero_bits(&self) -> u32 {
        // At most 256, so the cast is lossless.
        self.0.leading_zeros() as u32
    }

    /// Returns whether `hash`, read as a 256-bit big-endian number, is less than or equal to the target.
    pub fn is_met_by(&self, hash: &BlockHash) -> bool {
        U256::from_be_bytes(*hash.as_bytes()) <= self.0
    }

    /// Returns the work of a block with this target: `floor(2^256 / (target + 1))`, the expected number of
    /// hashes needed to meet it.
    ///
    /// [`Target::MAX`] has work 1. A zero target would have work `2^256`, which does not fit; it saturates to
    /// `2^256 - 1`.
    pub fn work(&self) -> Work {
        // 2^256 / (t + 1) = (2^256 - 1 - t) / (t + 1) + 1, and 2^256 - 1 - t is !t; nothing overflows except
        // t + 1 for t = MAX (work 1) and the final + 1 for t = 0 (saturated).
        let t = self.0;
        match t.checked_add(U256::from(1u8)) {
            None => Work(U256::from(1u8)),
            Some(divisor) => Work((!t / divisor).saturating_add(U256::from(1u8))),
        }
    }

    /// Returns the compact form, rounding the target down to the precision of the format.
    ///
    /// The result is canonical (see [`CompactTarget::to_target`]) and, for a non-zero target, decodes to a
    /// non-zero target with the same [`Target::leading_zero_bits`] that is at most `self`. A zero target gives
    /// `00000000`, which [`CompactTarget::to_target`] rejects.
    pub fn to_compact(&self) -> CompactTarget {
        let mut size = self.0.byte_len();
        let mut mantissa: u32 = if size <= 3 {
            // Fits in 24 bits: keep it all, shifted up into the mantissa.
            let low = self.0.as_limbs()[0];
            // Lossless: the value has at most three bytes.
            (low << (8 * (3 - size))) as u32
        } else {
            // Keep the top three bytes, dropping (rounding down) the rest.
            let top = self.0 >> (8 * (size - 3));
            (top.as_limbs()[0] as u32) & MANTISSA_MASK
        };
        if mantissa & SIGN_BIT != 0 {
            // The top bit would read as a sign: keep one byte less and make the number one byte longer.
            mantissa >>= 8;
            size += 1;
        }
        // size <= 33, so it fits in the exponent byte.
        CompactTarget(((size as u32) << 24) | mantissa)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_hex(&self.to_be_bytes(), f)
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

/// Writes bytes as lower-case hex without allocating.
fn fmt_hex<const N: usize>(bytes: &[u8; N], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for byte in bytes {
        write!(f, "{byte:02x}")?;
    }
    Ok(())
}

/// Why a string could not be read as a [`Target`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTargetError {
    /// The string does not have exactly 64 characters.
    #[error("a target is 64 hex digits, got {0} characters")]
    Length(usize),
    /// A character is not a hex digit.
    #[error("a target is 64 hex digits; found a character that is not a hex digit")]
    NotHex,
}

impl FromStr for Target {
    type Err = ParseTargetError;

    /// Parses 64 hex digits (either case), big-endian.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 {
            return Err(ParseTargetError::Length(s.chars().count()));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| ParseTargetError::NotHex)?;
        Ok(Self::from_be_bytes(bytes))
    }
}

// ------------------------------------------------------------------------------------------------------------
// CompactTarget
// ------------------------------------------------------------------------------------------------------------

/// A target in Bitcoin's 4-byte "bits" form, as stored in block headers.
///
/// The top byte is the exponent: the length of the target in bytes. The low three bytes are the mantissa:
/// the target's leading bytes. The value is `mantissa * 256^(exponent - 3)` (shifted right instead when the
/// exponent is below 3). Bit `0x00800000` is a sign bit and must be clear. For example `1d00ffff` is the
/// target `0x00000000ffff0000…0`.
///
/// Any `u32` can be held; [`CompactTarget::to_target`] decides whether it is a valid, canonical target.
/// Shows as 8 lower-case hex digits and serializes as that string.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CompactTarget(u32);

/// Why a [`CompactTarget`] is not a valid target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BitsError {
    /// The sign bit `0x00800000` is set.
    #[error("compact target {bits:08x} is negative (sign bit 0x00800000 is set)")]
    Negative {
        /// The rejected bits.
        bits: u32,
    },
    /// The mantissa is zero, so the target is zero and no hash (but the all-zero one) could meet it.
    #[error("compact target {bits:08x} is zero")]
    Zero {
        /// The rejected bits.
        bits: u32,
    },
    /// The target does not fit in 256 bits.
    #[error("compact target {bits:08x} overflows 256 bits")]
    Overflow {
        /// The rejected bits.
        bits: u32,
    },
    /// The target is not written in its one canonical way: the mantissa has a needless leading zero byte,
    /// or low mantissa bytes are dropped by a small exponent.
    #[error("compact target {bits:08x} is not canonical (it should be written {canonical:08x})")]
    NonCanonical {
        /// The rejected bits.
        bits: u32,
        /// The canonical bits of the value `bits` decodes to (`00000000` when that value is zero).
        canonical: u32,
    },
}

impl CompactTarget {
    /// Wraps bits as stored in a block header; they are checked by [`CompactTarget::to_target`].
    pub const fn from_consensus(bits: u32) -> Self {
        Self(bits)
    }

    /// Returns the bits as stored in a block header.
    pub const fn to_consensus(self) -> u32 {
        self.0
    }

    /// Decodes the target.
    ///
    /// # Errors
    ///
    /// Returns, checked in this order, [`BitsError::Negative`] if the sign bit is set, [`BitsError::Zero`] if
    /// the mantissa is zero, [`BitsError::Overflow`] if the value needs more than 256 bits, and
    /// [`BitsError::NonCanonical`] if the value would be encoded differently by [`Target::to_compact`]
    /// (so every accepted target has exactly one accepted encoding).
    pub fn to_target(self) -> Result<Target, BitsError> {
        let bits = self.0;
        if bits & SIGN_BIT != 0 {
            return Err(BitsError::Negative { bits });
        }
        let mantissa = bits & MANTISSA_MASK;
        if mantissa == 0 {
            return Err(BitsError::Zero { bits });
        }
        let size = (bits >> 24) as usize;
        let value = if size <= 3 {
            U256::from(mantissa >> (8 * (3 - size)))
        } else {
            let shift = 8 * (size - 3);
            let mantissa_bits = 32 - mantissa.leading_zeros() as usize;
            if mantissa_bits + shift > 256 {
                return Err(BitsError::Overflow { bits });
            }
            U256::from(mantissa) << shift
        };
        let target = Target(value);
        let canonical = target.to_compact().0;
        if canonical != bits {
            return Err(BitsError::NonCanonical { bits, canonical });
        }
        Ok(target)
    }
}

impl fmt::Display for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompactTarget({self})")
    }
}

/// Why a string could not be read as a [`CompactTarget`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseBitsError {
    /// The string (after an optional `0x`) does not have exactly 8 characters.
    #[error("compact bits are 8 hex digits, optionally after 0x; got {0} characters")]
    Length(usize),
    /// A character is not a hex digit.
    #[error("compact bits are 8 hex digits; found a character that is not a hex digit")]
    NotHex,
}

impl FromStr for CompactTarget {
    type Err = ParseBitsError;

    /// Parses 8 hex digits (either case), optionally after `0x` or `0X`. The bits are not validated here;
    /// see [`CompactTarget::to_target`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .unwrap_or(s);
        if digits.len() != 8 {
            return Err(ParseBitsError::Length(digits.chars().count()));
        }
        let mut bytes = [0u8; 4];
        hex::decode_to_slice(digits, &mut bytes).map_err(|_| ParseBitsError::NotHex)?;
        Ok(Self(u32::from_be_bytes(bytes)))
    }
}

// ------------------------------------------------------------------------------------------------------------
// Work
// ------------------------------------------------------------------------------------------------------------

/// An amount of proof of work: the expected number of hashes, summed over blocks to compare chains.
///
/// Shows and parses as a decimal integer and serializes as that string (JSON numbers cannot hold 256 bits).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Work(U256);

impl Work {
    /// No work.
    pub const ZERO: Self = Self(U256::ZERO);

    /// Wraps a 256-bit number.
    pub const fn from_u256(value: U256) -> Self {
        Self(value)
    }

    /// Returns the work as a 256-bit number.
    pub const fn as_u256(&self) -> U256 {
        self.0
    }

    /// Reads work from 32 big-endian bytes (for storage).
    pub const fn from_be_bytes(bytes: [u8; 32]) -> Self {
        Self(U256::from_be_bytes(bytes))
    }

    /// Returns the work as 32 big-endian bytes (for storage).
    pub const fn to_be_bytes(&self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// Returns `self + other`, or `None` if the sum exceeds `2^256 - 1`.
    #[must_use]
    pub const fn checked_add(self, other: Self) -> Option<Self> {
        match self.0.checked_add(other.0) {
            Some(sum) => Some(Self(sum)),
            None => None,
        }
    }

    /// Returns `self + other`, saturating at `2^256 - 1`.
    #[must_use]
    pub const fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }

    /// Returns the work as an approximate floating-point number (for display).
    pub fn to_f64(&self) -> f64 {
        f64::from(self.0)
    }

    /// Returns the approximate base-2 logarithm of the work (for display); negative infinity for zero work.
    ///
    /// The work of a target with `n` leading zero bits is about `2^n`, so this reads as "bits of work".
    pub fn log2(&self) -> f64 {
        self.0.approx_log2()
    }
}

impl std::iter::Sum for Work {
    /// Adds up work, saturating at `2^256 - 1`.
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::ZERO, Self::saturating_add)
    }
}

impl<'a> std::iter::Sum<&'a Work> for Work {
    /// Adds up work, saturating at `2^256 - 1`.
    fn sum<I: Iterator<Item = &'a Work>>(iter: I) -> Self {
        iter.copied().sum()
    }
}

impl fmt::Display for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Work({self})")
    }
}

/// Why a string could not be read as [`Work`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseWorkError {
    /// The string is empty.
    #[error("work is a decimal integer; got an empty string")]
    Empty,
    /// A character is not a decimal digit.
    #[error("work is a decimal integer; found a character that is not a decimal digit")]
    NotDecimal,
    /// The number exceeds `2^256 - 1`.
    #[error("work does not fit in 256 bits")]
    Overflow,
}

impl FromStr for Work {
    type Err = ParseWorkError;

    /// Parses a decimal integer made only of the digits `0`–`9` (no sign, no separators).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(ParseWorkError::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseWorkError::NotDecimal);
        }
        // Only digits remain, so the sole possible failure is overflow.
        U256::from_str_radix(s, 10)
            .map(Self)
            .map_err(|_| ParseWorkError::Overflow)
    }
}

// ------------------------------------------------------------------------------------------------------------
// Serde: all three as strings
// ------------------------------------------------------------------------------------------------------------

serde_via_string!(Target);
serde_via_string!(CompactTarget);
serde_via_string!(Work);

// ------------------------------------------------------------------------------------------------------------
// Retargeting
// ------------------------------------------------------------------------------------------------------------

/// Returns the next target after a retarget interval that took `actual_timespan_ms` instead of the intended
/// `expected_timespan_ms`.
///
/// The result is `previous * clamp(actual, ceil(expected / 4), expected * 4) / expected` (rounded down), so
/// the target moves by at most ×4 or ÷4: blocks that came too slowly make it larger (easier), too quickly make it
/// smaller (harder). The product is computed in 512 bits, so no input overflows or panics. The result is then
/// capped at `pow_limit` and raised to at least 1 (in that order, so a zero `pow_limit` gives 1).
///
/// If `expected_timespan_ms` is zero there is no pace to aim for and `previous` is returned unchanged.
///
/// Headers store the result in compact form, which rounds it down; [`retarget_bits`] does both steps.
pub fn retarget(
    previous: Target,
    actual_timespan_ms: u64,
    expected_timespan_ms: u64,
    pow_limit: Target,
) -> Target {
    if expected_timespan_ms == 0 {
        return previous;
    }
    let expected = u128::from(expected_timespan_ms);
    // The lower bound rounds up so that even a tiny `expected` cannot shrink the target below a quarter.
    let actual = u128::from(actual_timespan_ms).clamp(expected.div_ceil(4), expected * 4);
    // previous < 2^256 and actual <= 4 * (2^64 - 1) < 2^66, so the product is below 2^322.
    let product = U512::from(previous.0) * U512::from(actual);
    let scaled = product / U512::from(expected);
    let new = U256::saturating_from(scaled).min(pow_limit.0);
    Target(new.max(U256::from(1u8)))
}

/// Decodes `previous`, applies [`retarget`] and returns the new target in compact form (rounded down, so
/// never above `pow_limit`).
///
/// # Errors
///
/// Returns the [`BitsError`] of `previous` if it is not a valid canonical compact target.
pub fn retarget_bits(
    previous: CompactTarget,
    actual_timespan_ms: u64,
    expected_timespan_ms: u64,
    pow_limit: Target,
) -> Result<CompactTarget, BitsError> {
    let previous = previous.to_target()?;
    Ok(retarget(
        previous,
        actual_timespan_ms,
        expected_timespan_ms,
        pow_limit,
    )
    .to_compact())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn target_hex(s: &str) -> Target {
        s.parse().unwrap()
    }

    /// A hash whose first `zeros` bits are zero and whose next bit is one (the rest ones too).
    fn hash_with_leading_zeros(zeros: u32) -> BlockHash {
        BlockHash::from_byte_array((U256::MAX >> zeros as usize).to_be_bytes())
    }

    /// Bitcoin Core's `SetCompact`, written independently, for the values it accepts.
    fn reference_decode(bits: u32) -> Option<U256> {
        let size = bits >> 24;
        let word = bits & 0x007f_ffff;
        if size <= 3 {
            Some(U256::from(word >> (8 * (3 - size))))
        } else {
            U256::from(word).checked_shl(8 * (size as usize - 3))
        }
    }

    #[test]
    fn bitcoin_genesis_bits_decode_and_encode() {
        let bits = CompactTarget::from_consensus(0x1d00_ffff);
        let target = bits.to_target().unwrap();
        assert_eq!(
            target,
            target_hex("00000000ffff0000000000000000000000000000000000000000000000000000")
        );
        assert_eq!(target.to_compact(), bits);
        assert_eq!(target.leading_zero_bits(), 32);
    }

    #[test]
    fn another_bitcoin_vector_decodes() {
        let target = CompactTarget::from_consensus(0x1b04_04cb)
            .to_target()
            .unwrap();
        assert_eq!(
            target,
            target_hex("00000000000404cb000000000000000000000000000000000000000000000000")
        );
    }

    #[test]
    fn sixteen_zero_bits_target_compact_and_work() {
        let target = Target::from_leading_zero_bits(16);
        assert_eq!(
            target,
            target_hex("0000ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
        );
        assert_eq!(target.leading_zero_bits(), 16);
        let bits = target.to_compact();
        assert_eq!(bits.to_string(), "1f00ffff");
        let rounded = bits.to_target().unwrap();
        assert_eq!(rounded.leading_zero_bits(), 16);
        assert!(rounded <= target);
        assert_eq!(target.work(), Work::from_u256(U256::from(65_536u32)));
        assert_eq!(target.work().to_string(), "65536");
        assert_eq!(target.work().log2(), 16.0);
    }

    #[test]
    fn leading_zero_bits_edges() {
        assert_eq!(Target::from_leading_zero_bits(0), Target::MAX);
        assert_eq!(Target::MAX.leading_zero_bits(), 0);
        assert_eq!(
            Target::from_leading_zero_bits(255).as_u256(),
            U256::from(1u8)
        );
        assert_eq!(
            Target::from_leading_zero_bits(256),
            Target::from_leading_zero_bits(255)
        );
        assert_eq!(
            Target::from_leading_zero_bits(u32::MAX).leading_zero_bits(),
            255
        );
        assert_eq!(Target::from_u256(U256::ZERO).leading_zero_bits(), 256);
    }

    #[test]
    fn work_of_extreme_targets() {
        assert_eq!(Target::MAX.work(), Work::from_u256(U256::from(1u8)));
        assert_eq!(Target::MAX.work().to_f64(), 1.0);
        // 2^256 / 2 = 2^255.
        let half = Target::from_u256(U256::from(1u8));
        assert_eq!(half.work().as_u256(), U256::from(1u8) << 255);
        // Zero target saturates instead of overflowing.
        assert_eq!(Target::from_u256(U256::ZERO).work().as_u256(), U256::MAX);
        // The genesis target: 2^256 / (0xffff * 2^208 + 1) = 0x100010001 (Bitcoin's well-known value).
        let genesis = CompactTarget::from_consensus(0x1d00_ffff)
            .to_target()
            .unwrap();
        assert_eq!(genesis.work().as_u256(), U256::from(0x1_0001_0001u64));
    }

    #[test]
    fn hash_meets_target_by_leading_zeros_and_at_the_boundary() {
        let target = Target::from_leading_zero_bits(16);
        assert!(target.is_met_by(&hash_with_leading_zeros(16)));
        assert!(target.is_met_by(&hash_with_leading_zeros(40)));
        assert!(!target.is_met_by(&hash_with_leading_zeros(15)));
        assert!(target.is_met_by(&BlockHash::ZERO));

        let t = CompactTarget::from_consensus(0x1d00_ffff)
            .to_target()
            .unwrap();
        let equal = BlockHash::from_byte_array(t.to_be_bytes());
        let above = BlockHash::from_byte_array((t.as_u256() + U256::from(1u8)).to_be_bytes());
        assert!(t.is_met_by(&equal));
        assert!(!t.is_met_by(&above));
        // Big-endian: a hash whose *last* byte is nonzero is tiny and meets the target.
        let mut tiny = [0u8; 32];
        tiny[31] = 0xff;
        assert!(t.is_met_by(&BlockHash::from_byte_array(tiny)));
        assert!(Target::MAX.is_met_by(&BlockHash::from_byte_array([0xff; 32])));
    }

    #[test]
    fn invalid_bits_are_rejected_precisely() {
        let err = |bits: u32| CompactTarget::from_consensus(bits).to_target().unwrap_err();
        assert_eq!(err(0x0492_3456), BitsError::Negative { bits: 0x0492_3456 });
        assert_eq!(
            err(0x0100_3456),
            BitsError::NonCanonical {
                bits: 0x0100_3456,
                canonical: 0
            }
        );
        assert_eq!(err(0xff12_3456), BitsError::Overflow { bits: 0xff12_3456 });
        assert_eq!(err(0x0000_0000), BitsError::Zero { bits: 0 });
        assert_eq!(err(0x2000_0000), BitsError::Zero { bits: 0x2000_0000 });
        // A needless leading zero byte in the mantissa.
        assert_eq!(
            err(0x1e00_7fff),
            BitsError::NonCanonical {
                bits: 0x1e00_7fff,
                canonical: 0x1d7f_ff00
            }
        );
        // Low mantissa bytes dropped by a small exponent.
        assert_eq!(
            err(0x0112_3456),
            BitsError::NonCanonical {
                bits: 0x0112_3456,
                canonical: 0x0112_0000
            }
        );
        // Just past 256 bits, and just inside.
        assert_eq!(err(0x2201_0000), BitsError::Overflow { bits: 0x2201_0000 });
        assert_eq!(
            CompactTarget::from_consensus(0x2100_ffff)
                .to_target()
                .unwrap()
                .to_compact(),
            Target::MAX.to_compact()
        );
        assert_eq!(
            err(0x0492_3456).to_string(),
            "compact target 04923456 is negative (sign bit 0x00800000 is set)"
        );
    }

    #[test]
    fn small_targets_use_small_exponents() {
        for (value, bits) in [
            (0x12u32, 0x0112_0000u32),
            (0x80, 0x0200_8000),
            (0x1234, 0x0212_3400),
            (0x12_3456, 0x0312_3456),
            (0x80_0000, 0x0400_8000),
        ] {
            let target = Target::from_u256(U256::from(value));
            assert_eq!(target.to_compact().to_consensus(), bits, "value {value:x}");
            assert_eq!(
                CompactTarget::from_consensus(bits).to_target().unwrap(),
                target
            );
        }
    }

    #[test]
    fn retarget_keeps_target_when_on_schedule() {
        let previous = Target::from_leading_zero_bits(20);
        assert_eq!(retarget(previous, 600_000, 600_000, Target::MAX), previous);
    }

    #[test]
    fn retarget_clamps_to_four_times_and_a_quarter() {
        let previous = Target::from_u256(U256::from(1_000_000u64) << 200);
        let slow = retarget(previous, 6_000_000, 600_000, Target::MAX);
        assert_eq!(slow.as_u256(), previous.as_u256() * U256::from(4u8));
        let fast = retarget(previous, 60_000, 600_000, Target::MAX);
        assert_eq!(fast.as_u256(), previous.as_u256() / U256::from(4u8));
        // Inside the clamp it scales proportionally.
        let half = retarget(previous, 300_000, 600_000, Target::MAX);
        assert_eq!(half.as_u256(), previous.as_u256() / U256::from(2u8));
    }

    #[test]
    fn retarget_is_capped_at_the_pow_limit_and_never_zero() {
        let limit = Target::from_leading_zero_bits(16);
        let previous = Target::from_leading_zero_bits(17);
        assert_eq!(retarget(previous, 4_000, 1_000, limit), limit);
        let one = Target::from_u256(U256::from(1u8));
        assert_eq!(retarget(one, 0, 1_000, limit), one);
        assert_eq!(retarget(one, 0, 1, limit), one);
        assert_eq!(retarget(previous, 10, 0, limit), previous);
    }

    #[test]
    fn retarget_survives_extreme_inputs() {
        assert_eq!(retarget(Target::MAX, u64::MAX, 1, Target::MAX), Target::MAX);
        assert_eq!(
            retarget(Target::MAX, u64::MAX, u64::MAX, Target::MAX),
            Target::MAX
        );
        // ceil((2^64 - 1) / 4) = 2^62, and (2^256 - 1) / (2^64 - 1) = 1 + 2^64 + 2^128 + 2^192.
        let quarter = retarget(Target::MAX, 0, u64::MAX, Target::MAX);
        let one = U256::from(1u8);
        assert_eq!(
            quarter.as_u256(),
            (one << 62) | (one << 126) | (one << 190) | (one << 254)
        );
        assert!(quarter.as_u256() >= U256::MAX / U256::from(4u8));
        assert_eq!(
            retarget(Target::MAX, u64::MAX, 1, Target::from_u256(U256::ZERO)).as_u256(),
            U256::from(1u8)
        );
    }

    #[test]
    fn retarget_bits_rounds_through_compact_form() {
        let limit = Target::from_leading_zero_bits(16);
        let genesis_like = limit.to_compact();
        assert_eq!(
            retarget_bits(genesis_like, 1_000, 1_000, limit),
            Ok(genesis_like)
        );
        assert_eq!(
            retarget_bits(genesis_like, 4_000, 1_000, limit),
            Ok(genesis_like)
        );
        let harder = retarget_bits(genesis_like, 250, 1_000, limit).unwrap();
        assert_eq!(harder.to_target().unwrap().leading_zero_bits(), 18);
        assert_eq!(
            retarget_bits(CompactTarget::from_consensus(0), 1, 1, limit),
            Err(BitsError::Zero { bits: 0 })
        );
    }

    #[test]
    fn text_and_serde_forms() {
        let target = Target::from_leading_zero_bits(16);
        let json = serde_json::to_string(&target).unwrap();
        assert_eq!(json, format!("\"{target}\""));
        assert_eq!(serde_json::from_str::<Target>(&json).unwrap(), target);
        assert_eq!("abc".parse::<Target>(), Err(ParseTargetError::Length(3)));
        assert_eq!(
            "z".repeat(64).parse::<Target>(),
            Err(ParseTargetError::NotHex)
        );

        let bits = CompactTarget::from_consensus(0x1f00_ffff);
        assert_eq!(serde_json::to_string(&bits).unwrap(), "\"1f00ffff\"");
        assert_eq!("0x1F00FFFF".parse::<CompactTarget>(), Ok(bits));
        assert_eq!("1f00ffff".parse::<CompactTarget>(), Ok(bits));
        assert_eq!(
            "0x1f00ff".parse::<CompactTarget>(),
            Err(ParseBitsError::Length(6))
        );
        assert_eq!(
            "1f00ffzz".parse::<CompactTarget>(),
            Err(ParseBitsError::NotHex)
        );
        assert_eq!(format!("{bits:?}"), "CompactTarget(1f00ffff)");

        let work = Work::from_u256(U256::MAX);
        let json = serde_json::to_string(&work).unwrap();
        assert_eq!(
            json,
            "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\""
        );
        assert_eq!(serde_json::from_str::<Work>(&json).unwrap(), work);
        assert_eq!(
            "115792089237316195423570985008687907853269984665640564039457584007913129639936"
                .parse::<Work>(),
            Err(ParseWorkError::Overflow)
        );
        assert_eq!("".parse::<Work>(), Err(ParseWorkError::Empty));
        assert_eq!("-1".parse::<Work>(), Err(ParseWorkError::NotDecimal));
        assert_eq!("1_000".parse::<Work>(), Err(ParseWorkError::NotDecimal));
        assert_eq!(Work::default(), Work::ZERO);
        assert_eq!(Work::ZERO.to_string(), "0");
    }

    #[test]
    fn work_adds_checked_and_saturating() {
        let max = Work::from_u256(U256::MAX);
        let one = Target::MAX.work();
        assert_eq!(max.checked_add(one), None);
        assert_eq!(max.saturating_add(one), max);
        assert_eq!(one.checked_add(one), Some(Work::from_u256(U256::from(2u8))));
        let total: Work = [one, one, one].iter().sum();
        assert_eq!(total.as_u256(), U256::from(3u8));
        let saturated: Work = [max, one].into_iter().sum();
        assert_eq!(saturated, max);
        assert_eq!(Work::from_be_bytes(total.to_be_bytes()), total);
        assert_eq!(Work::ZERO.log2(), f64::NEG_INFINITY);
    }

    /// Any 256-bit number, with bit lengths spread evenly (not almost always 256).
    fn any_u256() -> impl Strategy<Value = U256> {
        (any::<[u8; 32]>(), 0usize..=256)
            .prop_map(|(bytes, shift)| U256::from_be_bytes(bytes).wrapping_shr(shift))
    }

    /// Bits with plausible exponents, including invalid and non-canonical ones.
    fn any_bits() -> impl Strategy<Value = u32> {
        prop_oneof![
            any::<u32>(),
            (0u32..=0x24, 0u32..=0x00ff_ffff).prop_map(|(e, m)| (e << 24) | m),
            any_u256().prop_map(|t| Target::from_u256(t).to_compact().to_consensus()),
        ]
    }

    proptest! {
        #[test]
        fn compact_round_trip_rounds_down_and_keeps_leading_zeros(t in any_u256()) {
            prop_assume!(t != U256::ZERO);
            let target = Target::from_u256(t);
            let rounded = target.to_compact().to_target().unwrap();
            prop_assert!(rounded <= target);
            prop_assert_eq!(rounded.leading_zero_bits(), target.leading_zero_bits());
            // At least 16 significant bits survive.
            let bound = U256::from(1u8) << (t.bit_len().saturating_sub(16));
            prop_assert!(t - rounded.as_u256() < bound);
            // Rounding is idempotent.
            prop_assert_eq!(rounded.to_compact(), target.to_compact());
        }

        #[test]
        fn canonical_bits_round_trip_and_match_bitcoin(bits in any_bits()) {
            let compact = CompactTarget::from_consensus(bits);
            match compact.to_target() {
                Ok(target) => {
                    prop_assert_eq!(target.to_compact(), compact);
                    prop_assert_eq!(Some(target.as_u256()), reference_decode(bits));
                    prop_assert!(bits & SIGN_BIT == 0);
                }
                Err(BitsError::NonCanonical { canonical, .. }) => {
                    prop_assert_ne!(canonical, bits);
                    // The canonical form denotes the same value.
                    prop_assert_eq!(reference_decode(canonical), reference_decode(bits));
                }
                Err(_) => {}
            }
        }

        #[test]
        fn text_forms_round_trip(t in any_u256(), bits in any::<u32>()) {
            let target = Target::from_u256(t);
            prop_assert_eq!(target.to_string().parse::<Target>(), Ok(target));
            prop_assert_eq!(Target::from_be_bytes(target.to_be_bytes()), target);
            let compact = CompactTarget::from_consensus(bits);
            prop_assert_eq!(compact.to_string().parse::<CompactTarget>(), Ok(compact));
            prop_assert_eq!(compact.to_string().len(), 8);
            let work = Work::from_u256(t);
            prop_assert_eq!(work.to_string().parse::<Work>(), Ok(work));
            let json = serde_json::to_string(&work).unwrap();
            prop_assert_eq!(serde_json::from_str::<Work>(&json).unwrap(), work);
        }

        #[test]
        fn work_is_monotonic(a in any_u256(), b in any_u256()) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(Target::from_u256(low).work() >= Target::from_u256(high).work());
        }

        #[test]
        fn work_matches_definition(t in any_u256()) {
            // work * (t + 1) <= 2^256 < (work + 1) * (t + 1), checked in 512 bits.
            let work = U512::from(Target::from_u256(t).work().as_u256());
            let t1 = U512::from(t) + U512::from(1u8);
            let two_256 = U512::from(1u8) << 256;
            prop_assume!(t != U256::ZERO);
            prop_assert!(work * t1 <= two_256);
            prop_assert!((work + U512::from(1u8)) * t1 > two_256);
        }

        #[test]
        fn retarget_stays_within_bounds(
            t in any_u256(),
            actual in any::<u64>(),
            expected in 1u64..,
            limit in any_u256(),
        ) {
            prop_assume!(t != U256::ZERO);
            let previous = Target::from_u256(t);
            let pow_limit = Target::from_u256(limit.max(U256::from(1u8)));
            let new = retarget(previous, actual, expected, pow_limit);
            prop_assert!(new <= pow_limit);
            prop_assert!(new.as_u256() >= U256::from(1u8));
            // Never above ×4, and never below ÷4 (rounded down) unless capped at the limit.
            let wide_new = U512::from(new.as_u256());
            let wide_prev = U512::from(t);
            prop_assert!(wide_new <= wide_prev * U512::from(4u8));
            if new != pow_limit {
                prop_assert!(wide_new >= wide_prev / U512::from(4u8));
            }
        }
    }
}
