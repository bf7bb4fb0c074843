//! Connection configuration: every key of RPyC 6's `DEFAULT_CONFIG`, same defaults and meaning,
//! plus rpyc-rs's own safety limits.
//!
//! ```
//! use std::time::Duration;
//! use rpyc::Config;
//! let cfg = Config::builder()
//!     .allow_public_attrs(true)
//!     .sync_request_timeout(Some(Duration::from_secs(5)))
//!     .build();
//! assert!(cfg.allow_public_attrs);
//! assert!(!cfg.allow_pickle);
//! assert_eq!(cfg.exposed_prefix, "exposed_");
//! ```

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::brine::Limits;
use crate::frame::FrameLimits;

/// The 80 names of RPyC's `safe_attrs`: dunders reachable under the default policy.
pub const SAFE_ATTRS: &[&str] = &[
    "__abs__",
    "__add__",
    "__and__",
    "__bool__",
    "__cmp__",
    "__contains__",
    "__delitem__",
    "__delslice__",
    "__div__",
    "__divmod__",
    "__doc__",
    "__enter__",
    "__eq__",
    "__exit__",
    "__float__",
    "__floordiv__",
    "__format__",
    "__ge__",
    "__getitem__",
    "__getslice__",
    "__gt__",
    "__hash__",
    "__hex__",
    "__iadd__",
    "__iand__",
    "__idiv__",
    "__ifloordiv__",
    "__ilshift__",
    "__imod__",
    "__imul__",
    "__index__",
    "__int__",
    "__invert__",
    "__ior__",
    "__ipow__",
    "__irshift__",
    "__isub__",
    "__iter__",
    "__itruediv__",
    "__ixor__",
    "__le__",
    "__len__",
    "__length_hint__",
    "__long__",
    "__lshift__",
    "__lt__",
    "__mod__",
    "__mul__",
    "__ne__",
    "__neg__",
    "__new__",
    "__next__",
    "__nonzero__",
    "__oct__",
    "__or__",
    "__pos__",
    "__pow__",
    "__radd__",
    "__rand__",
    "__rdiv__",
    "__rdivmod__",
    "__repr__",
    "__rfloordiv__",
    "__rlshift__",
    "__rmod__",
    "__rmul__",
    "__ror__",
    "__rpow__",
    "__rrshift__",
    "__rshift__",
    "__rsub__",
    "__rtruediv__",
    "__rxor__",
    "__setitem__",
    "__setslice__",
    "__str__",
    "__sub__",
    "__truediv__",
    "__xor__",
    "next",
];

