//! Drawing charts with plotters, on any backend: SVG text or an RGB buffer encoded as PNG.
//!
//! Text is laid out with DejaVu Sans, bundled in the crate and registered with plotters'
//! `ab_glyph` font table, so a PNG renders the same on a machine with no system fonts.

use std::io;
use std::sync::OnceLock;

use ab_glyph::FontRef;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use crate::chart::{Bar, BarKind, Body, Chart, Panel};
use crate::model::Rgb;
use crate::raster::{layout, Canvas, EM_TO_PLOTTERS};
use rtbench_results::Unit;

mod legend;
mod spectrum;
mod timeline;

/// DejaVu Sans 2.37; licence in `assets/LICENSE-DejaVu.txt`.
static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
/// The family charts ask for: the bundled font by name (SVG viewers that have it use it, others
/// fall back to their sans-serif); also the key the font is registered under for layout.
const FAMILY: &str = "DejaVu Sans, sans-serif";

const TITLE_H: u32 = 56;
const FOOTER_H: u32 = 66;
const PANEL_CAPTION_H: u32 = 44;
const AXIS_H: u32 = 52;
const ROW_H: u32 = 24;
const GROUP_GAP: u32 = 12;
/// The provenance strip along the bottom edge of every chart.
const PROVENANCE_H: u32 = 28;

const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
const GRID: RGBColor = RGBColor(0xE4, 0xE4, 0xE4);
const SURVEY_FILL: RGBColor = RGBColor(0xD9, 0xD9, 0xD9);
const SURVEY_RANGE: RGBColor = RGBColor(0x80, 0x80, 0x80);
const MISSING_INK: RGBColor = RGBColor(0x99, 0x99, 0x99);
/// Flags (client-bound, not sustained) and missing figures.
const WARN: RGBColor = RGBColor(0xB0, 0x30, 0x00);
const MISSING_TEXT: RGBColor = RGBColor(0x80, 0x10, 0x10);

type DrawResult<T, DB> = Result<T, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The bundled font, parsed and registered with plotters once (the SVG backend lays text out
/// through plotters' font table); every later call returns the first outcome.
fn font() -> io::Result<FontRef<'static>> {
    static PARSED: OnceLock<Result<FontRef<'static>, String>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            let bad = "the bundled DejaVu Sans font could not be parsed".to_string();
            plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
                .map_err(|_| bad.clone())?;
            FontRef::try_from_slice(FONT).map_err(|_| bad)
        })
        .clone()
        .map_err(io::Error::other)
}

/// Width in pixels of `s` at `em` px per em, as the PNG canvas draws it.
fn text_width(s: &str, em: u32) -> i32 {
    match font() {
        Ok(f) => layout(&f, s, f64::from(em)).1.ceil() as i32,
        Err(_) => (s.chars().count() as u32 * em * 6 / 10) as i32,
    }
}

/// The chart's size in pixels (the same for SVG and PNG).
pub(crate) fn size(chart: &Chart) -> (u32, u32) {
    match &chart.body {
        Body::Spectrum(s) => (1200, TITLE_H + spectrum::height(s) + PROVENANCE_H),
        Body::Timeline(t) => (1200, TITLE_H + timeline::height(t) + PROVENANCE_H),
        Body::Bars { columns, panels } => {
            let columns = (*columns).max(1);
            let width = if columns > 1 { 1600 } else { 1200 };
            let body: u32 = panels
                .chunks(columns)
                .map(|row| row.iter().map(panel_height).max().unwrap_or(0))
                .sum();
            (width, TITLE_H + body + FOOTER_H + PROVENANCE_H)
        }
    }
}

fn panel_height(p: &Panel) -> u32 {
    let bars: usize = p.groups.iter().map(|g| g.bars.len()).sum();
    PANEL_CAPTION_H + 10 + bars as u32 * ROW_H + p.groups.len() as u32 * GROUP_GAP + AXIS_H
}

/// The chart as an SVG document.
pub(crate) fn svg(chart: &Chart) -> io::Result<String> {
    font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size(chart)).into_drawing_area();
        draw(chart, &root).map_err(|e| io::Error::other(format!("chart {}: {e}", chart.id)))?;
        root.present()
            .map_err(|e| io::Error::other(format!("chart {}: {e}", chart.id)))?;
    }
    Ok(out)
}

/// The chart as a PNG image written to `out`.
pub(crate) fn png(chart: &Chart, out: &mut dyn io::Write) -> io::Result<()> {
    let font = font()?;
    let (w, h) = size(chart);
    let mut buf = vec![0u8; w as usize * h as usize * 3];
    {
        let canvas = Canvas::new(BitMapBackend::with_buffer(&mut buf, (w, h)), font);
        let root = canvas.into_drawing_area();
        draw(chart, &root).map_err(|e| io::Error::other(format!("chart {}: {e}", chart.id)))?;
        root.present()
            .map_err(|e| io::Error::other(format!("chart {}: {e}", chart.id)))?;
    }
    let mut encoder = ::png::Encoder::new(out, w, h);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(io::Error::other)?;
    writer.write_image_data(&buf).map_err(io::Error::other)?;
    writer.finish().map_err(io::Error::other)
}

