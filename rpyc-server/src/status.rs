//! The live view of a server: [`Monitor`] (its open connections, without keeping them open),
//! the gauges it publishes, the plain-text status page, and the small HTTP/1.1 endpoint
//! ([`serve_http`]) that serves `/metrics` (Prometheus), `/status` (the page) and
//! `/status.json` (the [`StatusDocument`]) beside the RPyC port — what `rpyc-server --metrics
//! ADDR` runs and `rpyc-server --status ADDR` reads.
//!
//! The endpoint answers `GET` only, one request per connection, with a 5 s deadline and an
//! 8 KiB cap on the request head: a port for operators' tools, not a web server.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use rpyc::server::{services::CalculatorService, Server};
//! let server = Server::bind("127.0.0.1:0").await.unwrap();
//! let (addr, monitor) = (server.local_addr().unwrap(), server.monitor());
//! tokio::spawn(server.serve(CalculatorService::new));
//! let conn = rpyc::connect(addr).await.unwrap();
//! let _root = conn.root().await.unwrap();
//! let open = monitor.connections();
//! assert_eq!(open.len(), 1);
//! assert!(monitor.status_text(None).contains("1 open connection"));
//! # });
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rpyc_netref::observe::{ConnectionStats, StatsHandle};
use rpyc_netref::Connection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::metrics::PrometheusRecorder;

mod document;

pub use document::{ConnectionRow, MethodRow, StatusDocument, Totals, MAX_CONNECTION_ROWS};

/// The open connections of a server and its accept counts. Cheap to clone; holds no
/// connection open.
#[derive(Clone, Default, Debug)]
pub struct Monitor(Arc<MonitorInner>);

#[derive(Default, Debug)]
struct MonitorInner {
    open: Mutex<BTreeMap<u64, Tracked>>,
    accepted: AtomicU64,
    refused: AtomicU64,
    started: Mutex<Option<Instant>>,
}

#[derive(Debug)]
struct Tracked {
    stats: StatsHandle,
    since: Instant,
}

/// One open connection as the status page shows it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OpenConnection {
    /// Its state now.
    pub stats: ConnectionStats,
    /// How long it has been open.
    pub age: Duration,
}

/// Removes a connection from its [`Monitor`] when dropped.
pub(crate) struct TrackGuard(Monitor, u64);

impl Drop for TrackGuard {
    fn drop(&mut self) {
        self.0 .0.open.lock().remove(&self.1);
    }
}

impl Monitor {
    /// Starts tracking `conn` until the guard drops.
    pub(crate) fn track(&self, conn: &Connection) -> TrackGuard {
        let tracked = Tracked {
            stats: conn.stats_handle(),
            since: Instant::now(),
        };
        self.0.open.lock().insert(conn.id(), tracked);
        TrackGuard(self.clone(), conn.id())
    }

    /// Counts an accepted connection (and notes the server's start, the first time).
    pub(crate) fn accepted(&self) {
        self.0.started.lock().get_or_insert_with(Instant::now);
        self.0.accepted.fetch_add(1, Ordering::Relaxed);
        if rpyc_netref::observe::metrics_enabled() {
            metrics::counter!("rpyc_connections_accepted_total").increment(1);
        }
    }

    /// Counts a connection refused (`reason`: `per_peer`, `tls`, `auth`).
    pub(crate) fn refused(&self, reason: &'static str) {
        self.0.refused.fetch_add(1, Ordering::Relaxed);
        if rpyc_netref::observe::metrics_enabled() {
            metrics::counter!("rpyc_connections_refused_total", "reason" => reason).increment(1);
        }
    }

    /// The open connections now, oldest first.
    pub fn connections(&self) -> Vec<OpenConnection> {
        let open = self.0.open.lock();
        let mut v: Vec<OpenConnection> = open
            .values()
            .filter_map(|t| {
                Some(OpenConnection {
                    stats: t.stats.snapshot()?,
                    age: t.since.elapsed(),
                })
            })
            .collect();
        v.sort_by_key(|c| std::cmp::Reverse(c.age));
        v
    }

