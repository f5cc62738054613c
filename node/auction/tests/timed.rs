//! Timed-sale scenarios: proxy bidding, reserve, buy-now, soft close,
//! staggered closes, deadlines, limits, retraction, idempotent bid ids and
//! the timer's `due` helper.

mod common;

use common::*;
use paddle_proto::auction::{
    AuctionCommand, AuctionEvent, ExtendRule, LotSpec, LotStatus, Paddle, PassReason, RejectReason,
    SaleId,
};

#[test]
fn proxy_bidding_follows_ebay() {
    let mut h = H::new();
    let s = h.timed(10_000, 0, None);
    let lot = h.lot(s, 1_000, None, None);
    let (a, b) = (h.bidder(s), h.bidder(s));
    let (st, leading) = accepted_bid(&h.bid(1, s, lot, a, "a1", 5_000));
    assert_eq!(
        (st.price, st.leader, leading),
        (Some(m(1_000)), Some(a), true)
    );
    assert_eq!(st.minimum_next, m(1_050));
    // b below a's max: price = b + increment, a keeps the lead.
    let (st, leading) = accepted_bid(&h.bid(2, s, lot, b, "b1", 3_000));
    assert_eq!(
        (st.price, st.leader, leading),
        (Some(m(3_100)), Some(a), false)
    );
    // b above a's max: a's max + increment.
    let (st, _) = accepted_bid(&h.bid(3, s, lot, b, "b2", 9_000));
    assert_eq!((st.price, st.leader), (Some(m(5_100)), Some(b)));
    let outbid: Vec<_> = h
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, AuctionEvent::Outbid { .. }))
        .collect();
    assert_eq!(outbid.len(), 1);
    assert!(matches!(outbid[0], AuctionEvent::Outbid { paddle, .. } if paddle == a));
    // Too low, then off the increment grid but above the minimum.
    assert_eq!(
        reason(&h.bid(4, s, lot, a, "a2", 5_150)),
        RejectReason::TooLow { minimum: m(5_200) }
    );
    let (st, _) = accepted_bid(&h.bid(5, s, lot, a, "a3", 5_251));
    assert_eq!((st.price, st.leader), (Some(m(5_351)), Some(b)));
    // The leader may only raise their own max.
    assert_eq!(
        reason(&h.bid(6, s, lot, b, "b3", 8_000)),
        RejectReason::NotAboveOwnMax
    );
    let (st, _) = accepted_bid(&h.bid(7, s, lot, b, "b4", 20_000));
    assert_eq!(st.price, Some(m(5_351)));
}

#[test]
fn equal_maxes_go_to_the_earlier() {
    let mut h = H::new();
    let s = h.timed(10_000, 0, None);
    let lot = h.lot(s, 100, None, None);
    let (a, b) = (h.bidder(s), h.bidder(s));
    h.bid(1, s, lot, a, "a", 4_000);
    let (st, leading) = accepted_bid(&h.bid(2, s, lot, b, "b", 4_000));
    assert_eq!(
        (st.price, st.leader, leading),
        (Some(m(4_000)), Some(a), false)
    );
}

#[test]
fn reserve_is_hidden_and_jumps_the_price() {
    let mut h = H::new();
    let s = h.timed(10_000, 0, None);
    let lot = h.lot(s, 1_000, Some(5_000), None);
    let (a, b) = (h.bidder(s), h.bidder(s));
    let (st, _) = accepted_bid(&h.bid(1, s, lot, a, "a1", 3_000));
    assert_eq!(
        (st.price, st.has_reserve, st.reserve_met),
        (Some(m(1_000)), true, false)
    );
    // The leader raising to meet the reserve moves the price to it.
    let (st, _) = accepted_bid(&h.bid(2, s, lot, a, "a2", 6_000));
    assert_eq!((st.price, st.reserve_met), (Some(m(5_000)), true));
    let (st, _) = accepted_bid(&h.bid(3, s, lot, b, "b1", 5_500));
    assert_eq!(st.price, Some(m(5_600)));
    // Under the reserve at close: passed.
    let lot2 = h.lot(s, 1_000, Some(5_000), None);
    h.bid(4, s, lot2, a, "x", 4_999);
    let st = accepted_lot(&h.apply(10_000, AuctionCommand::CloseLot { sale: s, lot }));
    assert_eq!(st.status, LotStatus::Sold);
    accepted_lot(&h.apply(10_000, AuctionCommand::CloseLot { sale: s, lot: lot2 }));
    let l = h.st.lot(lot2).unwrap();
    assert_eq!(l.status, LotStatus::Passed);
    assert_eq!(
        l.result.unwrap().pass_reason,
        Some(PassReason::ReserveNotMet)
    );
}

