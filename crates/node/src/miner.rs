//! The miner: builds a block template on the tip (mempool transactions in block order, a coinbase paying
//! subsidy plus fees) and searches nonces on several threads with the midstate hasher
//! ([`ferrochain_core::HeaderHasher`]).
//!
//! Each thread scans its own slice of the nonce space in chunks of [`CHUNK`] nonces and, between chunks,
//! checks whether the tip changed (a block from a peer or another miner), whether another thread found the
//! block, and whether the node is shutting down — so a new tip stops every thread within a chunk (a few ms).
//! Nonces stay below 2^53 so they are exact as JSON numbers.
//!
//! Continuous mining (`--mine`, or start/stop through the API) runs the same search in a loop on its own
//! thread, optionally one block per interval.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ferrochain_core::block::BLOCK_VERSION;
use ferrochain_core::merkle::merkle_root;
use ferrochain_core::{Amount, Block, Header, HeaderHasher, PubkeyHash, Transaction, TxOut};

use ferrochain_state::chain::now_ms;
use ferrochain_state::{State, StateError};

/// Why no block was mined.
#[derive(Debug, thiserror::Error)]
pub enum MineError {
    /// Mining was stopped before a block was found (shutdown, or the request was cancelled).
    #[error("mining was interrupted")]
    Interrupted,
    /// No block template could be built on the tip.
    #[error(transparent)]
    Template(#[from] StateError),
    /// The tip's expected difficulty bits do not give a target.
    #[error("the expected difficulty bits are invalid: {0}")]
    Bits(String),
}

/// Nonces searched between two checks for a new tip.
pub const CHUNK: u64 = 1 << 16;
/// Nonces are below this (exact in JSON and JavaScript numbers).
pub const NONCE_LIMIT: u64 = 1 << 53;
/// Room kept in a block for the header and the coinbase.
const RESERVED_BYTES: usize = 4096;
/// The longest interval between continuously mined blocks, in seconds (one day); longer ones are refused by
/// the API and clamped here, so the deadline arithmetic cannot overflow.
pub const MAX_INTERVAL_SECS: u64 = 86_400;

/// The node's miner.
pub struct Miner {
    threads: usize,
    hashes: Arc<AtomicU64>,
    shutdown: Arc<AtomicBool>,
    rate: Mutex<RateWindow>,
    continuous: Mutex<Option<Continuous>>,
}

struct RateWindow {
    at: Instant,
    hashes: u64,
    rate: f64,
}

struct Continuous {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
    interval_secs: u64,
}

impl std::fmt::Debug for Miner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Miner")
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl Miner {
    /// A miner using `threads` threads.
    pub fn new(threads: usize) -> Miner {
        Miner {
            threads: threads.max(1),
            hashes: Arc::new(AtomicU64::new(0)),
            shutdown: Arc::new(AtomicBool::new(false)),
            rate: Mutex::new(RateWindow {
                at: Instant::now(),
                hashes: 0,
                rate: 0.0,
            }),
            continuous: Mutex::new(None),
        }
    }

    /// Number of search threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Hashes computed since start.
    pub fn total_hashes(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
    }

    /// Hashes per second over the last window of at least one second (0 when idle).
    pub fn hash_rate(&self) -> f64 {
        let mut w = self.rate.lock().unwrap_or_else(|p| p.into_inner());
        let elapsed = w.at.elapsed();
        if elapsed >= Duration::from_secs(1) {
            let total = self.total_hashes();
            w.rate = (total - w.hashes) as f64 / elapsed.as_secs_f64();
            w.hashes = total;
            w.at = Instant::now();
        }
        w.rate
    }

    /// Tells every search to stop for good (node shutdown), without waiting.
    pub fn signal_shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
    }

    /// Stops every search for good (node shutdown) and waits for continuous mining to end.
    pub fn shutdown(&self) {
        self.signal_shutdown();
        self.stop_continuous();
    }

