//! zlib for frames: inflating what peers send (bounded, allocation failures reported) and
//! deflating what we send only when a sample shows it is worth it. Kept apart from the framing
//! itself (`frame.rs`), which only says which payloads are compressed.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::COMPRESSION_LEVEL;
use crate::error::FrameError;

/// Inflates a zlib stream, refusing (without allocating it) output beyond `limit` bytes. The
/// output grows with what the stream yields, and a failed allocation is
/// [`FrameError::OutOfMemory`], not an abort.
pub fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, FrameError> {
    let mut d = Decompress::new(true);
    let mut out: Vec<u8> = Vec::new();
    // Start from a guess and grow; growth is capped at `limit + 1`.
    grow(
        &mut out,
        (data.len() * 4).clamp(64, limit.saturating_add(1)),
    )?;
    loop {
        if out.len() == out.capacity() {
            if out.len() > limit {
                return Err(FrameError::DecompressedTooLarge { limit });
            }
            let more = out
                .capacity()
                .max(64 << 10)
                .min(limit.saturating_add(1) - out.len());
            grow(&mut out, more)?;
        }
        let in_before = d.total_in() as usize;
        let out_before = out.len();
        let status = d
            .decompress_vec(&data[in_before..], &mut out, FlushDecompress::None)
            .map_err(|e| FrameError::Zlib(e.to_string()))?;
        if out.len() > limit {
            return Err(FrameError::DecompressedTooLarge { limit });
        }
        match status {
            Status::StreamEnd => return Ok(out),
            Status::Ok | Status::BufError => {
                let progressed = d.total_in() as usize != in_before || out.len() != out_before;
                if !progressed && out.len() < out.capacity() {
                    return Err(FrameError::Zlib("truncated zlib stream".into()));
                }
            }
        }
    }
}

/// Makes room for `more` bytes at the end of `buf`, or says how much could not be had.
pub(crate) fn grow(buf: &mut Vec<u8>, more: usize) -> Result<(), FrameError> {
    buf.try_reserve_exact(more)
        .map_err(|_| FrameError::OutOfMemory {
            bytes: buf.len().saturating_add(more),
        })
}

/// Compresses with zlib (level 1) into `out`.
pub fn compress_into(data: &[u8], out: &mut Vec<u8>) {
    let mut c = Compress::new(Compression::new(COMPRESSION_LEVEL), true);
    out.reserve(data.len() / 2 + 64);
    // Compressing an in-memory slice into a growable Vec cannot fail.
    let _ = deflate(&mut c, data, out, FlushCompress::Finish);
}

/// Feeds all of `input` to `c` and flushes with `flush` (`Sync` or `Finish`), growing `out` as
/// needed. `None` if the compressor fails or stalls.
fn deflate(c: &mut Compress, input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) -> Option<()> {
    let start = c.total_in();
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(1024));
        }
        let (in_before, out_before) = (c.total_in(), c.total_out());
        let consumed = (in_before - start) as usize;
        match c.compress_vec(&input[consumed..], out, flush).ok()? {
            Status::StreamEnd => return Some(()),
            // A flush is complete once the input is used up and there was room to spare.
            _ if flush != FlushCompress::Finish
                && (c.total_in() - start) as usize == input.len()
                && out.len() < out.capacity() =>
            {
                return Some(())
            }
            _ if c.total_in() == in_before
                && c.total_out() == out_before
                && out.len() < out.capacity() =>
            {
                return None
            }
            _ => {}
        }
    }
}

/// Size of the sample that decides whether a large payload is worth compressing.
const SAMPLE: usize = 8 * 1024;

/// The zlib stream of a payload above the threshold, or `None` if it is not worth it.
///
/// Python compresses every payload above the threshold; we first compress a sample (the first
/// [`SAMPLE`] bytes, sync-flushed) and give up on payloads whose sample would not shrink by 10%
/// (random or already-compressed bytes), which costs a peer nothing (the flag says whether a
/// frame is compressed) and saves most of the CPU of large incompressible transfers. Otherwise
/// the same stream goes on over the rest, so the sample is compressed only once.
pub(super) fn compress_if_worth(payload: &[u8]) -> Option<Vec<u8>> {
    let mut c = Compress::new(Compression::new(COMPRESSION_LEVEL), true);
    if payload.len() <= SAMPLE {
        let mut z = Vec::with_capacity(payload.len() / 2 + 64);
        deflate(&mut c, payload, &mut z, FlushCompress::Finish)?;
        return Some(z);
    }
    let (sample, rest) = payload.split_at(SAMPLE);
    let mut z = Vec::with_capacity(SAMPLE);
    deflate(&mut c, sample, &mut z, FlushCompress::Sync)?;
    if z.len() * 10 >= SAMPLE * 9 {
        return None;
    }
    // Expect the rest to shrink like the sample did.
    z.reserve((rest.len() / SAMPLE + 1) * z.len() + 64);
    deflate(&mut c, rest, &mut z, FlushCompress::Finish)?;
    Some(z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{encode_frame, HEADER_LEN};

    #[test]
    fn incompressible_payloads_travel_raw() {
        // xorshift noise: zlib cannot shrink it.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let noise: Vec<u8> = (0..100_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let f = encode_frame(&noise, true).unwrap();
        assert_eq!(f[4], 0, "sent raw");
        assert_eq!(f.len(), noise.len() + HEADER_LEN + 1);
        let zeros = vec![0u8; 100_000];
        assert_eq!(
            encode_frame(&zeros, true).unwrap()[4],
            1,
            "compressible: compressed"
        );
    }

    /// Compressible text several samples long: the sample is sync-flushed and the same zlib
    /// stream goes on over the rest, so `decompress` reads it back whole.
    #[test]
    fn compressed_frame_roundtrips() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("line {i} of {}\n", i % 7).into_bytes())
            .collect();
        assert!(text.len() > 4 * SAMPLE);
        for payload in [
            &text[..],
            &text[..SAMPLE],
            &text[..SAMPLE + 1],
            &text[..5000],
        ] {
            let f = encode_frame(payload, true).unwrap();
            assert_eq!(f[4], 1, "compressed");
            assert_eq!(&f[5..7], b"\x78\x01");
            let len = u32::from_be_bytes([f[0], f[1], f[2], f[3]]) as usize;
            assert!(len < payload.len() / 2);
            assert_eq!(f.len(), HEADER_LEN + len + 1);
            let back = decompress(&f[HEADER_LEN..HEADER_LEN + len], usize::MAX).unwrap();
            assert_eq!(back, payload);
        }
        // Compressible only after the sample: sent raw, as before.
        let mut mixed = vec![0u8; SAMPLE];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for b in &mut mixed {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        mixed.extend(vec![0u8; 50_000]);
        assert_eq!(encode_frame(&mixed, true).unwrap()[4], 0);
    }

    #[test]
    fn zlib_bomb_refused() {
        let zeros = vec![0u8; 8 << 20];
        let frame = encode_frame(&zeros, true).unwrap();
        let err = decompress(&frame[HEADER_LEN..frame.len() - 1], 1 << 20).unwrap_err();
        assert!(matches!(err, FrameError::DecompressedTooLarge { limit } if limit == 1 << 20));
    }

    #[test]
    fn corrupt_and_truncated_streams_are_errors() {
        assert!(matches!(
            decompress(b"abc", 1 << 20),
            Err(FrameError::Zlib(_))
        ));
        let mut z = Vec::new();
        compress_into(&[1u8; 5000], &mut z);
        z.truncate(z.len() - 3);
        assert!(decompress(&z, 1 << 20).is_err());
    }
}
