//! A sale's analytics from a scripted sale: every figure the read function
//! derives is checked against a direct count of the stored events (and of
//! the script where events do not say it: absentee maxes counted at a live
//! lot's opening, the one retracted bid), for staff and for the public; a
//! bidder's own history against the same events.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{id, m};
use paddle_auction::analytics::{bidder_history, sale_analytics, timeline, Audience};
use paddle_auction::{read, AuctionMachine, MemStore};
use paddle_proto::auction::{
    Accepted, AuctionCommand, AuctionEvent, AuctionReply, EventRecord, ExtendRule, IncrementTable,
    LotId, LotSpec, LotStatus, Paddle, SaleId, SaleMode, SaleSpec, SoftClose,
};
use paddle_proto::{Currency, Money};

/// The machine over a store, applying one command per log index.
struct Log {
    machine: AuctionMachine,
    store: MemStore,
    index: u64,
}

impl Log {
    fn new() -> Self {
        Log {
            machine: AuctionMachine::new(),
            store: MemStore::new(),
            index: 0,
        }
    }

    fn apply(&mut self, stamp: u64, cmd: AuctionCommand) -> AuctionReply {
        self.index += 1;
        let r = self.machine.apply(&mut self.store, self.index, stamp, &cmd);
        assert!(r.is_accepted(), "{cmd:?} at {stamp}: {r:?}");
        r
    }

    fn sale(&mut self, mode: SaleMode, soft_close: Option<SoftClose>) -> SaleId {
        let spec = SaleSpec {
            title: "Sale".into(),
            currency: Currency::EUR,
            mode,
            increments: IncrementTable::ebay_2005(),
            premium_bp: 2_000,
            soft_close,
        };
        match self
            .apply(0, AuctionCommand::CreateSale { spec })
            .into_result()
        {
            Ok(Accepted::SaleCreated { sale }) => sale,
            other => panic!("{other:?}"),
        }
    }

    fn lots(
        &mut self,
        sale: SaleId,
        specs: &[(&str, i64, Option<i64>, Option<i64>)],
    ) -> Vec<LotId> {
        let lots = specs
            .iter()
            .map(|(title, start, reserve, buy_now)| LotSpec {
                title: (*title).into(),
                description: String::new(),
                seller: None,
                start: m(*start),
                reserve: reserve.map(m),
                buy_now: buy_now.map(m),
            })
            .collect();
        match self
            .apply(0, AuctionCommand::AddLots { sale, lots })
            .into_result()
        {
            Ok(Accepted::LotsAdded { lots, .. }) => lots,
            other => panic!("{other:?}"),
        }
    }

    fn bidder(&mut self, sale: SaleId, name: &str) -> Paddle {
        let n = self.index;
        match self
            .apply(
                0,
                AuctionCommand::RegisterBidder {
                    sale,
                    name: name.into(),
                    paddle: None,
                    token_hash: format!("{:064x}", n + 1),
                    limit: None,
                    approved: true,
                },
            )
            .into_result()
        {
            Ok(Accepted::BidderRegistered { paddle, .. }) => paddle,
            other => panic!("{other:?}"),
        }
    }

    fn bid(&mut self, t: u64, sale: SaleId, lot: LotId, p: Paddle, bid: &str, max: i64) {
        self.bid_now(t, sale, lot, p, bid, max, false);
    }

    #[allow(clippy::too_many_arguments)]
    fn bid_now(
        &mut self,
        t: u64,
        sale: SaleId,
        lot: LotId,
        p: Paddle,
        bid: &str,
        max: i64,
        buy_now: bool,
    ) {
        self.apply(
            t,
            AuctionCommand::PlaceBid {
                sale,
                lot,
                paddle: p,
                bid_id: id(bid),
                max: m(max),
                buy_now,
            },
        );
    }

    fn events(&self, sale: SaleId) -> Vec<EventRecord> {
        read::events_after(&self.store, sale, 0).unwrap()
    }
}

