//! `report.md`: the outline as GitHub-flavoured markdown, charts linked as PNG beside it.

use std::io::{self, Write};

use crate::doc::{outline, Block};
use crate::report::Report;
use crate::table::Table;

/// A table cell's text with the characters that would break a markdown table escaped.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn table(out: &mut dyn Write, t: &Table) -> io::Result<()> {
    if !t.title.is_empty() {
        writeln!(out, "**{}**\n", t.title)?;
    }
    if let Some(intro) = &t.intro {
        writeln!(out, "{intro}\n")?;
    }
    let header: Vec<String> = t.headers.iter().map(|h| cell(h)).collect();
    writeln!(out, "| {} |", header.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(t.headers.len()))?;
    for row in &t.rows {
        let cells: Vec<String> = row.iter().map(|c| cell(&c.text)).collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    writeln!(out)?;
    for n in &t.notes {
        writeln!(out, "{n}\n")?;
    }
    Ok(())
}

/// Writes the whole report as markdown.
pub(crate) fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for block in outline(report) {
        match block {
            Block::Heading(level, text) => writeln!(out, "{} {text}\n", "#".repeat(level.into()))?,
            Block::Section(id, text) => writeln!(out, "<a id=\"{id}\"></a>\n\n## {text}\n")?,
            Block::Contents(items) => {
                let links: Vec<String> = items
                    .iter()
                    .map(|(id, t)| format!("[{t}](#{id})"))
                    .collect();
                writeln!(out, "**Contents:** {}\n", links.join(" · "))?;
            }
            Block::Paragraph(text) => writeln!(out, "{text}\n")?,
            Block::List(items) => {
                for i in items {
                    writeln!(out, "- {i}")?;
                }
                writeln!(out)?;
            }
            Block::Table(t) => table(out, &t)?,
            Block::Chart(i) => {
                let c = &report.charts[i];
                writeln!(
                    out,
                    "![{}]({}.png)\n\n[SVG]({}.svg)\n",
                    c.title.replace(['[', ']'], ""),
                    c.id,
                    c.id
                )?;
            }
        }
    }
    Ok(())
}
