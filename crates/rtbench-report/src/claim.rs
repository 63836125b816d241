//! The survey's §8 and §11 tables held against a run: each survey row beside its target's
//! measured figure, the ranks and ratios of both among the rows measured here, and the verdict
//! with the test that decided it.

use crate::model::{scenario, Figure, Measure, RunFigures};
use crate::stats;
use crate::survey::{self, Decided, Direction, SURVEY, TOLERANCE, UNMEASURED_MEMORY_ROWS};

/// Which survey table a comparison reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    /// §8: hello-world req/s on one core (higher is better).
    Hello,
    /// §11: memory per 10k req/s (lower is better).
    Memory,
}

impl Claim {
    /// The scenario and the measure the survey's figure is held against.
    pub fn source(self) -> (&'static str, Measure) {
        match self {
            Claim::Hello => (scenario::PLAINTEXT, Measure::Rps),
            Claim::Memory => (scenario::RATE_10K, Measure::Memory10k),
        }
    }

    pub fn higher_is_better(self) -> bool {
        matches!(self, Claim::Hello)
    }

    /// The verdict in the table's words, naming the test that decided it: a ratio outside the
    /// survey's range reads "slower than claimed"; a ratio inside it with a rank outside the
    /// survey's reads "ranks lower than claimed (4–5 vs 2–3)", so the words never contradict
    /// the ratio printed beside them.
    pub fn words(self, d: Direction) -> String {
        let rank = |word: &str, measured, claimed| {
            format!(
                "ranks {word} than claimed ({} vs {})",
                span_text(measured),
                span_text(claimed)
            )
        };
        match (self, d) {
            (_, Direction::Consistent { widened: false }) => "consistent".into(),
            (_, Direction::Consistent { widened: true }) => format!(
                "consistent (ratio within the {:.0}% tolerance)",
                (TOLERANCE - 1.0) * 100.0
            ),
            (_, Direction::Better(Decided::Rank { measured, claimed })) => {
                rank("higher", measured, claimed)
            }
            (_, Direction::Worse(Decided::Rank { measured, claimed })) => {
                rank("lower", measured, claimed)
            }
            (Claim::Hello, Direction::Better(Decided::Ratio)) => "faster than claimed".into(),
            (Claim::Hello, Direction::Worse(Decided::Ratio)) => "slower than claimed".into(),
            (Claim::Memory, Direction::Better(Decided::Ratio)) => "leaner than claimed".into(),
            (Claim::Memory, Direction::Worse(Decided::Ratio)) => "heavier than claimed".into(),
        }
    }
}

/// A rank span as printed: `3`, or `2–3` where the figures cannot be ordered.
pub(crate) fn span_text((a, b): (usize, usize)) -> String {
    if a == b {
        a.to_string()
    } else {
        format!("{a}–{b}")
    }
}

/// A row's verdict.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    Judged(Direction),
    /// Judged, but the direction cannot be trusted; the reason says why.
    Inconclusive(Direction, String),
    /// No figure to judge; the reason says why.
    NotMeasured(String),
    /// A measured target the survey's table has no row for (Deno, workerd, Hono on Bun; and the
    /// Node + Workers pool in §8, which the survey lists only in §11): shown, never judged.
    NotInSurvey,
}

impl Verdict {
    /// The verdict as the tables and the headline write it; `None` when nothing was judged.
    pub fn words(&self, claim: Claim) -> Option<String> {
        match self {
            Verdict::Judged(d) => Some(claim.words(*d)),
            Verdict::Inconclusive(d, why) => {
                Some(format!("inconclusive ({}?): {why}", claim.words(*d)))
            }
            Verdict::NotMeasured(_) => None,
            Verdict::NotInSurvey => Some(NOT_IN_SURVEY.into()),
        }
    }
}

/// What a row the survey's table does not have says instead of a verdict.
pub(crate) const NOT_IN_SURVEY: &str = "not in the survey's table";

