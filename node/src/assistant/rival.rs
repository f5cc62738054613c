//! Rival profiles: for a bidder who was outbid, a playful word about the
//! paddle now leading, computed from the sale's public history only (the
//! events every screen receives: bids, prices, hammers). Never a name,
//! never a maximum, never anything staff alone see; phrased kindly.

use paddle_proto::auction::{AuctionEvent, EventRecord, LotId, Paddle};
use paddle_proto::{Currency, Money};
use serde::Serialize;

/// One day in ms (for "bids today", by cluster time, UTC days).
const DAY_MS: u64 = 86_400_000;

/// When a paddle tends to come in on a lot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Among the first bids on a lot.
    Early,
    /// Throughout.
    Steady,
    /// Among the last.
    Late,
    /// Too few bids to say.
    Unknown,
}

/// A paddle's style in a sale, from public events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RivalProfile {
    /// The paddle described (never a name).
    pub paddle: u32,
    pub timing: Timing,
    /// Median rise of the price their bids caused, minor units.
    pub typical_raise: Option<Money>,
    /// Their counted bids in this sale since midnight UTC (cluster time).
    pub bids_today: u32,
    /// Their counted bids in this sale.
    pub bids_in_sale: u32,
    /// Lots of this sale they won.
    pub lots_won: u32,
    /// The profile in one friendly sentence.
    pub line: String,
}

/// The profile of `paddle` from `events` (one sale's, in log order) at
/// cluster time `now_ms`; `seed` varies the wording (e.g. the lot id).
pub fn profile(
    events: &[EventRecord],
    paddle: Paddle,
    now_ms: u64,
    currency: Currency,
    seed: u64,
) -> RivalProfile {
    let today = now_ms - now_ms % DAY_MS;
    // Per lot: the paddles of its bids in order, and its last price.
    let mut lots: Vec<(LotId, Vec<Paddle>, Option<Money>)> = Vec::new();
    let (mut bids, mut bids_today, mut won) = (0u32, 0u32, 0u32);
    let mut raises: Vec<i64> = Vec::new();
    for rec in events {
        match &rec.event {
            AuctionEvent::LotOpened { lot, price, .. } if !lots.iter().any(|(l, ..)| l == lot) => {
                lots.push((*lot, Vec::new(), *price));
            }
            AuctionEvent::BidAccepted {
                lot,
                paddle: p,
                price,
                ..
            } => {
                let i = match lots.iter().position(|(l, ..)| l == lot) {
                    Some(i) => i,
                    None => {
                        lots.push((*lot, Vec::new(), None));
                        lots.len() - 1
                    }
                };
                let entry = &mut lots[i];
                if *p == paddle {
                    bids += 1;
                    if rec.stamp_ms >= today {
                        bids_today += 1;
                    }
                    if let Some(before) = entry.2 {
                        if *price > before {
                            raises.push(price.minor() - before.minor());
                        }
                    }
                }
                entry.1.push(*p);
                entry.2 = Some(*price);
            }
            AuctionEvent::Sold { paddle: p, .. } if *p == paddle => won += 1,
            _ => {}
        }
    }
    // Timing: where their first bid falls in each lot's bidding, 0–100.
    let places: Vec<usize> = lots
        .iter()
        .filter(|(_, seq, _)| seq.len() >= 2)
        .filter_map(|(_, seq, _)| {
            let first = seq.iter().position(|p| *p == paddle)?;
            Some(first * 100 / (seq.len() - 1))
        })
        .collect();
    let timing = match places.len() {
        0 => Timing::Unknown,
        n => match places.iter().sum::<usize>() / n {
            0..=33 => Timing::Early,
            34..=66 => Timing::Steady,
            _ => Timing::Late,
        },
    };
    raises.sort_unstable();
    let typical_raise = raises.get(raises.len() / 2).map(|m| Money::clamped(*m));
    let line = line(
        paddle,
        timing,
        typical_raise,
        bids_today,
        won,
        currency,
        seed,
    );
    RivalProfile {
        paddle: paddle.0,
        timing,
        typical_raise,
        bids_today,
        bids_in_sale: bids,
        lots_won: won,
        line,
    }
}

