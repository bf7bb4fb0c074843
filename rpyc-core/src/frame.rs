//! Framing: `u32 BE length ‖ u8 compressed ‖ payload ‖ '\n'`, with zlib above 3000 bytes.
//!
//! [`FrameCodec`] is a `tokio_util` codec: wrap any `AsyncRead` in a `FramedRead` to get
//! decompressed payloads, with the frame and decompressed sizes capped by [`FrameLimits`] (a
//! header announcing 4 GB or a zlib bomb is refused before its output is allocated).
//! Writers build frames in place with [`FrameBuilder`] so that many frames can be coalesced
//! into one buffer and written with a single syscall.
//!
//! ```
//! use bytes::BytesMut;
//! use rpyc::core::frame::{FrameBuilder, FrameCodec, FrameLimits};
//! use tokio_util::codec::Decoder;
//!
//! let mut out = Vec::new();
//! let mut fb = FrameBuilder::begin(&mut out);
//! fb.payload().extend_from_slice(b"\x01\x11\x50\x11\x53\x11\x51\x02");
//! fb.finish(true).unwrap();
//! assert_eq!(out, b"\x00\x00\x00\x08\x00\x01\x11\x50\x11\x53\x11\x51\x02\n");
//!
//! let mut codec = FrameCodec::new(FrameLimits::default());
//! let payload = codec.decode(&mut BytesMut::from(&out[..])).unwrap().unwrap();
//! assert_eq!(&payload[..], b"\x01\x11\x50\x11\x53\x11\x51\x02");
//! ```

use bytes::{Buf, Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio_util::codec::Decoder;

use crate::error::FrameError;

/// Size of the frame header (`u32` length + `u8` compressed flag).
pub const HEADER_LEN: usize = 5;
/// Payloads strictly larger than this are compressed (Python's `COMPRESSION_THRESHOLD`).
pub const COMPRESSION_THRESHOLD: usize = 3000;
/// zlib level used for compression (Python's `COMPRESSION_LEVEL`).
pub const COMPRESSION_LEVEL: u32 = 1;

/// Size limits applied to incoming frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrameLimits {
    /// Largest payload accepted on the wire (default 64 MiB).
    pub max_frame_size: usize,
    /// Largest payload accepted after decompression (default 64 MiB). A zlib bomb costs at most
    /// this much memory before it is refused.
    pub max_decompressed_size: usize,
}

impl FrameLimits {
    /// Limits of `max_frame_size` bytes on the wire and `max_decompressed_size` after zlib.
    pub fn new(max_frame_size: usize, max_decompressed_size: usize) -> Self {
        FrameLimits {
            max_frame_size,
            max_decompressed_size,
        }
    }
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_frame_size: 256 << 20,
            max_decompressed_size: 256 << 20,
        }
    }
}

/// Decoder of frames into payloads (decompressed when flagged).
#[derive(Debug, Clone)]
pub struct FrameCodec {
    limits: FrameLimits,
}

impl FrameCodec {
    /// A codec enforcing `limits`.
    pub fn new(limits: FrameLimits) -> Self {
        FrameCodec { limits }
    }
}

impl Decoder for FrameCodec {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        let Some(header) = src.first_chunk() else {
            return Ok(None);
        };
        let len = header_len(header, self.limits.max_frame_size)?;
        let total = HEADER_LEN + len + 1;
        if src.len() < total {
            // Reserve for the rest of this frame only (bounded by max_frame_size above).
            src.reserve(total - src.len());
            return Ok(None);
        }
        let compressed = src[4] != 0;
        src.advance(HEADER_LEN);
        let payload = src.split_to(len).freeze();
        src.advance(1); // the '\n' flusher; Python never checks its value either
        if compressed {
            decompress(&payload, self.limits.max_decompressed_size).map(|v| Some(Bytes::from(v)))
        } else {
            Ok(Some(payload))
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => {
                let expected = match src.first_chunk() {
                    Some(header) => {
                        HEADER_LEN + 1 + header_len(header, self.limits.max_frame_size)?
                    }
                    None => HEADER_LEN,
                };
                Err(FrameError::UnexpectedEof {
                    got: src.len(),
                    expected,
                })
            }
        }
    }
}

