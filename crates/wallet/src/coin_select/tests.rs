//! Tests of coin selection: worked examples of each rule, and property tests of the invariants
//! (never overspends, change correct, exact failures, fee-rate fees cover the size).

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use ferrochain_core::{Encode, PublicKey, Signature, TxIn, Txid};
use proptest::prelude::*;

use super::*;

fn op(n: u32) -> OutPoint {
    OutPoint {
        txid: Txid::hash(&n.to_le_bytes()),
        vout: n % 3,
    }
}

fn units(n: u64) -> Amount {
    Amount::from_units(n).unwrap()
}

fn entry(amount: u64, height: u64, is_coinbase: bool) -> UtxoEntry {
    UtxoEntry {
        output: TxOut {
            amount: units(amount),
            address: PubkeyHash::from_bytes([7; 20]),
        },
        height: Height(height),
        is_coinbase,
    }
}

fn confirmed(n: u32, amount: u64, height: u64) -> Candidate {
    Candidate::confirmed(op(n), entry(amount, height, false))
}

const ONE_OUTPUT: TxShape = TxShape {
    recipient_outputs: 1,
    payload_len: 0,
};

fn select(candidates: &[Candidate], target: u64, fee: FeePolicy) -> Result<Selection, SelectError> {
    select_coins(
        candidates,
        units(target),
        fee,
        ONE_OUTPUT,
        &SelectionOptions::default(),
    )
}

fn picked(s: &Selection) -> Vec<OutPoint> {
    s.inputs.iter().map(|c| c.outpoint).collect()
}

/// The transaction a selection describes, with placeholder keys and signatures: its real size.
fn skeleton(s: &Selection, shape: TxShape) -> Transaction {
    let out = TxOut {
        amount: units(1),
        address: PubkeyHash::default(),
    };
    let inputs = s
        .inputs
        .iter()
        .map(|c| TxIn {
            prev_out: c.outpoint,
            public_key: PublicKey::from_bytes([1; 32]),
            signature: Signature::from_bytes([2; 64]),
        })
        .collect();
    Transaction {
        version: TX_VERSION,
        kind: TxKind::Transfer { inputs },
        outputs: vec![out; shape.recipient_outputs + usize::from(s.has_change())],
        payload: vec![0; shape.payload_len],
    }
}

#[test]
fn takes_oldest_first_by_height_then_outpoint() {
    let c = [
        confirmed(1, 50, 9),
        confirmed(2, 50, 3),
        confirmed(3, 50, 3),
        confirmed(4, 50, 1),
    ];
    let s = select(&c, 120, FeePolicy::Fixed(units(5))).unwrap();
    let mut same_height = [op(2), op(3)];
    same_height.sort();
    assert_eq!(picked(&s), vec![op(4), same_height[0], same_height[1]]);
    assert_eq!(s.input_total, units(150));
    assert_eq!(s.fee, units(5));
    assert_eq!(s.change, units(25));
    assert!(s.has_change());
}

#[test]
fn exact_amount_has_no_change_output() {
    let c = [confirmed(1, 100, 1)];
    let s = select(&c, 90, FeePolicy::Fixed(units(10))).unwrap();
    assert_eq!((s.fee, s.change), (units(10), Amount::ZERO));
    assert!(!s.has_change());
}

#[test]
fn change_below_the_dust_threshold_goes_to_the_fee() {
    let c = [confirmed(1, 100, 1)];
    let options = SelectionOptions {
        dust_threshold: units(10),
        ..SelectionOptions::default()
    };
    let s = select_coins(
        &c,
        units(85),
        FeePolicy::Fixed(units(6)),
        ONE_OUTPUT,
        &options,
    )
    .unwrap();
    assert_eq!(
        (s.fee, s.change),
        (units(15), Amount::ZERO),
        "change 9 < 10"
    );
    let s = select_coins(
        &c,
        units(84),
        FeePolicy::Fixed(units(6)),
        ONE_OUTPUT,
        &options,
    )
    .unwrap();
    assert_eq!(
        (s.fee, s.change),
        (units(6), units(10)),
        "change 10 is kept"
    );
}

#[test]
fn unconfirmed_outputs_only_when_allowed_and_after_confirmed_ones() {
    let c = [
        Candidate::unconfirmed(op(1), entry(500, 0, false)),
        confirmed(2, 100, 40),
    ];
    let err = select(&c, 300, FeePolicy::default()).unwrap_err();
    assert_eq!(
        err,
        SelectError::InsufficientFunds {
            needed: units(300),
            available: units(100),
            unspendable: units(500),
        }
    );
    assert!(err.to_string().contains("500 more is unconfirmed"), "{err}");
    let options = SelectionOptions {
        allow_unconfirmed: true,
        ..SelectionOptions::default()
    };
    let s = select_coins(&c, units(300), FeePolicy::default(), ONE_OUTPUT, &options).unwrap();
    assert_eq!(picked(&s), vec![op(2), op(1)], "confirmed first");
    assert_eq!(s.change, units(300));
}

