//! Property tests of the rules: random timed sales driven by random bids,
//! raises, retried ids, buy-nows, retractions and closes, checked after
//! every step against the invariants of issue 4 and an independent
//! reference model of proxy pricing.

mod common;

use common::*;
use paddle_auction::{AuctionState, Lot, MemStore};
use paddle_proto::auction::{
    AuctionCommand, AuctionReply, ExtendRule, IncrementTable, LotId, LotStatus, Paddle, SaleId,
};
use paddle_proto::Money;
use proptest::prelude::*;

const CLOSES: u64 = 10_000;

#[derive(Debug, Clone)]
enum Op {
    Bid {
        lot: usize,
        bidder: usize,
        amount: i64,
        dt: u64,
    },
    /// Repeat the bid id of an earlier op (with a different amount).
    Retry {
        of: usize,
        amount: i64,
        dt: u64,
    },
    BuyNow {
        lot: usize,
        bidder: usize,
        dt: u64,
    },
    Retract {
        pick: usize,
        dt: u64,
    },
    Close {
        lot: usize,
        dt: u64,
    },
}

#[derive(Debug, Clone)]
struct Setup {
    lots: Vec<(i64, Option<i64>, Option<i64>)>,
    bidders: usize,
    window: u64,
    reset: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    let lot = (
        100i64..1_000,
        prop::option::of(500i64..8_000),
        prop::option::of(0i64..10_000),
    )
        .prop_map(|(start, reserve, buy_now)| {
            let reserve = reserve.map(|r| r.max(start));
            let buy_now = buy_now.map(|b| (start + b).max(reserve.unwrap_or(0)));
            (start, reserve, buy_now)
        });
    (
        prop::collection::vec(lot, 1..=3),
        2usize..=5,
        200u64..3_000,
        any::<bool>(),
    )
        .prop_map(|(lots, bidders, window, reset)| Setup {
            lots,
            bidders,
            window,
            reset,
        })
}

fn dt() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 0u64..3, 2 => 0u64..800]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0usize..3, 0usize..5, 100i64..15_000, dt()).prop_map(|(lot, bidder, amount, dt)| Op::Bid { lot, bidder, amount, dt }),
        2 => (0usize..64, 100i64..15_000, dt()).prop_map(|(of, amount, dt)| Op::Retry { of, amount, dt }),
        1 => (0usize..3, 0usize..5, dt()).prop_map(|(lot, bidder, dt)| Op::BuyNow { lot, bidder, dt }),
        1 => (0usize..64, dt()).prop_map(|(pick, dt)| Op::Retract { pick, dt }),
        1 => (0usize..3, dt()).prop_map(|(lot, dt)| Op::Close { lot, dt }),
    ]
}

/// A sale built from `s`, with its lot ids and paddles.
fn build(h: &mut H, s: &Setup) -> (SaleId, Vec<LotId>, Vec<Paddle>) {
    let rule = if s.reset {
        ExtendRule::ResetToWindow
    } else {
        ExtendRule::Add {
            extend_ms: s.window / 2 + 1,
        }
    };
    let sale = h.timed(CLOSES, 0, Some((s.window, rule)));
    let lots = s
        .lots
        .iter()
        .map(|&(st, r, b)| h.lot(sale, st, r, b))
        .collect();
    let paddles = (0..s.bidders).map(|_| h.bidder(sale)).collect();
    (sale, lots, paddles)
}

/// Turn op `pos` into a command at the current clock (`None`: nothing to do).
fn command(run: &Run, s: &Setup, ops: &[Op], pos: usize) -> Option<(u64, AuctionCommand)> {
    let now = run.h.clock;
    let lot = |i: usize| run.lots[i % run.lots.len()];
    let paddle = |i: usize| run.paddles[i % run.paddles.len()];
    let bid = |lot, paddle, id: String, amount: i64, buy_now| AuctionCommand::PlaceBid {
        sale: run.sale,
        lot,
        paddle,
        bid_id: common::id(&id),
        max: m(amount),
        buy_now,
    };
    // An earlier Bid op, by a pick.
    let earlier = |pick: usize| match ops.get(pick % pos.max(1)) {
        Some(Op::Bid { lot, bidder, .. }) if pos > 0 => Some((pick % pos, *lot, *bidder)),
        _ => None,
    };
    Some(match ops[pos] {
        Op::Bid {
            lot: l,
            bidder,
            amount,
            dt,
        } => (
            now + dt,
            bid(lot(l), paddle(bidder), format!("op{pos}"), amount, false),
        ),
        Op::Retry { of, amount, dt } => {
            let (of, l, bidder) = earlier(of)?;
            (
                now + dt,
                bid(lot(l), paddle(bidder), format!("op{of}"), amount, false),
            )
        }
        Op::BuyNow { lot: l, bidder, dt } => {
            let price = s.lots[l % s.lots.len()].2.unwrap_or(1_000);
            (
                now + dt,
                bid(lot(l), paddle(bidder), format!("op{pos}"), price, true),
            )
        }
        Op::Retract { pick, dt } => {
            let (of, l, bidder) = earlier(pick)?;
            let cmd = AuctionCommand::RetractBid {
                sale: run.sale,
                lot: lot(l),
                paddle: paddle(bidder),
                bid_id: common::id(&format!("op{of}")),
            };
            (now + dt, cmd)
        }
        Op::Close { lot: l, dt } => (
            now + dt * 10,
            AuctionCommand::CloseLot {
                sale: run.sale,
                lot: lot(l),
            },
        ),
    })
}

