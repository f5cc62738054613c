//! Settlement on a real 3-node cluster (issue 13): a lot sold through one
//! node, paid for through another, the invoice identical on all three; a
//! payment taken while a node is down is on it after it restarts; bad
//! input refused with a clear code and nothing changed; the bidder reads
//! their own invoice and nobody else's; CSV exports neutralise formulas.

mod api_support;

use api_support::Cluster;
use serde_json::{json, Value};

/// The invoice as node `i` serves it once it has applied `index`.
async fn invoice_on(c: &Cluster, i: usize, sale: u64, paddle: u64, index: u64) -> Value {
    let url = format!(
        "{}/api/v1/sales/{sale}/invoices/{paddle}?min_index={index}",
        c.url(i)
    );
    let (s, v) = c.get(&url, Some(c.operator.as_str())).await;
    assert_eq!(s, 200, "node {i}: {v}");
    v["invoice"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_on_any_node_is_on_every_invoice() {
    let mut c = Cluster::start(3, &[]).await;
    let op = c.operator.clone();
    let op = Some(op.as_str());
    let (sale, lots, tokens) = c.live_sale(2, 2).await;
    let (n0, n1) = (c.url(0), c.url(1));

    // Terms and a consignor, through node 0.
    let (s, v) = c
        .post(
            &format!("{n0}/api/v1/sales/{sale}/settlement"),
            op,
            json!({"tax_bp": 2000, "tax_on": "premium", "commission_bp": 1000,
                   "house_name": "Quay Auctions", "house_address": "1 Quay\nPort"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = c
        .post(
            &format!("{n0}/api/v1/consignors"),
            op,
            json!({"name": "=Ann", "contact": "ann@example.org"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let ann = v["consignor"]["id"].as_u64().unwrap();
    let (s, v) = c
        .post(
            &format!("{n0}/api/v1/sales/{sale}/lot-consignors"),
            op,
            json!({"lots": [{"lot": lots[0], "consignor": ann}, {"lot": lots[1], "consignor": ann}]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    // Lot 0 sold to paddle 1 at 100.00 through node 0 (premium 10 %, tax
    // 20 % of the premium): 100 + 10 + 2 = 112.00.
    let (s, v) = c
        .post(
            &format!("{n0}/api/v1/lots/{}/floor-bid", lots[0]),
            op,
            json!({"bid_id": "f1", "paddle": 1, "amount": "100.00"}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = c
        .post(&format!("{n0}/api/v1/lots/{}/sell", lots[0]), op, json!({}))
        .await;
    assert_eq!(s, 200, "{v}");

    // A clerk takes a part payment through node 1.
    let (s, v) = c
        .post(
            &format!("{n0}/api/v1/clerks"),
            op,
            json!({"label": "cashier"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let clerk = v["token"].as_str().unwrap().to_string();
    let pay_url = format!("{n1}/api/v1/sales/{sale}/invoices/1/payments");
    let first = json!({"payment_id": "cash-1", "amount": "50.00", "method": "cash"});
    let (s, v) = c.post(&pay_url, Some(clerk.as_str()), first.clone()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["invoice"]["status"], "part_paid", "{v}");
    assert_eq!(v["invoice"]["total"], 11_200, "{v}");
    assert_eq!(v["invoice"]["balance"], 6_200, "{v}");
    let index = v["index"].as_u64().unwrap();
    // The same payment id again changes nothing.
    let (s, again) = c.post(&pay_url, Some(clerk.as_str()), first).await;
    assert_eq!(s, 201, "{again}");
    assert_eq!(again["invoice"]["payments"].as_array().unwrap().len(), 1);

    let mut seen = Vec::new();
    for i in 0..3 {
        seen.push(invoice_on(&c, i, sale, 1, index).await);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1], seen[2]);
    assert_eq!(seen[0]["house_name"], "Quay Auctions");

    // Bad input: a clear code, and nothing changed.
    let before = c.state_hash(0).await;
    let bad: Vec<(String, Option<&str>, Value, u16, &str)> = vec![
        (
            pay_url.clone(),
            Some(clerk.as_str()),
            json!({"payment_id": "r1", "amount": "-5.00", "method": "cash", "reason": "x"}),
            403,
            "forbidden",
        ),
        (
            pay_url.clone(),
            Some(clerk.as_str()),
            json!({"payment_id": "m1", "amount": "12.5.0", "method": "cash"}),
            400,
            "invalid_amount",
        ),
        (
            pay_url.clone(),
            Some(clerk.as_str()),
            json!({"payment_id": "m2", "amount": "1.001", "method": "cash"}),
            400,
            "invalid_amount",
        ),
        (
            pay_url.clone(),
            Some(clerk.as_str()),
            json!({"payment_id": "m3", "amount": "0", "method": "cash"}),
            400,
            "invalid_amount",
        ),
        (
            pay_url.clone(),
            Some(clerk.as_str()),
            json!({"payment_id": "m4", "amount": "5", "method": "cheque"}),
            400,
            "bad_json",
        ),
        (
            pay_url.clone(),
            op,
            json!({"payment_id": "r2", "amount": "-5.00", "method": "cash"}),
            400,
            "invalid_input",
        ),
        (
            pay_url.clone(),
            Some(tokens[0].as_str()),
            json!({"payment_id": "b1", "amount": "5.00", "method": "cash"}),
            403,
            "forbidden",
        ),
        (
            pay_url.clone(),
            Some(clerk.as_str()),
            json!({"payment_id": "cash-1", "amount": "51.00", "method": "cash"}),
            409,
            "duplicate",
        ),
        (
            format!("{n1}/api/v1/sales/{sale}/invoices/99/payments"),
            Some(clerk.as_str()),
            json!({"payment_id": "u1", "amount": "5.00", "method": "cash"}),
            403,
            "not_registered",
        ),
        (
            format!("{n1}/api/v1/sales/{sale}/invoices/2/payments"),
            Some(clerk.as_str()),
            json!({"payment_id": "w1", "amount": "5.00", "method": "cash"}),
            404,
            "nothing_won",
        ),
        (
            format!("{n1}/api/v1/sales/{sale}/invoices/1/collected"),
            Some(clerk.as_str()),
            json!({"lot": lots[0]}),
            409,
            "balance_due",
        ),
        (
            format!("{n1}/api/v1/sales/{sale}/invoices/1/collected"),
            Some(clerk.as_str()),
            json!({"lot": lots[0], "override_reason": "friend"}),
            403,
            "forbidden",
        ),
        (
            format!("{n0}/api/v1/consignors"),
            op,
            json!({"name": "=ANN "}),
            409,
            "duplicate",
        ),
        (
            format!("{n0}/api/v1/consignors"),
            Some(clerk.as_str()),
            json!({"name": "Bo"}),
            403,
            "forbidden",
        ),
    ];
    for (url, token, body, status, code) in bad {
        let (s, v) = c.post(&url, token, body.clone()).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{url} {body}: {v}"
        );
    }
    let (s, v) = c
        .call(
            reqwest::Method::PUT,
            &format!("{n0}/api/v1/lots/{}", lots[1]),
            op,
            Some(json!({"title": "Lot 1", "start": "10.00", "consignor": ann})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_input")),
        "{v}"
    );
    assert_eq!(before, c.state_hash(0).await, "a refusal changed the state");

    // Node 2 goes down; the rest is paid through node 1; goods released.
    c.kill(2);
    let (s, v) = c
        .post(
            &pay_url,
            Some(clerk.as_str()),
            json!({"payment_id": "card-2", "amount": "62.00", "method": "card", "reference": "slip 7"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["invoice"]["status"], "paid", "{v}");
    let collect = format!("{n1}/api/v1/sales/{sale}/invoices/1/collected");
    let (s, v) = c
        .post(&collect, Some(clerk.as_str()), json!({"lot": lots[0]}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["invoice"]["lines"][0]["collected"], true, "{v}");
    let index = v["index"].as_u64().unwrap();
    let before = c.state_hash(0).await;
    let (s, v) = c
        .post(&collect, Some(clerk.as_str()), json!({"lot": lots[0]}))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("already_collected")),
        "{v}"
    );
    assert_eq!(before, c.state_hash(0).await);

    c.restart(2).await;
    let after = invoice_on(&c, 2, sale, 1, index).await;
    assert_eq!(after, invoice_on(&c, 0, sale, 1, index).await);
    assert_eq!(after["status"], "paid");
    assert_eq!(after["payments"].as_array().unwrap().len(), 2);
    assert_eq!(c.state_hash(2).await, c.state_hash(0).await);

    // The bidder reads their own invoice, never another's.
    let own = format!("{n1}/api/v1/sales/{sale}/invoices/1");
    let (s, v) = c.get(&own, Some(tokens[0].as_str())).await;
    assert_eq!((s, &v["invoice"]["total"]), (200, &json!(11_200)), "{v}");
    let (s, v) = c.get(&own, Some(tokens[1].as_str())).await;
    assert_eq!(s, 403, "{v}");

    // Statement, summary and CSV exports.
    let (s, v) = c
        .get(
            &format!("{n0}/api/v1/sales/{sale}/consignors/{ann}/statement"),
            op,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["statement"]["hammer"], 10_000);
    assert_eq!(v["statement"]["commission"], 1_000);
    assert_eq!(v["statement"]["net"], 9_000);
    let (s, v) = c
        .get(&format!("{n0}/api/v1/sales/{sale}/settlement"), op)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["summary"]["paid"], 11_200, "{v}");
    assert_eq!(v["summary"]["outstanding"], 0, "{v}");
    let (s, text) = c
        .get(
            &format!("{n0}/api/v1/sales/{sale}/statements.csv"),
            Some(clerk.as_str()),
        )
        .await;
    assert_eq!(s, 200);
    assert!(text.as_str().unwrap().contains(",'=Ann,"), "{text}");
    let (s, text) = c
        .get(
            &format!("{n0}/api/v1/sales/{sale}/payments.csv"),
            Some(clerk.as_str()),
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        text.as_str().unwrap().contains("card-2,62.00,card,slip 7"),
        "{text}"
    );
    c.pass();
}
