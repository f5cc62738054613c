//! What this node announces to its connections on a schedule.
//!
//! Each node counts its own rooms; once a second it asks every other
//! member for theirs (a small cluster RPC over the existing QUIC links) and
//! every 2 s sends each room one `presence` frame with the sum (and notes
//! it in the analytics' watchers-over-time samples). Polling a
//! handful of nodes once a second is cheaper and simpler than pushing
//! every join and leave.
//!
//! The same task watches this node's freshness and tells every connection
//! with `node_status` when it turns stale or fresh, and every 2 s while
//! stale (so "t seconds ago" keeps counting).

use std::time::{Duration, Instant};

use futures::future::join_all;
use paddle_proto::auction::SaleId;

use super::messages::ServerMsg;
use super::presence::PRESENCE_EVERY;
use crate::api::reads::{freshness, server_time_ms};
use crate::api::state::AppState;
use crate::cluster::rpc::{ClusterRequest, ClusterResponse};
use crate::cluster::service::call_member;

async fn poll_peers(s: &AppState) {
    let asks = s.consensus.other_members().into_iter().map(|(id, _)| {
        let c = s.consensus.clone();
        async move {
            let r = call_member(
                &c,
                id,
                &ClusterRequest::Presence,
                Duration::from_millis(500),
            )
            .await;
            (id, r)
        }
    });
    for (id, r) in join_all(asks).await {
        if let Ok(ClusterResponse::Presence(counts)) = r {
            s.api.presence.store(id, counts);
        }
    }
}

fn push_presence(s: &AppState) {
    let hub = &s.api.hub;
    for (sale, local) in hub.local_counts() {
        let (remote, nodes) = s.api.presence.elsewhere(sale.0);
        let now = server_time_ms(&s.consensus);
        s.api.presence.sample(sale.0, now, local + remote);
        let text = ServerMsg::Presence {
            sale: sale.0,
            watchers: local + remote,
            nodes: nodes + 1,
            server_time_ms: now,
        }
        .to_text();
        hub.to_room(SaleId(sale.0), text);
    }
}

/// Run until the node stops: peers polled every second, presence every
/// 2 s, node status on change (checked 4 times a second).
pub async fn run(s: AppState) {
    let mut poll = tokio::time::interval(Duration::from_secs(1));
    let mut push = tokio::time::interval(PRESENCE_EVERY);
    let mut status = tokio::time::interval(Duration::from_millis(250));
    let mut tidy = tokio::time::interval(Duration::from_secs(60));
    for i in [&mut poll, &mut push, &mut status, &mut tidy] {
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    let mut was_stale = false;
    let mut last_status = Instant::now();
    loop {
        tokio::select! {
            _ = poll.tick() => {
                if s.api.hub.local_counts().is_empty() && s.consensus.facts().nodes.len() > 1 {
                    // Still answer peers; asking them is only worth it with rooms here.
                    continue;
                }
                poll_peers(&s).await;
            }
            _ = push.tick() => push_presence(&s),
            _ = status.tick() => {
                let f = freshness(&s.consensus);
                let due = f.stale && last_status.elapsed() >= PRESENCE_EVERY;
                if f.stale != was_stale || due {
                    was_stale = f.stale;
                    last_status = Instant::now();
                    let text = ServerMsg::NodeStatus { status: f, server_time_ms: server_time_ms(&s.consensus) }.to_text();
                    s.api.hub.broadcast_own(&text);
                }
            }
            _ = tidy.tick() => s.api.limits.forget_idle_bidders(),
        }
    }
}