#[test]
fn buy_now_sells_at_once_and_goes_with_the_first_bid() {
    let mut h = H::new();
    let s = h.timed(10_000, 0, None);
    let lot = h.lot(s, 1_000, None, Some(10_000));
    let lot2 = h.lot(s, 1_000, None, Some(10_000));
    let (a, b) = (h.bidder(s), h.bidder(s));
    let buy = |lot, paddle, bid_id: &str, max| AuctionCommand::PlaceBid {
        sale: s,
        lot,
        paddle,
        bid_id: id(bid_id),
        max: m(max),
        buy_now: true,
    };
    assert_eq!(
        reason(&h.apply(1, buy(lot, a, "x", 9_000))),
        RejectReason::BuyNowPriceMismatch { price: m(10_000) }
    );
    let (st, leading) = accepted_bid(&h.apply(2, buy(lot, a, "a", 10_000)));
    assert_eq!(
        (st.status, st.price, leading),
        (LotStatus::Sold, Some(m(10_000)), true)
    );
    let l = h.st.lot(lot).unwrap().result.unwrap();
    assert_eq!(
        (l.hammer, l.premium, l.total, l.buy_now),
        (Some(m(10_000)), Some(m(2_000)), Some(m(12_000)), true)
    );
    assert_eq!(h.st.bidder(s, a).unwrap().won, m(12_000));
    assert_eq!(
        reason(&h.bid(3, s, lot, b, "b", 20_000)),
        RejectReason::LotClosed
    );
    // A first bid removes the offer.
    h.bid(4, s, lot2, b, "b2", 2_000);
    assert_eq!(
        reason(&h.apply(5, buy(lot2, a, "a2", 10_000))),
        RejectReason::BuyNowUnavailable
    );
}

#[test]
fn deadlines_judge_by_stamp_and_stagger() {
    let mut h = H::new();
    let mode = paddle_proto::auction::SaleMode::Timed {
        opens_at_ms: 1_000,
        closes_at_ms: 10_000,
        stagger_ms: 500,
    };
    let s = h.sale(mode, None, 0);
    let l0 = h.lot(s, 100, None, None);
    let l1 = h.lot(s, 100, None, None);
    assert_eq!(h.state(l1).effective_end_ms, Some(10_500));
    let a = h.bidder(s);
    assert_eq!(
        reason(&h.bid(999, s, l0, a, "early", 200)),
        RejectReason::LotNotOpen {
            opens_at_ms: Some(1_000)
        }
    );
    // The first on-time bid opens the lot even before the timer's OpenLot.
    h.take_events();
    accepted_bid(&h.bid(1_000, s, l0, a, "first", 200));
    assert!(matches!(h.take_events()[0], AuctionEvent::LotOpened { .. }));
    assert_eq!(
        reason(&h.apply(1_001, AuctionCommand::OpenLot { sale: s, lot: l0 })),
        RejectReason::WrongStatus {
            status: LotStatus::Open
        }
    );
    // On time iff stamp < effective end, whether or not CloseLot was applied.
    assert_eq!(
        reason(&h.bid(10_000, s, l0, a, "late0", 300)),
        RejectReason::LotClosed
    );
    // Closing early is a refused no-op.
    assert_eq!(
        reason(&h.apply(10_400, AuctionCommand::CloseLot { sale: s, lot: l1 })),
        RejectReason::NotDue { due_ms: 10_500 }
    );
    accepted_bid(&h.bid(10_499, s, l1, a, "last", 200));
    assert_eq!(
        reason(&h.bid(10_500, s, l1, a, "late", 300)),
        RejectReason::LotClosed
    );
    assert_eq!(
        accepted_lot(&h.apply(10_500, AuctionCommand::CloseLot { sale: s, lot: l1 })).status,
        LotStatus::Sold
    );
    assert_eq!(
        reason(&h.apply(10_600, AuctionCommand::CloseLot { sale: s, lot: l1 })),
        RejectReason::WrongStatus {
            status: LotStatus::Sold
        }
    );
}

