//! Settlement (issue 13): invoices, payments, goods released and consignor
//! statements, checked against an independent model of the arithmetic on
//! random live sales in JPY, EUR and BHD, plus the refusals.

mod common;

use common::*;
use paddle_auction::{settle, AuctionState, MemStore};
use paddle_proto::auction::{
    Accepted, AuctionCommand, AuctionReply, IncrementTable, InvoiceStatus, LotConsignor, LotId,
    LotSpec, LotStatus, Paddle, PaymentMethod, RejectReason, SaleId, SaleMode, SaleSpec,
    SettlementTerms, TaxBasis,
};
use paddle_proto::{Currency, Money};
use proptest::prelude::*;

/// `v × bp / 10 000` rounded half up, in 128 bits: the documented rule,
/// written independently of `Money::basis_points`.
fn half_up(v: i64, bp: u32) -> i64 {
    let n = v as i128 * bp as i128;
    let (q, r) = (n / 10_000, n % 10_000);
    (if r * 2 >= 10_000 { q + 1 } else { q }) as i64
}

fn accepted(r: AuctionReply) -> Accepted {
    r.into_result().unwrap_or_else(|e| panic!("refused: {e:?}"))
}

struct Sale {
    h: H,
    sale: SaleId,
    lots: Vec<LotId>,
    paddles: Vec<Paddle>,
}

/// A live sale in `currency` with `n_lots` lots and `n_bidders` bidders.
fn live_sale(
    currency: Currency,
    premium_bp: u32,
    increment: i64,
    n_lots: usize,
    n_bidders: usize,
) -> Sale {
    let mut h = H::new();
    let sale = match accepted(h.apply(
        0,
        AuctionCommand::CreateSale {
            spec: SaleSpec {
                title: "Settlement".into(),
                currency,
                mode: SaleMode::Live,
                increments: IncrementTable::flat(m(increment)).unwrap(),
                premium_bp,
                soft_close: None,
            },
        },
    )) {
        Accepted::SaleCreated { sale } => sale,
        other => panic!("{other:?}"),
    };
    let specs = (0..n_lots)
        .map(|i| LotSpec {
            title: format!("Lot {i}"),
            description: String::new(),
            seller: None,
            start: m(100 + 37 * i as i64),
            reserve: None,
            buy_now: None,
        })
        .collect();
    let lots = match accepted(h.apply(0, AuctionCommand::AddLots { sale, lots: specs })) {
        Accepted::LotsAdded { lots, .. } => lots,
        other => panic!("{other:?}"),
    };
    let paddles = (0..n_bidders).map(|_| h.bidder(sale)).collect();
    Sale {
        h,
        sale,
        lots,
        paddles,
    }
}

impl Sale {
    fn run(&mut self, cmd: AuctionCommand) -> AuctionReply {
        let t = self.h.clock + 1;
        self.h.apply(t, cmd)
    }

    /// Open `lot`, take `bids` floor bids at the asking price from the
    /// given bidders (by index), then sell (or pass when `sell` is false or
    /// nobody bid).
    fn auction(&mut self, lot: LotId, bids: &[usize], sell: bool) {
        let sale = self.sale;
        accepted(self.run(AuctionCommand::OpenLot { sale, lot }));
        let mut last = None;
        for (n, &b) in bids.iter().enumerate() {
            let p = self.paddles[b % self.paddles.len()];
            if last == Some(p) {
                continue;
            }
            last = Some(p);
            let r = self
                .h
                .floor(sale, lot, Some(p), &format!("f{}-{n}", lot.0), None);
            accepted(r);
        }
        match sell && last.is_some() {
            true => accepted(self.run(AuctionCommand::Sell { sale, lot })),
            false => accepted(self.run(AuctionCommand::Pass { sale, lot })),
        };
    }

    fn pay(&mut self, paddle: Paddle, id: &str, amount: i64, reason: &str) -> AuctionReply {
        self.run(AuctionCommand::RecordPayment {
            sale: self.sale,
            paddle,
            payment_id: id.into(),
            amount,
            method: PaymentMethod::Cash,
            reference: String::new(),
            reason: reason.into(),
        })
    }

