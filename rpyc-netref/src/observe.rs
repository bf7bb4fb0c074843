//! Observability: a `tracing` span per request and per call, metrics through the
//! [`metrics`] facade, and a cheap look at one connection's state ([`ConnectionStats`]).
//!
//! **Spans** (target `rpyc`, level `DEBUG`, so a subscriber at `info` pays nothing per call):
//!
//! * `rpyc.request` — one per request of the peer: `conn`, `peer`, `seq`, `handler`
//!   (`callattr`, `getattr`, …), `type` (the target object's type), `member`, then, when it is
//!   answered, `outcome` (`ok` or the exception's class) and `duration_us`.
//! * `rpyc.call` — one per call of ours: the same fields; `outcome` is `ok`, the remote
//!   exception's class, `timeout`, `closed` or `error`.
//!
//! * `rpyc.connection` — one per connection (`conn`, `peer`), open for its life.
//!
//! A callback nests under the call that caused it, in both directions: a request handled here
//! runs inside its `rpyc.request` span, so the calls it makes back to the peer are its
//! children; and a request that arrives while exactly one call of ours on that connection
//! waits for its reply is a child of that call. With none or several waiting (RPyC carries no
//! causal id, so the cause is unknown), the request is a child of the connection's span.
//! Argument values are never recorded.
//!
//! **Metrics** are off until [`enable_metrics`] turns them on (the `rpyc-server --metrics`
//! endpoint does); then each request records, through whatever [`metrics`] recorder the
//! application installed:
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `rpyc_requests_total` | counter | `handler`, `method` |
//! | `rpyc_request_errors_total` | counter | `handler`, `method`, `exception` |
//! | `rpyc_request_duration_seconds` | histogram | `handler`, `method` |
//! | `rpyc_bytes_received_total`, `rpyc_bytes_sent_total` | counter | |
//! | `rpyc_frames_compressed_total` | counter | `direction` (`in`, `out`) |
//!
//! Labels are bounded, so a peer sending random names adds no series and grows no memory:
//!
//! * `method` is a member's name only once a request naming it was answered, which the access
//!   policy allows only for members a service exposes (a refused or unknown name is an
//!   `AttributeError`); a CALL of a bound method (what a Python client's `root.add(1, 2)`
//!   sends after its GETATTR) is labelled with the method's name. Every other request counts
//!   under `other`, and past [`MAX_LABELS`] distinct names so does every new one.
//! * `exception` is an error's class for the first [`MAX_EXCEPTION_LABELS`] distinct classes,
//!   then `other`.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let (client, server) = rpyc::connect_pair().await;
//! let root = client.root().await.unwrap();
//! let stats = server.stats_handle().snapshot().unwrap();
//! assert_eq!(stats.objects, 1); // the root, pinned
//! assert_eq!(stats.in_flight, 0);
//! # drop(root);
//! # });
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use rpyc_core::message::{Boxed, Handler, Request};
use rpyc_core::{RemoteException, Value};
use tracing::field::Empty;
use tracing::Span;

use crate::connection::ConnInner;
use crate::error::Error;

mod labels;

pub(crate) use labels::MetricsCache;
use labels::{method_label, MethodLabel};
pub use labels::{MAX_EXCEPTION_LABELS, MAX_LABELS};

static METRICS: AtomicBool = AtomicBool::new(false);

/// Turns the per-request metrics on or off, process-wide (off by default: a request then
/// touches no recorder and builds no label). Install a [`metrics`] recorder first.
pub fn enable_metrics(on: bool) {
    METRICS.store(on, Ordering::Relaxed);
}

/// Whether [`enable_metrics`] turned the metrics on.
#[inline]
pub fn metrics_enabled() -> bool {
    METRICS.load(Ordering::Relaxed)
}

/// What a request's observation keeps from its start to its answer (only when a span or the
/// metrics are on).
pub(crate) struct RequestObs {
    span: Span,
    start: Instant,
    handler: &'static str,
    method: MethodLabel,
    /// The connection's metric handles, when the metrics are on.
    metrics: Option<Arc<MetricsCache>>,
}

