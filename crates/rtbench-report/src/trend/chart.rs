//! One SVG chart per scenario × variant × metric: each target's run medians over the runs, a
//! dashed vertical line and a ring at each of its change points (grey when the change was
//! machine-wide).

use std::collections::BTreeMap;
use std::io;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use super::analysis::{Series, Trend};

/// The report crate's bundled DejaVu Sans, registered for the SVG backend's text layout.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FAMILY: &str = "DejaVu Sans, sans-serif";

fn register_font() -> io::Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    ok.then_some(())
        .ok_or_else(|| io::Error::other("the bundled DejaVu Sans font could not be parsed"))
}

/// A chart file's name and SVG text.
pub struct TrendChart {
    /// `<scenario>[-<variant>]-<metric>.svg`, safe as a file name.
    pub file_name: String,
    pub svg: String,
}

/// One chart per scenario × variant × metric of `trend`.
pub fn trend_charts(trend: &Trend) -> io::Result<Vec<TrendChart>> {
    register_font()?;
    let mut groups: BTreeMap<(&str, &str, &str), Vec<&Series>> = BTreeMap::new();
    for s in &trend.series {
        groups
            .entry((&s.scenario, &s.variant, &s.metric))
            .or_default()
            .push(s);
    }
    groups
        .into_iter()
        .map(|((scenario, variant, metric), series)| {
            let stem = [scenario, variant, metric]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("-");
            let file_name: String = stem
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
                + ".svg";
            let title = format!("{stem} ({}) per run", series[0].unit);
            let svg = draw(trend, &title, &series)
                .map_err(|e| io::Error::other(format!("chart {file_name}: {e}")))?;
            Ok(TrendChart { file_name, svg })
        })
        .collect()
}

fn draw(trend: &Trend, title: &str, series: &[&Series]) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (1000, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let runs = trend.runs.len().max(2) - 1;
        let values = series.iter().flat_map(|s| s.points.iter().map(|&(_, v)| v));
        let top = values.fold(0.0_f64, f64::max) * 1.1;
        let top = if top > 0.0 { top } else { 1.0 };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(80)
            .build_cartesian_2d(0..runs, 0.0..top)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("run (oldest → newest)")
            .label_style((FAMILY, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        for (k, s) in series.iter().enumerate() {
            let colour = Palette99::pick(k).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(|e| e.to_string())?
                .label(s.target.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour));
            for c in &s.changes {
                let ink = if c.machine_wide {
                    RGBColor(0x99, 0x99, 0x99).to_rgba()
                } else {
                    colour
                };
                chart
                    .draw_series(DashedLineSeries::new(
                        [(c.run, 0.0), (c.run, top)],
                        6,
                        4,
                        ink.stroke_width(2),
                    ))
                    .map_err(|e| e.to_string())?;
                // A ring on the first point after the change: the one mark per change point.
                let after = s.points.iter().find(|&&(run, _)| run == c.run);
                chart
                    .draw_series(after.map(|&p| Circle::new(p, 6, ink.stroke_width(2))))
                    .map_err(|e| e.to_string())?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font((FAMILY, 13))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}
