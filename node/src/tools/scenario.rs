//! `paddle scenario FILE`: scripted automated bidders against any nodes,
//! through the public API only (REST to set up, WebSocket to bid), for
//! demos and load.
//!
//! # File format (TOML)
//!
//! ```toml
//! nodes = ["http://127.0.0.1:8080", "http://127.0.0.1:8081"]  # bidders spread round-robin (--node overrides)
//! seconds = 60                 # how long bidders bid
//! seed = 7                     # random choices (--seed overrides)
//!
//! # Either an existing sale and bidder tokens ...
//! # sale = 0
//! # tokens = ["pdb_...", "pdb_..."]
//! # ... or a sale the scenario creates (needs the operator token:
//! # `operator_token = "..."` or PADDLE_OPERATOR_TOKEN).
//! [sale]
//! title = "Demo sale"
//! currency = "EUR"
//! lots = 3
//! start = "10.00"              # every lot's start price
//! mode = "live"                # live: the scenario is the clerk (opens, sells, next lot)
//! lot_seconds = 15             # live: time per lot
//! # mode = "timed"             # timed: lots close `seconds` from now, `stagger_seconds` apart
//! # stagger_seconds = 5
//!
//! [[bidders]]                  # one or more groups
//! count = 10
//! strategy = "eager"           # eager | proxy | sniper
//! budget = ["50.00", "200.00"] # each bidder's ceiling, uniform in this range
//! think_ms = [200, 1500]       # pause between decisions, uniform in this range
//! ```
//!
//! Strategies: `eager` bids the minimum whenever it does not lead and can
//! afford it; `proxy` leaves one max (its budget) per lot and waits;
//! `sniper` waits until the last 20 % of the run (or of a timed lot) and
//! then bids like `eager`. Every bid has its own id; the summary counts
//! outcomes by code and the bid → `bid_result` latency.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::ExitCode;

use crate::cli::run::{run_async, Threads};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::watch::ws_url;
use crate::cli::{NodeUrl, ScenarioArgs};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[serde(default)]
    nodes: Vec<String>,
    #[serde(default = "default_seconds")]
    seconds: u64,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    operator_token: Option<String>,
    #[serde(default)]
    sale: Option<SaleSection>,
    #[serde(default)]
    tokens: Vec<String>,
    #[serde(default)]
    bidders: Vec<Group>,
}

fn default_seconds() -> u64 {
    30
}

/// `sale = 3` (existing) or `[sale]` (create one).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SaleSection {
    Existing(u64),
    New(NewSale),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSale {
    #[serde(default = "default_title")]
    title: String,
    #[serde(default = "default_currency")]
    currency: String,
    #[serde(default = "one")]
    lots: usize,
    #[serde(default = "default_start")]
    start: String,
    #[serde(default = "default_mode")]
    mode: String,
    #[serde(default = "default_lot_seconds")]
    lot_seconds: u64,
    #[serde(default)]
    stagger_seconds: u64,
}

fn default_title() -> String {
    "Scenario sale".into()
}
fn default_currency() -> String {
    "EUR".into()
}
fn one() -> usize {
    1
}
fn default_start() -> String {
    "10.00".into()
}
fn default_mode() -> String {
    "live".into()
}
fn default_lot_seconds() -> u64 {
    15
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    #[serde(default = "one")]
    count: usize,
    #[serde(default = "default_strategy")]
    strategy: String,
    budget: [String; 2],
    #[serde(default = "default_think")]
    think_ms: [u64; 2],
}

fn default_strategy() -> String {
    "eager".into()
}
fn default_think() -> [u64; 2] {
    [200, 1500]
}

/// Parse and check a scenario file.
fn load(path: &Path) -> anyhow::Result<Scenario> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let s: Scenario = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid scenario", path.display()))?;
    if s.bidders.is_empty() {
        bail!("the scenario has no [[bidders]] group");
    }
    for g in &s.bidders {
        if !["eager", "proxy", "sniper"].contains(&g.strategy.as_str()) {
            bail!("unknown strategy `{}` (eager, proxy or sniper)", g.strategy);
        }
        if g.think_ms[0] > g.think_ms[1] {
            bail!("think_ms must be [low, high]");
        }
    }
    Ok(s)
}

