//! The leader's timer for timed sales: it proposes `OpenLot` and `CloseLot`
//! when their time comes by cluster time (never this machine's own clock;
//! see `paddle_consensus::clock`). Only the leader does this; every node
//! re-checks each command against the entry's stamp when applying it, so an
//! early or repeated proposal is refused harmlessly and a late one still
//! closes the lot at the right moment (bids stamped after the end were
//! refused anyway).

use std::time::Duration;

use paddle_consensus::Consensus;
use paddle_proto::Command;

use paddle_auction::read;

/// Longest sleep between checks: new lots or extensions may move the next
/// deadline earlier while we sleep.
const MAX_SLEEP: Duration = Duration::from_millis(250);

/// Run until the process stops.
pub async fn run(consensus: Consensus) {
    loop {
        let mut sleep = MAX_SLEEP;
        if consensus.current_leader() == Some(consensus.id()) {
            let view = consensus.view();
            let now = consensus.clock().now_ms();
            match read::due(&view, now) {
                Ok(due) => {
                    for cmd in due.commands {
                        tracing::debug!(?cmd, "proposing a timed lot transition");
                        if let Err(e) = consensus.propose(Command::Auction(cmd)).await {
                            tracing::warn!(error = %e, "could not propose a timed lot transition; will retry");
                        }
                    }
                    if let Some(next) = due.next_deadline_ms {
                        sleep = sleep.min(Duration::from_millis(
                            next.saturating_sub(consensus.clock().now_ms()),
                        ));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the auction state for the timer")
                }
            }
        }
        tokio::time::sleep(sleep.max(Duration::from_millis(5))).await;
    }
}
