//! One seed, start to end: form the cluster, set up a sale, let clients bid
//! and read through random members while the schedule's faults happen, then
//! heal, wait for every member to apply the same log, and check.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Mutex as AsyncMutex;

use paddle_auction::read;
use paddle_consensus::types::NodeId;
use paddle_consensus::{ChangeError, Changed, Consensus, MemberChange, ProposeError};
use paddle_proto::auction::{
    AuctionCommand, AuctionReply, BidId, IncrementTable, LotId, LotSpec, Paddle, SaleId, SaleMode,
    SaleSpec,
};
use paddle_proto::{Command, Currency, Money, Probe, Reply};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::check::{self, Verdict};
use super::cluster::{addr, sim_config, SimCluster};
use super::net::SimNet;
use super::schedule::{Fault, Schedule};

pub const SALE: SaleId = SaleId(0);
pub const LOTS: u64 = 3;
pub const PADDLES: u32 = 4;

/// What a client heard back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Committed at `index` with this reply.
    Acked { index: u64, reply: AuctionReply },
    /// Definitely not appended (no leader, refused, member down).
    Refused(String),
    /// May or may not have been committed.
    Unknown(String),
}

/// One bid a client sent, and what came of it (printed whole when a seed
/// fails).
#[derive(Debug, Clone)]
#[allow(dead_code)] // read by Debug, in failure reports
pub struct BidOp {
    pub client: u32,
    pub node: u64,
    pub lot: LotId,
    pub paddle: Paddle,
    pub bid_id: String,
    pub max: i64,
    /// Positions in the run's one order of events (a single thread runs
    /// everything, so "before" is exact).
    pub invoked: u64,
    pub completed: u64,
    pub outcome: Outcome,
}

/// A linearizable read that answered.
#[derive(Debug, Clone)]
pub struct ReadOp {
    pub node: u64,
    pub invoked: u64,
    pub completed: u64,
    pub index: u64,
    /// Each lot's price in the view.
    pub prices: Vec<Option<i64>>,
}

/// Everything the clients saw.
#[derive(Default)]
pub struct History {
    pub bids: Vec<BidOp>,
    pub reads: Vec<ReadOp>,
    pub failed_reads: u64,
}

/// Faults injected, by kind.
#[derive(Debug, Default, Clone)]
pub struct FaultCounts {
    pub by_kind: BTreeMap<&'static str, u64>,
}

impl FaultCounts {
    fn note(&mut self, f: &Fault) {
        let kind = match f {
            Fault::Isolate(_) => "isolate",
            Fault::OneWay { .. } => "one-way cut",
            Fault::Heal => "heal",
            Fault::Crash(_) => "crash",
            Fault::Restart(_) => "restart",
            Fault::CrashAll => "crash all",
            Fault::RestartAll => "restart all",
            Fault::Join(_) => "member joins",
            Fault::Leave(_) => "member leaves",
        };
        *self.by_kind.entry(kind).or_default() += 1;
    }
}

/// What one seed did.
pub struct SeedReport {
    pub verdict: Verdict,
    pub faults: FaultCounts,
    pub net: super::net::NetCounts,
    pub acked: u64,
    pub refused: u64,
    pub unknown: u64,
    pub reads: u64,
    pub failed_reads: u64,
    /// A digest of everything observable: each request and its outcome in
    /// order, the reads, what the network did and the final state hash.
    /// Equal across two runs of a seed when the run replayed exactly.
    pub fingerprint: u64,
}

struct Ticker(AtomicU64);

