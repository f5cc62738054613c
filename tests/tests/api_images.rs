//! Lot photos over a real 2-node cluster: the operator uploads a photo to
//! one node and every node serves it; watchers hear about it; every bad
//! upload is refused with its code and changes nothing.

mod api_support;

use api_support::{Cluster, Ws};
use paddle_tests::TINY_PNG;
use serde_json::Value;

/// `PUT /api/v1/lots/{lot}/image` with this body and type: `(status, JSON)`.
async fn put(
    c: &Cluster,
    node: usize,
    lot: u64,
    token: Option<&str>,
    mime: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut req = c
        .http
        .put(format!("{}/api/v1/lots/{lot}/image", c.url(node)))
        .header("content-type", mime)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("node answers");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_are_replicated_served_everywhere_and_checked() {
    let c = Cluster::start(2, &[]).await;
    let (sale, lots, tokens) = c.live_sale(1, 1).await;
    let lot = lots[0];
    let op = Some(c.operator.as_str());
    let mut watcher = Ws::hello(&c.ws_url(1), None, None).await;
    watcher.subscribe(sale, None).await;
    let before = c.state_hash(0).await;

    // Refusals, each with its code; nothing changes.
    let jpeg_bytes = b"\xFF\xD8\xFF\xE0 not really a photo".to_vec();
    let mut huge = TINY_PNG.to_vec();
    huge.resize(256 * 1024 + 1, 0);
    let cases: Vec<(Option<&str>, &str, Vec<u8>, u16, &str)> = vec![
        (None, "image/png", TINY_PNG.to_vec(), 401, "unauthorized"),
        (
            Some(&tokens[0]),
            "image/png",
            TINY_PNG.to_vec(),
            403,
            "forbidden",
        ),
        (
            op,
            "text/html",
            b"<script>".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (op, "image/png", jpeg_bytes, 400, "invalid_image"),
        (op, "image/gif", b"GIF? no".to_vec(), 400, "invalid_image"),
        (op, "image/png", Vec::new(), 400, "invalid_image"),
        (op, "image/png", huge, 413, "image_too_large"),
    ];
    for (token, mime, body, status, code) in cases {
        let (s, v) = put(&c, 0, lot, token, mime, body).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (status, Some(code)),
            "{mime}: {v}"
        );
    }
    let (s, v) = put(&c, 0, 999_999, op, "image/png", TINY_PNG.to_vec()).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("unknown_lot")),
        "{v}"
    );
    assert_eq!(c.state_hash(0).await, before, "refusals change nothing");
    let (s, v) = c
        .get(&format!("{}/api/v1/lots/{lot}/image", c.url(1)), None)
        .await;
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("no_image")));

    // Upload through node 1 (a follower or the leader); node 2 serves it.
    let (s, v) = put(&c, 0, lot, op, "image/png", TINY_PNG.to_vec()).await;
    assert_eq!(s, 200, "{v}");
    let index = v["index"].as_u64().unwrap();
    let url = format!("/api/v1/lots/{lot}/image?v={index}");
    let (_, got) = c
        .get(
            &format!("{}/api/v1/lots/{lot}?min_index={index}", c.url(1)),
            None,
        )
        .await;
    assert_eq!(got["lot"]["image"], url.as_str(), "{got}");
    let r = c
        .http
        .get(format!("{}{url}", c.url(1)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        TINY_PNG,
        "the same bytes"
    );
    let again = c
        .http
        .get(format!("{}{url}", c.url(1)))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "an unchanged photo is not sent again");
    let ev = watcher
        .until_event("the photo event", |e| e["event"]["type"] == "lot_image_set")
        .await;
    assert_eq!(ev["event"]["image"], url.as_str(), "{ev}");
    assert_eq!(ev["index"].as_u64(), Some(index));

    // Remove it: gone from every node.
    let r = c
        .http
        .delete(format!("{}/api/v1/lots/{lot}/image", c.url(1)))
        .bearer_auth(&c.operator)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let index: u64 = r.json::<Value>().await.unwrap()["index"].as_u64().unwrap();
    let (_, got) = c
        .get(
            &format!("{}/api/v1/lots/{lot}?min_index={index}", c.url(0)),
            None,
        )
        .await;
    assert_eq!(got["lot"]["image"], Value::Null, "{got}");
    let (s, _) = c
        .get(&format!("{}/api/v1/lots/{lot}/image", c.url(0)), None)
        .await;
    assert_eq!(s, 404);
    let ev = watcher
        .until_event("the removal event", |e| {
            e["event"]["type"] == "lot_image_set" && e["event"]["image"].is_null()
        })
        .await;
    assert_eq!(ev["index"].as_u64(), Some(index));
    assert_eq!(c.state_hash(0).await, c.state_hash(1).await);
    c.pass();
}
