//! The report's property: any bytes given as run.json are refused with an error or rendered
//! (markdown, HTML, every chart as SVG), never a panic or a hang. Extreme figures (1e308, huge,
//! negative) once made plotters loop for ever and grow to 16 GB.

use rtbench_report::{ChartSvg, Format, Html, Markdown, Report};

/// Renders `input` as a run.json, if it parses as one; whether it did.
pub fn report_run(input: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(input) else {
        return false;
    };
    let Ok(run) = rtbench_results::parse_run(text) else {
        return false;
    };
    let report = Report::from_run(run);
    let mut out = Vec::new();
    Markdown.write(&report, &mut out).expect("markdown renders");
    Html.write(&report, &mut out).expect("html renders");
    for chart in report.charts() {
        out.clear();
        ChartSvg { id: chart.id }
            .write(&report, &mut out)
            .expect("svg renders");
    }
    true
}
