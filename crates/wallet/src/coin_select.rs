//! Coin selection: which unspent outputs pay for a transfer, what it pays in fees, and what
//! comes back as change (`docs/adr/0010-coin-selection.md`).
//!
//! # Strategy
//!
//! Deterministic, simple to explain, and exact about failure:
//!
//! 1. **Eligible outputs.** A candidate is eligible if it is confirmed (or unconfirmed and
//!    [`SelectionOptions::allow_unconfirmed`] is set — a wallet may spend its own unconfirmed
//!    change, which the mempool accepts), if it is not an immature block reward (when
//!    [`SelectionOptions::maturity`] is given), and if it is worth more than the fee its own input
//!    adds (under a fee rate, an output worth `rate × 132` or less would cost more to spend than
//!    it brings: it is *uneconomic*). A repeated outpoint counts once.
//! 2. **Oldest first.** Eligible outputs are taken in order of age — confirmed ones by height,
//!    then outpoint (txid, index); then unconfirmed ones by outpoint — until they cover the
//!    amount plus the fee of the transaction they would make.
//! 3. **Fee.** [`FeePolicy::Fixed`] is a fixed fee. [`FeePolicy::PerByte`] is `rate ×` the encoded
//!    size of the transaction (`Transaction::encoded_len` of the transfer with that many inputs,
//!    the recipients' outputs, the payload and, if any, the change output). Each added input
//!    raises the fee by `rate × 132`; the fee is recomputed after every added input, so the
//!    result is stable: the final fee is at least `rate ×` the final size.
//! 4. **Change.** What is left, `inputs − amount − fee`, goes back to the wallet as one change
//!    output — unless it is zero or below [`SelectionOptions::dust_threshold`] (default 0), in
//!    which case it is added to the fee and the transaction has no change output (which also
//!    makes it 28 bytes smaller).
//! 5. **Input cap.** At most [`SelectionOptions::max_inputs`] inputs (default
//!    [`DEFAULT_MAX_INPUTS`]). If oldest-first needs more, the largest eligible outputs are taken
//!    first instead (ties by age); if even the `max_inputs` largest cannot pay, the selection
//!    fails with [`SelectError::TooManyInputs`] (consolidate first, or send less).
//!
//! Failures are exact: [`SelectError::InsufficientFunds`] means no set of eligible outputs pays
//! (its `available` is the sum of the eligible outputs and is below `needed`);
//! [`SelectError::TooManyInputs`] means enough funds exist but no set of at most `max_inputs` of
//! them pays. Every sum is checked; nothing here panics.
//!
//! Oldest-first spends old coins before they pile up and needs no randomness, so a given wallet
//! state always builds the same transaction (tests and the UI can predict it). It does not try to
//! minimise fees or hide which outputs belong together (a privacy-minded wallet would choose
//! differently; ferrochain is for learning and prototyping).

use std::cmp::Reverse;
use std::collections::HashSet;

use ferrochain_core::tx::{INPUT_BYTES, TX_VERSION};
use ferrochain_core::{
    Amount, Height, Network, OutPoint, PubkeyHash, Transaction, TxKind, TxOut, UtxoEntry,
};

/// Default cap on the inputs of one transaction: 500 inputs are 66,000 bytes, well inside
/// every preset's block size.
pub const DEFAULT_MAX_INPUTS: usize = 500;

/// An unspent output the wallet could spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// The output.
    pub outpoint: OutPoint,
    /// Its amount, owner, height and whether it is a block reward. For an unconfirmed output the
    /// height is not used.
    pub entry: UtxoEntry,
    /// Whether the output is in a block (`false`: created by a transaction still in the mempool).
    pub confirmed: bool,
}

impl Candidate {
    /// A confirmed output.
    pub fn confirmed(outpoint: OutPoint, entry: UtxoEntry) -> Candidate {
        Candidate {
            outpoint,
            entry,
            confirmed: true,
        }
    }

    /// An output of a transaction still in the mempool (e.g. the wallet's own change).
    pub fn unconfirmed(outpoint: OutPoint, entry: UtxoEntry) -> Candidate {
        Candidate {
            outpoint,
            entry,
            confirmed: false,
        }
    }

    /// The amount.
    pub fn amount(&self) -> Amount {
        self.entry.output.amount
    }