fn rgb(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

/// The chart font at `em` pixels per em. plotters' sizes are line heights (its SVG backend
/// writes `font-size` = size / 1.24), so the size given to plotters is scaled up to match.
fn face(em: u32) -> FontDesc<'static> {
    (FAMILY, f64::from(em) * EM_TO_PLOTTERS).into_font()
}

fn text<'a>(em: u32, colour: &'a RGBColor, h: HPos) -> TextStyle<'a> {
    TextStyle::from(face(em))
        .color(colour)
        .pos(Pos::new(h, VPos::Center))
}

/// Shortens `s` to `max` characters, marking the cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// Turns an axis value into its tick label.
type TickFormat<'a> = &'a dyn Fn(&f64) -> String;

/// The axes of the line charts: muted titles, a light grid, tick labels by `xf` and `yf` at about
/// `labels` = (x, y) places.
fn axes<DB, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    (x_desc, y_desc): (&str, &str),
    (xf, yf): (TickFormat, TickFormat),
    (x_labels, y_labels): (usize, usize),
) -> DrawResult<(), DB>
where
    DB: DrawingBackend,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_label_formatter(xf)
        .y_label_formatter(yf)
        .x_labels(x_labels)
        .y_labels(y_labels)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(face(14).color(&MUTED))
        .label_style(face(13).color(&INK))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED)
        .draw()
}

fn draw<DB: DrawingBackend>(chart: &Chart, root: &DrawingArea<DB, Shift>) -> DrawResult<(), DB> {
    root.fill(&WHITE)?;
    let (w, full_h) = root.dim_in_pixel();
    root.draw(&PathElement::new(
        vec![
            (0, (full_h - PROVENANCE_H) as i32),
            (w as i32, (full_h - PROVENANCE_H) as i32),
        ],
        GRID.stroke_width(1),
    ))?;
    root.draw(&Text::new(
        chart.footer.clone(),
        (24, (full_h - PROVENANCE_H / 2) as i32),
        text(13, &MUTED, HPos::Left),
    ))?;
    let root = &root.margin(0, PROVENANCE_H, 0, 0);
    let h = full_h - PROVENANCE_H;
    root.draw(&Text::new(
        chart.title.clone(),
        (24, (TITLE_H / 2) as i32),
        text(22, &INK, HPos::Left),
    ))?;
    match &chart.body {
        Body::Spectrum(s) => spectrum::draw(root, &root.margin(TITLE_H, 0, 0, 0), s),
        Body::Timeline(t) => timeline::draw(root, &root.margin(TITLE_H, 0, 0, 0), t),
        Body::Bars { columns, panels } => {
            let columns = (*columns).max(1);
            let col_w = w / columns as u32;
            // One label column for every panel, so stacked panels share their value axis.
            let groups = || panels.iter().flat_map(|p| &p.groups);
            let group_w = groups()
                .map(|g| text_width(&g.label, 15))
                .max()
                .unwrap_or(0);
            let bar_w = groups()
                .flat_map(|g| &g.bars)
                .map(|b| text_width(&b.label, 12))
                .max()
                .unwrap_or(0);
            let label_w = (10 + 18 + group_w + 16 + bar_w + 10).clamp(200, 420) as u32;
            let mut y = TITLE_H;
            for row in panels.chunks(columns) {
                let row_h = row.iter().map(panel_height).max().unwrap_or(0);
                for (i, p) in row.iter().enumerate() {
                    let x = i as u32 * col_w;
                    let area = root.margin(y, h - y - row_h, x, w - x - col_w);
                    draw_panel(root, &area, p, label_w)?;
                }
                y += row_h;
            }
            let bars = || panels.iter().flat_map(|p| &p.groups).flat_map(|g| &g.bars);
            let mut legend = vec!["Bar: median over the trials; whisker: min–max of the trials."];
            if bars().any(|b| matches!(b.kind, BarKind::Claimed { .. })) {
                legend[0] = "Bar: median over the trials; whisker: min–max of the trials. Grey: \
                             the survey's figure (dark grey: its range; arrow: open-ended).";
            }
            if bars().any(|b| matches!(b.kind, BarKind::Measured { hatched: true, .. })) {
                legend.push(
                    "Hatched bar: client-bound (load generator ≥ 90% busy, so the server may be \
                     faster) or not sustained (below 98% of the asked rate).",
                );
            }
            if bars().any(|b| matches!(b.kind, BarKind::Missing(_))) {
                legend.push(
                    "White hatched box: no figure (failed, unavailable, not run, not sustained, \
                     leaked): the reason is written beside it, never drawn as zero.",
                );
            }
            for (i, line) in legend.iter().enumerate() {
                root.draw(&Text::new(
                    line.to_string(),
                    (24, (h - FOOTER_H + 12 + i as u32 * 18) as i32),
                    text(13, &MUTED, HPos::Left),
                ))?;
            }
            Ok(())
        }
    }
}