/// One friendly sentence; the wording picked by `seed`, the facts fixed.
fn line(
    paddle: Paddle,
    timing: Timing,
    raise: Option<Money>,
    bids_today: u32,
    won: u32,
    currency: Currency,
    seed: u64,
) -> String {
    let p = paddle.0;
    let pick = |options: &[&'static str]| {
        options[(mix(seed ^ u64::from(p)) % options.len() as u64) as usize]
    };
    let style = match timing {
        Timing::Early => pick(&[
            "likes to be first to the table",
            "opens the bidding with confidence",
            "gets in early and settles in",
        ]),
        Timing::Late => pick(&[
            "waits in the wings and pounces late",
            "saves their moves for the final moments",
            "is a patient one, bidding late",
        ]),
        Timing::Steady => pick(&[
            "keeps a steady rhythm",
            "stays in the race from start to finish",
            "bids at an even pace",
        ]),
        Timing::Unknown => pick(&["is a bit of a mystery so far", "is new to the room today"]),
    };
    let raise = raise.map_or(String::new(), |r| {
        format!(", usually raising by {}", currency.format(r))
    });
    let tally = match (bids_today, won) {
        (0, 0) => String::new(),
        (b, 0) => format!(" {b} bid{} today, no wins yet.", plural(b)),
        (b, w) => format!(" {b} bid{} today and {w} lot{} won.", plural(b), plural(w)),
    };
    let nudge = pick(&[
        "Your move!",
        "Fancy a counter?",
        "The lot is still in play.",
    ]);
    format!("Paddle {p} {style}{raise}.{tally} {nudge}")
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A fixed 64-bit mix (SplitMix64's finaliser): spreads small ids over
/// the template choices the same way on every node and every run.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use paddle_proto::auction::{BidKind, LotStatus, SaleId};

    fn rec(i: u64, stamp_ms: u64, event: AuctionEvent) -> EventRecord {
        EventRecord {
            index: i,
            stamp_ms,
            seq: 0,
            event,
        }
    }

    fn bid(i: u64, stamp: u64, lot: u64, paddle: u32, price: i64) -> EventRecord {
        let m = Money::from_minor(price).unwrap();
        rec(
            i,
            stamp,
            AuctionEvent::BidAccepted {
                sale: SaleId(0),
                lot: LotId(lot),
                paddle: Paddle(paddle),
                kind: BidKind::Online,
                shown: m,
                price: m,
                leader: Paddle(paddle),
                reserve_met: true,
                minimum_next: m,
                effective_end_ms: None,
                status: LotStatus::Open,
            },
        )
    }

    #[test]
    fn a_late_bidder_with_a_win_is_described_by_paddle_only() {
        let day = 5 * DAY_MS;
        let mut ev = Vec::new();
        // Lot 1: paddles 2, 3, 2, 7 (7 last); lot 2: 3, 2, 7 (7 last).
        for (i, (lot, p, price)) in [
            (1, 2, 100),
            (1, 3, 200),
            (1, 2, 300),
            (1, 7, 400),
            (2, 3, 100),
            (2, 2, 150),
            (2, 7, 250),
        ]
        .into_iter()
        .enumerate()
        {
            // The first bid was yesterday.
            let stamp = if i == 0 { day - 10 } else { day + i as u64 };
            ev.push(bid(i as u64 + 1, stamp, lot, p, price));
        }
        ev.push(rec(
            20,
            day + 30,
            AuctionEvent::Sold {
                sale: SaleId(0),
                lot: LotId(1),
                paddle: Paddle(7),
                hammer: Money::from_minor(400).unwrap(),
                premium: Money::ZERO,
                total: Money::from_minor(400).unwrap(),
                buy_now: false,
            },
        ));
        let p = profile(&ev, Paddle(7), day + 100, Currency::USD, 2);
        assert_eq!(p.timing, Timing::Late);
        assert_eq!((p.bids_in_sale, p.bids_today, p.lots_won), (2, 2, 1));
        assert_eq!(p.typical_raise.map(Money::minor), Some(100));
        assert!(p.line.starts_with("Paddle 7 "), "{}", p.line);
        assert!(p.line.contains("2 bids today and 1 lot won"), "{}", p.line);
        assert!(p.line.contains("1.00"), "{}", p.line);
        let early = profile(&ev, Paddle(3), day + 100, Currency::USD, 2);
        assert_eq!(early.timing, Timing::Early);
        assert_eq!(early.bids_today, 2);
        // Paddle 2's first bid was yesterday.
        let two = profile(&ev, Paddle(2), day + 100, Currency::USD, 2);
        assert_eq!((two.bids_in_sale, two.bids_today), (3, 2));
        // The same history gives the same words.
        assert_eq!(p, profile(&ev, Paddle(7), day + 100, Currency::USD, 2));
    }

    #[test]
    fn no_wording_is_unkind() {
        let unkind = [
            "stupid",
            "idiot",
            "loser",
            "cheap",
            "greedy",
            "desperate",
            "fool",
        ];
        for seed in 0..50 {
            for timing in [Timing::Early, Timing::Late, Timing::Steady, Timing::Unknown] {
                let l = line(Paddle(9), timing, None, 3, 0, Currency::USD, seed).to_lowercase();
                assert!(!unkind.iter().any(|w| l.contains(w)), "{l}");
            }
        }
    }
}
