//! Building and signing transactions: transfers (optionally carrying a payload) and records.
//!
//! [`build_transfer`] turns a [`TransferRequest`] — recipients, fee policy, payload, change
//! address, selection options — and the wallet's spendable outputs ([`Candidate`]s) into a
//! signed transaction:
//!
//! 1. checks the request: at least one recipient, no zero amount, the payload within the
//!    network's `max_payload_bytes` — before anything is selected or signed;
//! 2. selects inputs with [`select_coins`] (oldest first; see [`crate::coin_select`]);
//! 3. finds, for every selected input, the key whose hash owns it ([`KeySource::key_for`]),
//!    failing with [`BuildError::UnknownKey`] before signing if one is missing;
//! 4. makes the outputs: the recipients in the order given, then the change (if any) to the
//!    request's change address or, by default, the key source's
//!    ([`KeySource::default_change_address`]: a [`crate::Wallet`]'s first address);
//! 5. signs every input over the transaction's signature message, which commits to the network
//!    id (`Transaction::signed_transfer`);
//! 6. checks the result with `ferrochain_core::check::check_transaction`, so it never returns a
//!    transaction the network would refuse for stateless reasons.
//!
//! [`build_record`] signs a record (no inputs, no outputs: a payload signed by its author).
//!
//! Nothing here panics on any input; every failure is a [`BuildError`].

use ferrochain_core::check::check_transaction;
use ferrochain_core::{
    Amount, Network, OutPoint, PubkeyHash, SigningKey, Transaction, TxError, TxOut,
};

use crate::coin_select::{
    Candidate, FeePolicy, SelectError, Selection, SelectionOptions, TxShape, select_coins,
};

/// Where signing keys come from: a [`crate::Wallet`], a [`crate::Keystore`], one key or a slice
/// of keys.
pub trait KeySource {
    /// The key whose public key hashes to `owner`, if this source holds it.
    fn key_for(&self, owner: &PubkeyHash) -> Option<&SigningKey>;

    /// Where change goes when the request names no change address (`None`: nowhere, and a
    /// transfer that needs change fails with [`BuildError::NoChangeAddress`]).
    fn default_change_address(&self) -> Option<PubkeyHash>;
}

impl KeySource for SigningKey {
    fn key_for(&self, owner: &PubkeyHash) -> Option<&SigningKey> {
        (self.public_key().pubkey_hash() == *owner).then_some(self)
    }

    /// The key's own address.
    fn default_change_address(&self) -> Option<PubkeyHash> {
        Some(self.public_key().pubkey_hash())
    }
}

impl KeySource for [SigningKey] {
    fn key_for(&self, owner: &PubkeyHash) -> Option<&SigningKey> {
        self.iter().find(|k| k.public_key().pubkey_hash() == *owner)
    }

    /// The first key's address.
    fn default_change_address(&self) -> Option<PubkeyHash> {
        self.first().map(|k| k.public_key().pubkey_hash())
    }
}

/// What to send: recipients, fee, payload, and how to select and where change goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRequest {
    /// Who gets how much, in output order.
    pub recipients: Vec<(PubkeyHash, Amount)>,
    /// The fee policy.
    pub fee: FeePolicy,
    /// Data carried by the transfer (a memo, a record's content); empty for none.
    pub payload: Vec<u8>,
    /// Where change goes; `None`: [`KeySource::default_change_address`].
    pub change_address: Option<PubkeyHash>,
    /// Dust threshold, unconfirmed outputs, input cap, maturity.
    pub options: SelectionOptions,
}

impl TransferRequest {
    /// A request paying `recipients` with `fee`, no payload, default change and options.
    pub fn new(recipients: Vec<(PubkeyHash, Amount)>, fee: FeePolicy) -> TransferRequest {
        TransferRequest {
            recipients,
            fee,
            payload: Vec::new(),
            change_address: None,
            options: SelectionOptions::default(),
        }
    }

    /// With a payload.
    pub fn with_payload(mut self, payload: Vec<u8>) -> TransferRequest {
        self.payload = payload;
        self
    }

    /// With change going to `address`.
    pub fn with_change_address(mut self, address: PubkeyHash) -> TransferRequest {
        self.change_address = Some(address);
        self
    }

    /// With these selection options.
    pub fn with_options(mut self, options: SelectionOptions) -> TransferRequest {
        self.options = options;
        self
    }
}

/// A signed transfer and how it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltTransfer {
    /// The signed transaction.
    pub transaction: Transaction,
    /// The inputs, fee and change chosen.
    pub selection: Selection,
    /// Where the change went (`None` when there is no change output; it is then the last
    /// output otherwise).
    pub change_address: Option<PubkeyHash>,
}

