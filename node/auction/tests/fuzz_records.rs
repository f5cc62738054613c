//! Fuzz target of the state loader: what a node rebuilds its auction state
//! from at start, after a snapshot install and in `paddle restore` (bolero;
//! see `fuzz/support.rs` and RELIABILITY.md). Snapshots are checksummed, so
//! damaged records come from bugs or hand-made files, not the disk: the
//! loader must refuse them with an error, never panic, and a state it
//! accepts must write back out to records that load to the same state.

#[macro_use]
#[path = "../../../fuzz/support.rs"]
mod support;
mod common;

use std::sync::OnceLock;

use common::*;
use paddle_auction::records::tree;
use paddle_auction::{AuctionState, KvWrite, MemStore};
use paddle_proto::auction::AuctionCommand;

#[global_allocator]
static ALLOC: support::Counting = support::Counting;

const TREES: [&str; 15] = [
    tree::META,
    tree::SALES,
    tree::LOTS,
    tree::LOT_STATE,
    tree::BIDS,
    tree::BIDDERS,
    tree::TOKENS,
    tree::BID_IDS,
    tree::EVENTS,
    tree::IMAGES,
    tree::PAUSES,
    tree::DESK,
    tree::SIGN_INS,
    tree::BID_NOTES,
    tree::DESK_ONLY,
];

/// The records of a small real sale: two lots (one open, one taking
/// absentee bids), three bidders, bids.
fn sample() -> &'static MemStore {
    static SAMPLE: OnceLock<MemStore> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let mut h = H::new();
        let sale = h.live();
        let a = h.lot(sale, 100, Some(500), None);
        let b = h.lot(sale, 50, None, None);
        h.apply(5, AuctionCommand::OpenLot { sale, lot: a });
        let (p1, p2, p3) = (h.bidder(sale), h.bidder(sale), h.bidder(sale));
        h.bid(10, sale, a, p1, "b1", 150);
        h.bid(11, sale, a, p2, "b2", 400);
        h.bid(12, sale, b, p3, "b3", 60);
        h.bid(13, sale, a, p1, "b4", 700);
        let mut store = MemStore::new();
        h.st.write_all(&mut store);
        store
    })
}

/// Records from the fuzzer's bytes: `tree pick, key length, key, value
/// length, value`, repeated. An odd first byte lays them over the sample
/// sale's records (mostly valid state, a few bad records); an even one
/// starts from nothing.
fn records(input: &[u8]) -> MemStore {
    let Some((&mode, mut rest)) = input.split_first() else {
        return MemStore::new();
    };
    let mut store = if mode % 2 == 1 {
        sample().clone()
    } else {
        MemStore::new()
    };
    while rest.len() >= 3 {
        let t = TREES[rest[0] as usize % TREES.len()];
        let klen = (rest[1] % 24) as usize;
        rest = &rest[2..];
        let key = &rest[..klen.min(rest.len())];
        rest = &rest[key.len()..];
        let Some((&vlen, tail)) = rest.split_first() else {
            break;
        };
        let value = &tail[..(vlen as usize).min(tail.len())];
        rest = &tail[value.len()..];
        store.put(t, key, value.to_vec());
    }
    store
}

fn load_records(input: &[u8]) {
    let store = records(input);
    let loaded = support::bounded("state_records", input, || AuctionState::load(&store));
    if let Ok(st) = loaded {
        let mut again = MemStore::new();
        st.write_all(&mut again);
        let back = AuctionState::load(&again).expect("a state's own records load");
        assert_eq!(back.state_hash(), st.state_hash());
    }
}

fuzz_target!(state_records, load_records);

#[test]
fn the_sample_sale_loads_as_it_was_written() {
    let st = AuctionState::load(sample()).expect("sample loads");
    let mut again = MemStore::new();
    st.write_all(&mut again);
    assert_eq!(&again, sample());
}

/// Writes the seeds of the stored corpus: the sample sale's records in the
/// target's format, alone and with a record cut short (run once by hand:
/// `cargo test -p paddle-auction --test fuzz_records -- --ignored write_corpus`).
#[test]
#[ignore]
fn write_corpus() {
    use paddle_auction::KvRead;
    let mut bytes = vec![0u8];
    for (i, t) in TREES.iter().enumerate() {
        sample().scan_prefix(t, &[], &mut |k, v| {
            if k.len() < 24 && v.len() < 256 {
                bytes.extend([i as u8, k.len() as u8]);
                bytes.extend_from_slice(k);
                bytes.push(v.len() as u8);
                bytes.extend_from_slice(v);
            }
            true
        });
    }
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/state_records");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("sample-sale"), &bytes).unwrap();
    // Over the sample: one bid whose value is cut short.
    std::fs::write(
        dir.join("sample-with-a-cut-bid"),
        [1u8, 4, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2],
    )
    .unwrap();
}
