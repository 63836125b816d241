//! Output formats behind one small trait, and the function that writes them all to a run's
//! `report/` folder. Formats write bytes to a `Write`; only [`render_run`] opens files.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::ReportError;
use crate::report::Report;
use crate::{html, markdown, plot};

/// One output file's format: turns a [`Report`] into bytes. No file I/O.
pub trait Format {
    /// The file name under `report/` this format is written to.
    fn file_name(&self) -> String;
    /// Writes the whole file to `out`.
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

/// `report.md`: tables and prose, charts linked as PNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

/// `report.html`: one self-contained page, charts inline as SVG, no scripts, no external files.
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

/// One chart as SVG (`<id>.svg`).
#[derive(Debug, Clone)]
pub struct ChartSvg {
    /// The chart's id, as in [`Report::charts`].
    pub id: String,
}

/// One chart as PNG (`<id>.png`), text drawn with the bundled font.
#[derive(Debug, Clone)]
pub struct ChartPng {
    /// The chart's id, as in [`Report::charts`].
    pub id: String,
}

impl Format for Markdown {
    fn file_name(&self) -> String {
        "report.md".into()
    }

    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        markdown::write(report, out)
    }
}

impl Format for Html {
    fn file_name(&self) -> String {
        "report.html".into()
    }

    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        html::write(report, out)
    }
}

fn chart<'a>(report: &'a Report, id: &str) -> io::Result<&'a crate::chart::Chart> {
    report
        .charts
        .iter()
        .find(|c| c.id == id)
        .ok_or_else(|| io::Error::other(format!("this run has no chart named {id}")))
}

impl Format for ChartSvg {
    fn file_name(&self) -> String {
        format!("{}.svg", self.id)
    }

    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(plot::svg(chart(report, &self.id)?)?.as_bytes())
    }
}

impl Format for ChartPng {
    fn file_name(&self) -> String {
        format!("{}.png", self.id)
    }

    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        plot::png(chart(report, &self.id)?, out)
    }
}

/// A chart of a report, as [`Report::charts`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartInfo {
    /// File stem: the chart is `<id>.svg` and `<id>.png`.
    pub id: String,
    pub title: String,
    /// Size in pixels of both the SVG and the PNG.
    pub width: u32,
    pub height: u32,
}

impl Report {
    /// The charts this run gets, in report order.
    pub fn charts(&self) -> Vec<ChartInfo> {
        self.charts
            .iter()
            .map(|c| {
                let (width, height) = plot::size(c);
                ChartInfo {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    width,
                    height,
                }
            })
            .collect()
    }

    /// Charts not drawn because the run lacks their scenario: (chart title, reason).
    pub fn skipped_charts(&self) -> Vec<(String, String)> {
        self.skipped
            .iter()
            .map(|s| (s.title.clone(), s.reason.clone()))
            .collect()
    }

    /// Every format of the report: markdown, HTML, and each chart as SVG and PNG.
    pub fn formats(&self) -> Vec<Box<dyn Format>> {
        let mut out: Vec<Box<dyn Format>> = vec![Box::new(Markdown), Box::new(Html)];
        for c in &self.charts {
            out.push(Box::new(ChartSvg { id: c.id.clone() }));
            out.push(Box::new(ChartPng { id: c.id.clone() }));
        }
        out
    }
}

/// The files [`render_run`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    /// `DIR/report/`.
    pub dir: PathBuf,
    pub markdown: PathBuf,
    pub html: PathBuf,
    /// Each chart with its two files.
    pub charts: Vec<ChartFiles>,
    /// Charts not drawn, with the reason (also said in report.md).
    pub skipped: Vec<(String, String)>,
    /// Trial values refused as no measurement (also listed in report.md), one line each.
    pub refused: Vec<String>,
}

/// One chart's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFiles {
    pub info: ChartInfo,
    pub svg: PathBuf,
    pub png: PathBuf,
}

/// Renders `run_dir/run.json` into `run_dir/report/`: `report.md`, `report.html`, and every
/// chart as SVG and PNG. Each file is written to a temporary name and renamed, so a failure never
/// leaves a half-written file in place of a good one.
pub fn render_run(run_dir: &Path) -> Result<ReportFiles, ReportError> {
    let report = Report::load(run_dir)?;
    let dir = run_dir.join("report");
    write_all(&report, &dir)
}

/// Writes every format of `report` into `dir` (created if needed).
pub fn write_all(report: &Report, dir: &Path) -> Result<ReportFiles, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    for format in report.formats() {
        write_file(report, format.as_ref(), dir)?;
    }
    Ok(ReportFiles {
        dir: dir.to_path_buf(),
        markdown: dir.join(Markdown.file_name()),
        html: dir.join(Html.file_name()),
        charts: report
            .charts()
            .into_iter()
            .map(|info| ChartFiles {
                svg: dir.join(format!("{}.svg", info.id)),
                png: dir.join(format!("{}.png", info.id)),
                info,
            })
            .collect(),
        skipped: report.skipped_charts(),
        refused: report.refused(),
    })
}

fn write_file(report: &Report, format: &dyn Format, dir: &Path) -> Result<PathBuf, ReportError> {
    let path = dir.join(format.file_name());
    let tmp = dir.join(format!(".{}.tmp", format.file_name()));
    let result = (|| {
        let mut out = BufWriter::new(File::create(&tmp)?);
        format.write(report, &mut out)?;
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        ReportError::Write {
            path: path.clone(),
            source,
        }
    })?;
    Ok(path)
}
