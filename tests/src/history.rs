//! Probe writers and the history checker.
//!
//! A [`Load`] runs writer tasks that post numbered probes
//! (`POST /api/v1/probe {writer, seq}`) while a test kills, restarts and
//! removes nodes. Each writer is sequential and behaves like a careful
//! client: when a request fails (connection refused, no leader, outcome
//! unknown) it retries the *same* `(writer, seq)` on another node, which
//! the node makes idempotent, and only then moves on. Every operation
//! records when it was first sent and when it was acknowledged, with the
//! log index the node reported.
//!
//! [`History::check`] then compares the history with the probes a node
//! holds:
//! - every acknowledged probe is present, at the index its ack named
//!   (nothing acknowledged was lost or moved);
//! - nothing is present that no writer sent (no phantom writes);
//! - real-time order holds: if probe A was acknowledged before probe B was
//!   first sent, A's index is lower than B's. Each write's index is its
//!   linearization point, so together with the two points above this is a
//!   linearizability check of the history of writes. (Concurrent probes
//!   may share an index: the leader commits a batch of proposals as one
//!   log entry. Real-time order still makes the indexes strictly grow.)

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};

use crate::api::{Api, ProbeAck};

/// How long a writer keeps retrying its last probe after it was told to
/// stop, before it records the outcome as unknown.
const RESOLVE_AFTER_STOP: Duration = Duration::from_secs(90);

/// One probe write as the client saw it.
#[derive(Debug, Clone)]
pub struct Op {
    pub writer: u64,
    pub seq: u64,
    /// First attempt sent.
    pub started: Instant,
    /// Acknowledgement: when, and the index the node reported.
    pub acked: Option<(Instant, u64)>,
}

/// Writers running in the background.
pub struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    targets: Arc<Mutex<Vec<String>>>,
    writers: Range<u64>,
    tasks: Vec<tokio::task::JoinHandle<(Vec<Op>, Vec<String>)>>,
}

