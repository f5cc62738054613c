//! Bidders under test, and the check that every answer they got was true.
//!
//! A [`BidLoad`] runs bidder tasks that each keep bidding the asking price
//! (or a maximum a little above it) on a lot chosen by the test (the lot whose end is near, say), through
//! one node's REST API, and record every answer: when it was sent and
//! answered (this process's clock), the HTTP status, `outcome`, `code` and
//! `index`. Each bid has a fresh bid id; nothing is resent, so every answer
//! stands for itself.
//!
//! [`check_answers`] then asks the cluster, linearizably, for the recorded
//! outcome of every bid id (`GET /api/v1/me/bids/{bid_id}`, which never
//! places anything) and holds each answer against it:
//! - `accepted` at index N: the bid is in the history, accepted;
//! - `rejected` by the rules (with an index): it is in the history with the
//!   same refusal;
//! - `rejected` without an index (`no_quorum`, `unavailable`,
//!   `rate_limited`: "not placed"): it must **not** be in the history — a
//!   bidder told "not placed" must be able to trust it;
//! - `unknown`: either; counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::api::{wall_ms, Api};

/// One bid as its bidder saw it.
#[derive(Debug, Clone)]
pub struct BidRecord {
    pub bidder: usize,
    pub node: String,
    pub lot: u64,
    pub bid_id: String,
    pub max: String,
    pub sent_ms: f64,
    pub answered_ms: f64,
    /// HTTP status (0: no HTTP answer at all).
    pub status: u16,
    pub outcome: String,
    pub code: String,
    pub index: Option<u64>,
}

/// Which lot a bidder should bid on now (true ms), if any.
pub type PickLot = Arc<dyn Fn(f64) -> Option<u64> + Send + Sync>;

/// Bidders bidding in the background.
pub struct BidLoad {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<BidRecord>>>,
    tokens: Vec<String>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl BidLoad {
    /// One bidder per token; bidder k talks to `nodes[k % nodes.len()]`
    /// and waits `every` between bids. A bidder whose node gives no HTTP
    /// answer at all (down, removed, paused past the timeout) moves on to
    /// the next node of the list, as a real client would; a node that
    /// answers, even with an error, keeps its bidders.
    pub fn start(
        api: &Api,
        tokens: &[String],
        nodes: &[String],
        pick: PickLot,
        every: Duration,
    ) -> BidLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let tasks = tokens
            .iter()
            .enumerate()
            .map(|(k, token)| {
                let api = api.with_token(token);
                let nodes = nodes.to_vec();
                let (stop, log, pick) = (stop.clone(), log.clone(), pick.clone());
                tokio::spawn(bidder(api, k, nodes, pick, every, stop, log))
            })
            .collect();
        BidLoad {
            stop,
            log,
            tokens: tokens.to_vec(),
            tasks,
        }
    }

    /// Answers recorded so far.
    pub fn records(&self) -> Vec<BidRecord> {
        self.log.lock().expect("log").clone()
    }

    /// Stop every bidder (each finishes its bid in flight); the records.
    pub async fn stop(self) -> (Vec<BidRecord>, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            let _ = t.await;
        }
        let records = self.log.lock().expect("log").clone();
        (records, self.tokens)
    }
}

/// `"12.50"` from minor units (2 decimals).
fn amount(minor: u64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

async fn bidder(
    api: Api,
    who: usize,
    nodes: Vec<String>,
    pick: PickLot,
    every: Duration,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<BidRecord>>>,
) {
    let mut minimum: HashMap<u64, u64> = HashMap::new();
    let mut n = 0u64;
    let mut at = who % nodes.len();
    while !stop.load(Ordering::SeqCst) {
        let node = &nodes[at];
        let Some(lot) = pick(wall_ms()) else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        n += 1;
        let bid_id = format!("w{who}-{n}");
        // The asking price, or a maximum one or two increments (of 0.10)
        // above it: proxy bidding then has something to decide.
        let max = amount(*minimum.get(&lot).unwrap_or(&1000) + 10 * (n % 3));
        let sent_ms = wall_ms();
        let reply = api
            .post(
                &format!("{node}/api/v1/lots/{lot}/bids"),
                json!({"bid_id": bid_id, "max": max}),
            )
            .await;
        let answered_ms = wall_ms();
        let (status, body) = match reply {
            Ok(r) => (r.status, r.body),
            Err(_) => (0, Value::Null),
        };
        let result = if status == 200 {
            &body
        } else {
            &body["bid_result"]
        };
        if let Some(next) = result["lot"]["minimum_next"]
            .as_u64()
            .or(result["reason"]["minimum"].as_u64())
        {
            let m = minimum.entry(lot).or_insert(0);
            *m = (*m).max(next);
        }
        log.lock().expect("log").push(BidRecord {
            bidder: who,
            node: node.clone(),
            lot,
            bid_id,
            max,
            sent_ms,
            answered_ms,
            status,
            outcome: result["outcome"].as_str().unwrap_or("").to_string(),
            code: result["code"].as_str().unwrap_or("").to_string(),
            index: result["index"].as_u64(),
        });
        if status == 0 {
            at = (at + 1) % nodes.len();
        }
        tokio::time::sleep(every).await;
    }
}

/// What [`check_answers`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AnswerCheck {
    pub accepted: usize,
    /// Refused by the rules (with an index).
    pub rejected_by_rules: usize,
    /// Refused before reaching the log ("not placed").
    pub not_placed: usize,
    pub unknown: usize,
    /// `unknown` answers whose bid turned out to be in the history.
    pub unknown_placed: usize,
    /// No HTTP answer at all (connection refused, timeout).
    pub no_answer: usize,
}

/// Hold every answer against the committed history, asked of the node at
/// `base` linearizably (see the module docs). Fails on the first lie.
pub async fn check_answers(
    api: &Api,
    base: &str,
    tokens: &[String],
    records: &[BidRecord],
) -> anyhow::Result<AnswerCheck> {
    let mut out = AnswerCheck::default();
    for r in records {
        let token = &tokens[r.bidder];
        let recorded = api
            .with_token(token)
            .get(&format!(
                "{base}/api/v1/me/bids/{}?consistency=linearizable",
                r.bid_id
            ))
            .await
            .with_context(|| format!("looking up {}", r.bid_id))?;
        let in_log = match recorded.status {
            200 => Some(&recorded.body),
            404 if recorded.code() == "unknown_bid" => None,
            _ => bail!(
                "lookup of {} answered {} {}",
                r.bid_id,
                recorded.status,
                recorded.body
            ),
        };
        match (r.outcome.as_str(), r.index, in_log) {
            ("accepted", _, Some(v)) if v["outcome"] == "accepted" => out.accepted += 1,
            ("accepted", _, other) => {
                bail!("{r:?} was acknowledged as accepted but the history holds {other:?}")
            }
            ("rejected", Some(_), Some(v))
                if v["outcome"] == "rejected" && v["code"] == r.code.as_str() =>
            {
                out.rejected_by_rules += 1
            }
            ("rejected", Some(_), other) => {
                bail!("{r:?} was refused by the rules but the history holds {other:?}")
            }
            ("rejected", None, None) => out.not_placed += 1,
            ("rejected", None, Some(v)) => bail!(
                "{r:?} was answered \"not placed\" ({}) but the bid is in the history: {v}",
                r.code
            ),
            ("unknown", _, placed) => {
                out.unknown += 1;
                out.unknown_placed += usize::from(placed.is_some());
            }
            _ if r.status == 0 => out.no_answer += 1,
            _ => bail!("an answer of an unexpected shape: {r:?}"),
        }
    }
    Ok(out)
}
