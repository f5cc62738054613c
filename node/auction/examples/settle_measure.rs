//! What settlement costs on a big live sale: every lot sold to one of the
//! buyers, then one payment per buyer applied, every invoice, one invoice
//! and the summary read from a stored copy. A measurement, not a test:
//! `cargo run --release -p paddle-auction --example settle_measure -- LOTS BUYERS`
//! (figures in BENCHMARKS.md).

use paddle_auction::{settle, AuctionState, Effects, MemStore};
use paddle_proto::auction::*;
use paddle_proto::{Currency, Money};
use std::time::Instant;

fn main() {
    let n_lots: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let n_buyers: u32 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let mut st = AuctionState::new();
    let mut fx = Effects::new();
    let mut idx = 0u64;
    let mut ap = |st: &mut AuctionState, c: AuctionCommand| {
        idx += 1;
        fx.clear();
        let r = st.apply(idx, idx, &c, &mut fx);
        assert!(r.reason().is_none(), "{r:?}");
    };
    ap(
        &mut st,
        AuctionCommand::CreateSale {
            spec: SaleSpec {
                title: "S".into(),
                currency: Currency::EUR,
                mode: SaleMode::Live,
                increments: IncrementTable::flat(Money::from_minor(100).unwrap()).unwrap(),
                premium_bp: 2500,
                soft_close: None,
            },
        },
    );
    let sale = SaleId(0);
    for chunk in 0..(n_lots / 1000) {
        let lots = (0..1000)
            .map(|i| LotSpec {
                title: format!("Lot {chunk}-{i}"),
                description: String::new(),
                seller: None,
                start: Money::from_minor(1000).unwrap(),
                reserve: None,
                buy_now: None,
            })
            .collect();
        ap(&mut st, AuctionCommand::AddLots { sale, lots });
    }
    for p in 1..=n_buyers {
        ap(
            &mut st,
            AuctionCommand::RegisterBidder {
                sale,
                name: format!("B{p}"),
                paddle: Some(Paddle(p)),
                token_hash: format!("{:064x}", p),
                limit: None,
                approved: true,
            },
        );
    }
    for l in 0..n_lots as u64 {
        ap(
            &mut st,
            AuctionCommand::OpenLot {
                sale,
                lot: LotId(l),
            },
        );
        ap(
            &mut st,
            AuctionCommand::FloorBid {
                sale,
                lot: LotId(l),
                paddle: Some(Paddle(1 + (l as u32 % n_buyers))),
                bid_id: BidId::new(format!("f{l}")).unwrap(),
                amount: None,
            },
        );
        ap(
            &mut st,
            AuctionCommand::Sell {
                sale,
                lot: LotId(l),
            },
        );
    }
    let t = Instant::now();
    for p in 1..=n_buyers {
        ap(
            &mut st,
            AuctionCommand::RecordPayment {
                sale,
                paddle: Paddle(p),
                payment_id: format!("p{p}"),
                amount: 500,
                method: PaymentMethod::Cash,
                reference: String::new(),
                reason: String::new(),
            },
        );
    }
    let pay = t.elapsed();
    let mut store = MemStore::new();
    st.write_all(&mut store);
    let t = Instant::now();
    let inv = settle::read::invoices(&store, sale).unwrap().unwrap();
    let read_all = t.elapsed();
    let t = Instant::now();
    let one = settle::read::invoice(&store, sale, Paddle(7))
        .unwrap()
        .unwrap();
    let read_one = t.elapsed();
    let t = Instant::now();
    let _ = settle::read::summary(&store, sale).unwrap().unwrap();
    let summ = t.elapsed();
    println!("lots {n_lots} buyers {n_buyers}: {} payments applied in {:?} ({:?} each); all {} invoices read from the store in {:?}; one invoice ({} lines) in {:?}; summary in {:?}",
        n_buyers, pay, pay / n_buyers, inv.len(), read_all, one.lines.len(), read_one, summ);
}
