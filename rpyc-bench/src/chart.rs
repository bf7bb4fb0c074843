//! The run as a picture: an SVG beside the JSON lines with, per scenario of 1-6, each stack's
//! cost as a multiple of the raw-socket floor measured in the same round (latency ÷ the
//! floor's; for rates and bandwidth, the floor's ÷ ours), the median over rounds as a bar and
//! the min–max as a whisker. One axis for every scenario: lower is better, 1 is the floor
//! (for (3), the floor that writes once per message, as in the table's "vs floor" column).
//! Drawn with `plotters`' SVG backend (no fonts needed: the viewer renders the text).

use std::path::Path;

use plotters::prelude::*;

use crate::record::Recorder;
use crate::scenarios::{scn, FLOOR_PAIRED, SCNS};
use crate::Res;

/// Scenarios drawn, in order: those measured against the floor.
const DRAWN: [&str; 9] = FLOOR_PAIRED;

/// One bar: a stack's cost ÷ the floor's in one scenario, (median, min, max) over rounds.
struct Bar {
    scenario: usize,
    stack: usize,
    ratio: (f64, f64, f64),
}

/// The bars of a run: for each drawn scenario and stack, cost ÷ floor per round.
fn bars(rec: &Recorder, stacks: &[&str]) -> Vec<Bar> {
    let mut out = Vec::new();
    for (si, id) in DRAWN.iter().enumerate() {
        let higher_is_better = scn(id).higher_is_better;
        for (ki, st) in stacks.iter().enumerate() {
            let r = if higher_is_better {
                rec.paired((id, "floor-tcp"), (id, st))
            } else {
                rec.paired((id, st), (id, "floor-tcp"))
            };
            if let Some((m, lo, hi, _)) = r {
                out.push(Bar {
                    scenario: si,
                    stack: ki,
                    ratio: (m, lo, hi),
                });
            }
        }
    }
    out
}

/// A short label for a scenario: `(1) root.add(1, 2)` → `(1) root.add`.
fn short_label(id: &str) -> String {
    let label = SCNS.iter().find(|s| s.id == id).map_or(id, |s| s.label);
    label
        .split(':')
        .next()
        .unwrap_or(label)
        .chars()
        .take(30)
        .collect()
}

/// Draws the run's chart to `path` (SVG). Nothing is drawn (and `Ok(false)` returned) if no
/// scenario was measured against the floor.
pub(crate) fn draw(rec: &Recorder, stacks: &[&str], title: &str, path: &Path) -> Res<bool> {
    let bars = bars(rec, stacks);
    if bars.is_empty() {
        return Ok(false);
    }
    let used: Vec<usize> = (0..DRAWN.len())
        .filter(|s| bars.iter().any(|b| b.scenario == *s))
        .collect();
    let slot = |s: usize| used.iter().position(|u| *u == s).unwrap_or(0);
    let top = bars
        .iter()
        .map(|b| b.ratio.2)
        .fold(2.0f64, f64::max)
        .min(1e4)
        * 1.3;
    let bottom = bars
        .iter()
        .map(|b| b.ratio.1)
        .fold(1.0f64, f64::min)
        .max(1e-3)
        * 0.8;
    let width = 160 * used.len() as u32 + 200;
    let root = SVGBackend::new(path, (width.max(640), 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..used.len() as f64, (bottom..top).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(used.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 1e-6 && i < used.len() {
                short_label(DRAWN[used[i]])
            } else {
                String::new()
            }
        })
        .y_desc("cost ÷ raw-socket floor (lower is better)")
        .y_label_formatter(&|y| {
            if *y >= 10.0 {
                format!("{y:.0}×")
            } else {
                format!("{y:.1}×")
            }
        })
        .draw()?;
    // The floor itself.
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, 1.0), (used.len() as f64, 1.0)],
        BLACK.stroke_width(1),
    )))?;
    let n = stacks.len().max(1) as f64;
    let bar_w = 0.8 / n;
    for (ki, st) in stacks.iter().enumerate() {
        let color = Palette99::pick(ki).to_rgba();
        let mine: Vec<&Bar> = bars.iter().filter(|b| b.stack == ki).collect();
        if mine.is_empty() {
            continue;
        }
        let x0 = |b: &Bar| slot(b.scenario) as f64 + 0.1 + bar_w * ki as f64;
        chart
            .draw_series(mine.iter().map(|b| {
                let x = x0(b);
                Rectangle::new([(x, bottom), (x + bar_w * 0.9, b.ratio.0)], color.filled())
            }))?
            .label(*st)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        chart.draw_series(mine.iter().map(|b| {
            let x = x0(b) + bar_w * 0.45;
            ErrorBar::new_vertical(x, b.ratio.1, b.ratio.0, b.ratio.2, BLACK.filled(), 6)
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(true)
}
