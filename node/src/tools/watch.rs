//! `paddle watch`: print a sale's live events from a node's WebSocket.
//!
//! Resumable: `--since N` replays everything after index N first, and when
//! the connection drops the command reconnects with `since` = the last
//! index it printed, so nothing is missed or printed twice.

use std::process::ExitCode;

use crate::cli::run::{run_async, Threads};
use std::time::Duration;

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::bid::format_minor;
use crate::cli::{NodeUrl, WatchArgs};

/// The WebSocket URL of a node (`http://h:p/` → `ws://h:p/ws`).
pub fn ws_url(node: &NodeUrl) -> anyhow::Result<String> {
    let u = node.url();
    match (u.scheme(), u.host_str(), u.port_or_known_default()) {
        ("http", Some(host), Some(port)) => Ok(format!("ws://{host}:{port}/ws")),
        _ => bail!(
            "{node}: this paddle build talks plain ws:// to nodes; use the node's http:// URL"
        ),
    }
}

/// Marks the one error that stops the watch instead of reconnecting.
const NO_SALE: &str = "does not exist";

/// Amount formatting for one sale.
struct Money {
    code: String,
    exponent: u32,
}

impl Money {
    fn show(&self, v: &Value) -> String {
        match v.as_i64() {
            Some(m) => format!("{} {}", format_minor(m, self.exponent), self.code),
            None => "-".into(),
        }
    }
}

/// One event as a line for people.
fn describe(m: &Money, rec: &Value) -> String {
    let e = &rec["event"];
    let lot = &e["lot"];
    let what = match e["type"].as_str().unwrap_or("?") {
        "bid_accepted" => format!(
            "lot {lot}: paddle {} bid, price {} (leader {}, next at least {})",
            e["paddle"],
            m.show(&e["price"]),
            e["leader"],
            m.show(&e["minimum_next"])
        ),
        "outbid" => format!("lot {lot}: you were outbid at {}", m.show(&e["price"])),
        "lot_opened" => format!(
            "lot {lot}: open, first bid at least {}",
            m.show(&e["minimum_next"])
        ),
        "lot_extended" => format!("lot {lot}: extended to {}", e["effective_end_ms"]),
        "fair_warning" => format!("lot {lot}: fair warning at {}", m.show(&e["price"])),
        "sold" => format!(
            "lot {lot}: SOLD to paddle {} for {} (total {})",
            e["paddle"],
            m.show(&e["hammer"]),
            m.show(&e["total"])
        ),
        "passed" => format!("lot {lot}: passed ({})", e["reason"].as_str().unwrap_or("")),
        other => format!("{other} {e}"),
    };
    format!("#{}.{} {what}", rec["index"], rec["seq"])
}

/// Watch until the user stops it; reconnects with `since`.
async fn run(args: &WatchArgs) -> anyhow::Result<()> {
    let sale: u64 = args
        .sale
        .parse()
        .map_err(|_| anyhow::anyhow!("--sale must be a number, not `{}`", args.sale))?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let (code, exponent) = super::bid::currency_of(&http, &args.node.node, sale)
        .await
        .with_context(|| format!("reading sale {sale} from {}", args.node.node))?;
    let money = Money { code, exponent };
    let url = ws_url(&args.node.node)?;
    let mut since = args.since;
    loop {
        match session(&url, sale, &mut since, &money, args.json).await {
            Ok(()) => eprintln!("paddle watch: the node closed the connection; reconnecting"),
            Err(e) if e.to_string().contains(NO_SALE) => return Err(e),
            Err(e) => eprintln!("paddle watch: {e:#}; reconnecting"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn session(
    url: &str,
    sale: u64,
    since: &mut Option<u64>,
    money: &Money,
    raw: bool,
) -> anyhow::Result<()> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .with_context(|| format!("cannot open {url}"))?;
    let mut hello = json!({"type": "hello"});
    let mut sub = json!({"type": "subscribe", "sale": sale});
    if let Some(s) = *since {
        hello["since"] = json!(s);
        sub["since"] = json!(s);
    }
    ws.send(Message::Text(hello.to_string().into())).await?;
    ws.send(Message::Text(sub.to_string().into())).await?;
    while let Some(msg) = ws.next().await {
        let text = match msg? {
            Message::Text(t) => t,
            Message::Close(_) => return Ok(()),
            _ => continue,
        };
        if raw {
            println!("{text}");
        }
        let v: Value = serde_json::from_str(&text)?;
        let records: Vec<Value> = match v["type"].as_str() {
            Some("event") => vec![v.clone()],
            Some("events") => v["events"].as_array().cloned().unwrap_or_default(),
            Some("snapshot") => {
                *since = v["index"].as_u64().or(*since);
                if !raw {
                    println!(
                        "snapshot of sale {sale} \"{}\" at index {}: {} lots",
                        v["sale"]["title"].as_str().unwrap_or(""),
                        v["index"],
                        v["lots"].as_array().map_or(0, Vec::len)
                    );
                }
                Vec::new()
            }
            Some("subscribed") => {
                *since = v["index"].as_u64().or(*since);
                if !raw {
                    println!(
                        "live from index {} (replayed {})",
                        v["index"], v["replayed"]
                    );
                }
                Vec::new()
            }
            Some("node_status") if !raw && v["stale"] == true => {
                println!(
                    "node is STALE: as of index {}, {}s since the leader was heard",
                    v["applied_index"], v["leader_contact_secs"]
                );
                Vec::new()
            }
            Some("error") => {
                if !raw {
                    eprintln!(
                        "error [{}]: {}",
                        v["code"].as_str().unwrap_or(""),
                        v["message"].as_str().unwrap_or("")
                    );
                }
                if v["code"] == "unknown_sale" {
                    bail!("sale {sale} {NO_SALE}");
                }
                Vec::new()
            }
            _ => Vec::new(),
        };
        for r in records {
            if !raw {
                println!("{}", describe(money, &r));
            }
            *since = r["index"].as_u64().or(*since);
        }
    }
    Ok(())
}

/// `paddle watch`.
pub fn watch(args: &WatchArgs) -> ExitCode {
    run_async("watch", Threads::One, async {
        tokio::select! {
            r = run(args) => r.map(|()| ExitCode::SUCCESS),
            _ = tokio::signal::ctrl_c() => Ok(ExitCode::SUCCESS),
        }
    })
}