/// The payload length announced by a frame header, refused above `limit`.
fn header_len(header: &[u8; HEADER_LEN], limit: usize) -> Result<usize, FrameError> {
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > limit {
        return Err(FrameError::TooLarge {
            len: len as u64,
            limit,
        });
    }
    Ok(len)
}

/// The size in bytes of the first frame in `buf` (header, payload and the trailing `'\n'`:
/// `HEADER_LEN + payload length + 1`) if `buf` holds all of it, else `None`. Nothing is checked
/// beyond the header's length field (no size limit, no decompression).
///
/// ```
/// use rpyc::core::frame::{buffered_frame_len, encode_frame};
/// let mut buf = encode_frame(b"hello", false).unwrap();
/// assert_eq!(buffered_frame_len(&buf), Some(11));
/// buf.extend_from_slice(b"\x00\x00");
/// assert_eq!(buffered_frame_len(&buf), Some(11));
/// assert_eq!(buffered_frame_len(&buf[..10]), None);
/// ```
pub fn buffered_frame_len(buf: &[u8]) -> Option<usize> {
    let len = header_len(buf.first_chunk()?, usize::MAX).ok()?;
    let total = HEADER_LEN.checked_add(len)?.checked_add(1)?;
    (buf.len() >= total).then_some(total)
}