    /// The key hash that owns it.
    pub fn owner(&self) -> PubkeyHash {
        self.entry.output.address
    }
}

impl From<(OutPoint, UtxoEntry)> for Candidate {
    /// A confirmed output, as a UTXO set lists them.
    fn from((outpoint, entry): (OutPoint, UtxoEntry)) -> Candidate {
        Candidate::confirmed(outpoint, entry)
    }
}

/// How the fee is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeePolicy {
    /// This fee, whatever the size.
    Fixed(Amount),
    /// This many smallest units per byte of the encoded transaction.
    PerByte(Amount),
}

impl Default for FeePolicy {
    /// No fee (fine on `dev` chains, whose blocks have room for everything).
    fn default() -> FeePolicy {
        FeePolicy::Fixed(Amount::ZERO)
    }
}

/// When block rewards become spendable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Maturity {
    /// The height of the block the transaction is expected in (usually tip + 1).
    pub spend_height: Height,
    /// The chain's `coinbase_maturity`: a reward from height `h` is spendable from `h + maturity`.
    pub coinbase_maturity: u64,
}

impl Maturity {
    /// The rule for a transaction in the block after `tip_height` on `network`.
    pub fn for_next_block(network: &Network, tip_height: Height) -> Maturity {
        Maturity {
            spend_height: Height(tip_height.0.saturating_add(1)),
            coinbase_maturity: network.spec().coinbase_maturity,
        }
    }

    /// Whether `entry` may be spent at [`Maturity::spend_height`].
    pub fn allows(&self, entry: &UtxoEntry) -> bool {
        !entry.is_coinbase
            || self.spend_height.0 >= entry.height.0.saturating_add(self.coinbase_maturity)
    }
}

/// Tuning of the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectionOptions {
    /// Change below this is added to the fee instead of making a change output. Default 0 (only
    /// a zero change is dropped).
    pub dust_threshold: Amount,
    /// Whether unconfirmed candidates may be spent. Default `false`.
    pub allow_unconfirmed: bool,
    /// At most this many inputs. Default [`DEFAULT_MAX_INPUTS`].
    pub max_inputs: usize,
    /// If set, block rewards that are not yet mature are not spent. Default `None` (the caller
    /// passes only spendable outputs, or the chain has maturity 0).
    pub maturity: Option<Maturity>,
}

impl Default for SelectionOptions {
    fn default() -> SelectionOptions {
        SelectionOptions {
            dust_threshold: Amount::ZERO,
            allow_unconfirmed: false,
            max_inputs: DEFAULT_MAX_INPUTS,
            maturity: None,
        }
    }
}

/// The parts of the transaction other than inputs and change, which its size depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TxShape {
    /// Number of outputs to recipients (the change output comes on top).
    pub recipient_outputs: usize,
    /// Payload length in bytes.
    pub payload_len: usize,
}

impl TxShape {
    /// The encoded size of a transfer of this shape with `inputs` inputs and, if `change`, one
    /// more output: `Transaction::encoded_len` of such a transaction. `None` if it does not fit in
    /// `usize`.
    pub fn encoded_len(&self, inputs: usize, change: bool) -> Option<usize> {
        // The skeleton has no inputs and no payload; both add a fixed number of bytes each.
        let outputs = self.recipient_outputs.checked_add(usize::from(change))?;
        let placeholder = TxOut {
            amount: Amount::ZERO,
            address: PubkeyHash::default(),
        };
        let skeleton = Transaction {
            version: TX_VERSION,
            kind: TxKind::Transfer { inputs: Vec::new() },
            outputs: vec![placeholder; outputs],
            payload: Vec::new(),
        };
        skeleton
            .encoded_len()
            .checked_add(inputs.checked_mul(INPUT_BYTES)?)?
            .checked_add(self.payload_len)
    }
}

/// The outcome of a selection. Always `input_total = target + fee + change`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The outputs to spend, in the order they were picked (the transaction's input order).
    pub inputs: Vec<Candidate>,
    /// Their sum.
    pub input_total: Amount,
    /// The amount paid to the recipients.
    pub target: Amount,
    /// The fee (including any change below the dust threshold).
    pub fee: Amount,
    /// The change output's amount; zero means no change output.
    pub change: Amount,
    /// The encoded size of the transaction this selection builds.
    pub encoded_len: usize,
}

