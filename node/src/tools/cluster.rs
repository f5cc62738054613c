//! `paddle cluster status|token|remove|promote|demote`: the operator's
//! view of the cluster and its membership changes, through any node's
//! HTTP API (`/api/v1/cluster...`). The node forwards changes to the
//! leader, so the operator never needs to know which node leads.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;

use super::client::{block_on, ClientError, NodeClient};
use crate::api::ops::nodes::{ClusterStatus, NodeRow};
use crate::cli::{MemberArgs, StatusArgs, TokenArgs};

/// Deadline for quick reads (status, token).
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Deadline for a membership change: promoting waits for the node to catch
/// up, removing the leader waits for a hand-over and an election.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(300);

/// `paddle cluster status [--node URL] [--json]`.
pub fn cluster_status(args: &StatusArgs) -> ExitCode {
    block_on("cluster status", async {
        let client = NodeClient::new(&args.node.node, Some(READ_TIMEOUT))?;
        let value: serde_json::Value = client.json(Method::GET, "api/v1/cluster").await?;
        if args.json {
            let text = serde_json::to_string_pretty(&value).expect("JSON values print");
            println!("{text}");
            return Ok(());
        }
        let status: ClusterStatus =
            serde_json::from_value(value).map_err(|e| ClientError::NotPaddle {
                url: args.node.node.to_string(),
                status: 200,
                snippet: format!("unexpected cluster status shape: {e}"),
            })?;
        print!("{}", render_status(&status));
        Ok(())
    })
}

/// The status as a table, with a summary line above it.
pub fn render_status(s: &ClusterStatus) -> String {
    let mut out = String::new();
    let leader = s
        .leader
        .map(|l| format!("leader node {l}"))
        .unwrap_or_else(|| "NO LEADER known".to_string());
    let _ = writeln!(
        out,
        "Cluster as seen by node {}: {leader}, term {}, committed index {}",
        s.answered_by, s.term, s.committed
    );
    if s.joint {
        let _ = writeln!(
            out,
            "A membership change is in progress (joint configuration)."
        );
    }
    for n in s.nodes.iter().filter(|n| n.clock_skewed) {
        let _ = writeln!(
            out,
            "CLOCK: node {}'s clock is {} off cluster time (bound {:.1} s): it stamps and shows cluster time, but fix that machine's clock.",
            n.id,
            clock(n.clock_offset_ms),
            s.max_skew_ms as f64 / 1000.0
        );
    }
    if !s.clock_agreed {
        let _ = writeln!(
            out,
            "CLOCK: the voters' clocks are not in agreement right now (too few measured, or two far apart); cluster time carries on from the last agreement."
        );
    }
    let header = [
        "ID", "HTTP", "QUIC", "KIND", "ROLE", "TERM", "APPLIED", "LAG", "HEALTHY", "CLIENTS",
        "CLOCK",
    ];
    let rows: Vec<[String; 11]> = s.nodes.iter().map(row).collect();
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (cell, w) in cells.iter().zip(widths) {
            let _ = write!(text, "{cell:<w$}  ");
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(&header.map(String::from));
    for r in &rows {
        line(r);
    }
    out
}

/// A clock offset for people: `+0.002s`, `-600.0s`, `-` when unknown.
fn clock(offset_ms: Option<f64>) -> String {
    match offset_ms {
        None => "-".into(),
        Some(ms) if ms.abs() >= 10_000.0 => format!("{:+.1}s", ms / 1000.0),
        Some(ms) => format!("{:+.3}s", ms / 1000.0),
    }
}

fn row(n: &NodeRow) -> [String; 11] {
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    [
        n.id.to_string(),
        n.http_addr.clone(),
        n.raft_addr.clone(),
        if n.voter { "voter" } else { "learner" }.to_string(),
        n.role.clone(),
        opt(n.term),
        opt(n.applied),
        opt(n.lag),
        if n.healthy { "yes" } else { "NO" }.to_string(),
        opt(n.clients),
        if n.clock_skewed {
            format!("{}!SKEWED", clock(n.clock_offset_ms))
        } else {
            clock(n.clock_offset_ms)
        },
    ]
}

#[derive(Deserialize)]
struct TokenReply {
    join_token: String,
    join_command: String,
}

/// `paddle cluster token [--rotate]`: the token alone on stdout (so
/// `TOKEN=$(paddle cluster token)` works), the hint on stderr.
pub fn cluster_token(args: &TokenArgs) -> ExitCode {
    block_on("cluster token", async {
        let token = args.auth.token()?;
        let client = NodeClient::new(&args.node.node, Some(READ_TIMEOUT))?.with_token(token);
        let reply: TokenReply = if args.rotate {
            client
                .json(Method::POST, "api/v1/cluster/join-token/rotate")
                .await?
        } else {
            client
                .json(Method::GET, "api/v1/cluster/join-token")
                .await?
        };
        if args.rotate {
            eprintln!("paddle: join token rotated; the old one no longer admits nodes");
        }
        println!("{}", reply.join_token);
        eprintln!("paddle: on a new machine run (prefer PADDLE_TOKEN=<token> over the flag):");
        eprintln!("  {}", reply.join_command);
        Ok(())
    })
}

/// A membership change the operator asked for.
#[derive(Debug, Clone, Copy)]
enum Change {
    Remove,
    Promote,
    Demote,
    Lead,
}

impl Change {
    fn verb(self) -> &'static str {
        match self {
            Change::Remove => "remove",
            Change::Promote => "promote",
            Change::Demote => "demote",
            Change::Lead => "lead",
        }
    }

    fn path(self, id: u64) -> String {
        format!("api/v1/cluster/nodes/{id}/{}", self.verb())
    }

    fn done(self, id: u64) -> String {
        match self {
            Change::Remove => format!("node {id} removed from the cluster; it stops itself"),
            Change::Promote => format!("node {id} is a voter"),
            Change::Demote => {
                format!("node {id} is a learner: it serves and forwards but no longer votes")
            }
            Change::Lead => format!("node {id} leads the cluster"),
        }
    }
}

