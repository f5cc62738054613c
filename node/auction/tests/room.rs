//! The sale room's commands: pause and resume (countdowns stand still and
//! come back exact), extend, lot edits, retraction with a reason, phone and
//! commission bids, desk registration and sign-in codes.

mod common;

use common::*;
use paddle_auction::{token_tag, AuctionState, SIGN_IN_VALID_MS};
use paddle_proto::auction::{
    Accepted, AuctionCommand, AuctionEvent, AuctionReply, BidKind, DeskDetails, LotId, LotSpec,
    LotStatus, Paddle, RejectReason, SaleId,
};
use proptest::prelude::*;

fn pause(h: &mut H, t: u64, sale: SaleId) -> AuctionReply {
    h.apply(
        t,
        AuctionCommand::PauseSale {
            sale,
            reason: "Power cut".into(),
        },
    )
}

fn resume(h: &mut H, t: u64, sale: SaleId) -> AuctionReply {
    h.apply(t, AuctionCommand::ResumeSale { sale })
}

fn end(h: &H, lot: LotId) -> u64 {
    h.st.lot(lot).unwrap().effective_end_ms.unwrap()
}

fn hash(n: u64) -> String {
    // Distinct in the first 8 bytes (a token's tag), as SHA-256 hashes are.
    format!("{:016x}{:048x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15), n)
}

#[test]
fn a_pause_stops_bids_and_clocks_and_the_resume_gives_the_time_back() {
    let mut h = H::new();
    let s = h.timed(10_000, 1_000, None);
    let early = h.lot(s, 100, None, None); // ends 10_000
    let late = h.lot(s, 100, None, None); // ends 11_000
    let a = h.bidder(s);
    h.bid(1_000, s, early, a, "a1", 500);
    h.bid(1_000, s, late, a, "a2", 500);
    assert!(pause(&mut h, 10_990, s).is_accepted());
    assert_eq!(
        reason(&pause(&mut h, 10_991, s)),
        RejectReason::PauseState { paused: true }
    );
    let before = h.st.clone();
    // Every bid is refused and nothing changes (but the first outcome).
    let b = h.bidder(s);
    let before_bid = h.st.clone();
    assert_eq!(
        reason(&h.bid(10_995, s, late, b, "b1", 900)),
        RejectReason::SalePaused
    );
    assert_eq!(h.st.lot(late), before_bid.lot(late));
    // The timer sees nothing due for the paused lot and nothing to wait for.
    let due = h.st.due(50_000);
    assert_eq!(
        due.commands,
        vec![AuctionCommand::CloseLot {
            sale: s,
            lot: early
        }],
        "the early lot had ended before the pause"
    );
    assert_eq!(due.next_deadline_ms, None);
    assert_eq!(
        reason(&h.apply(50_000, AuctionCommand::CloseLot { sale: s, lot: late })),
        RejectReason::SalePaused
    );
    assert!(h
        .apply(
            50_000,
            AuctionCommand::CloseLot {
                sale: s,
                lot: early
            }
        )
        .is_accepted());
    assert_eq!(h.st.lot(late), before.lot(late));
    h.take_events();
    // Resume 40 s later: the late lot had 10 ms left and has them again.
    assert!(resume(&mut h, 50_990, s).is_accepted());
    assert_eq!(end(&h, late), 51_000);
    assert_eq!(end(&h, early), 10_000, "finished lots keep their times");
    let ev = h.take_events();
    assert!(matches!(
        ev[0],
        AuctionEvent::SaleResumed {
            paused_ms: 40_000,
            ..
        }
    ));
    assert!(matches!(
        &ev[1],
        AuctionEvent::LotExtendedBy { lot, previous_end_ms: 11_000, effective_end_ms: 51_000, reason, .. }
            if *lot == late && reason == "resume"
    ));
    assert_eq!(
        reason(&resume(&mut h, 50_991, s)),
        RejectReason::PauseState { paused: false }
    );
    assert!(h.bid(50_995, s, late, b, "b2", 900).is_accepted());
    assert_eq!(
        h.st.due(51_000).commands,
        vec![AuctionCommand::CloseLot { sale: s, lot: late }]
    );
}

#[test]
fn a_pause_before_opening_moves_the_opening_too() {
    let mut h = H::new();
    let s = h.sale(
        paddle_proto::auction::SaleMode::Timed {
            opens_at_ms: 5_000,
            closes_at_ms: 9_000,
            stagger_ms: 0,
        },
        None,
        0,
    );
    let lot = h.lot(s, 100, None, None);
    pause(&mut h, 1_000, s);
    assert!(h.st.due(6_000).commands.is_empty());
    resume(&mut h, 3_000, s);
    let l = h.st.lot(lot).unwrap();
    assert_eq!(
        (l.opens_at_ms, l.effective_end_ms),
        (Some(7_000), Some(11_000))
    );
    let a = h.bidder(s);
    assert_eq!(
        reason(&h.bid(6_000, s, lot, a, "a", 100)),
        RejectReason::LotNotOpen {
            opens_at_ms: Some(7_000)
        }
    );
}

#[test]
fn a_paused_live_sale_takes_no_bids_and_no_hammer() {
    let mut h = H::new();
    let s = h.live();
    let lot = h.lot(s, 100, None, None);
    let other = h.lot(s, 100, None, None);
    let a = h.bidder(s);
    h.apply(1, AuctionCommand::OpenLot { sale: s, lot });
    h.bid(2, s, lot, a, "a", 200);
    pause(&mut h, 3, s);
    assert_eq!(
        reason(&h.floor(s, lot, None, "f", None)),
        RejectReason::SalePaused
    );
    for cmd in [
        AuctionCommand::Sell { sale: s, lot },
        AuctionCommand::Pass { sale: s, lot },
        AuctionCommand::FairWarning { sale: s, lot },
        AuctionCommand::OpenLot {
            sale: s,
            lot: other,
        },
    ] {
        assert_eq!(reason(&h.apply(4, cmd)), RejectReason::SalePaused);
    }
    // What staff fix during a pause still works.
    assert!(h
        .apply(
            5,
            AuctionCommand::WithdrawLot {
                sale: s,
                lot: other
            }
        )
        .is_accepted());
    resume(&mut h, 6, s);
    assert!(h
        .apply(7, AuctionCommand::Sell { sale: s, lot })
        .is_accepted());
}

#[test]
fn extend_gives_one_running_timed_lot_more_time() {
    let mut h = H::new();
    let s = h.timed(10_000, 0, None);
    let lot = h.lot(s, 100, None, None);
    let ext = |by_ms| AuctionCommand::ExtendLot {
        sale: s,
        lot,
        by_ms,
    };
    for bad in [0, paddle_auction::MAX_EXTEND_MS + 1] {
        assert!(matches!(
            reason(&h.apply(1, ext(bad))),
            RejectReason::InvalidInput { .. }
        ));
    }
    h.take_events();
    assert!(h.apply(2, ext(30_000)).is_accepted());
    assert_eq!(end(&h, lot), 40_000);
    assert!(matches!(
        &h.take_events()[0],
        AuctionEvent::LotExtendedBy { previous_end_ms: 10_000, effective_end_ms: 40_000, reason, .. } if reason == "operator"
    ));
    assert_eq!(reason(&h.apply(40_000, ext(1))), RejectReason::LotClosed);
    h.apply(40_000, AuctionCommand::CloseLot { sale: s, lot });
    assert!(matches!(
        reason(&h.apply(40_001, ext(1))),
        RejectReason::WrongStatus { .. }
    ));
    let live = h.live();
    let llot = h.lot(live, 100, None, None);
    assert_eq!(
        reason(&h.apply(
            1,
            AuctionCommand::ExtendLot {
                sale: live,
                lot: llot,
                by_ms: 1
            }
        )),
        RejectReason::WrongMode
    );
    assert_eq!(
        reason(&h.apply(
            1,
            AuctionCommand::ExtendLot {
                sale: live,
                lot,
                by_ms: 1
            }
        )),
        RejectReason::UnknownLot
    );
}

#[test]
fn commission_maxes_wait_for_a_live_lot_and_count_earliest_first() {
    let mut h = H::new();
    let s = h.live();
    let lot = h.lot(s, 100, None, None);
    let (a, b) = (h.bidder(s), h.bidder(s));
    let commission = |paddle, bid_id: &str, max| AuctionCommand::CommissionBid {
        sale: s,
        lot,
        paddle,
        bid_id: id(bid_id),
        max: m(max),
    };
    assert!(h.apply(1, commission(a, "c1", 1_000)).is_accepted());
    h.bid(2, s, lot, b, "b1", 1_000);
    assert_eq!(
        reason(&h.apply(3, commission(Paddle::HOUSE, "c2", 500))),
        RejectReason::InvalidInput {
            field: "paddle".into()
        }
    );
    assert_eq!(
        reason(&h.apply(3, commission(Paddle(99), "c3", 500))),
        RejectReason::NotRegistered
    );
    assert_eq!(
        reason(&h.apply(3, commission(a, "c4", 50))),
        RejectReason::TooLow { minimum: m(100) }
    );
    let st = accepted_lot(&h.apply(10, AuctionCommand::OpenLot { sale: s, lot }));
    // Equal maxes: the commission came first, so it leads at 10.00.
    assert_eq!((st.price, st.leader), (Some(m(1_000)), Some(a)));
    let kinds: Vec<BidKind> = h.st.lot(lot).unwrap().bids.iter().map(|b| b.kind).collect();
    assert_eq!(kinds, vec![BidKind::Commission, BidKind::Absentee]);
    // While open, a commission max bids like a proxy max.
    let (st, leading) = accepted_bid(&h.apply(11, commission(b, "c5", 2_000)));
    assert_eq!(
        (st.price, st.leader, leading),
        (Some(m(1_050)), Some(b), true)
    );
    // Its bid id is the clerk's: the bidder's own "c5" is another bid.
    assert!(h.bid(12, s, lot, a, "c5", 3_000).is_accepted());
}

#[test]
fn phone_bids_are_outcry_bids_with_a_line_for_staff() {
    let mut h = H::new();
    let s = h.live();
    let lot = h.lot(s, 100, None, None);
    let a = h.bidder(s);
    let phone = |bid_id: &str, amount: Option<i64>, line| AuctionCommand::PhoneBid {
        sale: s,
        lot,
        paddle: a,
        bid_id: id(bid_id),
        amount: amount.map(m),
        line,
    };
    assert_eq!(
        reason(&h.apply(1, phone("p0", None, 2))),
        RejectReason::WrongStatus {
            status: LotStatus::Scheduled
        }
    );
    h.apply(2, AuctionCommand::OpenLot { sale: s, lot });
    h.take_events();
    let (st, leading) = accepted_bid(&h.apply(3, phone("p1", None, 2)));
    assert_eq!(
        (st.price, st.leader, leading),
        (Some(m(100)), Some(a), true)
    );
    let ev = h.take_events();
    assert!(matches!(
        ev[0],
        AuctionEvent::BidAccepted {
            kind: BidKind::Phone,
            ..
        }
    ));
    assert!(matches!(
        ev.last(),
        Some(AuctionEvent::PhoneLine {
            line: 2,
            seq: 0,
            ..
        })
    ));
    assert_eq!(h.st.bid_note(lot, 0).unwrap().line, Some(2));
    // Retried: the first outcome, no second bid.
    h.apply(4, phone("p1", None, 2));
    assert_eq!(h.st.lot(lot).unwrap().bids.len(), 1);
    let timed = h.timed(10_000, 0, None);
    let tlot = h.lot(timed, 100, None, None);
    let tb = h.bidder(timed);
    assert_eq!(
        reason(&h.apply(
            5,
            AuctionCommand::PhoneBid {
                sale: timed,
                lot: tlot,
                paddle: tb,
                bid_id: id("p"),
                amount: None,
                line: 1
            }
        )),
        RejectReason::WrongMode
    );
}

#[test]
fn lots_are_edited_only_before_they_open_and_without_bids() {
    let mut h = H::new();
    let s = h.live();
    let lot = h.lot(s, 100, None, None);
    let spec = LotSpec {
        title: "Oak chest".into(),
        description: "Re-catalogued".into(),
        seller: None,
        start: m(200),
        reserve: Some(m(500)),
        buy_now: None,
    };
    let edit = |spec: &LotSpec| AuctionCommand::EditLot {
        sale: s,
        lot,
        spec: spec.clone(),
    };
    assert!(h.apply(1, edit(&spec)).is_accepted());
    assert_eq!(h.st.lot(lot).unwrap().spec, spec);
    let bad = LotSpec {
        reserve: Some(m(100)),
        ..spec.clone()
    };
    assert!(matches!(
        reason(&h.apply(2, edit(&bad))),
        RejectReason::InvalidInput { .. }
    ));
    let a = h.bidder(s);
    h.bid(3, s, lot, a, "a", 300);
    assert!(matches!(
        reason(&h.apply(4, edit(&spec))),
        RejectReason::InvalidInput { .. }
    ));
    h.apply(5, AuctionCommand::OpenLot { sale: s, lot });
    assert!(matches!(
        reason(&h.apply(6, edit(&spec))),
        RejectReason::WrongStatus { .. }
    ));
}

#[test]
fn a_retraction_keeps_its_reason() {
    let mut h = H::new();
    let s = h.timed(10_000, 0, None);
    let lot = h.lot(s, 100, None, None);
    let a = h.bidder(s);
    h.bid(1, s, lot, a, "a", 500);
    let retract = |reason: &str| AuctionCommand::RetractBidBecause {
        sale: s,
        lot,
        paddle: a,
        bid_id: id("a"),
        reason: reason.into(),
    };
    let before = h.st.clone();
    assert!(matches!(
        reason(&h.apply(2, retract(" "))),
        RejectReason::InvalidInput { .. }
    ));
    assert!(h.st == before);
    assert!(h
        .apply(3, retract("Bidder called: typed an extra zero"))
        .is_accepted());
    assert_eq!(
        h.st.bid_note(lot, 0).unwrap().retract_reason.as_deref(),
        Some("Bidder called: typed an extra zero")
    );
    assert_eq!(
        reason(&h.apply(4, retract("again"))),
        RejectReason::AlreadyRetracted
    );
}

fn desk(s: SaleId, paddle: Option<u32>, token: u64, code: u64) -> AuctionCommand {
    AuctionCommand::DeskRegister {
        sale: s,
        name: "Ada Byron".into(),
        paddle: paddle.map(Paddle),
        token_hash: hash(token),
        limit: None,
        approved: true,
        details: DeskDetails {
            phone: "+44 20 7946 0000".into(),
            email: "ada@example.org".into(),
            id_checked: true,
            deposit_note: "£500 card".into(),
        },
        code_hash: hash(code),
    }
}

fn signed(
    h: &mut H,
    t: u64,
    s: SaleId,
    lot: LotId,
    p: Paddle,
    token: u64,
    bid_id: &str,
) -> AuctionReply {
    h.apply(
        t,
        AuctionCommand::SignedBid {
            sale: s,
            lot,
            paddle: p,
            bid_id: id(bid_id),
            max: m(100 + t as i64),
            buy_now: false,
            token_tag: token_tag(&hash(token)),
        },
    )
}

#[test]
fn the_desk_registers_with_a_code_that_signs_in_once() {
    let mut h = H::new();
    let s = h.timed(1 << 40, 0, None);
    let lot = h.lot(s, 100, None, None);
    let r = h.apply(1, desk(s, Some(7), 1, 2));
    assert!(matches!(
        r.into_result(),
        Ok(Accepted::BidderRegistered {
            paddle: Paddle(7),
            ..
        })
    ));
    assert_eq!(
        h.st.desk_record(s, Paddle(7)).unwrap().details.phone,
        "+44 20 7946 0000"
    );
    // The same command again (a node re-proposing an unknown outcome)
    // answers as the first time and changes nothing.
    let once = h.st.clone();
    assert!(matches!(
        h.apply(1, desk(s, Some(7), 1, 2)).into_result(),
        Ok(Accepted::BidderRegistered {
            paddle: Paddle(7),
            ..
        })
    ));
    assert!(h.st == once);
    let before = h.st.clone();
    assert_eq!(
        reason(&h.apply(2, desk(s, Some(7), 3, 4))),
        RejectReason::Duplicate {
            what: "paddle".into()
        }
    );
    assert_eq!(
        reason(&h.apply(2, desk(s, None, 3, 2))),
        RejectReason::Duplicate {
            what: "sign-in code".into()
        }
    );
    assert!(h.st == before);
    let redeem = |code, token| AuctionCommand::RedeemSignIn {
        sale: s,
        code_hash: hash(code),
        token_hash: hash(token),
    };
    assert_eq!(
        reason(&h.apply(3, redeem(9, 10))),
        RejectReason::UnknownSignIn
    );
    let ok = AuctionReply::Accepted {
        accepted: Accepted::SignIn {
            sale: s,
            paddle: Paddle(7),
        },
    };
    assert_eq!(h.apply(4, redeem(2, 10)), ok);
    assert_eq!(h.st.bidder(s, Paddle(7)).unwrap().token_hash, hash(10));
    // A retry with the same token answers alike; another phone cannot use it.
    assert_eq!(h.apply(5, redeem(2, 10)), ok);
    assert_eq!(
        reason(&h.apply(6, redeem(2, 11))),
        RejectReason::UnknownSignIn
    );
    assert!(signed(&mut h, 7, s, lot, Paddle(7), 10, "x").is_accepted());
    // The desk's hidden token was replaced: a bid tagged with it is refused.
    assert_eq!(
        reason(&signed(&mut h, 8, s, lot, Paddle(7), 1, "y")),
        RejectReason::TokenReplaced
    );
}

#[test]
fn a_reissue_refuses_the_old_token_from_its_entry_on() {
    let mut h = H::new();
    let s = h.timed(1 << 40, 0, None);
    let lot = h.lot(s, 100, None, None);
    let p = h.bidder(s);
    let old = h.st.bidder(s, p).unwrap().token_hash.clone();
    let reissue = |token, code| AuctionCommand::ReissueSignIn {
        sale: s,
        paddle: p,
        token_hash: hash(token),
        code_hash: hash(code),
    };
    assert_eq!(
        reason(&h.apply(
            1,
            AuctionCommand::ReissueSignIn {
                sale: s,
                paddle: Paddle(55),
                token_hash: hash(20),
                code_hash: hash(21)
            }
        )),
        RejectReason::NotRegistered
    );
    assert!(h.apply(2, reissue(20, 21)).is_accepted());
    assert_ne!(h.st.bidder(s, p).unwrap().token_hash, old);
    let once = h.st.clone();
    assert!(
        h.apply(2, reissue(20, 21)).is_accepted(),
        "a retried reissue answers alike"
    );
    assert!(h.st == once);
    let tagged_old = AuctionCommand::SignedBid {
        sale: s,
        lot,
        paddle: p,
        bid_id: id("old"),
        max: m(500),
        buy_now: false,
        token_tag: token_tag(&old),
    };
    assert_eq!(reason(&h.apply(3, tagged_old)), RejectReason::TokenReplaced);
    // A second reissue retires the first code.
    assert!(h.apply(4, reissue(22, 23)).is_accepted());
    let redeem = |code, token| AuctionCommand::RedeemSignIn {
        sale: s,
        code_hash: hash(code),
        token_hash: hash(token),
    };
    assert_eq!(
        reason(&h.apply(5, redeem(21, 30))),
        RejectReason::UnknownSignIn
    );
    // Codes expire.
    let late = 4 + SIGN_IN_VALID_MS + 1;
    assert_eq!(
        reason(&h.apply(late, redeem(23, 30))),
        RejectReason::SignInExpired
    );
}

#[test]
fn bad_desk_input_changes_nothing() {
    let mut h = H::new();
    let s = h.live();
    let before = h.st.clone();
    let mut long = desk(s, None, 1, 2);
    if let AuctionCommand::DeskRegister { details, .. } = &mut long {
        details.phone = "9".repeat(41);
    }
    assert!(matches!(
        reason(&h.apply(1, long)),
        RejectReason::InvalidInput { .. }
    ));
    let mut upper = desk(s, None, 1, 2);
    if let AuctionCommand::DeskRegister { code_hash, .. } = &mut upper {
        *code_hash = code_hash.to_uppercase().replace('0', "G");
    }
    assert!(matches!(
        reason(&h.apply(2, upper)),
        RejectReason::InvalidInput { .. }
    ));
    assert_eq!(
        reason(&h.apply(3, desk(SaleId(9), None, 1, 2))),
        RejectReason::UnknownSale
    );
    assert!(h.st == before);
}

/// One step of a random timed sale with pauses.
#[derive(Debug, Clone)]
enum Step {
    Bid {
        lot: usize,
        bidder: u32,
        amount: i64,
    },
    Pause,
    Resume,
    Wait,
}

fn step() -> impl Strategy<Value = (Step, u64)> {
    let s = prop_oneof![
        4 => (0usize..3, 0u32..3, 100i64..5_000).prop_map(|(lot, bidder, amount)| Step::Bid { lot, bidder, amount }),
        1 => Just(Step::Pause),
        1 => Just(Step::Resume),
        1 => Just(Step::Wait),
    ];
    (s, 0u64..3_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the order of bids, pauses and resumes: no bid is counted
    /// while paused, no lot closes or opens by the timer while paused, and
    /// each resume gives every lot still running exactly the time it had.
    #[test]
    fn pauses_never_let_a_bid_in_and_give_time_back_exactly(steps in prop::collection::vec(step(), 1..80)) {
        let mut h = H::new();
        let s = h.timed(10_000, 700, None);
        let lots: Vec<LotId> = (0..3).map(|_| h.lot(s, 100, None, None)).collect();
        let bidders: Vec<Paddle> = (0..3).map(|_| h.bidder(s)).collect();
        let mut t = 0u64;
        let mut n = 0;
        let mut left_at_pause: Option<(u64, Vec<Option<u64>>)> = None;
        for (st, dt) in steps {
            t += dt;
            // The timer does what is due, as the leader's would.
            for cmd in h.st.due(t).commands {
                prop_assert!(h.apply(t, cmd).is_accepted());
            }
            let paused = h.st.pause(s).is_some();
            match st {
                Step::Bid { lot, bidder, amount } => {
                    n += 1;
                    let before: AuctionState = h.st.clone();
                    let r = h.bid(t, s, lots[lot], bidders[bidder as usize], &format!("b{n}"), amount);
                    if paused {
                        prop_assert_eq!(reason(&r), RejectReason::SalePaused);
                        prop_assert_eq!(h.st.lot(lots[lot]), before.lot(lots[lot]));
                    }
                }
                Step::Pause => {
                    let r = pause(&mut h, t, s);
                    prop_assert_eq!(r.is_accepted(), !paused);
                    if !paused {
                        let left = lots.iter().map(|l| {
                            let lot = h.st.lot(*l).unwrap();
                            let e = lot.effective_end_ms.unwrap();
                            (!lot.status.is_finished() && e > t).then(|| e - t)
                        }).collect();
                        left_at_pause = Some((t, left));
                    }
                }
                Step::Resume => {
                    let r = resume(&mut h, t, s);
                    prop_assert_eq!(r.is_accepted(), paused);
                    if let Some((_, left)) = left_at_pause.take().filter(|_| paused) {
                        for (l, want) in lots.iter().zip(left) {
                            let lot = h.st.lot(*l).unwrap();
                            if let Some(want) = want {
                                prop_assert!(!lot.status.is_finished(), "a lot closed while paused");
                                prop_assert_eq!(lot.effective_end_ms.unwrap() - t, want);
                            }
                        }
                    }
                }
                Step::Wait => {}
            }
        }
    }
}

#[test]
fn a_sale_closed_to_self_registration_takes_bidders_at_the_desk_only() {
    let mut h = H::new();
    let s = h.live();
    let selfreg = |token| AuctionCommand::SelfRegister {
        sale: s,
        name: "Walk-in".into(),
        token_hash: hash(token),
    };
    assert!(h.apply(1, selfreg(1)).is_accepted());
    assert!(h.st.self_registration(s));
    let close = AuctionCommand::SetSelfRegistration {
        sale: s,
        open: false,
    };
    assert!(h.apply(2, close.clone()).is_accepted());
    assert!(!h.st.self_registration(s));
    let before = h.st.clone();
    assert_eq!(
        reason(&h.apply(3, selfreg(2))),
        RejectReason::RegistrationClosed
    );
    assert!(h.st == before, "a refused registration changes nothing");
    // Closing twice is a no-op; the desk still registers.
    assert!(h.apply(4, close).is_accepted());
    assert!(h.apply(5, desk(s, None, 3, 4)).is_accepted());
    assert!(h
        .apply(
            6,
            AuctionCommand::SetSelfRegistration {
                sale: s,
                open: true
            }
        )
        .is_accepted());
    assert!(h.apply(7, selfreg(5)).is_accepted());
    let unknown = AuctionCommand::SetSelfRegistration {
        sale: SaleId(99),
        open: false,
    };
    assert_eq!(reason(&h.apply(8, unknown)), RejectReason::UnknownSale);
}
