//! A timed sale run through Raft: three in-process nodes over real QUIC and
//! sled, bidders on different nodes, the leader's timer closing the lots.
//! Every node must reach the same winners, prices and state hash.

use std::collections::BTreeSet;
use std::time::Duration;

use paddle_auction::read;
use paddle_consensus::tls::{issue_identity, CaBundle};
use paddle_consensus::types::NodeAddr;
use paddle_consensus::{Consensus, ConsensusConfig};
use paddle_node::machine::NodeMachine;
use paddle_proto::auction::{
    Accepted, AuctionCommand, AuctionReply, BidId, ExtendRule, IncrementTable, LotSpec, LotStatus,
    SaleMode, SaleSpec, SoftClose,
};
use paddle_proto::money::{Currency, Money};
use paddle_proto::{Command, Reply};

/// This machine's wall clock (ms): the test's cluster has no skewed node,
/// so it is cluster time too.
fn now_ms() -> u64 {
    paddle_consensus::clock::local_wall_ms()
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..1500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn cluster(dirs: &[tempfile::TempDir]) -> Vec<Consensus> {
    let ca = CaBundle::generate("auction").unwrap();
    let mut nodes = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let id = i as u64 + 1;
        let identity = issue_identity(&ca, id).unwrap();
        let c = Consensus::start(
            &identity,
            "127.0.0.1:0".parse().unwrap(),
            dir.path(),
            Box::new(NodeMachine::standalone()),
            ConsensusConfig::default(),
        )
        .await
        .unwrap();
        tokio::spawn(paddle_node::timer::run(c.clone()));
        nodes.push(c);
    }
    let addr = |c: &Consensus| NodeAddr {
        raft: c.local_addr().unwrap().to_string(),
        http: String::new(),
    };
    let others: Vec<_> = nodes[1..].iter().map(|c| (c.id(), addr(c))).collect();
    nodes[0].form(addr(&nodes[0]), &others).await.unwrap();
    nodes
}

async fn auction(c: &Consensus, cmd: AuctionCommand) -> (u64, AuctionReply) {
    let r = c.propose(Command::Auction(cmd)).await.expect("commits");
    match r.reply {
        Reply::Auction(a) => (r.index, a),
        other => panic!("unexpected reply {other:?}"),
    }
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_sale_reaches_the_same_result_on_every_node() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let nodes = cluster(&dirs).await;
    let start = now_ms();
    let spec = SaleSpec {
        title: "Raft test sale".into(),
        currency: Currency::USD,
        mode: SaleMode::Timed {
            opens_at_ms: start,
            closes_at_ms: start + 4_000,
            stagger_ms: 500,
        },
        increments: IncrementTable::ebay_2005(),
        premium_bp: 1_500,
        soft_close: Some(SoftClose {
            window_ms: 1_000,
            rule: ExtendRule::ResetToWindow,
        }),
    };
    let (_, reply) = auction(&nodes[1], AuctionCommand::CreateSale { spec }).await;
    let sale = match reply.into_result().unwrap() {
        Accepted::SaleCreated { sale } => sale,
        other => panic!("{other:?}"),
    };
    let lot = |i: i64| LotSpec {
        title: format!("Lot {i}"),
        description: String::new(),
        seller: None,
        start: usd(1_000),
        reserve: if i == 2 { Some(usd(1_000_000)) } else { None },
        buy_now: None,
    };
    let (_, reply) = auction(
        &nodes[2],
        AuctionCommand::AddLots {
            sale,
            lots: (0..3).map(lot).collect(),
        },
    )
    .await;
    let lots = match reply.into_result().unwrap() {
        Accepted::LotsAdded { lots, .. } => lots,
        other => panic!("{other:?}"),
    };
    let mut paddles = Vec::new();
    for b in 0..4 {
        let cmd = AuctionCommand::RegisterBidder {
            sale,
            name: format!("bidder {b}"),
            paddle: None,
            token_hash: format!("{b:064x}"),
            limit: None,
            approved: true,
        };
        let (_, reply) = auction(&nodes[b % 3], cmd).await;
        match reply.into_result().unwrap() {
            Accepted::BidderRegistered { paddle, .. } => paddles.push(paddle),
            other => panic!("{other:?}"),
        }
    }

    // Four bidders, each on "their" node, bid concurrently on every lot.
    let mut tasks = Vec::new();
    for (b, paddle) in paddles.iter().copied().enumerate() {
        let c = nodes[b % 3].clone();
        let lots = lots.clone();
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0;
            for round in 0..15i64 {
                for lot in &lots {
                    let max = usd(1_000 + (round * 4 + b as i64) * 137);
                    let cmd = AuctionCommand::PlaceBid {
                        sale,
                        lot: *lot,
                        paddle,
                        bid_id: BidId::new(format!("b{b}-{round}-{}", lot.0)).unwrap(),
                        max,
                        buy_now: false,
                    };
                    if c.propose(Command::Auction(cmd))
                        .await
                        .is_ok_and(|r| matches!(r.reply, Reply::Auction(ref a) if a.is_accepted()))
                    {
                        accepted += 1;
                    }
                }
            }
            accepted
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.unwrap();
    }
    assert!(accepted > 0, "some bids were accepted");

    // The leader's timer closes every lot (after any soft-close extensions).
    let closed = |c: &Consensus| {
        read::lots(&c.view(), sale)
            .unwrap()
            .unwrap()
            .iter()
            .all(|l| matches!(l.status, LotStatus::Sold | LotStatus::Passed))
    };
    for c in &nodes {
        wait_for("every lot closed", || closed(c)).await;
    }
    let last = nodes.iter().map(|c| c.applied_index()).max().unwrap();
    for c in &nodes {
        c.wait_applied(last, Duration::from_secs(10)).await.unwrap();
    }
    let results: Vec<_> = nodes
        .iter()
        .map(|c| read::results(&c.view(), sale).unwrap())
        .collect();
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0], results[2]);
    let sold: Vec<_> = results[0]
        .iter()
        .filter(|r| r.status == LotStatus::Sold)
        .collect();
    let passed: Vec<_> = results[0]
        .iter()
        .filter(|r| r.status == LotStatus::Passed)
        .collect();
    assert_eq!(sold.len(), 2, "{results:?}");
    assert_eq!(
        passed.len(),
        1,
        "the lot with an unreachable reserve passes: {results:?}"
    );
    assert!(sold
        .iter()
        .all(|r| r.winner.is_some_and(|w| paddles.contains(&w))));
    // Premium is 15 % of the hammer, and the total adds up.
    for r in &sold {
        let hammer = r.hammer.unwrap();
        assert_eq!(r.premium, hammer.basis_points(1_500));
        assert_eq!(r.total, hammer.checked_add(r.premium.unwrap()));
    }
    let hashes: BTreeSet<_> = nodes.iter().map(|c| c.view().state_hash()).collect();
    assert_eq!(hashes.len(), 1, "one state hash across the cluster");
    for c in &nodes {
        c.shutdown().await;
    }
}
