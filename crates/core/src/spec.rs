//! The chain spec — a network's identity and rules — and [`Network`], the spec with its genesis block
//! (`docs/protocol.md` §7).
//!
//! A spec is a TOML file. Its every field is committed into the genesis block (the genesis coinbase's payload
//! ends with the SHA-256 of the spec's canonical encoding), so the genesis hash — the *network id* peers compare
//! in their handshake — changes whenever any rule changes: two nodes agree on the id only if they agree on all
//! the rules.
//!
//! Two presets are built in: [`ChainSpec::dev`] (16 leading zero bits, fixed difficulty, subsidy 10, coinbase
//! maturity 0 — the world of the tutorial systems) and [`ChainSpec::lab`] (difficulty retargeting toward
//! 10-second blocks, for a classroom of nodes).

use crate::block::{BLOCK_VERSION, Block, Header};
use crate::crypto::{AddressError, PubkeyHash, check_prefix};
use crate::encode::{Encode, MAX_BLOCK_BYTES, MAX_BYTES_LEN, put_bytes};
use crate::hash::{BlockHash, Txid, sha256};
use crate::merkle::merkle_root;
use crate::pow::{BitsError, CompactTarget, Target, retarget, retarget_bits};
use crate::tx::{OutPoint, Transaction, TxOut};
use crate::units::{Amount, AmountError, Height};
use crate::utxo::{BlockChanges, UtxoEntry};

/// A pre-funded output of the genesis block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Allocation {
    /// Who receives it.
    pub address: PubkeyHash,
    /// How much.
    pub amount: Amount,
}

/// The rules of a network. Build with [`ChainSpec::from_toml`] or a preset, then check with
/// [`Network::new`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ChainSpec {
    /// The network's name (shown to people).
    pub name: String,
    /// The bech32m human-readable part of addresses ("dev" gives `dev1…`).
    pub address_prefix: String,
    /// The coin's unit name, for display.
    pub unit: String,
    /// How many decimals amounts show: 1 unit = 10^decimals smallest units.
    pub decimals: u8,
    /// Genesis timestamp, ms since the Unix epoch.
    pub genesis_time_ms: u64,
    /// The message stored in the genesis coinbase.
    pub genesis_message: String,
    /// Pre-funded outputs of the genesis block.
    pub genesis_allocations: Vec<Allocation>,
    /// The target of the first blocks.
    pub initial_bits: CompactTarget,
    /// The easiest target retargeting may reach.
    pub pow_limit: Target,
    /// Block subsidy before any halving, in smallest units.
    pub subsidy: Amount,
    /// Blocks between halvings of the subsidy (0: never).
    pub halving_interval: u64,
    /// Most coins that will ever exist, allocations included.
    pub max_supply: Amount,
    /// The block interval retargeting aims for, in ms.
    pub target_block_time_ms: u64,
    /// Blocks between retargets (0: fixed difficulty).
    pub retarget_interval: u64,
    /// Blocks a coinbase output must wait before it can be spent (0: at once).
    pub coinbase_maturity: u64,
    /// Largest encoded block.
    pub max_block_bytes: u32,
    /// Largest transaction payload.
    pub max_payload_bytes: u32,
    /// How far ahead of a node's clock a block's timestamp may be, in ms.
    pub max_future_drift_ms: u64,
}

/// Why a chain spec is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// The TOML text is malformed or has unknown or missing fields.
    #[error("chain spec is not valid TOML for a chain spec: {0}")]
    Toml(String),
    /// The name is empty.
    #[error("chain spec: name must not be empty")]
    EmptyName,
    /// The address prefix cannot be used.
    #[error("chain spec: {0}")]
    Prefix(AddressError),
    /// A genesis allocation's address is not an address of this network.
    #[error("chain spec: genesis allocation {index}: {source}")]
    AllocationAddress {
        /// Which allocation.
        index: usize,
        /// Why.
        source: AddressError,
    },
    /// An amount in the spec cannot be read.
    #[error("chain spec: {field}: {source}")]
    Amount {
        /// Which field.
        field: &'static str,
        /// Why.
        source: AmountError,
    },
    /// A field is outside its allowed range.
    #[error("chain spec: {field} must be {requirement}")]
    OutOfRange {
        /// Which field.
        field: &'static str,
        /// What it must be.
        requirement: &'static str,
    },
    /// Subsidy or allocations exceed the supply cap.
    #[error("chain spec: {0} exceeds max_supply")]
    ExceedsSupply(&'static str),
    /// The initial target is easier than the pow limit, or not a valid compact target.
    #[error("chain spec: initial difficulty: {0}")]
    Bits(BitsError),
}

