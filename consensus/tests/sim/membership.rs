//! Membership changes in the simulation, under faults and under load: a
//! member added while the leader cannot reach a follower, a crashed
//! follower removed, another member added, the leader crashed and removed
//! by its successor. Clients propose probes through random members all the
//! while. At the end every member still in the cluster holds every
//! acknowledged probe, at one index, with the same state hash.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use paddle_consensus::probe::PROBE_TREE;
use paddle_consensus::types::NodeId;
use paddle_consensus::{Changed, MemberChange};
use paddle_proto::{Command, Probe, Reply};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Mutex as AsyncMutex;

use super::cluster::{addr, sim_config, SimCluster};
use super::net::{SimNet, Weather};

type Shared = Arc<AsyncMutex<SimCluster>>;

fn probe(writer: u64, seq: u64) -> Command {
    Command::Probe(Probe {
        writer,
        seq,
        payload: Vec::new(),
    })
}

fn probe_key(writer: u64, seq: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&writer.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// The leader the running members among `among` agree on.
async fn leader(c: &Shared, among: &[NodeId], within: Duration) -> anyhow::Result<NodeId> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        {
            let c = c.lock().await;
            let named: Vec<Option<NodeId>> = among
                .iter()
                .filter_map(|id| c.running(*id))
                .map(|m| m.current_leader())
                .collect();
            if let Some(Some(l)) = named.first() {
                if named.iter().all(|n| *n == Some(*l)) && among.contains(l) {
                    return Ok(*l);
                }
            }
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no agreed leader among {among:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Run one membership change on the leader of `among`, again while it is
/// refused for a reason that passes (no leader yet, a leader elected a
/// moment ago that has not heard from its followers).
async fn change(c: &Shared, among: &[NodeId], what: MemberChange) -> anyhow::Result<()> {
    let mut last = String::new();
    for _ in 0..100 {
        let l = leader(c, among, Duration::from_secs(20)).await?;
        let Some(m) = c.lock().await.running(l) else {
            continue;
        };
        match m.change_members(what.clone()).await {
            Ok(Changed::Done) => return Ok(()),
            Ok(Changed::HandedOver { leader }) => last = format!("handed over to {leader}"),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("{what:?} never went through: {last}")
}

async fn admit(c: &Shared, among: &[NodeId], id: NodeId) -> anyhow::Result<()> {
    let mut last = String::new();
    for _ in 0..100 {
        let l = leader(c, among, Duration::from_secs(20)).await?;
        let Some(m) = c.lock().await.running(l) else {
            continue;
        };
        match m.admit(id, addr(id)).await {
            Ok(_) => return Ok(()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("admitting {id} never went through: {last}")
}

/// What the clients were told: `(writer, seq)` acknowledged at an index.
type Acked = Arc<Mutex<Vec<(u64, u64, u64)>>>;

async fn client(c: Shared, writer: u64, seed: u64, until: tokio::time::Instant, acked: Acked) {
    let mut rng = StdRng::seed_from_u64(seed ^ writer);
    let mut seq = 0;
    while tokio::time::Instant::now() < until {
        let member = {
            let c = c.lock().await;
            let up: Vec<NodeId> = c
                .members
                .iter()
                .filter(|m| m.c.is_some())
                .map(|m| m.id)
                .collect();
            let pick = up[rng.gen_range(0..up.len())];
            c.running(pick)
        };
        if let Some(m) = member {
            if let Ok(done) = m.propose(probe(writer, seq)).await {
                if let Reply::Probe { first_index } = done.reply {
                    acked
                        .lock()
                        .expect("acked")
                        .push((writer, seq, first_index));
                }
            }
        }
        seq += 1;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(5..40))).await;
    }
}

pub async fn changes_under_faults(root: &std::path::Path, seed: u64) -> anyhow::Result<usize> {
    let cfg = sim_config(200);
    let net = SimNet::new(seed, Weather::FAIR, cfg.raft.frame_cap());
    let c: Shared = Arc::new(AsyncMutex::new(
        SimCluster::form(root, 3, net.clone(), cfg, vec![0; 5]).await?,
    ));
    let mut members: Vec<NodeId> = vec![1, 2, 3];
    let acked: Acked = Arc::default();
    let until = tokio::time::Instant::now() + Duration::from_secs(12);
    let clients: Vec<_> = (1..=3)
        .map(|w| tokio::spawn(client(c.clone(), w, seed, until, acked.clone())))
        .collect();

    // 1. A member added while the leader cannot reach one follower.
    let l = leader(&c, &members, Duration::from_secs(10)).await?;
    let cut = *members.iter().find(|m| **m != l).expect("a follower");
    net.set_cut(l, cut, true);
    let four = c.lock().await.add_empty(root).await?;
    admit(&c, &members, four).await?;
    members.push(four);
    net.heal_links();

    // 2. A crashed follower removed.
    let l = leader(&c, &members, Duration::from_secs(10)).await?;
    let gone = *members
        .iter()
        .find(|m| **m != l && **m != four)
        .expect("a follower");
    c.lock().await.crash(gone).await;
    members.retain(|m| *m != gone);
    change(&c, &members, MemberChange::Remove(gone)).await?;

    // 3. Another member added, with lossy links.
    net.set_weather(Weather {
        drop_permille: 20,
        duplicate_permille: 20,
        slow_permille: 100,
        slow_ms: 30,
    });
    let five = c.lock().await.add_empty(root).await?;
    admit(&c, &members, five).await?;
    members.push(five);
    net.heal();

    // 4. The leader crashed; its successor removes it.
    let l = leader(&c, &members, Duration::from_secs(10)).await?;
    c.lock().await.crash(l).await;
    members.retain(|m| *m != l);
    change(&c, &members, MemberChange::Remove(l)).await?;

    for task in clients {
        task.await?;
    }
    // A last probe through the final cluster; every member applies it.
    let l = leader(&c, &members, Duration::from_secs(10)).await?;
    let barrier = c
        .lock()
        .await
        .member(l)
        .propose(probe(u64::MAX, seed))
        .await?
        .index;
    let acked = acked.lock().expect("acked").clone();
    let mut expected = members.clone();
    expected.sort();
    let mut views = Vec::new();
    for _ in 0..50 {
        views.clear();
        for id in &members {
            let m = c.lock().await.member(*id).clone();
            views.push((
                *id,
                m.wait_applied(barrier, Duration::from_secs(30)).await?,
                m.facts(),
            ));
        }
        if views
            .iter()
            .all(|(_, v, _)| v.applied_index() == views[0].1.applied_index())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (id, view, facts) in &views {
        let voters: Vec<NodeId> = facts.voters.iter().copied().collect();
        anyhow::ensure!(
            voters == expected,
            "member {id} sees voters {voters:?}, the cluster is {expected:?}"
        );
        for (writer, seq, index) in &acked {
            let Some(v) = view.get(PROBE_TREE, &probe_key(*writer, *seq)) else {
                anyhow::bail!("member {id} lost probe ({writer}, {seq}), acknowledged at {index}");
            };
            let at = u64::from_be_bytes(v[..8].try_into().expect("8 bytes"));
            anyhow::ensure!(
                at == *index,
                "member {id} holds probe ({writer}, {seq}) at {at}, acknowledged at {index}"
            );
        }
        anyhow::ensure!(
            view.applied_index() == views[0].1.applied_index()
                && view.state_hash() == views[0].1.state_hash(),
            "member {id} differs from member {} at index {}",
            views[0].0,
            view.applied_index()
        );
    }
    c.lock().await.stop().await;
    Ok(acked.len())
}
