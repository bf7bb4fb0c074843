//! A batch of frames to write: the framed bytes and the large `bytes` values spliced into them
//! by reference (`rpyc_core::frame::splice`), written with vectored writes so that a large
//! value goes from the caller's (or the received frame's) buffer straight to the socket.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Buf;
use rpyc_core::frame::splice::Splice;
use tokio::io::AsyncWrite;

/// The most pieces handed to one vectored write (Linux takes up to 1024).
const MAX_PIECES: usize = 64;

/// Framed bytes with content spliced in at offsets (in order).
#[derive(Default)]
pub(crate) struct Batch {
    /// The framed bytes.
    pub(crate) bytes: Vec<u8>,
    /// Content that belongs in `bytes` at its offset.
    pub(crate) splices: Vec<Splice>,
}

impl Batch {
    /// Bytes on the wire: framed and spliced.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len() + self.splices.iter().map(|s| s.bytes.len()).sum::<usize>()
    }

    /// Whether there is nothing to write.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty() && self.splices.is_empty()
    }

    /// The pieces of what is left after the first `off` bytes, in order (as many as one
    /// vectored write takes).
    pub(crate) fn pieces(&self, mut off: usize) -> Vec<IoSlice<'_>> {
        let mut out = Vec::with_capacity(1 + 2 * self.splices.len().min(MAX_PIECES / 2));
        let mut pos = 0;
        for s in &self.splices {
            for piece in [&self.bytes[pos..s.at], &s.bytes[..]] {
                if off >= piece.len() {
                    off -= piece.len();
                } else {
                    out.push(IoSlice::new(&piece[off..]));
                    off = 0;
                    if out.len() == MAX_PIECES {
                        return out;
                    }
                }
            }
            pos = s.at;
        }
        let tail = &self.bytes[pos..];
        if off < tail.len() {
            out.push(IoSlice::new(&tail[off..]));
        }
        out
    }

    /// Writes some of what is left after the first `off` bytes: one plain write when nothing
    /// is spliced in, else one vectored write of the pieces.
    pub(crate) fn poll_write<W: AsyncWrite + ?Sized>(
        &self,
        io: Pin<&mut W>,
        cx: &mut Context<'_>,
        off: usize,
    ) -> Poll<io::Result<usize>> {
        if self.splices.is_empty() {
            return io.poll_write(cx, &self.bytes[off..]);
        }
        io.poll_write_vectored(cx, &self.pieces(off))
    }

    /// Drops the first `off` bytes (written already).
    pub(crate) fn consume(&mut self, mut off: usize) {
        let mut pos = 0;
        let mut gone = 0;
        for s in &mut self.splices {
            let gap = s.at - pos;
            if off < gap {
                break;
            }
            off -= gap;
            pos = s.at;
            if off < s.bytes.len() {
                s.bytes.advance(off);
                off = 0;
                break;
            }
            off -= s.bytes.len();
            gone += 1;
        }
        pos += off;
        self.splices.drain(..gone);
        self.bytes.drain(..pos);
        for s in &mut self.splices {
            s.at -= pos;
        }
    }

    /// Moves `other`'s content to the end of this batch.
    pub(crate) fn append(&mut self, other: &mut Batch) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(&other.bytes);
        other.bytes.clear();
        self.splices.extend(other.splices.drain(..).map(|mut s| {
            s.at += base;
            s
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn flat(b: &Batch) -> Vec<u8> {
        b.pieces(0).iter().flat_map(|p| p.to_vec()).collect()
    }

    #[test]
    fn pieces_consume_and_append_keep_the_byte_order() {
        let mut b = Batch {
            bytes: b"abcdef".to_vec(),
            splices: vec![
                Splice {
                    at: 2,
                    bytes: Bytes::from_static(b"XYZ"),
                },
                Splice {
                    at: 2,
                    bytes: Bytes::from_static(b"12"),
                },
                Splice {
                    at: 6,
                    bytes: Bytes::from_static(b"!"),
                },
            ],
        };
        let whole = b"abXYZ12cdef!".to_vec();
        assert_eq!(flat(&b), whole);
        assert_eq!(b.len(), whole.len());
        for cut in 0..=whole.len() {
            let mut c = Batch {
                bytes: b.bytes.clone(),
                splices: b.splices.clone(),
            };
            let at_cut: Vec<u8> = c.pieces(cut).iter().flat_map(|p| p.to_vec()).collect();
            assert_eq!(at_cut, whole[cut..], "pieces after {cut}");
            c.consume(cut);
            assert_eq!(flat(&c), whole[cut..], "consume {cut}");
            assert_eq!(c.len(), whole.len() - cut);
        }
        let mut more = Batch {
            bytes: b"gh".to_vec(),
            splices: vec![Splice {
                at: 1,
                bytes: Bytes::from_static(b"--"),
            }],
        };
        b.append(&mut more);
        assert!(more.is_empty());
        assert_eq!(flat(&b), b"abXYZ12cdef!g--h".to_vec());
    }
}
