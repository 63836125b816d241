//! Drawing throughput over time: one panel per variant, stacked, one line per target in its
//! colour, dash and marker, and one legend below them all.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::legend::{self, MARKER_R, NOTE_H, ROW_H, SWATCH_W};
use super::{clip, face, rgb, text, DrawResult, INK, MISSING_TEXT, MUTED, TITLE_H};
use crate::timeline::{TimePanel, Timeline};
use rtbench_results::Unit;

/// One panel's height, its title and axes included.
const PANEL_H: u32 = 320;
const PAD: u32 = 12;
/// Legend entries per row, and the width of each.
const LEGEND_COLUMNS: usize = 3;
const LEGEND_W: i32 = 384;
/// At most this many markers along a line.
const MARKS_PER_LINE: usize = 15;

/// Height below the title: panels and legend.
pub(super) fn height(t: &Timeline) -> u32 {
    t.panels.len() as u32 * PANEL_H + legend_height(t)
}

fn legend_height(t: &Timeline) -> u32 {
    let rows = t.rows.len().div_ceil(LEGEND_COLUMNS) as u32;
    PAD + rows * ROW_H + legend::note_lines(&t.notes).len() as u32 * NOTE_H + PAD
}

/// Draws the panels and the legend in `area` (below the title) of `root`.
pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    t: &Timeline,
) -> DrawResult<(), DB> {
    let (_, area_h) = area.dim_in_pixel();
    // One time axis for every panel, so a stall at the same second lines up.
    let t_end = t
        .panels
        .iter()
        .flat_map(|p| &p.series)
        .flat_map(|s| &s.points)
        .map(|p| p.0 + 0.5)
        .fold(1.0, f64::max)
        .ceil();
    for (i, panel) in t.panels.iter().enumerate() {
        let top = i as u32 * PANEL_H;
        let slot = area.margin(top, area_h - top - PANEL_H, 0, 0);
        draw_panel(root, &slot, panel, t_end)?;
    }
    let legend_h = legend_height(t);
    draw_legend(root, t, (TITLE_H + area_h - legend_h) as i32)
}

fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    slot: &DrawingArea<DB, Shift>,
    panel: &TimePanel,
    t_end: f64,
) -> DrawResult<(), DB> {
    let peak = panel
        .series
        .iter()
        .flat_map(|s| &s.points)
        .map(|p| p.1)
        .fold(0.0, f64::max);
    let y_hi = if peak > 0.0 { peak * 1.12 } else { 1.0 };
    let mut chart = ChartBuilder::on(slot)
        .caption(panel.title.clone(), face(16).color(&INK))
        .margin(12)
        .margin_right(40)
        .x_label_area_size(46)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..t_end, 0f64..y_hi)?;
    let yf = |y: &f64| Unit::PerSecond.tick(*y);
    let xf = |x: &f64| format!("{x:.0} s");
    super::axes(
        &mut chart,
        ("seconds into the measured window", "responses per second"),
        (&xf, &yf),
        (12, 6),
    )?;
    for series in &panel.series {
        let colour = rgb(series.style.colour);
        let pts = series.points.clone();
        match series.style.dash {
            None => chart.draw_series(LineSeries::new(pts, colour.stroke_width(2)))?,
            Some((on, off)) => {
                chart.draw_series(DashedLineSeries::new(pts, on, off, colour.stroke_width(2)))?
            }
        };
    }
    for series in &panel.series {
        let every = series.points.len().div_ceil(MARKS_PER_LINE).max(1);
        for p in series.points.iter().step_by(every) {
            let centre = chart.backend_coord(p);
            let colour = rgb(series.style.colour);
            legend::marker(
                root,
                series.style.marker,
                centre,
                MARKER_R - 1.0,
                colour,
                true,
            )?;
        }
    }
    Ok(())
}

/// The legend below the panels, its top at `y0`: swatch and label per target, three to a row.
fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: &Timeline,
    y0: i32,
) -> DrawResult<(), DB> {
    let top = y0 + PAD as i32 + ROW_H as i32 / 2;
    for (k, row) in t.rows.iter().enumerate() {
        let x = 24 + (k % LEGEND_COLUMNS) as i32 * LEGEND_W;
        let y = top + (k / LEGEND_COLUMNS) as i32 * ROW_H as i32;
        legend::swatch(root, &row.style, (x, y), row.style.dash, true)?;
        let label_x = x + SWATCH_W + 10;
        match &row.missing {
            None => root.draw(&Text::new(
                clip(&row.label, 40),
                (label_x, y),
                text(14, &INK, HPos::Left),
            ))?,
            Some(why) => root.draw(&Text::new(
                clip(&format!("{}: {why}", row.label), 48),
                (label_x, y),
                text(13, &MISSING_TEXT, HPos::Left),
            ))?,
        }
    }
    let rows = t.rows.len().div_ceil(LEGEND_COLUMNS) as i32;
    let mut y = y0 + PAD as i32 + rows * ROW_H as i32 + NOTE_H as i32 / 2;
    for note in legend::note_lines(&t.notes) {
        root.draw(&Text::new(note, (24, y), text(13, &MUTED, HPos::Left)))?;
        y += NOTE_H as i32;
    }
    Ok(())
}
