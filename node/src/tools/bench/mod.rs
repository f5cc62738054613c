//! Benchmarks behind `paddle bench`: they measure and report, never assert.

pub mod api;
pub mod consensus;
pub mod engine;
pub mod engine_load;
pub mod join;
pub mod plot;
pub mod progress;
