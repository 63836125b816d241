//! Drawing a latency spectrum: the lines on log–log axes (x = 1/(1−p), labelled as
//! percentiles), markers where the lines cross 50%, 90%, 99% …, whiskers over the trials at the
//! labelled percentiles, and below the plot a legend that prints each target's p50, p99 and p99.9.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::legend::{self, MARKER_R, NOTE_H, ROW_H, SWATCH_W};
use super::{clip, one_two_five, rgb, text, DrawResult, INK, MISSING_TEXT, MUTED, TITLE_H};
use crate::spectrum::{Row, Spectrum, LABELLED, X_MAX};
use rtbench_results::Unit;

/// The plot's height, axes included.
const PLOT_H: u32 = 600;
/// The legend's two header rows.
const HEAD_H: u32 = 46;
const PAD: u32 = 12;
/// Left edges of the legend's columns: label, corrected values, uncorrected values.
const COL_LABEL: i32 = 24 + SWATCH_W + 10;
const COL_VALUES: i32 = 480;
const COL_UNCORRECTED: i32 = 830;
const VALUE_W: i32 = 100;
/// Where markers go along each line: the decades of 1/(1−p).
const MARKS_AT: [f64; 6] = [2.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0];

/// Height below the title: plot and legend.
pub(super) fn height(s: &Spectrum) -> u32 {
    PLOT_H + legend_height(s)
}

fn legend_height(s: &Spectrum) -> u32 {
    PAD + HEAD_H
        + s.rows.len() as u32 * ROW_H
        + legend::note_lines(&s.notes).len() as u32 * NOTE_H
        + PAD
}

/// "50%", "99.9%": the percentile at x = 1/(1−p).
pub(super) fn percentile_label(x: f64) -> String {
    let p = (1.0 - 1.0 / x) * 100.0;
    let s = format!("{p:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// The right end of the x axis: the decade above the rarest point, at least p99.99.
fn x_end(s: &Spectrum) -> f64 {
    let rarest = s
        .lines
        .iter()
        .flat_map(|l| &l.points)
        .map(|p| p.0)
        .fold(1.0, f64::max);
    10f64
        .powf((rarest * 1.001).log10().ceil())
        .clamp(10_000.0, X_MAX)
}

/// Draws the spectrum in `area` (below the title) of `root`.
pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    s: &Spectrum,
) -> DrawResult<(), DB> {
    let (_, area_h) = area.dim_in_pixel();
    let legend_h = legend_height(s);
    let plot = area.margin(0, legend_h, 0, 0);
    let values = s.lines.iter().flat_map(|l| {
        l.points
            .iter()
            .map(|p| (p.1, p.1))
            .chain(l.whiskers.iter().map(|w| (w.1, w.2)))
    });
    let lo = values.clone().map(|v| v.0).fold(f64::INFINITY, f64::min);
    let hi = values.map(|v| v.1).fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > 0.0 {
        (lo.max(0.5) / 1.5, hi * 1.6)
    } else {
        (1.0, 1000.0)
    };
    let x_hi = x_end(s);
    let keys: Vec<f64> = MARKS_AT
        .iter()
        .copied()
        .chain([1_000_000.0])
        .filter(|x| *x <= x_hi)
        .collect();
    let mut chart = ChartBuilder::on(&plot)
        .margin(16)
        .margin_right(40)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d(
            (1f64..x_hi).log_scale().with_key_points(keys),
            (lo..hi).log_scale().with_key_points(one_two_five(lo, hi)),
        )?;
    let xf = |x: &f64| percentile_label(*x);
    let yf = |y: &f64| Unit::Micros.tick(*y);
    super::axes(
        &mut chart,
        (
            "percentile (axis: log of 1/(1−p), so each step right is ten times rarer)",
            "latency (log scale)",
        ),
        (&xf, &yf),
        (10, 10),
    )?;
    for line in &s.lines {
        let colour = rgb(line.style.colour);
        let pts = line.points.clone();
        if line.dashed {
            chart.draw_series(DashedLineSeries::new(pts, 9, 6, colour.stroke_width(2)))?;
        } else {
            chart.draw_series(LineSeries::new(pts, colour.stroke_width(3)))?;
        }
        chart.draw_series(
            line.whiskers
                .iter()
                .map(|w| PathElement::new(vec![(w.0, w.1), (w.0, w.2)], colour.stroke_width(1))),
        )?;
    }
    // Markers after every line, so no line hides another target's marker.
    for line in &s.lines {
        for x in MARKS_AT {
            let Some(y) = legend::at_x(&line.points, x) else {
                continue;
            };
            let centre = chart.backend_coord(&(x, y));
            let r = if line.dashed {
                MARKER_R - 1.0
            } else {
                MARKER_R
            };
            let colour = rgb(line.style.colour);
            legend::marker(root, line.style.marker, centre, r, colour, !line.dashed)?;
        }
    }
    // `area` starts below the title.
    draw_legend(root, s, (TITLE_H + area_h - legend_h) as i32)
}

/// The legend below the plot, its top at `y0`: a swatch, the label and the labelled percentiles
/// per target, then the notes.
fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &Spectrum,
    y0: i32,
) -> DrawResult<(), DB> {
    let head = text(13, &MUTED, HPos::Left);
    let mut y = y0 + PAD as i32 + 10;
    let groups: &[(i32, &str, bool)] = if s.open {
        &[
            (COL_VALUES, "solid: corrected (from the due time)", true),
            (
                COL_UNCORRECTED,
                "dashed: uncorrected (from the send)",
                false,
            ),
        ]
    } else {
        &[(COL_VALUES, "latency (closed model: from the send)", true)]
    };
    for (x, title, solid) in groups {
        let dash = if *solid { None } else { Some((5, 4)) };
        legend::line(root, (x - 40, y), (x - 12, y), dash, INK.stroke_width(2))?;
        root.draw(&Text::new(title.to_string(), (*x, y), head.clone()))?;
    }
    y += 22;
    root.draw(&Text::new(
        "target".to_string(),
        (COL_LABEL, y),
        head.clone(),
    ))?;
    for (x, _, _) in groups {
        for (k, (_, name)) in LABELLED.iter().enumerate() {
            let at = (x + k as i32 * VALUE_W, y);
            root.draw(&Text::new(name.to_string(), at, head.clone()))?;
        }
    }
    y += ROW_H as i32 - 4;
    for row in &s.rows {
        y += ROW_H as i32 / 2;
        draw_row(root, s, row, y)?;
        y += ROW_H as i32 / 2;
    }
    y += NOTE_H as i32 / 2;
    for note in legend::note_lines(&s.notes) {
        root.draw(&Text::new(note, (24, y), text(13, &MUTED, HPos::Left)))?;
        y += NOTE_H as i32;
    }
    Ok(())
}

