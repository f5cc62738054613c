//! The UI is served the way a browser needs it: right content types, an
//! ETag that turns a repeat into a 304, no-cache, and pages whose every
//! local reference (scripts, styles, module imports) is in the binary and
//! nothing is fetched from outside the node.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};

use super::{asset, etag, files, routes, PAGES};

fn header_of(r: &axum::response::Response, name: header::HeaderName) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn text(file: &str) -> String {
    let bytes = super::Web::get(file).expect(file).data.into_owned();
    String::from_utf8(bytes).expect("utf-8")
}

#[test]
fn pages_are_html_with_etag_and_no_cache() {
    for (_, file) in PAGES {
        let r = asset(file, &HeaderMap::new());
        assert_eq!(r.status(), StatusCode::OK, "{file}");
        assert_eq!(
            header_of(&r, header::CONTENT_TYPE),
            "text/html; charset=utf-8"
        );
        assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-cache");
        assert_eq!(header_of(&r, header::ETAG), etag(file).unwrap());
        assert_eq!(header_of(&r, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    }
}

#[test]
fn assets_have_their_content_types() {
    let mut seen = 0;
    for file in files() {
        let r = asset(&file, &HeaderMap::new());
        let ct = header_of(&r, header::CONTENT_TYPE);
        let want = match file.rsplit('.').next().unwrap() {
            "js" => "javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "html" => "text/html; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("unexpected asset type .{other}: {file}"),
        };
        assert!(ct.ends_with(want), "{file}: {ct}");
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} files embedded");
}

#[test]
fn a_matching_etag_is_a_304_without_body() {
    let file = "js/money.js";
    let tag = etag(file).unwrap();
    for sent in [
        tag.clone(),
        format!("W/{tag}"),
        format!("\"x\", {tag}"),
        "*".into(),
    ] {
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&sent).unwrap());
        let r = asset(file, &h);
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{sent}");
        assert_eq!(header_of(&r, header::ETAG), tag);
        assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-cache");
        assert!(header_of(&r, header::CONTENT_TYPE).is_empty());
    }
    let mut h = HeaderMap::new();
    h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"stale\""));
    assert_eq!(asset(file, &h).status(), StatusCode::OK);
}

#[test]
fn etags_differ_between_files() {
    let tags: std::collections::BTreeSet<_> = files().iter().map(|f| etag(f).unwrap()).collect();
    assert_eq!(tags.len(), files().len());
}

#[test]
fn an_unknown_asset_is_a_json_404() {
    let r = asset("js/nope.js", &HeaderMap::new());
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(header_of(&r, header::CONTENT_TYPE).starts_with("application/json"));
}

/// Local references of an HTML page or a JS module: `src="…"`, `href="…"`
/// and `from "./…"` / `import("./…")`, resolved against the file's folder.
fn references(file: &str) -> Vec<String> {
    let body = text(file);
    let dir = file.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let mut out = Vec::new();
    for key in ["src=\"", "href=\"", "from \"", "from '", "import(\""] {
        for part in body.split(key).skip(1) {
            let target = part.split(['"', '\'']).next().unwrap();
            if target.starts_with('#') || target.is_empty() {
                continue;
            }
            assert!(
                !target.contains("://") && !target.starts_with("//"),
                "{file} loads {target} from outside the node"
            );
            let target = target.split(['?', '#']).next().unwrap();
            let mut parts: Vec<&str> = if target.starts_with('/') {
                Vec::new()
            } else {
                dir.split('/').filter(|s| !s.is_empty()).collect()
            };
            for seg in target.trim_start_matches('/').split('/') {
                match seg {
                    "." | "" => {}
                    ".." => {
                        parts.pop();
                    }
                    s => parts.push(s),
                }
            }
            out.push(parts.join("/"));
        }
    }
    out
}

#[test]
fn every_local_reference_is_embedded() {
    let all = files();
    let routes_ok = [
        "",
        "clerk",
        "desk",
        "phone",
        "operator",
        "screen",
        "analytics",
        "cashier",
        "invoice",
        "statement",
    ];
    for file in all
        .iter()
        .filter(|f| f.ends_with(".html") || f.ends_with(".js"))
    {
        for r in references(file) {
            assert!(
                all.contains(&r) || routes_ok.contains(&r.as_str()),
                "{file} refers to {r}, which is not embedded"
            );
        }
    }
}

#[test]
fn nothing_comes_from_outside_the_node() {
    for file in files() {
        let body = text(&file);
        for bad in ["fonts.googleapis", "cdn.", "unpkg", "@import url(http"] {
            assert!(!body.contains(bad), "{file} mentions {bad}");
        }
    }
}

#[tokio::test]
async fn the_router_serves_pages_and_assets() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app: axum::Router = routes();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    for path in [
        "/",
        "/clerk",
        "/operator",
        "/screen",
        "/desk",
        "/phone",
        "/cashier",
        "/invoice",
        "/statement",
        "/css/print.css",
        "/css/app.css",
        "/js/money.js",
        "/favicon.ico",
    ] {
        let r = http
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let tag = r.headers()[header::ETAG].clone();
        let again = http
            .get(format!("http://{addr}{path}"))
            .header(header::IF_NONE_MATCH, tag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert!(again.bytes().await.unwrap().is_empty());
    }
    let r = http
        .get(format!("http://{addr}/js/../Cargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    server.abort();
}
