//! Where the run's time went on each node: the `paddle_stage_seconds`
//! histograms of every node's `/metrics`, read before and after the
//! bidding, and what the run added to each stage (count, mean, and the
//! bucket bounds its median and 99th percentile fall under).

use std::fmt;

use serde::Serialize;

/// One stage's cumulative histogram as `/metrics` exposes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// `(upper bound in seconds, cumulative count)`, ascending.
    pub buckets: Vec<(f64, u64)>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl Counts {
    /// What happened between `before` and `self`.
    fn since(&self, before: &Counts) -> Counts {
        let earlier = |le: f64| {
            before
                .buckets
                .iter()
                .find(|(b, _)| *b == le)
                .map_or(0, |(_, c)| *c)
        };
        Counts {
            buckets: self
                .buckets
                .iter()
                .map(|(le, c)| (*le, c.saturating_sub(earlier(*le))))
                .collect(),
            count: self.count.saturating_sub(before.count),
            sum_seconds: (self.sum_seconds - before.sum_seconds).max(0.0),
        }
    }

    /// The smallest bucket bound (ms) with at least `q` of the count at or
    /// under it; `None` when it lies above the last finite bound.
    fn bound_ms(&self, q: f64) -> Option<f64> {
        let want = (self.count as f64 * q).ceil() as u64;
        self.buckets
            .iter()
            .find(|(_, c)| *c >= want.max(1))
            .map(|(le, _)| le * 1000.0)
    }
}

/// Every stage of one node's `/metrics`, in the order it lists them.
pub type Snapshot = Vec<(String, Counts)>;

/// Read the `paddle_stage_seconds` histograms out of a Prometheus text.
pub fn parse(text: &str) -> Snapshot {
    let mut out = Snapshot::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("paddle_stage_seconds_") else {
            continue;
        };
        let Some((kind, rest)) = rest.split_once("{stage=\"") else {
            continue;
        };
        let Some((stage, rest)) = rest.split_once('"') else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let Ok(value) = value.trim().parse::<f64>() else {
            continue;
        };
        if out.last().is_none_or(|(name, _)| name != stage) {
            out.push((stage.to_string(), Counts::default()));
        }
        let Some((_, c)) = out.last_mut() else {
            continue;
        };
        match kind {
            "sum" => c.sum_seconds = value,
            "count" => c.count = value as u64,
            "bucket" => {
                let le = labels
                    .strip_prefix(",le=\"")
                    .and_then(|l| l.strip_suffix('"'))
                    .and_then(|l| l.parse::<f64>().ok())
                    // `+Inf` is the count.
                    .filter(|le| le.is_finite());
                if let Some(le) = le {
                    c.buckets.push((le, value as u64));
                }
            }
            _ => {}
        }
    }
    out
}

/// One stage on one node over the run.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub stage: String,
    pub count: u64,
    pub mean_ms: f64,
    /// The bucket bound the median falls under (`null`: above 10 s).
    pub p50_under_ms: Option<f64>,
    pub p99_under_ms: Option<f64>,
}

/// What the run added to each stage of one node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStages {
    pub node: usize,
    pub stages: Vec<Stage>,
}

/// The run's share of each stage of one node (stages it never used left
/// out), in the order `/metrics` lists them.
pub fn during(node: usize, before: &Snapshot, after: &Snapshot) -> NodeStages {
    let none = Counts::default();
    let stages = after
        .iter()
        .filter_map(|(name, after)| {
            let earlier = before
                .iter()
                .find(|(n, _)| n == name)
                .map_or(&none, |(_, c)| c);
            let d = after.since(earlier);
            (d.count > 0).then(|| Stage {
                stage: name.clone(),
                count: d.count,
                mean_ms: d.sum_seconds * 1000.0 / d.count as f64,
                p50_under_ms: d.bound_ms(0.5),
                p99_under_ms: d.bound_ms(0.99),
            })
        })
        .collect();
    NodeStages { node, stages }
}

impl fmt::Display for NodeStages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let under = |v: Option<f64>| v.map_or("> 10 s".to_string(), |v| format!("<= {v} ms"));
        for s in &self.stages {
            writeln!(
                f,
                "    node {} {:<11} {:>9} x  mean {:>8.3} ms   p50 {:<12} p99 {}",
                self.node,
                s.stage,
                s.count,
                s.mean_ms,
                under(s.p50_under_ms),
                under(s.p99_under_ms)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `/metrics` text with an `apply` histogram (buckets at 0.1 and
    /// 1 ms, then +Inf) and a `forward` stage never used.
    fn metrics(apply: [u64; 3], sum: f64) -> String {
        let mut t = String::from("paddle_commit_latency_seconds_count 9\n");
        for (stage, counts, sum) in [("apply", apply, sum), ("forward", [0; 3], 0.0)] {
            for (le, c) in ["0.0001", "0.001", "+Inf"].iter().zip(counts) {
                t += &format!("paddle_stage_seconds_bucket{{stage=\"{stage}\",le=\"{le}\"}} {c}\n");
            }
            t += &format!("paddle_stage_seconds_sum{{stage=\"{stage}\"}} {sum}\n");
            t += &format!(
                "paddle_stage_seconds_count{{stage=\"{stage}\"}} {}\n",
                counts[2]
            );
        }
        t
    }

    #[test]
    fn parses_the_stage_histograms_and_nothing_else() {
        let s = parse(&metrics([1, 2, 2], 0.001));
        let names: Vec<&str> = s.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["apply", "forward"], "in the text's order");
        assert_eq!(
            s[0].1,
            Counts {
                buckets: vec![(0.0001, 1), (0.001, 2)],
                count: 2,
                sum_seconds: 0.001,
            }
        );
    }

    #[test]
    fn reports_what_the_run_added_and_leaves_out_unused_stages() {
        let n = during(
            2,
            &parse(&metrics([1, 2, 2], 0.001)),
            &parse(&metrics([1, 101, 102], 0.071)),
        );
        assert_eq!(n.node, 2);
        assert_eq!(n.stages.len(), 1, "forward was never used: {n:?}");
        let apply = &n.stages[0];
        assert_eq!(apply.count, 100);
        assert!((apply.mean_ms - 0.7).abs() < 1e-9, "{apply:?}");
        assert_eq!(apply.p50_under_ms, Some(1.0));
        // 99 of the run's 100 were at or under 1 ms; the 100th was above
        // the last finite bound.
        assert_eq!(apply.p99_under_ms, Some(1.0));
        let all = Counts {
            buckets: vec![(0.001, 0)],
            count: 4,
            sum_seconds: 1.0,
        };
        assert_eq!(all.bound_ms(0.5), None, "above every bound");
    }
}
