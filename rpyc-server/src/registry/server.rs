//! [`RegistryServer`]: answers RPyC registry requests over UDP or TCP from a
//! [`RegistryStore`].
//!
//! A registry is a public service, so what one sender can make it do is bounded:
//! * every answer is one datagram of at most [`MAX_ANSWER`] bytes (the most recently
//!   refreshed entries first), over TCP too, since Python's clients read one datagram's worth;
//! * over UDP, where a source address can be forged, the answers to lookups (`QUERY`, `LIST`)
//!   one source gets are capped at [`ANSWER_BYTES_PER_SECOND`] (bursts of twice that), so the
//!   registry cannot be used to reflect much traffic at someone else. A budget of bytes, not of
//!   answers: many clients behind one NAT address that connect by name (one small answer
//!   each, a few dozen bytes) are not throttled before a flood of full answers is;
//! * TCP clients are served concurrently (at most [`MAX_TCP_CLIENTS`] at once), each with a
//!   3 s deadline, so a silent client delays nobody;
//! * the store prunes expired entries on a timer, not only when a name is queried.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rpyc_core::{brine, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

use super::store::{Limits, MemoryStore, RegistryStore, Request};
use super::{DEFAULT_PRUNING_TIMEOUT, MAX_DGRAM_SIZE};
use crate::shutdown::ShutdownHandle;

/// The largest answer: one UDP datagram that fits a 1,500-byte Ethernet frame.
pub const MAX_ANSWER: usize = 1472;
/// Bytes of lookup answers per second one UDP source address may get (bursts of twice that):
/// about 180 full answers a second, or thousands of the usual few-instance ones.
pub const ANSWER_BYTES_PER_SECOND: u32 = 256 * 1024;
/// TCP clients served at once.
pub const MAX_TCP_CLIENTS: usize = 256;
/// How long a TCP client has to send its request and take the answer.
const TCP_DEADLINE: Duration = Duration::from_secs(3);

enum Socket {
    Udp(UdpSocket),
    Tcp(TcpListener),
}

/// A registry server over UDP or TCP.
pub struct RegistryServer {
    socket: Socket,
    store: Option<Arc<dyn RegistryStore>>,
    pruning: Duration,
    limits: Limits,
    allow_listing: bool,
    shutdown: CancellationToken,
}

impl RegistryServer {
    /// Binds a UDP registry (what Python's `UDPRegistryServer` is).
    pub async fn bind_udp(addr: impl tokio::net::ToSocketAddrs) -> io::Result<RegistryServer> {
        Ok(Self::new(Socket::Udp(UdpSocket::bind(addr).await?)))
    }

    /// Binds a TCP registry (what Python's `TCPRegistryServer` is).
    pub async fn bind_tcp(addr: impl tokio::net::ToSocketAddrs) -> io::Result<RegistryServer> {
        Ok(Self::new(Socket::Tcp(TcpListener::bind(addr).await?)))
    }

    fn new(socket: Socket) -> RegistryServer {
        RegistryServer {
            socket,
            store: None,
            pruning: DEFAULT_PRUNING_TIMEOUT,
            limits: Limits::default(),
            allow_listing: false,
            shutdown: CancellationToken::new(),
        }
    }

    /// Answers LIST requests (off by default, as in Python).
    pub fn allow_listing(mut self, yes: bool) -> Self {
        self.allow_listing = yes;
        self
    }

    /// How long a registration lives without being refreshed (default 240 s). With an external
    /// store ([`RegistryServer::store`]) it is the store's business (etcd: the lease's TTL).
    pub fn pruning_timeout(mut self, d: Duration) -> Self {
        self.pruning = d;
        self
    }

    /// Bounds on registrations in the in-process store (see [`Limits`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Keeps registrations in `store` instead of this process (e.g. etcd, so that several
    /// registry processes answer alike).
    pub fn store(mut self, store: Arc<dyn RegistryStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        let a = match &self.socket {
            Socket::Udp(s) => s.local_addr(),
            Socket::Tcp(l) => l.local_addr(),
        };
        a.unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// A handle that stops [`RegistryServer::serve`].
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle::from_token(self.shutdown.clone())
    }