    /// Sets the gauges (`rpyc_connections_open`, `rpyc_objects_exported`, `rpyc_proxies_held`,
    /// `rpyc_requests_in_flight`, `rpyc_output_queued_bytes`) from the open connections, through
    /// the installed [`metrics`] recorder. Call it before each scrape (the endpoint does).
    pub fn publish_gauges(&self) {
        let open = self.connections();
        let sum = |f: fn(&ConnectionStats) -> usize| -> f64 {
            open.iter().map(|c| f(&c.stats)).sum::<usize>() as f64
        };
        metrics::gauge!("rpyc_connections_open").set(open.len() as f64);
        metrics::gauge!("rpyc_objects_exported").set(sum(|s| s.objects));
        metrics::gauge!("rpyc_proxies_held").set(sum(|s| s.proxies));
        metrics::gauge!("rpyc_requests_in_flight").set(sum(|s| s.in_flight));
        metrics::gauge!("rpyc_output_queued_bytes").set(sum(|s| s.queued_bytes));
    }

    /// The status document: totals, the [`MAX_CONNECTION_ROWS`] most active open connections
    /// and, given the recorder, every method's calls and latency (what `/status.json` serves).
    pub fn document(&self, recorder: Option<&PrometheusRecorder>) -> StatusDocument {
        let uptime = self
            .0
            .started
            .lock()
            .map_or(Duration::ZERO, |s| s.elapsed());
        StatusDocument::new(
            uptime,
            (
                self.0.accepted.load(Ordering::Relaxed),
                self.0.refused.load(Ordering::Relaxed),
            ),
            self.connections(),
            recorder.map(|r| r.histograms("rpyc_request_duration_seconds")),
        )
    }

    /// The status page: the open connections (peer, age, objects held, calls in flight, last
    /// activity) and, given the recorder, the top methods by calls and by latency.
    pub fn status_text(&self, recorder: Option<&PrometheusRecorder>) -> String {
        self.document(recorder).render()
    }
}

/// Serves `/metrics` (the recorder's text, after [`Monitor::publish_gauges`]) and `/status`
/// ([`Monitor::status_text`]) on `listener` until `stop`.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    recorder: PrometheusRecorder,
    monitor: Monitor,
    stop: CancellationToken,
) {
    loop {
        let (mut stream, _) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stop.cancelled() => return,
        };
        let (recorder, monitor) = (recorder.clone(), monitor.clone());
        tokio::spawn(async move {
            let answer = tokio::time::timeout(Duration::from_secs(5), async {
                let path = read_request(&mut stream).await?;
                let (status, kind, body) = match path.as_deref() {
                    Some("/metrics") => {
                        monitor.publish_gauges();
                        ("200 OK", "text/plain; version=0.0.4", recorder.render())
                    }
                    Some("/status" | "/") => (
                        "200 OK",
                        "text/plain; charset=utf-8",
                        monitor.status_text(Some(&recorder)),
                    ),
                    Some("/status.json") => (
                        "200 OK",
                        "application/json",
                        serde_json::to_string(&monitor.document(Some(&recorder)))
                            .unwrap_or_default(),
                    ),
                    Some(_) => ("404 Not Found", "text/plain", "not found\n".into()),
                    None => ("405 Method Not Allowed", "text/plain", "GET only\n".into()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(body.as_bytes()).await?;
                stream.shutdown().await
            });
            let _ = answer.await;
        });
    }
}

/// Reads a request head (at most 8 KiB): `Some(path)` for a GET, `None` otherwise.
async fn read_request(stream: &mut tokio::net::TcpStream) -> std::io::Result<Option<String>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() >= 8 * 1024 {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut words = head.split_whitespace();
    Ok(match (words.next(), words.next()) {
        (Some("GET"), Some(target)) => Some(target.split('?').next().unwrap_or("/").to_string()),
        _ => None,
    })
}

/// `GET http://addr/path`: the body of a 200 answer (what `rpyc-server --status ADDR` prints).
pub async fn http_get(addr: &str, path: &str) -> std::io::Result<String> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await?;
    let resp = String::from_utf8_lossy(&resp);
    let (head, body) = resp
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))?;
    if !head.starts_with("HTTP/1.1 200") {
        let line = head.lines().next().unwrap_or_default();
        return Err(std::io::Error::other(format!("{addr}{path}: {line}")));
    }
    Ok(body.to_string())
}