impl Selection {
    /// Whether the transaction gets a change output.
    pub fn has_change(&self) -> bool {
        self.change > Amount::ZERO
    }
}

/// Why no selection was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// The amount to send is zero.
    #[error("the amount to send is zero")]
    ZeroAmount,
    /// The eligible outputs together do not cover the amount plus the fee.
    #[error(
        "insufficient funds: {needed} needed (amount plus fee), {available} available{}",
        if *unspendable > Amount::ZERO {
            format!(" ({unspendable} more is unconfirmed, not yet mature, or worth less than the fee to spend it)")
        } else {
            String::new()
        }
    )]
    InsufficientFunds {
        /// Amount plus the fee of a transaction spending every eligible output.
        needed: Amount,
        /// The sum of the eligible outputs.
        available: Amount,
        /// The sum of the candidates that were not eligible (unconfirmed when that is not
        /// allowed, immature block rewards, uneconomic outputs; saturates at the maximum
        /// amount).
        unspendable: Amount,
    },
    /// Enough funds, but not within the input cap.
    #[error(
        "{needed} needed, but the {max_inputs} largest spendable outputs add up to only {reachable}: consolidate small outputs first or send less"
    )]
    TooManyInputs {
        /// The cap.
        max_inputs: usize,
        /// Amount plus the fee of a transaction with `max_inputs` inputs.
        needed: Amount,
        /// The sum of the `max_inputs` largest eligible outputs.
        reachable: Amount,
    },
    /// A sum exceeds the largest possible amount.
    #[error("{what} exceeds the largest possible amount")]
    AmountOverflow {
        /// Which sum (e.g. `"amount plus fee"`).
        what: &'static str,
    },
}

/// Selects inputs paying `target` plus the fee, with the strategy of the [module docs](self).
///
/// # Errors
/// [`SelectError::ZeroAmount`], [`SelectError::InsufficientFunds`],
/// [`SelectError::TooManyInputs`], [`SelectError::AmountOverflow`].
pub fn select_coins(
    candidates: &[Candidate],
    target: Amount,
    fee: FeePolicy,
    shape: TxShape,
    options: &SelectionOptions,
) -> Result<Selection, SelectError> {
    if target == Amount::ZERO {
        return Err(SelectError::ZeroAmount);
    }
    let ctx = Ctx {
        target,
        fee,
        shape,
        dust: options.dust_threshold,
    };
    let input_fee = ctx.input_fee()?;

    let mut seen = HashSet::with_capacity(candidates.len());
    let mut eligible: Vec<Candidate> = Vec::with_capacity(candidates.len());
    let mut unspendable: u128 = 0;
    for c in candidates {
        if !seen.insert(c.outpoint) {
            continue;
        }
        let ok = (c.confirmed || options.allow_unconfirmed)
            && options.maturity.is_none_or(|m| m.allows(&c.entry))
            && c.amount() > input_fee;
        if ok {
            eligible.push(*c);
        } else {
            unspendable += u128::from(c.amount().to_units());
        }
    }
    // Oldest first: confirmed by (height, outpoint), then unconfirmed by outpoint.
    eligible.sort_by_key(|c| {
        if c.confirmed {
            (false, c.entry.height, c.outpoint)
        } else {
            (true, Height(0), c.outpoint)
        }
    });

    // Pass 1: oldest first, no cap.
    let mut total: u128 = 0;
    let mut covered_at = None;
    for (i, c) in eligible.iter().enumerate() {
        total += u128::from(c.amount().to_units());
        if let Some(outcome) = ctx.evaluate(i + 1, total)? {
            covered_at = Some((i + 1, outcome));
            break;
        }
    }
    let Some((count, outcome)) = covered_at else {
        return Err(SelectError::InsufficientFunds {
            needed: ctx.needed_without_change(eligible.len().max(1))?,
            available: saturate(total),
            unspendable: saturate(unspendable),
        });
    };
    if count <= options.max_inputs {
        eligible.truncate(count);
        return ctx.finish(eligible, total, outcome);
    }

    // Pass 2: over the cap; the largest first (stable sort keeps age order among equals).
    eligible.sort_by_key(|c| Reverse(c.amount()));
    eligible.truncate(options.max_inputs);
    let mut total: u128 = 0;
    for (i, c) in eligible.iter().enumerate() {
        total += u128::from(c.amount().to_units());
        if let Some(outcome) = ctx.evaluate(i + 1, total)? {
            eligible.truncate(i + 1);
            return ctx.finish(eligible, total, outcome);
        }
    }
    Err(SelectError::TooManyInputs {
        max_inputs: options.max_inputs,
        needed: ctx.needed_without_change(options.max_inputs.max(1))?,
        reachable: saturate(total),
    })
}

