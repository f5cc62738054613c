//! `paddle serve`: bring a node up (bootstrap, restart or join), serve HTTP,
//! and shut down cleanly on SIGTERM / Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use paddle_consensus::tls::{issue_identity, CaBundle, NodeIdentity};
use paddle_consensus::types::NodeAddr;
use paddle_consensus::{Consensus, ConsensusConfig};
use paddle_proto::{ClusterCommand, Command};

use crate::api::{self, state::AppState};
use crate::cli::run::{run_async, Threads};
use crate::cluster::datadir::{DataDir, NodeInfo, Origin};
use crate::cluster::registry;
use crate::cluster::secrets::{self, JoinToken};
use crate::cluster::service::{ClusterRpc, ClusterService, StopReason};
use crate::config::Config;
use crate::machine::NodeMachine;

mod http;
mod https;
use http::Http;

/// Map the node's config onto consensus tunables.
pub fn consensus_config(cfg: &Config) -> ConsensusConfig {
    ConsensusConfig {
        raft: cfg.raft.clone(),
        clock: cfg.clock.clone(),
    }
}

/// Secrets created by a bootstrap, shown once.
struct FirstStart {
    operator_token: String,
    join_token: String,
}

/// Create a new cluster's identity in an empty data dir.
fn bootstrap_files(dd: &DataDir) -> anyhow::Result<(NodeInfo, NodeIdentity, FirstStart)> {
    let cluster_id = secrets::random_secret()[..12].to_string();
    let ca = CaBundle::generate(&cluster_id).context("creating the cluster CA")?;
    let identity = issue_identity(&ca, 1).context("issuing this node's certificate")?;
    let operator_token = secrets::new_operator_token();
    let join = JoinToken::new(&ca.fingerprint()?);
    dd.write_ca(&ca)?;
    dd.write_identity(&identity)?;
    dd.write_operator_token(&operator_token)?;
    dd.write_join_token(&join.to_string())?;
    let info = NodeInfo {
        node_id: 1,
        cluster_id,
        origin: Origin::Bootstrap,
        setup_complete: false,
        removed: false,
        format: crate::cluster::datadir::NODE_FILE_FORMAT,
    };
    // Written last: its presence means the directory holds a whole node.
    dd.write_node_info(&info)?;
    Ok((
        info,
        identity,
        FirstStart {
            operator_token,
            join_token: join.to_string(),
        },
    ))
}

/// Finish a bootstrap: make the one-node cluster and replicate the token
/// hashes. Safe to repeat after a crash half-way.
async fn finish_bootstrap(
    dd: &DataDir,
    info: &mut NodeInfo,
    consensus: &Consensus,
    me: NodeAddr,
) -> anyhow::Result<()> {
    consensus
        .initialize(me)
        .await
        .map_err(|e| anyhow::anyhow!("initialising the cluster: {e}"))?;
    let operator = dd
        .read_operator_token()?
        .context("operator.token is missing from the data dir")?;
    let join = dd
        .read_join_token()?
        .context("join.token is missing from the data dir")?;
    let join = JoinToken::parse(&join).context("join.token is damaged")?;
    for cmd in [
        ClusterCommand::SetOperatorTokenHash {
            hash: secrets::hash_token(&operator),
        },
        ClusterCommand::SetJoinSecretHash {
            hash: join.secret_hash(),
        },
    ] {
        consensus
            .propose(Command::Cluster(cmd))
            .await
            .context("replicating the token hashes")?;
    }
    info.setup_complete = true;
    dd.write_node_info(info)?;
    Ok(())
}

/// `paddle serve`: run a node on a multi-threaded runtime until it is told
/// to stop; exit 0 after a clean stop. Gets a validated config, logging
/// already set up.
pub fn main(cfg: Config) -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    run_async("serve", Threads::PerCore, async {
        run(cfg).await.inspect_err(|e| tracing::error!("{e:#}"))?;
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })
}

/// Run a node until it is told to stop: open its files (resume, join or
/// bootstrap), start Raft and the cluster service, finish setting up,
/// serve HTTP, and on SIGTERM (or removal) drain and stop cleanly.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    let dd = DataDir::new(&cfg.data_dir);
    let listener = tokio::net::TcpListener::bind(cfg.http_addr)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", cfg.http_addr))?;
    let adv_http = cfg.advertised_http(listener.local_addr()?)?;
    let web = WebListeners::bind(&cfg, listener).await?;
    let (mut info, identity, first) = node_files(&cfg, &dd, &adv_http).await?;
    let mut member = Member::start(&cfg, &dd, &identity, info.node_id).await?;
    member.public.limits.set_own_http(adv_http.to_string());
    let consensus = member.consensus.clone();
    let adv_raft = cfg.advertised_raft(consensus.local_addr()?)?;
    let me = NodeAddr {
        raft: adv_raft.to_string(),
        http: adv_http.to_string(),
    };
    if info.origin == Origin::Bootstrap && !info.setup_complete {
        finish_bootstrap(&dd, &mut info, &consensus, me.clone()).await?;
    }
    tokio::spawn(correct_own_address(consensus.clone(), me.clone()));
    if info.origin == Origin::Join {
        crate::cluster::join::after_start(&cfg, &dd, &mut info, &consensus, me.clone()).await?;
    }
    let scheme = cfg.http_scheme();
    tracing::info!(node = info.node_id, http = %adv_http, raft = %adv_raft, scheme, "paddle node is up");
    if let Some(first) = first {
        print_first_start(&format!("{scheme}://{adv_http}"), &first);
    }
    let http = Http::start(web, member.app_state(&dd));
    wait_for_stop(&mut member.stop_rx, &dd, &mut info).await;
    http.stop().await;
    consensus.shutdown().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// This node's files: resumed from the data dir, made by joining a
