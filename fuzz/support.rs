//! Shared by every fuzz target (included with `#[path]` into each crate's
//! `tests/fuzz.rs`): the stored corpus, an execution counter, and an
//! allocation meter.
//!
//! Each target is a plain `fn(&[u8])` that panics when a property fails.
//! Under `cargo test` it runs over every file of `fuzz/corpus/<target>/`
//! and then over bolero's random inputs (one second by default;
//! `BOLERO_RANDOM_ITERATIONS=N` for N inputs, as `scripts/fuzz` does).

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// The global allocator of a fuzz test binary: the system's, counting the
/// bytes each thread holds so a target can be held to an allocation budget.
pub struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note(grow: usize, shrink: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(grow).saturating_sub(shrink);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded unchanged to `System`; the counters are
// const-initialised thread locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size(), 0);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size(), 0);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(0, layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size, layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Run `f` and return the most bytes this thread held at once meanwhile,
/// above what it held before (what `f` allocated, at its peak).
pub fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    let r = f();
    (r, PEAK.with(|p| p.get()))
}

/// What decoding `len` bytes of untrusted input may allocate: a little
/// more than the values it can describe, never what a length field claims.
pub fn budget(len: usize) -> usize {
    (4 << 20) + 512 * len
}

/// Panic when decoding `input` held more than [`budget`] at once.
pub fn bounded<R>(target: &str, input: &[u8], f: impl FnOnce() -> R) -> R {
    let (r, peak) = peak_during(f);
    assert!(
        peak <= budget(input.len()),
        "{target}: {} input bytes made {peak} bytes of allocation (budget {})",
        input.len(),
        budget(input.len())
    );
    r
}

/// Executions per target in this process, printed at the end of a test.
pub struct Counter(AtomicU64);

impl Counter {
    pub const fn new() -> Self {
        Counter(AtomicU64::new(0))
    }
    pub fn tick(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The stored corpus of `target`: `fuzz/corpus/<target>/*` at the
/// workspace root (found upwards from `manifest_dir`).
pub fn corpus(manifest_dir: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut dir = PathBuf::from(manifest_dir);
    while !dir.join("fuzz").join("corpus").is_dir() {
        assert!(dir.pop(), "no fuzz/corpus above {manifest_dir}");
    }
    let dir = dir.join("fuzz").join("corpus").join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(d) => d.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    files.retain(|p| p.is_file());
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("corpus file is readable");
            (p, bytes)
        })
        .collect()
}

/// Run `target` over its stored corpus, each file named if it fails;
/// returns how many files there were.
pub fn replay(manifest_dir: &str, name: &str, counter: &Counter, target: fn(&[u8])) -> usize {
    let stored = corpus(manifest_dir, name);
    for (path, bytes) in &stored {
        let ok = std::panic::catch_unwind(|| target(bytes));
        assert!(ok.is_ok(), "{name}: corpus file {} fails", path.display());
        counter.tick();
    }
    stored.len()
}

/// A `#[test]` named `$name` that runs `$target` over the stored corpus
/// `fuzz/corpus/$name/` and then over bolero's inputs, and prints how many
/// inputs it ran (`--nocapture` shows it).
macro_rules! fuzz_target {
    ($name:ident, $target:path) => {
        #[test]
        fn $name() {
            static RUNS: support::Counter = support::Counter::new();
            let name = stringify!($name);
            let stored = support::replay(env!("CARGO_MANIFEST_DIR"), name, &RUNS, $target);
            bolero::check!().for_each(|input: &[u8]| {
                $target(input);
                RUNS.tick();
            });
            println!(
                "fuzz target {name}: {} executions ({stored} from the stored corpus), 0 failures",
                RUNS.get()
            );
        }
    };
}
