//! The one quantile implementation: the report's statistics, the harness's per-trial figures and
//! the metric catalogue all use these.

/// Values sorted ascending; NaN sorts last (total order) so a bad value cannot panic a sort.
pub fn sorted(values: &[f64]) -> Vec<f64> {
    let mut out = values.to_vec();
    out.sort_by(f64::total_cmp);
    out
}

/// Median (mean of the two middle values for an even count); `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// The `q` quantile (0 ≤ q ≤ 1) by linear interpolation between closest ranks (R's type 7, what
/// numpy and spreadsheets use by default), so the median of an even count is the middle mean.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let s = sorted(values);
    let q = q.clamp(0.0, 1.0);
    let pos = q * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    Some(s[lo] + (s[hi] - s[lo]) * frac)
}
