//! The state machine over a key-value store: the stored records are exactly
//! the engine's state (plus events), a machine rebuilt from them carries on
//! identically, and the read helpers serve public views from them.

mod common;

use common::*;
use paddle_auction::{read, AuctionMachine, AuctionState, KvRead, KvWrite, MemStore};
use paddle_proto::auction::{
    AuctionCommand, AuctionEvent, AuctionReply, BidKind, DeskDetails, EventRecord, ExtendRule,
    IncrementTable, LotSpec, LotStatus, Paddle, SaleId, SaleMode, SaleSpec, SaleStatus, SoftClose,
};
use paddle_proto::Currency;
use proptest::prelude::*;

/// A log: setup of one timed and one live sale, then random bids.
fn log(bids: &[(u8, u8, u16, u8)]) -> Vec<(u64, AuctionCommand)> {
    let mut out = Vec::new();
    let spec = |mode, soft_close| SaleSpec {
        title: "Sale".into(),
        currency: Currency::EUR,
        mode,
        increments: IncrementTable::ebay_2005(),
        premium_bp: 1_500,
        soft_close,
    };
    let timed = SaleMode::Timed {
        opens_at_ms: 0,
        closes_at_ms: 5_000,
        stagger_ms: 100,
    };
    let soft = Some(SoftClose {
        window_ms: 500,
        rule: ExtendRule::ResetToWindow,
    });
    out.push((
        0,
        AuctionCommand::CreateSale {
            spec: spec(timed, soft),
        },
    ));
    out.push((
        0,
        AuctionCommand::CreateSale {
            spec: spec(SaleMode::Live, None),
        },
    ));
    for sale in [SaleId(0), SaleId(1)] {
        let lots = (0..3)
            .map(|i| LotSpec {
                title: format!("Lot {i}"),
                description: "A lot".into(),
                seller: None,
                start: m(100),
                reserve: (i == 1).then(|| m(3_000)),
                buy_now: None,
            })
            .collect();
        out.push((0, AuctionCommand::AddLots { sale, lots }));
        for p in 1..=4u32 {
            out.push((
                0,
                AuctionCommand::RegisterBidder {
                    sale,
                    name: format!("Bidder {p}"),
                    paddle: None,
                    token_hash: format!("{:032x}{:032x}", sale.0, p),
                    limit: None,
                    approved: true,
                },
            ));
        }
    }
    // The timed sale moves before it starts: its lots' times are rewritten
    // (terms and live state alike).
    out.push((
        0,
        AuctionCommand::ScheduleSale {
            sale: SaleId(0),
            opens_at_ms: 0,
            closes_at_ms: 5_000,
            stagger_ms: 150,
        },
    ));
    // The desk: a registration with a code, details, a reissue, a redeem;
    // a lot re-catalogued before it opens.
    let h = |n: u64| format!("{:016x}{:048x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15), n);
    out.push((
        0,
        AuctionCommand::DeskRegister {
            sale: SaleId(1),
            name: "At the desk".into(),
            paddle: Some(Paddle(9)),
            token_hash: h(1),
            limit: None,
            approved: true,
            details: DeskDetails {
                phone: "0123".into(),
                ..DeskDetails::default()
            },
            code_hash: h(2),
        },
    ));
    out.push((
        0,
        AuctionCommand::SetDeskDetails {
            sale: SaleId(0),
            paddle: Paddle(2),
            details: DeskDetails {
                id_checked: true,
                ..DeskDetails::default()
            },
        },
    ));
    out.push((
        0,
        AuctionCommand::ReissueSignIn {
            sale: SaleId(0),
            paddle: Paddle(3),
            token_hash: h(3),
            code_hash: h(4),
        },
    ));
    out.push((
        0,
        AuctionCommand::RedeemSignIn {
            sale: SaleId(1),
            code_hash: h(2),
            token_hash: h(5),
        },
    ));
    out.push((
        0,
        AuctionCommand::EditLot {
            sale: SaleId(1),
            lot: paddle_proto::auction::LotId(5),
            spec: LotSpec {
                title: "Lot 5, re-catalogued".into(),
                description: String::new(),
                seller: None,
                start: m(200),
                reserve: None,
                buy_now: None,
            },
        },
    ));
    // The live sale: absentee bids wait for lot 3 to open.
    let mut t = 1;
    for (n, &(lot, bidder, amount, dt)) in bids.iter().enumerate() {
        t += dt as u64 * 10;
        let (sale, lot) = if lot % 4 == 3 {
            (SaleId(1), 3)
        } else {
            (SaleId(0), (lot % 3) as u64)
        };
        out.push((
            t,
            AuctionCommand::PlaceBid {
                sale,
                lot: paddle_proto::auction::LotId(lot),
                paddle: Paddle(1 + bidder as u32 % 4),
                bid_id: id(&format!("b{}", n % 97)),
                max: m(100 + amount as i64),
                buy_now: false,
            },
        ));
        let live3 = paddle_proto::auction::LotId(3);
        let room = match n % 23 {
            5 => Some(AuctionCommand::PauseSale {
                sale: SaleId(0),
                reason: "Wi-Fi".into(),
            }),
            11 => Some(AuctionCommand::ResumeSale { sale: SaleId(0) }),
            3 => Some(AuctionCommand::PhoneBid {
                sale: SaleId(1),
                lot: live3,
                paddle: Paddle(1 + bidder as u32 % 4),
                bid_id: id(&format!("p{n}")),
                amount: None,
                line: 2,
            }),
            8 => Some(AuctionCommand::CommissionBid {
                sale: SaleId(1),
                lot: live3,
                paddle: Paddle(9),
                bid_id: id(&format!("c{n}")),
                max: m(100 + amount as i64 / 2),
            }),
            14 => Some(AuctionCommand::RetractBidBecause {
                sale,
                lot: paddle_proto::auction::LotId(lot as u64 % 3),
                paddle: Paddle(1 + bidder as u32 % 4),
                bid_id: id(&format!("b{}", (n + 96) % 97)),
                reason: "Wrong paddle".into(),
            }),
            19 => Some(AuctionCommand::SetSelfRegistration {
                sale: SaleId(1),
                open: bidder % 2 == 0,
            }),
            20 => Some(AuctionCommand::SelfRegister {
                sale: SaleId(1),
                name: format!("Walk-in {n}"),
                token_hash: format!("{:064x}", 1_000_000 + n),
            }),
            21 => Some(AuctionCommand::IntroduceLot {
                sale,
                lot: paddle_proto::auction::LotId(if lot % 4 == 3 { 3 } else { lot as u64 % 3 }),
                text: format!("Lot {lot}: a fine piece, take {n}."),
                source: if bidder % 2 == 0 { "model" } else { "template" }.into(),
            }),
            22 => Some(AuctionCommand::SetRivalProfiles {
                sale: SaleId(bidder as u64 % 2),
                on: amount % 2 == 0,
            }),
            17 => Some(AuctionCommand::ExtendLot {
                sale: SaleId(0),
                lot: paddle_proto::auction::LotId(lot as u64 % 3),
                by_ms: 250,
            }),
            _ => None,
        };
        out.extend(room.map(|c| (t, c)));
        if n % 17 == 16 {
            out.push((
                t,
                AuctionCommand::OpenLot {
                    sale: SaleId(1),
                    lot: paddle_proto::auction::LotId(3),
                },
            ));
            out.push((
                t,
                AuctionCommand::FloorBid {
                    sale: SaleId(1),
                    lot: paddle_proto::auction::LotId(3),
                    paddle: None,
                    bid_id: id(&format!("f{n}")),
                    amount: None,
                },
            ));
        }
    }
    for lot in 0..3 {
        out.push((
            t.max(6_000),
            AuctionCommand::CloseLot {
                sale: SaleId(0),
                lot: paddle_proto::auction::LotId(lot),
            },
        ));
    }
    out.extend(settlement(t.max(6_000), bids.len()));
    out
}

/// Settlement after the timed sale closed: terms, consignors (one edited),
/// lots' consignors, payments (some retried, some refused), goods released.
fn settlement(t: u64, n: usize) -> Vec<(u64, AuctionCommand)> {
    use paddle_proto::auction::{LotConsignor, LotId, PaymentMethod, SettlementTerms, TaxBasis};
    let mut out = vec![
        AuctionCommand::SetSettlementTerms {
            sale: SaleId(0),
            terms: SettlementTerms {
                tax_bp: 2_000,
                tax_on: TaxBasis::Premium,
                commission_bp: 1_000,
                house_name: "The House".into(),
                house_address: "1 Quay".into(),
            },
        },
        AuctionCommand::CreateConsignor {
            name: "Ann".into(),
            contact: String::new(),
            commission_bp: None,
        },
        AuctionCommand::CreateConsignor {
            name: "Bo".into(),
            contact: String::new(),
            commission_bp: Some(500),
        },
        AuctionCommand::EditConsignor {
            id: 2,
            name: "Bo Ltd".into(),
            contact: "bo@example.org".into(),
            commission_bp: Some(750),
        },
        AuctionCommand::SetLotConsignors {
            sale: SaleId(0),
            lots: [(0, Some(1)), (1, Some(2)), (2, Some(1))]
                .map(|(lot, consignor)| LotConsignor {
                    lot: LotId(lot),
                    consignor,
                })
                .to_vec(),
        },
        AuctionCommand::SetLotConsignors {
            sale: SaleId(0),
            lots: vec![LotConsignor {
                lot: LotId(2),
                consignor: None,
            }],
        },
    ];
    for p in 1..=4u32 {
        for _ in 0..=(n % 2) {
            out.push(AuctionCommand::RecordPayment {
                sale: SaleId(0),
                paddle: Paddle(p),
                payment_id: format!("pay-{p}"),
                amount: 1_000 * p as i64 + n as i64,
                method: PaymentMethod::Card,
                reference: "slip".into(),
                reason: String::new(),
            });
        }
    }
    for lot in 0..3 {
        out.push(AuctionCommand::MarkCollected {
            sale: SaleId(0),
            lot: LotId(lot),
            override_reason: ((lot + n as u64) % 2 == 0).then(|| "Known client".into()),
        });
    }
    out.into_iter().map(|c| (t, c)).collect()
}

/// Every event record stored under `auction.events`.
fn stored_events(store: &MemStore) -> Vec<EventRecord> {
    let mut out = Vec::new();
    for sale in [SaleId(0), SaleId(1)] {
        out.extend(read::events_after(store, sale, 0).unwrap());
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_store_is_the_state(bids in prop::collection::vec((0u8..8, 0u8..4, 0u16..8_000, 0u8..40), 0..120), split in 0usize..200) {
        let log = log(&bids);
        let mut engine = H::new();
        let mut machine = AuctionMachine::new();
        let mut store = MemStore::new();
        let mut published = Vec::new();
        let split = split.min(log.len());
        let mut second: Option<(AuctionMachine, MemStore)> = None;
        for (i, (stamp, cmd)) in log.iter().enumerate() {
            if i == split {
                // A node that starts here from the stored state.
                second = Some((AuctionMachine::load(&store).unwrap(), store.clone()));
            }
            let index = i as u64 + 1;
            engine.index = index - 1;
            let want = engine.apply(*stamp, cmd.clone());
            let got = machine.apply(&mut store, index, *stamp, cmd);
            prop_assert_eq!(&got, &want);
            if let Some((m2, s2)) = &mut second {
                prop_assert_eq!(&m2.apply(s2, index, *stamp, cmd), &want);
            }
            published.extend(machine.take_events());
        }
        // The cache is exactly what the records say.
        prop_assert!(AuctionState::load(&store).unwrap() == *machine.state());
        prop_assert!(machine.state() == &engine.st);
        // And the records are exactly the state plus the events: nothing stale.
        let mut dump = MemStore::new();
        machine.state().write_all(&mut dump);
        for e in &published {
            let key = paddle_auction::records::event_key(e.event.sale(), e.index, e.seq);
            dump.put(paddle_auction::records::tree::EVENTS, &key, paddle_proto::codec::encode(e).unwrap());
        }
        prop_assert_eq!(dump.state_hash(), store.state_hash());
        // Events are stored per sale in log order, as published.
        let mut by_sale = published.clone();
        by_sale.sort_by_key(|e| (e.event.sale(), e.index, e.seq));
        prop_assert_eq!(stored_events(&store), by_sale);
        if let Some((m2, s2)) = second {
            prop_assert_eq!(s2.state_hash(), store.state_hash());
            prop_assert!(m2.state() == machine.state());
        }
        // Invoices and statements read from the store are the engine's.
        let invoices = paddle_auction::settle::read::invoices(&store, SaleId(0)).unwrap().unwrap();
        prop_assert_eq!(&invoices, &engine.st.invoices(SaleId(0)));
        prop_assert!(paddle_auction::settle::read::statement(&store, SaleId(0), 1).unwrap().is_some());
        // The timer reads the same from the store as from the cache.
        for now in [0, 4_999, 5_000, 5_200, 1 << 40] {
            prop_assert_eq!(read::due(&store, now).unwrap(), machine.due(now));
        }
    }

    /// A node applies commands in batches and writes the records several of
    /// them touch once, at the batch's end (`apply_in_batch`, `end_batch`):
    /// after every batch the store is exactly what applying the same
    /// commands one by one stores, with the same replies and events.
    #[test]
    fn a_batch_stores_what_its_commands_store_one_by_one(bids in prop::collection::vec((0u8..8, 0u8..4, 0u16..8_000, 0u8..40), 0..120), cuts in prop::collection::vec(1usize..16, 1..20)) {
        let log = log(&bids);
        let (mut one, mut one_store) = (AuctionMachine::new(), MemStore::new());
        let (mut batched, mut batched_store) = (AuctionMachine::new(), MemStore::new());
        let mut cuts = cuts.iter().cycle();
        let mut at = 0;
        while at < log.len() {
            let end = (at + cuts.next().unwrap()).min(log.len());
            for (i, (stamp, cmd)) in log.iter().enumerate().take(end).skip(at) {
                let index = i as u64 + 1;
                let want = one.apply(&mut one_store, index, *stamp, cmd);
                prop_assert_eq!(batched.apply_in_batch(&mut batched_store, index, *stamp, cmd), want);
            }
            batched.end_batch(&mut batched_store);
            prop_assert_eq!(batched_store.state_hash(), one_store.state_hash());
            at = end;
        }
        prop_assert_eq!(batched.take_events(), one.take_events());
        prop_assert!(batched.state() == one.state());
    }
}

#[test]
fn read_helpers_show_public_state_only() {
    let log = log(&[
        (0, 0, 900, 1),
        (0, 1, 2_000, 1),
        (1, 2, 4_000, 1),
        (3, 3, 700, 1),
        (3, 0, 500, 1),
    ]);
    let mut machine = AuctionMachine::new();
    let mut store = MemStore::new();
    for (i, (stamp, cmd)) in log.iter().enumerate() {
        machine.apply(&mut store, i as u64 + 1, *stamp, cmd);
    }
    let events = machine.take_events();
    assert!(events
        .windows(2)
        .all(|w| (w[0].index, w[0].seq) < (w[1].index, w[1].seq)));

    let sales = read::list_sales(&store, None).unwrap();
    assert_eq!(sales.len(), 2);
    assert_eq!(
        read::list_sales(&store, Some(SaleStatus::Closed))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        read::get_sale(&store, SaleId(1)).unwrap().unwrap().status,
        SaleStatus::Scheduled
    );

    let lots = read::lots(&store, SaleId(0)).unwrap().unwrap();
    assert_eq!(lots.len(), 3);
    // Lot 0: 9.00+1 vs 20.00+1 maxes → 10.50 to paddle 2, sold with 15 % premium.
    let l0 = &lots[0];
    assert_eq!(
        (l0.status, l0.price, l0.leader),
        (LotStatus::Sold, Some(m(1_050)), Some(Paddle(2)))
    );
    let r0 = l0.result.unwrap();
    assert_eq!(
        (r0.hammer, r0.premium, r0.total),
        (Some(m(1_050)), Some(m(158)), Some(m(1_208)))
    );
    // Lot 1 had a reserve of 30.00 and one max of 41.00: met, price jumped to it.
    assert_eq!((lots[1].price, lots[1].reserve_met), (Some(m(3_000)), true));
    let json = serde_json::to_string(&lots).unwrap();
    assert!(
        !json.contains("\"max\"") && !json.contains("4100") && !json.contains("2100"),
        "{json}"
    );

    let history = read::bid_history(&store, paddle_proto::auction::LotId(0)).unwrap();
    assert_eq!(
        history.iter().map(|b| b.shown).collect::<Vec<_>>(),
        vec![m(100), m(1_050)]
    );
    assert!(history.iter().all(|b| b.kind == BidKind::Online));
    // Absentee bids on the live lot are not public until it opens.
    assert!(read::bid_history(&store, paddle_proto::auction::LotId(3))
        .unwrap()
        .is_empty());

    let results = read::results(&store, SaleId(0)).unwrap();
    assert_eq!(results.len(), 3);
    let stats = read::stats(&store, SaleId(0)).unwrap();
    let p2 = stats
        .bidders
        .iter()
        .find(|b| b.paddle == Paddle(2))
        .unwrap();
    assert_eq!((p2.bids, p2.wins, p2.spend), (1, 1, m(1_208)));
    assert_eq!(stats.lots[0].unique_bidders, 2);
    assert_eq!(stats.lots[0].price_rise, m(950));

    // Paddle 3's token was reissued at the desk: the old one is gone.
    assert!(
        read::bidder_by_token(&store, &format!("{:032x}{:032x}", 0, 3))
            .unwrap()
            .is_none()
    );
    let reissued = format!(
        "{:016x}{:048x}",
        3u64.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        3
    );
    let who = read::bidder_by_token(&store, &reissued).unwrap().unwrap();
    assert_eq!(
        (who.sale, who.paddle, who.approved),
        (SaleId(0), Paddle(3), true)
    );
    assert!(read::bidder_by_token(&store, "nope").unwrap().is_none());
    let first = read::bid_outcome(&store, SaleId(0), Paddle(1), false, &id("b0"))
        .unwrap()
        .unwrap();
    assert!(first.is_accepted());

    let since = read::events_after(&store, SaleId(0), 12).unwrap();
    assert!(since.iter().all(|e| e.index > 12));
    assert!(since
        .iter()
        .any(|e| matches!(e.event, AuctionEvent::Sold { .. })));
    // Events go to browsers as tagged JSON.
    let v = serde_json::to_value(&since[0]).unwrap();
    assert!(v["event"]["type"].is_string());
}

/// `events_after` seeks to the index asked for; it must give exactly what
/// filtering the whole history gives, for every index, on a store that
/// seeks (MemStore) and one that walks (the trait's default).
#[test]
fn events_after_seeks_to_exactly_the_missed_events() {
    let log = log(&[(0, 0, 900, 1), (0, 1, 2_000, 1), (0, 2, 3_000, 2)]);
    let mut a = AuctionMachine::new();
    let mut seeking = MemStore::new();
    let mut walking = Recorder::default();
    let mut b = AuctionMachine::new();
    for (i, (stamp, cmd)) in log.iter().enumerate() {
        a.apply(&mut seeking, i as u64 + 1, *stamp, cmd);
        b.apply(&mut walking, i as u64 + 1, *stamp, cmd);
    }
    let all = read::events_after(&seeking, SaleId(0), 0).unwrap();
    let last = all.last().expect("events").index;
    assert!(last > 5, "a history worth seeking in");
    for after in (0..=last + 1).chain([u64::MAX - 1, u64::MAX]) {
        let want: Vec<_> = all.iter().filter(|e| e.index > after).cloned().collect();
        let json = |v: &[_]| serde_json::to_string(v).unwrap();
        assert_eq!(
            json(&read::events_after(&seeking, SaleId(0), after).unwrap()),
            json(&want),
            "seeking, after {after}"
        );
        assert_eq!(
            json(&read::events_after(&walking, SaleId(0), after).unwrap()),
            json(&want),
            "walking, after {after}"
        );
    }
    assert!(read::events_after(&seeking, SaleId(99), 0)
        .unwrap()
        .is_empty());
}

#[test]
fn state_replaced_rebuilds_the_cache_and_drops_stale_events() {
    let log = log(&[(0, 0, 900, 1), (0, 1, 2_000, 1)]);
    let mut a = AuctionMachine::new();
    let mut store = MemStore::new();
    for (i, (stamp, cmd)) in log.iter().enumerate() {
        a.apply(&mut store, i as u64 + 1, *stamp, cmd);
    }
    let mut b = AuctionMachine::new();
    let mut other = MemStore::new();
    b.apply(&mut other, 1, 0, &log[0].1);
    b.state_replaced(&store).unwrap();
    assert!(b.take_events().is_empty());
    assert!(b.state() == a.state());
    assert_eq!(b.state().state_hash(), a.state().state_hash());
    assert!(store
        .get(paddle_auction::records::tree::META, b"counters")
        .is_some());
    let reply = b.apply(
        &mut store,
        99,
        7_000,
        &AuctionCommand::CloseLot {
            sale: SaleId(0),
            lot: paddle_proto::auction::LotId(0),
        },
    );
    assert!(matches!(reply, AuctionReply::Rejected { .. }));
}

/// A store that remembers which trees were written.
#[derive(Default)]
struct Recorder {
    inner: MemStore,
    puts: Vec<String>,
}

impl KvRead for Recorder {
    fn get(&self, tree: &str, key: &[u8]) -> Option<paddle_proto::kv::Bytes> {
        self.inner.get(tree, key)
    }
    fn scan_prefix(&self, tree: &str, prefix: &[u8], f: &mut dyn FnMut(&[u8], &[u8]) -> bool) {
        self.inner.scan_prefix(tree, prefix, f)
    }
}

impl KvWrite for Recorder {
    fn put(&mut self, tree: &str, key: &[u8], value: Vec<u8>) {
        self.puts.push(tree.to_string());
        self.inner.put(tree, key, value)
    }
    fn delete(&mut self, tree: &str, key: &[u8]) {
        self.inner.delete(tree, key)
    }
}

#[test]
fn a_bid_writes_only_what_it_changed() {
    use paddle_auction::records::tree;
    let log = log(&[]);
    let mut machine = AuctionMachine::new();
    let mut store = Recorder::default();
    for (i, (stamp, cmd)) in log.iter().take(7).enumerate() {
        machine.apply(&mut store, i as u64 + 1, *stamp, cmd);
    }
    store.puts.clear();
    let bid = AuctionCommand::PlaceBid {
        sale: SaleId(0),
        lot: paddle_proto::auction::LotId(0),
        paddle: Paddle(1),
        bid_id: id("x"),
        max: m(500),
        buy_now: false,
    };
    assert!(machine.apply(&mut store, 100, 10, &bid).is_accepted());
    let mut puts = store.puts.clone();
    puts.sort();
    // No lot terms (title, description) rewritten; one record per change
    // (the events: the timed lot opens with this first bid, then the bid).
    assert_eq!(
        puts,
        [
            tree::BID_IDS,
            tree::BIDDERS,
            tree::BIDS,
            tree::EVENTS,
            tree::EVENTS,
            tree::LOT_STATE
        ]
    );
}
