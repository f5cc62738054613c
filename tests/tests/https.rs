//! HTTPS on the node (issue 17): `paddle cluster cert` issues a web
//! certificate from the cluster CA on a voter's data dir (and refuses
//! without the CA key); a node started with it answers HTTPS and WSS to a
//! client that trusts only the CA, its redirect address answers 308 to the
//! HTTPS URL, and `paddle config check` refuses half or mismatched TLS
//! settings.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use paddle_tests::{free_port, paddle_cli, Api, Cluster, READY};
use x509_parser::extensions::GeneralName;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_paddle"))
}

/// Issue a certificate, refuse without the CA key, serve HTTPS + WSS with
/// it, redirect plain HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_serves_https_with_a_certificate_from_the_cluster_ca() -> anyhow::Result<()> {
    let mut c = Cluster::start(bin(), 1, &[]).await?;
    let dd = c.nodes[0].data_dir.clone();
    let out = c.root().join("web");
    let (cert, key, ca) = (out.join("web.pem"), out.join("web.key"), out.join("ca.pem"));
    let s = |p: &Path| p.display().to_string();

    // Issued by the cluster CA, for the names asked.
    let issued = paddle_cli(
        bin(),
        &[
            "cluster",
            "cert",
            "--data-dir",
            &s(&dd),
            "--name",
            "localhost",
            "--name",
            "venue.local",
            "--ip",
            "127.0.0.1",
            "--out-cert",
            &s(&cert),
            "--out-key",
            &s(&key),
            "--ca-out",
            &s(&ca),
        ],
    )
    .await?;
    assert_eq!(issued.code(), 0, "{issued:?}");
    assert!(issued.stdout.contains("--tls-cert"), "{}", issued.stdout);
    let ca_pem = std::fs::read_to_string(&ca)?;
    assert_eq!(ca_pem, std::fs::read_to_string(dd.join("tls/ca.pem"))?);
    let chain = pem_certs(&std::fs::read_to_string(&cert)?);
    assert_eq!(chain.len(), 2, "leaf and CA");
    let ca_der = pem_certs(&ca_pem).remove(0);
    let (_, leaf) = x509_parser::parse_x509_certificate(&chain[0])?;
    let (_, ca_cert) = x509_parser::parse_x509_certificate(&ca_der)?;
    assert_eq!(leaf.issuer(), ca_cert.subject());
    leaf.verify_signature(Some(ca_cert.public_key()))?;
    let sans: Vec<String> = leaf
        .subject_alternative_name()?
        .expect("SANs")
        .value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => d.to_string(),
            GeneralName::IPAddress(ip) => format!("ip:{ip:?}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        sans,
        ["localhost", "venue.local", "ip:[127, 0, 0, 1]"],
        "{sans:?}"
    );
    let eku = leaf.extended_key_usage()?.expect("EKU").value;
    assert!(eku.server_auth && !eku.client_auth);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key)?.permissions().mode() & 0o777, 0o600);

    // Refused without the CA key (a learner's data dir), and over an
    // existing file without --force.
    let learner = c.root().join("learner");
    std::fs::create_dir_all(learner.join("tls"))?;
    std::fs::copy(dd.join("node.json"), learner.join("node.json"))?;
    std::fs::copy(dd.join("tls/ca.pem"), learner.join("tls/ca.pem"))?;
    let x = c.root().join("x");
    let refused = paddle_cli(
        bin(),
        &[
            "cluster",
            "cert",
            "--data-dir",
            &s(&learner),
            "--name",
            "venue.local",
            "--out-cert",
            &s(&x.join("c.pem")),
            "--out-key",
            &s(&x.join("c.key")),
        ],
    )
    .await?;
    assert_eq!(refused.code(), 1, "{refused:?}");
    assert!(refused.stderr.contains("no CA key"), "{}", refused.stderr);
    assert!(!x.join("c.key").exists());
    let again = paddle_cli(
        bin(),
        &[
            "cluster",
            "cert",
            "--data-dir",
            &s(&dd),
            "--ip",
            "127.0.0.1",
            "--out-cert",
            &s(&cert),
            "--out-key",
            &s(&key),
        ],
    )
    .await?;
    assert_eq!(again.code(), 1, "{again:?}");
    assert!(again.stderr.contains("--force"), "{}", again.stderr);

    // Restart the node with the certificate and a redirect address.
    let redirect_port = free_port();
    let node = &mut c.nodes[0];
    node.stop().await?;
    node.args.extend([
        "--tls-cert".into(),
        s(&cert),
        "--tls-key".into(),
        s(&key),
        "--http-redirect-addr".into(),
        format!("127.0.0.1:{redirect_port}"),
    ]);
    node.tls = true;
    node.start(None)?;
    let api = Api::with_root_ca(&c.operator_token, &ca_pem)?;
    c.nodes[0].wait_ready(&api, READY).await?;
    let https = c.nodes[0].url();
    let port = c.nodes[0].http.port();
    assert!(https.starts_with("https://"));

    // HTTPS for the IP and the name, trusting only the cluster CA.
    let cluster: serde_json::Value = api
        .client()
        .get(format!("{https}/api/v1/cluster"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert!(
        cluster["nodes"].as_array().is_some_and(|n| n.len() == 1),
        "{cluster}"
    );
    let page = api
        .client()
        .get(format!("https://localhost:{port}/"))
        .send()
        .await?;
    assert!(page.status().is_success(), "{page:?}");
    assert!(
        page.headers().get("set-cookie").is_none(),
        "the node sets no cookie"
    );
    // A client that does not trust the CA is refused by its own handshake.
    let untrusting = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()?;
    assert!(untrusting
        .get(format!("{https}/ready"))
        .send()
        .await
        .is_err());
    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    assert!(plain
        .get(format!("http://127.0.0.1:{port}/ready"))
        .send()
        .await
        .map(|r| !r.status().is_success())
        .unwrap_or(true));

    // The redirect address answers 308 to the same path over HTTPS.
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let moved = no_follow
        .get(format!("http://127.0.0.1:{redirect_port}/bid.html?sale=1"))
        .send()
        .await?;
    assert_eq!(moved.status().as_u16(), 308);
    assert_eq!(
        moved.headers()["location"].to_str()?,
        format!("https://127.0.0.1:{port}/bid.html?sale=1")
    );

    // The operator tools reach an https node, trusting the CA file named
    // by PADDLE_CA_CERT.
    let status = tokio::process::Command::new(bin())
        .args(["cluster", "status", "--node", &https])
        .env("PADDLE_CA_CERT", &ca)
        .output()
        .await?;
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert!(
        status.status.success() && stdout.contains("leader node 1"),
        "{status:?}"
    );

    // A WebSocket over TLS (wss) gets the node's welcome.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca_der.clone())?;
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect("localhost".try_into()?, tcp)
        .await?;
    let (mut ws, _) =
        tokio_tungstenite::client_async(format!("wss://localhost:{port}/ws"), stream).await?;
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        r#"{"type":"hello"}"#,
    ))
    .await?;
    let first = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await?
        .expect("a message")?;
    let welcome: serde_json::Value = serde_json::from_str(first.to_text()?)?;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    ws.close(None).await?;
    let _ = ws.flush().await;

    // SIGTERM stops an HTTPS node cleanly, as a plain one.
    let exit = c.nodes[0].stop().await?;
    assert!(exit.success(), "{exit:?}: {}", c.nodes[0].log_tail(20));

    c.pass();
    Ok(())
}