/// The target and member a request names (never its arguments).
fn request_target(req: &Request) -> (Handler, Option<&Boxed>, &str) {
    match req {
        Request::GetAttr { obj, name } => (Handler::GetAttr, Some(obj), name),
        Request::SetAttr { obj, name, .. } => (Handler::SetAttr, Some(obj), name),
        Request::DelAttr { obj, name } => (Handler::DelAttr, Some(obj), name),
        Request::CallAttr { obj, name, .. } => (Handler::CallAttr, Some(obj), name),
        Request::Call { obj, .. } => (Handler::Call, Some(obj), ""),
        Request::CtxExit { obj, .. } => (Handler::CtxExit, Some(obj), "__exit__"),
        Request::BuffIter { obj, .. } => (Handler::BuffIter, Some(obj), ""),
        Request::Repr { obj } => (Handler::Repr, Some(obj), ""),
        Request::Str { obj } => (Handler::Str, Some(obj), ""),
        Request::Hash { obj } => (Handler::Hash, Some(obj), ""),
        Request::Dir { obj } => (Handler::Dir, Some(obj), ""),
        Request::Cmp { obj, .. } => (Handler::Cmp, Some(obj), ""),
        Request::Ping { .. } => (Handler::Ping, None, ""),
        Request::Close => (Handler::Close, None, ""),
        Request::GetRoot => (Handler::GetRoot, None, ""),
        Request::Del { obj, .. } => (Handler::Del, Some(obj), ""),
        Request::Inspect { .. } => (Handler::Inspect, None, ""),
        _ => (Handler::Ping, None, ""),
    }
}

/// The type name of a request's target: the id pack's name (ours, as we sent it).
fn boxed_type(obj: Option<&Boxed>) -> &str {
    match obj {
        Some(Boxed::Local(id)) | Some(Boxed::Remote(id)) => &id.name_pack,
        _ => "",
    }
}

/// The `rpyc.connection` span of connection `conn` (disabled unless `rpyc` is traced at
/// `DEBUG`): its requests without a single waiting cause are its children.
pub(crate) fn connection_span(conn: u64, peer: &str) -> Span {
    tracing::debug_span!(target: "rpyc", parent: None, "rpyc.connection", conn, peer)
}

impl RequestObs {
    /// Starts observing request `seq`: `None` (and nothing computed) unless a `rpyc.request`
    /// span would be recorded or the metrics are on.
    #[inline]
    pub(crate) fn start(inner: &ConnInner, seq: i64, req: &Request) -> Option<RequestObs> {
        let traced = tracing::enabled!(target: "rpyc", tracing::Level::DEBUG);
        let metrics = metrics_enabled();
        if !traced && !metrics {
            return None;
        }
        Some(Self::begin(inner, seq, req, traced, metrics))
    }

    #[cold]
    fn begin(inner: &ConnInner, seq: i64, req: &Request, traced: bool, metrics: bool) -> Self {
        let (handler, obj, member) = request_target(req);
        let span = if traced {
            // The one call of ours still waiting caused this request; with none or several
            // waiting, it belongs to the connection.
            let parent = inner
                .caller_span()
                .or_else(|| inner.span().id())
                .or_else(|| Span::current().id());
            tracing::debug_span!(
                target: "rpyc",
                parent: parent,
                "rpyc.request",
                conn = inner.conn_id(),
                peer = inner.peer(),
                seq,
                handler = handler.name(),
                r#type = boxed_type(obj),
                member,
                outcome = Empty,
                duration_us = Empty,
            )
        } else {
            Span::none()
        };
        RequestObs {
            span,
            start: Instant::now(),
            handler: handler.name(),
            method: if metrics {
                method_label(inner, handler, obj, member)
            } else {
                MethodLabel::None
            },
            metrics: metrics.then(|| inner.metrics_cache().clone()),
        }
    }

    /// The span the request's handler runs in.
    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// The request was answered with `result`.
    pub(crate) fn finish(self, result: &std::result::Result<Value, RemoteException>) {
        let took = self.start.elapsed();
        let outcome = match result {
            Ok(_) => "ok",
            Err(e) => e.class.as_str(),
        };
        self.span.record("outcome", outcome);
        self.span.record("duration_us", took.as_micros() as u64);
        if let Some(cache) = &self.metrics {
            cache.record(self.handler, &self.method, result, took);
        }
    }
}

/// A call of ours being observed (its `rpyc.call` span), from the request to its reply.
pub(crate) struct CallObs {
    span: Span,
    start: Instant,
}

impl CallObs {
    /// Starts observing a call: `None` unless a `rpyc.call` span would be recorded.
    #[inline]
    pub(crate) fn start(inner: &ConnInner, handler: Handler, args: &[Value]) -> Option<Box<Self>> {
        if !tracing::enabled!(target: "rpyc", tracing::Level::DEBUG) {
            return None;
        }
        Some(Box::new(Self::begin(inner, handler, args)))
    }