    /// Mines one block on the tip of `state` (blocking). `tip_generation` changes whenever the tip does;
    /// `Ok(None)` if it changed before a block was found.
    ///
    /// # Errors
    /// [`MineError::Interrupted`] on shutdown or when `cancel` is set; [`MineError::Template`] if no template
    /// can be built.
    pub fn mine(
        &self,
        state: &State,
        tip_generation: &AtomicU64,
        reward_to: PubkeyHash,
        max_txs: usize,
        cancel: &AtomicBool,
    ) -> Result<Option<Block>, MineError> {
        let generation = tip_generation.load(Ordering::Acquire);
        let mut block = block_template(state, reward_to, max_txs)?;
        let target = block
            .header
            .bits
            .to_target()
            .map_err(|e| MineError::Bits(e.to_string()))?;
        loop {
            let hasher = HeaderHasher::new(&block.header);
            let found: Mutex<Option<u64>> = Mutex::new(None);
            let done = AtomicBool::new(false);
            let span = NONCE_LIMIT / self.threads as u64;
            std::thread::scope(|s| {
                for t in 0..self.threads as u64 {
                    let (hasher, found, done) = (&hasher, &found, &done);
                    s.spawn(move || {
                        let (mut n, end) = (t * span, (t + 1) * span);
                        while n < end {
                            if done.load(Ordering::Relaxed)
                                || self.shutdown.load(Ordering::Relaxed)
                                || cancel.load(Ordering::Relaxed)
                                || tip_generation.load(Ordering::Acquire) != generation
                            {
                                return;
                            }
                            let chunk_end = (n + CHUNK).min(end);
                            let hit = hasher.find_nonce(&target, n..chunk_end);
                            let searched = hit.map_or(chunk_end - n, |(nonce, _)| nonce - n + 1);
                            self.hashes.fetch_add(searched, Ordering::Relaxed);
                            if let Some((nonce, _)) = hit {
                                *found.lock().unwrap_or_else(|p| p.into_inner()) = Some(nonce);
                                done.store(true, Ordering::Release);
                                return;
                            }
                            n = chunk_end;
                        }
                    });
                }
            });
            if let Some(nonce) = found.into_inner().unwrap_or_else(|p| p.into_inner()) {
                block.header.nonce = nonce;
                return Ok(Some(block));
            }
            if self.shutdown.load(Ordering::Acquire) || cancel.load(Ordering::Acquire) {
                return Err(MineError::Interrupted);
            }
            if tip_generation.load(Ordering::Acquire) != generation {
                return Ok(None);
            }
            // Every nonce below the limit failed (astronomically rare): a new timestamp gives new hashes.
            block.header.time_ms += 1;
        }
    }

    /// Whether continuous mining runs, and its interval.
    pub fn continuous(&self) -> Option<u64> {
        let mut running = self.continuous.lock().unwrap_or_else(|p| p.into_inner());
        // A thread that ended (stopped by shutdown, or panicked) is not mining: report it stopped.
        if running.as_ref().is_some_and(|c| c.handle.is_finished())
            && let Some(ended) = running.take()
            && ended.handle.join().is_err()
        {
            tracing::error!("the mining thread panicked; continuous mining is stopped");
        }
        running.as_ref().map(|c| c.interval_secs)
    }

