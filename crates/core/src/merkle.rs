//! Merkle roots and inclusion proofs for a block's transaction ids.
//!
//! # What a Merkle tree is
//!
//! A block header cannot hold every transaction, so it holds one 32-byte hash that *commits* to the whole
//! ordered list of transaction ids (txids): the **Merkle root**. The txids are the leaves of a binary tree;
//! each inner node is the hash of its two children, and the root is the node at the top. Changing, adding,
//! removing or reordering any txid changes the root (unless someone finds a SHA-256 collision).
//!
//! # What an inclusion proof is
//!
//! To convince someone who only knows the root that a transaction is in the block, you do not need to send
//! all the txids. Send the txid, its position, and the hashes of the *siblings* met on the way from its leaf up
//! to the root (the "audit path"): one hash per level, so about log2(n) hashes for n transactions. The
//! verifier hashes the leaf, combines it with each sibling in turn (on the left or on the right, as the position
//! dictates) and checks that the result equals the root it already trusts.
//!
//! # Why leaves and inner nodes are hashed with different prefixes
//!
//! If leaves and inner nodes were hashed the same way, the 64 bytes `left || right` under an inner node could be
//! presented as if they were a *leaf*: a shorter "tree" whose leaves are inner nodes of the real one would have
//! the same root (a second preimage), and a proof could claim that an inner node is a transaction. Hashing a
//! leaf as `SHA-256(0x00 || txid)` and an inner node as `SHA-256(0x01 || left || right)` puts the two kinds of
//! hash in disjoint domains, so one can never stand in for the other.
//!
//! # The tree used here (`docs/protocol.md` §3)
//!
//! The Merkle Tree Hash (MTH) of RFC 6962 / RFC 9162 §2.1 (Certificate Transparency):
//!
//! - leaf hash = `SHA-256(0x00 || txid bytes)`; inner node = `SHA-256(0x01 || left || right)`;
//! - for `n > 1` leaves, split at `k` = the largest power of two strictly less than `n`:
//!   `root = node(MTH(first k), MTH(rest))`; for `n == 1`, `root = leaf hash`; for `n == 0`, the root is
//!   SHA-256 of the empty string (never used by valid blocks, which always have a coinbase).
//! - No leaf is ever duplicated, so unlike Bitcoin's tree, two different leaf lists can't share a root through
//!   odd-leaf duplication (CVE-2012-2459), and the `0x00`/`0x01` prefixes stop an inner node from being passed
//!   off as a leaf (second preimage).
//!
//! Proofs are RFC 9162 audit paths (siblings from the leaf upward) checked with the verification algorithm of
//! RFC 9162 §2.1.3.2, which rejects a path with extra or missing entries.
//!
//! # What a proof does and does not bind
//!
//! A verified proof shows that the txid is a leaf of the tree with that root. The root does **not** commit to
//! the number of leaves, so the proof's `leaf_count` is only as trustworthy as its source: with a wrong count a
//! proof can still verify while claiming a wrong position (for example the proof for leaf 4 of 5 is also
//! accepted as "leaf 1 of 2"). Take the count from an authenticated source (the block itself) before trusting
//! `leaf_index`.

use serde::{Deserialize, Serialize};

use crate::hash::{MerkleNode, Txid, sha256, sha256_concat};

/// Domain-separation prefix of a leaf hash.
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an inner-node hash.
const NODE_PREFIX: u8 = 0x01;

/// Hashes a leaf: `SHA-256(0x00 || txid)`.
pub fn leaf_hash(txid: &Txid) -> MerkleNode {
    MerkleNode::from_byte_array(sha256_concat(&[&[LEAF_PREFIX], txid.as_bytes()]))
}

/// Hashes an inner node from its children: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &MerkleNode, right: &MerkleNode) -> MerkleNode {
    MerkleNode::from_byte_array(sha256_concat(&[
        &[NODE_PREFIX],
        left.as_bytes(),
        right.as_bytes(),
    ]))
}

/// Where RFC 6962 splits `n >= 2` leaves: the largest power of two strictly less than `n`.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (n - 1).ilog2()
}

/// The Merkle root of `txids` in order (RFC 6962 MTH; see the module docs).
///
/// Hashes each leaf once and each inner node once (`2n - 1` hashes). The empty list gives SHA-256 of the
/// empty string.
pub fn merkle_root(txids: &[Txid]) -> MerkleNode {
    match txids {
        [] => MerkleNode::from_byte_array(sha256(&[])),
        [txid] => leaf_hash(txid),
        _ => {
            let (left, right) = txids.split_at(split_point(txids.len()));
            node_hash(&merkle_root(left), &merkle_root(right))
        }
    }
}