#[test]
fn immature_block_rewards_are_not_spent() {
    let c = [
        Candidate::confirmed(op(1), entry(1000, 5, true)),
        confirmed(2, 10, 6),
    ];
    let maturity = Maturity {
        spend_height: Height(14),
        coinbase_maturity: 10,
    };
    let options = SelectionOptions {
        maturity: Some(maturity),
        ..SelectionOptions::default()
    };
    assert!(matches!(
        select_coins(&c, units(500), FeePolicy::default(), ONE_OUTPUT, &options),
        Err(SelectError::InsufficientFunds { available, unspendable, .. })
            if available == units(10) && unspendable == units(1000)
    ));
    let options = SelectionOptions {
        maturity: Some(Maturity {
            spend_height: Height(15),
            ..maturity
        }),
        ..SelectionOptions::default()
    };
    let s = select_coins(&c, units(500), FeePolicy::default(), ONE_OUTPUT, &options).unwrap();
    assert_eq!(picked(&s), vec![op(1)]);
    let lab = Maturity::for_next_block(&Network::lab(), Height(20));
    assert_eq!(lab.spend_height, Height(21));
    assert_eq!(lab.coinbase_maturity, 10);
}

#[test]
fn a_repeated_outpoint_counts_once() {
    let c = [confirmed(1, 100, 1), confirmed(1, 100, 1)];
    assert!(matches!(
        select(&c, 150, FeePolicy::default()),
        Err(SelectError::InsufficientFunds { available, unspendable, .. })
            if available == units(100) && unspendable == Amount::ZERO
    ));
}

#[test]
fn zero_amount_and_overflows_are_errors() {
    let c = [confirmed(1, 100, 1)];
    assert_eq!(
        select(&c, 0, FeePolicy::default()),
        Err(SelectError::ZeroAmount)
    );
    assert!(matches!(
        select(&c, Amount::MAX.to_units(), FeePolicy::Fixed(units(1))),
        Err(SelectError::AmountOverflow { .. })
    ));
    assert!(matches!(
        select(&c, 1, FeePolicy::PerByte(Amount::MAX)),
        Err(SelectError::AmountOverflow { .. })
    ));
    // Candidates that add up to more than can exist (hostile input) are refused, not wrapped.
    let huge: Vec<Candidate> = (0..3)
        .map(|n| confirmed(n, Amount::MAX.to_units(), 1))
        .collect();
    let options = SelectionOptions {
        dust_threshold: Amount::MAX,
        ..SelectionOptions::default()
    };
    assert!(matches!(
        select_coins(
            &huge,
            Amount::MAX,
            FeePolicy::Fixed(units(1)),
            ONE_OUTPUT,
            &options
        ),
        Err(SelectError::AmountOverflow { .. })
    ));
}

#[test]
fn fee_rate_pays_for_the_exact_size_including_payload() {
    let shape = TxShape {
        recipient_outputs: 2,
        payload_len: 100,
    };
    let c: Vec<Candidate> = (0..6).map(|n| confirmed(n, 1_000, u64::from(n))).collect();
    let s = select_coins(
        &c,
        units(2_500),
        FeePolicy::PerByte(units(2)),
        shape,
        &SelectionOptions::default(),
    )
    .unwrap();
    let tx = skeleton(&s, shape);
    assert_eq!(s.encoded_len, tx.encoded_len());
    assert_eq!(s.encoded_len, tx.to_bytes().len());
    assert_eq!(s.fee.to_units(), 2 * tx.encoded_len() as u64);
    // Three inputs (3,000) cannot pay 2,500 plus 2 × 569 bytes; four pay 2,500 plus 2 × 729
    // bytes (with change) and leave 42 of change.
    assert_eq!(s.inputs.len(), 4);
    assert_eq!(s.change, units(42));
    assert_eq!(s.input_total, units(4_000));
    assert_eq!(
        s.input_total.to_units(),
        s.target.to_units() + s.fee.to_units() + s.change.to_units()
    );
}

#[test]
fn uneconomic_outputs_are_skipped_under_a_fee_rate() {
    // Each input adds 132 bytes = 132 units at rate 1: a 100-unit output costs more than it brings.
    let c = [confirmed(1, 100, 1), confirmed(2, 10_000, 2)];
    let s = select(&c, 1_000, FeePolicy::PerByte(units(1))).unwrap();
    assert_eq!(picked(&s), vec![op(2)]);
    let err = select(&c, 20_000, FeePolicy::PerByte(units(1))).unwrap_err();
    assert!(
        matches!(err, SelectError::InsufficientFunds { available, unspendable, .. }
            if available == units(10_000) && unspendable == units(100)),
        "{err:?}"
    );
}