#[test]
fn timer_due_lists_opens_and_closes() {
    let mut h = H::new();
    let mode = paddle_proto::auction::SaleMode::Timed {
        opens_at_ms: 1_000,
        closes_at_ms: 5_000,
        stagger_ms: 1_000,
    };
    let s = h.sale(mode, None, 0);
    let l0 = h.lot(s, 100, None, None);
    let l1 = h.lot(s, 100, None, None);
    let d = h.st.due(500);
    assert!(d.commands.is_empty());
    assert_eq!(d.next_deadline_ms, Some(1_000));
    let d = h.st.due(1_000);
    assert_eq!(
        d.commands,
        vec![
            AuctionCommand::OpenLot { sale: s, lot: l0 },
            AuctionCommand::OpenLot { sale: s, lot: l1 }
        ]
    );
    assert_eq!(d.next_deadline_ms, Some(5_000));
    for c in d.commands {
        accepted_lot(&h.apply(1_000, c));
    }
    let d = h.st.due(5_000);
    assert_eq!(
        d.commands,
        vec![AuctionCommand::CloseLot { sale: s, lot: l0 }]
    );
    assert_eq!(d.next_deadline_ms, Some(6_000));
    accepted_lot(&h.apply(5_000, d.commands[0].clone()));
    assert_eq!(h.st.lot(l0).unwrap().status, LotStatus::Passed);
    // A live sale is never due.
    let live = h.live();
    h.lot(live, 100, None, None);
    assert_eq!(
        h.st.due(u64::MAX).commands,
        vec![AuctionCommand::CloseLot { sale: s, lot: l1 }]
    );
}

#[test]
fn soft_close_extends_only_on_price_or_leader_change() {
    for rule in [
        ExtendRule::ResetToWindow,
        ExtendRule::Add { extend_ms: 300 },
    ] {
        let mut h = H::new();
        let s = h.timed(10_000, 0, Some((1_000, rule)));
        let lot = h.lot(s, 100, None, None);
        let lot2 = h.lot(s, 100, None, None);
        let (a, b) = (h.bidder(s), h.bidder(s));
        // Outside the window nothing moves.
        h.bid(50, s, lot2, b, "b2", 1_000);
        h.bid(51, s, lot2, a, "a3", 2_000);
        assert_eq!(h.state(lot2).effective_end_ms, Some(10_000));
        h.bid(100, s, lot, a, "a1", 5_000);
        assert_eq!(h.state(lot).effective_end_ms, Some(10_000));
        // Inside the window, a leader's own raise and a refused bid do not extend.
        h.bid(9_500, s, lot, a, "a2", 6_000);
        h.bid(9_600, s, lot, b, "b-low", 100);
        assert_eq!(h.state(lot).effective_end_ms, Some(10_000));
        // A price change does.
        h.bid(9_700, s, lot, b, "b1", 1_000);
        let want = match rule {
            ExtendRule::ResetToWindow => 10_700,
            ExtendRule::Add { extend_ms } => 10_000 + extend_ms,
        };
        assert_eq!(h.state(lot).effective_end_ms, Some(want));
        assert!(h.events.iter().any(|e| matches!(
            e,
            AuctionEvent::LotExtended {
                previous_end_ms: 10_000,
                ..
            }
        )));
    }
}

#[test]
fn who_may_bid() {
    let mut h = H::new();
    let s = h.timed(10_000, 0, None);
    let other = h.timed(10_000, 0, None);
    let seller = h.bidder(s);
    let lot = h.lot_with(
        s,
        LotSpec {
            title: "Vase".into(),
            description: String::new(),
            seller: Some(seller),
            start: m(100),
            reserve: None,
            buy_now: None,
        },
    );
    let pending = h.bidder_with(s, None, false);
    let limited = h.bidder_with(s, Some(1_000), true);
    assert_eq!(
        reason(&h.bid(1, s, lot, seller, "s", 500)),
        RejectReason::SellersOwnLot
    );
    assert_eq!(
        reason(&h.bid(1, s, lot, pending, "p", 500)),
        RejectReason::NotApproved
    );
    assert_eq!(
        reason(&h.bid(1, s, lot, Paddle(99), "u", 500)),
        RejectReason::NotRegistered
    );
    assert_eq!(
        reason(&h.bid(1, SaleId(99), lot, seller, "x", 500)),
        RejectReason::UnknownSale
    );
    assert_eq!(
        reason(&h.bid(1, other, lot, seller, "y", 500)),
        RejectReason::UnknownLot
    );
    assert_eq!(
        reason(&h.bid(1, s, lot, limited, "l", 1_001)),
        RejectReason::OverLimit { limit: m(1_000) }
    );
    assert_eq!(
        reason(&h.bid(1, s, lot, limited, "z", 0)),
        RejectReason::InvalidAmount
    );
    accepted_bid(&h.bid(1, s, lot, limited, "l2", 900));
    // Leading 900 on one lot leaves 100 of the limit for the next.
    let lot2 = h.lot(s, 100, None, None);
    assert_eq!(
        reason(&h.bid(2, s, lot2, limited, "l3", 200)),
        RejectReason::OverLimit { limit: m(1_000) }
    );
    // Raising the own max counts only the difference.
    accepted_bid(&h.bid(3, s, lot, limited, "l4", 1_000));
    h.apply(
        4,
        AuctionCommand::ApproveBidder {
            sale: s,
            paddle: pending,
            approved: true,
        },
    );
    accepted_bid(&h.bid(5, s, lot, pending, "p2", 2_000));
    // Outbid: the exposure is released.
    assert_eq!(h.st.bidder(s, limited).unwrap().leading, m(0));
    accepted_bid(&h.bid(6, s, lot2, limited, "l5", 1_000));
}