    /// Starts continuous mining, one block every `interval_secs` (0: back to back), each by `mine_one` (which
    /// mines and submits one block, and gives up when its flag is set). Restarts it if it was running. An
    /// interval above [`MAX_INTERVAL_SECS`] is taken as that maximum.
    pub fn start_continuous<E: std::fmt::Display>(
        &self,
        interval_secs: u64,
        mine_one: impl Fn(&AtomicBool) -> Result<Block, Option<E>> + Send + 'static,
    ) {
        self.stop_continuous();
        let interval_secs = interval_secs.min(MAX_INTERVAL_SECS);
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, shutdown) = (stop.clone(), self.shutdown.clone());
        let handle = std::thread::spawn(move || {
            let mut last = Instant::now();
            while !flag.load(Ordering::Acquire) && !shutdown.load(Ordering::Acquire) {
                if interval_secs > 0 {
                    let due = last + Duration::from_secs(interval_secs);
                    while Instant::now() < due && !flag.load(Ordering::Acquire) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    if flag.load(Ordering::Acquire) {
                        break;
                    }
                }
                match mine_one(&flag) {
                    Ok(block) => {
                        tracing::info!(height = block.header.height.0, hash = %block.hash(), "mined a block")
                    }
                    Err(None) => break,
                    Err(Some(e)) => {
                        tracing::warn!(error = %e, "mining failed; retrying in a second");
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
                last = Instant::now();
            }
        });
        *self.continuous.lock().unwrap_or_else(|p| p.into_inner()) = Some(Continuous {
            stop,
            handle,
            interval_secs,
        });
    }

    /// Stops continuous mining (the block being searched is abandoned within a chunk) and waits for it.
    pub fn stop_continuous(&self) {
        let running = self
            .continuous
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(c) = running {
            c.stop.store(true, Ordering::Release);
            let _ = c.handle.join();
        }
    }
}

/// Builds a block template on the tip of `state`: up to `max_txs` mempool transactions in block order (within
/// the block size limit) and a coinbase paying subsidy plus their fees to `reward_to`. Nonce 0. What
/// the miner and [`crate::embed::Chain::mine_block`] mine on.
///
/// # Errors
/// [`StateError`] if the tip's context cannot be computed.
pub fn block_template(
    state: &State,
    reward_to: PubkeyHash,
    max_txs: usize,
) -> Result<Block, StateError> {
    let ctx = state.next_block_context()?;
    let spec = state.network().spec();
    let budget = (spec.max_block_bytes as usize).saturating_sub(RESERVED_BYTES);
    let mut used = 0usize;
    let mut fees = Amount::ZERO;
    let mut txs = Vec::new();
    for entry in state.mempool().into_iter().take(max_txs) {
        if used + entry.size > budget {
            break;
        }
        used += entry.size;
        fees = fees.checked_add(entry.fee).unwrap_or(Amount::MAX);
        txs.push(entry.tx);
    }
    let reward = spec
        .subsidy_at(ctx.height)
        .checked_add(fees)
        .unwrap_or(Amount::MAX);
    let outputs = if reward == Amount::ZERO {
        Vec::new()
    } else {
        vec![TxOut {
            amount: reward,
            address: reward_to,
        }]
    };
    let mut all = vec![Transaction::coinbase(
        ctx.height,
        outputs,
        b"mined by ferrochain".to_vec(),
    )];
    all.extend(txs);
    let txids: Vec<_> = all.iter().map(Transaction::txid).collect();
    let header = Header {
        version: BLOCK_VERSION,
        height: ctx.height,
        prev_hash: ctx.parent_hash,
        merkle_root: merkle_root(&txids),
        time_ms: now_ms().max(ctx.median_time_past + 1),
        bits: ctx.expected_bits,
        nonce: 0,
    };
    Ok(Block {
        header,
        transactions: all,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_until(what: impl Fn() -> bool) -> bool {
        // Polls for up to 10 s: only a broken miner takes that long (the thread ends at once).
        for _ in 0..1000 {
            if what() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    #[test]
    fn a_mining_thread_that_panics_is_reported_stopped() {
        let miner = Miner::new(1);
        miner.start_continuous::<String>(0, |_| panic!("a bug in the mining loop"));
        assert!(
            wait_until(|| miner.continuous().is_none()),
            "the miner still reports running after its thread panicked"
        );
    }

    #[test]
    fn a_mining_thread_that_gives_up_is_reported_stopped() {
        let miner = Miner::new(1);
        miner.start_continuous::<String>(0, |_| Err(None));
        assert!(wait_until(|| miner.continuous().is_none()));
    }

    #[test]
    fn an_interval_beyond_the_maximum_is_clamped_not_overflowed() {
        let miner = Miner::new(1);
        miner.start_continuous::<String>(u64::MAX, |_| Err(None));
        // The thread waits for the (clamped) interval instead of panicking on the deadline.
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(miner.continuous(), Some(MAX_INTERVAL_SECS));
        miner.stop_continuous();
        assert_eq!(miner.continuous(), None);
    }
}
