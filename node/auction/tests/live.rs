//! Live-sale scenarios: absentee bids at open, floor against internet,
//! fair warning, sold, passed, reopen, asking increment, one lot at a time.

mod common;

use common::*;
use paddle_proto::auction::{
    AuctionCommand, AuctionEvent, LotStatus, Paddle, PassReason, RejectReason,
};

#[test]
fn absentee_maxes_apply_at_open_earliest_first() {
    let mut h = H::new();
    let s = h.live();
    let lot = h.lot(s, 100, None, None);
    let (a, b, c) = (h.bidder(s), h.bidder(s), h.bidder(s));
    let (st, leading) = accepted_bid(&h.bid(1, s, lot, a, "a", 1_000));
    assert_eq!(
        (st.status, st.price, leading),
        (LotStatus::Scheduled, None, false)
    );
    h.bid(2, s, lot, b, "b", 1_500);
    h.bid(3, s, lot, c, "c", 1_500);
    assert_eq!(
        reason(&h.bid(4, s, lot, c, "low", 50)),
        RejectReason::TooLow { minimum: m(100) }
    );
    // Floor bids wait for the lot to open.
    assert_eq!(
        reason(&h.floor(s, lot, None, "f", Some(200))),
        RejectReason::WrongStatus {
            status: LotStatus::Scheduled
        }
    );
    h.take_events();
    let st = accepted_lot(&h.apply(10, AuctionCommand::OpenLot { sale: s, lot }));
    // b and c tie at 15.00; b was earlier.
    assert_eq!(
        (st.status, st.price, st.leader, st.bids),
        (LotStatus::Open, Some(m(1_500)), Some(b), 3)
    );
    let ev = h.take_events();
    assert!(
        matches!(ev[0], AuctionEvent::LotOpened { price: Some(p), leader: Some(l), .. } if p == m(1_500) && l == b)
    );
    let outbid: Vec<Paddle> = ev
        .iter()
        .filter_map(|e| match e {
            AuctionEvent::Outbid { paddle, .. } => Some(*paddle),
            _ => None,
        })
        .collect();
    assert_eq!(outbid, vec![a, c]);
    assert_eq!(h.st.bidder(s, b).unwrap().leading, m(1_500));
}

#[test]
fn floor_against_internet_then_fair_warning_sold_and_reopen() {
    let mut h = H::new();
    let s = h.live();
    let lot = h.lot(s, 100, None, None);
    let a = h.bidder(s);
    let d = h.bidder(s);
    h.bid(1, s, lot, a, "a1", 1_000);
    h.apply(2, AuctionCommand::OpenLot { sale: s, lot });
    assert_eq!(h.state(lot).price, Some(m(100)));
    // The room bids the asking price; the internet max answers.
    let (st, leading) = accepted_bid(&h.floor(s, lot, None, "f1", None));
    assert_eq!(
        (st.price, st.leader, leading),
        (Some(m(150)), Some(a), false)
    );
    // A floor bid equal to the max: the earlier max keeps it.
    let (st, _) = accepted_bid(&h.floor(s, lot, None, "f2", Some(1_000)));
    assert_eq!((st.price, st.leader), (Some(m(1_000)), Some(a)));
    // Past the max: the room leads at its called amount.
    let (st, leading) = accepted_bid(&h.floor(s, lot, None, "f3", Some(1_050)));
    assert_eq!(
        (st.price, st.leader, leading),
        (Some(m(1_050)), Some(Paddle::HOUSE), true)
    );
    // The internet raises; a registered floor bidder jumps but stays under.
    let (st, _) = accepted_bid(&h.bid(10, s, lot, a, "a2", 2_000));
    assert_eq!((st.price, st.leader), (Some(m(1_100)), Some(a)));
    let (st, _) = accepted_bid(&h.floor(s, lot, Some(d), "d1", Some(1_800)));
    assert_eq!((st.price, st.leader), (Some(m(1_850)), Some(a)));
    // A jump bid from the room is an open outcry: the price is what was called.
    let (st, _) = accepted_bid(&h.floor(s, lot, None, "f4", Some(5_000)));
    assert_eq!((st.price, st.leader), (Some(m(5_000)), Some(Paddle::HOUSE)));

    // Fair warning; an internet bid puts the lot back to open.
    let st = accepted_lot(&h.apply(20, AuctionCommand::FairWarning { sale: s, lot }));
    assert_eq!(st.status, LotStatus::FairWarning);
    h.take_events();
    let (st, _) = accepted_bid(&h.bid(21, s, lot, a, "a3", 6_000));
    assert_eq!(
        (st.status, st.price, st.leader),
        (LotStatus::Open, Some(m(5_100)), Some(a))
    );
    assert!(h
        .take_events()
        .iter()
        .any(|e| matches!(e, AuctionEvent::WarningLifted { .. })));
    h.apply(22, AuctionCommand::FairWarning { sale: s, lot });
    let st = accepted_lot(&h.apply(23, AuctionCommand::Sell { sale: s, lot }));
    assert_eq!(st.status, LotStatus::Sold);
    let r = h.st.lot(lot).unwrap().result.unwrap();
    assert_eq!(
        (r.winner, r.hammer, r.premium, r.total),
        (Some(a), Some(m(5_100)), Some(m(1_020)), Some(m(6_120)))
    );
    assert_eq!(h.st.bidder(s, a).unwrap().won, m(6_120));
    assert_eq!(
        reason(&h.bid(24, s, lot, d, "late", 9_000)),
        RejectReason::LotClosed
    );

    // A missed bid in the room: reopen, take it, sell again.
    let st = accepted_lot(&h.apply(25, AuctionCommand::Reopen { sale: s, lot }));
    assert_eq!((st.status, st.price), (LotStatus::Open, Some(m(5_100))));
    assert_eq!(h.st.bidder(s, a).unwrap().won, m(0));
    let (st, _) = accepted_bid(&h.floor(s, lot, None, "f5", None));
    assert_eq!((st.price, st.leader), (Some(m(5_300)), Some(a)));
    h.apply(30, AuctionCommand::Sell { sale: s, lot });
    assert_eq!(
        h.st.lot(lot).unwrap().result.unwrap().hammer,
        Some(m(5_300))
    );
}