fn minor(text: &str, exponent: u32) -> anyhow::Result<i64> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if frac.len() > exponent as usize {
        bail!("`{text}` has too many decimals");
    }
    let digits = format!("{int}{frac:0<width$}", width = exponent as usize);
    digits
        .parse()
        .with_context(|| format!("`{text}` is not an amount"))
}

fn decimal(m: i64, exponent: u32) -> String {
    super::bid::format_minor(m, exponent)
}

/// What the bidders share: the lots they see and the tally.
#[derive(Default)]
struct Board {
    outcomes: BTreeMap<String, u64>,
    latencies_us: Vec<u64>,
}

async fn call(
    http: &reqwest::Client,
    node: &NodeUrl,
    token: &str,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let url = node.url().join(path)?;
    crate::tools::bench::api::local::post(http, url.as_str(), token, body).await
}

/// Create the sale, its lots and the bidders: `(sale, tokens, lot ids)`.
async fn set_up(
    http: &reqwest::Client,
    node: &NodeUrl,
    op: &str,
    s: &NewSale,
    bidders: usize,
    seconds: u64,
) -> anyhow::Result<(u64, Vec<String>, Vec<u64>)> {
    // The sale's times are in cluster time, which need not be this machine's.
    let base = node.url().as_str().trim_end_matches('/').to_string();
    let now = crate::tools::bench::api::local::server_time_ms(http, &base).await?;
    let mode = match s.mode.as_str() {
        "live" => json!({"type": "live"}),
        "timed" => {
            json!({"type": "timed", "opens_at_ms": now, "closes_at_ms": now + seconds * 1000,
                          "stagger_ms": s.stagger_seconds * 1000})
        }
        other => bail!("mode `{other}`: live or timed"),
    };
    let v = call(
        http,
        node,
        op,
        "api/v1/sales",
        json!({"title": s.title, "currency": s.currency, "mode": mode, "premium_bp": 1500}),
    )
    .await?;
    let sale = v["sale"].as_u64().unwrap_or(0);
    let lots: Vec<Value> = (0..s.lots)
        .map(|i| json!({"title": format!("Lot {}", i + 1), "start": s.start}))
        .collect();
    let v = call(
        http,
        node,
        op,
        &format!("api/v1/sales/{sale}/lots"),
        json!({"lots": lots}),
    )
    .await?;
    let lot_ids: Vec<u64> = v["lots"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let mut tokens = Vec::new();
    for i in 0..bidders {
        let v = call(
            http,
            node,
            op,
            &format!("api/v1/sales/{sale}/bidders"),
            json!({"name": format!("Robot {}", i + 1), "approved": true}),
        )
        .await?;
        tokens.push(v["token"].as_str().unwrap_or_default().to_string());
    }
    Ok((sale, tokens, lot_ids))
}

/// The clerk of a live scenario: each lot gets `lot_seconds`, then it is
/// sold (or passed) and the next one opens.
async fn clerk(http: reqwest::Client, node: NodeUrl, op: String, lots: Vec<u64>, lot_seconds: u64) {
    for lot in lots {
        if let Err(e) = call(
            &http,
            &node,
            &op,
            &format!("api/v1/lots/{lot}/open"),
            json!({}),
        )
        .await
        {
            eprintln!("clerk: {e:#}");
        }
        tokio::time::sleep(Duration::from_secs(lot_seconds)).await;
        if call(
            &http,
            &node,
            &op,
            &format!("api/v1/lots/{lot}/sell"),
            json!({}),
        )
        .await
        .is_err()
        {
            let _ = call(
                &http,
                &node,
                &op,
                &format!("api/v1/lots/{lot}/pass"),
                json!({}),
            )
            .await;
        }
    }
}

/// One robot bidder until `end`.
#[allow(clippy::too_many_arguments)]
async fn bidder(
    url: String,
    token: String,
    sale: u64,
    group: Group,
    budget: i64,
    exponent: u32,
    end: Instant,
    sniping_from: Instant,
    seed: u64,
    board: Arc<Mutex<Board>>,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (ws, _) = tokio_tungstenite::connect_async(&url).await?;
    let (mut tx, mut rx) = ws.split();
    tx.send(Message::Text(
        json!({"type": "hello", "token": token}).to_string().into(),
    ))
    .await?;
    tx.send(Message::Text(
        json!({"type": "subscribe", "sale": sale})
            .to_string()
            .into(),
    ))
    .await?;
    let mut me: Option<u64> = None;
    let mut lots: HashMap<u64, (String, Option<u64>, i64)> = HashMap::new();
    let mut pending: HashMap<String, Instant> = HashMap::new();
    let mut proxied: Vec<u64> = Vec::new();
    let mut n = 0u64;
    let mut next_think = Instant::now();
    while Instant::now() < end {
        let wait = next_think.saturating_duration_since(Instant::now());
        tokio::select! {
            msg = rx.next() => {
                let Some(Ok(Message::Text(t))) = msg else { if msg.is_none() { bail!("connection closed") } continue };
                let v: Value = serde_json::from_str(&t)?;
                match v["type"].as_str() {
                    Some("welcome") => me = v["bidder"]["paddle"].as_u64(),
                    Some("snapshot") => for l in v["lots"].as_array().cloned().unwrap_or_default() {
                        lots.insert(l["lot"].as_u64().unwrap_or(0),
                            (l["status"].as_str().unwrap_or("").into(), l["leader"].as_u64(), l["minimum_next"].as_i64().unwrap_or(0)));
                    },
                    Some("event") | Some("events") => {
                        let recs = if v["type"] == "event" { vec![v.clone()] } else { v["events"].as_array().cloned().unwrap_or_default() };
                        for r in recs {
                            let e = &r["event"];
                            let lot = e["lot"].as_u64().unwrap_or(0);
                            let entry = lots.entry(lot).or_insert(("open".into(), None, 0));
                            match e["type"].as_str() {
                                Some("bid_accepted") => *entry = (e["status"].as_str().unwrap_or("open").into(), e["leader"].as_u64(), e["minimum_next"].as_i64().unwrap_or(0)),
                                Some("lot_opened") => *entry = ("open".into(), e["leader"].as_u64(), e["minimum_next"].as_i64().unwrap_or(0)),
                                Some("sold") => entry.0 = "sold".into(),
                                Some("passed") => entry.0 = "passed".into(),
                                _ => {}
                            }
                        }
                    }
                    Some("bid_result") => {
                        let id = v["bid_id"].as_str().unwrap_or("").to_string();
                        let key = match v["outcome"].as_str() {
                            Some("accepted") => "accepted".to_string(),
                            Some(o) => format!("{o}:{}", v["code"].as_str().unwrap_or("")),
                            None => "?".into(),
                        };
                        let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
                        *b.outcomes.entry(key).or_default() += 1;
                        if let Some(t) = pending.remove(&id) {
                            b.latencies_us.push(t.elapsed().as_micros() as u64);
                        }
                    }
                    _ => {}
                }
            }
            _ = tokio::time::sleep(wait) => {
                next_think = Instant::now() + Duration::from_millis(rng.gen_range(group.think_ms[0]..=group.think_ms[1]));
                if group.strategy == "sniper" && Instant::now() < sniping_from {
                    continue;
                }
                let open: Vec<(u64, i64)> = lots.iter()
                    .filter(|(_, (st, leader, min))| (st == "open" || st == "fair_warning") && *leader != me && *min <= budget)
                    .map(|(l, (_, _, min))| (*l, *min))
                    .collect();
                if open.is_empty() {
                    continue;
                }
                let (lot, min) = open[rng.gen_range(0..open.len())];
                let max = if group.strategy == "proxy" {
                    if proxied.contains(&lot) { continue; }
                    proxied.push(lot);
                    budget
                } else {
                    min
                };
                n += 1;
                let id = format!("s{seed}-{n}");
                pending.insert(id.clone(), Instant::now());
                let msg = json!({"type": "bid", "bid_id": id, "lot": lot, "max": decimal(max, exponent)});
                tx.send(Message::Text(msg.to_string().into())).await?;
            }
        }
    }
    Ok(())
}

async fn run(args: &ScenarioArgs) -> anyhow::Result<()> {
    let sc = load(&args.file)?;
    let nodes: Vec<NodeUrl> = if !args.nodes.is_empty() {
        args.nodes.clone()
    } else {
        sc.nodes
            .iter()
            .map(|n| n.parse().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?
    };
    let Some(first) = nodes.first().cloned() else {
        bail!("no node: give `nodes = [...]` in the file or --node URL");
    };
    let seed = args.seed.or(sc.seed).unwrap_or_else(rand::random);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let wanted: usize = sc.bidders.iter().map(|g| g.count).sum();
    let (sale, tokens, clerk_task) = match &sc.sale {
        Some(SaleSection::New(new)) => {
            let op = sc.operator_token.clone().or_else(|| std::env::var("PADDLE_OPERATOR_TOKEN").ok())
                .context("creating a sale needs the operator token (operator_token or PADDLE_OPERATOR_TOKEN)")?;
            let (sale, tokens, lots) = set_up(&http, &first, &op, new, wanted, sc.seconds).await?;
            println!(
                "created sale {sale} with {} lots and {} bidders",
                lots.len(),
                tokens.len()
            );
            let task = (new.mode == "live").then(|| {
                tokio::spawn(clerk(
                    http.clone(),
                    first.clone(),
                    op,
                    lots,
                    new.lot_seconds,
                ))
            });
            (sale, tokens, task)
        }
        Some(SaleSection::Existing(sale)) => (*sale, sc.tokens.clone(), None),
        None => bail!("give `sale = N` with `tokens`, or a [sale] section to create one"),
    };
    if tokens.len() < wanted {
        bail!(
            "{wanted} bidders need {wanted} tokens; the file has {}",
            tokens.len()
        );
    }
    let (_, exponent) = super::bid::currency_of(&http, &first, sale).await?;
    let board = Arc::new(Mutex::new(Board::default()));
    let started = Instant::now();
    let end = started + Duration::from_secs(sc.seconds);
    let sniping_from = started + Duration::from_secs(sc.seconds * 8 / 10);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tasks = Vec::new();
    let mut i = 0;
    for g in &sc.bidders {
        let (lo, hi) = (
            minor(&g.budget[0], exponent)?,
            minor(&g.budget[1], exponent)?,
        );
        for _ in 0..g.count {
            let url = ws_url(&nodes[i % nodes.len()])?;
            let budget = rng.gen_range(lo.min(hi)..=hi.max(lo));
            tasks.push(tokio::spawn(bidder(
                url,
                tokens[i].clone(),
                sale,
                g.clone(),
                budget,
                exponent,
                end,
                sniping_from,
                seed.wrapping_add(i as u64),
                board.clone(),
            )));
            i += 1;
        }
    }
    for t in tasks {
        if let Ok(Err(e)) = t.await {
            eprintln!("a bidder stopped early: {e:#}");
        }
    }
    if let Some(t) = clerk_task {
        t.abort();
    }
    let (outcomes, mut lat) = {
        let b = board.lock().unwrap_or_else(|p| p.into_inner());
        (b.outcomes.clone(), b.latencies_us.clone())
    };
    let total: u64 = outcomes.values().sum();
    println!(
        "{total} bids in {:.1} s over {} node(s)",
        started.elapsed().as_secs_f64(),
        nodes.len()
    );
    for (k, n) in &outcomes {
        println!("  {k:<32} {n}");
    }
    lat.sort_unstable();
    if !lat.is_empty() {
        let p = |q: f64| lat[((lat.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
        println!(
            "bid → bid_result: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            p(0.5),
            p(0.99),
            p(1.0)
        );
    }
    let url = first
        .url()
        .join(&format!("api/v1/sales/{sale}/results.csv"))?;
    if let Ok(r) = http.get(url).send().await {
        println!(
            "results of sale {sale}:\n{}",
            r.text().await.unwrap_or_default()
        );
    }
    Ok(())
}

/// `paddle scenario`.
pub fn scenario(args: &ScenarioArgs) -> ExitCode {
    run_async("scenario", Threads::PerCore, async {
        run(args).await.map(|()| ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let text = r#"
            nodes = ["http://127.0.0.1:8080"]
            seconds = 5
            [sale]
            title = "Demo"
            lots = 2
            [[bidders]]
            count = 3
            strategy = "proxy"
            budget = ["50.00", "200.00"]
        "#;
        let s: Scenario = toml::from_str(text).unwrap();
        assert!(matches!(
            s.sale,
            Some(SaleSection::New(NewSale { lots: 2, .. }))
        ));
        assert_eq!(s.bidders[0].count, 3);
        assert_eq!(minor("12.5", 2).unwrap(), 1250);
        assert_eq!(minor("7", 0).unwrap(), 7);
        assert!(minor("1.234", 2).is_err());
    }
}
