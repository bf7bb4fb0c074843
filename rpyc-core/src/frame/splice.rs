//! Large `bytes` values framed by reference instead of by copy.
//!
//! Brine encodes into a `Vec<u8>`; a 1 MiB `bytes` value copied into it is a copy the writer
//! does not need, since the frame can go out with a vectored write of its pieces. While
//! [`collect`] runs an encoder, a `bytes` value of at least [`SPLICE_MIN`] bytes gets only its
//! brine header written, and the value itself (a cheap `Bytes` clone) is recorded as a
//! [`Splice`]: where in the buffer its content belongs. [`FrameBuilder::finish_spliced`]
//! counts the splices in the frame's length (or, when the frame is compressed, puts them in
//! before compressing). The wire bytes are the same either way.
//!
//! The collector is a thread-local because every encoder writes through `&mut Vec<u8>` (a
//! public signature); it is active only inside [`collect`], and nowhere else does encoding
//! change.
//!
//! [`FrameBuilder::finish_spliced`]: super::FrameBuilder::finish_spliced

use std::cell::RefCell;

use bytes::Bytes;

/// `bytes` values at least this long are spliced rather than copied (below it, a copy costs
/// less than another piece in the write).
pub const SPLICE_MIN: usize = 16 * 1024;

/// Content that belongs in a buffer by reference: `bytes` goes at offset `at`, before the
/// buffer's byte at that offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// The offset in the buffer the encoder wrote into.
    pub at: usize,
    /// The content.
    pub bytes: Bytes,
}

thread_local! {
    /// The splices of the encoder [`collect`] is running on this thread, if any.
    static COLLECTOR: RefCell<Option<Vec<Splice>>> = const { RefCell::new(None) };
}

/// Runs `encode`, recording the large `bytes` values it encodes on this thread as splices
/// (their content is left out of the buffer); returns its result and the splices, in order.
///
/// ```
/// use rpyc::core::frame::splice::{collect, SPLICE_MIN};
/// use rpyc::core::{brine, Value};
/// let big = bytes::Bytes::from(vec![7u8; SPLICE_MIN]);
/// let mut out = Vec::new();
/// let (r, splices) = collect(|| brine::encode(&Value::Bytes(big.clone()), &mut out));
/// r.unwrap();
/// assert_eq!(out.len(), 5); // the header only
/// assert_eq!((splices[0].at, &splices[0].bytes), (5, &big));
/// ```
pub fn collect<R>(encode: impl FnOnce() -> R) -> (R, Vec<Splice>) {
    /// Puts the outer collector back, also if `encode` panics.
    struct Restore(Option<Vec<Splice>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let outer = self.0.take();
            COLLECTOR.with(|c| *c.borrow_mut() = outer);
        }
    }
    let outer = COLLECTOR.with(|c| c.replace(Some(Vec::new())));
    let restore = Restore(outer);
    let r = encode();
    let splices = COLLECTOR
        .with(|c| c.borrow_mut().take())
        .unwrap_or_default();
    drop(restore);
    (r, splices)
}

/// Records `b` as a splice at the end of `out` if a collector is running and `b` is large
/// enough; false otherwise (the caller copies it).
pub(crate) fn offer(b: &Bytes, out: &[u8]) -> bool {
    if b.len() < SPLICE_MIN {
        return false;
    }
    COLLECTOR.with(|c| match c.borrow_mut().as_mut() {
        Some(splices) => {
            splices.push(Splice {
                at: out.len(),
                bytes: b.clone(),
            });
            true
        }
        None => false,
    })
}