    /// Answers requests until shut down. Undecodable or unknown requests get no answer.
    pub async fn serve(self) -> io::Result<()> {
        let store = self
            .store
            .clone()
            .unwrap_or_else(|| Arc::new(MemoryStore::new(self.pruning, self.limits)));
        let answerer = Arc::new(Answerer {
            store: store.clone(),
            allow_listing: self.allow_listing,
        });
        let pruner = {
            let (store, stop) = (store, self.shutdown.clone());
            let every =
                (self.pruning / 8).clamp(Duration::from_millis(100), Duration::from_secs(30));
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => store.prune(),
                        _ = stop.cancelled() => return,
                    }
                }
            })
        };
        let result = match &self.socket {
            Socket::Udp(sock) => serve_udp(sock, &answerer, &self.shutdown).await,
            Socket::Tcp(listener) => serve_tcp(listener, &answerer, &self.shutdown).await,
        };
        pruner.abort();
        result
    }
}

/// Turns request bytes into answer bytes.
struct Answerer {
    store: Arc<dyn RegistryStore>,
    allow_listing: bool,
}

impl Answerer {
    /// The answer to the request in `data`, if it deserves one.
    async fn answer(&self, data: &[u8], peer: SocketAddr) -> Option<Vec<u8>> {
        self.respond(Request::parse(brine::load(data).ok()?)?, peer)
            .await
    }

    async fn respond(&self, request: Request, peer: SocketAddr) -> Option<Vec<u8>> {
        let host = peer.ip().to_string();
        let reply = match request {
            Request::Register { names, port } => {
                match self.store.register(&host, &names, port).await {
                    Ok(()) => Value::str("OK"),
                    Err(why) => {
                        tracing::warn!(peer = %peer, reason = %rpyc_core::Printable(&why), "registration refused");
                        Value::str("FAIL")
                    }
                }
            }
            Request::Unregister { port } => {
                if let Err(e) = self.store.unregister(&host, port).await {
                    tracing::warn!(peer = %peer, error = %e, "unregister failed");
                }
                Value::str("OK")
            }
            Request::Query { name } => match self.store.query(&name).await {
                Ok(found) => capped(
                    found
                        .into_iter()
                        .map(|(h, p)| Value::Tuple(vec![Value::str(h), Value::Int(p as i64)])),
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "registry store failed");
                    return None;
                }
            },
            Request::List { host } => {
                if !self.allow_listing {
                    Value::None
                } else {
                    match self.store.list(host.as_deref()).await {
                        Ok(names) => capped(names.into_iter().map(Value::str)),
                        Err(e) => {
                            tracing::warn!(error = %e, "registry store failed");
                            return None;
                        }
                    }
                }
            }
        };
        brine::dump(&reply).ok()
    }
}

/// A tuple of the first items that fit in [`MAX_ANSWER`] bytes once encoded.
fn capped(items: impl Iterator<Item = Value>) -> Value {
    // A brine tuple costs at most 5 header bytes; add items while they fit.
    let mut out = Vec::new();
    let mut size = 5;
    for item in items {
        let len = brine::dump(&item).map(|b| b.len()).unwrap_or(usize::MAX);
        if size + len > MAX_ANSWER {
            break;
        }
        size += len;
        out.push(item);
    }
    Value::Tuple(out)
}

