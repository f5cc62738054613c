//! Any command, in any order, with any ids: the engine never panics, a
//! refused command changes nothing (a refused bid only remembers its
//! outcome), a replayed log gives the same state, and the bookkeeping
//! behind limits always matches the lots.

mod common;

use std::collections::BTreeMap;

use common::*;
use paddle_auction::{AuctionState, MemStore};
use paddle_proto::auction::{
    AuctionCommand, ExtendRule, IncrementTable, LotId, LotSpec, LotStatus, Paddle, SaleId,
    SaleMode, SaleSpec, SoftClose,
};
use paddle_proto::{Currency, Money};
use proptest::prelude::*;

fn amount() -> impl Strategy<Value = Money> {
    prop_oneof![
        8 => (1i64..20_000).prop_map(m),
        1 => Just(Money::ZERO),
        1 => Just(Money::MAX),
    ]
}

fn spec() -> impl Strategy<Value = SaleSpec> {
    (
        any::<bool>(),
        0u64..3_000,
        1u64..5_000,
        0u64..500,
        prop::option::of(1u64..1_000),
        0u32..12_000,
    )
        .prop_map(|(live, opens, len, stagger, window, premium_bp)| SaleSpec {
            title: "Fuzz".into(),
            currency: Currency::EUR,
            mode: if live {
                SaleMode::Live
            } else {
                SaleMode::Timed {
                    opens_at_ms: opens,
                    closes_at_ms: opens + len,
                    stagger_ms: stagger,
                }
            },
            increments: IncrementTable::ebay_2005(),
            premium_bp,
            soft_close: window.filter(|_| !live).map(|w| SoftClose {
                window_ms: w,
                rule: if w % 2 == 0 {
                    ExtendRule::ResetToWindow
                } else {
                    ExtendRule::Add { extend_ms: w }
                },
            }),
        })
}

fn lot_spec() -> impl Strategy<Value = LotSpec> {
    (
        amount(),
        prop::option::of(amount()),
        prop::option::of(amount()),
        prop::option::of(0u32..6),
    )
        .prop_map(|(start, reserve, buy_now, seller)| LotSpec {
            title: "Lot".into(),
            description: String::new(),
            seller: seller.map(Paddle),
            start,
            reserve,
            buy_now,
        })
}

/// A (sale, lot) pair: usually the lot's own sale (lots 0–2 are in the timed
/// sale 0, lots 3–5 in the live sale 1, 6–7 exist only if added), sometimes
/// any sale.
fn target() -> impl Strategy<Value = (SaleId, LotId)> {
    (0u64..8, 0u64..3, prop::bool::weighted(0.9)).prop_map(|(lot, sale, own)| {
        let sale = if own { u64::from(lot >= 3) } else { sale };
        (SaleId(sale), LotId(lot))
    })
}

fn command() -> impl Strategy<Value = AuctionCommand> {
    let sale = (0u64..3).prop_map(SaleId);
    let paddle = (0u32..6).prop_map(Paddle);
    let bid_id = (0u8..10).prop_map(|n| id(&format!("b{n}")));
    prop_oneof![
        1 => spec().prop_map(|spec| AuctionCommand::CreateSale { spec }),
        1 => (sale.clone(), prop::collection::vec(lot_spec(), 0..4)).prop_map(|(sale, lots)| AuctionCommand::AddLots { sale, lots }),
        1 => (sale.clone(), prop::option::of(paddle.clone()), 0u8..8, prop::option::of(amount()), any::<bool>()).prop_map(
            |(sale, paddle, token, limit, approved)| AuctionCommand::RegisterBidder {
                sale,
                name: "B".into(),
                paddle,
                token_hash: format!("{token:064x}"),
                limit,
                approved,
            }
        ),
        1 => (sale.clone(), paddle.clone(), any::<bool>()).prop_map(|(sale, paddle, approved)| AuctionCommand::ApproveBidder { sale, paddle, approved }),
        1 => (sale, paddle.clone(), prop::option::of(amount())).prop_map(|(sale, paddle, limit)| AuctionCommand::SetLimit { sale, paddle, limit }),
        14 => (target(), paddle.clone(), bid_id.clone(), amount(), prop::bool::weighted(0.1)).prop_map(
            |((sale, lot), paddle, bid_id, max, buy_now)| AuctionCommand::PlaceBid { sale, lot, paddle, bid_id, max, buy_now }
        ),
        3 => target().prop_map(|(sale, lot)| AuctionCommand::OpenLot { sale, lot }),
        2 => target().prop_map(|(sale, lot)| AuctionCommand::CloseLot { sale, lot }),
        1 => (target(), prop::option::of(amount())).prop_map(|((sale, lot), increment)| AuctionCommand::SetAskingIncrement { sale, lot, increment }),
        5 => (target(), prop::option::of(paddle.clone()), bid_id.clone(), prop::option::of(amount())).prop_map(
            |((sale, lot), paddle, bid_id, amount)| AuctionCommand::FloorBid { sale, lot, paddle, bid_id, amount }
        ),
        2 => target().prop_map(|(sale, lot)| AuctionCommand::FairWarning { sale, lot }),
        2 => target().prop_map(|(sale, lot)| AuctionCommand::Sell { sale, lot }),
        1 => target().prop_map(|(sale, lot)| AuctionCommand::Pass { sale, lot }),
        1 => target().prop_map(|(sale, lot)| AuctionCommand::Reopen { sale, lot }),
        1 => target().prop_map(|(sale, lot)| AuctionCommand::WithdrawLot { sale, lot }),
        2 => (target(), paddle, bid_id).prop_map(|((sale, lot), paddle, bid_id)| AuctionCommand::RetractBid { sale, lot, paddle, bid_id }),
    ]
}