/// cluster, or made by bootstrapping a new one (then with the secrets to
/// show once).
async fn node_files(
    cfg: &Config,
    dd: &DataDir,
    adv_http: &crate::config::PeerAddr,
) -> anyhow::Result<(
    crate::cluster::datadir::NodeInfo,
    NodeIdentity,
    Option<FirstStart>,
)> {
    if dd.exists() {
        if cfg.join.is_some() {
            tracing::warn!(dir = %dd.root().display(), "this data dir already holds a node; ignoring --join and resuming");
        }
        let info = dd.node_info()?;
        if info.removed {
            bail!("{}", removed_message(info.node_id, dd));
        }
        let identity = dd.identity(info.node_id)?;
        return Ok((info, identity, None));
    }
    if cfg.join.is_some() {
        let (info, identity) = crate::cluster::join::join_files(cfg, dd, adv_http).await?;
        return Ok((info, identity, None));
    }
    if !dd.is_empty() {
        bail!(
            "{} is not empty but holds no node (no node.json); refusing to bootstrap over it. \
             Point --data-dir at an empty or new directory.",
            dd.root().display()
        );
    }
    let (info, identity, first) = bootstrap_files(dd)?;
    Ok((info, identity, Some(first)))
}

/// A running member: Raft, the cluster service on top of it, the event
/// channel and the public API's shared state.
struct Member {
    consensus: Consensus,
    svc: Arc<ClusterService>,
    events: tokio::sync::broadcast::Sender<Arc<crate::machine::EventBatch>>,
    public: Arc<api::PublicApi>,
    stop_rx: tokio::sync::watch::Receiver<StopReason>,
}

impl Member {
    /// Start Raft and the cluster service, and the tasks that watch for
    /// this node's removal and hold the CA key.
    async fn start(
        cfg: &Config,
        dd: &DataDir,
        identity: &NodeIdentity,
        node_id: u64,
    ) -> anyhow::Result<Member> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(StopReason::Running);
        let (events, _) = tokio::sync::broadcast::channel(crate::machine::EVENT_CHANNEL_BATCHES);
        let consensus = Consensus::start(
            identity,
            cfg.raft_addr,
            &dd.raft_dir(),
            Box::new(NodeMachine::new(events.clone())),
            consensus_config(cfg),
        )
        .await?;
        let public = api::public_api(cfg.limits.clone(), cfg.tls_on(), cfg.assistant.clone());
        let svc = Arc::new(ClusterService {
            consensus: consensus.clone(),
            data_dir: dd.clone(),
            stop: stop_tx.clone(),
            watchers: api::PublicApi::watcher_counts(public.hub.clone()),
            clients: {
                let limits = public.limits.clone();
                Arc::new(move || limits.connections() as u64)
            },
        });
        consensus.set_app_rpc(Arc::new(ClusterRpc(svc.clone())));
        if registry::is_removed(&consensus.view(), node_id) {
            consensus.shutdown().await;
            bail!("{}", removed_message(node_id, dd));
        }
        tokio::spawn(watch_for_removal(consensus.clone(), stop_tx.clone()));
        tokio::spawn(ask_whether_removed(consensus.clone(), stop_tx));
        tokio::spawn(crate::cluster::ca_share::hold_ca_key(svc.clone()));
        Ok(Member {
            consensus,
            svc,
            events,
            public,
            stop_rx,
        })
    }

    /// What every HTTP handler shares; starts the API's background tasks
    /// and the leader's timer.
    fn app_state(&self, dd: &DataDir) -> AppState {
        let state = AppState {
            consensus: self.consensus.clone(),
            extra_metrics: Arc::new(Vec::new()),
            cluster: Some(self.svc.clone()),
            data_dir: Some(dd.clone()),
            events: self.events.clone(),
            api: self.public.clone(),
        };
        api::start_tasks(&state);
        tokio::spawn(crate::timer::run(self.consensus.clone()));
        state
    }
}

/// The web listeners: the main one (plain HTTP, or TLS when configured)
/// and, with TLS, the optional plain-HTTP redirect.
pub(crate) struct WebListeners {
    main: tokio::net::TcpListener,
    tls: Option<rustls::ServerConfig>,
    redirect: Option<tokio::net::TcpListener>,
}

