//! `paddle bid`: place one bid through a node's public REST API and print
//! its explicit outcome.
//!
//! Exit codes: 0 accepted, 1 rejected or unknown (the message says which,
//! and how to retry safely with the same `--bid-id`), 2 unusable arguments.

use std::process::ExitCode;

use crate::cli::run::{run_async, Threads};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use serde_json::{json, Value};

use crate::cli::{BidArgs, NodeUrl};

/// Format integer minor units with the currency's decimals.
pub fn format_minor(minor: i64, exponent: u32) -> String {
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(exponent);
    format!(
        "{}.{:0width$}",
        minor / scale,
        minor % scale,
        width = exponent as usize
    )
}

/// A sale's currency code and exponent, from any node.
pub async fn currency_of(
    http: &reqwest::Client,
    node: &NodeUrl,
    sale: u64,
) -> anyhow::Result<(String, u32)> {
    let url = node.url().join(&format!("api/v1/sales/{sale}"))?;
    let v: Value = http.get(url).send().await?.json().await?;
    if let Some(e) = v.get("error") {
        bail!(
            "{} [{}]",
            e["message"].as_str().unwrap_or(""),
            e["code"].as_str().unwrap_or("")
        );
    }
    Ok((
        v["sale"]["currency"].as_str().unwrap_or("").to_string(),
        v["sale"]["currency_exponent"].as_u64().unwrap_or(2) as u32,
    ))
}

fn parse_u64(what: &str, s: &str) -> anyhow::Result<u64> {
    s.parse()
        .map_err(|_| anyhow!("{what} must be a number (as shown by the API), not `{s}`"))
}

async fn run(args: &BidArgs) -> anyhow::Result<bool> {
    let sale = parse_u64("--sale", &args.sale)?;
    let lot = parse_u64("--lot", &args.lot)?;
    let bid_id = args
        .bid_id
        .clone()
        .unwrap_or_else(|| format!("cli-{:016x}", rand::random::<u64>()));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let (code, exponent) = currency_of(&http, &args.node.node, sale)
        .await
        .with_context(|| format!("reading sale {sale} from {}", args.node.node))?;
    let url = args
        .node
        .node
        .url()
        .join(&format!("api/v1/lots/{lot}/bids"))?;
    let body = json!({"bid_id": bid_id, "max": args.amount.as_str(), "buy_now": args.buy_now});
    let resp = http
        .post(url)
        .bearer_auth(args.token.expose())
        .json(&body)
        .send()
        .await
        .with_context(|| format!("cannot reach {}", args.node.node))?;
    let v: Value = resp.json().await.context("the node's answer is not JSON")?;
    let result = v.get("bid_result").cloned().unwrap_or_else(|| v.clone());
    let money = |m: &Value| {
        m.as_i64()
            .map(|m| format!("{} {code}", format_minor(m, exponent)))
            .unwrap_or_else(|| "-".into())
    };
    match result["outcome"].as_str() {
        Some("accepted") => {
            let l = &result["lot"];
            let lead = if result["leading"] == true {
                "you lead"
            } else {
                "you do not lead"
            };
            println!(
                "accepted: bid {bid_id} on lot {lot}; price {}, {lead}; next bid at least {} (index {})",
                money(&l["price"]),
                money(&l["minimum_next"]),
                result["index"]
            );
            Ok(true)
        }
        Some("unknown") => {
            println!(
                "unknown: {} — run the same command with --bid-id {bid_id} to learn the outcome (never a second bid)",
                result["message"].as_str().unwrap_or("")
            );
            Ok(false)
        }
        Some(_) => {
            println!(
                "rejected [{}]: {} (bid {bid_id})",
                result["code"].as_str().unwrap_or("?"),
                result["message"].as_str().unwrap_or("")
            );
            Ok(false)
        }
        None => match v.get("error") {
            Some(e) => {
                println!(
                    "refused [{}]: {}",
                    e["code"].as_str().unwrap_or("?"),
                    e["message"].as_str().unwrap_or("")
                );
                Ok(false)
            }
            None => bail!("unexpected answer: {v}"),
        },
    }
}

/// `paddle bid`.
pub fn bid(args: &BidArgs) -> ExitCode {
    run_async("bid", Threads::One, async {
        Ok::<_, anyhow::Error>(match run(args).await? {
            true => ExitCode::SUCCESS,
            false => ExitCode::FAILURE,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_format_with_the_currency_decimals() {
        assert_eq!(format_minor(1250, 2), "12.50");
        assert_eq!(format_minor(5, 2), "0.05");
        assert_eq!(format_minor(1250, 0), "1250");
        assert_eq!(format_minor(1250, 3), "1.250");
    }
}
