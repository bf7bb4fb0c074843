//! The RPyC registry: service discovery, wire-compatible with `rpyc.utils.registry`.
//!
//! Servers register their service names and port with a registry; clients ask it where a
//! service runs. Each request is one bare brine value `("RPYC", COMMAND, args)` — one UDP
//! datagram, or one short TCP connection — and the answer is one brine value:
//!
//! | command | args | answer |
//! |---|---|---|
//! | `REGISTER` | `(aliases, port)` | `"OK"` (the sender's IP is recorded) |
//! | `UNREGISTER` | `(port,)` | `"OK"` |
//! | `QUERY` | `(name,)` | `((ip, port), …)`, oldest first; entries older than the pruning timeout are dropped |
//! | `LIST` | `((filter_host,),)` | service names, or `None` when listing is disabled |
//!
//! Python's `UDPRegistryClient`/`TCPRegistryClient` work against [`RegistryServer`], and
//! [`RegistryClient`] works against Python's `rpyc_registry.py`. The loop that keeps a
//! [`Server`](crate::Server) registered while it serves (`Server::register_with`) lives here
//! too, beside the client it drives.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use rpyc::server::registry::{RegistryClient, RegistryServer};
//! let server = RegistryServer::bind_tcp("127.0.0.1:0").await.unwrap().allow_listing(true);
//! let addr = server.local_addr();
//! let stop = server.shutdown_handle();
//! let task = tokio::spawn(server.serve());
//!
//! let client = RegistryClient::tcp(addr);
//! assert!(client.register(&["calc", "CALCULATOR"], 18861).await.unwrap());
//! assert_eq!(client.discover("Calc").await.unwrap(), vec![("127.0.0.1".to_string(), 18861)]);
//! assert_eq!(client.list(None).await.unwrap().unwrap().len(), 2);
//! client.unregister(18861).await.unwrap();
//! assert!(client.discover("calc").await.unwrap().is_empty());
//! stop.shutdown();
//! task.await.unwrap().unwrap();
//! # });
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rpyc_core::{brine, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio_util::sync::CancellationToken;

use crate::shutdown::ShutdownHandle;

/// The registry's default port (UDP and TCP).
pub const REGISTRY_PORT: u16 = 18811;
/// Largest request or answer (Python's `MAX_DGRAM_SIZE`).
pub const MAX_DGRAM_SIZE: usize = 1500;
/// Registrations older than this are dropped (Python's default, 4 minutes).
pub const DEFAULT_PRUNING_TIMEOUT: Duration = Duration::from_secs(240);
/// How often a server re-registers.
pub const REREGISTER_INTERVAL: Duration = Duration::from_secs(60);

/// The servers of one service: `(ip, port)` and when it last registered.
type Servers = Vec<((String, i64), Instant)>;

/// The registry's table: service name → its servers, in registration order.
#[derive(Debug, Default)]
struct Table {
    services: Vec<(String, Servers)>,
}

impl Table {
    fn handle(
        &mut self,
        host: &str,
        request: Value,
        pruning: Duration,
        allow_listing: bool,
    ) -> Option<Value> {
        let Value::Tuple(t) = request else {
            return None;
        };
        let [magic, cmd, args]: [Value; 3] = t.try_into().ok()?;
        if magic.as_str() != Some("RPYC") {
            return None;
        }
        let Value::Tuple(args) = args else {
            return None;
        };
        match (cmd.as_str()?.to_ascii_lowercase().as_str(), args.as_slice()) {
            ("register", [Value::Tuple(names), Value::Int(port)]) => {
                for name in names {
                    if let Value::Str(n) = name {
                        self.add(n.to_uppercase(), (host.to_string(), *port));
                    }
                }
                Some(Value::str("OK"))
            }
            ("unregister", [Value::Int(port)]) => {
                for (_, servers) in &mut self.services {
                    servers.retain(|((h, p), _)| !(h == host && p == port));
                }
                self.services.retain(|(_, s)| !s.is_empty());
                Some(Value::str("OK"))
            }
            ("query", [Value::Str(name)]) => {
                let name = name.to_uppercase();
                let now = Instant::now();
                let Some((_, servers)) = self.services.iter_mut().find(|(n, _)| *n == name) else {
                    return Some(Value::Tuple(Vec::new()));
                };
                servers.retain(|(_, t)| now.duration_since(*t) <= pruning);
                servers.sort_by_key(|(_, t)| *t);
                let found = servers
                    .iter()
                    .map(|((h, p), _)| Value::Tuple(vec![Value::str(h.clone()), Value::Int(*p)]))
                    .collect();
                self.services.retain(|(_, s)| !s.is_empty());
                Some(Value::Tuple(found))
            }
            ("list", [Value::Tuple(filter)]) => {
                if !allow_listing {
                    return Some(Value::None);
                }
                let host_filter = filter
                    .first()
                    .and_then(Value::as_str)
                    .filter(|h| !h.is_empty());
                let names = self
                    .services
                    .iter()
                    .filter(|(_, servers)| {
                        host_filter.is_none_or(|h| servers.iter().any(|((sh, _), _)| sh == h))
                    })
                    .map(|(n, _)| Value::str(n.clone()))
                    .collect();
                Some(Value::Tuple(names))
            }
            _ => None,
        }
    }

    fn add(&mut self, name: String, addr: (String, i64)) {
        let now = Instant::now();
        let idx = match self.services.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                self.services.push((name, Vec::new()));
                self.services.len() - 1
            }
        };
        let servers = &mut self.services[idx].1;
        match servers.iter_mut().find(|(a, _)| *a == addr) {
            Some(entry) => entry.1 = now,
            None => servers.push((addr, now)),
        }
    }
}

