//! Property tests of the zip job's block compressor (`compress::BlockCompressor`), issue 13:
//! over text, zeros, random bytes, already-compressed data, JPEG-like bytes (high byte values
//! that dynamic Huffman codes shrink and level 1's fixed codes expand) and mixes of them, at
//! every level 0-9, with both block ends, random block sizes, dictionaries and output buffers
//! (the room the library sees on each call), every stream inflates back exactly, and a reused
//! compressor gives the same bytes as a fresh one.

use flate2::{Compression, Decompress, FlushDecompress, Status};
use proptest::prelude::*;
use shrinkwrap::engine::kinds::zip::compress::{
    BlockCompressor, BlockEnd, BlockPlan, BlockSequence, BlockSummary,
};

/// Cases per property: enough that every level meets every kind of data and both ends many
/// times, few enough for a debug build in CI. A case of the sequence property compresses 1-5
/// blocks (each twice: reused and fresh compressor); one of the every-level property 20 pairs
/// of blocks; one of the stream property up to 300 blocks.
const SEQUENCE_CASES: u32 = 96;
const EVERY_LEVEL_CASES: u32 = 32;
const STREAM_CASES: u32 = 64;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Zeros,
    Random,
    /// The output of deflate: what JPEG, PNG and archives inside a tar look like.
    Compressed,
    /// Bytes 144-255 only: dynamic codes shrink them, level 1's fixed codes take 9 bits each.
    HighBytes,
    /// Stretches of all the others.
    Mixed,
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn make(kind: Kind, len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 64);
    match kind {
        Kind::Text => {
            let mut i = seed % 1_000_000;
            while out.len() < len {
                out.extend_from_slice(
                    format!("line {i}: the quick brown fox {} jumps\n", i * 7919 % 1013).as_bytes(),
                );
                i += 1;
            }
        }
        Kind::Zeros => out.resize(len, 0),
        Kind::Random => {
            while out.len() < len {
                out.extend_from_slice(&xorshift(&mut state).to_le_bytes());
            }
        }
        Kind::Compressed => {
            // Deflate streams of text with every fifth byte random, back to back.
            while out.len() < len {
                let mut source = make(Kind::Text, 64 << 10, xorshift(&mut state));
                for byte in source.iter_mut().step_by(5) {
                    *byte = xorshift(&mut state) as u8;
                }
                let mut encoder =
                    flate2::write::DeflateEncoder::new(Vec::new(), Compression::new(6));
                std::io::Write::write_all(&mut encoder, &source).unwrap();
                out.extend_from_slice(&encoder.finish().unwrap());
            }
        }
        Kind::HighBytes => {
            while out.len() < len {
                out.push(144 + (xorshift(&mut state) % 112) as u8);
            }
        }
        Kind::Mixed => {
            let kinds = [
                Kind::Text,
                Kind::Zeros,
                Kind::Random,
                Kind::Compressed,
                Kind::HighBytes,
            ];
            while out.len() < len {
                let kind = kinds[(xorshift(&mut state) % 5) as usize];
                let stretch = 1 + (xorshift(&mut state) % 40_000) as usize;
                out.extend_from_slice(&make(kind, stretch, xorshift(&mut state)));
            }
        }
    }
    out.truncate(len);
    out
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Text),
        Just(Kind::Zeros),
        Just(Kind::Random),
        Just(Kind::Compressed),
        Just(Kind::HighBytes),
        Just(Kind::Mixed),
    ]
}

fn end() -> impl Strategy<Value = BlockEnd> {
    prop_oneof![Just(BlockEnd::Flush), Just(BlockEnd::Final)]
}

/// Sizes from empty to a few hundred KiB, small ones often (every file below 512 KiB is one
/// block, and the probe starts at 128 KiB).
fn block_len() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..=300, 300usize..=70_000, 70_000usize..=300_000]
}

/// Inflates `stream` primed with `dictionary`; it ends with a final block or a sync flush.
fn inflate(dictionary: &[u8], stream: &[u8], end: BlockEnd, expected_len: usize) -> Vec<u8> {
    let mut d = Decompress::new(false);
    if !dictionary.is_empty() {
        d.set_dictionary(dictionary).unwrap();
    }
    let mut out = Vec::with_capacity(expected_len + 16);
    let flush = match end {
        BlockEnd::Final => FlushDecompress::Finish,
        BlockEnd::Flush => FlushDecompress::Sync,
    };
    let status = d.decompress_vec(stream, &mut out, flush).unwrap();
    if end == BlockEnd::Final {
        assert_eq!(status, Status::StreamEnd, "the stream does not end");
    }
    assert_eq!(d.total_in(), stream.len() as u64, "bytes left over");
    out
}

/// One block as a test case.
#[derive(Debug, Clone)]
struct Block {
    kind: Kind,
    len: usize,
    seed: u64,
    level: u8,
    end: BlockEnd,
    dictionary_len: usize,
    /// Capacity of the output buffer handed in (it is reused from block to block otherwise).
    out_capacity: usize,
    probe: bool,
}

fn block() -> impl Strategy<Value = Block> {
    (
        kind(),
        block_len(),
        any::<u64>(),
        0u8..=9,
        end(),
        prop_oneof![Just(0usize), 1usize..=32 << 10, Just(32 << 10)],
        prop_oneof![Just(0usize), 0usize..=400_000],
        any::<bool>(),
    )
        .prop_map(
            |(kind, len, seed, level, end, dictionary_len, out_capacity, probe)| Block {
                kind,
                len,
                seed,
                level,
                end,
                dictionary_len,
                out_capacity,
                probe,
            },
        )
}

