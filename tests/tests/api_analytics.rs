//! Sale analytics over a real 3-node cluster: a scripted live sale (bids
//! through every node, a sale, a pass); every node answers the same
//! figures at the same index, and they match a direct count of the sale's
//! stored events; the public answer has no names and no per-bidder table;
//! the CSV tables keep their role rules and neutralise formula cells; the
//! watchers series is the answering node's own; a bidder's own history
//! holds their win and spend.

mod api_support;

use api_support::Cluster;
use serde_json::{json, Value};

const FAST_BIDDERS: &[&str] = &[
    "--limits-bids-per-second-per-bidder",
    "100",
    "--limits-bids-per-second-per-connection",
    "100",
];

async fn bid(c: &Cluster, node: usize, token: &str, lot: u64, id: &str, max: &str) -> u64 {
    let (s, v) = c
        .post(
            &format!("{}/api/v1/lots/{lot}/bids", c.url(node)),
            Some(token),
            json!({"bid_id": id, "max": max}),
        )
        .await;
    assert_eq!(s, 200, "bid {id}: {v}");
    v["index"].as_u64().unwrap()
}

async fn clerk(c: &Cluster, node: usize, lot: u64, action: &str) -> u64 {
    let (s, v) = c
        .post(
            &format!("{}/api/v1/lots/{lot}/{action}", c.url(node)),
            Some(&c.operator),
            json!({}),
        )
        .await;
    assert_eq!(s, 200, "{action} {lot}: {v}");
    v["index"].as_u64().unwrap()
}