fn change(args: &MemberArgs, what: Change) -> ExitCode {
    block_on(&format!("cluster {}", what.verb()), async {
        let token = args.auth.token()?;
        let client = NodeClient::new(&args.node.node, Some(CHANGE_TIMEOUT))?.with_token(token);
        let _: serde_json::Value = client.json(Method::POST, &what.path(args.id)).await?;
        println!("paddle: {}", what.done(args.id));
        Ok(())
    })
}

/// `paddle cluster remove <ID>`.
pub fn cluster_remove(args: &MemberArgs) -> ExitCode {
    change(args, Change::Remove)
}

/// `paddle cluster promote <ID>`.
pub fn cluster_promote(args: &MemberArgs) -> ExitCode {
    change(args, Change::Promote)
}

/// `paddle cluster demote <ID>`.
pub fn cluster_demote(args: &MemberArgs) -> ExitCode {
    change(args, Change::Demote)
}

/// `paddle cluster lead <ID>`.
pub fn cluster_lead(args: &MemberArgs) -> ExitCode {
    change(args, Change::Lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_lines_up_and_marks_trouble() {
        let node = |id, role: &str, applied: Option<u64>, healthy| NodeRow {
            id,
            raft_addr: format!("127.0.0.1:708{id}"),
            http_addr: format!("127.0.0.1:808{id}"),
            voter: id != 3,
            role: role.to_string(),
            term: applied.map(|_| 4),
            applied,
            lag: applied.map(|a| 120 - a),
            healthy,
            clients: applied.map(|_| id * 10),
            clock_offset_ms: applied.map(|_| if id == 2 { 600_123.4 } else { 1.5 }),
            clock_skewed: id == 2,
        };
        let s = ClusterStatus {
            answered_by: 2,
            leader: Some(1),
            term: 4,
            committed: 120,
            joint: true,
            server_time_ms: 0,
            clock_agreed: true,
            max_skew_ms: 1000,
            nodes: vec![
                node(1, "leader", Some(120), true),
                node(2, "follower", Some(118), true),
                node(3, "unreachable", None, false),
            ],
        };
        let text = render_status(&s);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "Cluster as seen by node 2: leader node 1, term 4, committed index 120"
        );
        assert!(lines[1].contains("joint"));
        assert!(lines[2].starts_with("CLOCK: node 2's clock is +600.1s off"));
        assert!(lines[3].starts_with("ID  HTTP"));
        assert_eq!(
            lines[5],
            "2   127.0.0.1:8082  127.0.0.1:7082  voter    follower     4     118      2    yes      20       +600.1s!SKEWED"
        );
        assert_eq!(
            lines[6],
            "3   127.0.0.1:8083  127.0.0.1:7083  learner  unreachable  -     -        -    NO       -        -"
        );
        assert!(lines[4].ends_with("+0.002s"));
    }
}