impl Load {
    /// Start one writer per id in `writers`, spreading requests over
    /// `targets` (node base URLs). `payload` is sent with every probe.
    pub fn start(api: &Api, targets: Vec<String>, writers: Range<u64>, payload: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicU64::new(0));
        let targets = Arc::new(Mutex::new(targets));
        let tasks = writers
            .clone()
            .map(|w| {
                let (api, stop, acked, targets) =
                    (api.clone(), stop.clone(), acked.clone(), targets.clone());
                let payload = payload.to_string();
                tokio::spawn(async move { writer(api, w, targets, stop, acked, payload).await })
            })
            .collect();
        Load {
            stop,
            acked,
            targets,
            writers,
            tasks,
        }
    }

    /// Probes acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    /// Send future requests to these nodes only.
    pub fn set_targets(&self, urls: Vec<String>) {
        *self.targets.lock().expect("targets") = urls;
    }

    /// Wait until `more` probes beyond the current count are acknowledged:
    /// proof that the cluster is committing.
    pub async fn wait_progress(&self, more: u64, timeout: Duration) -> anyhow::Result<()> {
        let goal = self.acked() + more;
        let started = Instant::now();
        while self.acked() < goal {
            if started.elapsed() > timeout {
                bail!(
                    "the cluster stopped acknowledging probes: {} of {goal} after {timeout:?}",
                    self.acked()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Stop the writers (each finishes or resolves its last probe).
    pub async fn finish(self) -> anyhow::Result<History> {
        self.stop.store(true, Ordering::Relaxed);
        let mut ops = Vec::new();
        let mut errors = Vec::new();
        for t in self.tasks {
            let (o, e) = t.await?;
            ops.extend(o);
            errors.extend(e);
        }
        Ok(History {
            ops,
            errors,
            writers: self.writers,
        })
    }
}

async fn writer(
    api: Api,
    w: u64,
    targets: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    payload: String,
) -> (Vec<Op>, Vec<String>) {
    let mut ops = Vec::new();
    let mut errors = Vec::new();
    let mut seq = 0;
    let mut stop_seen: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let mut op = Op {
            writer: w,
            seq,
            started: Instant::now(),
            acked: None,
        };
        let mut attempt = 0u64;
        loop {
            let url = {
                let t = targets.lock().expect("targets");
                t[((w + seq + attempt) % t.len() as u64) as usize].clone()
            };
            match api.probe(&url, w, seq, &payload).await {
                Ok(Ok(ack)) => {
                    if (ack.writer, ack.seq) != (w, seq) {
                        errors.push(format!("asked ({w},{seq}), {url} acked {ack:?}"));
                    }
                    op.acked = Some((Instant::now(), ack.index));
                    acked.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                // Our own mistakes (bad request, auth) are bugs, not faults.
                Ok(Err(r)) if matches!(r.status, 400 | 401 | 403 | 404 | 422) => {
                    errors.push(format!(
                        "({w},{seq}) refused by {url}: {} {}",
                        r.status, r.body
                    ));
                    break;
                }
                Ok(Err(_)) | Err(_) => {}
            }
            attempt += 1;
            if stop.load(Ordering::Relaxed) {
                let since = *stop_seen.get_or_insert_with(Instant::now);
                if since.elapsed() > RESOLVE_AFTER_STOP {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ops.push(op);
    }
    (ops, errors)
}

/// What a [`Load`] did.
pub struct History {
    pub ops: Vec<Op>,
    /// Answers no fault can explain (wrong ack, auth refusals).
    pub errors: Vec<String>,
    writers: Range<u64>,
}

/// Numbers from a successful check.
#[derive(Debug)]
pub struct Checked {
    pub acked: usize,
    pub unknown: usize,
    pub max_index: u64,
}

impl History {
    /// Number of acknowledged probes.
    pub fn acked(&self) -> usize {
        self.ops.iter().filter(|o| o.acked.is_some()).count()
    }

    /// Highest index any ack reported (0 if none).
    pub fn max_index(&self) -> u64 {
        self.ops
            .iter()
            .filter_map(|o| o.acked.map(|a| a.1))
            .max()
            .unwrap_or(0)
    }

    /// Check the history against the probes a node lists (see the module
    /// documentation for what is checked).
    pub fn check(&self, listed: &[ProbeAck]) -> anyhow::Result<Checked> {
        ensure!(
            self.errors.is_empty(),
            "unexplained answers: {:?}",
            self.errors
        );
        let ours: BTreeMap<(u64, u64), u64> = listed
            .iter()
            .filter(|p| self.writers.contains(&p.writer))
            .map(|p| ((p.writer, p.seq), p.index))
            .collect();
        let sent: BTreeMap<(u64, u64), &Op> =
            self.ops.iter().map(|o| ((o.writer, o.seq), o)).collect();

        let mut lost = Vec::new();
        let mut moved = Vec::new();
        for op in &self.ops {
            if let Some((_, index)) = op.acked {
                match ours.get(&(op.writer, op.seq)) {
                    None => lost.push((op.writer, op.seq, index)),
                    Some(i) if *i != index => moved.push((op.writer, op.seq, index, *i)),
                    Some(_) => {}
                }
            }
        }
        ensure!(
            lost.is_empty(),
            "{} acknowledged probes are missing (writer, seq, acked index), first ones: {:?}",
            lost.len(),
            &lost[..lost.len().min(10)]
        );
        ensure!(
            moved.is_empty(),
            "probes listed at another index than acknowledged (writer, seq, acked, listed): {:?}",
            &moved[..moved.len().min(10)]
        );
        let phantoms: Vec<_> = ours.keys().filter(|k| !sent.contains_key(k)).collect();
        ensure!(
            phantoms.is_empty(),
            "probes present that no writer sent: {phantoms:?}"
        );
        self.check_real_time_order()?;
        Ok(Checked {
            acked: self.acked(),
            unknown: self.ops.len() - self.acked(),
            max_index: self.max_index(),
        })
    }

    /// If A was acknowledged before B was first sent, A's index < B's.
    fn check_real_time_order(&self) -> anyhow::Result<()> {
        let mut by_ack: Vec<(Instant, u64, &Op)> = self
            .ops
            .iter()
            .filter_map(|o| o.acked.map(|(t, i)| (t, i, o)))
            .collect();
        by_ack.sort_by_key(|(t, _, _)| *t);
        let mut by_start: Vec<(&Op, u64)> = self
            .ops
            .iter()
            .filter_map(|o| o.acked.map(|(_, i)| (o, i)))
            .collect();
        by_start.sort_by_key(|(o, _)| o.started);
        let mut next = 0;
        let mut highest: Option<(u64, &Op)> = None;
        for (op, index) in by_start {
            while next < by_ack.len() && by_ack[next].0 < op.started {
                let (_, i, o) = by_ack[next];
                if highest.is_none_or(|(h, _)| i > h) {
                    highest = Some((i, o));
                }
                next += 1;
            }
            if let Some((h, before)) = highest {
                ensure!(
                    h < index,
                    "real-time order broken: probe ({},{}) was acknowledged at index {h} before \
                     probe ({},{}) was sent, which got the lower index {index}",
                    before.writer,
                    before.seq,
                    op.writer,
                    op.seq
                );
            }
        }
        Ok(())
    }
}