/// Why a transaction could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A transfer without recipients.
    #[error("a transfer needs at least one recipient")]
    NoRecipients,
    /// A recipient's amount is zero (zero outputs are invalid).
    #[error("recipient {index} is to receive zero; every output must carry a positive amount")]
    ZeroOutput {
        /// The recipient's position in the request.
        index: usize,
    },
    /// The recipients' amounts add up to more than can exist.
    #[error("the recipients' amounts add up to more than the largest possible amount")]
    AmountOverflow,
    /// The payload is larger than the network allows.
    #[error("payload of {len} bytes is larger than this network's limit of {max} bytes")]
    PayloadTooLarge {
        /// Its length.
        len: usize,
        /// The network's `max_payload_bytes`.
        max: u32,
    },
    /// A record with an empty payload.
    #[error("a record must carry a payload")]
    EmptyRecord,
    /// Coin selection failed (insufficient funds, too many inputs…).
    #[error(transparent)]
    Selection(#[from] SelectError),
    /// The transfer has change but no address to send it to.
    #[error("the transfer has change but no change address was given and the keys offer none")]
    NoChangeAddress,
    /// A selected output belongs to an address whose key is not held.
    #[error("no key is held for the address that owns output {}:{}", .0.txid, .0.vout)]
    UnknownKey(OutPoint),
    /// The transaction would be larger than a block may be.
    #[error("the transaction would be {len} bytes, more than a block may hold ({max} bytes)")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The network's `max_block_bytes`.
        max: u32,
    },
    /// The signed transaction failed `ferrochain-core`'s stateless checks (inconsistent inputs,
    /// e.g. a candidate whose entry does not match the chain).
    #[error("the built transaction is invalid: {0}")]
    Invalid(#[from] TxError),
}

/// Selects, signs and checks a transfer; returns only the transaction. See
/// [`build_transfer_detailed`] for the fee and change chosen.
///
/// # Errors
/// As [`build_transfer_detailed`].
pub fn build_transfer<K: KeySource + ?Sized>(
    keys: &K,
    candidates: &[Candidate],
    request: &TransferRequest,
    network: &Network,
) -> Result<Transaction, BuildError> {
    build_transfer_detailed(keys, candidates, request, network).map(|b| b.transaction)
}

/// Selects, signs and checks a transfer (the steps of the [module docs](self)).
///
/// # Errors
/// [`BuildError::NoRecipients`], [`BuildError::ZeroOutput`], [`BuildError::AmountOverflow`],
/// [`BuildError::PayloadTooLarge`] (all before selecting); [`BuildError::Selection`];
/// [`BuildError::UnknownKey`], [`BuildError::NoChangeAddress`], [`BuildError::TooLarge`] (before
/// signing); [`BuildError::Invalid`].
pub fn build_transfer_detailed<K: KeySource + ?Sized>(
    keys: &K,
    candidates: &[Candidate],
    request: &TransferRequest,
    network: &Network,
) -> Result<BuiltTransfer, BuildError> {
    if request.recipients.is_empty() {
        return Err(BuildError::NoRecipients);
    }
    if let Some(index) = request
        .recipients
        .iter()
        .position(|(_, a)| *a == Amount::ZERO)
    {
        return Err(BuildError::ZeroOutput { index });
    }
    let target = Amount::checked_sum(request.recipients.iter().map(|(_, a)| *a))
        .map_err(|_| BuildError::AmountOverflow)?;
    check_payload(&request.payload, network)?;

    let shape = TxShape {
        recipient_outputs: request.recipients.len(),
        payload_len: request.payload.len(),
    };
    let selection = select_coins(candidates, target, request.fee, shape, &request.options)?;

    let mut spends = Vec::with_capacity(selection.inputs.len());
    for c in &selection.inputs {
        let key = keys
            .key_for(&c.owner())
            .ok_or(BuildError::UnknownKey(c.outpoint))?;
        spends.push((c.outpoint, key));
    }
    let mut outputs: Vec<TxOut> = request
        .recipients
        .iter()
        .map(|(address, amount)| TxOut {
            amount: *amount,
            address: *address,
        })
        .collect();
    let change_address = if selection.has_change() {
        let address = request
            .change_address
            .or_else(|| keys.default_change_address())
            .ok_or(BuildError::NoChangeAddress)?;
        outputs.push(TxOut {
            amount: selection.change,
            address,
        });
        Some(address)
    } else {
        None
    };
    let max = network.spec().max_block_bytes;
    if selection.encoded_len > max as usize {
        return Err(BuildError::TooLarge {
            len: selection.encoded_len,
            max,
        });
    }

    let transaction = Transaction::signed_transfer(
        &spends,
        outputs,
        request.payload.clone(),
        &network.genesis_hash(),
    );
    check_transaction(&transaction, network)?;
    Ok(BuiltTransfer {
        transaction,
        selection,
        change_address,
    })
}

/// Signs a record: `payload` by `key`'s owner at `timestamp_ms` (ms since the Unix epoch, as the
/// author states it), for `network`. The record has no inputs and no outputs and pays no fee.
///
/// # Errors
/// [`BuildError::EmptyRecord`], [`BuildError::PayloadTooLarge`] (before signing);
/// [`BuildError::Invalid`].
pub fn build_record(
    key: &SigningKey,
    payload: Vec<u8>,
    timestamp_ms: u64,
    network: &Network,
) -> Result<Transaction, BuildError> {
    if payload.is_empty() {
        return Err(BuildError::EmptyRecord);
    }
    check_payload(&payload, network)?;
    let record = Transaction::signed_record(key, payload, timestamp_ms, &network.genesis_hash());
    check_transaction(&record, network)?;
    Ok(record)
}

fn check_payload(payload: &[u8], network: &Network) -> Result<(), BuildError> {
    let max = network.spec().max_payload_bytes;
    if payload.len() > max as usize {
        return Err(BuildError::PayloadTooLarge {
            len: payload.len(),
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