#[test]
fn a_repeated_bid_id_returns_the_first_outcome() {
    let mut h = H::new();
    let s = h.timed(10_000, 0, None);
    let lot = h.lot(s, 100, None, None);
    let (a, b) = (h.bidder(s), h.bidder(s));
    let first = h.bid(1, s, lot, a, "dbl", 1_000);
    let hash = h.st.state_hash();
    assert_eq!(h.bid(2, s, lot, a, "dbl", 1_000), first);
    assert_eq!(h.bid(3, s, lot, a, "dbl", 9_000), first);
    assert_eq!(h.st.state_hash(), hash);
    // Refusals are remembered too; another bidder's id space is separate.
    let low = h.bid(4, s, lot, b, "dbl", 10);
    assert_eq!(reason(&low), RejectReason::TooLow { minimum: m(125) });
    assert_eq!(h.bid(5, s, lot, b, "dbl", 5_000), low);
    assert_eq!(h.st.outcome(s, b, false, &id("dbl")), Some(&low));
}

#[test]
fn retraction_recomputes_from_the_remaining_maxes() {
    let mut h = H::new();
    let s = h.timed(10_000, 0, None);
    let lot = h.lot(s, 100, None, None);
    let (a, b, c) = (h.bidder(s), h.bidder(s), h.bidder(s));
    h.bid(1, s, lot, a, "a", 2_000);
    h.bid(2, s, lot, b, "b", 5_000);
    h.bid(3, s, lot, c, "c", 3_000);
    assert_eq!(
        (h.state(lot).price, h.state(lot).leader),
        (Some(m(3_100)), Some(b))
    );
    let retract = |paddle, bid_id: &str| AuctionCommand::RetractBid {
        sale: s,
        lot,
        paddle,
        bid_id: id(bid_id),
    };
    let st = accepted_lot(&h.apply(4, retract(b, "b")));
    assert_eq!((st.price, st.leader), (Some(m(2_050)), Some(c)));
    assert_eq!(h.st.bidder(s, b).unwrap().leading, m(0));
    assert_eq!(h.st.bidder(s, c).unwrap().leading, m(3_000));
    assert_eq!(
        reason(&h.apply(5, retract(b, "b"))),
        RejectReason::AlreadyRetracted
    );
    assert_eq!(
        reason(&h.apply(5, retract(b, "nope"))),
        RejectReason::UnknownBid
    );
    let st = accepted_lot(&h.apply(6, retract(c, "c")));
    assert_eq!((st.price, st.leader), (Some(m(100)), Some(a)));
    let st = accepted_lot(&h.apply(7, retract(a, "a")));
    assert_eq!((st.price, st.leader, st.bids), (None, None, 0));
}

#[test]
fn bad_catalogue_input_is_refused() {
    let mut h = H::new();
    let s = h.timed(10_000, 0, None);
    let bad = |start, reserve: Option<i64>, buy_now: Option<i64>| AuctionCommand::AddLots {
        sale: s,
        lots: vec![LotSpec {
            title: "x".into(),
            description: String::new(),
            seller: None,
            start: m(start),
            reserve: reserve.map(m),
            buy_now: buy_now.map(m),
        }],
    };
    assert_eq!(
        reason(&h.apply(0, bad(0, None, None))),
        RejectReason::InvalidAmount
    );
    assert!(matches!(
        reason(&h.apply(0, bad(100, Some(50), None))),
        RejectReason::InvalidInput { .. }
    ));
    assert!(matches!(
        reason(&h.apply(0, bad(100, Some(500), Some(400)))),
        RejectReason::InvalidInput { .. }
    ));
    assert_eq!(
        reason(&h.apply(
            0,
            AuctionCommand::AddLots {
                sale: s,
                lots: vec![]
            }
        )),
        RejectReason::InvalidInput {
            field: "lots".into()
        }
    );
    let before = h.st.state_hash();
    let dup = AuctionCommand::RegisterBidder {
        sale: s,
        name: "A".into(),
        paddle: Some(Paddle(7)),
        token_hash: "0".repeat(64),
        limit: None,
        approved: true,
    };
    assert!(h.apply(0, dup.clone()).is_accepted());
    assert_eq!(
        reason(&h.apply(0, dup)),
        RejectReason::Duplicate {
            what: "token".into()
        }
    );
    assert_ne!(h.st.state_hash(), before);
    let bad_token = AuctionCommand::RegisterBidder {
        sale: s,
        name: "B".into(),
        paddle: None,
        token_hash: "XYZ".into(),
        limit: None,
        approved: true,
    };
    assert_eq!(
        reason(&h.apply(0, bad_token)),
        RejectReason::InvalidInput {
            field: "token_hash".into()
        }
    );
}