/// The scripted sales: a timed one (soft close, a retraction, an operator
/// extension, a reserve not met, a buy-now, a lot nobody bid on) and a live
/// one (a commission bid waiting before the lot opens, floor and online
/// bids, a clerk's pass). Returns (log, timed sale, live sale, the
/// retracted bid's stamp and lot).
fn script() -> (Log, SaleId, SaleId, (u64, LotId)) {
    let mut g = Log::new();
    let timed = g.sale(
        SaleMode::Timed {
            opens_at_ms: 0,
            closes_at_ms: 600_000,
            stagger_ms: 60_000,
        },
        Some(SoftClose {
            window_ms: 30_000,
            rule: ExtendRule::ResetToWindow,
        }),
    );
    let lots = g.lots(
        timed,
        &[
            ("Clock", 1_000, None, None),
            ("Vase", 1_000, Some(30_000), None),
            ("Lamp", 2_000, None, Some(50_000)),
            ("Rug", 500, None, None),
        ],
    );
    let (a, b, c, d) = (lots[0], lots[1], lots[2], lots[3]);
    let p: Vec<Paddle> = ["Ada", "Ben", "Cy", "Di"]
        .iter()
        .map(|n| g.bidder(timed, n))
        .collect();
    for l in &lots {
        g.apply(
            1_000,
            AuctionCommand::OpenLot {
                sale: timed,
                lot: *l,
            },
        );
    }
    g.bid(61_000, timed, a, p[0], "a1", 1_500);
    g.bid(125_000, timed, a, p[1], "a2", 2_500);
    g.bid(130_000, timed, a, p[0], "a3", 2_000);
    g.bid(200_000, timed, a, p[2], "a4", 4_000);
    g.bid(300_000, timed, b, p[0], "b1", 5_000);
    g.bid(320_000, timed, b, p[3], "b2", 9_000);
    g.bid_now(400_000, timed, c, p[3], "c1", 50_000, true);
    g.bid(590_000, timed, a, p[1], "a5", 6_000); // late: extends
    g.bid(610_000, timed, a, p[2], "a6", 8_000); // late: extends again
    g.apply(
        615_000,
        AuctionCommand::RetractBid {
            sale: timed,
            lot: a,
            paddle: p[0],
            bid_id: id("a3"),
        },
    );
    g.apply(
        620_000,
        AuctionCommand::ExtendLot {
            sale: timed,
            lot: a,
            by_ms: 10_000,
        },
    );
    for l in [a, b, d] {
        g.apply(
            900_000,
            AuctionCommand::CloseLot {
                sale: timed,
                lot: l,
            },
        );
    }

    let live = g.sale(SaleMode::Live, None);
    let lots = g.lots(
        live,
        &[("Chair", 1_000, None, None), ("Desk", 1_000, None, None)],
    );
    let (l1, l2) = (lots[0], lots[1]);
    let q1 = g.bidder(live, "Eve");
    let q2 = g.bidder(live, "Fay");
    g.apply(
        650_000,
        AuctionCommand::CommissionBid {
            sale: live,
            lot: l1,
            paddle: q1,
            bid_id: id("q1"),
            max: m(1_800),
        },
    );
    g.apply(
        700_000,
        AuctionCommand::OpenLot {
            sale: live,
            lot: l1,
        },
    );
    g.apply(
        705_000,
        AuctionCommand::FloorBid {
            sale: live,
            lot: l1,
            paddle: None,
            bid_id: id("f1"),
            amount: Some(m(2_000)),
        },
    );
    g.bid(710_000, live, l1, q2, "q2", 3_000);
    g.apply(
        715_000,
        AuctionCommand::FairWarning {
            sale: live,
            lot: l1,
        },
    );
    g.apply(
        720_000,
        AuctionCommand::Sell {
            sale: live,
            lot: l1,
        },
    );
    g.apply(
        730_000,
        AuctionCommand::OpenLot {
            sale: live,
            lot: l2,
        },
    );
    g.apply(
        740_000,
        AuctionCommand::Pass {
            sale: live,
            lot: l2,
        },
    );
    (g, timed, live, (130_000, a))
}

