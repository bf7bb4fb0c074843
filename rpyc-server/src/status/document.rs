//! The status document: what a running server holds now, as the JSON that `/status.json`
//! serves and `rpyc-server --status ADDR` reads, and its plain-text rendering (the live view,
//! and `/status`). Totals cover every open connection; rows are kept for at most
//! [`MAX_CONNECTION_ROWS`] of them, the most active first, so the document stays small
//! whatever the number of clients. Per-connection data is never a metric label.

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::OpenConnection;
use crate::metrics::HistogramSnapshot;

/// The most connections the document has a row for.
pub const MAX_CONNECTION_ROWS: usize = 100;

/// How many methods each of the view's two tables shows.
const TOP_METHODS: usize = 10;

/// A server's state at one moment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct StatusDocument {
    /// Seconds since the server accepted its first connection.
    pub uptime_s: f64,
    /// Connections open now.
    pub open: usize,
    /// Connections accepted since the start.
    pub accepted: u64,
    /// Connections refused since the start (per-peer limit, TLS, authenticator).
    pub refused: u64,
    /// Sums over every open connection.
    pub totals: Totals,
    /// At most [`MAX_CONNECTION_ROWS`] open connections, the most active first (calls in
    /// flight, then the most recently heard from).
    pub connections: Vec<ConnectionRow>,
    /// Every method the metrics count (empty without metrics), most called first.
    pub methods: Vec<MethodRow>,
}

/// Sums over every open connection.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Totals {
    /// Our objects the clients hold.
    pub objects: usize,
    /// Proxies of the clients' objects we hold.
    pub proxies: usize,
    /// Requests being handled.
    pub in_flight: usize,
    /// Bytes queued for the clients.
    pub queued_bytes: usize,
}

/// One open connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct ConnectionRow {
    /// The connection's id in the server (as in the logs).
    pub id: u64,
    /// The client's address.
    pub peer: String,
    /// Seconds open.
    pub age_s: f64,
    /// Our objects it holds.
    pub objects: usize,
    /// Proxies of its objects we hold.
    pub proxies: usize,
    /// Its requests being handled.
    pub in_flight: usize,
    /// Bytes queued for it.
    pub queued_bytes: usize,
    /// Frames it sent.
    pub frames_received: u64,
    /// Seconds since it last sent something.
    pub idle_s: f64,
}

/// One method's calls and latency (from the `rpyc_request_duration_seconds` histogram).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct MethodRow {
    /// The method's label (`add`), or empty for requests that name none (`getroot`).
    pub method: String,
    /// The request's handler (`callattr`, `getattr`, `call`, …).
    pub handler: String,
    /// Requests answered.
    pub calls: u64,
    /// Their mean latency (seconds).
    pub mean_s: f64,
    /// The histogram bucket bound under which 99% fell (seconds; `None` above the last).
    pub p99_s: Option<f64>,
}

impl StatusDocument {
    /// The document of a server up for `uptime` with these counts, connections and (with
    /// metrics) method histograms.
    pub(crate) fn new(
        uptime: Duration,
        (accepted, refused): (u64, u64),
        open: Vec<OpenConnection>,
        histograms: Option<Vec<HistogramSnapshot>>,
    ) -> StatusDocument {
        let mut totals = Totals::default();
        for c in &open {
            totals.objects += c.stats.objects;
            totals.proxies += c.stats.proxies;
            totals.in_flight += c.stats.in_flight;
            totals.queued_bytes += c.stats.queued_bytes;
        }
        let n = open.len();
        let mut rows: Vec<ConnectionRow> = open
            .into_iter()
            .map(|c| ConnectionRow {
                id: c.stats.id,
                peer: c.stats.peer,
                age_s: c.age.as_secs_f64(),
                objects: c.stats.objects,
                proxies: c.stats.proxies,
                in_flight: c.stats.in_flight,
                queued_bytes: c.stats.queued_bytes,
                frames_received: c.stats.frames_received,
                idle_s: c.stats.idle.as_secs_f64(),
            })
            .collect();
        rows.sort_by(|a, b| {
            b.in_flight
                .cmp(&a.in_flight)
                .then(a.idle_s.total_cmp(&b.idle_s))
                .then(a.id.cmp(&b.id))
        });
        rows.truncate(MAX_CONNECTION_ROWS);
        let mut methods: Vec<MethodRow> = histograms
            .unwrap_or_default()
            .iter()
            .map(|h| {
                let label = |k: &str| {
                    h.labels
                        .iter()
                        .find(|(n, _)| n == k)
                        .map_or(String::new(), |(_, v)| v.clone())
                };
                let p99 = h.quantile(0.99);
                MethodRow {
                    method: label("method"),
                    handler: label("handler"),
                    calls: h.count,
                    mean_s: h.sum / h.count.max(1) as f64,
                    p99_s: p99.is_finite().then_some(p99),
                }
            })
            .collect();
        methods.sort_by_key(|m| std::cmp::Reverse(m.calls));
        StatusDocument {
            uptime_s: uptime.as_secs_f64(),
            open: n,
            accepted,
            refused,
            totals,
            connections: rows,
            methods,
        }
    }