/// The TOML form of a chain spec: difficulty as leading zero bits and amounts as decimal text in whole
/// units, as people write them.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    name: String,
    address_prefix: String,
    unit: String,
    decimals: u8,
    genesis_time_ms: u64,
    genesis_message: String,
    initial_difficulty_bits: u32,
    min_difficulty_bits: u32,
    block_subsidy: String,
    halving_interval: u64,
    max_supply: String,
    target_block_time_secs: u64,
    retarget_interval: u64,
    coinbase_maturity: u64,
    max_block_bytes: u32,
    max_payload_bytes: u32,
    max_clock_drift_secs: u64,
    #[serde(default)]
    genesis_allocations: Vec<AllocationFile>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AllocationFile {
    address: String,
    amount: String,
}

const COIN_DECIMALS: u8 = 8;
const COIN: u64 = 100_000_000;

impl ChainSpec {
    /// The `dev` preset: fixed difficulty of 16 leading zero bits, subsidy 10, coinbase maturity 0 — for one
    /// machine, tests and tutorials.
    pub fn dev() -> ChainSpec {
        ChainSpec {
            name: "dev".into(),
            address_prefix: "dev".into(),
            unit: "FERRO".into(),
            decimals: COIN_DECIMALS,
            genesis_time_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
            genesis_message: "ferrochain dev: a chain to learn on".into(),
            genesis_allocations: Vec::new(),
            initial_bits: Target::from_leading_zero_bits(16).to_compact(),
            pow_limit: Target::from_leading_zero_bits(8),
            subsidy: Amount::from_units(10 * COIN).unwrap_or(Amount::ZERO),
            halving_interval: 0,
            max_supply: Amount::from_units(21_000_000 * COIN).unwrap_or(Amount::ZERO),
            target_block_time_ms: 10_000,
            retarget_interval: 0,
            coinbase_maturity: 0,
            max_block_bytes: 4_000_000,
            max_payload_bytes: 16 * 1024,
            max_future_drift_ms: 2 * 60 * 60 * 1000,
        }
    }

    /// The `lab` preset: difficulty retargets every 10 blocks toward 10-second blocks (clamped ×4 / ÷4),
    /// subsidy 50 halving every 100,000 blocks, coinbase maturity 10 — for classrooms of nodes.
    pub fn lab() -> ChainSpec {
        ChainSpec {
            name: "lab".into(),
            address_prefix: "lab".into(),
            genesis_message: "ferrochain lab: many nodes, one chain".into(),
            initial_bits: Target::from_leading_zero_bits(20).to_compact(),
            pow_limit: Target::from_leading_zero_bits(12),
            subsidy: Amount::from_units(50 * COIN).unwrap_or(Amount::ZERO),
            halving_interval: 100_000,
            retarget_interval: 10,
            coinbase_maturity: 10,
            max_future_drift_ms: 2 * 60 * 1000,
            ..ChainSpec::dev()
        }
    }

    /// A preset by name (`dev` or `lab`).
    pub fn preset(name: &str) -> Option<ChainSpec> {
        match name {
            "dev" => Some(ChainSpec::dev()),
            "lab" => Some(ChainSpec::lab()),
            _ => None,
        }
    }

