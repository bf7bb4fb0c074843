//! Metric labels and the per-connection handles they are recorded through.
//!
//! Labels are bounded whatever a peer sends: a `method` label exists only for a name that was
//! answered (the access policy answers only what a service exposes), at most [`MAX_LABELS`] of
//! them; an `exception` label for the first [`MAX_EXCEPTION_LABELS`] classes; everything else
//! is `other`. Each process-wide label table is behind one lock, so a connection keeps its own
//! cache ([`MetricsCache`]) of the names it has seen and of the counter and histogram handles
//! of each (handler, method): after the first request of a kind, a request takes no lock that
//! another connection could hold, and looks up no series in the recorder.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use parking_lot::Mutex;
use rpyc_core::message::{Boxed, Handler};
use rpyc_core::{RemoteException, Value};

use crate::connection::ConnInner;

/// The most distinct method names kept as labels (a backstop: only exposed names get one).
pub const MAX_LABELS: usize = 1024;

/// The most distinct exception classes kept as labels; later ones count as `other`.
pub const MAX_EXCEPTION_LABELS: usize = 64;

/// The label of everything without one of its own.
const OTHER: &str = "other";

/// A set of label values, each a `&'static str` leaked once, at most `cap` of them.
struct Labels {
    names: OnceLock<Mutex<HashMap<Box<str>, &'static str>>>,
    cap: usize,
}

impl Labels {
    const fn new(cap: usize) -> Self {
        Labels {
            names: OnceLock::new(),
            cap,
        }
    }

    /// `name`'s label if it has one already.
    fn get(&self, name: &str) -> Option<&'static str> {
        self.names
            .get_or_init(Default::default)
            .lock()
            .get(name)
            .copied()
    }

    /// `name`'s label, made if there is room, else `other`.
    fn intern(&self, name: &str) -> &'static str {
        let mut names = self.names.get_or_init(Default::default).lock();
        if let Some(s) = names.get(name) {
            return s;
        }
        if names.len() >= self.cap {
            return OTHER;
        }
        let s: &'static str = Box::leak(name.into());
        names.insert(name.into(), s);
        s
    }
}

static METHOD_LABELS: Labels = Labels::new(MAX_LABELS);
static EXCEPTION_LABELS: Labels = Labels::new(MAX_EXCEPTION_LABELS);

/// A request's `method` label before its answer: known already, or a name that gets one only
/// if the request is answered.
pub(crate) enum MethodLabel {
    Known(&'static str),
    IfAnswered(Box<str>),
    None,
}

/// One connection's labels and metric handles (made when its first request is recorded).
#[derive(Default)]
pub(crate) struct MetricsCache {
    /// Names this connection has seen labelled.
    labels: Mutex<HashMap<Box<str>, &'static str>>,
    /// The request counter and latency histogram of each (handler, method).
    series: Mutex<HashMap<(&'static str, &'static str), Series>>,
}

/// The handles one (handler, method) records through.
struct Series {
    requests: metrics::Counter,
    latency: metrics::Histogram,
}

impl MetricsCache {
    /// The label of `name` if this connection or the process has one for it.
    fn known(&self, name: &str) -> Option<&'static str> {
        if let Some(label) = self.labels.lock().get(name) {
            return Some(label);
        }
        let label = METHOD_LABELS.get(name)?;
        self.remember(name, label);
        Some(label)
    }

    /// The label of `name`, known to be exposed (a bound method's name): made if need be.
    fn label_of_exposed(&self, name: &str) -> &'static str {
        if let Some(label) = self.labels.lock().get(name) {
            return label;
        }
        let label = METHOD_LABELS.intern(name);
        if label != OTHER {
            self.remember(name, label);
        }
        label
    }

    /// Notes `name`'s label (at most [`MAX_LABELS`] names a connection).
    fn remember(&self, name: &str, label: &'static str) {
        let mut labels = self.labels.lock();
        if labels.len() < MAX_LABELS {
            labels.insert(name.into(), label);
        }
    }

    /// Records one request of `handler` answered with `result` after `took`.
    pub(crate) fn record(
        &self,
        handler: &'static str,
        method: &MethodLabel,
        result: &Result<Value, RemoteException>,
        took: Duration,
    ) {
        let m = match (method, result) {
            (MethodLabel::Known(m), _) => m,
            (MethodLabel::IfAnswered(name), Ok(_)) => {
                let label = METHOD_LABELS.intern(name);
                if label != OTHER {
                    self.remember(name, label);
                }
                label
            }
            (MethodLabel::IfAnswered(_), Err(_)) => OTHER,
            (MethodLabel::None, _) => "",
        };
        // The handles are used under the connection's own lock: cloning them would touch
        // their shared reference counts, which every connection's requests would contend for.
        {
            let mut series = self.series.lock();
            let s = series.entry((handler, m)).or_insert_with(|| Series {
                requests: metrics::counter!("rpyc_requests_total", "handler" => handler, "method" => m),
                latency: metrics::histogram!("rpyc_request_duration_seconds", "handler" => handler, "method" => m),
            });
            s.requests.increment(1);
            s.latency.record(took.as_secs_f64());
        }
        if let Err(e) = result {
            let exc = EXCEPTION_LABELS.intern(&e.class);
            metrics::counter!("rpyc_request_errors_total", "handler" => handler, "method" => m, "exception" => exc)
                .increment(1);
        }
    }
}

/// The `method` label of a request naming `member` of `obj` (a CALL: the bound method's name).
pub(crate) fn method_label(
    inner: &ConnInner,
    handler: Handler,
    obj: Option<&Boxed>,
    member: &str,
) -> MethodLabel {
    let name = match (handler, obj) {
        (Handler::Call, Some(Boxed::Local(id))) => match inner.local_object(id) {
            // A bound method was reached through an answered GETATTR: its name is exposed.
            Some(target) => match target.method_label() {
                Some(name) => {
                    return MethodLabel::Known(inner.metrics_cache().label_of_exposed(name))
                }
                None => return MethodLabel::None,
            },
            None => return MethodLabel::None,
        },
        _ if member.is_empty() => return MethodLabel::None,
        _ => member,
    };
    match inner.metrics_cache().known(name) {
        Some(label) => MethodLabel::Known(label),
        None => MethodLabel::IfAnswered(name.into()),
    }
}
