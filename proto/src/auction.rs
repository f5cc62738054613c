//! Auction commands, events and outcomes. Filled in by the auction engine
//! work (issue 4); until then the log carries cluster and probe commands only.

use serde::{Deserialize, Serialize};

/// A command for the auction state machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuctionCommand {}

/// What the auction engine answers to one command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuctionReply {}
