//! [`LazyIter`]: an iterator (or a stream) that a Rust service returns by reference, computed
//! only as the peer reads it.
//!
//! Returning a `Vec` sends every item at once, by value. Returning a `LazyIter` sends a
//! reference to a Python iterator: `__iter__` returns itself, `__next__` computes the next
//! item (or raises `StopIteration`), and HANDLE_BUFFITER takes exactly the count asked for.
//! Nothing is computed before the peer asks, and the server holds only the iterator, whatever
//! its length, however slowly the client reads. A Python client iterates it as any iterator
//! (`for x in conn.root.numbers(10**6)`, `rpyc.buffiter(...)`, `itertools.islice(...)`); a Rust
//! client streams it with [`NetRef::stream`](crate::NetRef::stream). When the peer drops its
//! reference, the iterator is dropped.
//!
//! ```
//! use rpyc::{LazyIter, RemoteException};
//!
//! struct Lines;
//!
//! #[rpyc::service]
//! impl Lines {
//!     /// `for line in conn.root.lines(3)` in Python: "line 0", "line 1", "line 2".
//!     #[exposed]
//!     fn lines(&self, n: u32) -> LazyIter {
//!         LazyIter::new((0..n).map(|i| format!("line {i}")))
//!     }
//!
//!     /// Items may be `Result`s: an `Err` is raised to the reader and ends the iteration.
//!     #[exposed]
//!     fn checked(&self) -> LazyIter {
//!         LazyIter::new([Ok(1), Err(RemoteException::value_error("bad record"))])
//!     }
//! }
//! ```
//!
//! Where the items are computed: an iterator's `next` runs on the runtime, in the task that
//! answers the request (as an `#[exposed(inline)]` method does), so it must be cheap and must
//! not block. Items that need I/O come from a [`Stream`] ([`LazyIter::from_stream`]), awaited
//! there instead.

use std::sync::Arc;

use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use rpyc_core::{IntoReturn, IntoValue, RemoteException, Value};
use tokio::sync::Mutex;

use crate::object::{export, export_arc, Args, BoxFuture, CallContext, CallResult, LocalObject};

/// Where the items come from.
enum Source {
    Iter(Box<dyn Iterator<Item = CallResult> + Send>),
    Stream(BoxStream<'static, CallResult>),
    /// Ended (or raised): `StopIteration` from now on, as a Python generator.
    Done,
}

/// An iterator a service returns by reference (see the [module docs](self)): the peer gets
/// a Python iterator whose items are computed only as it reads them.
pub struct LazyIter {
    source: Mutex<Source>,
}

impl LazyIter {
    /// Serves `items` lazily: each item is computed when the peer asks for it. Items are any
    /// [`IntoValue`], or `Result`s of one whose error the peer sees raised (which ends the
    /// iteration, as an exception ends a Python generator).
    pub fn new<I>(items: I) -> LazyIter
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: IntoReturn + 'static,
    {
        LazyIter {
            source: Mutex::new(Source::Iter(Box::new(
                items.into_iter().map(IntoReturn::into_return),
            ))),
        }
    }

    /// Serves the items of `stream` lazily: each `__next__` awaits the stream's next item
    /// (for items that need I/O, a database cursor, a channel).
    pub fn from_stream<S>(stream: S) -> LazyIter
    where
        S: Stream + Send + 'static,
        S::Item: IntoReturn + 'static,
    {
        LazyIter {
            source: Mutex::new(Source::Stream(stream.map(IntoReturn::into_return).boxed())),
        }
    }

    /// The next item; `StopIteration` at the end and after an error.
    async fn next_item(&self) -> CallResult {
        let mut source = self.source.lock().await;
        let item = match &mut *source {
            Source::Iter(it) => it.next(),
            Source::Stream(s) => s.next().await,
            Source::Done => None,
        };
        match item {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => {
                *source = Source::Done;
                Err(e)
            }
            None => {
                *source = Source::Done;
                Err(RemoteException::stop_iteration())
            }
        }
    }
}

impl std::fmt::Debug for LazyIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LazyIter")
    }
}

impl LocalObject for LazyIter {
    fn type_name(&self) -> &str {
        "rpyc_rs.LazyIter"
    }

    fn methods(&self) -> &'static [&'static str] {
        &["__iter__", "__next__"]
    }

    fn call_method(
        self: Arc<Self>,
        name: &str,
        _ctx: CallContext,
        args: Args,
    ) -> BoxFuture<CallResult> {
        let takes_args = !args.pos.is_empty() || !args.kw.is_empty();
        let name = name.to_string();
        Box::pin(async move {
            if takes_args {
                return Err(RemoteException::type_error(format!(
                    "{name}() takes no arguments"
                )));
            }
            match name.as_str() {
                "__iter__" => Ok(export_arc(self)),
                "__next__" => self.next_item().await,
                other => Err(RemoteException::no_attribute("rpyc_rs.LazyIter", other)),
            }
        })
    }

    fn repr(&self) -> String {
        "<rpyc_rs.LazyIter object>".into()
    }
}

/// Returned from a method, a `LazyIter` travels by reference.
impl IntoValue for LazyIter {
    fn into_value(self) -> Value {
        export(self)
    }
}