/// One row of a reproduced survey table.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRow {
    /// The survey's row name.
    pub survey_row: String,
    /// Index into [`Report::targets`]; `None` for a survey row with no target in the run.
    pub target: Option<usize>,
    /// The survey's figure as printed.
    pub survey_text: String,
    pub survey_figure: Option<survey::Ballpark>,
    /// Survey ranks the row can take among the measured rows.
    pub survey_rank: Option<(usize, usize)>,
    /// The survey's ratio to its best measured row, as a range.
    pub survey_ratio: Option<(f64, Option<f64>)>,
    pub figure: Option<Figure>,
    /// The variant the figure comes from (§8 takes each target's best concurrency).
    pub variant: String,
    /// Measured ranks the row can take: a span where its trials' min–max overlaps another
    /// row's, because trial noise cannot order them.
    pub rank: Option<(usize, usize)>,
    pub ratio: Option<f64>,
    pub verdict: Verdict,
}

/// A survey table reproduced.
#[derive(Debug, Clone)]
pub(crate) struct ClaimTable {
    pub claim: Claim,
    pub rows: Vec<ClaimRow>,
    /// Whether the run has the scenario this table needs.
    pub scenario_present: bool,
}

impl RunFigures {
    /// The survey's §8 or §11 table held against this run.
    pub(crate) fn claim_table(&self, claim: Claim) -> ClaimTable {
        let (scenario, measure) = claim.source();
        let hib = claim.higher_is_better();
        let mut rows: Vec<ClaimRow> = Vec::new();
        for srow in &SURVEY {
            let (row_name, ballpark) = match claim {
                Claim::Hello => match srow.hello_rps {
                    Some(ballpark) => (srow.row, ballpark),
                    None => continue,
                },
                Claim::Memory => (srow.memory_row, srow.memory_mb),
            };
            let matched: Vec<usize> = (0..self.targets.len())
                .filter(|i| self.targets[*i].survey.is_some_and(|s| s.row == srow.row))
                .collect();
            if matched.is_empty() {
                rows.push(ClaimRow {
                    survey_row: row_name.to_string(),
                    target: None,
                    survey_text: ballpark.text.to_string(),
                    survey_figure: Some(ballpark),
                    survey_rank: None,
                    survey_ratio: None,
                    figure: None,
                    variant: String::new(),
                    rank: None,
                    ratio: None,
                    verdict: Verdict::NotMeasured(format!("no {} target in this run", srow.target)),
                });
            }
            for i in matched {
                let (variant, figure) = self.best_variant(scenario, &self.targets[i], measure, hib);
                rows.push(ClaimRow {
                    survey_row: row_name.to_string(),
                    target: Some(i),
                    survey_text: ballpark.text.to_string(),
                    survey_figure: Some(ballpark),
                    survey_rank: None,
                    survey_ratio: None,
                    figure: Some(figure),
                    variant,
                    rank: None,
                    ratio: None,
                    verdict: Verdict::NotMeasured(String::new()),
                });
            }
        }
        if claim == Claim::Memory {
            for (row, text) in UNMEASURED_MEMORY_ROWS {
                rows.push(ClaimRow {
                    survey_row: row.to_string(),
                    target: None,
                    survey_text: text.to_string(),
                    survey_figure: None,
                    survey_rank: None,
                    survey_ratio: None,
                    figure: None,
                    variant: String::new(),
                    rank: None,
                    ratio: None,
                    verdict: Verdict::NotMeasured("no reference server for this row".into()),
                });
            }
        }

        // Ranks and ratios, measured and claimed, among the rows measured here.
        let medians: Vec<Option<f64>> = rows
            .iter()
            .map(|r| r.figure.as_ref().and_then(Figure::median))
            .collect();
        let ranks = stats::ranks(&medians, hib);
        let ratios = stats::ratios_to_best(&medians, hib);
        let measured: Vec<usize> = (0..rows.len()).filter(|i| medians[*i].is_some()).collect();
        let trial_ranges: Vec<(f64, Option<f64>)> = measured
            .iter()
            .filter_map(|i| rows[*i].figure.as_ref()?.measured())
            .map(|m| (m.spread.min, Some(m.spread.max)))
            .collect();
        let measured_spans = stats::rank_spans(&trial_ranges, hib);
        let ranges: Vec<(f64, Option<f64>)> = measured
            .iter()
            .map(|i| {
                let b = rows[*i]
                    .survey_figure
                    .expect("measured rows have a survey row");
                (b.low, b.high)
            })
            .collect();
        let spans = stats::rank_spans(&ranges, hib);
        let references: Vec<Option<f64>> = measured
            .iter()
            .map(|i| rows[*i].survey_figure.map(|b| b.reference()))
            .collect();
        let survey_best = stats::best(&references, hib);
        // The row the measured ratios are taken to: if it was client-bound, every other row's
        // ratio is too high.
        let best_client_bound = ranks.iter().zip(&rows).any(|(r, row)| {
            *r == Some(1)
                && row
                    .figure
                    .as_ref()
                    .and_then(Figure::measured)
                    .is_some_and(|m| m.client_bound > 0)
        });
        for (k, i) in measured.iter().enumerate() {
            let row = &mut rows[*i];
            let b = row.survey_figure.expect("measured rows have a survey row");
            let f = survey_best.expect("at least one measured row");
            row.survey_rank = Some(spans[k]);
            row.survey_ratio = Some((b.low / f, b.high.map(|h| h / f)));
            row.rank = Some(measured_spans[k]);
            row.ratio = ratios[*i];
        }
        for (row, median_rank) in rows.iter_mut().zip(&ranks) {
            let Some(figure) = &row.figure else { continue };
            row.verdict = match (
                figure,
                row.ratio,
                row.rank,
                row.survey_ratio,
                row.survey_rank,
            ) {
                // The measured column already says why.
                (Figure::Missing(_), ..) => Verdict::NotMeasured(String::new()),
                (Figure::Measured(m), Some(ratio), Some(rank), Some(claimed), Some(span)) => {
                    let d = survey::judge(ratio, claimed, rank, span, hib);
                    let own_client_bound = m.client_bound > 0;
                    match d {
                        Direction::Worse(_) if claim == Claim::Hello && own_client_bound => {
                            Verdict::Inconclusive(
                                d,
                                "client-bound: the server may be faster than measured".into(),
                            )
                        }
                        Direction::Better(_)
                            if claim == Claim::Hello
                                && best_client_bound
                                && *median_rank != Some(1) =>
                        {
                            Verdict::Inconclusive(
                                d,
                                "the fastest target was client-bound, so ratios to it are too high"
                                    .into(),
                            )
                        }
                        _ => Verdict::Judged(d),
                    }
                }
                _ => Verdict::NotMeasured("no figure".into()),
            };
        }
        self.push_rows_not_in_survey(claim, &mut rows);
        ClaimTable {
            claim,
            rows,
            scenario_present: self.scenario(scenario).is_some(),
        }
    }

