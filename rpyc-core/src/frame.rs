//! Framing: `u32 BE length ‖ u8 compressed ‖ payload ‖ '\n'`, with zlib above 3000 bytes.
//!
//! [`FrameCodec`] is a `tokio_util` codec: wrap any `AsyncRead` in a `FramedRead` to get
//! [`Frame`]s as they arrived (the compressed flag and the bytes), with the frame size capped
//! by [`FrameLimits`]; [`Frame::payload`] inflates a compressed one, refusing a zlib bomb
//! before its output is allocated. Inflating is left to the caller so that it can happen
//! wherever decoding does (a connection inflates and decodes large frames off the runtime's
//! workers). A frame is read straight into its buffer and handed out as a slice of it, with
//! no copy. Memory follows the data: a header announcing 256 MiB reserves 2 MiB until its
//! bytes arrive, and a failed allocation is an error of that stream, not an abort.
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
//! let limits = FrameLimits::default();
//! let mut codec = FrameCodec::new(limits);
//! let frame = codec.decode(&mut BytesMut::from(&out[..])).unwrap().unwrap();
//! assert!(!frame.compressed);
//! let payload = frame.payload(limits.max_decompressed_size).unwrap();
//! assert_eq!(&payload[..], b"\x01\x11\x50\x11\x53\x11\x51\x02");
//! ```

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use crate::error::FrameError;

pub mod splice;
mod zlib;

use splice::Splice;

use zlib::{compress_if_worth, grow};
pub use zlib::{compress_into, decompress};

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
    /// Largest payload accepted on the wire (default 256 MiB).
    pub max_frame_size: usize,
    /// Largest payload accepted after decompression (default 256 MiB). A zlib bomb costs at
    /// most this much memory before it is refused.
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

/// One frame as it arrived: its payload, still zlib-compressed when `compressed` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The header's compressed flag.
    pub compressed: bool,
    /// The payload bytes as sent.
    pub data: Bytes,
}

impl Frame {
    /// The payload: `data` itself, or `data` inflated, refused beyond `limit` bytes
    /// ([`FrameError::DecompressedTooLarge`]) before more is allocated.
    pub fn payload(&self, limit: usize) -> Result<Bytes, FrameError> {
        if self.compressed {
            decompress(&self.data, limit).map(Bytes::from)
        } else {
            Ok(self.data.clone())
        }
    }
}

/// Frames up to this size (header and flusher included) are read into the shared read
/// buffer, which grows for them with `BytesMut::reserve`; a larger one gets a buffer of its
/// own, allocated fallibly.
const READ_CHUNK: usize = 64 * 1024;

/// A large frame's buffer is this big as soon as its header is in (or the frame's size, if
/// smaller): a frame of up to 2 MiB is read in place with no growth at all. Beyond it, the
/// buffer at most doubles what has arrived, so that what a header announces costs nothing
/// until the bytes come (a peer announcing 256 MiB frames on many connections reserves
/// 2 MiB for each).
const EAGER: usize = 2 << 20;

/// Decoder of frames (see [`Frame`]).
///
/// Every frame is sliced out of the read buffer without a copy. Once a frame's header is in,
/// the buffer is given room for the whole frame (up to [`EAGER`] at first, then at most twice
/// what has arrived), so that the rest of it is read straight into place: no copy from a
/// chunk buffer, and no growth at all for frames up to 2 MiB. A large frame's buffer is
/// allocated with `try_reserve`: a failed allocation is [`FrameError::OutOfMemory`], which
/// ends that stream only.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    limits: FrameLimits,
}

impl FrameCodec {
    /// A codec enforcing `limits` (only `max_frame_size`: inflating is [`Frame::payload`]'s).
    pub fn new(limits: FrameLimits) -> Self {
        FrameCodec { limits }
    }

    /// Bytes still lacking from the frame in progress — `buffered` being what the read buffer
    /// holds that this codec has not taken yet — or `None` when no frame has begun. Before
    /// the header is whole, the rest of the header and the `'\n'` count as lacking.
    pub fn lacking(&self, buffered: &[u8]) -> Option<usize> {
        if buffered.is_empty() {
            return None;
        }
        Some(match buffered.first_chunk::<4>() {
            Some(len) => {
                let total = HEADER_LEN + u32::from_be_bytes(*len) as usize + 1;
                total.saturating_sub(buffered.len()).max(1)
            }
            None => HEADER_LEN + 1 - buffered.len(),
        })
    }
}