/// The fee a transaction of `shape` with `inputs` inputs (and a change output if `change`) must
/// pay under `policy`.
///
/// # Errors
/// [`SelectError::AmountOverflow`] if the fee exceeds the largest possible amount.
pub fn fee_for(
    policy: FeePolicy,
    shape: TxShape,
    inputs: usize,
    change: bool,
) -> Result<Amount, SelectError> {
    const WHAT: &str = "the fee (rate times size)";
    match policy {
        FeePolicy::Fixed(fee) => Ok(fee),
        FeePolicy::PerByte(rate) => {
            let size = shape
                .encoded_len(inputs, change)
                .ok_or(SelectError::AmountOverflow { what: WHAT })?;
            amount(u128::from(rate.to_units()) * size as u128, WHAT)
        }
    }
}

/// What a candidate count leads to: the fee and the change (zero: no change output).
#[derive(Clone, Copy)]
struct Outcome {
    fee: Amount,
    change: Amount,
}

struct Ctx {
    target: Amount,
    fee: FeePolicy,
    shape: TxShape,
    dust: Amount,
}

impl Ctx {
    /// The fee one more input adds (zero for a fixed fee).
    fn input_fee(&self) -> Result<Amount, SelectError> {
        match self.fee {
            FeePolicy::Fixed(_) => Ok(Amount::ZERO),
            FeePolicy::PerByte(rate) => amount(
                u128::from(rate.to_units()) * INPUT_BYTES as u128,
                "the fee of one input",
            ),
        }
    }

    fn needed_without_change(&self, inputs: usize) -> Result<Amount, SelectError> {
        let fee = fee_for(self.fee, self.shape, inputs, false)?;
        self.target
            .checked_add(fee)
            .map_err(|_| SelectError::AmountOverflow {
                what: "amount plus fee",
            })
    }

    /// Whether `inputs` inputs worth `total` pay for the transaction, and how.
    fn evaluate(&self, inputs: usize, total: u128) -> Result<Option<Outcome>, SelectError> {
        let target = u128::from(self.target.to_units());
        let fee_change = fee_for(self.fee, self.shape, inputs, true)?;
        let with_change = target + u128::from(fee_change.to_units());
        if total > with_change {
            let change = total - with_change;
            if change >= u128::from(self.dust.to_units()) {
                return Ok(Some(Outcome {
                    fee: fee_change,
                    change: amount(change, "the change")?,
                }));
            }
        }
        let needed = self.needed_without_change(inputs)?;
        if total >= u128::from(needed.to_units()) {
            return Ok(Some(Outcome {
                fee: amount(total - target, "the fee (with the change added to it)")?,
                change: Amount::ZERO,
            }));
        }
        Ok(None)
    }

    fn finish(
        &self,
        inputs: Vec<Candidate>,
        total: u128,
        outcome: Outcome,
    ) -> Result<Selection, SelectError> {
        let encoded_len = self
            .shape
            .encoded_len(inputs.len(), outcome.change > Amount::ZERO)
            .ok_or(SelectError::AmountOverflow {
                what: "the transaction size",
            })?;
        Ok(Selection {
            input_total: amount(total, "the sum of the selected inputs")?,
            inputs,
            target: self.target,
            fee: outcome.fee,
            change: outcome.change,
            encoded_len,
        })
    }
}

fn amount(units: u128, what: &'static str) -> Result<Amount, SelectError> {
    u64::try_from(units)
        .ok()
        .and_then(|u| Amount::from_units(u).ok())
        .ok_or(SelectError::AmountOverflow { what })
}

fn saturate(units: u128) -> Amount {
    amount(units, "").unwrap_or(Amount::MAX)
}

#[cfg(test)]
mod tests;