async fn serve_udp(
    sock: &UdpSocket,
    answerer: &Answerer,
    shutdown: &CancellationToken,
) -> io::Result<()> {
    let mut buf = vec![0u8; MAX_DGRAM_SIZE];
    let mut limiter = RateLimiter::default();
    loop {
        let (n, peer) = tokio::select! {
            r = sock.recv_from(&mut buf) => match r { Ok(x) => x, Err(_) => continue },
            _ = shutdown.cancelled() => return Ok(()),
        };
        let Some(request) = brine::load(&buf[..n]).ok().and_then(Request::parse) else {
            continue;
        };
        // Only lookups can answer with more than they were sent: they are what a forged
        // source address could reflect, so they are what is rate-limited.
        let lookup = matches!(request, Request::Query { .. } | Request::List { .. });
        let Some(answer) = answerer.respond(request, peer).await else {
            continue;
        };
        if lookup && !limiter.allow(peer.ip(), Instant::now(), answer.len()) {
            tracing::debug!(peer = %peer, "registry: answer rate limit reached; request dropped");
            continue;
        }
        let _ = sock.send_to(&answer, peer).await;
    }
}

async fn serve_tcp(
    listener: &TcpListener,
    answerer: &Arc<Answerer>,
    shutdown: &CancellationToken,
) -> io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_TCP_CLIENTS));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.map_err(io::Error::other)?,
            _ = shutdown.cancelled() => return Ok(()),
        };
        let (mut stream, peer) = tokio::select! {
            r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
            _ = shutdown.cancelled() => return Ok(()),
        };
        let answerer = answerer.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let exchange = async {
                let mut buf = vec![0u8; MAX_DGRAM_SIZE];
                let n = stream.read(&mut buf).await.ok()?;
                let answer = answerer.answer(&buf[..n], peer).await?;
                stream.write_all(&answer).await.ok()
            };
            let _ = tokio::time::timeout(TCP_DEADLINE, exchange).await;
        });
    }
}

/// Per-source token buckets of bytes: [`ANSWER_BYTES_PER_SECOND`], bursts of twice that. Bounded: when it
/// tracks too many sources, those whose bucket is full again are forgotten.
#[derive(Default)]
struct RateLimiter {
    buckets: HashMap<IpAddr, (f64, Instant)>,
}

impl RateLimiter {
    const MAX_SOURCES: usize = 65_536;

    fn allow(&mut self, source: IpAddr, now: Instant, bytes: usize) -> bool {
        let rate = ANSWER_BYTES_PER_SECOND as f64;
        let burst = 2.0 * rate;
        if self.buckets.len() >= Self::MAX_SOURCES {
            self.buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
            if self.buckets.len() >= Self::MAX_SOURCES {
                return false;
            }
        }
        let (tokens, at) = self.buckets.entry(source).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= bytes as f64 {
            *tokens -= bytes as f64;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_fit_one_datagram_whatever_is_registered() {
        let many = (0..1000).map(|i| {
            Value::Tuple(vec![
                Value::str(format!("10.0.{}.{}", i / 250, i % 250)),
                Value::Int(10_000 + i),
            ])
        });
        let v = capped(many);
        let bytes = brine::dump(&v).unwrap();
        assert!(bytes.len() <= MAX_ANSWER, "{} bytes", bytes.len());
        let Value::Tuple(kept) = v else { panic!() };
        assert!(kept.len() > 40, "as many as fit: {}", kept.len());
        // The first ones (most recently refreshed) are the ones kept.
        assert_eq!(kept[0].repr(), "('10.0.0.0', 10000)");
    }

    #[test]
    fn each_source_gets_a_bounded_answer_rate() {
        let mut l = RateLimiter::default();
        let t0 = Instant::now();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let full = MAX_ANSWER;
        let rate = ANSWER_BYTES_PER_SECOND as usize;
        let burst = (0..10_000).filter(|_| l.allow(a, t0, full)).count();
        assert_eq!(burst, 2 * rate / full);
        assert!(
            !l.allow(a, t0, full),
            "a full answer is refused once the burst is spent"
        );
        assert!(l.allow(b, t0, full), "another source is not affected");
        // A second later the bucket has refilled by the rate.
        let t1 = t0 + Duration::from_secs(1);
        let refilled = (0..10_000).filter(|_| l.allow(a, t1, 64)).count();
        assert!(
            (rate / 64..=(rate + full) / 64).contains(&refilled),
            "{refilled}"
        );
    }
}
