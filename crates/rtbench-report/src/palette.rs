//! How a target looks in every chart: a colour of its own hue, a marker shape and a dash
//! pattern, so ten or more lines stay apart in print, in grey and for colour-blind readers.

/// An RGB colour.
pub(crate) type Rgb = (u8, u8, u8);

/// One colour per runtime across every chart: ten distinct hues (vermillion, mustard, pink,
/// green, blue, purple, brown, black, wine, lime), dark enough for thin lines on white. The
/// earlier Okabe–Ito set held two blues and two oranges, which ten targets cannot afford.
pub(crate) const TARGET_COLOURS: [(&str, Rgb); 10] = [
    ("axum", (0xD5, 0x5E, 0x00)),
    ("go-nethttp", (0xB8, 0x8A, 0x00)),
    ("bun", (0xCC, 0x4C, 0x9C)),
    ("node-uws", (0x00, 0x9E, 0x73)),
    ("node-http", (0x00, 0x6B, 0xB8)),
    ("fastapi", (0x7B, 0x3F, 0xB0)),
    ("node-cluster", (0x8C, 0x51, 0x0A)),
    ("deno", (0x22, 0x22, 0x22)),
    ("workerd", (0xA0, 0x1C, 0x3C)),
    ("hono-bun", (0x5E, 0x9A, 0x16)),
];
/// For targets beyond the ten reference servers, in order of appearance (cyan, grey, indigo).
pub(crate) const SPARE_COLOURS: [Rgb; 3] =
    [(0x17, 0xA5, 0xB8), (0x77, 0x77, 0x77), (0x33, 0x22, 0x88)];

/// A marker shape, drawn filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Marker {
    #[default]
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Cross,
    Plus,
    Star,
    Pentagon,
    Hexagon,
    TriangleLeft,
    TriangleRight,
}

/// Every marker, in the order targets take them.
pub(crate) const MARKERS: [Marker; 12] = [
    Marker::Circle,
    Marker::Square,
    Marker::TriangleUp,
    Marker::Diamond,
    Marker::TriangleDown,
    Marker::Cross,
    Marker::Plus,
    Marker::Star,
    Marker::Pentagon,
    Marker::Hexagon,
    Marker::TriangleLeft,
    Marker::TriangleRight,
];

/// A line's dash: `None` solid, else (dash, gap) in pixels.
pub(crate) type Dash = Option<(u32, u32)>;

/// Dash patterns for lines that tell targets apart by dash (throughput over time; the latency
/// spectrum keeps solid and dashed for corrected and uncorrected).
const DASHES: [Dash; 4] = [None, Some((12, 5)), Some((4, 4)), Some((20, 6))];

/// How one target is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Style {
    pub colour: Rgb,
    pub marker: Marker,
    pub dash: Dash,
}

/// The colour of target `name`: its own, or the next spare.
pub(crate) fn colour_of(name: &str, spare: &mut impl Iterator<Item = Rgb>) -> Rgb {
    TARGET_COLOURS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| *c)
        .unwrap_or_else(|| spare.next().expect("spare colours cycle"))
}

/// Marker and dash for targets in report order, given their colours: the i-th target takes the
/// i-th marker, moving on when its colour already has that marker, so no two targets share
/// colour and marker while a colour has a marker left.
pub(crate) fn styles(colours: &[Rgb]) -> Vec<Style> {
    let mut used: Vec<(Rgb, Marker)> = Vec::new();
    colours
        .iter()
        .enumerate()
        .map(|(i, &colour)| {
            let marker = (0..MARKERS.len())
                .map(|k| MARKERS[(i + k) % MARKERS.len()])
                .find(|m| !used.contains(&(colour, *m)))
                .unwrap_or(MARKERS[i % MARKERS.len()]);
            used.push((colour, marker));
            Style {
                colour,
                marker,
                dash: DASHES[i % DASHES.len()],
            }
        })
        .collect()
}