/// What the events say, counted directly.
#[derive(Default, Debug)]
struct Counted {
    bids: BTreeMap<LotId, u32>,
    paddles: BTreeMap<LotId, BTreeSet<Paddle>>,
    bid_stamps: Vec<u64>,
    first_bid: BTreeMap<LotId, u64>,
    opened: BTreeMap<LotId, u64>,
    extended: BTreeMap<LotId, u32>,
    operator_extensions: u32,
    sold: BTreeMap<LotId, (Paddle, Money, Money, Money)>,
    passed: BTreeSet<LotId>,
    outbid: BTreeMap<Paddle, u32>,
    by_paddle: BTreeMap<Paddle, u32>,
    retracted: u32,
}

fn count(events: &[EventRecord]) -> Counted {
    let mut c = Counted::default();
    for r in events {
        match &r.event {
            AuctionEvent::BidAccepted { lot, paddle, .. } => {
                *c.bids.entry(*lot).or_default() += 1;
                c.paddles.entry(*lot).or_default().insert(*paddle);
                *c.by_paddle.entry(*paddle).or_default() += 1;
                c.bid_stamps.push(r.stamp_ms);
                c.first_bid.entry(*lot).or_insert(r.stamp_ms);
            }
            AuctionEvent::Retracted { lot, paddle, .. } => {
                *c.bids.get_mut(lot).unwrap() -= 1;
                *c.by_paddle.get_mut(paddle).unwrap() -= 1;
                c.retracted += 1;
            }
            AuctionEvent::LotOpened { lot, .. } => {
                c.opened.entry(*lot).or_insert(r.stamp_ms);
            }
            AuctionEvent::LotExtended { lot, .. } => *c.extended.entry(*lot).or_default() += 1,
            AuctionEvent::LotExtendedBy { reason, .. } if reason == "operator" => {
                c.operator_extensions += 1
            }
            AuctionEvent::Sold {
                lot,
                paddle,
                hammer,
                premium,
                total,
                ..
            } => {
                c.sold.insert(*lot, (*paddle, *hammer, *premium, *total));
            }
            AuctionEvent::Passed { lot, .. } => {
                c.passed.insert(*lot);
            }
            AuctionEvent::Outbid { paddle, .. } => *c.outbid.entry(*paddle).or_default() += 1,
            _ => {}
        }
    }
    c
}

fn sum(v: impl Iterator<Item = Money>) -> Money {
    v.fold(Money::ZERO, |a, b| a.saturating_add(b))
}