    fn hash(&self) -> String {
        self.h.st.state_hash()
    }

    /// The invoices as read from a stored copy of the state (what the API
    /// serves), checked equal to the engine's own.
    fn stored_invoices(&self) -> Vec<paddle_proto::auction::Invoice> {
        let mut store = MemStore::new();
        self.h.st.write_all(&mut store);
        let stored = settle::read::invoices(&store, self.sale).unwrap().unwrap();
        assert_eq!(stored, self.h.st.invoices(self.sale));
        stored
    }
}

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![
        Just(Currency::JPY),
        Just(Currency::EUR),
        Just(Currency::BHD)
    ]
}

fn tax_on() -> impl Strategy<Value = TaxBasis> {
    prop_oneof![
        Just(TaxBasis::None),
        Just(TaxBasis::Premium),
        Just(TaxBasis::HammerAndPremium)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn invoices_statements_and_payments_add_up(
        cur in currency(),
        premium_bp in 0u32..=3_000,
        tax_bp in 0u32..=2_500,
        tax_basis in tax_on(),
        commission_bp in 0u32..=2_000,
        own_bp in prop::option::of(0u32..=2_000),
        increment in 1i64..997,
        lots in prop::collection::vec((prop::collection::vec(0usize..4, 0..6), any::<bool>(), 0usize..2), 1..7),
        payments in prop::collection::vec((0usize..4, -500i64..5_000, any::<bool>()), 0..10),
    ) {
        let mut s = live_sale(cur, premium_bp, increment, lots.len(), 4);
        let sale = s.sale;
        let terms = SettlementTerms { tax_bp, tax_on: tax_basis, commission_bp, house_name: "House".into(), house_address: "1 Quay\nPort".into() };
        accepted(s.run(AuctionCommand::SetSettlementTerms { sale, terms }));
        accepted(s.run(AuctionCommand::CreateConsignor { name: "Ann".into(), contact: String::new(), commission_bp: None }));
        accepted(s.run(AuctionCommand::CreateConsignor { name: "Bo".into(), contact: "bo@example.org".into(), commission_bp: own_bp }));
        let owners: Vec<LotConsignor> = s.lots.iter().zip(&lots).map(|(l, (_, _, c))| LotConsignor { lot: *l, consignor: Some(*c as u32 + 1) }).collect();
        accepted(s.run(AuctionCommand::SetLotConsignors { sale, lots: owners }));
        for (lot, (bids, sell, _)) in s.lots.clone().into_iter().zip(&lots) {
            s.auction(lot, bids, *sell);
        }
        for (n, (who, amount, retry)) in payments.iter().enumerate() {
            let paddle = s.paddles[*who];
            let amount = if *amount == 0 { 1 } else { *amount };
            let before = s.hash();
            let first = s.pay(paddle, &format!("pay-{n}"), amount, "refund");
            if first.reason().is_some() {
                // Refused (nothing won): nothing changed.
                prop_assert_eq!(before, s.hash());
                prop_assert_eq!(first.reason(), Some(&RejectReason::NothingWon));
                continue;
            }
            if *retry {
                // The same payment id again changes nothing and answers alike.
                let before = s.hash();
                prop_assert_eq!(s.pay(paddle, &format!("pay-{n}"), amount, "refund"), first);
                prop_assert_eq!(before, s.hash());
            }
        }

        let invoices = s.stored_invoices();
        let st = &s.h.st;
        let mut hammer_sold = 0i64;
        for lot in &s.lots {
            let l = st.lot(*lot).unwrap();
            if l.status == LotStatus::Sold {
                hammer_sold += l.result.unwrap().hammer.unwrap().minor();
            }
        }
        // Every lot with a bid and a hammer was sold.
        let want_sold = lots.iter().filter(|(bids, sell, _)| *sell && !bids.is_empty()).count();
        let sold = s.lots.iter().filter(|l| st.lot(**l).unwrap().status == LotStatus::Sold).count();
        prop_assert_eq!(sold, want_sold);
        let mut hammer_invoiced = 0i64;
        for inv in &invoices {
            let mut total = 0i64;
            for line in &inv.lines {
                // The documented rule, per lot, half up.
                let h = line.hammer.minor();
                prop_assert_eq!(line.premium.minor(), half_up(h, premium_bp));
                let base = match tax_basis {
                    TaxBasis::None => 0,
                    TaxBasis::Premium => line.premium.minor(),
                    TaxBasis::HammerAndPremium => h + line.premium.minor(),
                };
                let tax = if tax_basis == TaxBasis::None { 0 } else { half_up(base, tax_bp) };
                prop_assert_eq!(line.tax.minor(), tax);
                prop_assert_eq!(line.total.minor(), h + line.premium.minor() + tax);
                total += line.total.minor();
            }
            // Invoice total = Σ lines; balance = total − Σ payments.
            prop_assert_eq!(inv.total.minor(), total);
            prop_assert_eq!(inv.hammer.minor(), inv.lines.iter().map(|l| l.hammer.minor()).sum::<i64>());
            let paid: i64 = inv.payments.iter().map(|p| p.amount).sum();
            prop_assert_eq!(inv.paid, paid);
            prop_assert_eq!(inv.balance, total - paid);
            let want = match total - paid {
                b if b < 0 => InvoiceStatus::Credit,
                0 => InvoiceStatus::Paid,
                _ if paid > 0 => InvoiceStatus::PartPaid,
                _ => InvoiceStatus::Unpaid,
            };
            prop_assert_eq!(inv.status, want);
            // The printed figures are exact in the currency's decimals.
            let text = cur.format(inv.total);
            prop_assert_eq!(cur.parse(&text).unwrap(), inv.total);
            hammer_invoiced += inv.hammer.minor();
        }
        // Σ hammer over invoices = over sold lots = over consignor statements.
        prop_assert_eq!(hammer_invoiced, hammer_sold);
        let mut store = MemStore::new();
        st.write_all(&mut store);
        let statements = settle::read::statements(&store, sale).unwrap().unwrap();
        let stated: i64 = statements.iter().map(|s| s.hammer.minor()).sum();
        prop_assert_eq!(stated, hammer_sold);
        for stm in &statements {
            let bp = stm.consignor.commission_bp.unwrap_or(commission_bp);
            for line in &stm.lines {
                prop_assert_eq!(line.commission.minor(), half_up(line.hammer.minor(), bp));
                prop_assert_eq!(line.net.minor(), line.hammer.minor() - line.commission.minor());
            }
            prop_assert_eq!(stm.net.minor(), stm.hammer.minor() - stm.commission.minor());
        }
        let sum = settle::read::summary(&store, sale).unwrap().unwrap();
        prop_assert_eq!(sum.hammer.minor(), hammer_sold);
        prop_assert_eq!(sum.commission.minor(), statements.iter().map(|s| s.commission.minor()).sum::<i64>());
        prop_assert_eq!(sum.outstanding, invoices.iter().map(|i| i.balance.max(0)).sum::<i64>());
        // The store reloads to the same state.
        prop_assert!(AuctionState::load(&store).unwrap() == *st);
    }
}

#[test]
fn rounding_is_per_lot_half_up_in_every_currency() {
    // (currency, premium bp, tax bp on premium, hammer, premium, tax)
    let cases = [
        (Currency::JPY, 1_500, 1_000, 1_005, 151, 15), // 150.75 → 151; 15.1 → 15
        (Currency::EUR, 1_250, 2_000, 1_004, 126, 25), // 125.5 → 126; 25.2 → 25
        (Currency::BHD, 2_500, 1_000, 1_002, 251, 25), // 250.5 → 251; 25.1 → 25
    ];
    for (cur, premium_bp, tax_bp, hammer, premium, tax) in cases {
        let mut s = live_sale(cur, premium_bp, hammer, 1, 2);
        let (sale, lot) = (s.sale, s.lots[0]);
        let terms = SettlementTerms {
            tax_bp,
            tax_on: TaxBasis::Premium,
            ..SettlementTerms::default()
        };
        accepted(s.run(AuctionCommand::SetSettlementTerms { sale, terms }));
        accepted(s.run(AuctionCommand::OpenLot { sale, lot }));
        let p = s.paddles[0];
        accepted(s.h.floor(sale, lot, Some(p), "f", Some(hammer)));
        accepted(s.run(AuctionCommand::Sell { sale, lot }));
        let inv = s.h.st.invoice(sale, p).unwrap();
        assert_eq!(inv.hammer, m(hammer), "{cur}");
        assert_eq!(inv.premium, m(premium), "{cur}");
        assert_eq!(inv.tax, m(tax), "{cur}");
        assert_eq!(inv.total, m(hammer + premium + tax), "{cur}");
        assert_eq!(inv.status, InvoiceStatus::Unpaid);
        // Paying the exact total in the currency's own decimals settles it.
        let owed = cur.parse(&cur.format(inv.total)).unwrap();
        accepted(s.pay(p, "all", owed.minor(), ""));
        let inv = s.h.st.invoice(sale, p).unwrap();
        assert_eq!((inv.balance, inv.status), (0, InvoiceStatus::Paid), "{cur}");
    }
}

#[test]
fn a_reopen_and_a_retraction_after_the_hammer_update_the_invoice() {
    let mut s = live_sale(Currency::EUR, 2_000, 100, 1, 2);
    let (sale, lot) = (s.sale, s.lots[0]);
    let (a, b) = (s.paddles[0], s.paddles[1]);
    accepted(s.run(AuctionCommand::OpenLot { sale, lot }));
    accepted(s.h.floor(sale, lot, Some(a), "a1", Some(1_000)));
    accepted(s.h.floor(sale, lot, Some(b), "b1", Some(1_100)));
    accepted(s.run(AuctionCommand::Sell { sale, lot }));
    assert_eq!(s.h.st.invoice(sale, b).unwrap().total, m(1_320));
    assert!(s.h.st.invoice(sale, a).is_none());
    // A missed bid in the room: reopen, retract b's bid, sell to a.
    accepted(s.run(AuctionCommand::Reopen { sale, lot }));
    assert!(
        s.h.st.invoice(sale, b).is_none(),
        "reopened: no longer owed"
    );
    accepted(s.run(AuctionCommand::RetractBidBecause {
        sale,
        lot,
        paddle: b,
        bid_id: id("b1"),
        reason: "Wrong paddle".into(),
    }));
    accepted(s.run(AuctionCommand::Sell { sale, lot }));
    let inv = s.h.st.invoice(sale, a).unwrap();
    assert_eq!((inv.hammer, inv.total), (m(1_000), m(1_200)));
    assert!(s.h.st.invoice(sale, b).is_none());
    assert_eq!(s.stored_invoices().len(), 1);
}

#[test]
fn refusals_are_clear_and_change_nothing() {
    let mut s = live_sale(Currency::EUR, 1_000, 100, 2, 3);
    let (sale, lot, other) = (s.sale, s.lots[0], s.lots[1]);
    let (buyer, loser) = (s.paddles[0], s.paddles[1]);
    accepted(s.run(AuctionCommand::CreateConsignor {
        name: "Ann".into(),
        contact: String::new(),
        commission_bp: None,
    }));
    s.auction(lot, &[0], true);
    let total = s.h.st.invoice(sale, buyer).unwrap().total.minor();
    let cases: Vec<(AuctionCommand, &str)> = vec![
        (pay_cmd(sale, buyer, "z", 0, ""), "invalid_amount"),
        (
            pay_cmd(sale, buyer, "big", 2_000_000_000_000_000, ""),
            "invalid_amount",
        ),
        (pay_cmd(sale, buyer, "neg", -5, ""), "invalid_input"),
        (pay_cmd(sale, buyer, "bad id", 5, ""), "invalid_input"),
        (pay_cmd(sale, Paddle(77), "x", 5, ""), "not_registered"),
        (pay_cmd(sale, loser, "x", 5, ""), "nothing_won"),
        (pay_cmd(SaleId(9), buyer, "x", 5, ""), "unknown_sale"),
        (
            AuctionCommand::CreateConsignor {
                name: " ann ".into(),
                contact: String::new(),
                commission_bp: None,
            },
            "duplicate",
        ),
        (
            AuctionCommand::CreateConsignor {
                name: "Cy".into(),
                contact: String::new(),
                commission_bp: Some(10_001),
            },
            "invalid_input",
        ),
        (
            AuctionCommand::SetLotConsignors {
                sale,
                lots: vec![LotConsignor {
                    lot,
                    consignor: Some(9),
                }],
            },
            "unknown_consignor",
        ),
        (
            AuctionCommand::SetSettlementTerms {
                sale,
                terms: SettlementTerms {
                    tax_bp: 10_001,
                    ..SettlementTerms::default()
                },
            },
            "invalid_input",
        ),
        (collect_cmd(sale, lot, None), "balance_due"),
        (collect_cmd(sale, other, None), "wrong_status"),
    ];
    for (cmd, code) in cases {
        let before = s.hash();
        let r = s.run(cmd.clone());
        assert_eq!(r.reason().map(|r| r.code()), Some(code), "{cmd:?}");
        assert_eq!(before, s.hash(), "{cmd:?} changed the state");
    }
    // A refund with a reason is fine; a payment id reused with other
    // fields is a duplicate.
    accepted(s.pay(buyer, "p1", total - 1, ""));
    let before = s.hash();
    assert_eq!(reason(&s.pay(buyer, "p1", 3, "")).code(), "duplicate");
    assert_eq!(before, s.hash());
    assert_eq!(
        reason(&s.run(collect_cmd(sale, lot, None))),
        RejectReason::BalanceDue { balance: m(1) }
    );
    accepted(s.pay(buyer, "p2", 1, ""));
    accepted(s.run(collect_cmd(sale, lot, None)));
    assert!(s.h.st.invoice(sale, buyer).unwrap().lines[0].collected);
    // Collected twice: a clear refusal, nothing changed; and a collected
    // lot cannot be reopened.
    let before = s.hash();
    assert_eq!(
        reason(&s.run(collect_cmd(sale, lot, None))).code(),
        "already_collected"
    );
    assert_eq!(
        reason(&s.run(AuctionCommand::Reopen { sale, lot })).code(),
        "already_collected"
    );
    assert_eq!(before, s.hash());
    // The operator may release goods with a balance, saying why.
    s.auction(other, &[2], true);
    let third = s.paddles[2];
    assert!(s.h.st.invoice(sale, third).unwrap().balance > 0);
    accepted(s.run(collect_cmd(
        sale,
        other,
        Some("Known client, pays by transfer"),
    )));
    accepted(s.pay(third, "refund-1", -1, "Goodwill"));
    assert_eq!(s.h.st.invoice(sale, third).unwrap().payments.len(), 1);
}

fn pay_cmd(sale: SaleId, paddle: Paddle, id: &str, amount: i64, reason: &str) -> AuctionCommand {
    AuctionCommand::RecordPayment {
        sale,
        paddle,
        payment_id: id.into(),
        amount,
        method: PaymentMethod::Card,
        reference: String::new(),
        reason: reason.into(),
    }
}

fn collect_cmd(sale: SaleId, lot: LotId, why: Option<&str>) -> AuctionCommand {
    AuctionCommand::MarkCollected {
        sale,
        lot,
        override_reason: why.map(str::to_string),
    }
}

#[test]
fn sums_stay_exact_at_the_largest_amounts() {
    // The largest hammer and a 100 % premium and tax stay exact integers.
    let top = 1_000_000_000_000_000i64;
    let mut s = live_sale(Currency::BHD, 10_000, top - 1, 1, 1);
    let (sale, lot) = (s.sale, s.lots[0]);
    accepted(s.run(AuctionCommand::SetSettlementTerms {
        sale,
        terms: SettlementTerms {
            tax_bp: 10_000,
            tax_on: TaxBasis::HammerAndPremium,
            ..SettlementTerms::default()
        },
    }));
    accepted(s.run(AuctionCommand::OpenLot { sale, lot }));
    let p = s.paddles[0];
    accepted(s.h.floor(sale, lot, Some(p), "f", Some(top)));
    accepted(s.run(AuctionCommand::Sell { sale, lot }));
    let inv = s.h.st.invoice(sale, p).unwrap();
    assert_eq!(inv.total.minor(), 4 * top);
    assert!(inv.total < Money::MAX);
}
