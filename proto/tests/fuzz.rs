//! Fuzz targets of the language Paddle speaks (bolero; see
//! `fuzz/support.rs` and RELIABILITY.md): money parsing and the one codec.
//! For any bytes: no panic, allocation bounded by the input's size, and
//! whatever decodes encodes back to a value that decodes to itself.

#[macro_use]
#[path = "../../fuzz/support.rs"]
mod support;

use paddle_proto::auction::{AuctionReply, EventRecord};
use paddle_proto::codec;
use paddle_proto::{Currency, Money, Proposal, Reply};
use serde::{de::DeserializeOwned, Serialize};

#[global_allocator]
static ALLOC: support::Counting = support::Counting;

/// Money: the first byte picks the currency, the rest is the text typed.
/// Parsing never panics; an accepted amount is not negative, formats with
/// the currency's decimals, and parses back to itself.
fn money(input: &[u8]) {
    let Some((&pick, text)) = input.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let currency = Currency::all()[pick as usize % Currency::all().len()];
    let parsed = support::bounded("money", input, || currency.parse(text));
    if let Ok(m) = parsed {
        assert!(m >= Money::ZERO, "{text:?} parsed to a negative amount");
        let shown = currency.format(m);
        assert_eq!(currency.parse(&shown), Ok(m), "{text:?} -> {shown:?}");
    }
}

/// Decode `bytes` as a `T`; if it decodes, it encodes to bytes of the
/// length `encoded_len` says, which decode to the same value.
fn round_trip<T>(target: &str, bytes: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let decoded = support::bounded(target, bytes, || codec::decode::<T>(bytes));
    if let Ok(v) = decoded {
        let again = codec::encode(&v).expect("a decoded value encodes");
        assert_eq!(codec::encoded_len(&v), again.len());
        assert_eq!(codec::decode::<T>(&again).as_ref(), Ok(&v));
    }
}

/// Log entries' payload and stored records: the first byte picks the type.
fn codec_values(input: &[u8]) {
    let Some((&pick, bytes)) = input.split_first() else {
        return;
    };
    match pick % 4 {
        0 => round_trip::<Proposal>("codec_values", bytes),
        1 => round_trip::<Reply>("codec_values", bytes),
        2 => round_trip::<EventRecord>("codec_values", bytes),
        _ => round_trip::<AuctionReply>("codec_values", bytes),
    }
}

/// Frames as read from a peer: header and body, under a cap. Refused
/// frames are refused before the body is decoded when over the cap.
fn codec_frames(input: &[u8]) {
    const CAP: usize = 1 << 20;
    let decoded = support::bounded("codec_frames", input, || {
        codec::decode_frame::<Proposal>(input, CAP)
    });
    if let Ok(v) = decoded {
        let frame = codec::encode_frame(&v, CAP).expect("a decoded frame encodes");
        assert_eq!(codec::decode_frame::<Proposal>(&frame, CAP), Ok(v));
    }
    if input.len() >= codec::FRAME_HEADER {
        let header: [u8; 4] = input[..4].try_into().expect("4 bytes");
        if let Ok(len) = codec::frame_len(header, CAP) {
            assert!(len <= CAP);
        }
    }
}

fuzz_target!(money_parse, money);
fuzz_target!(codec_records, codec_values);
fuzz_target!(peer_frames_proto, codec_frames);

/// Writes the binary seeds of the stored corpus (run once by hand:
/// `cargo test -p paddle-proto --test fuzz -- --ignored write_corpus`).
#[test]
#[ignore]
fn write_corpus() {
    use paddle_proto::auction::{AuctionCommand, BidId, LotId, Paddle, SaleId};
    use paddle_proto::{Command, Probe};
    let bid = Proposal {
        stamp_ms: 1_796_599_485_000,
        commands: vec![
            Command::Auction(AuctionCommand::PlaceBid {
                sale: SaleId(0),
                lot: LotId(3),
                paddle: Paddle(12),
                bid_id: BidId::new("b-1".to_string()).unwrap(),
                max: Money::from_minor(1250).unwrap(),
                buy_now: false,
            }),
            Command::Probe(Probe {
                writer: 1,
                seq: 2,
                payload: vec![7; 5],
            }),
        ],
    };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let put = |target: &str, name: &str, bytes: Vec<u8>| {
        std::fs::create_dir_all(root.join(target)).unwrap();
        std::fs::write(root.join(target).join(name), bytes).unwrap();
    };
    let mut rec = vec![0u8];
    rec.extend(codec::encode(&bid).unwrap());
    put("codec_records", "proposal-bid", rec);
    let mut rec = vec![1u8];
    rec.extend(codec::encode(&Reply::default()).unwrap());
    put("codec_records", "reply", rec);
    put(
        "peer_frames_proto",
        "proposal-bid",
        codec::encode_frame(&bid, 1 << 20).unwrap(),
    );
    put(
        "peer_frames_proto",
        "huge-length",
        vec![0xff, 0xff, 0xff, 0xff, 1],
    );
}
