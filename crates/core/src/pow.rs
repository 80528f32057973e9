//! Proof of work (temporary stand-in while the full module is written; same API subset).
#![allow(missing_docs)]
use std::fmt;
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CompactTarget(u32);
impl CompactTarget {
    pub const fn from_consensus(bits: u32) -> Self {
        CompactTarget(bits)
    }
    pub const fn to_consensus(self) -> u32 {
        self.0
    }
}
impl fmt::Debug for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}
impl serde::Serialize for CompactTarget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}
impl<'de> serde::Deserialize<'de> for CompactTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u32::deserialize(d).map(CompactTarget)
    }
}