/// Configuration of one connection (RPyC's `DEFAULT_CONFIG`, typed).
///
/// The access-policy keys are enforced by the side that owns an object, with its own config;
/// nothing of this travels on the wire.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Names in [`Config::safe_attrs`] are accessible as they are. Default `true`.
    pub allow_safe_attrs: bool,
    /// Names starting with [`Config::exposed_prefix`] are accessible, and a plain name `x`
    /// resolves to `exposed_x` when that exists. Default `true`.
    pub allow_exposed_attrs: bool,
    /// Names not starting with `_` are accessible. Default `false`.
    pub allow_public_attrs: bool,
    /// Every name is accessible. Default `false`.
    pub allow_all_attrs: bool,
    /// The safe dunder names (default [`SAFE_ATTRS`]). Shared: a server clones its
    /// configuration for every connection, and the set is the same for all of them (change it
    /// with `Arc::make_mut` or the builder's `safe_attrs`).
    pub safe_attrs: Arc<BTreeSet<String>>,
    /// Prefix marking exposed members. Default `"exposed_"`.
    pub exposed_prefix: String,
    /// Master switch for attribute reads (GETATTR, CALLATTR, CMP, CTXEXIT). Default `true`.
    pub allow_getattr: bool,
    /// Master switch for SETATTR. Default `false`.
    pub allow_setattr: bool,
    /// Master switch for DELATTR. Default `false`.
    pub allow_delattr: bool,
    /// Serve HANDLE_PICKLE. rpyc-rs never pickles: when `true` the request still fails, with
    /// `ValueError("pickling is not supported")`. Default `false`.
    pub allow_pickle: bool,
    /// Send traceback text with exceptions (else `"<traceback denied>"`). Default `true`.
    pub include_local_traceback: bool,
    /// Send `_remote_version` with exceptions (else `"<version denied>"`). Default `true`.
    pub include_local_version: bool,
    /// Python-only: instantiate non-builtin exception classes. Kept for parity; rpyc-rs keeps
    /// every exception as a typed [`crate::RemoteException`]. Default `false`.
    pub instantiate_custom_exceptions: bool,
    /// Python-only: import the module named by a peer's exception. Never done by rpyc-rs.
    /// Default `false`.
    pub import_custom_exceptions: bool,
    /// Python-2 only; no effect. Default `false`.
    pub instantiate_oldstyle_exceptions: bool,
    /// Python-only (SystemExit handling); no effect in Rust. Default `false`.
    pub propagate_system_exit_locally: bool,
    /// Python-only (KeyboardInterrupt handling); no effect in Rust. Default `true`.
    pub propagate_keyboard_interrupt_locally: bool,
    /// Log exceptions raised by handlers (at debug level through `tracing`). Default `true`.
    pub log_exceptions: bool,
    /// Connection id shown in logs (`"conn<N>"` when unset). Default `None`.
    pub connid: Option<String>,
    /// Who the peer is, as a server verified it (peer address, TLS client certificate, what its
    /// authenticator returned); set by servers, `None` on client connections. Services read it
    /// through `CallContext::credentials()`. RPyC's `credentials` key. Default `None`.
    pub credentials: Option<crate::credentials::Credentials>,
    /// `(local, peer)` addresses, set by servers. Default `None`.
    pub endpoints: Option<(String, String)>,
    /// Timeout of synchronous requests; `None` waits forever. Default 30 s.
    pub sync_request_timeout: Option<Duration>,
    /// Swallow every error in `close()`. Default `false`.
    pub close_catchall: bool,
    /// RPyC's experimental thread binding. rpyc-rs does not speak it; must stay `false`.
    pub bind_threads: bool,
    /// rpyc-rs: compress outgoing payloads above 3000 bytes (as Python does), unless a sample
    /// shows they do not compress. Default `true`.
    pub compress: bool,
    /// rpyc-rs: compress also to peers on this machine (loopback TCP, Unix sockets), where it
    /// only costs CPU. Default `false`: `connect` and `Server` turn compression off for them.
    pub compress_local: bool,
    /// rpyc-rs: frame size limits for incoming frames (256 MiB on the wire and inflated).
    pub frame_limits: FrameLimits,
    /// rpyc-rs: brine decoding limits: nesting depth, int digits, and the heap one message may
    /// decode into (8 × its size, at least 64 MiB). A request beyond them gets an exception
    /// naming the limit; a reply beyond them fails its call; the connection goes on.
    pub decode_limits: Limits,
    /// rpyc-rs: most payload bytes being inflated and decoded at once off the runtime's worker
    /// threads, across the process (every connection whose config has the same value shares
    /// one budget). Frames above 64 KiB (on the wire or once inflated) are inflated and
    /// decoded on tokio's blocking threads, each charged its payload size (a compressed one
    /// its largest possible size until inflated); beyond this total, they wait their turn in
    /// arrival order. Smaller frames decode inline. Default 512 MiB.
    pub max_decoding_bytes: usize,
    /// rpyc-rs: most objects this side keeps exported to the peer at once; beyond it, requests
    /// that would export more fail with `MemoryError`. Default 1,000,000.
    pub max_exported_objects: usize,
    /// rpyc-rs: most objects every connection of the process together keeps exported (each
    /// connection's config checks its own exports against this total). Default 4,000,000.
    pub max_exported_objects_total: usize,
    /// rpyc-rs: most requests of the peer handled at once on one connection; beyond it, new
    /// requests fail at once with `RuntimeError` (replies keep flowing, so callbacks never
    /// deadlock). Default 10,000.
    pub max_concurrent_requests: usize,
    /// rpyc-rs: most synchronous methods of one connection running at once. A synchronous
    /// exposed method (not marked `#[exposed(inline)]`) runs on the runtime's blocking-thread
    /// pool, so a method that blocks never stalls other requests or connections; beyond this
    /// many, the connection's further synchronous calls wait, in arrival order, for one to
    /// finish. A call waiting for its own call into the peer (a callback) does not count.
    /// Default 8; `0` is taken as 1.
    pub max_sync_calls: usize,
    /// rpyc-rs: the output budget of one connection, in bytes framed for the peer and not yet
    /// taken by it. While a connection owes more, it reads no further frame and starts no new
    /// request of the peer, until the peer reads. Default 32 MiB.
    pub max_queued_output: usize,
    /// rpyc-rs: the output budget of every connection of the process together; while the
    /// process owes more, no connection starts a new request. Default 1 GiB.
    pub max_queued_output_total: usize,
    /// rpyc-rs: a peer that is owed output and takes no byte of it for this long is closed.
    /// `None` never closes. Default 60 s.
    pub write_timeout: Option<Duration>,
    /// rpyc-rs: once a frame has begun to arrive, at least [`Config::frame_progress_bytes`] of
    /// it (or all the rest) must arrive within each such period, else the connection closes.
    /// The clock stops while this side is not reading (its own output backpressure). `None`
    /// waits for ever. Default 10 s.
    pub frame_progress_timeout: Option<Duration>,
    /// rpyc-rs: the bytes of a frame in progress that must arrive per
    /// [`Config::frame_progress_timeout`]. Default 4 KiB.
    pub frame_progress_bytes: usize,
    /// rpyc-rs: a connection with nothing going on (no frame arriving, no request running, no
    /// call of ours awaiting a reply, nothing owed) for this long is closed. Default `None`:
    /// idle connections are never cut (a Python client may stay idle for hours).
    pub idle_timeout: Option<Duration>,
    /// rpyc-rs: when the peer stops sending (end of stream, as after a half-close), how long
    /// the requests it already sent may still run; their replies are written, then the
    /// connection closes. A peer that was killed looks the same on the wire, so this bounds
    /// how long it holds its slot. Default 5 s.
    pub eof_grace: Duration,
    /// rpyc-rs: the largest chunk, in items, of a stream read from the peer
    /// (`NetRef::stream`): chunks start at 10 items and double up to this, as Python's
    /// `rpyc.buffiter(obj, chunk=10, max_chunk=1000, factor=2)` does. Larger chunks mean
    /// fewer round trips and more memory per chunk on both sides; whatever this says, a chunk
    /// is at most 2^20 items (what an rpyc-rs peer answers to one request) and its items stay
    /// within a sixteenth of [`FrameLimits::max_frame_size`]. Default 1000.
    pub stream_max_chunk: usize,
    /// rpyc-rs: TCP keepalive on every TCP socket, connected or accepted (TLS included), so a
    /// peer that vanished without FIN or RST (power loss, a dropped NAT entry) is detected by
    /// the kernel and its connection closes. Probes only go out when the connection has been
    /// silent for [`Keepalive::idle`]; a live peer answers them, so idle live connections are
    /// never cut. Python's analogue is RPyC's `keepalive=True`. `None` turns it off. Default
    /// on: idle 60 s, interval 10 s, 6 probes (a dead peer is noticed after about 2 minutes).
    pub keepalive: Option<Keepalive>,
    /// rpyc-rs: when the peer has sent nothing for this long, send it a ping; see
    /// [`Config::ping_timeout`]. Detects a half-open connection (the peer's process frozen, a
    /// proxy that stopped forwarding) that TCP keepalive cannot see. Pings are not activity
    /// for [`Config::idle_timeout`]. A Python peer reads its socket only while it makes a call
    /// or serves (`serve_all`, a `BgServingThread`): an idle Python *client* without a serving
    /// thread does not answer, and is cut — set this on a server only if its Python clients
    /// serve in the background. Default `None`: no pings, and no timer.
    pub ping_interval: Option<Duration>,
    /// rpyc-rs: with [`Config::ping_interval`] set, a ping that gets no byte back from the
    /// peer within this long closes the connection (reason: "no reply to a ping …"), failing
    /// its pending calls and freeing both object tables. A Python peer answers a ping only
    /// between its calls, so this must exceed the longest call a Python peer runs; an rpyc-rs
    /// peer answers while its handlers run. Default 30 s.
    pub ping_timeout: Duration,
}