impl Marker {
    /// The outline for a marker of radius `r` centred on 0, y down; `None` for the circle.
    pub fn outline(self, r: f64) -> Option<Vec<(f64, f64)>> {
        let regular = |n: usize, r: f64, turn: f64| -> Vec<(f64, f64)> {
            (0..n)
                .map(|k| {
                    let a = turn + k as f64 * std::f64::consts::TAU / n as f64;
                    (r * a.cos(), r * a.sin())
                })
                .collect()
        };
        let up = -std::f64::consts::FRAC_PI_2;
        // A plus of arm half-width w, turned by `turn`.
        let plus = |turn: f64| -> Vec<(f64, f64)> {
            let w = r * 0.38;
            let arms = [
                (w, -r),
                (w, -w),
                (r, -w),
                (r, w),
                (w, w),
                (w, r),
                (-w, r),
                (-w, w),
                (-r, w),
                (-r, -w),
                (-w, -w),
                (-w, -r),
            ];
            let (s, c) = turn.sin_cos();
            arms.iter()
                .map(|(x, y)| (x * c - y * s, x * s + y * c))
                .collect()
        };
        Some(match self {
            Marker::Circle => return None,
            Marker::Square => regular(4, r * 1.2, std::f64::consts::FRAC_PI_4),
            Marker::Diamond => regular(4, r * 1.3, up),
            Marker::TriangleUp => regular(3, r * 1.35, up),
            Marker::TriangleDown => regular(3, r * 1.35, -up),
            Marker::TriangleLeft => regular(3, r * 1.35, std::f64::consts::PI),
            Marker::TriangleRight => regular(3, r * 1.35, 0.0),
            Marker::Pentagon => regular(5, r * 1.15, up),
            Marker::Hexagon => regular(6, r * 1.1, 0.0),
            Marker::Plus => plus(0.0),
            Marker::Cross => plus(std::f64::consts::FRAC_PI_4),
            Marker::Star => (0..10)
                .map(|k| {
                    let a = up + k as f64 * std::f64::consts::PI / 5.0;
                    let radius = if k % 2 == 0 { r * 1.45 } else { r * 0.6 };
                    (radius * a.cos(), radius * a.sin())
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_reference_targets_differ_in_colour_and_marker() {
        let colours: Vec<Rgb> = TARGET_COLOURS.iter().map(|(_, c)| *c).collect();
        let styles = styles(&colours);
        for (i, a) in styles.iter().enumerate() {
            for b in &styles[i + 1..] {
                assert_ne!(a.colour, b.colour);
                assert_ne!(a.marker, b.marker);
            }
        }
    }

    #[test]
    fn spare_colours_never_repeat_a_marker() {
        // 30 targets, 20 of them on the three spare colours.
        let mut spare = SPARE_COLOURS.iter().copied().cycle();
        let colours: Vec<Rgb> = (0..30)
            .map(|i| match TARGET_COLOURS.get(i) {
                Some((name, _)) => colour_of(name, &mut spare),
                None => colour_of(&format!("t{i}"), &mut spare),
            })
            .collect();
        let styles = styles(&colours);
        let mut pairs: Vec<(Rgb, Marker)> = styles.iter().map(|s| (s.colour, s.marker)).collect();
        pairs.sort_by_key(|(c, m)| (*c, MARKERS.iter().position(|x| x == m)));
        pairs.dedup();
        assert_eq!(pairs.len(), 30);
    }

    #[test]
    fn every_marker_has_its_own_outline() {
        let rounded = |o: Vec<(f64, f64)>| -> Vec<(i32, i32)> {
            o.iter()
                .map(|(x, y)| (x.round() as i32, y.round() as i32))
                .collect()
        };
        let outlines: Vec<String> = MARKERS
            .iter()
            .map(|m| format!("{:?}", m.outline(6.0).map(rounded)))
            .collect();
        for (i, a) in outlines.iter().enumerate() {
            assert!(!outlines[i + 1..].contains(a), "{:?} repeats", MARKERS[i]);
        }
    }
}
