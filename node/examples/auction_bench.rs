//! Engine applies per second, in memory, one thread.
//!
//! `cargo run --release -p paddle-node --example auction_bench [BIDS] [--machine]`
//!
//! `--machine` also writes every touched record and event through an
//! in-memory key-value store (encoding included), as the state machine does.

use paddle_node::tools::bench::engine_load::{run, BenchConfig};

fn main() {
    let mut cfg = BenchConfig::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--machine" => cfg.through_machine = true,
            n => cfg.bids = n.parse().expect("usage: auction_bench [BIDS] [--machine]"),
        }
    }
    // A warm-up run, then the measured one.
    run(&BenchConfig {
        bids: cfg.bids / 10,
        ..cfg
    });
    let r = run(&cfg);
    println!(
        "{} bids ({} accepted, {} refused){}: {:.3} s wall = {} bids/s; {:.3} s thread CPU = {} bids/s per core",
        r.bids,
        r.accepted,
        r.refused,
        if cfg.through_machine { " through the machine + MemStore" } else { ", engine only" },
        r.elapsed_ns as f64 / 1e9,
        r.bids_per_sec,
        r.cpu_ns as f64 / 1e9,
        r.bids_per_cpu_sec,
    );
}
