//! [`RegistryClient`]: registers servers with an RPyC registry and asks it where services run
//! (Python's `UDPRegistryClient` / `TCPRegistryClient`).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use rpyc_core::{brine, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::MAX_DGRAM_SIZE;

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

    /// The registry as a URL: `udp://host:port` or `tcp://host:port`.
    pub fn url(&self) -> String {
        let scheme = match self.transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        };
        format!("{scheme}://{}", self.addr)
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

    /// The servers `(ip, port)` of a service (case-insensitive), most recently refreshed first
    /// (as our registry answers). An entry that is not a `(host, port)` with a port in 1–65535
    /// is skipped and logged: one bad registration does not hide the others.
    pub async fn discover(&self, name: &str) -> io::Result<Vec<(String, u16)>> {
        let reply = self
            .request("QUERY", Value::Tuple(vec![Value::str(name)]))
            .await?;
        let Value::Tuple(items) = reply else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "malformed QUERY answer",
            ));
        };
        Ok(items
            .into_iter()
            .filter_map(|item| {
                let parsed = <(String, i64) as rpyc_core::FromValue>::from_value(item.clone())
                    .ok()
                    .and_then(|(h, p)| Some((h, u16::try_from(p).ok().filter(|p| *p != 0)?)));
                if parsed.is_none() {
                    tracing::warn!(entry = %rpyc_core::Printable(item.repr()), service = name, "registry: skipping an unusable entry");
                }
                parsed
            })
            .collect())
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