#[test]
fn timed_sale_figures_match_a_direct_count_of_its_events() {
    let (g, sale, _, (retracted_at, retracted_lot)) = script();
    let ev = g.events(sale);
    let c = count(&ev);
    let an = sale_analytics(&g.store, sale, Audience::Staff)
        .unwrap()
        .unwrap();
    let s = &an.summary;

    // The lot counts and the money.
    assert_eq!(
        (s.lots, s.sold, s.passed, s.open, s.scheduled, s.withdrawn),
        (4, 2, 2, 0, 0, 0)
    );
    assert_eq!(s.sold as usize, c.sold.len());
    assert_eq!(s.passed as usize, c.passed.len());
    assert_eq!(s.sell_through_bp, Some(5_000));
    assert_eq!(s.hammer_total, sum(c.sold.values().map(|x| x.1)));
    assert_eq!(s.premium_total, sum(c.sold.values().map(|x| x.2)));
    assert_eq!(s.total, sum(c.sold.values().map(|x| x.3)));
    assert!(!s.total.is_zero());

    // Bids: accepted minus retracted, over time too.
    let bids: u32 = c.bids.values().sum();
    assert_eq!(s.bids, bids);
    assert_eq!(s.bids, 8);
    assert_eq!(s.retracted, c.retracted);
    let mut stamps = c.bid_stamps.clone();
    let gone = stamps.iter().position(|t| *t == retracted_at).unwrap();
    stamps.remove(gone);
    assert_eq!(an.bids_over_time, timeline(&stamps));
    assert_eq!(an.bids_over_time.bucket_ms, 60_000);
    assert_eq!(
        an.bids_over_time
            .buckets
            .iter()
            .map(|b| b.bids)
            .sum::<u32>(),
        s.bids
    );
    let active: BTreeSet<Paddle> = c.paddles.values().flatten().copied().collect();
    assert_eq!(s.active_bidders as usize, active.len());
    assert_eq!(s.registered, 4);
    assert_eq!(s.extensions, c.extended.values().sum::<u32>());
    assert_eq!(s.extensions, 2);
    assert_eq!(s.operator_extensions, c.operator_extensions);
    assert_eq!(s.operator_extensions, 1);

    // Per lot.
    assert_eq!(an.lots.len(), 4);
    for l in &an.lots {
        assert_eq!(
            l.bids,
            c.bids.get(&l.lot).copied().unwrap_or(0),
            "lot {}",
            l.lot
        );
        assert_eq!(
            l.unique_bidders as usize,
            c.paddles.get(&l.lot).map_or(0, |p| p.len()),
            "lot {}",
            l.lot
        );
        assert_eq!(l.opened_at_ms, c.opened.get(&l.lot).copied());
        assert_eq!(
            l.time_to_first_bid_ms,
            c.first_bid.get(&l.lot).map(|f| f - c.opened[&l.lot])
        );
        assert_eq!(l.extensions, c.extended.get(&l.lot).copied().unwrap_or(0));
        let sold = c.sold.get(&l.lot);
        assert_eq!(l.winner, sold.map(|x| x.0));
        assert_eq!(l.hammer, sold.map(|x| x.1));
        if let Some(h) = l.hammer {
            let rise = (h.minor() - l.start.minor()) * 10_000 / l.start.minor();
            assert_eq!(l.rise_bp, Some(rise));
        }
    }
    let clock = &an.lots[0];
    assert_eq!(clock.lot, retracted_lot);
    assert_eq!((clock.bids, clock.unique_bidders), (5, 3));
    assert_eq!(clock.time_to_first_bid_ms, Some(60_000));
    assert_eq!(clock.status, LotStatus::Sold);
    // Cy won at 8 000; Ben's 6 000 was the best other maximum.
    assert_eq!(clock.underbidder, Some(Paddle(2)));
    assert_eq!(clock.winner, Some(Paddle(3)));
    assert_eq!(an.lots[2].underbidder, None, "a buy-now has no underbidder");
    assert_eq!(
        an.lots[3].time_to_first_bid_ms, None,
        "nobody bid on the rug"
    );
    assert_eq!(an.lots[3].rise_bp, None);

    // Per bidder, and the leaderboards.
    assert_eq!(an.bidders.len(), 4);
    for b in &an.bidders {
        assert_eq!(b.bids, c.by_paddle.get(&b.paddle).copied().unwrap_or(0));
        assert_eq!(b.outbid, c.outbid.get(&b.paddle).copied().unwrap_or(0));
        let won: Vec<_> = c.sold.values().filter(|x| x.0 == b.paddle).collect();
        assert_eq!(b.wins as usize, won.len());
        assert_eq!(b.spend, sum(won.iter().map(|x| x.3)));
        assert!(b.name.is_some());
    }
    assert_eq!(an.bidders[0].name.as_deref(), Some("Ada"));
    let spend: Vec<Paddle> = an.top_by_spend.iter().map(|r| r.paddle).collect();
    let mut want: Vec<(Money, Paddle)> = an
        .bidders
        .iter()
        .filter(|b| !b.spend.is_zero())
        .map(|b| (b.spend, b.paddle))
        .collect();
    want.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    assert_eq!(spend, want.iter().map(|x| x.1).collect::<Vec<_>>());
    assert_eq!(an.top_by_spend[0].rank, 1);
    let by_bids: Vec<u32> = an.top_by_bids.iter().map(|r| r.bids).collect();
    assert!(by_bids.windows(2).all(|w| w[0] >= w[1]), "{by_bids:?}");
    assert_eq!(by_bids.iter().sum::<u32>(), s.bids);

    // The public see the same figures without names or the bidder table.
    let public = sale_analytics(&g.store, sale, Audience::Public)
        .unwrap()
        .unwrap();
    assert!(public.bidders.is_empty());
    assert!(public
        .top_by_spend
        .iter()
        .chain(&public.top_by_bids)
        .all(|r| r.name.is_none()));
    assert_eq!(public.summary, an.summary);
    assert_eq!(public.lots, an.lots);
    assert_eq!(public.bids_over_time, an.bids_over_time);
    assert_eq!(
        sale_analytics(&g.store, SaleId(99), Audience::Public).unwrap(),
        None
    );
}

