//! The joining side: get an id and a certificate with a join token, start,
//! then ask to be admitted (learner, catch up, voter while voters are few).

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use paddle_consensus::network::transport::{self, TransportError};
use paddle_consensus::network::{PeerRequest, PeerResponse};
use paddle_consensus::tls::{self, NodeIdentity};
use paddle_consensus::types::NodeAddr;
use paddle_consensus::Consensus;
use paddle_proto::codec;

use super::datadir::{DataDir, NodeInfo, Origin};
use super::rpc::{ClusterRequest, ClusterResponse};
use super::secrets::JoinToken;
use super::service::ADMIT_CALL;
use crate::config::{Config, PeerAddr};

/// How long a join contact may take to answer the first request.
const CONTACT_DEADLINE: Duration = Duration::from_secs(10);

/// How long a joiner keeps asking while the cluster answers "no leader
/// right now" (a failover, a paused or cut-off leader): an election takes
/// well under a second, a whole restarted cluster a few seconds.
const LEADERLESS_PATIENCE: Duration = Duration::from_secs(60);

/// The cluster's answers that mean "ask again shortly", not "no".
fn is_transient(resp: &ClusterResponse) -> bool {
    matches!(resp, ClusterResponse::Error { code, .. }
        if code == "no_quorum" || code == "not_leader" || code == "not_ready")
}

/// Send `req` until the cluster gives an answer that is not "try again"
/// (see [`is_transient`]), for at most [`LEADERLESS_PATIENCE`]. Failing to
/// reach the contact at all is not retried: that is a wrong address or a
/// stopped node, and the operator should hear of it at once.
async fn ask_patiently(
    join: &PeerAddr,
    client: &rustls::ClientConfig,
    req: &ClusterRequest,
    deadline: Duration,
    what: &str,
) -> anyhow::Result<ClusterResponse> {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(200);
    loop {
        let resp = contact(join, client.clone(), req, deadline).await?;
        if !is_transient(&resp) || started.elapsed() >= LEADERLESS_PATIENCE {
            return Ok(resp);
        }
        if let ClusterResponse::Error { code, message } = &resp {
            tracing::warn!(
                code = code.as_str(),
                message = message.as_str(),
                retry_in_ms = pause.as_millis() as u64,
                "{what}: the cluster has no leader to answer right now; asking again"
            );
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(3));
    }
}

fn token(cfg: &Config) -> anyhow::Result<JoinToken> {
    let raw = cfg
        .token
        .as_ref()
        .context("--join needs --token (the join token printed by the first node)")?;
    JoinToken::parse(raw.expose()).map_err(|e| anyhow!("the join token is not valid: {e}"))
}

/// Send one cluster request over a one-off connection made with `client`.
async fn contact(
    contact: &PeerAddr,
    client: rustls::ClientConfig,
    req: &ClusterRequest,
    deadline: Duration,
) -> anyhow::Result<ClusterResponse> {
    let addr = contact.to_string();
    let sock = transport::resolve(&addr).await.map_err(|e| anyhow!(e))?;
    let endpoint = transport::client_endpoint()?;
    let cfg = transport::client_config(client)?;
    let connecting = endpoint.connect_with(cfg, sock, tls::CLUSTER_NAME)?;
    let silent = || {
        anyhow!(
            "{addr} did not answer as a Paddle node within 5 s: check that it is the QUIC (raft) address \
             of a running node (default port 7080) and that UDP is not blocked"
        )
    };
    let conn = match tokio::time::timeout(Duration::from_secs(5), connecting).await {
        Err(_) => return Err(silent()),
        Ok(Err(e)) => {
            let text = e.to_string();
            // quinn gives up on its own (idle timeout) when nothing answers,
            // which is the same story as our deadline.
            if text.contains("timed out") {
                return Err(silent());
            }
            if text.contains("fingerprint") || text.contains("certificate") {
                bail!(
                    "{addr} is not a node of the cluster this token belongs to: its CA does not match the \
                     fingerprint in the token (wrong address, or a tampered token) [{text}]"
                );
            }
            bail!("could not connect to {addr}: {text}");
        }
        Ok(Ok(c)) => c,
    };
    let body = codec::encode(req)?;
    let resp: PeerResponse = tokio::time::timeout(
        deadline,
        transport::exchange(&conn, &PeerRequest::App(body), 16 << 20, &addr),
    )
    .await
    .map_err(|_| anyhow!("{addr} did not answer within {deadline:?}"))?
    .map_err(|e: TransportError| anyhow!("{e}"))?;
    conn.close(0u32.into(), b"done");
    match resp {
        PeerResponse::App(Ok(bytes)) => Ok(codec::decode(&bytes)?),
        PeerResponse::App(Err(e)) => bail!("{addr} refused: {e}"),
        PeerResponse::Refused(e) => bail!("{addr} refused: {e}"),
        other => bail!("unexpected answer from {addr}: {other:?}"),
    }
}