#[test]
fn over_the_input_cap_the_largest_outputs_are_used() {
    let mut c: Vec<Candidate> = (0..10).map(|n| confirmed(n, 10, u64::from(n))).collect();
    c.push(confirmed(50, 80, 99));
    c.push(confirmed(51, 30, 98));
    let options = SelectionOptions {
        max_inputs: 2,
        ..SelectionOptions::default()
    };
    let s = select_coins(&c, units(100), FeePolicy::default(), ONE_OUTPUT, &options).unwrap();
    assert_eq!(picked(&s), vec![op(50), op(51)]);
    assert_eq!(s.change, units(10));
    // Three inputs cannot pay 150 even from the largest: TooManyInputs, with the numbers.
    let options = SelectionOptions {
        max_inputs: 3,
        ..SelectionOptions::default()
    };
    let err = select_coins(&c, units(150), FeePolicy::default(), ONE_OUTPUT, &options).unwrap_err();
    assert_eq!(
        err,
        SelectError::TooManyInputs {
            max_inputs: 3,
            needed: units(150),
            reachable: units(120),
        }
    );
    assert!(err.to_string().contains("consolidate"), "{err}");
    // A cap of zero can never pay.
    let options = SelectionOptions {
        max_inputs: 0,
        ..SelectionOptions::default()
    };
    assert!(matches!(
        select_coins(&c, units(1), FeePolicy::default(), ONE_OUTPUT, &options),
        Err(SelectError::TooManyInputs { max_inputs: 0, .. })
    ));
}

