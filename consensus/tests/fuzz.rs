//! Fuzz targets of what a node reads from peers and from disk (bolero; see
//! `fuzz/support.rs` and RELIABILITY.md): peer frames and snapshot / backup
//! files. For any bytes: no panic, allocation bounded by the input's size,
//! and whatever is accepted encodes back to what it was read as.

#[macro_use]
#[path = "../../fuzz/support.rs"]
mod support;

use paddle_consensus::network::rpc::{PeerRequest, PeerResponse};
use paddle_consensus::storage::snapshot;
use paddle_proto::codec;
use sha2::{Digest, Sha256};

#[global_allocator]
static ALLOC: support::Counting = support::Counting;

/// The cap a member's connection reads frames under in these targets.
const CAP: usize = 1 << 20;

/// A frame from a peer, as the server and the transport read it: the
/// first byte says request or response. Accepted frames re-encode to a
/// frame that reads back to the same encoding.
fn read_peer_frame(input: &[u8]) {
    let Some((&pick, frame)) = input.split_first() else {
        return;
    };
    if pick % 2 == 0 {
        let got = support::bounded("peer_frames", frame, || {
            codec::decode_frame::<PeerRequest>(frame, CAP)
        });
        if let Ok(req) = got {
            let again = codec::encode_frame(&req, CAP).expect("a decoded request encodes");
            let back: PeerRequest = codec::decode_frame(&again, CAP).expect("and decodes");
            assert_eq!(codec::encode_frame(&back, CAP).unwrap(), again);
        }
    } else {
        let got = support::bounded("peer_frames", frame, || {
            codec::decode_frame::<PeerResponse>(frame, CAP)
        });
        if let Ok(resp) = got {
            let again = codec::encode_frame(&resp, CAP).expect("a decoded response encodes");
            let back: PeerResponse = codec::decode_frame(&again, CAP).expect("and decodes");
            assert_eq!(codec::encode_frame(&back, CAP).unwrap(), again);
        }
    }
}

/// Seal `body` as a snapshot file of this build's format, checksum and all,
/// so the fuzzer's bytes reach the parser behind the checksum.
pub fn sealed(body: &[u8]) -> Vec<u8> {
    let mut out = b"PADDLESN".to_vec();
    out.extend_from_slice(&snapshot::FORMAT_VERSION.to_be_bytes());
    out.extend_from_slice(body);
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

/// A snapshot file or backup as `paddle restore` and a snapshot install
/// read it: odd first byte, the rest is sealed with a good checksum; even,
/// taken as it is. Accepted files re-encode to files that read back equal.
fn read_snapshot_file(input: &[u8]) {
    let Some((&pick, rest)) = input.split_first() else {
        return;
    };
    let file = if pick % 2 == 1 {
        sealed(rest)
    } else {
        rest.to_vec()
    };
    let got = support::bounded("snapshot_files", &file, || snapshot::decode(&file));
    if let Ok((header, map)) = got {
        assert_eq!(header.keys, map.len() as u64);
        assert_eq!(snapshot::decode_header(&file).ok().as_ref(), Some(&header));
        let again = snapshot::encode(&header, &map);
        let (h2, m2) = snapshot::decode(&again).expect("a re-encoded snapshot reads");
        assert_eq!((h2, m2), (header, map));
    }
}

fuzz_target!(peer_frames, read_peer_frame);
fuzz_target!(snapshot_files, read_snapshot_file);

/// Writes the binary seeds of the stored corpus (run once by hand:
/// `cargo test -p paddle-consensus --test fuzz -- --ignored write_corpus`).
#[test]
#[ignore]
fn write_corpus() {
    use paddle_consensus::kv::Bytes;
    use paddle_consensus::storage::snapshot::SnapshotHeader;
    use paddle_proto::{Command, Probe};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let put = |target: &str, name: &str, bytes: Vec<u8>| {
        std::fs::create_dir_all(root.join(target)).unwrap();
        std::fs::write(root.join(target).join(name), bytes).unwrap();
    };
    let frame = |pick: u8, bytes: Vec<u8>| [vec![pick], bytes].concat();
    put(
        "peer_frames",
        "clock",
        frame(0, codec::encode_frame(&PeerRequest::Clock, CAP).unwrap()),
    );
    put(
        "peer_frames",
        "propose-many",
        frame(
            0,
            codec::encode_frame(
                &PeerRequest::ProposeMany(vec![Command::Probe(Probe {
                    writer: 3,
                    seq: 4,
                    payload: vec![1, 2, 3],
                })]),
                CAP,
            )
            .unwrap(),
        ),
    );
    put(
        "peer_frames",
        "clock-reply",
        frame(
            1,
            codec::encode_frame(
                &PeerResponse::Clock {
                    received_us: 1,
                    sent_us: 2,
                },
                CAP,
            )
            .unwrap(),
        ),
    );
    let mut map = imbl::OrdMap::<Bytes, Bytes>::new();
    map.insert(b"auction.sales\0k".to_vec().into(), vec![1, 2, 3].into());
    map.insert(
        b"auction.lots\0\0\0\0\0\0\0\0\x01".to_vec().into(),
        vec![].into(),
    );
    let header = SnapshotHeader {
        snapshot_id: "1-9-x".into(),
        last_applied: None,
        membership: Default::default(),
        last_stamp_ms: 42,
        keys: 2,
    };
    let file = snapshot::encode(&header, &map);
    put("snapshot_files", "two-keys", frame(0, file.clone()));
    // The same body, to be sealed again by the target (odd first byte).
    put(
        "snapshot_files",
        "two-keys-body",
        frame(1, file[12..file.len() - 32].to_vec()),
    );
}