/// A proof that a txid is the leaf at `leaf_index` of a tree of `leaf_count` leaves.
///
/// `path` is the RFC 9162 audit path: the sibling hashes from the leaf upward. See the module docs for why
/// `leaf_count` must come from a trusted source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    /// Position of the proven leaf, counting from 0.
    pub leaf_index: u32,
    /// Number of leaves in the tree.
    pub leaf_count: u32,
    /// Sibling hashes from the leaf up to (not including) the root.
    pub path: Vec<MerkleNode>,
}

/// Which side of the running hash a sibling goes on when combining.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The sibling is the left child: `result = node_hash(sibling, current)`.
    Left,
    /// The sibling is the right child: `result = node_hash(current, sibling)`.
    Right,
}

/// One level of a proof's walk from the leaf to the root.
///
/// The first step's input is [`leaf_hash`] of the txid; each later step's input is the previous `result`; the
/// last step's `result` is the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleStep {
    /// The sibling hash taken from the proof's path.
    pub sibling: MerkleNode,
    /// The side the sibling is on.
    pub sibling_side: Side,
    /// The hash of the parent node this step produces.
    pub result: MerkleNode,
}

/// Builds the inclusion proof for `txids[index]`.
///
/// Returns `None` when `index >= txids.len()` or when there are more than `u32::MAX` txids.
/// Hashes `O(n)` times: the sibling subtrees together cover `n - 1` leaves.
pub fn merkle_proof(txids: &[Txid], index: usize) -> Option<MerkleProof> {
    let leaf_count = u32::try_from(txids.len()).ok()?;
    let leaf_index = u32::try_from(index).ok()?;
    if leaf_index >= leaf_count {
        return None;
    }
    let mut path = Vec::new();
    audit_path(txids, index, &mut path);
    Some(MerkleProof {
        leaf_index,
        leaf_count,
        path,
    })
}

/// RFC 6962 `PATH(m, D[n])`, appending siblings deepest first. Requires `m < txids.len()`.
fn audit_path(txids: &[Txid], m: usize, out: &mut Vec<MerkleNode>) {
    if txids.len() <= 1 {
        return;
    }
    let k = split_point(txids.len());
    let (left, right) = txids.split_at(k);
    if m < k {
        audit_path(left, m, out);
        out.push(merkle_root(right));
    } else {
        audit_path(right, m - k, out);
        out.push(merkle_root(left));
    }
}

impl MerkleProof {
    /// The root this proof implies for `txid`, by the RFC 9162 §2.1.3.2 verification algorithm.
    ///
    /// Returns `None` if `leaf_index >= leaf_count` or if the path is not exactly as long as a proof for
    /// (`leaf_index`, `leaf_count`) must be.
    pub fn root_for(&self, txid: &Txid) -> Option<MerkleNode> {
        self.walk(txid, |_| {})
    }

    /// Whether this proof shows `txid` at `leaf_index` in the tree with root `root` (given that `leaf_count`
    /// is right; see the module docs).
    pub fn verify(&self, txid: &Txid, root: &MerkleNode) -> bool {
        self.root_for(txid)
            .is_some_and(|computed| computed == *root)
    }

    /// The steps from `txid`'s leaf hash to the root, for display; `None` exactly when
    /// [`root_for`](Self::root_for) is `None`. A one-leaf tree has no steps (its root is the leaf hash).
    pub fn steps(&self, txid: &Txid) -> Option<Vec<MerkleStep>> {
        let mut steps = Vec::with_capacity(self.path.len());
        self.walk(txid, |step| steps.push(step))?;
        Some(steps)
    }