/// CSV text of a table (status, body).
async fn csv(
    c: &Cluster,
    node: usize,
    sale: u64,
    table: &str,
    token: Option<&str>,
) -> (u16, String) {
    let mut req = c.http.get(format!(
        "{}/api/v1/sales/{sale}/analytics.csv?table={table}",
        c.url(node)
    ));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_derives_the_same_figures_and_they_match_the_events() {
    let c = Cluster::start(3, FAST_BIDDERS).await;
    let (sale, lots, tokens) = c.live_sale(2, 3).await;
    let (a, b) = (lots[0], lots[1]);
    // A bidder whose name a spreadsheet would run as a formula.
    let (s, v) = c
        .post(
            &format!("{}/api/v1/sales/{sale}/bidders", c.url(0)),
            Some(&c.operator),
            json!({"name": "@SUM(1+1)", "approved": true}),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    // Lot a: four bids through three nodes, sold. Lot b: one bid, passed.
    bid(&c, 0, &tokens[0], a, "a1", "12.00").await;
    bid(&c, 1, &tokens[1], a, "a2", "13.00").await;
    bid(&c, 2, &tokens[0], a, "a3", "18.00").await;
    bid(&c, 1, &tokens[2], a, "a4", "25.00").await;
    clerk(&c, 2, a, "sell").await;
    clerk(&c, 0, b, "open").await;
    bid(&c, 2, &tokens[1], b, "b1", "11.00").await;
    let last = clerk(&c, 1, b, "pass").await;

    // The same figures on every node at that index.
    let mut answers: Vec<Value> = Vec::new();
    for i in 0..3 {
        let (s, v) = c
            .get(
                &format!(
                    "{}/api/v1/sales/{sale}/analytics?min_index={last}",
                    c.url(i)
                ),
                Some(&c.operator),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["audience"], "staff");
        answers.push(v);
    }
    // Nothing touches the sale after `last`, so every node that has
    // applied it must give the same figures, whatever else it applied.
    for (i, v) in answers.iter().enumerate() {
        assert!(v["applied_index"].as_u64().unwrap() >= last);
        assert_eq!(v["analytics"], answers[0]["analytics"], "node {i} differs");
    }
    // The watchers series is each node's own.
    let mut samplers: Vec<u64> = answers
        .iter()
        .map(|v| v["watchers"]["node"].as_u64().unwrap())
        .collect();
    samplers.sort();
    samplers.dedup();
    assert_eq!(samplers.len(), 3);

    // A direct count of the stored public events.
    let (s, ev) = c
        .get(
            &format!("{}/api/v1/sales/{sale}/events?min_index={last}", c.url(2)),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let events: Vec<Value> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].clone())
        .collect();
    let of = |t: &'static str| events.iter().filter(move |e| e["type"] == t);
    let an = &answers[0]["analytics"];
    let sum = &an["summary"];
    assert_eq!(
        sum["bids"],
        of("bid_accepted").count() - of("retracted").count()
    );
    assert_eq!(sum["bids"], 5);
    assert_eq!(sum["sold"], of("sold").count());
    assert_eq!(sum["passed"], of("passed").count());
    assert_eq!(sum["sell_through_bp"], 5_000);
    let total = |k: &str| of("sold").map(|e| e[k].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum["hammer_total"], total("hammer"));
    assert_eq!(sum["premium_total"], total("premium"));
    assert_eq!(sum["total"], total("total"));
    assert_eq!(sum["registered"], 4);
    assert_eq!(sum["active_bidders"], 3);
    for l in an["lots"].as_array().unwrap() {
        let lot = &l["lot"];
        let on_lot: Vec<&Value> = of("bid_accepted").filter(|e| &e["lot"] == lot).collect();
        assert_eq!(l["bids"], on_lot.len());
        let mut paddles: Vec<u64> = on_lot
            .iter()
            .map(|e| e["paddle"].as_u64().unwrap())
            .collect();
        paddles.sort();
        paddles.dedup();
        assert_eq!(l["unique_bidders"], paddles.len());
    }
    let sold = of("sold").next().unwrap();
    let lot_a = &an["lots"][0];
    assert_eq!(lot_a["winner"], sold["paddle"]);
    assert_eq!(lot_a["hammer"], sold["hammer"]);
    assert_eq!(lot_a["status"], "sold");
    let by_bids: u64 = an["top_by_bids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["bids"].as_u64().unwrap())
        .sum();
    assert_eq!(by_bids, 5);
    assert_eq!(an["top_by_spend"][0]["paddle"], sold["paddle"]);
    assert_eq!(an["top_by_spend"][0]["spend"], sold["total"]);
    assert_eq!(
        an["bids_over_time"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["bids"].as_u64().unwrap())
            .sum::<u64>(),
        5
    );
    let outbid_for = |p: &Value| {
        // `outbid` is never in the public stream: it goes to its paddle only.
        p["outbid"].as_u64().unwrap()
    };
    let bidders = an["bidders"].as_array().unwrap();
    assert_eq!(bidders.len(), 4);
    assert!(bidders.iter().map(outbid_for).sum::<u64>() >= 2);
    assert!(bidders.iter().any(|b| b["name"] == "@SUM(1+1)"));

    // The public see the same figures, without names or the bidder table;
    // a bidder's token is public too.
    for token in [None, Some(tokens[0].as_str())] {
        let (s, v) = c
            .get(
                &format!(
                    "{}/api/v1/sales/{sale}/analytics?min_index={last}",
                    c.url(1)
                ),
                token,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["audience"], "public");
        assert_eq!(v["analytics"]["bidders"], json!([]));
        assert!(v["analytics"]["top_by_spend"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["name"].is_null()));
        assert_eq!(v["analytics"]["summary"], *sum);
    }
    let (s, v) = c
        .get(&format!("{}/api/v1/sales/999/analytics", c.url(0)), None)
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("unknown_sale"))
    );
    let (s, _) = c
        .get(
            &format!("{}/api/v1/sales/{sale}/analytics", c.url(0)),
            Some("pdb_nobody"),
        )
        .await;
    assert_eq!(s, 401);

    // CSV: every table for staff; the bidder table is theirs only; a name
    // that is a formula is neutralised.
    for table in [
        "summary",
        "lots",
        "bidders",
        "top_spend",
        "top_bids",
        "bids_over_time",
        "watchers",
    ] {
        let (s, text) = csv(&c, 0, sale, table, Some(&c.operator)).await;
        assert_eq!(s, 200, "{table}: {text}");
        assert!(text.lines().count() >= 1, "{table}");
    }
    let (_, text) = csv(&c, 0, sale, "bidders", Some(&c.operator)).await;
    assert!(
        text.contains(",\"'@SUM(1+1)\",") || text.contains(",'@SUM(1+1),"),
        "{text}"
    );
    let (s, _) = csv(&c, 0, sale, "bidders", None).await;
    assert_eq!(s, 403);
    let (s, _) = csv(&c, 0, sale, "bidders", Some(&tokens[0])).await;
    assert_eq!(s, 403);
    let (s, text) = csv(&c, 1, sale, "lots", None).await;
    assert_eq!(s, 200);
    assert!(text.starts_with("lot,position,title,status,"), "{text}");
    assert_eq!(text.lines().count(), 3);
    let (s, _) = csv(&c, 0, sale, "everything", None).await;
    assert_eq!(s, 400);

    // A bidder's own history: the winner's win and spend, through any node.
    let winner = sold["paddle"].as_u64().unwrap() as usize - 1;
    let (s, h) = c
        .get(
            &format!("{}/api/v1/me/history?min_index={last}", c.url(2)),
            Some(&tokens[winner]),
        )
        .await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(h["history"]["wins"].as_array().unwrap().len(), 1);
    assert_eq!(h["history"]["spend"], sold["total"]);
    assert_eq!(h["history"]["wins"][0]["hammer"], sold["hammer"]);
    let (s, _) = c
        .get(
            &format!("{}/api/v1/me/history", c.url(0)),
            Some(&c.operator),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = c
        .get(&format!("{}/api/v1/me/history", c.url(0)), None)
        .await;
    assert_eq!(s, 401);
    c.pass();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchers_series_is_sampled_by_the_answering_node() {
    let c = Cluster::start(1, &[]).await;
    let (sale, _, _) = c.live_sale(1, 1).await;
    let mut watcher = api_support::Ws::hello(&c.ws_url(0), None, None).await;
    watcher.subscribe(sale, None).await;
    // Presence is announced every 2 s; the first announcement is sampled.
    let found = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        loop {
            let (_, v) = c
                .get(&format!("{}/api/v1/sales/{sale}/analytics", c.url(0)), None)
                .await;
            let samples = v["watchers"]["samples"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if let Some(s) = samples.last() {
                return (v["watchers"].clone(), s.clone());
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    })
    .await
    .expect("a watchers sample within a minute");
    let (series, sample) = found;
    assert_eq!(sample["watchers"], 1, "{series}");
    assert_eq!(series["every_ms"], 10_000);
    let (_, st) = c.get(&format!("{}/api/v1/cluster", c.url(0)), None).await;
    assert_eq!(series["node"], st["nodes"][0]["id"], "{st}");
    drop(watcher);
    c.pass();
}