#[test]
fn live_sale_counts_absentee_bids_at_the_opening() {
    let (g, _, sale, _) = script();
    let ev = g.events(sale);
    let c = count(&ev);
    let an = sale_analytics(&g.store, sale, Audience::Staff)
        .unwrap()
        .unwrap();
    let chair = &an.lots[0];
    // The commission bid waited (no `bid_accepted` for it) and counts from
    // the opening on: one more than the events announce.
    assert_eq!(chair.bids, c.bids[&chair.lot] + 1);
    assert_eq!(chair.unique_bidders, 3, "Eve (commission), the room, Fay");
    assert_eq!(chair.time_to_first_bid_ms, Some(0));
    assert_eq!(chair.winner, c.sold.get(&chair.lot).map(|x| x.0));
    assert_eq!(an.summary.sold, 1);
    assert_eq!(an.summary.passed, 1);
    assert_eq!(an.summary.sell_through_bp, Some(5_000));
    assert_eq!(an.summary.hammer_total, sum(c.sold.values().map(|x| x.1)));
    // The house paddle has no name; every bidder's outbids are the events'.
    let house = an.bidders.iter().find(|b| b.paddle == Paddle(0)).unwrap();
    assert_eq!((house.name.as_deref(), house.bids), (None, 1));
    for b in &an.bidders {
        assert_eq!(b.outbid, c.outbid.get(&b.paddle).copied().unwrap_or(0));
    }
}

#[test]
fn a_bidders_history_is_their_own_bids_wins_and_spend() {
    let (g, sale, _, _) = script();
    let c = count(&g.events(sale));
    // Di: a losing bid on the vase, the lamp bought now.
    let di = Paddle(4);
    let h = bidder_history(&g.store, sale, di).unwrap().unwrap();
    assert_eq!(h.bids.len(), 2);
    assert_eq!(h.counted_bids, c.by_paddle[&di]);
    assert_eq!(h.wins.len(), 1);
    assert!(h.wins[0].buy_now);
    let spend = sum(c.sold.values().filter(|x| x.0 == di).map(|x| x.3));
    assert_eq!(h.spend, spend);
    assert_eq!(h.wins[0].total, spend);
    assert_eq!(h.lots.len(), 2);
    assert!(
        h.lots.iter().all(|l| l.leading),
        "Di led the vase (passed) and won the lamp"
    );
    // Ada: one of her two bids on the clock was retracted.
    let ada = bidder_history(&g.store, sale, Paddle(1)).unwrap().unwrap();
    assert_eq!(ada.bids.iter().filter(|b| b.retracted).count(), 1);
    assert_eq!(ada.counted_bids, c.by_paddle[&Paddle(1)]);
    assert!(ada.wins.is_empty());
    assert_eq!(ada.spend, Money::ZERO);
    let clock = ada.lots.iter().find(|l| l.title == "Clock").unwrap();
    assert_eq!(
        (clock.bids, clock.max, clock.leading),
        (1, Some(m(1_500)), false)
    );
    // A paddle that never bid has an empty history.
    let none = bidder_history(&g.store, sale, Paddle(77)).unwrap().unwrap();
    assert!(none.bids.is_empty() && none.wins.is_empty());
}