/// Diagonal hatching inside the pixel rectangle `(x0, y0)–(x1, y1)`.
fn hatch<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    colour: RGBAColor,
) -> DrawResult<(), DB> {
    let (top, bottom) = (y0.min(y1), y0.max(y1));
    let (left, right) = (x0.min(x1), x0.max(x1));
    let h = bottom - top;
    if h <= 0 || right <= left {
        return Ok(());
    }
    let mut a = left - h;
    while a < right {
        // The segment from (a, bottom) to (a + h, top), cut to the rectangle's width.
        let t0 = ((left - a) as f64 / h as f64).max(0.0);
        let t1 = ((right - a) as f64 / h as f64).min(1.0);
        if t0 < t1 {
            let p = |t: f64| (a + (t * h as f64) as i32, bottom - (t * h as f64) as i32);
            root.draw(&PathElement::new(
                vec![p(t0), p(t1)],
                colour.stroke_width(1),
            ))?;
        }
        a += 7;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    label_w: u32,
) -> DrawResult<(), DB> {
    let unit = panel.unit;
    // Rows top to bottom, a gap after each group; y runs upward in chart coordinates.
    let mut rows: Vec<(usize, usize, f64)> = Vec::new(); // (group, bar, y centre)
    let gap = GROUP_GAP as f64 / ROW_H as f64;
    let mut y = 0.0;
    for (g, group) in panel.groups.iter().enumerate() {
        for b in 0..group.bars.len() {
            rows.push((g, b, y + 0.5));
            y += 1.0;
        }
        y += gap;
    }
    let total = y.max(1.0);

    let data_max = panel
        .groups
        .iter()
        .flat_map(|g| &g.bars)
        .map(|b| match &b.kind {
            BarKind::Measured { median, max, .. } => median.max(*max),
            BarKind::Claimed { low, high, .. } => high.unwrap_or(low * 1.15),
            BarKind::Missing(_) => 0.0,
        })
        .fold(0.0, f64::max);
    let data_max = match unit {
        Unit::Ratio => data_max.max(1.0),
        _ if data_max > 0.0 => data_max,
        _ => 1.0,
    };
    // Room on the right for the value labels.
    let x_max = data_max * 1.55;

    let mut chart = ChartBuilder::on(area)
        .caption(panel.title.clone(), face(18).color(&INK))
        .margin_top(14)
        .margin_right(16)
        .margin_bottom(4)
        .x_label_area_size(AXIS_H - 6)
        .y_label_area_size(label_w)
        .build_cartesian_2d(0f64..x_max, 0f64..total)?;
    let formatter = |v: &f64| unit.tick(*v);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(6)
        .x_label_formatter(&formatter)
        .x_desc(panel.axis.clone())
        .axis_desc_style(face(14).color(&MUTED))
        .label_style(face(13).color(&MUTED))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED)
        .draw()?;

    let at = |x: f64, y: f64| chart.backend_coord(&(x, total - y));
    let (axis_x, _) = at(0.0, 0.0);
    let (right_px, _) = at(x_max, 0.0);
    let label_x = axis_x - label_w as i32 + 10;
    for (g, group) in panel.groups.iter().enumerate() {
        let colour = rgb(group.colour);
        let first = rows.iter().find(|r| r.0 == g).map_or(0.0, |r| r.2);
        let (_, gy) = at(0.0, first);
        root.draw(&Rectangle::new(
            [(label_x, gy - 6), (label_x + 12, gy + 6)],
            colour.filled(),
        ))?;
        root.draw(&Text::new(
            group.label.clone(),
            (label_x + 18, gy),
            text(15, &INK, HPos::Left),
        ))?;
    }
    for (g, b, yc) in &rows {
        let group = &panel.groups[*g];
        let bar: &Bar = &group.bars[*b];
        let colour = rgb(group.colour);
        let (_, py) = at(0.0, *yc);
        let half = (ROW_H as f64 * 0.38) as i32;
        root.draw(&Text::new(
            bar.label.clone(),
            (axis_x - 8, py),
            text(12, &MUTED, HPos::Right),
        ))?;
        let value_label = |x: f64, s: String, c: &RGBColor| {
            let (px, _) = at(x, *yc);
            root.draw(&Text::new(s, (px + 8, py), text(13, c, HPos::Left)))
        };
        match &bar.kind {
            BarKind::Measured {
                median,
                min,
                max,
                flags,
                hatched,
                note,
            } => {
                let (x1, _) = at(*median, *yc);
                root.draw(&Rectangle::new(
                    [(axis_x, py - half), (x1.max(axis_x + 1), py + half)],
                    colour.filled(),
                ))?;
                if *hatched {
                    hatch(root, (axis_x, py - half), (x1, py + half), WHITE.mix(0.85))?;
                }
                if max > min {
                    let (a, _) = at(*min, *yc);
                    let (b, _) = at(*max, *yc);
                    let whisker = INK.stroke_width(1);
                    root.draw(&PathElement::new(vec![(a, py), (b, py)], whisker))?;
                    root.draw(&PathElement::new(vec![(a, py - 5), (a, py + 5)], whisker))?;
                    root.draw(&PathElement::new(vec![(b, py - 5), (b, py + 5)], whisker))?;
                }
                // Pieces drawn one after another with pixel gaps: SVG collapses repeated spaces.
                let (px, _) = at(median.max(*max), *yc);
                let mut x = px + 8;
                let ink = text(13, &INK, HPos::Left);
                x += draw_text_width(root, &unit.label(*median), (x, py), &ink, 13)? + 10;
                if let Some(note) = note.as_ref().filter(|n| !n.is_empty()) {
                    x += draw_text_width(root, note, (x, py), &ink, 13)? + 10;
                }
                if !flags.is_empty() {
                    let warn = text(13, &WARN, HPos::Left);
                    let flags = format!("⚠ {}", flags.join(", "));
                    draw_text_width(root, &flags, (x, py), &warn, 13)?;
                }
            }
            BarKind::Claimed { low, high, text: t } => {
                let (xl, _) = at(*low, *yc);
                root.draw(&Rectangle::new(
                    [(axis_x, py - half), (xl, py + half)],
                    SURVEY_FILL.filled(),
                ))?;
                let end = match high {
                    Some(h) if h > low => {
                        let (xh, _) = at(*h, *yc);
                        root.draw(&Rectangle::new(
                            [(xl, py - half + 2), (xh, py + half - 2)],
                            SURVEY_RANGE.filled(),
                        ))?;
                        *h
                    }
                    Some(_) => {
                        root.draw(&PathElement::new(
                            vec![(xl, py - half), (xl, py + half)],
                            SURVEY_RANGE.stroke_width(3),
                        ))?;
                        *low
                    }
                    None => {
                        // An open range: an arrow past the floor.
                        let (xa, _) = at(low * 1.15, *yc);
                        root.draw(&Rectangle::new(
                            [(xl, py - 2), (xa - 8, py + 2)],
                            SURVEY_RANGE.filled(),
                        ))?;
                        root.draw(&Polygon::new(
                            vec![(xa - 9, py - half), (xa, py), (xa - 9, py + half)],
                            SURVEY_RANGE.filled(),
                        ))?;
                        low * 1.15
                    }
                };
                value_label(end, t.clone(), &MUTED)?;
            }
            BarKind::Missing(why) => {
                let (x1, _) = at(data_max * 0.12, *yc);
                let x1 = x1.max(axis_x + 30);
                root.draw(&Rectangle::new(
                    [(axis_x, py - half), (x1, py + half)],
                    WHITE.filled(),
                ))?;
                hatch(
                    root,
                    (axis_x, py - half),
                    (x1, py + half),
                    MISSING_INK.mix(1.0),
                )?;
                root.draw(&Rectangle::new(
                    [(axis_x, py - half), (x1, py + half)],
                    MISSING_INK.stroke_width(1),
                ))?;
                // About 7 px per character at 13 px.
                let room = (right_px - x1 - 12).max(60) as usize / 7;
                root.draw(&Text::new(
                    clip(why, room),
                    (x1 + 8, py),
                    text(13, &MISSING_TEXT, HPos::Left),
                ))?;
            }
        }
    }
    Ok(())
}

/// Draws `s` at `pos` and returns its width in pixels, so more text can follow it.
fn draw_text_width<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    s: &str,
    pos: (i32, i32),
    style: &TextStyle,
    size: u32,
) -> DrawResult<i32, DB> {
    root.draw(&Text::new(s.to_string(), pos, style.clone()))?;
    Ok(text_width(s, size))
}

/// 1, 2, 5, 10, 20, 50 … within `lo..hi`: more ticks than decades alone on a log axis.
fn one_two_five(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi {
        for m in [1.0, 2.0, 5.0] {
            let v = decade * m;
            if v >= lo && v <= hi {
                out.push(v);
            }
        }
        decade *= 10.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks() {
        assert_eq!(
            one_two_five(80.0, 1200.0),
            vec![100.0, 200.0, 500.0, 1000.0]
        );
    }

    #[test]
    fn clip_marks_the_cut() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