/// TCP keepalive settings ([`Config::keepalive`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Silence after which the first probe goes out (`TCP_KEEPIDLE`). Default 60 s.
    pub idle: Duration,
    /// Time between unanswered probes (`TCP_KEEPINTVL`, where the system has it). Default 10 s.
    pub interval: Duration,
    /// Unanswered probes after which the kernel drops the connection (`TCP_KEEPCNT`, where
    /// the system has it). Default 6.
    pub retries: u32,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive {
            idle: Duration::from_secs(60),
            interval: Duration::from_secs(10),
            retries: 6,
        }
    }
}

/// [`SAFE_ATTRS`] as a set, built once and shared by every default configuration.
fn default_safe_attrs() -> Arc<BTreeSet<String>> {
    static SET: OnceLock<Arc<BTreeSet<String>>> = OnceLock::new();
    SET.get_or_init(|| Arc::new(SAFE_ATTRS.iter().map(|s| s.to_string()).collect()))
        .clone()
}

impl Default for Config {
    fn default() -> Self {
        Config {
            allow_safe_attrs: true,
            allow_exposed_attrs: true,
            allow_public_attrs: false,
            allow_all_attrs: false,
            safe_attrs: default_safe_attrs(),
            exposed_prefix: "exposed_".to_string(),
            allow_getattr: true,
            allow_setattr: false,
            allow_delattr: false,
            allow_pickle: false,
            include_local_traceback: true,
            include_local_version: true,
            instantiate_custom_exceptions: false,
            import_custom_exceptions: false,
            instantiate_oldstyle_exceptions: false,
            propagate_system_exit_locally: false,
            propagate_keyboard_interrupt_locally: true,
            log_exceptions: true,
            connid: None,
            credentials: None,
            endpoints: None,
            sync_request_timeout: Some(Duration::from_secs(30)),
            close_catchall: false,
            bind_threads: false,
            compress: true,
            compress_local: false,
            frame_limits: FrameLimits::default(),
            decode_limits: Limits::default(),
            max_decoding_bytes: 512 << 20,
            max_exported_objects: 1_000_000,
            max_exported_objects_total: 4_000_000,
            max_concurrent_requests: 10_000,
            max_sync_calls: 8,
            max_queued_output: 32 << 20,
            max_queued_output_total: 1 << 30,
            write_timeout: Some(Duration::from_secs(60)),
            frame_progress_timeout: Some(Duration::from_secs(10)),
            frame_progress_bytes: 4096,
            idle_timeout: None,
            eof_grace: Duration::from_secs(5),
            stream_max_chunk: 1000,
            keepalive: Some(Keepalive::default()),
            ping_interval: None,
            ping_timeout: Duration::from_secs(30),
        }
    }
}

