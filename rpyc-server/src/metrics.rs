//! [`PrometheusRecorder`]: a [`metrics`] recorder that keeps counters, gauges and histograms in
//! memory and renders them in Prometheus' text format — what `rpyc-server --metrics ADDR`
//! serves at `/metrics` (see [`crate::status`]).
//!
//! Written here rather than taken from `metrics-exporter-prometheus`, whose HTTP listener
//! brings hyper and its own runtime glue: this is a hundred lines of atomics. An application
//! that already exports metrics its own way installs its own recorder instead and calls
//! [`rpyc::observe::enable_metrics`](rpyc_netref::observe::enable_metrics); the names are the
//! same.
//!
//! ```
//! use rpyc::server::metrics::PrometheusRecorder;
//! let recorder = PrometheusRecorder::default();
//! metrics::with_local_recorder(&recorder, || {
//!     metrics::counter!("rpyc_requests_total", "method" => "add").increment(2);
//! });
//! assert!(recorder.render().contains("rpyc_requests_total{method=\"add\"} 2"));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use parking_lot::Mutex;

/// The upper bounds of the histograms' buckets, in seconds: 50 µs (a call on loopback) to 10 s.
pub const BUCKETS: [f64; 16] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 10.0,
];

/// An `f64` in an atomic (its bits).
#[derive(Default)]
struct AtomicF64(AtomicU64);

impl AtomicF64 {
    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
    fn update(&self, f: impl Fn(f64) -> f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(f(f64::from_bits(b)).to_bits())
            });
    }
}

#[derive(Default)]
struct CounterCell(AtomicU64);

impl CounterFn for CounterCell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct GaugeCell(AtomicF64);

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.0.update(|v| v + value);
    }
    fn decrement(&self, value: f64) {
        self.0.update(|v| v - value);
    }
    fn set(&self, value: f64) {
        self.0 .0.store(value.to_bits(), Ordering::Relaxed);
    }
}

/// A histogram: counts per bucket (not cumulative), their sum and count.
#[derive(Default)]
struct HistogramCell {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum: AtomicF64,
}

impl HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| value <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.update(|s| s + value);
    }
}

/// One histogram's state ([`PrometheusRecorder::histograms`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// Its labels, in order.
    pub labels: Vec<(String, String)>,
    /// How many values it recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// How many fell at or below each of [`BUCKETS`] (cumulative).
    pub cumulative: Vec<u64>,
}

impl HistogramSnapshot {
    /// The bucket bound below which a fraction `q` (0..=1) of the values fell (`+Inf` as
    /// `f64::INFINITY`): an upper estimate of that quantile.
    pub fn quantile(&self, q: f64) -> f64 {
        let want = (q * self.count as f64).ceil() as u64;
        BUCKETS
            .iter()
            .zip(&self.cumulative)
            .find(|(_, c)| **c >= want.max(1))
            .map_or(f64::INFINITY, |(b, _)| *b)
    }
}

enum Cell {
    Counter(Arc<CounterCell>),
    Gauge(Arc<GaugeCell>),
    Histogram(Arc<HistogramCell>),
}

/// A [`metrics::Recorder`] rendering Prometheus' text format. Cheap to clone (shared state).
#[derive(Clone, Default)]
pub struct PrometheusRecorder {
    cells: Arc<Mutex<BTreeMap<Key, Cell>>>,
    help: Arc<Mutex<BTreeMap<String, String>>>,
}

impl std::fmt::Debug for PrometheusRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusRecorder")
            .field("metrics", &self.cells.lock().len())
            .finish()
    }
}

impl PrometheusRecorder {
    /// Installs a clone as the process's global recorder and turns rpyc's metrics on; returns
    /// the recorder to render. Fails if another recorder is installed.
    pub fn install() -> Result<PrometheusRecorder, metrics::SetRecorderError<PrometheusRecorder>> {
        let recorder = PrometheusRecorder::default();
        metrics::set_global_recorder(recorder.clone())?;
        rpyc_netref::observe::enable_metrics(true);
        Ok(recorder)
    }

