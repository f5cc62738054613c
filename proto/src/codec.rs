//! The one place that speaks bincode.
//!
//! bincode 2.0.1 (serde mode) is pinned: upstream is unmaintained and 3.0.0 is
//! a compile-error tombstone, so keeping every use here means a swap touches
//! one file. Peer frames are `u32` big-endian length + bincode body. Decoding
//! enforces a hard size cap and rejects trailing bytes: a frame is exactly one
//! value or it is refused.
//!
//! Stored records (every value consensus keeps in sled: log entries, Raft
//! metadata, the state's records) carry a format version in front:
//! [`RECORD_MARK`], then [`FORMAT_VERSION`], then the payload
//! ([`seal_record`], [`open_record`]). Records written before versions
//! existed have no header and can be told apart: the mark, 0xFF, never
//! starts a bincode value Paddle stores (varints start at most with 0xFE,
//! options, booleans and tags with 0 or 1) nor the raw values consensus
//! stored (a put/delete tag, 0 or 1, or an ASCII name).

use serde::{de::DeserializeOwned, Serialize};

/// The largest body any decoder will even try, whatever the configured cap.
/// Snapshot chunks and append batches are sized well below this.
pub const ABSOLUTE_MAX_FRAME: usize = 256 * 1024 * 1024;

/// Bytes of the length prefix in front of every frame.
pub const FRAME_HEADER: usize = 4;

/// Why a value could not be encoded or decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("frame of {len} bytes is over the cap of {cap} bytes")]
    TooLarge { len: usize, cap: usize },
    #[error("frame body is malformed: {0}")]
    Malformed(String),
    #[error("frame has {0} trailing bytes after the value")]
    TrailingBytes(usize),
    #[error("frame is truncated: expected {expected} bytes, got {got}")]
    Truncated { expected: usize, got: usize },
    #[error("value could not be encoded: {0}")]
    Encode(String),
    #[error(
        "record format version {found} is not supported: this build reads format version {supported}"
    )]
    Version { found: u8, supported: u8 },
    #[error(
        "record has no format version (written before versions existed); migrate the data dir"
    )]
    Unversioned,
}

/// The format version of what Paddle keeps on disk and in its log: the
/// bincode layout of every record and of snapshot files. Bump it when a
/// stored type's encoding changes, and teach the storage's migration to
/// rewrite older records (see ARCHITECTURE.md, "Data formats").
pub const FORMAT_VERSION: u8 = 1;

/// First byte of every versioned record.
pub const RECORD_MARK: u8 = 0xFF;

/// Bytes of a record's header (mark and version).
pub const RECORD_HEADER: usize = 2;

/// What a stored record says about its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordFormat {
    /// Written before format versions existed (read as format 1).
    Unversioned,
    /// Carries this format version.
    Version(u8),
}

/// The format a stored record was written in.
pub fn record_format(bytes: &[u8]) -> RecordFormat {
    match bytes {
        [RECORD_MARK, version, ..] => RecordFormat::Version(*version),
        // A lone 0xFF is nothing Paddle ever wrote: call it version 0,
        // which no build reads.
        [RECORD_MARK] => RecordFormat::Version(0),
        _ => RecordFormat::Unversioned,
    }
}

/// `payload` with this build's record header in front.
pub fn seal_record(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_HEADER + payload.len());
    out.push(RECORD_MARK);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(payload);
    out
}

/// The payload of a record of this build's format; any other format,
/// older or newer, is refused (never guessed at).
pub fn open_record(bytes: &[u8]) -> Result<&[u8], CodecError> {
    match record_format(bytes) {
        RecordFormat::Version(FORMAT_VERSION) => Ok(&bytes[RECORD_HEADER..]),
        RecordFormat::Version(found) => Err(CodecError::Version {
            found,
            supported: FORMAT_VERSION,
        }),
        RecordFormat::Unversioned => Err(CodecError::Unversioned),
    }
}

/// Encode a value as a stored record: header, then bincode.
pub fn encode_record<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![RECORD_MARK, FORMAT_VERSION];
    encode_into(value, &mut out)?;
    Ok(out)
}

/// Decode a stored record of this build's format.
pub fn decode_record<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    decode(open_record(bytes)?)
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<ABSOLUTE_MAX_FRAME>()
}