/// Compresses `b` with `compressor` into a buffer of `b.out_capacity`, checks everything the
/// summary says and that the stream inflates back; returns the stream.
fn check_block(compressor: &mut BlockCompressor, b: &Block) -> (Vec<u8>, BlockSummary) {
    let both = make(b.kind, b.dictionary_len + b.len, b.seed);
    let (dictionary, data) = both.split_at(b.dictionary_len);
    let mut out = Vec::with_capacity(b.out_capacity);
    compressor.set_probe(b.probe);
    let summary = compressor
        .compress_block(b.level, dictionary, data, b.end, &mut out)
        .unwrap();
    assert_eq!(summary.crc32, crc32fast::hash(data));
    assert_eq!(summary.uncompressed_bytes, data.len() as u64);
    assert_eq!(summary.compressed_bytes, out.len() as u64);
    assert_eq!(summary.end, b.end);
    assert_eq!(summary.dictionary_bytes as usize, dictionary.len());
    if b.level == 0 {
        assert!(summary.stored);
    }
    if summary.stored {
        // Stored blocks: 5 bytes per 64 KiB (an empty final block is 2 bytes).
        let headers = data.len().div_ceil(0xFFFF) * 5;
        let empty = if data.is_empty() && b.end == BlockEnd::Final {
            2
        } else {
            0
        };
        assert_eq!(out.len(), data.len() + headers + empty);
    } else {
        assert!(out.len() < data.len() + data.len().div_ceil(0xFFFF) * 5 + 2);
    }
    let back = inflate(dictionary, &out, b.end, data.len());
    assert!(back == data, "{b:?}: the stream does not inflate back");
    (out, summary)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: SEQUENCE_CASES, ..ProptestConfig::default() })]

    /// Any sequence of blocks through one compressor (as a pool worker compresses files and
    /// blocks of any job one after the other): each inflates back exactly and is byte for byte
    /// what a fresh compressor makes of it, whatever came before (a block given up part-way
    /// included).
    #[test]
    fn any_sequence_of_blocks_through_one_compressor_round_trips(
        blocks in proptest::collection::vec(block(), 1..6),
    ) {
        let mut reused = BlockCompressor::new(6).unwrap();
        for b in &blocks {
            let (out, summary) = check_block(&mut reused, b);
            let mut fresh = BlockCompressor::new(b.level).unwrap();
            let (fresh_out, fresh_summary) = check_block(&mut fresh, b);
            prop_assert!(out == fresh_out, "{:?}: differs from a fresh compressor", b);
            prop_assert_eq!(summary, fresh_summary);
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: EVERY_LEVEL_CASES, ..ProptestConfig::default() })]

    /// Every level on every kind of data: a whole block, ended both ways, with a dictionary
    /// or not, through a compressor that first gave up on random bytes at that level.
    #[test]
    fn every_level_and_end_after_a_given_up_block(
        kind in kind(),
        len in block_len(),
        seed in any::<u64>(),
        dictionary_len in prop_oneof![Just(0usize), 1usize..=32 << 10],
        out_capacity in 0usize..=400_000,
    ) {
        for level in 0..=9u8 {
            for end in [BlockEnd::Flush, BlockEnd::Final] {
                let mut c = BlockCompressor::new(level).unwrap();
                let given_up = Block {
                    kind: Kind::Random,
                    len: 100_000,
                    seed,
                    level,
                    end,
                    dictionary_len: 0,
                    out_capacity: 0,
                    probe: false,
                };
                check_block(&mut c, &given_up);
                let b = Block { kind, len, seed, level, end, dictionary_len, out_capacity, probe: true };
                check_block(&mut c, &b);
            }
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: STREAM_CASES, ..ProptestConfig::default() })]

    /// A file cut into blocks of a random size, compressed in reverse order by one
    /// compressor (as a pool may finish them), appended in order: one stream that inflates back
    /// to the file, with the CRC-32 of the whole.
    #[test]
    fn blocks_of_any_size_append_into_one_stream(
        kind in kind(),
        len in 0usize..=900_000,
        block_bytes in prop_oneof![1usize..=4096, 4096usize..=(1 << 20)],
        seed in any::<u64>(),
        level in 0u8..=9,
    ) {
        let data = make(kind, len, seed);
        let plan = BlockPlan::new(data.len() as u64, block_bytes);
        let count = plan.block_count();
        // Tiny blocks on a large file would be thousands of tasks: keep the case quick.
        prop_assume!(count <= 300);
        let mut c = BlockCompressor::new(level).unwrap();
        let mut pieces = vec![Vec::new(); count as usize];
        let mut summaries = vec![None; count as usize];
        for i in (0..count).rev() {
            let d = plan.dictionary_range(i);
            let r = plan.data_range(i);
            let mut out = Vec::new();
            let s = c
                .compress_block(
                    level,
                    &data[d.start as usize..d.end as usize],
                    &data[r.start as usize..r.end as usize],
                    plan.end(i),
                    &mut out,
                )
                .unwrap();
            pieces[i as usize] = out;
            summaries[i as usize] = Some(s);
        }
        let mut sequence = BlockSequence::new();
        for s in summaries.iter().flatten() {
            sequence.push(s).unwrap();
        }
        prop_assert!(sequence.ended());
        prop_assert_eq!(sequence.crc32(), crc32fast::hash(&data));
        let stream = pieces.concat();
        let back = inflate(&[], &stream, BlockEnd::Final, data.len());
        prop_assert!(back == data, "the stream does not inflate back");
    }
}