    /// Everything recorded, in Prometheus' text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let cells = self.cells.lock();
        let help = self.help.lock();
        let mut out = String::new();
        let mut last = "";
        for (key, cell) in cells.iter() {
            let name = key.name();
            if name != last {
                if let Some(h) = help.get(name) {
                    let _ = writeln!(out, "# HELP {name} {h}");
                }
                let kind = match cell {
                    Cell::Counter(_) => "counter",
                    Cell::Gauge(_) => "gauge",
                    Cell::Histogram(_) => "histogram",
                };
                let _ = writeln!(out, "# TYPE {name} {kind}");
                last = name;
            }
            let labels = labels(key, None);
            match cell {
                Cell::Counter(c) => {
                    let _ = writeln!(out, "{name}{labels} {}", c.0.load(Ordering::Relaxed));
                }
                Cell::Gauge(g) => {
                    let _ = writeln!(out, "{name}{labels} {}", g.0.get());
                }
                Cell::Histogram(h) => {
                    let mut total = 0;
                    for (b, n) in BUCKETS.iter().zip(&h.buckets) {
                        total += n.load(Ordering::Relaxed);
                        let le = labels_le(key, &b.to_string());
                        let _ = writeln!(out, "{name}_bucket{le} {total}");
                    }
                    let count = h.count.load(Ordering::Relaxed);
                    let le = labels_le(key, "+Inf");
                    let _ = writeln!(out, "{name}_bucket{le} {count}");
                    let _ = writeln!(out, "{name}_sum{labels} {}", h.sum.get());
                    let _ = writeln!(out, "{name}_count{labels} {count}");
                }
            }
        }
        out
    }

    /// The histograms named `name`, one per label set.
    pub fn histograms(&self, name: &str) -> Vec<HistogramSnapshot> {
        let cells = self.cells.lock();
        cells
            .iter()
            .filter(|(k, _)| k.name() == name)
            .filter_map(|(k, c)| match c {
                Cell::Histogram(h) => {
                    let mut total = 0;
                    let cumulative = h
                        .buckets
                        .iter()
                        .map(|n| {
                            total += n.load(Ordering::Relaxed);
                            total
                        })
                        .collect();
                    Some(HistogramSnapshot {
                        labels: k
                            .labels()
                            .map(|l| (l.key().to_string(), l.value().to_string()))
                            .collect(),
                        count: h.count.load(Ordering::Relaxed),
                        sum: h.sum.get(),
                        cumulative,
                    })
                }
                _ => None,
            })
            .collect()
    }

    fn describe(&self, key: KeyName, description: SharedString) {
        let text = description.replace('\\', "\\\\").replace('\n', "\\n");
        self.help.lock().insert(key.as_str().to_string(), text);
    }

    fn cell(
        &self,
        key: &Key,
        make: impl FnOnce() -> Cell,
    ) -> parking_lot::MappedMutexGuard<'_, Cell> {
        let cells = self.cells.lock();
        parking_lot::MutexGuard::map(cells, |c| c.entry(key.clone()).or_insert_with(make))
    }
}

/// `{a="x",b="y"}` (empty values left out), `""` if none.
fn labels(key: &Key, extra: Option<(&str, &str)>) -> String {
    let mut parts: Vec<String> = key
        .labels()
        .filter(|l| !l.value().is_empty())
        .map(|l| format!("{}=\"{}\"", l.key(), escape(l.value())))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn labels_le(key: &Key, le: &str) -> String {
    labels(key, Some(("le", le)))
}

/// A label value as Prometheus reads it: backslash, quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Recorder for PrometheusRecorder {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }
    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }
    fn describe_histogram(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        self.describe(key, description);
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        match &*self.cell(key, || Cell::Counter(Arc::default())) {
            Cell::Counter(c) => Counter::from_arc(c.clone()),
            _ => Counter::noop(),
        }
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        match &*self.cell(key, || Cell::Gauge(Arc::default())) {
            Cell::Gauge(g) => Gauge::from_arc(g.clone()),
            _ => Gauge::noop(),
        }
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        match &*self.cell(key, || Cell::Histogram(Arc::default())) {
            Cell::Histogram(h) => Histogram::from_arc(h.clone()),
            _ => Histogram::noop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_cumulative_histograms() {
        let r = PrometheusRecorder::default();
        metrics::with_local_recorder(&r, || {
            metrics::counter!("calls", "method" => "add").increment(3);
            metrics::counter!("calls", "method" => "a\"b").increment(1);
            metrics::gauge!("open").set(2.0);
            let h = metrics::histogram!("lat", "method" => "add");
            h.record(0.00004);
            h.record(0.003);
        });
        let text = r.render();
        assert!(text.contains("# TYPE calls counter\n"), "{text}");
        assert!(text.contains("calls{method=\"add\"} 3\n"), "{text}");
        assert!(text.contains("calls{method=\"a\\\"b\"} 1\n"), "{text}");
        assert!(text.contains("open 2\n"), "{text}");
        assert!(
            text.contains("lat_bucket{method=\"add\",le=\"0.00005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("lat_bucket{method=\"add\",le=\"0.005\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("lat_bucket{method=\"add\",le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("lat_count{method=\"add\"} 2\n"), "{text}");
        let h = &r.histograms("lat")[0];
        assert_eq!(h.quantile(0.5), 0.00005);
        assert_eq!(h.quantile(1.0), 0.005);
    }
}
