//! How numbers are written: the one formatter, per unit, shared by summary tables, report tables,
//! charts and compare so a figure reads the same everywhere. Memory is MiB (or KiB) throughout.

/// The unit a figure is stored in (as the schema stores it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Requests (or events) per second.
    PerSecond,
    /// Microseconds; written as µs, ms or s, whichever reads best.
    Micros,
    /// Milliseconds; written as ms or s.
    Millis,
    /// Mebibytes (KiB / 1024).
    Mebibytes,
    /// Kibibytes.
    Kibibytes,
    /// A ratio to another figure.
    Ratio,
    /// A percentage (0–100).
    Percent,
    /// Seconds.
    Seconds,
    /// CPU cores in use (1 = one core busy).
    Cores,
    /// A plain count.
    Count,
}

impl Unit {
    /// The value with its unit, e.g. `412k req/s`, `1.23 ms`, `48.2 MiB`, `0.54×`.
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::PerSecond => format!("{} req/s", si(v)),
            Unit::Micros if v.abs() >= 1e6 => format!("{} s", sig(v / 1e6)),
            Unit::Micros if v.abs() >= 1e3 => format!("{} ms", sig(v / 1e3)),
            Unit::Micros => format!("{} µs", sig(v)),
            Unit::Millis if v.abs() >= 1e3 => format!("{} s", sig(v / 1e3)),
            Unit::Millis => format!("{} ms", sig(v)),
            Unit::Mebibytes => format!("{} MiB", sig(v)),
            Unit::Kibibytes => format!("{} KiB", sig(v)),
            Unit::Ratio => format!("{v:.2}×"),
            Unit::Percent => format!("{}%", sig(v)),
            Unit::Seconds => format!("{} s", sig(v)),
            Unit::Cores => format!("{} cores", sig(v)),
            Unit::Count => si(v),
        }
    }

    /// The unit's symbol as stored (`req/s`, `µs`, `ms`, `MiB`, …), for files that keep values raw.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::PerSecond => "/s",
            Unit::Micros => "µs",
            Unit::Millis => "ms",
            Unit::Mebibytes => "MiB",
            Unit::Kibibytes => "KiB",
            Unit::Ratio => "×",
            Unit::Percent => "%",
            Unit::Seconds => "s",
            Unit::Cores => "cores",
            Unit::Count => "",
        }
    }

    /// An axis tick: like [`Unit::short`] without trailing zeros (`1 ms`, `2.5 ms`, `200k`).
    pub fn tick(self, v: f64) -> String {
        trim_zeros(&self.short(v))
    }

    /// A value printed beside its bar: with its unit, except req/s and ratios whose axis says it
    /// (`412k`, `1.23 ms`, `48.2 MiB`, `0.54×`).
    pub fn label(self, v: f64) -> String {
        match self {
            Unit::PerSecond => si(v),
            _ => self.format(v),
        }
    }

    /// The value without a unit where the unit is said elsewhere (axis title, column header);
    /// time units keep theirs because they change with the magnitude.
    pub fn short(self, v: f64) -> String {
        match self {
            Unit::PerSecond => si(v),
            Unit::Mebibytes | Unit::Kibibytes | Unit::Cores => sig(v),
            _ => self.format(v),
        }
    }
}

/// `1.00 ms` → `1 ms`, `2.50k` → `2.5k`: zeros after a decimal point dropped, unit kept.
fn trim_zeros(s: &str) -> String {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(s.len());
    let (number, rest) = s.split_at(end);
    if !number.contains('.') {
        return s.to_string();
    }
    let number = number.trim_end_matches('0').trim_end_matches('.');
    format!("{number}{rest}")
}

/// Three significant digits, no exponent: 412, 48.2, 4.83, 0.542.
pub fn sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = |magnitude: i32| (2 - magnitude).max(0) as usize;
    let mut magnitude = v.abs().log10().floor() as i32;
    // Rounding may carry into the next power of ten (9.996 → 10.0, not 10.00).
    let rounded: f64 = format!("{:.*}", digits(magnitude), v).parse().unwrap_or(v);
    if rounded.abs() >= 10f64.powi(magnitude + 1) {
        magnitude += 1;
    }
    format!("{:.*}", digits(magnitude), v)
}

/// Thousands as k and millions as M, three significant digits: 412k, 12.3k, 1.20M.
pub fn si(v: f64) -> String {
    // Decided on the rounded figure, so 999,600 reads 1.00M rather than 1000k.
    let reaches = |scale: f64| sig(v / scale).parse::<f64>().unwrap_or(0.0).abs() >= 1.0;
    if reaches(1e6) {
        format!("{}M", sig(v / 1e6))
    } else if reaches(1e3) {
        format!("{}k", sig(v / 1e3))
    } else {
        sig(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_significant_digits() {
        assert_eq!(sig(412.3), "412");
        assert_eq!(sig(48.23), "48.2");
        assert_eq!(sig(0.5423), "0.542");
        assert_eq!(si(412_345.0), "412k");
        assert_eq!(si(1_204_000.0), "1.20M");
        assert_eq!(si(950.0), "950");
        // Rounding that carries into the next power of ten keeps three digits.
        assert_eq!(sig(9.9996), "10.0");
        assert_eq!(sig(0.09996), "0.100");
        assert_eq!(si(9_999.6), "10.0k");
        assert_eq!(si(999_600.0), "1.00M");
        assert_eq!(si(999.6), "1.00k");
    }

    #[test]
    fn time_units_follow_magnitude() {
        assert_eq!(Unit::Micros.format(512.0), "512 µs");
        assert_eq!(Unit::Micros.format(1234.0), "1.23 ms");
        assert_eq!(Unit::Millis.format(2500.0), "2.50 s");
        assert_eq!(Unit::PerSecond.format(186_000.0), "186k req/s");
        assert_eq!(Unit::Ratio.format(0.5449), "0.54×");
    }

    #[test]
    fn ticks_drop_trailing_zeros() {
        assert_eq!(Unit::Micros.tick(1000.0), "1 ms");
        assert_eq!(Unit::Micros.tick(2500.0), "2.5 ms");
        assert_eq!(Unit::PerSecond.tick(200_000.0), "200k");
        assert_eq!(Unit::Mebibytes.tick(100.0), "100");
        assert_eq!(Unit::Mebibytes.format(10.83), "10.8 MiB");
        assert_eq!(Unit::Ratio.tick(1.5), "1.5×");
        assert_eq!(Unit::Ratio.tick(0.0), "0×");
    }
}