impl WebListeners {
    /// Load the certificate (checked again: the files may have changed
    /// since validation) and bind the redirect address.
    async fn bind(cfg: &Config, main: tokio::net::TcpListener) -> anyhow::Result<WebListeners> {
        let tls = match (&cfg.tls_cert, &cfg.tls_key) {
            (Some(cert), Some(key)) => Some(
                crate::config::tls::web_server_config(cert, key)
                    .map_err(|(which, reason)| anyhow::anyhow!("{which}: {reason}"))?,
            ),
            _ => None,
        };
        let redirect = match cfg.http_redirect_addr {
            Some(addr) if tls.is_some() => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen for the HTTPS redirect on {addr}"))?,
            ),
            _ => None,
        };
        Ok(WebListeners {
            main,
            tls,
            redirect,
        })
    }
}

/// Until SIGTERM/SIGINT, or until this node learns it was removed (then
/// recorded in `node.json`, so it refuses to start again).
async fn wait_for_stop(
    stop_rx: &mut tokio::sync::watch::Receiver<StopReason>,
    dd: &DataDir,
    info: &mut crate::cluster::datadir::NodeInfo,
) {
    tokio::select! {
        _ = shutdown_signal() => {
            tracing::info!("stopping: no new requests; finishing the ones in flight");
        }
        _ = stop_rx.wait_for(|r| *r != StopReason::Running) => {
            tracing::warn!(node = info.node_id, "this node was removed from the cluster; stopping");
            info.removed = true;
            if let Err(e) = dd.write_node_info(info) {
                tracing::error!(error = %e, "could not record the removal in node.json");
            }
            // Let answers to requests still in flight (the removal itself,
            // forwarded through us) reach their callers.
            tokio::time::sleep(Duration::from_millis(750)).await;
        }
    }
}

/// When the membership lists an old address for this node (restored from a
/// backup, or the machine moved), the leader updates it. Only the leader
/// can, so a follower with a stale address just says so.
async fn correct_own_address(consensus: Consensus, me: NodeAddr) {
    let id = consensus.id();
    for _ in 0..300 {
        if let Some(leader) = consensus.current_leader() {
            match consensus.node_addr(id) {
                Some(listed) if listed != me && leader == id => {
                    tracing::info!(old = %listed, new = %me, "updating this node's address in the membership");
                    if let Err(e) = consensus.set_address(id, me.clone()).await {
                        tracing::warn!(error = %e, "could not update this node's address");
                    }
                }
                Some(listed) if listed != me => {
                    tracing::warn!(old = %listed, new = %me, "the membership lists another address for this node; \
                        peers will not reach it until an operator removes and re-joins it");
                }
                _ => {}
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Why a removed node refuses to start, and what to do instead.
fn removed_message(node_id: u64, dd: &DataDir) -> String {
    format!(
        "this node (id {node_id}) was removed from the cluster and cannot come back under the same id; \
         wipe {} and join it again as a new node",
        dd.root().display()
    )
}

/// Stop this node once it has been a member and the membership it applied
/// no longer lists it (removed through joint consensus).
async fn watch_for_removal(consensus: Consensus, stop: tokio::sync::watch::Sender<StopReason>) {
    consensus.removed().await;
    let _ = stop.send(StopReason::Removed);
}

/// A node removed while it was down restarts with a membership that still
/// lists it, and nobody sends it the removal (it is no longer replicated
/// to). While it hears no leader, it asks the members it knows of for their
/// status; a member that has applied the removal answers
/// [`REMOVED_CODE`](crate::cluster::service::REMOVED_CODE), and the node
/// stops as removed (and refuses to start again on this data dir).
async fn ask_whether_removed(consensus: Consensus, stop: tokio::sync::watch::Sender<StopReason>) {
    use crate::cluster::rpc::{ClusterRequest, ClusterResponse};
    use crate::cluster::service::{call_member, REMOVED_CODE, SHORT_CALL};
    const QUIET: Duration = Duration::from_secs(3);
    let me = consensus.id();
    loop {
        tokio::time::sleep(QUIET).await;
        if *stop.borrow() != StopReason::Running {
            return;
        }
        let f = consensus.facts();
        let heard = consensus
            .leader_contact_age()
            .is_some_and(|age| age < QUIET);
        if f.role == paddle_consensus::Role::Leader || heard {
            continue;
        }
        for (id, _) in consensus.other_members() {
            if let Ok(ClusterResponse::Error { code, .. }) =
                call_member(&consensus, id, &ClusterRequest::Status, SHORT_CALL).await
            {
                if code == REMOVED_CODE {
                    tracing::warn!(
                        node = me,
                        told_by = id,
                        "a member says this node was removed while it was away"
                    );
                    let _ = stop.send(StopReason::Removed);
                    return;
                }
            }
        }
    }
}

/// `url` is the node's own, with its scheme.
fn print_first_start(url: &str, first: &FirstStart) {
    println!();
    println!("  Paddle is running: {url}/");
    println!();
    println!("  Operator token (shown once; also kept in the data dir, mode 0600):");
    println!("    {}", first.operator_token);
    println!();
    println!("  To add a machine, run on it:");
    println!(
        "    paddle serve --join <this node's QUIC address> --token {}",
        first.join_token
    );
    println!();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