/// Decode with a limit on what bincode may claim (and so allocate) that
/// grows with the input. bincode allocates a string's or a byte buffer's
/// claimed length before it reads the bytes, so with one fixed limit a
/// few bytes claiming a 200 MB name made the decoder allocate 200 MB (found
/// by the `state_records` fuzz target). In serde mode everything else
/// bincode claims is a primitive's in-memory size, at most 16 bytes per
/// input byte (a one-byte varint read as a u128), so 16 times the input,
/// rounded up to a power-of-four step, never refuses valid input.
fn decode_limited<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), CodecError> {
    fn with<T: DeserializeOwned, const LIMIT: usize>(
        bytes: &[u8],
    ) -> Result<(T, usize), bincode::error::DecodeError> {
        bincode::serde::decode_from_slice(bytes, bincode::config::standard().with_limit::<LIMIT>())
    }
    const KIB: usize = 1024;
    let got = match bytes.len() {
        0..=1024 => with::<T, { 16 * KIB }>(bytes),
        0..=16_384 => with::<T, { 256 * KIB }>(bytes),
        0..=262_144 => with::<T, { 4096 * KIB }>(bytes),
        0..=4_194_304 => with::<T, { 65_536 * KIB }>(bytes),
        _ => with::<T, ABSOLUTE_MAX_FRAME>(bytes),
    };
    got.map_err(|e| CodecError::Malformed(e.to_string()))
}

/// Encode a value to bytes (no length prefix). Used for log entries and
/// stored records.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| CodecError::Encode(e.to_string()))
}

/// The length of `value`'s encoding, without allocating it (the batchers
/// keep log entries and forwarded requests under a byte budget with it).
pub fn encoded_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut size = bincode::enc::write::SizeWriter::default();
    match bincode::serde::encode_into_writer(value, &mut size, config()) {
        Ok(()) => size.bytes_written,
        Err(_) => usize::MAX,
    }
}

/// Decode exactly one value from `bytes`; trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, used) = decode_limited(bytes)?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    Ok(value)
}

/// Decode one value from the front of `bytes`, returning it and the number
/// of bytes it took. For streams of values laid end to end (snapshots).
pub fn decode_prefix<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, usize), CodecError> {
    decode_limited(bytes)
}

/// Append the encoding of `value` to `out` (no length prefix).
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
    bincode::serde::encode_into_std_write(value, out, config())
        .map(|_| ())
        .map_err(|e| CodecError::Encode(e.to_string()))
}

/// Encode a value as a frame: length prefix then body. Refuses bodies over `cap`.
pub fn encode_frame<T: Serialize + ?Sized>(value: &T, cap: usize) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![0u8; FRAME_HEADER];
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .map_err(|e| CodecError::Encode(e.to_string()))?;
    let len = out.len() - FRAME_HEADER;
    check_len(len, cap)?;
    out[..FRAME_HEADER].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(out)
}

/// Read the body length from a frame header, refusing anything over `cap`
/// before a single byte of the body is read.
pub fn frame_len(header: [u8; FRAME_HEADER], cap: usize) -> Result<usize, CodecError> {
    let len = u32::from_be_bytes(header) as usize;
    check_len(len, cap)?;
    Ok(len)
}

/// Decode a whole frame held in memory (header + body).
pub fn decode_frame<T: DeserializeOwned>(frame: &[u8], cap: usize) -> Result<T, CodecError> {
    if frame.len() < FRAME_HEADER {
        return Err(CodecError::Truncated {
            expected: FRAME_HEADER,
            got: frame.len(),
        });
    }
    let len = frame_len(frame[..FRAME_HEADER].try_into().expect("4 bytes"), cap)?;
    let body = &frame[FRAME_HEADER..];
    if body.len() < len {
        return Err(CodecError::Truncated {
            expected: len,
            got: body.len(),
        });
    }
    if body.len() > len {
        return Err(CodecError::TrailingBytes(body.len() - len));
    }
    decode(body)
}

