//! Gathering an [`Audit`](super::Audit) from a real run: the bidders'
//! records ([`crate::BidLoad`]), a [`Reader`] that reads lots from every
//! node while the faults go on, and each node's final state.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

use super::{Answer, LotFinal, LotSeen, NodeFinal, Read, Row, Sent};
use crate::api::Api;
use crate::bids::BidRecord;

/// `"12.50"` → 1250 (two decimals, as [`crate::BidLoad`] sends them).
pub fn minor_units(amount: &str) -> anyhow::Result<i64> {
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, "0"));
    let frac = format!("{frac:0<2}");
    anyhow::ensure!(frac.len() == 2, "more than two decimals in {amount}");
    Ok(whole.parse::<i64>()? * 100 + frac.parse::<i64>()?)
}

/// What each bidder was told, as [`Sent`] rows: `paddles[k]` is bidder
/// `k`'s paddle.
pub fn sent_from(records: &[BidRecord], paddles: &[u32]) -> anyhow::Result<Vec<Sent>> {
    records
        .iter()
        .map(|r| {
            let answer = match (r.outcome.as_str(), r.index) {
                ("accepted", i) => Answer::Accepted(i),
                ("rejected", Some(i)) => Answer::Refused(i, r.code.clone()),
                ("rejected", None) => Answer::NotPlaced(r.code.clone()),
                _ => Answer::Unknown,
            };
            Ok(Sent {
                bid_id: r.bid_id.clone(),
                paddle: paddles[r.bidder],
                lot: r.lot,
                max: minor_units(&r.max)?,
                answer,
                node: r.node.clone(),
            })
        })
        .collect()
}

fn lot_seen(lot: &Value) -> LotSeen {
    LotSeen {
        price: lot["price"].as_i64(),
        leader: lot["leader"].as_u64().map(|p| p as u32),
        bids: lot["bids"].as_u64().unwrap_or(0) as u32,
    }
}

/// Reads lots from every node in the background, recording what each read
/// claimed and showed.
pub struct Reader {
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Read>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Reader {
    /// One task per node URL, reading the `lots` in turn every `every`;
    /// every fourth read is linearizable, the rest local (the default).
    /// Failed reads (a node down, cut off or paused) are not recorded.
    pub fn start(api: &Api, nodes: &[String], lots: &[u64], every: Duration) -> Reader {
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let tasks = nodes
            .iter()
            .map(|node| {
                let (api, node, lots) = (api.clone(), node.clone(), lots.to_vec());
                let (stop, log) = (stop.clone(), log.clone());
                tokio::spawn(async move {
                    let mut n = 0usize;
                    while !stop.load(Ordering::SeqCst) {
                        n += 1;
                        let lot = lots[n % lots.len()];
                        let consistency = if n % 4 == 0 { "linearizable" } else { "local" };
                        let url = format!("{node}/api/v1/lots/{lot}?consistency={consistency}");
                        if let Ok(r) =
                            tokio::time::timeout(Duration::from_secs(10), api.get(&url)).await
                        {
                            if let Ok(r) = r.filter(|r| r.status == 200) {
                                if let Some(index) = r.body["applied_index"].as_u64() {
                                    log.lock().expect("reads").push(Read {
                                        node: node.clone(),
                                        lot,
                                        index,
                                        seen: lot_seen(&r.body["lot"]),
                                    });
                                }
                            }
                        }
                        tokio::time::sleep(every).await;
                    }
                })
            })
            .collect();
        Reader { stop, log, tasks }
    }

    /// Stop reading; every read recorded.
    pub async fn stop(self) -> Vec<Read> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            let _ = t.await;
        }
        let reads = self.log.lock().expect("reads").clone();
        reads
    }
}

trait FilterOk: Sized {
    fn filter(self, ok: impl Fn(&crate::api::Reply) -> bool) -> anyhow::Result<crate::api::Reply>;
}

impl FilterOk for anyhow::Result<crate::api::Reply> {
    fn filter(self, ok: impl Fn(&crate::api::Reply) -> bool) -> anyhow::Result<crate::api::Reply> {
        let r = self?;
        if ok(&r) {
            Ok(r)
        } else {
            bail!("{} {}", r.status, r.body)
        }
    }
}

async fn get_ok(api: &Api, url: &str) -> anyhow::Result<Value> {
    let r = api.get(url).await.filter(|r| r.status == 200)?;
    Ok(r.body)
}

/// One node's final state: its state hash and, for each lot, the lot and
/// its staff history (`api` must carry a staff token). Read twice around
/// the lots until the applied index stands still, so everything is of one
/// index.
pub async fn final_state(
    api: &Api,
    name: &str,
    base: &str,
    lots: &[u64],
    min_index: u64,
) -> anyhow::Result<NodeFinal> {
    for _ in 0..50 {
        let before = get_ok(api, &format!("{base}/api/v1/state?min_index={min_index}")).await?;
        let mut out = BTreeMap::new();
        let mut same = true;
        for &lot in lots {
            let l = get_ok(api, &format!("{base}/api/v1/lots/{lot}")).await?;
            let h = get_ok(api, &format!("{base}/api/v1/lots/{lot}/bids")).await?;
            same &= l["applied_index"] == before["applied_index"]
                && h["applied_index"] == before["applied_index"];
            let history = h["bids"]
                .as_array()
                .context("no bids in the history")?
                .iter()
                .map(|b| {
                    Ok(Row {
                        seq: b["seq"].as_u64().context("no seq: not a staff token?")? as u32,
                        bid_id: b["bid_id"].as_str().context("no bid_id")?.to_string(),
                        paddle: b["paddle"].as_u64().context("no paddle")? as u32,
                        index: b["index"].as_u64().context("no index")?,
                        retracted: b["retracted"].as_bool().unwrap_or(false),
                    })
                })
                .collect::<anyhow::Result<Vec<Row>>>()?;
            out.insert(
                lot,
                LotFinal {
                    seen: lot_seen(&l["lot"]),
                    history,
                },
            );
        }
        let after = get_ok(api, &format!("{base}/api/v1/state")).await?;
        if same && after["applied_index"] == before["applied_index"] {
            return Ok(NodeFinal {
                name: name.to_string(),
                applied_index: before["applied_index"].as_u64().unwrap_or(0),
                state_hash: before["state_hash"].as_str().unwrap_or("").to_string(),
                lots: out,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("{name}'s applied index kept moving: no final state to read")
}