#[test]
fn no_candidates_is_insufficient_funds_with_the_one_input_fee() {
    let err = select(&[], 10, FeePolicy::PerByte(units(1))).unwrap_err();
    let one_input = ONE_OUTPUT.encoded_len(1, false).unwrap() as u64;
    assert_eq!(
        err,
        SelectError::InsufficientFunds {
            needed: units(10 + one_input),
            available: Amount::ZERO,
            unspendable: Amount::ZERO,
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Properties

#[derive(Debug, Clone)]
struct Case {
    candidates: Vec<Candidate>,
    target: Amount,
    fee: FeePolicy,
    shape: TxShape,
    options: SelectionOptions,
}

fn arb_case() -> impl Strategy<Value = Case> {
    let candidate = (
        0u32..48,
        1u64..2_000_000,
        0u64..50,
        any::<bool>(),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(id, amount, height, confirmed, coinbase)| Candidate {
            outpoint: op(id),
            entry: entry(amount, height, coinbase),
            confirmed: confirmed || id % 2 == 0,
        });
    let fee = prop_oneof![
        (0u64..20_000).prop_map(|f| FeePolicy::Fixed(units(f))),
        (0u64..40).prop_map(|r| FeePolicy::PerByte(units(r))),
    ];
    let maturity = prop::option::of((0u64..70, 0u64..20).prop_map(|(h, m)| Maturity {
        spend_height: Height(h),
        coinbase_maturity: m,
    }));
    let options = (0u64..60_000, any::<bool>(), 0usize..24, maturity).prop_map(
        |(dust, allow_unconfirmed, max_inputs, maturity)| SelectionOptions {
            dust_threshold: units(dust),
            allow_unconfirmed,
            max_inputs,
            maturity,
        },
    );
    (
        prop::collection::vec(candidate, 0..40),
        1u64..12_000_000,
        fee,
        1usize..4,
        0usize..400,
        options,
    )
        .prop_map(|(candidates, target, fee, outs, payload, options)| Case {
            candidates,
            target: units(target),
            fee,
            shape: TxShape {
                recipient_outputs: outs,
                payload_len: payload,
            },
            options,
        })
}

/// The eligible candidates by the documented rules, computed independently of the code.
fn eligible(case: &Case) -> (Vec<Candidate>, u64) {
    let input_fee = match case.fee {
        FeePolicy::Fixed(_) => 0,
        FeePolicy::PerByte(r) => r.to_units() * 132,
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut unspendable = 0;
    for c in &case.candidates {
        if !seen.insert(c.outpoint) {
            continue;
        }
        let mature = case.options.maturity.is_none_or(|m| {
            !c.entry.is_coinbase || m.spend_height.0 >= c.entry.height.0 + m.coinbase_maturity
        });
        let ok = (c.confirmed || case.options.allow_unconfirmed)
            && mature
            && c.amount().to_units() > input_fee;
        if ok {
            out.push(*c);
        } else {
            unspendable += c.amount().to_units();
        }
    }
    (out, unspendable)
}

fn policy_fee(case: &Case, inputs: usize, change: bool) -> u64 {
    match case.fee {
        FeePolicy::Fixed(f) => f.to_units(),
        FeePolicy::PerByte(r) => {
            r.to_units() * case.shape.encoded_len(inputs, change).unwrap() as u64
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn selection_invariants(case in arb_case()) {
        let result = select_coins(
            &case.candidates, case.target, case.fee, case.shape, &case.options,
        );
        let (eligible, unspendable) = eligible(&case);
        let target = case.target.to_units();
        match result {
            Ok(s) => {
                // Never overspends: inputs = amount + fee + change, exactly.
                let sum: u64 = s.inputs.iter().map(|c| c.amount().to_units()).sum();
                prop_assert_eq!(sum, s.input_total.to_units());
                prop_assert_eq!(sum, target + s.fee.to_units() + s.change.to_units());
                prop_assert_eq!(s.target, case.target);
                // Only distinct, eligible inputs, within the cap.
                let distinct: HashSet<_> = s.inputs.iter().map(|c| c.outpoint).collect();
                prop_assert_eq!(distinct.len(), s.inputs.len());
                prop_assert!(s.inputs.iter().all(|c| eligible.contains(c)));
                prop_assert!(!s.inputs.is_empty() && s.inputs.len() <= case.options.max_inputs);
                // The size is the real encoded size.
                prop_assert_eq!(s.encoded_len, skeleton(&s, case.shape).encoded_len());
                // Change is positive and at least the dust threshold, or absent because it
                // would have been zero or dust.
                let n = s.inputs.len();
                let fee_change = policy_fee(&case, n, true);
                if s.has_change() {
                    prop_assert!(s.change >= case.options.dust_threshold);
                    prop_assert_eq!(s.fee.to_units(), fee_change);
                } else {
                    let left = i128::from(sum) - i128::from(target) - i128::from(fee_change);
                    prop_assert!(
                        left <= 0 || left < i128::from(case.options.dust_threshold.to_units())
                    );
                }
                // The fee covers the policy for the final transaction (the fee-rate loop is
                // stable: rate × final size).
                prop_assert!(s.fee.to_units() >= policy_fee(&case, n, s.has_change()));
                if let FeePolicy::PerByte(r) = case.fee {
                    prop_assert!(s.fee.to_units() >= r.to_units() * s.encoded_len as u64);
                }
            }
            Err(SelectError::InsufficientFunds { needed, available, unspendable: u }) => {
                let total: u64 = eligible.iter().map(|c| c.amount().to_units()).sum();
                prop_assert_eq!(available.to_units(), total);
                prop_assert_eq!(u.to_units(), unspendable);
                prop_assert!(available < needed);
                prop_assert_eq!(
                    needed.to_units(),
                    target + policy_fee(&case, eligible.len().max(1), false)
                );
            }
            Err(SelectError::TooManyInputs { max_inputs, needed, reachable }) => {
                prop_assert_eq!(max_inputs, case.options.max_inputs);
                prop_assert!(eligible.len() > max_inputs);
                let mut amounts: Vec<u64> = eligible.iter().map(|c| c.amount().to_units()).collect();
                amounts.sort_unstable_by(|a, b| b.cmp(a));
                let top: u64 = amounts.iter().take(max_inputs).sum();
                prop_assert_eq!(reachable.to_units(), top);
                prop_assert!(reachable < needed);
            }
            Err(e) => prop_assert!(false, "unexpected error {e:?}"),
        }
    }

    /// With a fixed fee, failure is exact: it fails if and only if no allowed set pays.
    #[test]
    fn fixed_fee_fails_exactly_when_funds_are_short(case in arb_case(), fee in 0u64..20_000) {
        let case = Case { fee: FeePolicy::Fixed(units(fee)), ..case };
        let result = select_coins(
            &case.candidates, case.target, case.fee, case.shape, &case.options,
        );
        let (eligible, _) = eligible(&case);
        let needed = case.target.to_units() + fee;
        let mut amounts: Vec<u64> = eligible.iter().map(|c| c.amount().to_units()).collect();
        amounts.sort_unstable_by(|a, b| b.cmp(a));
        let total: u64 = amounts.iter().sum();
        let top: u64 = amounts.iter().take(case.options.max_inputs).sum();
        prop_assert_eq!(result.is_ok(), top >= needed);
        if total < needed {
            let is_insufficient = matches!(result, Err(SelectError::InsufficientFunds { .. }));
            prop_assert!(is_insufficient);
        } else if top < needed {
            let is_too_many = matches!(result, Err(SelectError::TooManyInputs { .. }));
            prop_assert!(is_too_many);
        }
    }
}