    /// Reads a spec from TOML text.
    ///
    /// # Errors
    /// [`SpecError::Toml`] for malformed text, and the other variants for values that cannot be used.
    pub fn from_toml(text: &str) -> Result<ChainSpec, SpecError> {
        let file: SpecFile = toml::from_str(text).map_err(|e| SpecError::Toml(e.to_string()))?;
        let d = file.decimals;
        if d > 18 {
            return Err(SpecError::OutOfRange {
                field: "decimals",
                requirement: "at most 18",
            });
        }
        let amount = |field, text: &str| {
            Amount::parse_units(text, d).map_err(|source| SpecError::Amount { field, source })
        };
        let bits = |field, n: u32| {
            if n > 250 {
                Err(SpecError::OutOfRange {
                    field,
                    requirement: "at most 250",
                })
            } else {
                Ok(Target::from_leading_zero_bits(n))
            }
        };
        check_prefix(&file.address_prefix).map_err(SpecError::Prefix)?;
        let mut genesis_allocations = Vec::with_capacity(file.genesis_allocations.len());
        for (index, a) in file.genesis_allocations.iter().enumerate() {
            genesis_allocations.push(Allocation {
                address: PubkeyHash::from_address(&a.address, &file.address_prefix)
                    .map_err(|source| SpecError::AllocationAddress { index, source })?,
                amount: amount("genesis_allocations.amount", &a.amount)?,
            });
        }
        let spec = ChainSpec {
            name: file.name,
            address_prefix: file.address_prefix,
            unit: file.unit,
            decimals: d,
            genesis_time_ms: file.genesis_time_ms,
            genesis_message: file.genesis_message,
            genesis_allocations,
            initial_bits: bits("initial_difficulty_bits", file.initial_difficulty_bits)?
                .to_compact(),
            pow_limit: bits("min_difficulty_bits", file.min_difficulty_bits)?,
            subsidy: amount("block_subsidy", &file.block_subsidy)?,
            halving_interval: file.halving_interval,
            max_supply: amount("max_supply", &file.max_supply)?,
            target_block_time_ms: file.target_block_time_secs.saturating_mul(1000),
            retarget_interval: file.retarget_interval,
            coinbase_maturity: file.coinbase_maturity,
            max_block_bytes: file.max_block_bytes,
            max_payload_bytes: file.max_payload_bytes,
            max_future_drift_ms: file.max_clock_drift_secs.saturating_mul(1000),
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Writes the spec as commented TOML that [`ChainSpec::from_toml`] reads back.
    ///
    /// # Errors
    /// [`SpecError::Prefix`] if an allocation cannot be shown as an address (the prefix is invalid).
    pub fn to_toml(&self) -> Result<String, SpecError> {
        let d = self.decimals;
        let mut out = String::new();
        let q = |s: &str| toml_string(s);
        out.push_str("# ferrochain chain spec: the rules and identity of a network.\n");
        out.push_str("# Every field is committed into the genesis block: change any and you have a new network.\n\n");
        out.push_str(&format!("name = {}\n", q(&self.name)));
        out.push_str(&format!(
            "# addresses look like {}1...\naddress_prefix = {}\n",
            self.address_prefix,
            q(&self.address_prefix)
        ));
        out.push_str(&format!(
            "unit = {}\n# 1 unit = 10^decimals smallest units\ndecimals = {d}\n",
            q(&self.unit)
        ));
        out.push_str(&format!(
            "genesis_time_ms = {}\ngenesis_message = {}\n",
            self.genesis_time_ms,
            q(&self.genesis_message)
        ));
        out.push_str(&format!(
            "# proof of work: a block hash must start with this many zero bits\ninitial_difficulty_bits = {}\n",
            self.initial_target().map(|t| t.leading_zero_bits()).unwrap_or(0)
        ));
        out.push_str(&format!(
            "# retargeting never makes blocks easier than this\nmin_difficulty_bits = {}\n",
            self.pow_limit.leading_zero_bits()
        ));
        out.push_str(&format!(
            "# block reward before halvings, in {}\nblock_subsidy = {}\n",
            self.unit,
            q(&self.subsidy.format_units(d))
        ));
        out.push_str(&format!(
            "# blocks between halvings (0: never)\nhalving_interval = {}\n",
            self.halving_interval
        ));
        out.push_str(&format!(
            "max_supply = {}\n",
            q(&self.max_supply.format_units(d))
        ));
        out.push_str(&format!(
            "target_block_time_secs = {}\n",
            self.target_block_time_ms / 1000
        ));
        out.push_str(&format!("# blocks between difficulty adjustments (0: fixed difficulty)\nretarget_interval = {}\n", self.retarget_interval));
        out.push_str(&format!(
            "# blocks before a block reward can be spent\ncoinbase_maturity = {}\n",
            self.coinbase_maturity
        ));
        out.push_str(&format!(
            "max_block_bytes = {}\nmax_payload_bytes = {}\n",
            self.max_block_bytes, self.max_payload_bytes
        ));
        out.push_str(&format!(
            "# how far ahead of a node's clock a block time may be\nmax_clock_drift_secs = {}\n",
            self.max_future_drift_ms / 1000
        ));
        for a in &self.genesis_allocations {
            out.push_str(&format!(
                "\n[[genesis_allocations]]\naddress = {}\namount = {}\n",
                q(&a.address
                    .to_address(&self.address_prefix)
                    .map_err(SpecError::Prefix)?),
                q(&a.amount.format_units(d))
            ));
        }
        Ok(out)
    }

    /// The target of the first blocks.
    ///
    /// # Errors
    /// [`BitsError`] if `initial_bits` is not a valid compact target.
    pub fn initial_target(&self) -> Result<Target, BitsError> {
        self.initial_bits.to_target()
    }

    /// Checks that the rules are usable together.
    ///
    /// # Errors
    /// The first problem found, as a [`SpecError`].
    pub fn validate(&self) -> Result<(), SpecError> {
        let range = |ok: bool, field, requirement| {
            if ok {
                Ok(())
            } else {
                Err(SpecError::OutOfRange { field, requirement })
            }
        };
        if self.name.trim().is_empty() {
            return Err(SpecError::EmptyName);
        }
        check_prefix(&self.address_prefix).map_err(SpecError::Prefix)?;
        range(self.decimals <= 18, "decimals", "at most 18")?;
        range(
            self.retarget_interval != 1,
            "retarget_interval",
            "0 (off) or at least 2",
        )?;
        range(
            self.target_block_time_ms >= 1000,
            "target_block_time_secs",
            "at least 1",
        )?;
        range(
            self.max_block_bytes >= 1024 && self.max_block_bytes as usize <= MAX_BLOCK_BYTES,
            "max_block_bytes",
            "between 1024 and 33554432",
        )?;
        range(
            self.max_payload_bytes <= MAX_BYTES_LEN,
            "max_payload_bytes",
            "at most 1048576",
        )?;
        range(
            (self.max_payload_bytes as usize) < self.max_block_bytes as usize,
            "max_payload_bytes",
            "smaller than max_block_bytes",
        )?;
        let initial = self.initial_target().map_err(SpecError::Bits)?;
        if initial > self.pow_limit {
            return Err(SpecError::OutOfRange {
                field: "initial_difficulty_bits",
                requirement: "at least min_difficulty_bits",
            });
        }
        if self.subsidy > self.max_supply {
            return Err(SpecError::ExceedsSupply("block_subsidy"));
        }
        let allocated = Amount::checked_sum(self.genesis_allocations.iter().map(|a| a.amount))
            .map_err(|_| SpecError::ExceedsSupply("genesis_allocations"))?;
        if allocated > self.max_supply {
            return Err(SpecError::ExceedsSupply("genesis_allocations"));
        }
        if self
            .genesis_allocations
            .iter()
            .any(|a| a.amount == Amount::ZERO)
        {
            return Err(SpecError::OutOfRange {
                field: "genesis_allocations.amount",
                requirement: "greater than 0",
            });
        }
        Ok(())
    }

    /// The SHA-256 of the spec's canonical encoding (committed into the genesis block).
    pub fn rules_hash(&self) -> [u8; 32] {
        let mut out = Vec::new();
        put_bytes(&mut out, self.name.as_bytes());
        put_bytes(&mut out, self.address_prefix.as_bytes());
        put_bytes(&mut out, self.unit.as_bytes());
        out.push(self.decimals);
        out.extend_from_slice(&self.genesis_time_ms.to_le_bytes());
        put_bytes(&mut out, self.genesis_message.as_bytes());
        crate::encode::put_len(&mut out, self.genesis_allocations.len());
        for a in &self.genesis_allocations {
            out.extend_from_slice(a.address.as_bytes());
            out.extend_from_slice(&a.amount.to_units().to_le_bytes());
        }
        out.extend_from_slice(&self.initial_bits.to_consensus().to_le_bytes());
        out.extend_from_slice(&self.pow_limit.to_be_bytes());
        for v in [
            self.subsidy.to_units(),
            self.halving_interval,
            self.max_supply.to_units(),
            self.target_block_time_ms,
            self.retarget_interval,
            self.coinbase_maturity,
            u64::from(self.max_block_bytes),
            u64::from(self.max_payload_bytes),
            self.max_future_drift_ms,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        sha256(&out)
    }

    /// The subsidy the schedule allows at `height`, ignoring the supply cap.
    fn nominal_subsidy(&self, height: u64) -> u64 {
        if height == 0 {
            return 0;
        }
        let s = self.subsidy.to_units();
        if self.halving_interval == 0 {
            return s;
        }
        let halvings = (height - 1) / self.halving_interval;
        if halvings >= 64 { 0 } else { s >> halvings }
    }

    /// Total nominal subsidy of blocks 1..=height (u128: cannot overflow).
    fn nominal_issued_through(&self, height: u64) -> u128 {
        let s = u128::from(self.subsidy.to_units());
        if self.halving_interval == 0 {
            return s * u128::from(height);
        }
        let interval = u128::from(self.halving_interval);
        let full_epochs = height / self.halving_interval;
        let mut total = 0u128;
        for e in 0..full_epochs.min(64) {
            total += interval * (s >> e);
        }
        if full_epochs < 64 {
            total += u128::from(height % self.halving_interval) * (s >> full_epochs);
        }
        total
    }

    /// The block subsidy at `height`: the schedule's amount, reduced so that allocations plus all subsidies
    /// never exceed `max_supply` (`docs/protocol.md` §5).
    pub fn subsidy_at(&self, height: Height) -> Amount {
        let h = height.0;
        if h == 0 {
            return Amount::ZERO;
        }
        let allocated: u128 = self
            .genesis_allocations
            .iter()
            .map(|a| u128::from(a.amount.to_units()))
            .sum();
        let issued = allocated + self.nominal_issued_through(h - 1);
        let room = u128::from(self.max_supply.to_units()).saturating_sub(issued);
        let s = u128::from(self.nominal_subsidy(h)).min(room);
        // s <= subsidy <= max_supply <= Amount::MAX.
        Amount::from_units(s as u64).unwrap_or(Amount::ZERO)
    }

    /// If a block at `height` retargets, the height of the block whose time starts the measured window
    /// (the window ends at the parent, `height - 1`, and spans `interval` block gaps).
    ///
    /// Retargets happen at multiples of the interval from `2 × interval` on, so a window never starts at
    /// genesis: the genesis time is fixed in the spec, long before a private network actually starts, and a
    /// window measured from it would always see "blocks far too slow" and make mining 4× easier.
    pub fn retarget_window_start(&self, height: Height) -> Option<Height> {
        let (h, n) = (height.0, self.retarget_interval);
        if n == 0 || h < n.saturating_mul(2) || h % n != 0 {
            return None;
        }
        Some(Height(h - n - 1))
    }

    /// The easiest target any valid block at `height` can carry, whatever its ancestors: the bound a header is
    /// checked against before its parent is known (`docs/protocol.md` §8, "Proof of work").
    ///
    /// With fixed difficulty (`retarget_interval` 0), and on every chain before its first retarget, this is the
    /// initial target itself. After `k` retargets it is the initial target made 4× easier `k` times (the most
    /// one retarget may move it), capped at `pow_limit` — never easier than `pow_limit`. Compact encoding only
    /// rounds targets down, so no chain that follows the rules can exceed this bound.
    pub fn easiest_target_at(&self, height: Height) -> Target {
        let initial = self.initial_target().unwrap_or(self.pow_limit);
        let n = self.retarget_interval;
        let retargets = if n == 0 || height.0 < n.saturating_mul(2) {
            0
        } else {
            height.0 / n - 1
        };
        let mut target = initial.min(self.pow_limit);
        for _ in 0..retargets {
            if target >= self.pow_limit {
                break;
            }
            // Blocks 4× too slow: the largest step a retarget can make.
            target = retarget(target, 4, 1, self.pow_limit);
        }
        target
    }

    /// The compact target a block at `height` must carry. `window_times` gives the timestamps of the
    /// blocks at [`ChainSpec::retarget_window_start`] and at `height - 1` when this height retargets.
    ///
    /// # Errors
    /// [`BitsError`] if `parent_bits` is not a valid compact target.
    pub fn expected_bits(
        &self,
        height: Height,
        parent_bits: CompactTarget,
        window_times: Option<(u64, u64)>,
    ) -> Result<CompactTarget, BitsError> {
        if height.0 <= 1 {
            return Ok(self.initial_bits);
        }
        match (self.retarget_window_start(height), window_times) {
            (Some(start), Some((start_time, end_time))) => {
                let gaps = height.0 - 1 - start.0;
                let expected = gaps.saturating_mul(self.target_block_time_ms);
                retarget_bits(
                    parent_bits,
                    end_time.saturating_sub(start_time),
                    expected,
                    self.pow_limit,
                )
            }
            _ => {
                parent_bits.to_target()?;
                Ok(parent_bits)
            }
        }
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A checked chain spec with its genesis block: everything the checks need to know about the network.
#[derive(Clone, Debug)]
pub struct Network {
    spec: ChainSpec,
    genesis: Block,
    genesis_hash: BlockHash,
}

impl Network {
    /// Checks the spec and builds its genesis block.
    ///
    /// # Errors
    /// [`SpecError`] from [`ChainSpec::validate`].
    pub fn new(spec: ChainSpec) -> Result<Network, SpecError> {
        spec.validate()?;
        let genesis = genesis_block(&spec);
        let genesis_hash = genesis.hash();
        Ok(Network {
            spec,
            genesis,
            genesis_hash,
        })
    }

    /// The `dev` preset's network.
    pub fn dev() -> Network {
        Network::new(ChainSpec::dev())
            .unwrap_or_else(|e| unreachable!("the dev preset is valid: {e}"))
    }

    /// The `lab` preset's network.
    pub fn lab() -> Network {
        Network::new(ChainSpec::lab())
            .unwrap_or_else(|e| unreachable!("the lab preset is valid: {e}"))
    }

    /// The rules.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The genesis block.
    pub fn genesis(&self) -> &Block {
        &self.genesis
    }

    /// The genesis hash: the network id.
    pub fn genesis_hash(&self) -> BlockHash {
        self.genesis_hash
    }

    /// Whether this network is the `dev` preset itself: its genesis hash (the network's identity) is the
    /// preset's — not merely a spec named `dev`. Decides the `dev` conveniences (plaintext node keys, open
    /// mining, reset) in the node and the keystore.
    pub fn is_dev_preset(&self) -> bool {
        self.genesis_hash == Network::dev().genesis_hash
    }

    /// Whether `hash` is this network's genesis. Genesis is not mined and not checked like other blocks:
    /// it is defined by the spec and recognised by its hash.
    pub fn is_genesis(&self, hash: &BlockHash) -> bool {
        *hash == self.genesis_hash
    }

    /// Encodes a key hash as an address of this network.
    pub fn address(&self, hash: &PubkeyHash) -> String {
        // The prefix was checked by `validate`.
        hash.to_address(&self.spec.address_prefix)
            .unwrap_or_default()
    }

    /// Reads an address of this network.
    ///
    /// # Errors
    /// [`AddressError`]: typo, wrong network, wrong length.
    pub fn parse_address(&self, address: &str) -> Result<PubkeyHash, AddressError> {
        PubkeyHash::from_address(address, &self.spec.address_prefix)
    }

    /// The UTXO changes of the genesis block: its allocations, spendable at once.
    pub fn genesis_changes(&self) -> BlockChanges {
        let coinbase = &self.genesis.transactions[0];
        let txid = coinbase.txid();
        BlockChanges {
            height: Height::GENESIS,
            block_hash: self.genesis_hash,
            spent: Vec::new(),
            created: created_outputs(coinbase, txid, Height::GENESIS, false),
            txids: vec![txid],
            fees: Amount::ZERO,
        }
    }
}

/// The outputs `tx` creates, as UTXO entries.
pub(crate) fn created_outputs(
    tx: &Transaction,
    txid: Txid,
    height: Height,
    is_coinbase: bool,
) -> Vec<(OutPoint, UtxoEntry)> {
    tx.outputs
        .iter()
        .enumerate()
        .map(|(vout, output)| {
            (
                OutPoint {
                    txid,
                    vout: vout as u32,
                },
                UtxoEntry {
                    output: *output,
                    height,
                    is_coinbase,
                },
            )
        })
        .collect()
}

/// Builds the genesis block of `spec`: one coinbase paying the allocations, whose payload is the genesis
/// message followed by `"\nrules: "` and the hex [`ChainSpec::rules_hash`]. Genesis is not mined: it is
/// defined by the spec and recognised by its hash.
pub fn genesis_block(spec: &ChainSpec) -> Block {
    let mut payload = spec.genesis_message.clone().into_bytes();
    payload.extend_from_slice(format!("\nrules: {}", hex::encode(spec.rules_hash())).as_bytes());
    let outputs = spec
        .genesis_allocations
        .iter()
        .map(|a| TxOut {
            amount: a.amount,
            address: a.address,
        })
        .collect();
    let coinbase = Transaction::coinbase(Height::GENESIS, outputs, payload);
    let header = Header {
        version: BLOCK_VERSION,
        height: Height::GENESIS,
        prev_hash: BlockHash::ZERO,
        merkle_root: merkle_root(&[coinbase.txid()]),
        time_ms: spec.genesis_time_ms,
        bits: spec.initial_bits,
        nonce: 0,
    };
    let block = Block {
        header,
        transactions: vec![coinbase],
    };
    debug_assert_eq!(block.to_bytes().len(), block.encoded_len());
    block
}

/// The median of up to the last 11 block timestamps (`docs/protocol.md` §8): a new block's time must be
/// greater than it. Returns 0 for an empty slice.
pub fn median_time_past(times: &[u64]) -> u64 {
    let start = times.len().saturating_sub(11);
    let mut last: Vec<u64> = times[start..].to_vec();
    if last.is_empty() {
        return 0;
    }
    last.sort_unstable();
    last[last.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_distinct_networks() {
        let dev = Network::dev();
        let lab = Network::lab();
        assert_ne!(dev.genesis_hash(), lab.genesis_hash());
        assert_eq!(
            dev.spec().initial_target().map(|t| t.leading_zero_bits()),
            Ok(16)
        );
        assert_eq!(dev.spec().subsidy_at(Height(1)).format_units(8), "10");
        // Any rule change gives another network id.
        let mut changed = ChainSpec::dev();
        changed.coinbase_maturity = 1;
        assert_ne!(
            Network::new(changed).map(|n| n.genesis_hash()),
            Ok(dev.genesis_hash())
        );
    }

    #[test]
    fn toml_round_trip_of_presets_and_allocations() {
        for mut spec in [ChainSpec::dev(), ChainSpec::lab()] {
            spec.genesis_allocations.push(Allocation {
                address: PubkeyHash::from_bytes([5; 20]),
                amount: Amount::parse_units("1000.5", spec.decimals).expect("valid"),
            });
            let text = spec.to_toml().expect("valid prefix");
            assert_eq!(ChainSpec::from_toml(&text), Ok(spec));
        }
    }

    #[test]
    fn bad_specs_are_refused_with_reasons() {
        let text = ChainSpec::dev().to_toml().expect("valid");
        let with = |from: &str, to: &str| ChainSpec::from_toml(&text.replace(from, to));
        assert!(matches!(
            with("retarget_interval = 0", "retarget_interval = 1"),
            Err(SpecError::OutOfRange { .. })
        ));
        assert!(matches!(
            with("block_subsidy = \"10\"", "block_subsidy = \"-1\""),
            Err(SpecError::Amount { .. })
        ));
        assert!(matches!(
            with("block_subsidy = \"10\"", "block_subsidy = \"30000000\""),
            Err(SpecError::ExceedsSupply(_))
        ));
        assert!(matches!(
            with("name = \"dev\"", "name = \"dev\"\ncolour = 1"),
            Err(SpecError::Toml(_))
        ));
        assert!(matches!(
            with("address_prefix = \"dev\"", "address_prefix = \"\""),
            Err(SpecError::Prefix(_))
        ));
        assert!(matches!(
            with(
                "initial_difficulty_bits = 16",
                "initial_difficulty_bits = 4"
            ),
            Err(SpecError::OutOfRange {
                field: "initial_difficulty_bits",
                ..
            })
        ));
    }

    #[test]
    fn subsidy_halves_and_respects_the_cap() {
        let mut spec = ChainSpec::dev();
        spec.halving_interval = 2;
        spec.subsidy = Amount::from_units(8).expect("small");
        spec.max_supply = Amount::from_units(25).expect("small");
        let s: Vec<u64> = (0..8)
            .map(|h| spec.subsidy_at(Height(h)).to_units())
            .collect();
        // 8+8 = 16, then 4+4 = 24, then 1 (cap 25), then nothing.
        assert_eq!(s, vec![0, 8, 8, 4, 4, 1, 0, 0]);
        let total: u64 = (0..10_000)
            .map(|h| spec.subsidy_at(Height(h)).to_units())
            .sum();
        assert_eq!(total, 25);
        spec.max_supply = Amount::MAX;
        assert_eq!(
            spec.subsidy_at(Height(2 * 70 + 1)).to_units(),
            0,
            "after 64 halvings nothing is left"
        );
    }

    #[test]
    fn retarget_windows() {
        let lab = ChainSpec::lab();
        assert_eq!(lab.retarget_window_start(Height(9)), None);
        assert_eq!(
            lab.retarget_window_start(Height(10)),
            None,
            "never measured from genesis"
        );
        assert_eq!(lab.retarget_window_start(Height(20)), Some(Height(9)));
        assert_eq!(lab.retarget_window_start(Height(25)), None);
        assert_eq!(lab.retarget_window_start(Height(30)), Some(Height(19)));
        assert_eq!(ChainSpec::dev().retarget_window_start(Height(10)), None);
        let bits = lab.initial_bits;
        // Blocks twice as fast as intended: the target halves (difficulty doubles).
        let fast = lab
            .expected_bits(Height(20), bits, Some((0, 50_000)))
            .expect("valid bits");
        let t0 = bits.to_target().expect("valid");
        let t1 = fast.to_target().expect("valid");
        assert_eq!(t1.leading_zero_bits(), t0.leading_zero_bits() + 1);
        assert_eq!(lab.expected_bits(Height(21), fast, None), Ok(fast));
    }

    #[test]
    fn median_time_past_uses_the_last_eleven() {
        assert_eq!(median_time_past(&[]), 0);
        assert_eq!(median_time_past(&[5]), 5);
        assert_eq!(median_time_past(&[3, 1, 2]), 2);
        let times: Vec<u64> = (0..20).collect();
        assert_eq!(median_time_past(&times), 14);
    }
}
