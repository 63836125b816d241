//! The marks that tell targets apart on line charts (marker shapes, dash patterns) and the
//! legend swatches that name them. Legends go below the plot, never over the data.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::{rgb, DrawResult};
use crate::palette::{Dash, Marker, Style};

/// Legend row height in pixels.
pub(super) const ROW_H: u32 = 24;
/// Height of one line of notes under a legend.
pub(super) const NOTE_H: u32 = 18;
/// Characters of a note line at 13 px across a 1200-px chart.
pub(super) const NOTE_CHARS: usize = 165;
/// Marker radius on lines and in legends.
pub(super) const MARKER_R: f64 = 5.0;
/// A swatch's width: a line sample with the marker in its middle.
pub(super) const SWATCH_W: i32 = 34;

/// Draws `marker` centred on `(x, y)` (pixels): filled, or hollow (a white inside and a coloured
/// outline) for the uncorrected lines of a spectrum.
pub(super) fn marker<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    marker: Marker,
    (x, y): (i32, i32),
    r: f64,
    colour: RGBColor,
    filled: bool,
) -> DrawResult<(), DB> {
    let Some(outline) = marker.outline(r) else {
        let radius = r.round() as u32;
        if filled {
            return root.draw(&Circle::new((x, y), radius, colour.filled()));
        }
        root.draw(&Circle::new((x, y), radius, WHITE.filled()))?;
        return root.draw(&Circle::new((x, y), radius, colour.stroke_width(2)));
    };
    let points: Vec<(i32, i32)> = outline
        .iter()
        .map(|(dx, dy)| (x + dx.round() as i32, y + dy.round() as i32))
        .collect();
    if filled {
        return root.draw(&Polygon::new(points, colour.filled()));
    }
    root.draw(&Polygon::new(points.clone(), WHITE.filled()))?;
    let mut closed = points.clone();
    closed.push(points[0]);
    root.draw(&PathElement::new(closed, colour.stroke_width(2)))
}

/// A horizontal line from `from` to `to` (pixels), solid or dashed.
pub(super) fn line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    from: (i32, i32),
    to: (i32, i32),
    dash: Dash,
    style: ShapeStyle,
) -> DrawResult<(), DB> {
    match dash {
        None => root.draw(&PathElement::new(vec![from, to], style)),
        Some((on, off)) => root.draw(&DashedPathElement::new(vec![from, to], on, off, style)),
    }
}

/// A legend swatch with its left end at `(x, y)`: a line sample in the target's colour and
/// `dash`, with its marker in the middle.
pub(super) fn swatch<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    style: &Style,
    (x, y): (i32, i32),
    dash: Dash,
    filled: bool,
) -> DrawResult<(), DB> {
    let colour = rgb(style.colour);
    line(
        root,
        (x, y),
        (x + SWATCH_W, y),
        dash,
        colour.stroke_width(if filled { 3 } else { 2 }),
    )?;
    marker(
        root,
        style.marker,
        (x + SWATCH_W / 2, y),
        MARKER_R,
        colour,
        filled,
    )
}

/// `text` cut into lines of at most `width` characters at spaces.
pub(super) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// The note lines under a legend.
pub(super) fn note_lines(notes: &[String]) -> Vec<String> {
    notes.iter().flat_map(|n| wrap(n, NOTE_CHARS)).collect()
}

/// Log-log interpolation of a line through `points` (x increasing) at `x`, when `x` is within.
pub(super) fn at_x(points: &[(f64, f64)], x: f64) -> Option<f64> {
    let k = points.windows(2).position(|w| w[0].0 <= x && x <= w[1].0)?;
    let ((x0, y0), (x1, y1)) = (points[k], points[k + 1]);
    if x1 <= x0 {
        return Some(y0);
    }
    let t = (x.ln() - x0.ln()) / (x1.ln() - x0.ln());
    Some((y0.ln() + t * (y1.ln() - y0.ln())).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("aaaaaaa b", 3), vec!["aaaaaaa", "b"]);
        assert!(wrap("", 5).is_empty());
    }

    #[test]
    fn interpolation_is_log_log() {
        let pts = [(1.0, 10.0), (100.0, 1000.0)];
        let y = at_x(&pts, 10.0).unwrap();
        assert!((y - 100.0).abs() < 1e-9, "{y}");
        assert_eq!(at_x(&pts, 1000.0), None);
    }
}