/// Gives `src` room for more of a frame of `total` bytes, so that it is read in place: all of
/// it for a small frame or up to [`EAGER`], else up to twice what has arrived. A large frame's
/// buffer is its own, grown fallibly (the bytes already there move into it once).
fn room_for_frame(src: &mut BytesMut, total: usize) -> Result<(), FrameError> {
    if total <= READ_CHUNK {
        if src.capacity() < total {
            src.reserve(total - src.len());
        }
        return Ok(());
    }
    let target = total.min(EAGER.max(src.len().saturating_mul(2)));
    if src.capacity() >= target {
        return Ok(());
    }
    let mut own = Vec::from(std::mem::take(src));
    let more = target - own.len();
    grow(&mut own, more)?;
    *src = BytesMut::from(Bytes::from(own));
    Ok(())
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        let Some(header) = src.first_chunk() else {
            return Ok(None);
        };
        let len = header_len(header, self.limits.max_frame_size)?;
        let total = HEADER_LEN + len + 1;
        let compressed = src[4] != 0;
        if src.len() >= total {
            src.advance(HEADER_LEN);
            let data = src.split_to(len).freeze();
            src.advance(1); // the '\n' flusher; Python never checks its value either
            return Ok(Some(Frame { compressed, data }));
        }
        room_for_frame(src, total)?;
        Ok(None)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
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
        self.finish_spliced(compress, &mut Vec::new())
    }

    /// [`FrameBuilder::finish`] for a payload whose large `bytes` values were left out as
    /// `splices` ([`splice::collect`]; offsets in the buffer): the header counts them, and
    /// they go out in their places. A frame that gets compressed takes them in first (and
    /// `splices` is emptied), as does a frame that fails.
    pub fn finish_spliced(
        self,
        compress: bool,
        splices: &mut Vec<Splice>,
    ) -> Result<(), crate::error::EncodeError> {
        let body = self.start + HEADER_LEN;
        let mut spliced: usize = splices.iter().map(|s| s.bytes.len()).sum();
        let mut flag = 0u8;
        if compress && self.out.len() - body + spliced > COMPRESSION_THRESHOLD {
            if !splices.is_empty() {
                // Compression needs the payload in one piece.
                let mut whole = Vec::with_capacity(self.out.len() - body + spliced);
                let mut pos = body;
                for s in splices.drain(..) {
                    whole.extend_from_slice(&self.out[pos..s.at]);
                    whole.extend_from_slice(&s.bytes);
                    pos = s.at;
                }
                whole.extend_from_slice(&self.out[pos..]);
                self.out.truncate(body);
                self.out.extend_from_slice(&whole);
                spliced = 0;
            }
            if let Some(z) = compress_if_worth(&self.out[body..]) {
                if z.len() < self.out.len() - body {
                    self.out.truncate(body);
                    self.out.extend_from_slice(&z);
                    flag = 1;
                }
            }
        }
        let len = self.out.len() - body + spliced;
        let len32 = match u32::try_from(len) {
            Ok(l) => l,
            Err(_) => {
                self.out.truncate(self.start);
                splices.clear();
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
/// clean end of stream before a new frame. Sizes are checked against `limits`; the payload is
/// read in place into one buffer, which grows with the bytes that arrive (at most doubling
/// them) beyond 2 MiB, and a failed allocation is [`FrameError::OutOfMemory`].
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
    // One buffer, read into in place, as `FrameCodec` grows it.
    let mut body = Vec::new();
    while body.len() < len + 1 {
        if body.len() == body.capacity() {
            let target = (len + 1).min(EAGER.max(body.len().saturating_mul(2)));
            let more = target - body.len();
            grow(&mut body, more)?;
        }
        let room = (body.capacity() - body.len()).min(len + 1 - body.len());
        let n = r.take(room as u64).read_buf(&mut body).await?;
        if n == 0 {
            return Err(FrameError::UnexpectedEof {
                got: HEADER_LEN + body.len(),
                expected: HEADER_LEN + len + 1,
            });
        }
    }
    body.truncate(len);
    Frame {
        compressed: header[4] != 0,
        data: Bytes::from(body),
    }
    .payload(limits.max_decompressed_size)
    .map(Some)
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

    /// Every frame of `bytes`, inflated.
    fn decode_all(bytes: &[u8], limits: FrameLimits) -> Result<Vec<Bytes>, FrameError> {
        let mut codec = FrameCodec::new(limits);
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(f) = codec.decode_eof(&mut buf)? {
            out.push(f.payload(limits.max_decompressed_size)?);
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
                got.push(f.data);
            }
        }
        assert_eq!(
            got,
            vec![Bytes::from_static(b"one"), Bytes::from_static(b"two")]
        );
    }

    /// Once a large frame's header is in, the read buffer has room for the whole frame: the
    /// rest is read into place (the buffer never moves), and the frame comes out as a slice of
    /// that one buffer.
    #[test]
    fn a_large_frame_is_read_in_place_into_one_buffer() {
        let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let mut wire = encode_frame(&payload, false).unwrap();
        wire.extend(encode_frame(b"next", false).unwrap());
        let total = HEADER_LEN + payload.len() + 1;
        let mut codec = FrameCodec::new(FrameLimits::default());
        let mut buf = BytesMut::with_capacity(16 * 1024);
        buf.extend_from_slice(&wire[..1000]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert_eq!(buf.capacity(), total, "room for exactly this frame");
        let start = buf.as_ptr();
        // Reads of 1000 bytes, each into the room left (as a read into spare capacity does).
        let mut got = Vec::new();
        let mut pos = 1000;
        while pos < wire.len() {
            let room = (buf.capacity() - buf.len()).max(1);
            let end = wire.len().min(pos + room.min(1000));
            buf.extend_from_slice(&wire[pos..end]);
            pos = end;
            while let Some(f) = codec.decode(&mut buf).unwrap() {
                got.push(f.data);
            }
            if got.is_empty() {
                assert_eq!(buf.as_ptr(), start, "the frame's buffer never moved");
            }
        }
        assert_eq!(got[0].as_ptr(), start.wrapping_add(HEADER_LEN), "no copy");
        assert_eq!(got, vec![Bytes::from(payload), Bytes::from_static(b"next")]);
        assert!(buf.is_empty());

        // A header announcing 250 MiB reserves 2 MiB; more only as bytes arrive (at most
        // twice them), and then an early end.
        let mut buf = BytesMut::from(&[0x0f, 0xa0, 0, 0, 0, 1, 2, 3][..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert_eq!(buf.capacity(), EAGER);
        let err = codec.decode_eof(&mut buf).unwrap_err();
        assert!(matches!(
            err,
            FrameError::UnexpectedEof { got: 8, expected } if expected == HEADER_LEN + (250 << 20) + 1
        ));
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
