//! Change points in one series: E-Divisive means (Matteson & James, "A Nonparametric Approach for
//! Multiple Change Point Analysis of Multivariate Data", 2014) with the significance test that
//! Apache Otava (formerly Hunter, Fleming et al. 2023) puts in place of the permutation test: a
//! Student's t-test between the two sides of the candidate split.
//!
//! Why this method: it assumes no distribution, finds several changes by splitting recursively,
//! and with the t-test it is deterministic (the same history always gives the same answer), which
//! a CI gate needs. The divergence is the energy statistic with α = 1 on one-dimensional values;
//! the candidate's second segment runs to the end of the segment being split (κ = end), as in the
//! original E-Divisive.
//!
//! The t-test pools both sides' variance (Student's, as Otava), so a split whose right side is a
//! single point (the newest run) is still testable: it then asks whether that point lies outside
//! what the earlier points predict.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// How strict the detector is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detector {
    /// A split is a change point only when the t-test's two-sided p-value is below this.
    pub max_p_value: f64,
    /// … and the means of the two sides differ by at least this fraction of the left mean.
    pub min_magnitude: f64,
}

impl Default for Detector {
    /// p < 0.001 (Otava's default) and a change of at least 5% (compare's gate for rps): the
    /// recursion tests many splits, and without a floor a long noisy history yields the odd
    /// significant 3% wobble that no maintainer would act on.
    fn default() -> Detector {
        Detector {
            max_p_value: 0.001,
            min_magnitude: 0.05,
        }
    }
}

/// One change point of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    /// Index of the first point after the change.
    pub index: usize,
    /// Mean of the segment before the change (between the previous change point and this one).
    pub mean_before: f64,
    /// Mean of the segment after it (up to the next change point).
    pub mean_after: f64,
    /// Two-sided p-value of the t-test that accepted the split.
    pub p_value: f64,
}

impl ChangePoint {
    /// `mean_after / mean_before − 1`; 0 when the mean before is 0.
    pub fn relative_change(&self) -> f64 {
        if self.mean_before == 0.0 {
            0.0
        } else {
            self.mean_after / self.mean_before - 1.0
        }
    }
}

impl Detector {
    /// The change points of `series`, in index order. Fewer than 3 points give none.
    pub fn change_points(&self, series: &[f64]) -> Vec<ChangePoint> {
        let mut splits = Vec::new();
        self.split(series, 0, series.len(), &mut splits);
        splits.sort_by_key(|&(index, _)| index);
        // Means are taken between neighbouring change points, so each reported change is the
        // step between the two settled levels around it.
        let bounds: Vec<usize> = std::iter::once(0)
            .chain(splits.iter().map(|&(i, _)| i))
            .chain(std::iter::once(series.len()))
            .collect();
        splits
            .iter()
            .enumerate()
            .map(|(k, &(index, p_value))| ChangePoint {
                index,
                mean_before: mean(&series[bounds[k]..index]),
                mean_after: mean(&series[index..bounds[k + 2]]),
                p_value,
            })
            .collect()
    }

    fn split(&self, z: &[f64], start: usize, end: usize, out: &mut Vec<(usize, f64)>) {
        if end - start < 3 {
            return;
        }
        let Some(tau) = best_split(&z[start..end]).map(|t| start + t) else {
            return;
        };
        let (left, right) = (&z[start..tau], &z[tau..end]);
        let p = t_test_p_value(left, right);
        let (before, after) = (mean(left), mean(right));
        let magnitude = if before == 0.0 {
            f64::INFINITY
        } else {
            (after / before - 1.0).abs()
        };
        if p < self.max_p_value && magnitude >= self.min_magnitude {
            out.push((tau, p));
            self.split(z, start, tau, out);
            self.split(z, tau, end, out);
        }
    }
}

/// The split τ (1 ≤ τ < n) of `z` that maximises the scaled energy divergence
/// Q(τ) = τ(n−τ)/n · (2·between − within_left − within_right), where each term is a mean
/// pairwise distance |zᵢ − zⱼ| (a side of one point has no within-distance: 0). `None` when all
/// values are equal (no split is better than another).
fn best_split(z: &[f64]) -> Option<usize> {
    let n = z.len();
    // Row prefix sums of the distance matrix: row[i][j] = Σ_{k<j} |z_i − z_k|.
    let rows: Vec<Vec<f64>> = z
        .iter()
        .map(|&zi| {
            let mut acc = 0.0;
            let mut row = Vec::with_capacity(n + 1);
            row.push(0.0);
            for &zk in z {
                acc += (zi - zk).abs();
                row.push(acc);
            }
            row
        })
        .collect();
    let total_within: f64 = (0..n).map(|i| rows[i][n] - rows[i][i + 1]).sum();
    let mut within_left = 0.0; // Σ_{i<j<τ} d_ij
    let mut best: Option<(usize, f64)> = None;
    for tau in 1..n {
        // Add point τ−1 to the left side.
        let new = tau - 1;
        within_left += rows[new][new];
        let between: f64 = (0..tau).map(|i| rows[i][n] - rows[i][tau]).sum();
        let within_right = total_within - within_left - between;
        let (a, b) = (tau as f64, (n - tau) as f64);
        let mean_between = between / (a * b);
        let mean_left = if tau > 1 {
            within_left / (a * (a - 1.0) / 2.0)
        } else {
            0.0
        };
        let mean_right = if n - tau > 1 {
            within_right / (b * (b - 1.0) / 2.0)
        } else {
            0.0
        };
        let q = a * b / n as f64 * (2.0 * mean_between - mean_left - mean_right);
        if best.map_or(true, |(_, bq)| q > bq) {
            best = Some((tau, q));
        }
    }
    best.filter(|&(_, q)| q > 0.0).map(|(tau, _)| tau)
}