    #[cold]
    fn begin(inner: &ConnInner, handler: Handler, args: &[Value]) -> Self {
        // GETATTR, CALLATTR & co.: `(obj, name, …)`; CALL: `(obj, args, kwargs)`.
        let target = args.first().and_then(|v| {
            v.as_object()?
                .downcast_ref::<crate::netref::NetRefInner>()
                .map(|n| n.id.name_pack.clone())
        });
        let member = match (handler, args.get(1)) {
            (
                Handler::GetAttr | Handler::SetAttr | Handler::DelAttr | Handler::CallAttr,
                Some(Value::Str(s)),
            ) => s.as_str(),
            _ => "",
        };
        let span = tracing::debug_span!(
            target: "rpyc",
            "rpyc.call",
            conn = inner.conn_id(),
            peer = inner.peer(),
            seq = Empty,
            handler = handler.name(),
            r#type = target.as_deref().unwrap_or(""),
            member,
            outcome = Empty,
            duration_us = Empty,
        );
        CallObs {
            span,
            start: Instant::now(),
        }
    }

    /// The call was sent as `seq`.
    pub(crate) fn sent(&self, seq: i64) {
        self.span.record("seq", seq);
    }

    /// The span's id (the parent of the requests this call causes).
    pub(crate) fn id(&self) -> Option<tracing::Id> {
        self.span.id()
    }

    /// The call ended with `result`.
    pub(crate) fn finish(self, result: std::result::Result<(), &Error>) {
        let outcome = match result {
            Ok(()) => "ok",
            Err(Error::Remote(e)) => e.class.as_str(),
            Err(Error::Timeout(_)) => "timeout",
            Err(Error::ConnectionClosed(_)) => "closed",
            Err(_) => "error",
        };
        self.span.record("outcome", outcome);
        self.span
            .record("duration_us", self.start.elapsed().as_micros() as u64);
    }
}

/// Counts one frame in or out (`bytes` on the wire), when the metrics are on. The handles are
/// registered once (the recorder is installed before the metrics are turned on), so a frame
/// looks up nothing in the recorder.
#[inline]
pub(crate) fn frame(incoming: bool, bytes: usize, compressed: bool) {
    if !metrics_enabled() {
        return;
    }
    count_frame(incoming, bytes as u64, compressed);
}

#[cold]
fn count_frame(incoming: bool, bytes: u64, compressed: bool) {
    /// (bytes received, bytes sent, compressed frames in, compressed frames out).
    static HANDLES: std::sync::OnceLock<[metrics::Counter; 4]> = std::sync::OnceLock::new();
    let [received, sent, compressed_in, compressed_out] = HANDLES.get_or_init(|| {
        [
            metrics::counter!("rpyc_bytes_received_total"),
            metrics::counter!("rpyc_bytes_sent_total"),
            metrics::counter!("rpyc_frames_compressed_total", "direction" => "in"),
            metrics::counter!("rpyc_frames_compressed_total", "direction" => "out"),
        ]
    });
    let (bytes_counter, compressed_counter) = if incoming {
        (received, compressed_in)
    } else {
        (sent, compressed_out)
    };
    bytes_counter.increment(bytes);
    if compressed {
        compressed_counter.increment(1);
    }
}

/// A look at one connection without keeping it open ([`crate::Connection::stats_handle`]).
#[derive(Clone, Debug)]
pub struct StatsHandle {
    pub(crate) inner: Weak<ConnInner>,
}

/// One connection's state at one moment ([`StatsHandle::snapshot`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// [`crate::Connection::id`].
    pub id: u64,
    /// The peer's address, when the connection knows it (`Config::endpoints`).
    pub peer: String,
    /// Our objects the peer holds (the root included).
    pub objects: usize,
    /// Proxies of the peer's objects we hold.
    pub proxies: usize,
    /// The peer's requests being handled.
    pub in_flight: usize,
    /// Our calls waiting for a reply.
    pub waiting: usize,
    /// Bytes owed to the peer (queued or being written).
    pub queued_bytes: usize,
    /// Frames received so far.
    pub frames_received: u64,
    /// Time since the peer last sent anything (since the start if it never did).
    pub idle: Duration,
}

impl StatsHandle {
    /// The connection's state now; `None` once it has closed.
    pub fn snapshot(&self) -> Option<ConnectionStats> {
        let inner = self.inner.upgrade()?;
        if inner.is_closed() {
            return None;
        }
        Some(inner.stats())
    }
}
