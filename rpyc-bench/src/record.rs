//! `Recorder`: every figure of a run, written as a JSON line as it comes, with the per-round
//! ratios the report is made of.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value as Json};

use crate::scenarios::scn;
use crate::stats;
use crate::Error;

/// One figure of one measurement.
pub(crate) struct Sample {
    pub(crate) scenario: &'static str,
    pub(crate) stack: &'static str,
    pub(crate) round: usize,
    pub(crate) value: f64,
    pub(crate) load1: f64,
}

/// Collects figures, writing each as a JSON line as it comes.
pub(crate) struct Recorder {
    pub(crate) run_id: String,
    pub(crate) samples: Vec<Sample>,
    pub(crate) out: Option<std::fs::File>,
    pub(crate) errors: Vec<String>,
}

impl Recorder {
    /// A recorder for run `run_id`, appending to `out` (created with its directory) if given.
    pub(crate) fn open(run_id: String, out: Option<&Path>) -> Result<Recorder, Error> {
        let out = match out {
            Some(path) => {
                if let Some(d) = path.parent() {
                    std::fs::create_dir_all(d)?;
                }
                Some(OpenOptions::new().create(true).append(true).open(path)?)
            }
            None => None,
        };
        Ok(Recorder {
            run_id,
            samples: Vec::new(),
            out,
            errors: Vec::new(),
        })
    }

    pub(crate) fn write(&mut self, mut line: Json) {
        line["run_id"] = json!(self.run_id);
        if let Some(f) = self.out.as_mut() {
            let _ = writeln!(f, "{line}");
        }
    }

    pub(crate) fn add(
        &mut self,
        scenario: &'static str,
        stack: &'static str,
        round: usize,
        value: f64,
        load1: f64,
        detail: Json,
    ) {
        let s = scn(scenario);
        eprintln!(
            "  round {round}: {:<22} {:<10} {:>12} {:<8} (load {load1:.2})",
            s.id,
            stack,
            fmt_num(value),
            s.unit
        );
        self.write(json!({
            "kind": "sample", "time": now_secs(), "scenario": scenario, "stack": stack,
            "round": round, "value": value, "unit": s.unit, "load1": load1, "detail": detail,
        }));
        self.samples.push(Sample {
            scenario,
            stack,
            round,
            value,
            load1,
        });
    }

    pub(crate) fn error(&mut self, scenario: &str, stack: &str, round: usize, e: &Error) {
        let msg = format!("{scenario} {stack} round {round}: {e}");
        eprintln!("  ERROR {msg}");
        self.write(
            json!({"kind": "error", "time": now_secs(), "scenario": scenario,
                          "stack": stack, "round": round, "error": e.to_string()}),
        );
        self.errors.push(msg);
    }

    /// (median, min, max, median load, rounds) of a scenario × stack.
    pub(crate) fn summary(
        &self,
        scenario: &str,
        stack: &str,
    ) -> Option<(f64, f64, f64, f64, usize)> {
        let v: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.scenario == scenario && s.stack == stack)
            .collect();
        if v.is_empty() {
            return None;
        }
        let (med, min, max) = stats::med_min_max(&v.iter().map(|s| s.value).collect::<Vec<_>>());
        let (load, _, _) = stats::med_min_max(&v.iter().map(|s| s.load1).collect::<Vec<_>>());
        Some((med, min, max, load, v.len()))
    }

    pub(crate) fn median(&self, scenario: &str, stack: &str) -> Option<f64> {
        self.summary(scenario, stack).map(|s| s.0)
    }

    pub(crate) fn value(&self, scenario: &str, stack: &str, round: usize) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.scenario == scenario && s.stack == stack && s.round == round)
            .map(|s| s.value)
    }

    /// `a ÷ b` per round (both measured within seconds of each other), as (median, min, max,
    /// pairs): robust to the machine's drift from round to round.
    pub(crate) fn paired(
        &self,
        a: (&str, &str),
        b: (&str, &str),
    ) -> Option<(f64, f64, f64, usize)> {
        let ratios: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.scenario == a.0 && s.stack == a.1)
            .filter_map(|s| Some(s.value / self.value(b.0, b.1, s.round)?))
            .filter(|r| r.is_finite())
            .collect();
        if ratios.is_empty() {
            return None;
        }
        let (m, lo, hi) = stats::med_min_max(&ratios);
        Some((m, lo, hi, ratios.len()))
    }
}

pub(crate) fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub(crate) fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
