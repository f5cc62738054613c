//! Exact money. Filled in by the auction engine work (issue 4).