enum Socket {
    Udp(UdpSocket),
    Tcp(TcpListener),
}

/// A registry server over UDP or TCP.
pub struct RegistryServer {
    socket: Socket,
    table: Arc<Mutex<Table>>,
    pruning: Duration,
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
            table: Arc::default(),
            pruning: DEFAULT_PRUNING_TIMEOUT,
            allow_listing: false,
            shutdown: CancellationToken::new(),
        }
    }

    /// Answers LIST requests (off by default, as in Python).
    pub fn allow_listing(mut self, yes: bool) -> Self {
        self.allow_listing = yes;
        self
    }

    /// How long a registration lives without being refreshed (default 240 s).
    pub fn pruning_timeout(mut self, d: Duration) -> Self {
        self.pruning = d;
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
        let mut buf = vec![0u8; MAX_DGRAM_SIZE];
        loop {
            match &self.socket {
                Socket::Udp(sock) => {
                    let (n, peer) = tokio::select! {
                        r = sock.recv_from(&mut buf) => match r { Ok(x) => x, Err(_) => continue },
                        _ = self.shutdown.cancelled() => return Ok(()),
                    };
                    if let Some(answer) = self.answer(&buf[..n], peer) {
                        let _ = sock.send_to(&answer, peer).await;
                    }
                }
                Socket::Tcp(listener) => {
                    let (mut stream, peer) = tokio::select! {
                        r = listener.accept() => match r { Ok(x) => x, Err(_) => continue },
                        _ = self.shutdown.cancelled() => return Ok(()),
                    };
                    // One request per connection, read with a deadline so a silent client
                    // cannot hold the registry.
                    let read =
                        tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf)).await;
                    if let Ok(Ok(n)) = read {
                        if let Some(answer) = self.answer(&buf[..n], peer) {
                            let _ = tokio::time::timeout(
                                Duration::from_secs(3),
                                stream.write_all(&answer),
                            )
                            .await;
                        }
                    }
                }
            }
        }
    }

    fn answer(&self, data: &[u8], peer: SocketAddr) -> Option<Vec<u8>> {
        let request = brine::load(data).ok()?;
        let host = peer.ip().to_string();
        let reply = self
            .table
            .lock()
            .handle(&host, request, self.pruning, self.allow_listing)?;
        brine::dump(&reply).ok()
    }
}

#[derive(Debug, Clone, Copy)]
enum Transport {
    Udp,
    Tcp,
}

/// A registry client (registrar): registers servers and discovers services.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    addr: SocketAddr,
    transport: Transport,
    timeout: Duration,
}

impl RegistryClient {
    /// A client of a UDP registry at `addr` (a unicast address; 2 s timeout).
    pub fn udp(addr: SocketAddr) -> Self {
        RegistryClient {
            addr,
            transport: Transport::Udp,
            timeout: Duration::from_secs(2),
        }
    }

    /// A client of a TCP registry at `addr` (2 s timeout).
    pub fn tcp(addr: SocketAddr) -> Self {
        RegistryClient {
            addr,
            transport: Transport::Tcp,
            timeout: Duration::from_secs(2),
        }
    }

