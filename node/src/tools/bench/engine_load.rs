//! How fast the rules are: engine applies per second, in memory, on one
//! thread, over a realistic mix.
//!
//! The mix: several timed sales with soft close, many lots of which a few
//! are hot (half the bids go to a tenth of the lots), many bidders, proxy
//! wars (maxes climbing a few increments at a time), lowball bids that are
//! refused, leaders raising their own max, retried bid ids, and a final
//! stretch of bids inside the soft-close window. Commands are generated
//! before the clock starts; only `apply` is timed. Run it with
//! `cargo run --release -p paddle-node --example auction_bench`.

use std::time::Instant;

use paddle_proto::auction::{
    AuctionCommand, BidId, ExtendRule, IncrementTable, LotId, LotSpec, Paddle, SaleId, SaleMode,
    SaleSpec, SoftClose,
};
use paddle_proto::{Currency, Money};

use paddle_auction::AuctionMachine;
use paddle_auction::AuctionState;
use paddle_auction::Effects;
use paddle_auction::MemStore;

/// Shape of the generated load.
#[derive(Debug, Clone, Copy)]
pub struct BenchConfig {
    pub sales: u32,
    pub lots_per_sale: u32,
    pub bidders_per_sale: u32,
    pub bids: u32,
    pub seed: u64,
    /// Also write every record through a [`MemStore`] (encoding included).
    pub through_machine: bool,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            sales: 4,
            lots_per_sale: 500,
            bidders_per_sale: 2_000,
            bids: 1_000_000,
            seed: 42,
            through_machine: false,
        }
    }
}

/// What one run measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchReport {
    /// Bid commands applied (setup commands excluded).
    pub bids: u64,
    pub accepted: u64,
    pub refused: u64,
    /// Wall time of the timed loop, ns.
    pub elapsed_ns: u64,
    /// CPU time of this thread during the timed loop, ns: what one core
    /// spent, whatever else the machine was running.
    pub cpu_ns: u64,
    /// `bids / elapsed`.
    pub bids_per_sec: u64,
    /// `bids / cpu`: applies per second of one core.
    pub bids_per_cpu_sec: u64,
}

/// CPU time consumed by the calling thread, ns.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass, which lives
    // on this stack frame for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Small deterministic generator (xorshift64*): the benchmark's load must
/// not depend on a crate's RNG version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn money(v: i64) -> Money {
    Money::from_minor(v).expect("bench amounts are in range")
}