impl Ticker {
    fn tick(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
}

fn bid_command(lot: LotId, paddle: Paddle, bid_id: &str, max: i64) -> Command {
    Command::Auction(AuctionCommand::PlaceBid {
        sale: SALE,
        lot,
        paddle,
        bid_id: BidId::new(bid_id).expect("valid bid id"),
        max: Money::from_minor(max).expect("valid amount"),
        buy_now: false,
    })
}

fn outcome_of(r: Result<paddle_consensus::Committed, ProposeError>) -> Outcome {
    match r {
        Ok(c) => match c.reply {
            Reply::Auction(reply) => Outcome::Acked {
                index: c.index,
                reply,
            },
            other => Outcome::Unknown(format!("unexpected reply {other:?}")),
        },
        Err(ProposeError::Unknown(e)) => Outcome::Unknown(e),
        Err(e @ (ProposeError::NoLeader | ProposeError::Refused(_))) => {
            Outcome::Refused(e.to_string())
        }
    }
}

/// Propose `cmd` through any member until one commits it (setup and the
/// final barrier: the cluster is healthy then, or will be).
async fn commit(
    cluster: &Arc<AsyncMutex<SimCluster>>,
    ids: &[NodeId],
    cmd: Command,
) -> anyhow::Result<u64> {
    for attempt in 0..200usize {
        let node = ids[attempt % ids.len()];
        let c = cluster.lock().await.running(node);
        if let Some(c) = c {
            if let Ok(done) = c.propose(cmd.clone()).await {
                return Ok(done.index);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{cmd:?} not committed after 200 attempts")
}

async fn setup(cluster: &Arc<AsyncMutex<SimCluster>>, nodes: &[NodeId]) -> anyhow::Result<()> {
    let create = AuctionCommand::CreateSale {
        spec: SaleSpec {
            title: "Simulated sale".into(),
            currency: Currency::EUR,
            mode: SaleMode::Live,
            increments: IncrementTable::ebay_2005(),
            premium_bp: 0,
            soft_close: None,
        },
    };
    commit(cluster, nodes, Command::Auction(create)).await?;
    let lots = (0..LOTS)
        .map(|i| LotSpec {
            title: format!("Lot {i}"),
            description: String::new(),
            seller: None,
            start: Money::from_minor(100).expect("valid"),
            reserve: None,
            buy_now: None,
        })
        .collect();
    commit(
        cluster,
        nodes,
        Command::Auction(AuctionCommand::AddLots { sale: SALE, lots }),
    )
    .await?;
    for p in 1..=PADDLES {
        let register = AuctionCommand::RegisterBidder {
            sale: SALE,
            name: format!("Bidder {p}"),
            paddle: Some(Paddle(p)),
            token_hash: format!("{p:064x}"),
            limit: None,
            approved: true,
        };
        commit(cluster, nodes, Command::Auction(register)).await?;
    }
    for lot in 0..LOTS {
        let open = AuctionCommand::OpenLot {
            sale: SALE,
            lot: LotId(lot),
        };
        commit(cluster, nodes, Command::Auction(open)).await?;
    }
    Ok(())
}

/// One client: bids and reads through random members until `until`.
async fn client(
    id: u32,
    seed: u64,
    nodes: Vec<NodeId>,
    until: tokio::time::Instant,
    cluster: Arc<AsyncMutex<SimCluster>>,
    history: Arc<Mutex<History>>,
    ticker: Arc<Ticker>,
) {
    let mut rng = StdRng::seed_from_u64(seed ^ (0x5eed_0000 + id as u64));
    let mut n = 0u64;
    let mut unknown: Vec<(LotId, Paddle, String, i64)> = Vec::new();
    while tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(2..60))).await;
        let node = nodes[rng.gen_range(0..nodes.len())];
        let Some(c) = cluster.lock().await.running(node) else {
            continue;
        };
        if rng.gen_ratio(1, 5) {
            linearizable_read(node, &c, &history, &ticker).await;
            continue;
        }
        // Now and then, send an unknown bid again with its id (idempotent).
        let (lot, paddle, bid_id, max) = if !unknown.is_empty() && rng.gen_ratio(1, 3) {
            unknown.swap_remove(rng.gen_range(0..unknown.len()))
        } else {
            n += 1;
            (
                LotId(rng.gen_range(0..LOTS)),
                Paddle(rng.gen_range(1..=PADDLES)),
                format!("c{id}-{n}"),
                100 + rng.gen_range(0..(n as i64 * 40 + 200)),
            )
        };
        let invoked = ticker.tick();
        let cmd = bid_command(lot, paddle, &bid_id, max);
        let result = if rng.gen_ratio(1, 4) {
            c.propose_idempotent(cmd, Duration::from_secs(2)).await
        } else {
            c.propose(cmd).await
        };
        let outcome = outcome_of(result);
        let completed = ticker.tick();
        if matches!(outcome, Outcome::Unknown(_)) {
            unknown.push((lot, paddle, bid_id.clone(), max));
        }
        history.lock().expect("history").bids.push(BidOp {
            client: id,
            node,
            lot,
            paddle,
            bid_id,
            max,
            invoked,
            completed,
            outcome,
        });
    }
}

async fn linearizable_read(node: u64, c: &Consensus, history: &Mutex<History>, ticker: &Ticker) {
    let invoked = ticker.tick();
    let view = c.linearizable_view(Duration::from_secs(2)).await;
    let completed = ticker.tick();
    let mut h = history.lock().expect("history");
    match view {
        Ok(view) => {
            let prices = (0..LOTS)
                .map(|lot| {
                    read::get_lot(&view, LotId(lot))
                        .expect("lot decodes")
                        .and_then(|l| l.price)
                        .map(|p| p.minor())
                })
                .collect();
            h.reads.push(ReadOp {
                node,
                invoked,
                completed,
                index: view.applied_index(),
                prices,
            });
        }
        Err(_) => h.failed_reads += 1,
    }
}

/// Membership changes the faults started, still going on; each ends with
/// the member it changed and whether that member votes now (a member
/// admitted to a cluster of `max_voters` voters stays a learner).
type Changes = Vec<tokio::task::JoinHandle<anyhow::Result<(NodeId, bool)>>>;

/// Apply the schedule's faults at their times.
async fn faults(
    schedule: Schedule,
    start: tokio::time::Instant,
    cluster: Arc<AsyncMutex<SimCluster>>,
    root: PathBuf,
) -> anyhow::Result<(FaultCounts, Changes)> {
    let mut counts = FaultCounts::default();
    let mut changes = Changes::new();
    for (at, fault) in schedule.faults {
        tokio::time::sleep_until(start + Duration::from_millis(at)).await;
        counts.note(&fault);
        match fault {
            Fault::Join(id) => {
                changes.push(tokio::spawn(join(cluster.clone(), root.clone(), id)));
            }
            Fault::Leave(id) => changes.push(tokio::spawn(leave(cluster.clone(), id))),
            other => apply_fault(&cluster, other).await?,
        }
    }
    Ok((counts, changes))
}

/// How long a membership change keeps trying (virtual time; the cluster is
/// healed after the load, so a change that cannot finish is a liveness bug).
const CHANGE_ATTEMPTS: u32 = 1_200;
const CHANGE_RETRY: Duration = Duration::from_millis(100);

/// Start a new empty member `id` and have the leader admit it as a voter,
/// again and again until it is in (an admission cut short by a fault is
/// taken up where it stopped: `admit` skips what is done).
async fn join(
    cluster: Arc<AsyncMutex<SimCluster>>,
    root: PathBuf,
    id: NodeId,
) -> anyhow::Result<(NodeId, bool)> {
    let started = cluster.lock().await.add_empty(&root).await?;
    anyhow::ensure!(started == id, "the new member got id {started}, not {id}");
    let mut last = String::new();
    for _ in 0..CHANGE_ATTEMPTS {
        let leader = cluster.lock().await.leader();
        if let Some(l) = leader {
            match l.admit(id, addr(id)).await {
                Ok(votes) => return Ok((id, votes)),
                Err(e) => last = e.to_string(),
            }
        }
        tokio::time::sleep(CHANGE_RETRY).await;
    }
    anyhow::bail!("member {id} was never admitted: {last}")
}

/// Have the leader remove member `id`, again and again until it is out;
/// then stop it for good.
async fn leave(cluster: Arc<AsyncMutex<SimCluster>>, id: NodeId) -> anyhow::Result<(NodeId, bool)> {
    let mut last = String::new();
    for _ in 0..CHANGE_ATTEMPTS {
        let leader = cluster.lock().await.leader();
        if let Some(l) = leader {
            match l.change_members(MemberChange::Remove(id)).await {
                // Out (NotMember: an earlier attempt's answer was lost).
                Ok(Changed::Done) | Err(ChangeError::NotMember(_)) => {
                    cluster.lock().await.retire(id).await;
                    return Ok((id, false));
                }
                Ok(Changed::HandedOver { leader }) => last = format!("handed over to {leader}"),
                Err(e) => last = e.to_string(),
            }
        }
        tokio::time::sleep(CHANGE_RETRY).await;
    }
    anyhow::bail!("member {id} was never removed: {last}")
}

async fn apply_fault(cluster: &Arc<AsyncMutex<SimCluster>>, fault: Fault) -> anyhow::Result<()> {
    match fault {
        Fault::Isolate(n) => {
            let c = cluster.lock().await;
            for other in c.ids().into_iter().filter(|o| *o != n) {
                c.net.set_cut(n, other, true);
                c.net.set_cut(other, n, true);
            }
        }
        Fault::OneWay { from, to } => {
            cluster.lock().await.net.set_cut(from, to, true);
        }
        Fault::Heal => cluster.lock().await.net.heal_links(),
        Fault::Crash(n) => cluster.lock().await.crash(n).await,
        Fault::Restart(n) => cluster.lock().await.restart(n).await?,
        Fault::CrashAll => {
            let mut c = cluster.lock().await;
            for n in c.ids() {
                c.crash(n).await;
            }
        }
        Fault::RestartAll => {
            let mut c = cluster.lock().await;
            for n in c.ids() {
                c.restart(n).await?;
            }
        }
        Fault::Join(_) | Fault::Leave(_) => unreachable!("started by `faults`"),
    }
    Ok(())
}

/// Run one seed in the current (paused, single-threaded) runtime, with its
/// members' directories under `root`.
pub async fn run(schedule: &Schedule, root: &std::path::Path) -> anyhow::Result<SeedReport> {
    let cfg = sim_config(schedule.snapshot_logs);
    let net = SimNet::new(
        schedule.seed,
        super::net::Weather::FAIR,
        cfg.raft.frame_cap(),
    );
    let nodes = schedule.nodes;
    let first: Vec<NodeId> = (1..=nodes).collect();
    let cluster = SimCluster::form(root, nodes, net.clone(), cfg, schedule.skew_us.clone()).await?;
    let cluster = Arc::new(AsyncMutex::new(cluster));
    setup(&cluster, &first).await?;

    let history = Arc::new(Mutex::new(History::default()));
    let ticker = Arc::new(Ticker(AtomicU64::new(0)));
    let start = tokio::time::Instant::now();
    let until = start + Duration::from_millis(schedule.load_ms);
    net.set_weather(schedule.weather);
    let mut clients = Vec::new();
    for id in 0..schedule.clients {
        clients.push(tokio::spawn(client(
            id,
            schedule.seed,
            schedule.ids(),
            until,
            cluster.clone(),
            history.clone(),
            ticker.clone(),
        )));
    }
    let (fault_counts, changes) =
        faults(schedule.clone(), start, cluster.clone(), root.to_path_buf()).await?;
    for c in clients {
        c.await?;
    }

    // Heal: every link mended, fair weather, every member up; membership
    // changes still under way finish.
    net.heal();
    apply_fault(&cluster, Fault::RestartAll).await?;
    let mut learners = Vec::new();
    for change in changes {
        let (id, votes) = change.await??;
        if !votes {
            learners.push(id);
        }
    }
    let ids = cluster.lock().await.ids();
    // A last command through the healed cluster; once every member has
    // applied it (and nothing else is proposed), they must agree.
    let barrier = commit(
        &cluster,
        &ids,
        Command::Probe(Probe {
            writer: u64::MAX,
            seq: schedule.seed,
            payload: Vec::new(),
        }),
    )
    .await?;
    let members: Vec<Consensus> = {
        let c = cluster.lock().await;
        ids.iter()
            .map(|n| c.running(*n).expect("member up"))
            .collect()
    };
    let mut views = Vec::new();
    for _ in 0..100 {
        views.clear();
        for c in &members {
            views.push(c.wait_applied(barrier, Duration::from_secs(30)).await?);
        }
        if views
            .iter()
            .all(|v| v.applied_index() == views[0].applied_index())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let history = std::mem::take(&mut *history.lock().expect("history"));
    let mut verdict = check::check(&history, &views);
    // Membership: every member left names the voters the schedule leaves
    // (but for a member admitted as a learner) and no one else.
    let expected: Vec<NodeId> = schedule
        .final_voters()
        .into_iter()
        .filter(|id| !learners.contains(id))
        .collect();
    for (id, m) in ids.iter().zip(&members) {
        let f = m.facts();
        let voters: Vec<NodeId> = f.voters.into_iter().collect();
        let named: Vec<NodeId> = f.nodes.keys().copied().collect();
        if voters != expected || named != ids {
            verdict.violations.push(format!(
                "member {id} names voters {voters:?} of {named:?}; expected {expected:?} of {ids:?}"
            ));
        }
    }
    let fingerprint = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for b in &history.bids {
            format!("{} {} {:?}", b.bid_id, b.node, b.outcome).hash(&mut h);
        }
        for r in &history.reads {
            (r.node, r.index, &r.prices).hash(&mut h);
        }
        format!("{:?}", net.counts()).hash(&mut h);
        views[0].state_hash().hash(&mut h);
        h.finish()
    };
    let (mut acked, mut refused, mut unknown) = (0, 0, 0);
    for b in &history.bids {
        match b.outcome {
            Outcome::Acked { .. } => acked += 1,
            Outcome::Refused(_) => refused += 1,
            Outcome::Unknown(_) => unknown += 1,
        }
    }
    let report = SeedReport {
        verdict,
        faults: fault_counts,
        net: net.counts(),
        acked,
        refused,
        unknown,
        reads: history.reads.len() as u64,
        failed_reads: history.failed_reads,
        fingerprint,
    };
    cluster.lock().await.stop().await;
    Ok(report)
}