fn draw_row<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &Spectrum,
    row: &Row,
    y: i32,
) -> DrawResult<(), DB> {
    legend::swatch(root, &row.style, (24, y), None, true)?;
    root.draw(&Text::new(
        clip(&row.label, 52),
        (COL_LABEL, y),
        text(14, &INK, HPos::Left),
    ))?;
    if let Some(why) = &row.missing {
        return root.draw(&Text::new(
            format!("{} — no line", clip(why, 90)),
            (COL_VALUES, y),
            text(13, &MISSING_TEXT, HPos::Left),
        ));
    }
    let ink = text(14, &INK, HPos::Left);
    let mut columns = vec![(COL_VALUES, row.corrected)];
    if s.open {
        columns.push((COL_UNCORRECTED, row.uncorrected));
        legend::swatch(
            root,
            &row.style,
            (COL_UNCORRECTED - 44, y),
            Some((5, 4)),
            false,
        )?;
    }
    for (x, values) in columns {
        for (k, v) in values.iter().enumerate() {
            let value = v.map_or_else(|| "—".to_string(), |v| Unit::Micros.format(v));
            root.draw(&Text::new(value, (x + k as i32 * VALUE_W, y), ink.clone()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_axis_labels() {
        assert_eq!(percentile_label(2.0), "50%");
        assert_eq!(percentile_label(10.0), "90%");
        assert_eq!(percentile_label(100.0), "99%");
        assert_eq!(percentile_label(1_000.0), "99.9%");
        assert_eq!(percentile_label(10_000.0), "99.99%");
        assert_eq!(percentile_label(100_000.0), "99.999%");
    }
}