fn refused(resp: ClusterResponse) -> anyhow::Error {
    match resp {
        ClusterResponse::Error { code, message } => {
            anyhow!("the cluster refused the join ({code}): {message}")
        }
        other => anyhow!("unexpected answer: {other:?}"),
    }
}

/// Step one, before Raft starts: prove the join secret, get an id and a
/// certificate, and write this node's files.
pub async fn join_files(
    cfg: &Config,
    dd: &DataDir,
    _adv_http: &PeerAddr,
) -> anyhow::Result<(NodeInfo, NodeIdentity)> {
    let token = token(cfg)?;
    let join = cfg.join.as_ref().context("no --join address")?;
    if !dd.is_empty() {
        bail!(
            "{} is not empty but holds no node; refusing to join into it. Use an empty directory.",
            dd.root().display()
        );
    }
    let (key_pem, csr_pem) = tls::generate_node_key()?;
    let client = tls::join_client_config(&token.ca_fingerprint)?;
    let req = ClusterRequest::Join {
        secret: token.secret.clone(),
        csr_pem,
    };
    // Each attempt that reaches a leader allocates an id; ids only count
    // up, so one burnt by a lost answer is harmless.
    let answer = ask_patiently(join, &client, &req, CONTACT_DEADLINE, "getting a node id").await?;
    let (node_id, cert_pem, ca_pem) = match answer {
        ClusterResponse::Joined {
            node_id,
            cert_pem,
            ca_pem,
        } => (node_id, cert_pem, ca_pem),
        other => return Err(refused(other)),
    };
    if tls::fingerprint_pem(&ca_pem)? != token.ca_fingerprint {
        bail!("the cluster sent a CA certificate that does not match the token's fingerprint; refusing it");
    }
    let identity = NodeIdentity {
        node_id,
        cert_pem,
        key_pem,
        ca_pem,
    };
    dd.write_identity(&identity)?;
    dd.write_join_token(&token.to_string())?;
    let info = NodeInfo {
        node_id,
        cluster_id: token.ca_fingerprint[..12].to_string(),
        origin: Origin::Join,
        setup_complete: false,
        removed: false,
        format: crate::cluster::datadir::NODE_FILE_FORMAT,
    };
    dd.write_node_info(&info)?;
    tracing::info!(node_id, "got a node id and a certificate from the cluster");
    Ok((info, identity))
}

/// Step two, with Raft running: ask to be admitted and wait until the
/// cluster has caught this node up (and promoted it, while voters are few).
pub async fn after_start(
    cfg: &Config,
    dd: &DataDir,
    info: &mut NodeInfo,
    _c: &Consensus,
    me: NodeAddr,
) -> anyhow::Result<()> {
    if info.setup_complete {
        return Ok(());
    }
    let raw = dd
        .read_join_token()?
        .context("join.token is missing; cannot finish joining")?;
    let token = JoinToken::parse(&raw).map_err(|e| anyhow!("join.token is damaged: {e}"))?;
    let Some(join) = cfg.join.as_ref() else {
        bail!(
            "this node has not finished joining; start it again with --join <address of any node>"
        );
    };
    let identity = dd.identity(info.node_id)?;
    let req = ClusterRequest::Admit {
        secret: token.secret,
        node_id: info.node_id,
        addr: me,
    };
    tracing::info!(
        node = info.node_id,
        "asking to be admitted; catching up may take a while"
    );
    // Admission is idempotent: a learner already added is caught up and
    // promoted by the next attempt.
    let client = identity.client_config()?;
    match ask_patiently(join, &client, &req, ADMIT_CALL, "being admitted").await? {
        ClusterResponse::Admitted { voter } => {
            tracing::info!(node = info.node_id, voter, "admitted to the cluster");
        }
        other => return Err(refused(other)),
    }
    info.setup_complete = true;
    dd.write_node_info(info)?;
    Ok(())
}