/// A sale under test: the harness, its ids, and the replies so far.
struct Run {
    h: H,
    sale: SaleId,
    lots: Vec<LotId>,
    paddles: Vec<Paddle>,
    replies: Vec<AuctionReply>,
}

fn start(s: &Setup) -> Run {
    let mut h = H::new();
    let (sale, lots, paddles) = build(&mut h, s);
    Run {
        h,
        sale,
        lots,
        paddles,
        replies: Vec::new(),
    }
}

/// Reference model: each bidder's best unretracted max (earliest on ties),
/// priced by `min(top, second + increment(second))`, raised to the reserve.
fn reference(lot: &Lot, table: &IncrementTable) -> Option<(Paddle, Money)> {
    let mut best: Vec<(Paddle, Money, u32)> = Vec::new();
    for b in lot.bids.iter().filter(|b| b.applied && !b.retracted) {
        match best.iter_mut().find(|e| e.0 == b.paddle) {
            Some(e) if b.max > e.1 => *e = (b.paddle, b.max, b.seq),
            Some(_) => {}
            None => best.push((b.paddle, b.max, b.seq)),
        }
    }
    best.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    let top = *best.first()?;
    let mut price = match best.get(1) {
        None => lot.spec.start,
        Some(s) => top.1.min(s.1.saturating_add(table.increment_at(s.1))),
    };
    if let Some(r) = lot.spec.reserve.filter(|r| top.1 >= *r) {
        price = price.max(r);
    }
    Some((top.0, price))
}

/// Apply op `pos`, checking every invariant around it.
fn step(run: &mut Run, s: &Setup, ops: &[Op], pos: usize) {
    let Some((stamp, cmd)) = command(run, s, ops, pos) else {
        return;
    };
    let table = IncrementTable::ebay_2005();
    let before: Vec<Lot> = run
        .lots
        .iter()
        .map(|l| run.h.st.lot(*l).unwrap().clone())
        .collect();
    let retry = match (&ops[pos], &cmd) {
        (Op::Retry { .. }, AuctionCommand::PlaceBid { paddle, bid_id, .. }) => {
            let first = run.h.st.outcome(run.sale, *paddle, false, bid_id).cloned();
            Some((
                first.expect("the retried id was used"),
                run.h.st.state_hash(),
            ))
        }
        _ => None,
    };
    let r = run.h.apply(stamp, cmd.clone());
    let stamp = run.h.clock;
    let replayed = retry.is_some();
    if let Some((first, hash)) = retry {
        // A repeated bid id answers with the first outcome and changes nothing.
        assert_eq!(r, first);
        assert_eq!(run.h.st.state_hash(), hash);
    }
    for (i, id) in run.lots.iter().enumerate() {
        let (b, a) = (&before[i], run.h.st.lot(*id).unwrap());
        let target = match &cmd {
            AuctionCommand::PlaceBid { lot, .. }
            | AuctionCommand::RetractBid { lot, .. }
            | AuctionCommand::CloseLot { lot, .. } => lot == id,
            _ => false,
        };
        if !target || !r.is_accepted() || replayed {
            // Refused commands and other lots: nothing moves.
            assert_eq!(
                (&b.book, b.status, b.effective_end_ms),
                (&a.book, a.status, a.effective_end_ms)
            );
            continue;
        }
        check_step(&cmd, stamp, b, a, &table, s.window);
    }
    run.replies.push(r);
}

/// Run all `ops` with checks.
fn run_checked(s: &Setup, ops: &[Op]) -> Run {
    let mut run = start(s);
    for pos in 0..ops.len() {
        step(&mut run, s, ops, pos);
    }
    run
}