#[test]
fn pass_reopen_and_one_lot_at_a_time() {
    let mut h = H::new();
    let s = h.live();
    let l1 = h.lot(s, 100, Some(1_000), None);
    let l2 = h.lot(s, 100, None, None);
    let l3 = h.lot(s, 100, None, None);
    accepted_lot(&h.apply(1, AuctionCommand::OpenLot { sale: s, lot: l1 }));
    assert_eq!(
        reason(&h.apply(2, AuctionCommand::OpenLot { sale: s, lot: l2 })),
        RejectReason::AnotherLotOpen { lot: l1 }
    );
    assert_eq!(
        reason(&h.apply(2, AuctionCommand::Sell { sale: s, lot: l1 })),
        RejectReason::NoBids
    );
    h.floor(s, l1, None, "f", Some(500));
    assert_eq!(
        reason(&h.apply(3, AuctionCommand::Sell { sale: s, lot: l1 })),
        RejectReason::ReserveNotMet
    );
    accepted_lot(&h.apply(4, AuctionCommand::Pass { sale: s, lot: l1 }));
    let r = h.st.lot(l1).unwrap().result.unwrap();
    assert_eq!(
        (r.status, r.pass_reason),
        (LotStatus::Passed, Some(PassReason::Clerk))
    );
    // Reopen works until the next lot opens.
    accepted_lot(&h.apply(5, AuctionCommand::Reopen { sale: s, lot: l1 }));
    accepted_lot(&h.apply(6, AuctionCommand::Pass { sale: s, lot: l1 }));
    accepted_lot(&h.apply(7, AuctionCommand::OpenLot { sale: s, lot: l2 }));
    accepted_lot(&h.apply(8, AuctionCommand::Pass { sale: s, lot: l2 }));
    assert_eq!(
        reason(&h.apply(9, AuctionCommand::Reopen { sale: s, lot: l1 })),
        RejectReason::CannotReopen
    );
    accepted_lot(&h.apply(10, AuctionCommand::OpenLot { sale: s, lot: l3 }));
    assert_eq!(
        reason(&h.apply(11, AuctionCommand::Reopen { sale: s, lot: l2 })),
        RejectReason::CannotReopen
    );
    assert_eq!(
        reason(&h.apply(12, AuctionCommand::Reopen { sale: s, lot: l3 })),
        RejectReason::WrongStatus {
            status: LotStatus::Open
        }
    );
    accepted_lot(&h.apply(13, AuctionCommand::WithdrawLot { sale: s, lot: l3 }));
    assert_eq!(h.st.lot(l3).unwrap().status, LotStatus::Withdrawn);
}