/// Setup commands and bid commands (with stamps) for `cfg`.
/// The setup commands and the timed `(stamp, bid)` stream of a run.
pub fn generate(cfg: &BenchConfig) -> (Vec<AuctionCommand>, Vec<(u64, AuctionCommand)>) {
    let mut rng = Rng(cfg.seed | 1);
    let table = IncrementTable::ebay_2005();
    let bids = cfg.bids as u64;
    // One stamp per ms; everything closes just after the last bid, so the
    // last stretch of bids falls inside the soft-close window.
    let window = (bids / 20).max(1);
    let mut setup = Vec::new();
    for s in 0..cfg.sales {
        setup.push(AuctionCommand::CreateSale {
            spec: SaleSpec {
                title: format!("bench sale {s}"),
                currency: Currency::EUR,
                mode: SaleMode::Timed {
                    opens_at_ms: 0,
                    closes_at_ms: bids + 1,
                    stagger_ms: 0,
                },
                increments: table.clone(),
                premium_bp: 2_000,
                soft_close: Some(SoftClose {
                    window_ms: window,
                    rule: ExtendRule::ResetToWindow,
                }),
            },
        });
        let lots = (0..cfg.lots_per_sale)
            .map(|i| LotSpec {
                title: format!("lot {i}"),
                description: String::new(),
                seller: None,
                start: money(100 + (i as i64 % 50) * 100),
                reserve: (i % 7 == 0).then(|| money(20_000)),
                buy_now: None,
            })
            .collect();
        setup.push(AuctionCommand::AddLots {
            sale: SaleId(s as u64),
            lots,
        });
        for p in 1..=cfg.bidders_per_sale {
            setup.push(AuctionCommand::RegisterBidder {
                sale: SaleId(s as u64),
                name: format!("bidder {p}"),
                paddle: Some(Paddle(p)),
                token_hash: format!("{:032x}{:032x}", s, p),
                limit: (p % 10 == 0).then(|| money(5_000_000)),
                approved: true,
            });
        }
    }
    let nlots = (cfg.sales * cfg.lots_per_sale) as u64;
    let mut ceiling: Vec<i64> = (0..nlots)
        .map(|i| 100 + ((i % cfg.lots_per_sale as u64) as i64 % 50) * 100)
        .collect();
    let mut last: Vec<u32> = vec![0; nlots as usize];
    let mut out = Vec::with_capacity(cfg.bids as usize);
    for n in 0..bids {
        let lot = if rng.below(2) == 0 {
            rng.below((nlots / 10).max(1))
        } else {
            rng.below(nlots)
        };
        let sale = lot / cfg.lots_per_sale as u64;
        let c = &mut ceiling[lot as usize];
        let inc = table.increment_at(money(*c)).minor();
        let roll = rng.below(100);
        let (paddle, max) = if roll < 8 {
            // Lowball: refused as too low.
            (
                1 + rng.below(cfg.bidders_per_sale as u64) as u32,
                (*c / 2).max(1),
            )
        } else if roll < 13 && last[lot as usize] != 0 {
            // The last bidder raises their own max.
            *c += inc * (1 + rng.below(3) as i64);
            (last[lot as usize], *c)
        } else {
            *c += inc * (1 + rng.below(4) as i64);
            (
                1 + rng.below(cfg.bidders_per_sale as u64) as u32,
                *c + rng.below(inc as u64) as i64,
            )
        };
        last[lot as usize] = paddle;
        // One bid in fifty retries an earlier id (a double click).
        let id = if n > 0 && rng.below(50) == 0 {
            n - 1
        } else {
            n
        };
        out.push((
            n + 1,
            AuctionCommand::PlaceBid {
                sale: SaleId(sale),
                lot: LotId(lot),
                paddle: Paddle(paddle),
                bid_id: BidId::new(format!("b{id}")).expect("valid id"),
                max: money(max.min(1_000_000_000)),
                buy_now: false,
            },
        ));
    }
    (setup, out)
}

/// Generate the load, apply the setup, then time the bids.
pub fn run(cfg: &BenchConfig) -> BenchReport {
    let (setup, bids) = generate(cfg);
    let mut st = AuctionState::new();
    let mut machine = AuctionMachine::new();
    let mut store = MemStore::new();
    let mut fx = Effects::new();
    let mut index = 0u64;
    for cmd in &setup {
        index += 1;
        if cfg.through_machine {
            machine.apply(&mut store, index, 0, cmd);
        } else {
            fx.clear();
            st.apply(index, 0, cmd, &mut fx);
        }
    }
    let (mut accepted, mut refused) = (0u64, 0u64);
    let t = Instant::now();
    let cpu = thread_cpu_ns();
    for (stamp, cmd) in &bids {
        index += 1;
        let reply = if cfg.through_machine {
            let r = machine.apply(&mut store, index, *stamp, cmd);
            machine.take_events();
            r
        } else {
            fx.clear();
            st.apply(index, *stamp, cmd, &mut fx)
        };
        if reply.is_accepted() {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    let cpu_ns = thread_cpu_ns().saturating_sub(cpu).max(1);
    let elapsed_ns = (t.elapsed().as_nanos() as u64).max(1);
    let n = bids.len() as u64;
    let rate = |ns: u64| (n as u128 * 1_000_000_000 / ns as u128) as u64;
    BenchReport {
        bids: n,
        accepted,
        refused,
        elapsed_ns,
        cpu_ns,
        bids_per_sec: rate(elapsed_ns),
        bids_per_cpu_sec: rate(cpu_ns),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_mixes_outcomes() {
        let cfg = BenchConfig {
            bids: 20_000,
            lots_per_sale: 50,
            bidders_per_sale: 100,
            ..BenchConfig::default()
        };
        let r = run(&cfg);
        assert_eq!(r.bids, 20_000);
        assert!(r.accepted > r.bids / 2, "{r:?}");
        assert!(r.refused > r.bids / 20, "{r:?}");
        let m = run(&BenchConfig {
            through_machine: true,
            ..cfg
        });
        assert_eq!((m.accepted, m.refused), (r.accepted, r.refused));
    }
}
