//! Cluster life: bootstrap, join, leave; the data dir; tokens.

pub mod datadir;
pub mod secrets;
pub mod state;