/// `paddle config check` refuses half a TLS setting, a key that is not
/// the certificate's and a redirect without TLS, naming the key and flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_check_refuses_half_or_mismatched_tls() -> anyhow::Result<()> {
    let c = Cluster::start(bin(), 1, &[]).await?;
    let dd = c.nodes[0].data_dir.display().to_string();
    let root = c.root().to_path_buf();
    let file = |n: &str| root.join(n).display().to_string();
    for (cert, key) in [("a.pem", "a.key"), ("b.pem", "b.key")] {
        let out = paddle_cli(
            bin(),
            &[
                "cluster",
                "cert",
                "--data-dir",
                &dd,
                "--ip",
                "127.0.0.1",
                "--out-cert",
                &file(cert),
                "--out-key",
                &file(key),
            ],
        )
        .await?;
        assert_eq!(out.code(), 0, "{out:?}");
    }
    let check = |args: Vec<String>| async move {
        let mut all = vec!["config".to_string(), "check".to_string()];
        all.extend(args);
        let args: Vec<&str> = all.iter().map(String::as_str).collect();
        paddle_cli(bin(), &args).await
    };
    let ok = check(vec![
        "--tls-cert".into(),
        file("a.pem"),
        "--tls-key".into(),
        file("a.key"),
    ])
    .await?;
    assert_eq!(ok.code(), 0, "{ok:?}");
    let cases = [
        (
            vec!["--tls-cert".to_string(), file("a.pem")],
            "also set tls_key",
        ),
        (
            vec!["--tls-key".to_string(), file("a.key")],
            "also set tls_cert",
        ),
        (
            vec![
                "--tls-cert".into(),
                file("a.pem"),
                "--tls-key".into(),
                file("b.key"),
            ],
            "does not belong to the certificate",
        ),
        (
            vec![
                "--tls-cert".into(),
                file("missing.pem"),
                "--tls-key".into(),
                file("a.key"),
            ],
            "cannot be read",
        ),
        (
            vec![
                "--tls-cert".into(),
                file("a.key"),
                "--tls-key".into(),
                file("a.key"),
            ],
            "holds no certificate",
        ),
        (
            vec!["--http-redirect-addr".into(), "127.0.0.1:8081".into()],
            "needs TLS on",
        ),
    ];
    for (args, expected) in cases {
        let out = check(args.clone()).await?;
        assert_eq!(out.code(), 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    }
    c.pass();
    Ok(())
}

fn pem_certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("PEM certificates")
}