#[test]
fn a_timed_sale_moves_until_its_first_lot_opens() {
    let mut h = H::new();
    let mode = paddle_proto::auction::SaleMode::Timed {
        opens_at_ms: 1_000,
        closes_at_ms: 10_000,
        stagger_ms: 500,
    };
    let s = h.sale(mode, None, 0);
    let l0 = h.lot(s, 100, None, None);
    let l1 = h.lot(s, 100, None, None);
    let schedule = |opens, closes, stagger| AuctionCommand::ScheduleSale {
        sale: s,
        opens_at_ms: opens,
        closes_at_ms: closes,
        stagger_ms: stagger,
    };
    assert_eq!(
        reason(&h.apply(10, schedule(5_000, 5_000, 0))),
        RejectReason::InvalidInput {
            field: "closes_at_ms".into()
        }
    );
    h.take_events();
    assert!(matches!(
        h.apply(10, schedule(2_000, 20_000, 1_000)),
        paddle_proto::auction::AuctionReply::Accepted { .. }
    ));
    assert!(matches!(
        h.take_events()[..],
        [AuctionEvent::SaleScheduled {
            opens_at_ms: 2_000,
            closes_at_ms: 20_000,
            stagger_ms: 1_000,
            ..
        }]
    ));
    assert_eq!(h.state(l1).effective_end_ms, Some(21_000));
    let a = h.bidder(s);
    // The old opening time no longer counts; the new one does.
    assert_eq!(
        reason(&h.bid(1_500, s, l0, a, "early", 200)),
        RejectReason::LotNotOpen {
            opens_at_ms: Some(2_000)
        }
    );
    accepted_bid(&h.bid(2_000, s, l0, a, "first", 200));
    // Once a lot has opened the sale stays put.
    assert_eq!(
        reason(&h.apply(2_001, schedule(3_000, 30_000, 0))),
        RejectReason::WrongStatus {
            status: LotStatus::Open
        }
    );
    let live = h.live();
    assert_eq!(
        reason(&h.apply(
            2_002,
            AuctionCommand::ScheduleSale {
                sale: live,
                opens_at_ms: 3_000,
                closes_at_ms: 4_000,
                stagger_ms: 0,
            }
        )),
        RejectReason::WrongMode
    );
    assert_eq!(
        reason(&h.apply(
            2_003,
            AuctionCommand::ScheduleSale {
                sale: SaleId(99),
                opens_at_ms: 3_000,
                closes_at_ms: 4_000,
                stagger_ms: 0,
            }
        )),
        RejectReason::UnknownSale
    );
}

#[test]
fn bids_of_one_entry_are_simultaneous_but_a_clock_standing_still_is_not() {
    let mut h = H::new();
    let s = h.timed(10_000, 0, None);
    let lot = h.lot(s, 1_000, None, None);
    let (a, b, c) = (h.bidder(s), h.bidder(s), h.bidder(s));
    accepted_bid(&h.bid(100, s, lot, a, "a1", 1_000));
    // b and c both accept the asking price (10.50) in one entry: neither
    // could see the other, so neither is refused.
    accepted_bid(&h.bid(200, s, lot, b, "b1", 1_050));
    h.index -= 1; // the next command joins the same log entry
    let (st, _) = accepted_bid(&h.bid(200, s, lot, c, "c1", 1_050));
    assert_eq!((st.price, st.leader), (Some(m(1_050)), Some(b)));
    // The next entry carries the same stamp (a clock standing still), yet
    // it came later: it must reach the asking price that stands now.
    assert_eq!(
        reason(&h.bid(200, s, lot, a, "a2", 1_050)),
        RejectReason::TooLow { minimum: m(1_100) }
    );
    let (st, _) = accepted_bid(&h.bid(200, s, lot, a, "a3", 1_100));
    assert_eq!((st.price, st.leader), (Some(m(1_100)), Some(a)));
}