    /// The plain-text view: a summary line, the connections table and the top methods by
    /// calls and by mean latency. Text from clients (peer names, method names) is printed with
    /// control characters escaped.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "rpyc-server: {} open connection{}, {} accepted, {} refused, up {}",
            self.open,
            if self.open == 1 { "" } else { "s" },
            self.accepted,
            self.refused,
            human(secs(self.uptime_s)),
        );
        let t = &self.totals;
        let _ = writeln!(
            out,
            "held: {} objects, {} proxies, {} requests in flight, {} bytes queued",
            t.objects, t.proxies, t.in_flight, t.queued_bytes
        );
        let _ = write!(out, "\nCONNECTIONS");
        if self.open > self.connections.len() {
            let _ = write!(
                out,
                " ({} most active of {})",
                self.connections.len(),
                self.open
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:>6}  {:<22} {:>8} {:>8} {:>8} {:>9} {:>10}",
            "id", "peer", "age", "objects", "proxies", "in flight", "last seen"
        );
        for c in &self.connections {
            let _ = writeln!(
                out,
                "{:>6}  {:<22} {:>8} {:>8} {:>8} {:>9} {:>10}",
                c.id,
                rpyc_core::Printable(&c.peer).to_string(),
                human(secs(c.age_s)),
                c.objects,
                c.proxies,
                c.in_flight,
                format!("{} ago", human(secs(c.idle_s))),
            );
        }
        if self.methods.is_empty() {
            return out;
        }
        let header = format!(
            "{:<32} {:>10} {:>10} {:>10}",
            "method", "calls", "mean", "p99 ≤"
        );
        let row = |out: &mut String, m: &MethodRow| {
            let name = match (m.method.as_str(), m.handler.as_str()) {
                ("", h) => h.to_string(),
                (name, h) => format!("{name} ({h})"),
            };
            let _ = writeln!(
                out,
                "{:<32} {:>10} {:>10} {:>10}",
                rpyc_core::Printable(name).to_string(),
                m.calls,
                micros(m.mean_s),
                micros(m.p99_s.unwrap_or(f64::INFINITY)),
            );
        };
        let _ = writeln!(out, "\nTOP METHODS BY CALLS\n{header}");
        for m in self.methods.iter().take(TOP_METHODS) {
            row(&mut out, m);
        }
        let _ = writeln!(out, "\nTOP METHODS BY MEAN LATENCY\n{header}");
        let mut by_latency: Vec<&MethodRow> = self.methods.iter().collect();
        by_latency.sort_by(|a, b| b.mean_s.total_cmp(&a.mean_s));
        for m in by_latency.into_iter().take(TOP_METHODS) {
            row(&mut out, m);
        }
        out
    }
}

/// Seconds as a `Duration` (negative or not finite: zero).
fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or_default()
}

/// A duration as `850ms`, `12s`, `3m20s`, `2h05m`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.as_millis()),
        1..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

/// Seconds as `37µs`, `4.2ms`, `1.30s`.
fn micros(secs: f64) -> String {
    if !secs.is_finite() {
        "> 10s".into()
    } else if secs < 0.001 {
        format!("{:.0}µs", secs * 1e6)
    } else if secs < 1.0 {
        format!("{:.1}ms", secs * 1e3)
    } else {
        format!("{secs:.2}s")
    }
}