    /// Targets measured here that the survey's table has no row for, after its rows: their
    /// figure and its ratio to the best survey row, but no rank (the ranks are the survey
    /// rows' among themselves, as the survey ranks them) and no verdict.
    fn push_rows_not_in_survey(&self, claim: Claim, rows: &mut Vec<ClaimRow>) {
        let (scenario, measure) = claim.source();
        if self.scenario(scenario).is_none() {
            return;
        }
        let hib = claim.higher_is_better();
        let best_ratio_one = rows
            .iter()
            .find(|r| r.ratio.is_some_and(|x| (x - 1.0).abs() < 1e-12));
        let best = best_ratio_one.and_then(|r| r.figure.as_ref()?.median());
        let in_table: Vec<usize> = rows.iter().filter_map(|r| r.target).collect();
        for (i, t) in self.targets.iter().enumerate() {
            let has_row = match (claim, t.survey) {
                (_, None) => false,
                (Claim::Hello, Some(row)) => row.hello_rps.is_some(),
                (Claim::Memory, Some(_)) => true,
            };
            if has_row || in_table.contains(&i) {
                continue;
            }
            let (variant, figure) = self.best_variant(scenario, t, measure, hib);
            let ratio = figure.median().zip(best).map(|(m, b)| m / b);
            rows.push(ClaimRow {
                survey_row: "—".into(),
                target: Some(i),
                survey_text: "—".into(),
                survey_figure: None,
                survey_rank: None,
                survey_ratio: None,
                figure: Some(figure),
                variant,
                rank: None,
                ratio,
                verdict: Verdict::NotInSurvey,
            });
        }
    }
}