/// Two-sided p-value of Student's two-sample t-test (pooled variance, n₁ + n₂ − 2 degrees of
/// freedom). 1 when there are too few points for a variance or the pooled variance is 0 with
/// equal means; 0 when the variance is 0 and the means differ.
fn t_test_p_value(left: &[f64], right: &[f64]) -> f64 {
    let (n1, n2) = (left.len() as f64, right.len() as f64);
    let df = n1 + n2 - 2.0;
    if left.is_empty() || right.is_empty() || df < 1.0 {
        return 1.0;
    }
    let (m1, m2) = (mean(left), mean(right));
    let ss = |v: &[f64], m: f64| v.iter().map(|x| (x - m) * (x - m)).sum::<f64>();
    let pooled = (ss(left, m1) + ss(right, m2)) / df;
    let diff = (m2 - m1).abs();
    if pooled == 0.0 {
        return if diff == 0.0 { 1.0 } else { 0.0 };
    }
    let t = diff / (pooled * (1.0 / n1 + 1.0 / n2)).sqrt();
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => (2.0 * dist.sf(t)).min(1.0),
        Err(_) => 1.0,
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Values around `level` with a coefficient of variation `cv` (normal noise, fixed seed).
    pub(crate) fn noisy(level: f64, cv: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = crate::bootstrap::Rng::new(seed);
        (0..n).map(|_| level * (1.0 + cv * rng.normal())).collect()
    }

    /// Noise makes the odd series ambiguous (point 20 drawn near the old level), so the test
    /// counts over 200 seeded series: nearly all exact, none off by more than two runs.
    #[test]
    fn a_ten_percent_step_after_twenty_noisy_points_is_found_at_index_20() {
        let mut exact = 0;
        for seed in 1..=200 {
            let mut z = noisy(100_000.0, 0.03, 20, seed);
            z.extend(noisy(90_000.0, 0.03, 10, seed + 1000));
            let cps = Detector::default().change_points(&z);
            assert_eq!(cps.len(), 1, "seed {seed}: {cps:?}");
            assert!(cps[0].index.abs_diff(20) <= 2, "seed {seed}: {cps:?}");
            let change = cps[0].relative_change();
            assert!((-0.14..-0.06).contains(&change), "seed {seed}: {change}");
            exact += usize::from(cps[0].index == 20);
        }
        // Measured: 186 of 200 exact (seeds 1..=200).
        assert!(exact >= 180, "{exact} of 200 at index 20");
    }

    #[test]
    fn a_series_without_a_step_has_no_change_point() {
        let false_alarms = (1..=200)
            .filter(|&seed| {
                !Detector::default()
                    .change_points(&noisy(100_000.0, 0.03, 30, seed))
                    .is_empty()
            })
            .count();
        assert!(false_alarms <= 2, "{false_alarms} of 200 flat series");
        assert!(Detector::default()
            .change_points(&noisy(100_000.0, 0.03, 30, 1))
            .is_empty());
    }

    #[test]
    fn a_step_at_the_newest_point_is_found_there() {
        let mut z = noisy(100_000.0, 0.03, 20, 7);
        z.push(80_000.0);
        let cps = Detector::default().change_points(&z);
        assert_eq!(cps.iter().map(|c| c.index).collect::<Vec<_>>(), [20]);
    }

    #[test]
    fn two_steps_are_both_found() {
        let mut z = noisy(100.0, 0.02, 15, 3);
        z.extend(noisy(120.0, 0.02, 15, 4));
        z.extend(noisy(100.0, 0.02, 15, 5));
        let cps = Detector::default().change_points(&z);
        assert_eq!(cps.iter().map(|c| c.index).collect::<Vec<_>>(), [15, 30]);
        assert!(cps[0].relative_change() > 0.15 && cps[1].relative_change() < -0.12);
    }

    #[test]
    fn the_magnitude_floor_drops_small_significant_steps() {
        let mut z = vec![100.0; 10];
        z.extend([101.0; 10]);
        assert!(Detector::default().change_points(&z).is_empty());
        let no_floor = Detector {
            min_magnitude: 0.0,
            ..Detector::default()
        };
        assert_eq!(no_floor.change_points(&z).len(), 1);
    }

    #[test]
    fn constant_and_tiny_series_have_none() {
        let d = Detector::default();
        assert!(d.change_points(&[5.0; 12]).is_empty());
        assert!(d.change_points(&[1.0, 2.0]).is_empty());
        assert!(d.change_points(&[]).is_empty());
    }

    #[test]
    fn t_test_matches_a_known_value() {
        // Means 1 and 3, pooled variance 2/3, n = 4 each: t = 2·√3 = 3.464 on 6 degrees of
        // freedom, two-sided p = 0.0134 (tables: between the 0.02 and 0.01 critical values 3.143
        // and 3.707).
        let a = [0.0, 1.0, 1.0, 2.0];
        let b = [2.0, 3.0, 3.0, 4.0];
        let p = t_test_p_value(&a, &b);
        assert!((p - 0.0134).abs() < 0.0003, "{p}");
    }
}