    /// RFC 9162 §2.1.3.2: folds the path into a root, reporting each combination to `on_step`.
    fn walk(&self, txid: &Txid, mut on_step: impl FnMut(MerkleStep)) -> Option<MerkleNode> {
        if self.leaf_index >= self.leaf_count {
            return None;
        }
        let mut fnode = self.leaf_index;
        let mut snode = self.leaf_count - 1;
        let mut running = leaf_hash(txid);
        for sibling in &self.path {
            if snode == 0 {
                // More path entries than levels.
                return None;
            }
            let sibling_side = if fnode & 1 == 1 || fnode == snode {
                running = node_hash(sibling, &running);
                // A rightmost node with no sibling at some levels is promoted unchanged: skip those levels.
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
                Side::Left
            } else {
                running = node_hash(&running, sibling);
                Side::Right
            };
            on_step(MerkleStep {
                sibling: *sibling,
                sibling_side,
                result: running,
            });
            fnode >>= 1;
            snode >>= 1;
        }
        // Fewer path entries than levels if `snode` has not reached 0.
        (snode == 0).then_some(running)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `t_i = SHA-256([i])`, for `i` in `0..n`.
    fn txids(n: usize) -> Vec<Txid> {
        (0..n)
            .map(|i| Txid::hash(&[u8::try_from(i).unwrap()]))
            .collect()
    }

    fn flip_byte<const N: usize>(bytes: [u8; N], at: usize) -> [u8; N] {
        let mut out = bytes;
        out[at] ^= 0x01;
        out
    }

    // Expected roots computed independently of this code with Python's hashlib (RFC 6962 MTH):
    //
    //     import hashlib
    //     H = lambda b: hashlib.sha256(b).digest()
    //     def mth(d):
    //         n = len(d)
    //         if n == 0: return H(b"")
    //         if n == 1: return H(b"\x00" + d[0])
    //         k = 1
    //         while k * 2 < n: k *= 2
    //         return H(b"\x01" + mth(d[:k]) + mth(d[k:]))
    //     for n in (1, 2, 3, 5):
    //         print(n, mth([H(bytes([i])) for i in range(n)]).hex())
    const ROOT_1: &str = "d9de27625445003d8a9739a851e3ff8d41c0683630b4d63a88327a6aaa37c409";
    const ROOT_2: &str = "604d540f09268b91672ab011394d5266ccd7d4484d0d109411a55848126a1b2c";
    const ROOT_3: &str = "d1f13800048f5909d4043fc0c152f6643280cba608b672715e56ce159a20629f";
    const ROOT_5: &str = "6b313b611b40676b9e1dfd70c4503f2379f88f0f1c2740fb7e1cacc32c113465";

    #[test]
    fn roots_match_independent_python_vectors() {
        for (n, expected) in [(1, ROOT_1), (2, ROOT_2), (3, ROOT_3), (5, ROOT_5)] {
            assert_eq!(merkle_root(&txids(n)).to_string(), expected, "n = {n}");
        }
    }

    #[test]
    fn empty_root_is_sha256_of_empty_string() {
        assert_eq!(
            merkle_root(&[]).to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_and_node_hashes_use_their_prefixes() {
        let t = Txid::hash(b"tx");
        let mut leaf_input = vec![0x00];
        leaf_input.extend_from_slice(t.as_bytes());
        assert_eq!(leaf_hash(&t).to_byte_array(), sha256(&leaf_input));

        let (l, r) = (MerkleNode::hash(b"l"), MerkleNode::hash(b"r"));
        let mut node_input = vec![0x01];
        node_input.extend_from_slice(l.as_bytes());
        node_input.extend_from_slice(r.as_bytes());
        assert_eq!(node_hash(&l, &r).to_byte_array(), sha256(&node_input));
    }

    #[test]
    fn split_point_is_largest_power_of_two_below_n() {
        for n in 2..=1000usize {
            let k = split_point(n);
            assert!(k.is_power_of_two() && k < n && 2 * k >= n, "n = {n}");
        }
    }

    #[test]
    fn every_proof_up_to_33_leaves_verifies() {
        for n in 1..=33 {
            let ids = txids(n);
            let root = merkle_root(&ids);
            for (i, txid) in ids.iter().enumerate() {
                let proof = merkle_proof(&ids, i).unwrap();
                assert_eq!(proof.leaf_index as usize, i);
                assert_eq!(proof.leaf_count as usize, n);
                assert!(proof.verify(txid, &root), "n = {n}, i = {i}");
                let steps = proof.steps(txid).unwrap();
                assert_eq!(steps.len(), proof.path.len());
                assert_eq!(steps.last().map_or(leaf_hash(txid), |s| s.result), root);
            }
        }
    }

    #[test]
    fn changing_any_byte_of_txid_root_or_path_fails() {
        for n in 1..=33 {
            let ids = txids(n);
            let root = merkle_root(&ids);
            for (i, txid) in ids.iter().enumerate() {
                let proof = merkle_proof(&ids, i).unwrap();
                for at in 0..32 {
                    let bad_txid = Txid::from_byte_array(flip_byte(txid.to_byte_array(), at));
                    assert!(!proof.verify(&bad_txid, &root));
                    let bad_root = MerkleNode::from_byte_array(flip_byte(root.to_byte_array(), at));
                    assert!(!proof.verify(txid, &bad_root));
                    for level in 0..proof.path.len() {
                        let mut bad = proof.clone();
                        bad.path[level] = MerkleNode::from_byte_array(flip_byte(
                            bad.path[level].to_byte_array(),
                            at,
                        ));
                        assert!(
                            !bad.verify(txid, &root),
                            "n = {n}, i = {i}, level = {level}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn changing_leaf_index_fails() {
        for n in 1..=33 {
            let ids = txids(n);
            let root = merkle_root(&ids);
            for (i, txid) in ids.iter().enumerate() {
                let proof = merkle_proof(&ids, i).unwrap();
                for other in (0..=n + 1).chain([u32::MAX as usize]).filter(|&j| j != i) {
                    let bad = MerkleProof {
                        leaf_index: u32::try_from(other).unwrap(),
                        ..proof.clone()
                    };
                    assert!(!bad.verify(txid, &root), "n = {n}, i = {i} -> {other}");
                }
            }
        }
    }

    /// The root does not commit to the leaf count (see the module docs), so a wrong count can be accepted, but
    /// only when it makes the verifier perform exactly the same hash combinations as the true proof.
    #[test]
    fn changing_leaf_count_fails_or_repeats_the_same_hashing() {
        for n in 1..=33 {
            let ids = txids(n);
            let root = merkle_root(&ids);
            for (i, txid) in ids.iter().enumerate() {
                let proof = merkle_proof(&ids, i).unwrap();
                let true_steps = proof.steps(txid).unwrap();
                for count in (0..=2 * n + 2)
                    .chain([u32::MAX as usize])
                    .filter(|&c| c != n)
                {
                    let bad = MerkleProof {
                        leaf_count: u32::try_from(count).unwrap(),
                        ..proof.clone()
                    };
                    if bad.verify(txid, &root) {
                        assert_eq!(bad.steps(txid).unwrap(), true_steps, "n = {n}, i = {i}");
                    }
                    if i >= count {
                        assert_eq!(bad.root_for(txid), None);
                    }
                }
            }
        }
    }

    #[test]
    fn leaf_count_is_not_committed_by_the_root() {
        // Documented limitation: leaf 4 of 5 has a one-entry path (the root of leaves 0..4 on the left), which
        // is also the shape of a proof for leaf 1 of 2.
        let ids = txids(5);
        let root = merkle_root(&ids);
        let proof = merkle_proof(&ids, 4).unwrap();
        let relabelled = MerkleProof {
            leaf_index: 1,
            leaf_count: 2,
            ..proof
        };
        assert!(relabelled.verify(&ids[4], &root));
    }

    #[test]
    fn truncated_or_extended_path_is_rejected() {
        for n in 1..=33 {
            let ids = txids(n);
            let root = merkle_root(&ids);
            for (i, txid) in ids.iter().enumerate() {
                let proof = merkle_proof(&ids, i).unwrap();
                let mut variants = Vec::new();
                for extra in [MerkleNode::ZERO, root, leaf_hash(txid)] {
                    let mut longer = proof.clone();
                    longer.path.push(extra);
                    variants.push(longer);
                    let mut longer = proof.clone();
                    longer.path.insert(0, extra);
                    variants.push(longer);
                }
                if !proof.path.is_empty() {
                    let mut shorter = proof.clone();
                    shorter.path.pop();
                    variants.push(shorter);
                    let mut shorter = proof.clone();
                    shorter.path.remove(0);
                    variants.push(shorter);
                }
                for bad in &variants {
                    assert_eq!(bad.root_for(txid), None, "n = {n}, i = {i}");
                    assert!(!bad.verify(txid, &root));
                    assert_eq!(bad.steps(txid), None);
                }
            }
        }
    }

    #[test]
    fn out_of_range_index_has_no_proof() {
        let ids = txids(4);
        assert_eq!(merkle_proof(&ids, 4), None);
        assert_eq!(merkle_proof(&ids, usize::MAX), None);
        assert_eq!(merkle_proof(&[], 0), None);
        let bad = MerkleProof {
            leaf_index: 0,
            leaf_count: 0,
            path: vec![],
        };
        assert_eq!(bad.root_for(&ids[0]), None);
    }

    #[test]
    fn single_leaf_proof_is_empty_and_root_is_leaf_hash() {
        let ids = txids(1);
        let proof = merkle_proof(&ids, 0).unwrap();
        assert!(proof.path.is_empty());
        assert_eq!(proof.root_for(&ids[0]), Some(leaf_hash(&ids[0])));
        assert_eq!(proof.steps(&ids[0]), Some(vec![]));
    }

    #[test]
    fn steps_chain_from_leaf_hash_to_root() {
        let ids = txids(7);
        let root = merkle_root(&ids);
        for (i, txid) in ids.iter().enumerate() {
            let proof = merkle_proof(&ids, i).unwrap();
            let mut current = leaf_hash(txid);
            for step in proof.steps(txid).unwrap() {
                let expected = match step.sibling_side {
                    Side::Left => node_hash(&step.sibling, &current),
                    Side::Right => node_hash(&current, &step.sibling),
                };
                assert_eq!(step.result, expected);
                current = step.result;
            }
            assert_eq!(current, root);
        }
        // Leaf 6 of 7 has no sibling at the bottom level: its path is just the roots of leaves 4..6 and 0..4.
        let proof = merkle_proof(&ids, 6).unwrap();
        assert_eq!(
            proof.path,
            vec![merkle_root(&ids[4..6]), merkle_root(&ids[..4])]
        );
        let sides: Vec<Side> = proof
            .steps(&ids[6])
            .unwrap()
            .iter()
            .map(|s| s.sibling_side)
            .collect();
        assert_eq!(sides, vec![Side::Left, Side::Left]);
    }

    #[test]
    fn duplicating_trailing_leaves_changes_the_root() {
        let [a, b, c, d, e, f] = txids(6).try_into().unwrap();
        assert_ne!(merkle_root(&[a, b, c]), merkle_root(&[a, b, c, c]));
        assert_ne!(
            merkle_root(&[a, b, c, d, e]),
            merkle_root(&[a, b, c, d, e, e])
        );
        assert_ne!(
            merkle_root(&[a, b, c, d, e, f]),
            merkle_root(&[a, b, c, d, e, f, e, f])
        );
        for n in 1..=33 {
            let ids = txids(n);
            let mut dup = ids.clone();
            dup.push(ids[n - 1]);
            assert_ne!(merkle_root(&ids), merkle_root(&dup), "n = {n}");
        }
    }

    #[test]
    fn inner_node_cannot_pass_as_a_leaf() {
        let ids = txids(4);
        let root = merkle_root(&ids);
        let inner_left = merkle_root(&ids[..2]);
        let inner_right = merkle_root(&ids[2..]);
        // Without prefixes, the inner nodes as "txids" would give the same root.
        let as_txids = [inner_left, inner_right].map(|n| Txid::from_byte_array(n.to_byte_array()));
        assert_ne!(merkle_root(&as_txids), root);
        // A proof claiming the left inner node is leaf 0 of a two-leaf tree with this root fails.
        let forged = MerkleProof {
            leaf_index: 0,
            leaf_count: 2,
            path: vec![inner_right],
        };
        assert!(!forged.verify(&as_txids[0], &root));
    }

    #[test]
    fn proof_serde_json_round_trip() {
        let ids = txids(5);
        let proof = merkle_proof(&ids, 3).unwrap();
        let json = serde_json::to_string(&proof).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["leaf_index"], 3);
        assert_eq!(value["leaf_count"], 5);
        assert_eq!(value["path"][0], proof.path[0].to_string());
        let back: MerkleProof = serde_json::from_str(&json).unwrap();
        assert_eq!(back, proof);

        let steps = proof.steps(&ids[3]).unwrap();
        let json = serde_json::to_value(steps[0]).unwrap();
        assert_eq!(json["sibling_side"], "left");
        let back: MerkleStep = serde_json::from_value(json).unwrap();
        assert_eq!(back, steps[0]);
    }

    /// Lists over a small alphabet, so near-identical lists (duplicated or reordered leaves) are common.
    fn small_alphabet_list() -> impl Strategy<Value = Vec<Txid>> {
        prop::collection::vec(0u8..4, 1..40)
            .prop_map(|v| v.into_iter().map(|b| Txid::hash(&[b])).collect())
    }

    proptest! {
        #[test]
        fn distinct_lists_have_distinct_roots(a in small_alphabet_list(), b in small_alphabet_list()) {
            prop_assume!(a != b);
            prop_assert_ne!(merkle_root(&a), merkle_root(&b));
        }

        #[test]
        fn random_proofs_verify_and_reject_a_flipped_bit(
            raw in prop::collection::vec(any::<[u8; 32]>(), 1..100),
            index in any::<prop::sample::Index>(),
            bit in 0usize..256,
        ) {
            let ids: Vec<Txid> = raw.into_iter().map(Txid::from_byte_array).collect();
            let i = index.index(ids.len());
            let root = merkle_root(&ids);
            let proof = merkle_proof(&ids, i).unwrap();
            prop_assert!(proof.verify(&ids[i], &root));
            let mut bytes = ids[i].to_byte_array();
            bytes[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!proof.verify(&Txid::from_byte_array(bytes), &root));
        }
    }
}