#[test]
fn the_clerk_may_override_the_asking_increment() {
    let mut h = H::new();
    let s = h.live();
    let lot = h.lot(s, 100, None, None);
    let a = h.bidder(s);
    h.apply(1, AuctionCommand::OpenLot { sale: s, lot });
    h.floor(s, lot, None, "f", None);
    let set = |inc: Option<i64>| AuctionCommand::SetAskingIncrement {
        sale: s,
        lot,
        increment: inc.map(m),
    };
    let st = accepted_lot(&h.apply(2, set(Some(1_000))));
    assert_eq!(st.minimum_next, m(1_100));
    assert_eq!(
        reason(&h.bid(3, s, lot, a, "a", 500)),
        RejectReason::TooLow { minimum: m(1_100) }
    );
    let (st, _) = accepted_bid(&h.floor(s, lot, None, "f2", None));
    assert_eq!(st.price, Some(m(1_100)));
    let st = accepted_lot(&h.apply(4, set(None)));
    assert_eq!(st.minimum_next, m(1_150));
    assert_eq!(
        reason(&h.apply(5, set(Some(0)))),
        RejectReason::InvalidAmount
    );
}

#[test]
fn commands_of_the_other_mode_are_refused() {
    let mut h = H::new();
    let live = h.live();
    let timed = h.timed(10_000, 0, None);
    let ll = h.lot(live, 100, None, None);
    let tl = h.lot(timed, 100, None, None);
    assert_eq!(
        reason(&h.apply(
            1,
            AuctionCommand::CloseLot {
                sale: live,
                lot: ll
            }
        )),
        RejectReason::WrongMode
    );
    assert_eq!(
        reason(&h.apply(
            1,
            AuctionCommand::FairWarning {
                sale: timed,
                lot: tl
            }
        )),
        RejectReason::WrongMode
    );
    assert_eq!(
        reason(&h.floor(timed, tl, None, "f", Some(200))),
        RejectReason::WrongMode
    );
    let add = AuctionCommand::AddLots {
        sale: live,
        lots: vec![paddle_proto::auction::LotSpec {
            title: "x".into(),
            description: String::new(),
            seller: None,
            start: m(100),
            reserve: None,
            buy_now: Some(m(500)),
        }],
    };
    assert_eq!(
        reason(&h.apply(1, add)),
        RejectReason::InvalidInput {
            field: "buy_now".into()
        }
    );
}

#[test]
fn bidi_controls_are_refused_in_every_text_field() {
    let mut h = H::new();
    let s = h.live();
    for c in ['\u{202A}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2069}'] {
        let title = format!("Clock {c}kcolc");
        let add = AuctionCommand::AddLots {
            sale: s,
            lots: vec![paddle_proto::auction::LotSpec {
                title: title.clone(),
                description: String::new(),
                seller: None,
                start: m(100),
                reserve: None,
                buy_now: None,
            }],
        };
        assert_eq!(
            reason(&h.apply(1, add)),
            RejectReason::InvalidInput {
                field: "title".into()
            }
        );
        let register = AuctionCommand::RegisterBidder {
            sale: s,
            name: format!("Ada{c}"),
            paddle: None,
            token_hash: format!("{:064x}", 99),
            limit: None,
            approved: true,
        };
        assert_eq!(
            reason(&h.apply(1, register)),
            RejectReason::InvalidInput {
                field: "name".into()
            }
        );
        let pause = AuctionCommand::PauseSale {
            sale: s,
            reason: format!("power {c}cut"),
        };
        assert_eq!(
            reason(&h.apply(1, pause)),
            RejectReason::InvalidInput {
                field: "reason".into()
            }
        );
    }
    // Right-to-left text itself is fine: only the invisible controls are not.
    let add = AuctionCommand::AddLots {
        sale: s,
        lots: vec![paddle_proto::auction::LotSpec {
            title: "ساعة حائط".into(),
            description: "שעון".into(),
            seller: None,
            start: m(100),
            reserve: None,
            buy_now: None,
        }],
    };
    assert!(h.apply(1, add).into_result().is_ok());
}
