//! placeholder
pub mod cli;
pub mod commands;
pub mod config;
pub mod logging;