/// Two sales ready to bid on: timed sale 0 (lots 0–2) and live sale 1
/// (lots 3–5), paddles 1–4 approved in both (2 with a limit), 5 pending,
/// paddle 3 consigned the first lot of each.
fn setup(h: &mut H) {
    let timed = h.timed(30_000, 1_000, Some((2_000, ExtendRule::ResetToWindow)));
    let live = h.live();
    for sale in [timed, live] {
        for i in 0..3 {
            h.lot_with(
                sale,
                LotSpec {
                    title: "Lot".into(),
                    description: String::new(),
                    seller: (i == 0).then_some(Paddle(3)),
                    start: m(100 * (i + 1)),
                    reserve: (i == 1).then(|| m(4_000)),
                    buy_now: (i == 2 && sale == timed).then(|| m(9_000)),
                },
            );
        }
        for p in 1..=5 {
            h.bidder_with(sale, (p == 2).then_some(5_000), p != 5);
        }
    }
}

/// Everything but the remembered outcomes, comparable.
fn visible(st: &AuctionState) -> String {
    let mut bidders: Vec<_> = st.bidders().map(|b| format!("{b:?}")).collect();
    bidders.sort();
    format!(
        "{:?}|{:?}|{:?}|{:?}",
        st.counters(),
        st.sales().collect::<Vec<_>>(),
        st.lots().collect::<Vec<_>>(),
        bidders
    )
}

/// Limits rest on two running sums per bidder; they must match the lots.
fn check_books(st: &AuctionState) {
    let mut leading: BTreeMap<(SaleId, Paddle), Money> = BTreeMap::new();
    let mut won: BTreeMap<(SaleId, Paddle), Money> = BTreeMap::new();
    for l in st.lots() {
        if let (Some(top), Some(p)) = (l.book.top, l.book.price) {
            assert!(top.max >= p && p >= l.spec.start, "lot {:?}", l);
            if l.status.is_biddable() {
                let e = leading.entry((l.sale, top.paddle)).or_default();
                *e = e.saturating_add(top.max);
            }
        }
        if let Some(r) = l.result.filter(|r| r.status == LotStatus::Sold) {
            let e = won.entry((l.sale, r.winner.unwrap())).or_default();
            *e = e.saturating_add(r.total.unwrap());
        }
    }
    for b in st.bidders() {
        let key = (b.sale, b.paddle);
        assert_eq!(
            b.leading,
            leading.get(&key).copied().unwrap_or_default(),
            "leading of {key:?}"
        );
        assert_eq!(
            b.won,
            won.get(&key).copied().unwrap_or_default(),
            "won of {key:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_command_sequence_is_safe(cmds in prop::collection::vec((command(), 0u64..400), 1..120)) {
        let mut h = H::new();
        setup(&mut h);
        let mut log = Vec::new();
        for (cmd, dt) in cmds {
            let before = visible(&h.st);
            let stamp = h.clock + dt;
            let r = h.apply(stamp, cmd.clone());
            log.push((h.clock, cmd));
            if !r.is_accepted() {
                prop_assert_eq!(visible(&h.st), before);
            }
            check_books(&h.st);
        }
        // Replaying the log gives the same state, and so do its records.
        let mut again = H::new();
        setup(&mut again);
        for (stamp, cmd) in log {
            again.apply(stamp, cmd);
        }
        prop_assert_eq!(again.st.state_hash(), h.st.state_hash());
        let mut store = MemStore::new();
        h.st.write_all(&mut store);
        prop_assert!(AuctionState::load(&store).unwrap() == h.st);
    }
}