    /// Sets the timeout of each request.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    async fn request(&self, cmd: &str, args: Value) -> io::Result<Value> {
        let msg = Value::Tuple(vec![Value::str("RPYC"), Value::str(cmd), args]);
        let data = brine::dump(&msg).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let exchange = async {
            let mut buf = vec![0u8; MAX_DGRAM_SIZE * 10];
            let n = match self.transport {
                Transport::Udp => {
                    let bind: SocketAddr = if self.addr.is_ipv4() {
                        ([0, 0, 0, 0], 0).into()
                    } else {
                        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                    };
                    let sock = UdpSocket::bind(bind).await?;
                    sock.send_to(&data, self.addr).await?;
                    loop {
                        let (n, from) = sock.recv_from(&mut buf).await?;
                        if from.port() == self.addr.port() {
                            break n;
                        }
                    }
                }
                Transport::Tcp => {
                    let mut s = TcpStream::connect(self.addr).await?;
                    s.write_all(&data).await?;
                    s.read(&mut buf).await?
                }
            };
            brine::load(&buf[..n]).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "registry did not answer"))?
    }

    /// Registers `aliases` (upper-cased by the registry) at `port` of this host; `true` when the
    /// registry acknowledged.
    pub async fn register(&self, aliases: &[&str], port: u16) -> io::Result<bool> {
        let names = Value::Tuple(aliases.iter().map(|a| Value::str(*a)).collect());
        let reply = self
            .request(
                "REGISTER",
                Value::Tuple(vec![names, Value::Int(port as i64)]),
            )
            .await?;
        Ok(reply.as_str() == Some("OK"))
    }

    /// Removes this host's registrations at `port`.
    pub async fn unregister(&self, port: u16) -> io::Result<()> {
        self.request("UNREGISTER", Value::Tuple(vec![Value::Int(port as i64)]))
            .await
            .map(drop)
    }

    /// The servers `(ip, port)` of a service (case-insensitive), oldest registration first.
    pub async fn discover(&self, name: &str) -> io::Result<Vec<(String, u16)>> {
        let reply = self
            .request("QUERY", Value::Tuple(vec![Value::str(name)]))
            .await?;
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed QUERY answer");
        let Value::Tuple(items) = reply else {
            return Err(bad());
        };
        items
            .into_iter()
            .map(|i| {
                let (h, p): (String, i64) =
                    rpyc_core::FromValue::from_value(i).map_err(|_| bad())?;
                Ok((h, u16::try_from(p).map_err(|_| bad())?))
            })
            .collect()
    }

    /// The registered service names (optionally only those on `host`); `None` when the registry
    /// does not allow listing.
    pub async fn list(&self, host: Option<&str>) -> io::Result<Option<Vec<String>>> {
        let filter = Value::Tuple(vec![Value::Tuple(vec![host
            .map(Value::str)
            .unwrap_or(Value::None)])]);
        match self.request("LIST", filter).await? {
            Value::None => Ok(None),
            v => rpyc_core::FromValue::from_value(v)
                .map(Some)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "malformed LIST answer")),
        }
    }
}

/// RPyC's registration loop: register now, then every 60 s (every second after a failure);
/// unregister when the server stops.
pub(crate) async fn keep_registered(
    reg: RegistryClient,
    aliases: Vec<String>,
    port: u16,
    stop: CancellationToken,
) {
    let names: Vec<&str> = aliases.iter().map(String::as_str).collect();
    loop {
        let pause = match reg.register(&names, port).await {
            Ok(true) => REREGISTER_INTERVAL,
            Ok(false) | Err(_) => {
                tracing::warn!(port, "registry did not acknowledge the registration");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.cancelled() => break,
        }
    }
    let _ = reg.unregister(port).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(cmd: &str, args: Value) -> Value {
        Value::Tuple(vec![Value::str("RPYC"), Value::str(cmd), args])
    }

    #[test]
    fn table_semantics() {
        let mut t = Table::default();
        let p = DEFAULT_PRUNING_TIMEOUT;
        let reg = req(
            "REGISTER",
            Value::Tuple(vec![
                Value::Tuple(vec![Value::str("foo"), Value::str("BAR")]),
                Value::Int(18861),
            ]),
        );
        assert_eq!(t.handle("10.0.0.1", reg, p, false), Some(Value::str("OK")));
        let q = |name: &str| req("QUERY", Value::Tuple(vec![Value::str(name)]));
        assert_eq!(
            t.handle("x", q("Foo"), p, false).unwrap().repr(),
            "(('10.0.0.1', 18861),)"
        );
        assert_eq!(
            t.handle("x", q("nothing"), p, false),
            Some(Value::Tuple(vec![]))
        );
        let list = req("LIST", Value::Tuple(vec![Value::Tuple(vec![Value::None])]));
        assert_eq!(
            t.handle("x", list.clone(), p, false),
            Some(Value::None),
            "listing disabled"
        );
        assert_eq!(
            t.handle("x", list, p, true).unwrap().repr(),
            "('FOO', 'BAR')"
        );
        let unreg = req("UNREGISTER", Value::Tuple(vec![Value::Int(18861)]));
        assert_eq!(
            t.handle("10.0.0.1", unreg, p, false),
            Some(Value::str("OK"))
        );
        assert_eq!(
            t.handle("x", q("foo"), p, false),
            Some(Value::Tuple(vec![]))
        );
        assert_eq!(
            t.handle("x", Value::Int(3), p, false),
            None,
            "garbage gets no answer"
        );
        assert_eq!(
            t.handle(
                "x",
                Value::Tuple(vec![
                    Value::str("XXXX"),
                    Value::str("QUERY"),
                    Value::Tuple(vec![])
                ]),
                p,
                false
            ),
            None
        );
        // Pruning.
        let reg = req(
            "REGISTER",
            Value::Tuple(vec![Value::Tuple(vec![Value::str("old")]), Value::Int(1)]),
        );
        t.handle("h", reg, p, false);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            t.handle("x", q("old"), Duration::from_millis(1), false),
            Some(Value::Tuple(vec![]))
        );
    }
}
