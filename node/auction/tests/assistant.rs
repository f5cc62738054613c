//! The assistant's commands: a lot's introduction (once per lot, only
//! after it opened, bad words refused) and the rival-profile switch.

mod common;

use common::*;
use paddle_auction::MAX_INTRO_CHARS;
use paddle_proto::auction::{
    Accepted, AuctionCommand, AuctionEvent, AuctionReply, RejectReason, SaleId,
};

fn intro(sale: SaleId, lot: paddle_proto::auction::LotId, text: &str) -> AuctionCommand {
    AuctionCommand::IntroduceLot {
        sale,
        lot,
        text: text.into(),
        source: "template".into(),
    }
}

#[test]
fn a_lot_is_introduced_once_after_it_opens() {
    let mut h = H::new();
    let s = h.live();
    let lot = h.lot(s, 100, None, None);
    // Not open yet: refused, nothing changes.
    let before = h.st.clone();
    assert!(matches!(
        reason(&h.apply(1, intro(s, lot, "Too soon"))),
        RejectReason::WrongStatus { .. }
    ));
    assert!(h.st == before);
    assert!(h
        .apply(2, AuctionCommand::OpenLot { sale: s, lot })
        .is_accepted());
    h.take_events();
    let first = h.apply(3, intro(s, lot, "  Lot one: a walnut clock.  "));
    assert!(matches!(
        first,
        AuctionReply::Accepted {
            accepted: Accepted::LotIntroduced { fresh: true, .. }
        }
    ));
    let ev = h.take_events();
    assert_eq!(
        ev,
        vec![AuctionEvent::LotIntroduced {
            sale: s,
            lot,
            text: "Lot one: a walnut clock.".into(),
            source: "template".into(),
        }]
    );
    // A second proposal (a new leader, a retry) changes nothing, says nothing.
    let before = h.st.clone();
    let again = h.apply(4, intro(s, lot, "Other words"));
    assert!(matches!(
        again,
        AuctionReply::Accepted {
            accepted: Accepted::LotIntroduced { fresh: false, .. }
        }
    ));
    assert!(h.take_events().is_empty());
    assert!(h.st == before);
    assert_eq!(h.st.intro(lot).unwrap().text, "Lot one: a walnut clock.");
}

#[test]
fn bad_introductions_are_refused_and_change_nothing() {
    let mut h = H::new();
    let s = h.live();
    let lot = h.lot(s, 100, None, None);
    assert!(h
        .apply(1, AuctionCommand::OpenLot { sale: s, lot })
        .is_accepted());
    let other = h.live();
    let before = h.st.clone();
    let long = "x".repeat(MAX_INTRO_CHARS + 1);
    for (cmd, want) in [
        (intro(s, lot, "   "), "text"),
        (intro(s, lot, &long), "text"),
        (intro(s, lot, "bell\u{7}"), "text"),
        (
            AuctionCommand::IntroduceLot {
                sale: s,
                lot,
                text: "Fine".into(),
                source: "oracle".into(),
            },
            "source",
        ),
    ] {
        assert_eq!(
            reason(&h.apply(2, cmd)),
            RejectReason::InvalidInput { field: want.into() }
        );
    }
    assert_eq!(
        reason(&h.apply(2, intro(other, lot, "Fine"))),
        RejectReason::UnknownLot
    );
    assert_eq!(
        reason(&h.apply(2, intro(SaleId(99), lot, "Fine"))),
        RejectReason::UnknownSale
    );
    assert!(h.st == before, "refusals change nothing");
}

#[test]
fn staff_turn_rival_profiles_off_and_on() {
    let mut h = H::new();
    let s = h.live();
    assert!(h.st.rival_profiles(s), "on by default");
    let off = AuctionCommand::SetRivalProfiles { sale: s, on: false };
    assert!(h.apply(1, off.clone()).is_accepted());
    assert!(!h.st.rival_profiles(s));
    assert_eq!(
        h.take_events().last(),
        Some(&AuctionEvent::RivalProfilesSet { sale: s, on: false })
    );
    assert!(h.apply(2, off).is_accepted());
    assert!(h.take_events().is_empty(), "no change, no event");
    assert!(h
        .apply(3, AuctionCommand::SetRivalProfiles { sale: s, on: true })
        .is_accepted());
    assert!(h.st.rival_profiles(s));
    assert_eq!(
        reason(&h.apply(
            4,
            AuctionCommand::SetRivalProfiles {
                sale: SaleId(42),
                on: false
            }
        )),
        RejectReason::UnknownSale
    );
}