/// Inflates a zlib stream, refusing (without allocating it) output beyond `limit` bytes.
pub fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, FrameError> {
    let mut d = Decompress::new(true);
    // Start from a guess and grow; growth is capped at `limit + 1`.
    let mut out: Vec<u8> = Vec::with_capacity((data.len() * 4).clamp(64, limit.saturating_add(1)));
    loop {
        if out.len() == out.capacity() {
            if out.len() > limit {
                return Err(FrameError::DecompressedTooLarge { limit });
            }
            let grow = out
                .capacity()
                .max(64 << 10)
                .min(limit.saturating_add(1) - out.len());
            out.reserve_exact(grow);
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
fn compress_if_worth(payload: &[u8]) -> Option<Vec<u8>> {
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

/// Builds one frame at the end of a buffer: reserve the header, write the payload, finish.
#[derive(Debug)]
pub struct FrameBuilder<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> FrameBuilder<'a> {
    /// Starts a frame at the end of `out` (which may already hold earlier frames).
    pub fn begin(out: &'a mut Vec<u8>) -> Self {
        let start = out.len();
        out.extend_from_slice(&[0u8; HEADER_LEN]);
        FrameBuilder { out, start }
    }

    /// The buffer to append the payload to.
    pub fn payload(&mut self) -> &mut Vec<u8> {
        self.out
    }

    /// Abandons the frame, removing anything written for it.
    pub fn abort(self) {
        self.out.truncate(self.start);
    }

    /// Writes the header and the flusher, compressing the payload when `compress` is set and the
    /// payload is above [`COMPRESSION_THRESHOLD`]. Fails if the payload exceeds `u32::MAX`.
    pub fn finish(self, compress: bool) -> Result<(), crate::error::EncodeError> {
        let body = self.start + HEADER_LEN;
        let mut flag = 0u8;
        if compress && self.out.len() - body > COMPRESSION_THRESHOLD {
            if let Some(z) = compress_if_worth(&self.out[body..]) {
                if z.len() < self.out.len() - body {
                    self.out.truncate(body);
                    self.out.extend_from_slice(&z);
                    flag = 1;
                }
            }
        }
        let len = self.out.len() - body;
        let len32 = match u32::try_from(len) {
            Ok(l) => l,
            Err(_) => {
                self.out.truncate(self.start);
                return Err(crate::error::EncodeError::TooLong {
                    what: "frame payload",
                    len,
                });
            }
        };
        self.out[self.start..self.start + 4].copy_from_slice(&len32.to_be_bytes());
        self.out[self.start + 4] = flag;
        self.out.push(b'\n');
        Ok(())
    }
}

/// Writes one frame carrying `payload` to any `AsyncWrite` (compressed above the threshold when
/// `compress` is set). Connections coalesce frames with [`FrameBuilder`] instead; this is for
/// simple tools and tests.
pub async fn write_frame<W: tokio::io::AsyncWrite + Unpin>(
    w: &mut W,
    payload: &[u8],
    compress: bool,
) -> Result<(), FrameError> {
    use tokio::io::AsyncWriteExt;
    let frame = encode_frame(payload, compress)
        .map_err(|e| FrameError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    w.write_all(&frame).await?;
    w.flush().await?;
    Ok(())
}

/// Reads one frame from any `AsyncRead` and returns its (decompressed) payload, or `None` on a
/// clean end of stream before a new frame. Sizes are checked against `limits` before anything
/// is allocated.
pub async fn read_frame<R: tokio::io::AsyncRead + Unpin>(
    r: &mut R,
    limits: FrameLimits,
) -> Result<Option<Bytes>, FrameError> {
    use tokio::io::AsyncReadExt;
    let mut header = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let n = r.read(&mut header[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(FrameError::UnexpectedEof {
                    got,
                    expected: HEADER_LEN,
                })
            };
        }
        got += n;
    }
    let len = header_len(&header, limits.max_frame_size)?;
    let mut body = vec![0u8; len + 1];
    if let Err(e) = r.read_exact(&mut body).await {
        return Err(if e.kind() == std::io::ErrorKind::UnexpectedEof {
            FrameError::UnexpectedEof {
                got: HEADER_LEN,
                expected: HEADER_LEN + len + 1,
            }
        } else {
            FrameError::Io(e)
        });
    }
    body.truncate(len);
    if header[4] != 0 {
        decompress(&body, limits.max_decompressed_size).map(|v| Some(Bytes::from(v)))
    } else {
        Ok(Some(Bytes::from(body)))
    }
}

/// Frames `payload` into a new buffer (convenience for tests and one-off writes).
pub fn encode_frame(payload: &[u8], compress: bool) -> Result<Vec<u8>, crate::error::EncodeError> {
    let mut out = Vec::with_capacity(payload.len() + HEADER_LEN + 1);
    let mut fb = FrameBuilder::begin(&mut out);
    fb.payload().extend_from_slice(payload);
    fb.finish(compress)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], limits: FrameLimits) -> Result<Vec<Bytes>, FrameError> {
        let mut codec = FrameCodec::new(limits);
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(f) = codec.decode_eof(&mut buf)? {
            out.push(f);
        }
        Ok(out)
    }

    #[test]
    fn compressed_vector_from_python() {
        // §11.6: a 5000-char string reply compressed by Python's zlib.
        let hexs = "0000003d017801edd0310d00200c00b0858b6f5950c68316244c362af85a091d756acf8c587d3160c0800103060c183060c0800103060c183060e0fbc0032eea29c50a";
        let raw: Vec<u8> = (0..hexs.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hexs[i..i + 2], 16).unwrap())
            .collect();
        let frames = decode_all(&raw, FrameLimits::default()).unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].len(), 5011);
        assert_eq!(
            &frames[0][..11],
            b"\x02\x11\x56\x11\x51\x08\x0f\x00\x00\x13\x88"
        );
        assert!(frames[0][11..].iter().all(|&c| c == b'x'));
    }

    #[test]
    fn compression_threshold() {
        let small = vec![b'a'; 3000];
        let f = encode_frame(&small, true).unwrap();
        assert_eq!(f[4], 0);
        let big = vec![b'a'; 3001];
        let f = encode_frame(&big, true).unwrap();
        assert_eq!(f[4], 1);
        assert_eq!(&f[5..7], b"\x78\x01");
        assert_eq!(decode_all(&f, FrameLimits::default()).unwrap()[0], big);
        let f = encode_frame(&big, false).unwrap();
        assert_eq!(f[4], 0);
    }

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
    /// stream goes on over the rest; `decompress` (and the codec) read it back whole.
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
            assert_eq!(
                decode_all(&f, FrameLimits::default()).unwrap(),
                vec![payload]
            );
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
    fn buffered_frame_len_counts_whole_frames() {
        let one = encode_frame(b"one", true).unwrap();
        let big = encode_frame(&[b'q'; 10_000], true).unwrap();
        assert_eq!(buffered_frame_len(&one), Some(HEADER_LEN + 3 + 1));
        let mut both = one.clone();
        both.extend_from_slice(&big);
        assert_eq!(buffered_frame_len(&both), Some(one.len()));
        assert_eq!(buffered_frame_len(&both[one.len()..]), Some(big.len()));
        for cut in 0..big.len() {
            assert_eq!(buffered_frame_len(&big[..cut]), None, "cut at {cut}");
        }
        assert_eq!(buffered_frame_len(&[]), None);
        assert_eq!(buffered_frame_len(&[0xff, 0xff, 0xff, 0xff, 0, 1]), None);
        assert_eq!(buffered_frame_len(b"\x00\x00\x00\x00\x00\n"), Some(6));
    }

    #[test]
    fn several_frames_and_partial_input() {
        let mut all = encode_frame(b"one", true).unwrap();
        all.extend(encode_frame(b"two", true).unwrap());
        let mut codec = FrameCodec::new(FrameLimits::default());
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for b in all {
            buf.extend_from_slice(&[b]);
            if let Some(f) = codec.decode(&mut buf).unwrap() {
                got.push(f);
            }
        }
        assert_eq!(
            got,
            vec![Bytes::from_static(b"one"), Bytes::from_static(b"two")]
        );
    }

    #[tokio::test]
    async fn async_read_and_write() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        let big = vec![b'z'; 10_000];
        write_frame(&mut a, b"hello", true).await.unwrap();
        write_frame(&mut a, &big, true).await.unwrap();
        drop(a);
        let limits = FrameLimits::default();
        assert_eq!(
            read_frame(&mut b, limits).await.unwrap().unwrap(),
            Bytes::from_static(b"hello")
        );
        assert_eq!(read_frame(&mut b, limits).await.unwrap().unwrap(), big);
        assert!(read_frame(&mut b, limits).await.unwrap().is_none());
        let (mut a, mut b) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut a, &[0xff, 0xff, 0xff, 0xff, 0])
            .await
            .unwrap();
        assert!(matches!(
            read_frame(&mut b, limits).await,
            Err(FrameError::TooLarge { .. })
        ));
    }

    #[test]
    fn huge_header_refused() {
        let err =
            decode_all(&[0xff, 0xff, 0xff, 0xff, 0, 1, 2], FrameLimits::default()).unwrap_err();
        assert!(matches!(
            err,
            FrameError::TooLarge {
                len: 0xffff_ffff,
                ..
            }
        ));
    }

    #[test]
    fn zlib_bomb_refused() {
        let zeros = vec![0u8; 8 << 20];
        let frame = encode_frame(&zeros, true).unwrap();
        let limits = FrameLimits {
            max_frame_size: 1 << 20,
            max_decompressed_size: 1 << 20,
        };
        let err = decode_all(&frame, limits).unwrap_err();
        assert!(matches!(err, FrameError::DecompressedTooLarge { limit } if limit == 1 << 20));
    }

    #[test]
    fn corrupt_zlib_and_truncation() {
        let err = decode_all(b"\x00\x00\x00\x03\x01abc\n", FrameLimits::default()).unwrap_err();
        assert!(matches!(err, FrameError::Zlib(_)));
        let mut z = Vec::new();
        compress_into(&[1u8; 5000], &mut z);
        z.truncate(z.len() - 3);
        let mut frame = (z.len() as u32).to_be_bytes().to_vec();
        frame.push(1);
        frame.extend(&z);
        frame.push(b'\n');
        assert!(decode_all(&frame, FrameLimits::default()).is_err());
        let err = decode_all(b"\x00\x00\x00\x09\x00ab", FrameLimits::default()).unwrap_err();
        assert!(matches!(
            err,
            FrameError::UnexpectedEof {
                got: 7,
                expected: 15
            }
        ));
    }
}
