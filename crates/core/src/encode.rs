//! The canonical binary encoding (`docs/protocol.md` §1).
//!
//! Integers are little-endian and fixed-width; variable-length data (lists, byte strings) is preceded by a
//! `u32` length; enums are a one-byte tag. There is exactly one encoding of every value, so hashes over these
//! bytes identify values. Decoding is *structural* validation: it rejects truncated input, trailing bytes,
//! unknown tags, amounts above [`crate::Amount::MAX`] and lengths above the protocol's hard limits, with a
//! precise [`DecodeError`] — and never allocates more than the input could actually hold, whatever a length
//! prefix claims.

/// Hard limit on an encoded block, whatever the chain spec says (the spec's own limit is checked later).
pub const MAX_BLOCK_BYTES: usize = 32 * 1024 * 1024;
/// Hard limit on any one length prefix of a list (inputs, outputs, transactions).
pub const MAX_LIST_LEN: u32 = 1 << 20;
/// Hard limit on a byte string (a payload).
pub const MAX_BYTES_LEN: u32 = 1 << 20;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error(
        "input ends early: {what} needs {needed} more bytes at offset {offset}, {remaining} left"
    )]
    UnexpectedEnd {
        /// What was being read.
        what: &'static str,
        /// Offset in the input.
        offset: usize,
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// Bytes are left after the value.
    #[error("{count} unexpected bytes after the end of the value")]
    TrailingBytes {
        /// How many bytes are left over.
        count: usize,
    },
    /// A length prefix is larger than allowed, or larger than the rest of the input could hold.
    #[error("{what}: length {len} is larger than the limit {max}")]
    TooLong {
        /// What the length counts.
        what: &'static str,
        /// The claimed length.
        len: u64,
        /// The largest acceptable length here.
        max: u64,
    },
    /// An enum tag is not one of the defined values.
    #[error("{what}: unknown tag {tag}")]
    UnknownTag {
        /// Which enum.
        what: &'static str,
        /// The tag read.
        tag: u8,
    },
    /// A value is outside its allowed range (for example an amount above the maximum).
    #[error("{what}: value {value} is out of range")]
    OutOfRange {
        /// What was read.
        what: &'static str,
        /// The value read.
        value: u64,
    },
}

/// A value with a canonical encoding.
pub trait Encode {
    /// Appends the encoding to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// Returns the encoding as a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }
}

/// A value that can be decoded from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from the reader.
    ///
    /// # Errors
    /// Any [`DecodeError`] for input that is not a canonical encoding.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a whole buffer: exactly one value, nothing after it.
    ///
    /// # Errors
    /// Any [`DecodeError`]; [`DecodeError::TrailingBytes`] if bytes are left over.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let value = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(value)
    }
}

/// A cursor over input bytes with bounds-checked reads.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The current offset.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Fails unless every byte has been read.
    ///
    /// # Errors
    /// [`DecodeError::TrailingBytes`].
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }

    /// Reads `n` bytes.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`].
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEnd {
                what,
                offset: self.pos,
                needed: n,
                remaining: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Reads a fixed-size array.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`].
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// Reads one byte.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`].
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a little-endian `u32`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`].
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian `u64`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`].
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Reads a list length and checks it against `max` and against what the rest of the input can hold
    /// when each element takes at least `min_item_bytes`. The result is therefore safe to pre-allocate.
    ///
    /// # Errors
    /// [`DecodeError::TooLong`], [`DecodeError::UnexpectedEnd`].
    pub fn list_len(
        &mut self,
        what: &'static str,
        max: u32,
        min_item_bytes: usize,
    ) -> Result<usize, DecodeError> {
        let len = self.u32(what)?;
        if len > max {
            return Err(DecodeError::TooLong {
                what,
                len: len.into(),
                max: max.into(),
            });
        }
        let len = len as usize;
        let fits = self.remaining() / min_item_bytes.max(1);
        if len > fits {
            return Err(DecodeError::TooLong {
                what,
                len: len as u64,
                max: fits as u64,
            });
        }
        Ok(len)
    }

    /// Reads a `u32`-length-prefixed byte string of at most `max` bytes.
    ///
    /// # Errors
    /// [`DecodeError::TooLong`], [`DecodeError::UnexpectedEnd`].
    pub fn bytes(&mut self, what: &'static str, max: u32) -> Result<&'a [u8], DecodeError> {
        let len = self.list_len(what, max, 1)?;
        self.take(len, what)
    }

    /// Reads a list of `T` with a `u32` length prefix.
    ///
    /// # Errors
    /// As [`Reader::list_len`] and `T`'s decoder.
    pub fn list<T: Decode>(
        &mut self,
        what: &'static str,
        max: u32,
        min_item_bytes: usize,
    ) -> Result<Vec<T>, DecodeError> {
        let len = self.list_len(what, max, min_item_bytes)?;
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(T::decode_from(self)?);
        }
        Ok(out)
    }
}

/// Appends a `u32` length prefix.
///
/// # Panics
/// Never for values built by this crate's decoders or checked by its stateless checks, which bound every
/// length far below `u32::MAX`; a longer list is a programming error.
pub fn put_len(out: &mut Vec<u8>, len: usize) {
    let len =
        u32::try_from(len).expect("lengths are bounded far below u32::MAX by the protocol limits");
    out.extend_from_slice(&len.to_le_bytes());
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Appends a length-prefixed list.
pub fn put_list<T: Encode>(out: &mut Vec<u8>, items: &[T]) {
    put_len(out, items.len());
    for item in items {
        item.encode_to(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_bounds_are_checked() {
        let mut r = Reader::new(&[1, 0, 0]);
        assert!(matches!(
            r.u32("x"),
            Err(DecodeError::UnexpectedEnd {
                needed: 4,
                remaining: 3,
                ..
            })
        ));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0x7f]);
        assert!(matches!(
            r.list_len("items", MAX_LIST_LEN, 1),
            Err(DecodeError::TooLong { .. })
        ));
        // A length within the hard limit but beyond the input: refused before any allocation.
        let mut r = Reader::new(&[0x00, 0x00, 0x01, 0x00, 1, 2, 3]);
        assert!(matches!(
            r.list_len("items", MAX_LIST_LEN, 8),
            Err(DecodeError::TooLong {
                len: 65536,
                max: 0,
                ..
            })
        ));
        let r = Reader::new(&[1]);
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes { count: 1 }));
    }
}
