//! Bootstrap confidence intervals for the relative change of two medians, and the seeded PRNG that
//! drives them.
//!
//! The PRNG is xoshiro256** seeded through SplitMix64 (the seeding its authors recommend). It is
//! written out here rather than taken from a crate so that a compare's output depends on nothing but
//! its inputs and the seed: a dependency bump can never move an interval.

/// How many bootstrap resamples a compare draws unless told otherwise (the design's floor).
pub const DEFAULT_RESAMPLES: usize = 10_000;

/// The seed a compare uses unless told otherwise. Each cell and metric derives its own stream from
/// it (see [`stream_seed`]), so a cell's interval does not depend on which other cells exist.
pub const DEFAULT_SEED: u64 = 0x5254_4245_4e43_4821; // "RTBENCH!"

/// A seeded pseudo-random generator (xoshiro256**). Not cryptographic; deterministic on every
/// platform.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut sm = seed;
        let mut next = || {
            sm = sm.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = sm;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2⁻⁵⁰ for the handful of
    /// trials a cell has).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box–Muller; one of the pair is dropped for simplicity).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: ln never sees 0
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// The seed of one (cell, metric) stream: FNV-1a of `key` mixed into `seed`.
pub fn stream_seed(seed: u64, key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    seed ^ h
}

/// A two-sided confidence interval for a relative change (0.05 = +5%).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

/// Percentile-bootstrap interval of `median(current) / median(base) − 1`.
///
/// Each resample draws `base.len()` values from `base` and `current.len()` from `current`, with
/// replacement, independently, and takes the ratio of the two medians. The interval is the
/// `(1 − confidence)/2` and `(1 + confidence)/2` quantiles of the `resamples` ratios.
///
/// `None` when either side is empty or a resampled base median is 0 (no ratio exists).
pub fn median_change_interval(
    base: &[f64],
    current: &[f64],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<Interval> {
    if base.is_empty() || current.is_empty() || resamples == 0 {
        return None;
    }
    let mut rng = Rng::new(seed);
    let mut scratch_b = vec![0.0; base.len()];
    let mut scratch_c = vec![0.0; current.len()];
    let mut changes = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let mb = resampled_median(base, &mut scratch_b, &mut rng);
        let mc = resampled_median(current, &mut scratch_c, &mut rng);
        if mb == 0.0 {
            return None;
        }
        changes.push(mc / mb - 1.0);
    }
    Some(percentile_interval(&mut changes, confidence))
}

/// The two-sided percentile interval of the resampled `changes` at `confidence`. Only the two tail
/// quantiles are needed: partial selection instead of a full sort, both with the same type-7
/// interpolation as `stats::quantile`.
fn percentile_interval(changes: &mut [f64], confidence: f64) -> Interval {
    let alpha = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    Interval {
        lo: select_quantile(changes, alpha),
        hi: select_quantile(changes, 1.0 - alpha),
    }
}

/// Percentile-bootstrap interval of the median of paired changes `current_i / base_i − 1`, and
/// that median itself: for two targets measured in the same rounds of one run, where pair `i` is
/// round `i` of each. Resampling whole pairs keeps what a round shared (the machine's state during
/// those seconds) out of the interval, so a drift that moves both targets does not widen it.
///
/// `None` when there are no pairs or a base value is 0 (no ratio exists).
pub fn paired_median_change_interval(
    pairs: &[(f64, f64)],
    resamples: usize,
    confidence: f64,
    seed: u64,
) -> Option<(f64, Interval)> {
    if pairs.is_empty() || resamples == 0 || pairs.iter().any(|(b, _)| *b == 0.0) {
        return None;
    }
    let changes: Vec<f64> = pairs.iter().map(|(b, c)| c / b - 1.0).collect();
    let centre = crate::stats::median(&changes)?;
    let mut rng = Rng::new(seed);
    let mut scratch = vec![0.0; changes.len()];
    let mut medians: Vec<f64> = (0..resamples)
        .map(|_| resampled_median(&changes, &mut scratch, &mut rng))
        .collect();
    Some((centre, percentile_interval(&mut medians, confidence)))
}

/// The type-7 `q` quantile of `values` (non-empty, finite), reordering them.
fn select_quantile(values: &mut [f64], q: f64) -> f64 {
    let pos = q * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let frac = pos - lo as f64;
    let (_, &mut at, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    if frac == 0.0 || above.is_empty() {
        return at;
    }
    let next = above.iter().copied().min_by(f64::total_cmp).unwrap_or(at);
    at + (next - at) * frac
}

/// The median of one resample of `values`, drawn into `scratch` (same length).
fn resampled_median(values: &[f64], scratch: &mut [f64], rng: &mut Rng) -> f64 {
    for slot in scratch.iter_mut() {
        *slot = values[rng.below(values.len())];
    }
    // Insertion sort: a cell has a handful of trials, where this beats the general sort.
    for i in 1..scratch.len() {
        let mut j = i;
        while j > 0 && scratch[j - 1] > scratch[j] {
            scratch.swap(j - 1, j);
            j -= 1;
        }
    }
    let n = scratch.len();
    if n % 2 == 1 {
        scratch[n / 2]
    } else {
        (scratch[n / 2 - 1] + scratch[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_seed_dependent() {
        let a: Vec<u64> = (0..4)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let c: Vec<u64> = (0..4)
            .scan(Rng::new(8), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn below_covers_range_evenly() {
        let mut rng = Rng::new(1);
        let mut counts = [0u32; 5];
        for _ in 0..50_000 {
            counts[rng.below(5)] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut rng = Rng::new(3);
        let xs: Vec<f64> = (0..100_000).map(|_| rng.normal()).collect();
        let m = crate::stats::mean(&xs).unwrap();
        let sd = crate::stats::stddev(&xs).unwrap();
        assert!(m.abs() < 0.02, "mean {m}");
        assert!((sd - 1.0).abs() < 0.02, "sd {sd}");
    }

    #[test]
    fn identical_sides_give_a_zero_interval() {
        let v = [100.0, 100.0, 100.0];
        let i = median_change_interval(&v, &v, 1000, 0.95, 1).unwrap();
        assert_eq!((i.lo, i.hi), (0.0, 0.0));
    }

    #[test]
    fn interval_brackets_a_clear_drop() {
        let base = [100.0, 101.0, 99.0, 100.5, 99.5];
        let cur = [80.0, 80.8, 79.2, 80.4, 79.6];
        let i = median_change_interval(&base, &cur, 10_000, 0.95, 1).unwrap();
        assert!(i.lo <= -0.2 && -0.2 <= i.hi, "{i:?}");
        assert!(i.hi < -0.17 && i.lo > -0.23, "{i:?}");
    }

    #[test]
    fn three_trials_span_the_extreme_ratios() {
        // With three trials the resampled median is each trial with probability ≥ 7/27, so the
        // 95% interval reaches the extreme ratios min(c)/max(b) and max(c)/min(b).
        let base = [90.0, 100.0, 110.0];
        let cur = [95.0, 100.0, 105.0];
        let i = median_change_interval(&base, &cur, 10_000, 0.95, 9).unwrap();
        assert!((i.lo - (95.0 / 110.0 - 1.0)).abs() < 1e-12, "{i:?}");
        assert!((i.hi - (105.0 / 90.0 - 1.0)).abs() < 1e-12, "{i:?}");
    }

    #[test]
    fn same_seed_same_interval() {
        let base = [1.0, 2.0, 3.0, 4.0];
        let cur = [2.0, 3.0, 4.0, 5.0];
        let a = median_change_interval(&base, &cur, 10_000, 0.95, 42);
        let b = median_change_interval(&base, &cur, 10_000, 0.95, 42);
        assert_eq!(a, b);
    }

    #[test]
    fn selected_quantiles_match_stats_quantile() {
        let mut rng = Rng::new(5);
        for n in [1, 2, 3, 10, 999, 10_000] {
            let v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            for q in [0.0, 0.025, 0.5, 0.975, 1.0] {
                let want = crate::stats::quantile(&v, q).unwrap();
                let got = select_quantile(&mut v.clone(), q);
                assert!((want - got).abs() < 1e-12, "n={n} q={q}: {want} vs {got}");
            }
        }
    }

    #[test]
    fn zero_base_has_no_ratio() {
        assert_eq!(
            median_change_interval(&[0.0, 0.0, 0.0], &[1.0, 1.0, 1.0], 100, 0.95, 1),
            None
        );
        assert_eq!(median_change_interval(&[], &[1.0], 100, 0.95, 1), None);
    }
}
