//! `report.html`: the outline as one self-contained page. Charts are inline SVG, the style sheet
//! is inline, there are no scripts and no references to other files, so the page can be opened
//! or published on its own.

use std::io::{self, Write};

use crate::doc::{outline, Block};
use crate::plot;
use crate::report::Report;
use crate::table::{Mark, Table};

const STYLE: &str = r#"
body { font-family: "DejaVu Sans", system-ui, sans-serif; color: #222; margin: 0; background: #fff; }
main { max-width: 1400px; margin: 0 auto; padding: 24px; }
h1 { font-size: 1.7em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
td.flagged { background: #fff1c2; }
td.missing { color: #801010; background: repeating-linear-gradient(45deg, #fafafa, #fafafa 6px, #ececec 6px, #ececec 12px); }
td.consistent { background: #dff3df; }
td.better { background: #dbe9fb; }
td.worse { background: #fbe0e0; }
td.inconclusive { background: #eeeeee; font-style: italic; }
figure { margin: 0.5em 0 1.5em; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption, p.note { color: #555; font-size: 0.9em; max-width: 70em; }
code { background: #f4f4f4; padding: 0 3px; }
h1 { margin: 0.2em 0 0.4em; }
main > p, main > ul { max-width: 86em; line-height: 1.4; }
nav.toc { margin: 0.8em 0; padding: 6px 10px; background: #f6f6f6; border: 1px solid #e2e2e2; }
nav.toc a { margin-left: 0.9em; }
"#;

/// `s` with HTML's special characters escaped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escaped text with `code` spans for backticks and `**strong**` spans, as the outline writes
/// them.
fn inline(s: &str) -> String {
    let strong: String = escape(s)
        .split("**")
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<strong>{part}</strong>")
            } else {
                part.to_string()
            }
        })
        .collect();
    strong
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

fn table(out: &mut dyn Write, t: &Table) -> io::Result<()> {
    writeln!(out, "<table id=\"{}\">", escape(&t.id))?;
    if !t.title.is_empty() {
        writeln!(out, "<caption>{}</caption>", inline(&t.title))?;
    }
    write!(out, "<thead><tr>")?;
    for h in &t.headers {
        write!(out, "<th>{}</th>", inline(h))?;
    }
    writeln!(out, "</tr></thead><tbody>")?;
    for row in &t.rows {
        write!(out, "<tr>")?;
        for c in row {
            match c.mark {
                Mark::Plain => write!(out, "<td>{}</td>", inline(&c.text))?,
                m => write!(out, "<td class=\"{}\">{}</td>", m.class(), inline(&c.text))?,
            }
        }
        writeln!(out, "</tr>")?;
    }
    writeln!(out, "</tbody></table>")?;
    for n in &t.notes {
        writeln!(out, "<p class=\"note\">{}</p>", inline(n))?;
    }
    Ok(())
}

/// Writes the whole report as one HTML page.
pub(crate) fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "<!DOCTYPE html>")?;
    writeln!(out, "<html lang=\"en\"><head><meta charset=\"utf-8\">")?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<title>rtbench report: {}</title>",
        escape(&report.run().run_id)
    )?;
    writeln!(out, "<style>{STYLE}</style></head><body><main>")?;
    let blocks = outline(report);
    for block in &blocks {
        match block {
            Block::Heading(level, text) => writeln!(out, "<h{level}>{}</h{level}>", inline(text))?,
            Block::Section(id, text) => {
                writeln!(out, "<h2 id=\"{}\">{}</h2>", escape(id), inline(text))?
            }
            Block::Contents(items) => {
                write!(out, "<nav class=\"toc\"><strong>Contents:</strong>")?;
                for (id, text) in items {
                    write!(out, " <a href=\"#{}\">{}</a>", escape(id), inline(text))?;
                }
                writeln!(out, "</nav>")?;
            }
            Block::Paragraph(text) => writeln!(out, "<p>{}</p>", inline(text))?,
            Block::List(items) => {
                writeln!(out, "<ul>")?;
                for i in items {
                    writeln!(out, "<li>{}</li>", inline(i))?;
                }
                writeln!(out, "</ul>")?;
            }
            Block::Table(t) => table(out, t)?,
            Block::Chart(i) => {
                let c = &report.charts[*i];
                let svg = plot::svg(c)?;
                // Inline: drop any XML prolog and label the image for screen readers.
                let start = svg.find("<svg").unwrap_or(0);
                let svg = svg[start..].replacen(
                    "<svg",
                    &format!("<svg role=\"img\" aria-label=\"{}\"", escape(&c.title)),
                    1,
                );
                writeln!(out, "<figure id=\"{}\">{svg}</figure>", escape(&c.id))?;
            }
        }
    }
    writeln!(out, "</main></body></html>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_code_and_escaping() {
        assert_eq!(inline("a `b<c` & d"), "a <code>b&lt;c</code> &amp; d");
        assert_eq!(inline("**What:** x"), "<strong>What:</strong> x");
    }
}