fn check_len(len: usize, cap: usize) -> Result<(), CodecError> {
    let cap = cap.min(ABSOLUTE_MAX_FRAME);
    if len > cap {
        return Err(CodecError::TooLarge { len, cap });
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::command::{Command, Probe, Proposal};

    fn sample() -> Proposal {
        Proposal {
            stamp_ms: 1_700_000_000_000,
            commands: vec![Command::Probe(Probe {
                writer: 7,
                seq: 9,
                payload: vec![1, 2, 3],
            })],
        }
    }

    #[test]
    fn round_trip() {
        let p = sample();
        assert_eq!(decode::<Proposal>(&encode(&p).unwrap()).unwrap(), p);
        assert_eq!(
            decode_frame::<Proposal>(&encode_frame(&p, 1024).unwrap(), 1024).unwrap(),
            p
        );
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode(&sample()).unwrap();
        bytes.push(0);
        assert_eq!(
            decode::<Proposal>(&bytes),
            Err(CodecError::TrailingBytes(1))
        );
        let mut frame = encode_frame(&sample(), 1024).unwrap();
        frame.push(0);
        assert_eq!(
            decode_frame::<Proposal>(&frame, 1024),
            Err(CodecError::TrailingBytes(1))
        );
    }

    #[test]
    fn oversized_frames_are_refused_on_both_sides() {
        let big = Probe {
            writer: 1,
            seq: 1,
            payload: vec![0; 2048],
        };
        assert!(matches!(
            encode_frame(&big, 1024),
            Err(CodecError::TooLarge { .. })
        ));
        let frame = encode_frame(&big, 4096).unwrap();
        assert!(matches!(
            decode_frame::<Probe>(&frame, 1024),
            Err(CodecError::TooLarge { .. })
        ));
        assert!(matches!(
            frame_len([0xff; 4], 1 << 20),
            Err(CodecError::TooLarge { .. })
        ));
    }

    #[test]
    fn truncated_and_garbage_frames_are_refused() {
        let frame = encode_frame(&sample(), 1024).unwrap();
        assert!(matches!(
            decode_frame::<Proposal>(&frame[..frame.len() - 1], 1024),
            Err(CodecError::Truncated { .. })
        ));
        assert!(matches!(
            decode_frame::<Proposal>(&frame[..2], 1024),
            Err(CodecError::Truncated { .. })
        ));
        let garbage = [0u8, 0, 0, 3, 0xff, 0xff, 0xff];
        assert!(decode_frame::<Proposal>(&garbage, 1024).is_err());
    }

    #[test]
    fn records_carry_their_format_and_other_formats_are_refused() {
        let p = sample();
        let rec = encode_record(&p).unwrap();
        assert_eq!(&rec[..2], &[RECORD_MARK, FORMAT_VERSION]);
        assert_eq!(record_format(&rec), RecordFormat::Version(FORMAT_VERSION));
        assert_eq!(decode_record::<Proposal>(&rec).unwrap(), p);
        // An unversioned record (today's bytes before versions) is told
        // apart, and not read as a versioned one.
        let old = encode(&p).unwrap();
        assert_eq!(record_format(&old), RecordFormat::Unversioned);
        assert_eq!(
            decode_record::<Proposal>(&old),
            Err(CodecError::Unversioned)
        );
        let mut newer = rec.clone();
        newer[1] = FORMAT_VERSION + 1;
        let err = decode_record::<Proposal>(&newer).unwrap_err();
        assert_eq!(
            err,
            CodecError::Version {
                found: FORMAT_VERSION + 1,
                supported: FORMAT_VERSION
            }
        );
        assert!(err.to_string().contains("version 2"), "{err}");
        assert_eq!(
            open_record(&[RECORD_MARK]).unwrap_err(),
            CodecError::Version {
                found: 0,
                supported: FORMAT_VERSION
            }
        );
        assert_eq!(
            seal_record(b"abc"),
            vec![RECORD_MARK, FORMAT_VERSION, b'a', b'b', b'c']
        );
    }

    #[test]
    fn no_stored_value_starts_with_the_record_mark() {
        // Varints, options and tags: the first bytes bincode gives the
        // values consensus stores (u64 terms and indexes, options, enums).
        for v in [
            0u64,
            250,
            251,
            65_535,
            65_536,
            u32::MAX as u64 + 1,
            u64::MAX,
        ] {
            assert_ne!(encode(&v).unwrap()[0], RECORD_MARK, "{v}");
            assert_ne!(encode(&Some(v)).unwrap()[0], RECORD_MARK);
        }
        assert_ne!(encode(&None::<u64>).unwrap()[0], RECORD_MARK);
        assert_ne!(encode(&sample()).unwrap()[0], RECORD_MARK);
    }

    #[test]
    fn a_claimed_length_beyond_the_input_is_refused_under_a_small_limit() {
        // A string claiming 100 MB in a 9-byte input.
        let mut bytes = vec![253u8];
        bytes.extend_from_slice(&100_000_000u64.to_le_bytes());
        let err = decode::<String>(&bytes).unwrap_err();
        assert!(err.to_string().contains("Limit"), "{err}");
        // Long values still decode: a 1 MiB string, 100k small integers.
        let long = "x".repeat(1 << 20);
        assert_eq!(decode::<String>(&encode(&long).unwrap()).unwrap(), long);
        let many: Vec<u128> = (0..100_000).map(|i| i % 200).collect();
        assert_eq!(decode::<Vec<u128>>(&encode(&many).unwrap()).unwrap(), many);
    }

    #[test]
    fn encoded_len_is_the_length_of_the_encoding() {
        let v = (7u64, "a bid".to_string(), vec![1u8; 300]);
        assert_eq!(encoded_len(&v), encode(&v).unwrap().len());
    }
}