fn check_step(
    cmd: &AuctionCommand,
    stamp: u64,
    b: &Lot,
    a: &Lot,
    table: &IncrementTable,
    window: u64,
) {
    let retract = matches!(cmd, AuctionCommand::RetractBid { .. });
    // Price never falls (only a retraction may lower it).
    if let (Some(pb), false) = (b.book.price, retract) {
        assert!(
            a.book.price.is_some_and(|pa| pa >= pb),
            "price fell: {:?} -> {:?}",
            b.book.price,
            a.book.price
        );
    }
    // Leader's max ≥ price ≥ start.
    if let (Some(top), Some(p)) = (a.book.top, a.book.price) {
        assert!(
            top.max >= p && p >= a.spec.start,
            "max {} price {} start {}",
            top.max,
            p,
            a.spec.start
        );
    }
    let buy_now_sale = a.result.is_some_and(|r| r.buy_now);
    // Price and leader are what the reference model says.
    if !buy_now_sale {
        let want = reference(a, table);
        let got = a.book.top.map(|t| t.paddle).zip(a.book.price);
        assert_eq!(got, want, "engine vs reference on {:?}", a.bids);
    }
    if let AuctionCommand::PlaceBid {
        paddle, buy_now, ..
    } = cmd
    {
        // Nothing is accepted outside [opens, effective end).
        let end = b.effective_end_ms.unwrap();
        assert!(stamp < end && stamp >= b.opens_at_ms.unwrap());
        if *buy_now {
            assert_eq!(b.book.bids, 0);
            assert_eq!(a.status, LotStatus::Sold);
            assert_eq!(a.result.unwrap().hammer, b.spec.buy_now);
        }
        // Soft close: only a price or leader change that is not the
        // leader's own raise, inside the window, moves the end.
        let raise = b.book.top.is_some_and(|t| t.paddle == *paddle);
        let changed = b.book.price != a.book.price
            || b.book.top.map(|t| t.paddle) != a.book.top.map(|t| t.paddle);
        let in_window = stamp + window >= end;
        let moved = a.effective_end_ms != b.effective_end_ms;
        if moved {
            assert!(changed && !raise && in_window && !*buy_now);
            assert!(a.effective_end_ms.unwrap() > end);
        } else if changed && !raise && !*buy_now && in_window {
            // Reset-to-window lands exactly on the old end when stamp = end - W.
            assert_eq!(stamp + window, end);
        }
    }
    if let AuctionCommand::CloseLot { .. } = cmd {
        assert!(stamp >= b.effective_end_ms.unwrap());
        let met = b
            .book
            .top
            .is_some_and(|t| b.spec.reserve.is_none_or(|r| t.max >= r));
        assert_eq!(
            a.status,
            if met {
                LotStatus::Sold
            } else {
                LotStatus::Passed
            }
        );
        if met {
            assert_eq!(a.result.unwrap().hammer, b.book.price);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_command(s in setup(), ops in prop::collection::vec(op(), 1..80)) {
        run_checked(&s, &ops);
    }

    #[test]
    fn engines_agree_and_a_restored_state_continues_identically(
        s in setup(),
        ops in prop::collection::vec(op(), 1..60),
        split in 0usize..60,
    ) {
        // Two engines over the same log.
        let a = run_checked(&s, &ops);
        let b = run_checked(&s, &ops);
        prop_assert_eq!(&a.replies, &b.replies);
        prop_assert_eq!(a.h.st.state_hash(), b.h.st.state_hash());
        // A third, restored from its records halfway, then continued.
        let split = split.min(ops.len());
        let mut c = start(&s);
        for pos in 0..split {
            step(&mut c, &s, &ops, pos);
        }
        let mut store = MemStore::new();
        c.h.st.write_all(&mut store);
        let restored = AuctionState::load(&store).unwrap();
        prop_assert!(restored == c.h.st);
        c.h.st = restored;
        for pos in split..ops.len() {
            step(&mut c, &s, &ops, pos);
        }
        prop_assert_eq!(&c.replies, &a.replies);
        prop_assert_eq!(c.h.st.state_hash(), a.h.st.state_hash());
    }
}

#[test]
fn a_retraction_hands_the_lot_back_by_the_reference() {
    let s = Setup {
        lots: vec![(100, Some(2_000), Some(9_000))],
        bidders: 3,
        window: 1_000,
        reset: true,
    };
    let ops = vec![
        Op::Bid {
            lot: 0,
            bidder: 0,
            amount: 1_500,
            dt: 1,
        },
        Op::Bid {
            lot: 0,
            bidder: 1,
            amount: 2_500,
            dt: 0,
        },
        Op::Bid {
            lot: 0,
            bidder: 2,
            amount: 2_500,
            dt: 0,
        },
        Op::Retract { pick: 1, dt: 1 },
        Op::Close { lot: 0, dt: 2_000 },
    ];
    let run = run_checked(&s, &ops);
    assert!(
        run.replies.iter().all(|r| r.is_accepted()),
        "{:?}",
        run.replies
    );
    let lot = run.h.st.lots().next().unwrap();
    assert_eq!(
        (lot.status, lot.book.top.unwrap().paddle),
        (LotStatus::Sold, Paddle(3))
    );
}
