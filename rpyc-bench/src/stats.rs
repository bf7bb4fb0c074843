//! Small statistics helpers.

use std::time::Duration;

use serde_json::{json, Value as Json};

/// Per-operation latencies of one measurement.
#[derive(Debug, Default)]
pub struct Latencies {
    ns: Vec<u64>,
    /// Wall time of the measured loop.
    pub elapsed: Duration,
}

impl Latencies {
    pub fn with_capacity(n: usize) -> Self {
        Latencies {
            ns: Vec::with_capacity(n.min(1 << 20)),
            elapsed: Duration::ZERO,
        }
    }

    pub fn push(&mut self, d: Duration) {
        self.ns.push(d.as_nanos() as u64);
    }

    /// Median, mean, min and p99 in µs, with the count and the loop's wall time.
    pub fn summary(mut self) -> Json {
        self.ns.sort_unstable();
        let us: Vec<f64> = self.ns.iter().map(|&n| n as f64 / 1e3).collect();
        let n = us.len();
        if n == 0 {
            return json!({"n": 0});
        }
        json!({
            "n": n,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "median_us": median_sorted(&us),
            "mean_us": us.iter().sum::<f64>() / n as f64,
            "min_us": us[0],
            "p99_us": us[((n * 99) / 100).min(n - 1)],
        })
    }
}

/// Median of a sorted slice (NaN when empty).
pub fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Median, min and max (NaN when empty; NaNs ignored).
pub fn med_min_max(values: &[f64]) -> (f64, f64, f64) {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    (median_sorted(&v), v[0], v[v.len() - 1])
}