impl Config {
    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            cfg: Config::default(),
        }
    }
}

/// Builder of [`Config`]; every method sets the key of the same name.
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    cfg: Config,
}

macro_rules! setters {
    ($($name:ident : $ty:ty),* $(,)?) => {
        $(
            #[doc = concat!("Sets [`Config::", stringify!($name), "`].")]
            pub fn $name(mut self, v: $ty) -> Self {
                self.cfg.$name = v;
                self
            }
        )*
    };
}

impl ConfigBuilder {
    setters! {
        allow_safe_attrs: bool,
        allow_exposed_attrs: bool,
        allow_public_attrs: bool,
        allow_all_attrs: bool,
        allow_getattr: bool,
        allow_setattr: bool,
        allow_delattr: bool,
        allow_pickle: bool,
        include_local_traceback: bool,
        include_local_version: bool,
        log_exceptions: bool,
        sync_request_timeout: Option<Duration>,
        close_catchall: bool,
        compress: bool,
        compress_local: bool,
        frame_limits: FrameLimits,
        decode_limits: Limits,
        max_decoding_bytes: usize,
        max_exported_objects: usize,
        max_exported_objects_total: usize,
        max_concurrent_requests: usize,
        max_sync_calls: usize,
        max_queued_output: usize,
        max_queued_output_total: usize,
        write_timeout: Option<Duration>,
        frame_progress_timeout: Option<Duration>,
        frame_progress_bytes: usize,
        idle_timeout: Option<Duration>,
        eof_grace: Duration,
        stream_max_chunk: usize,
        keepalive: Option<Keepalive>,
        ping_interval: Option<Duration>,
        ping_timeout: Duration,
        connid: Option<String>,
        credentials: Option<crate::credentials::Credentials>,
        endpoints: Option<(String, String)>,
    }

    /// Sets [`Config::exposed_prefix`].
    pub fn exposed_prefix(mut self, p: impl Into<String>) -> Self {
        self.cfg.exposed_prefix = p.into();
        self
    }

    /// Sets [`Config::safe_attrs`].
    pub fn safe_attrs<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.cfg.safe_attrs = Arc::new(names.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the maximum frame size (wire and decompressed) in bytes.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.cfg.frame_limits.max_frame_size = bytes;
        self.cfg.frame_limits.max_decompressed_size = bytes;
        self
    }

    /// Finishes the configuration.
    pub fn build(self) -> Config {
        self.cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_rpyc6() {
        let c = Config::default();
        assert!(c.allow_safe_attrs && c.allow_exposed_attrs && c.allow_getattr);
        assert!(
            !c.allow_public_attrs
                && !c.allow_all_attrs
                && !c.allow_setattr
                && !c.allow_delattr
                && !c.allow_pickle
        );
        assert!(
            c.include_local_traceback
                && c.include_local_version
                && c.propagate_keyboard_interrupt_locally
        );
        assert_eq!(c.sync_request_timeout, Some(Duration::from_secs(30)));
        assert_eq!(c.max_sync_calls, 8);
        // rpyc-rs's liveness: keepalive on (idle 60 s, 10 s × 6 probes), no pings.
        let k = c.keepalive.expect("keepalive is on by default");
        assert_eq!(
            (k.idle, k.interval, k.retries),
            (Duration::from_secs(60), Duration::from_secs(10), 6)
        );
        assert_eq!(c.ping_interval, None);
        assert_eq!(c.idle_timeout, None);
        assert_eq!(c.safe_attrs.len(), 80);
        assert!(
            c.safe_attrs.contains("__len__")
                && !c.safe_attrs.contains("__call__")
                && !c.safe_attrs.contains("__class__")
        );
    }
}
