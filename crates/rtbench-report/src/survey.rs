//! The survey's figures (§8 and §11 of "Modern backend runtimes, 2025"), the only place they are
//! written down. Everything else reads them from here.

/// A ballpark figure as the survey prints it: a range `low–high`, an open range `low+`, or an
/// approximate value `~v` (low = high).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ballpark {
    pub low: f64,
    /// `None` for an open range such as "600k+".
    pub high: Option<f64>,
    /// The survey's own wording, e.g. "250–400k".
    pub text: &'static str,
}

impl Ballpark {
    /// One number standing for the range: its middle, or its floor when it is open ("600k+" reads
    /// as "about 600k": the survey gives no upper bound to split the difference with).
    pub fn reference(&self) -> f64 {
        match self.high {
            Some(high) => (self.low + high) / 2.0,
            None => self.low,
        }
    }
}

/// One row of the survey's tables and the reference server that stands for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurveyRow {
    /// The row's name as `TargetRecord::survey_row` spells it.
    pub row: &'static str,
    /// The reference server (folder under `targets/`) usually mapped to the row.
    pub target: &'static str,
    /// §8: hello-world req/s on one core (`None`: the row is only in §11's memory table).
    pub hello_rps: Option<Ballpark>,
    /// §11: the row's name in the memory table.
    pub memory_row: &'static str,
    /// §11: memory per 10k req/s, MB.
    pub memory_mb: Ballpark,
}

const fn range(low: f64, high: f64, text: &'static str) -> Ballpark {
    Ballpark {
        low,
        high: Some(high),
        text,
    }
}

const fn about(v: f64, text: &'static str) -> Ballpark {
    Ballpark {
        low: v,
        high: Some(v),
        text,
    }
}

/// §8 and §11, in the survey's order.
pub const SURVEY: [SurveyRow; 7] = [
    SurveyRow {
        row: "Rust Axum (Tokio)",
        target: "axum",
        hello_rps: Some(Ballpark {
            low: 600_000.0,
            high: None,
            text: "600k+",
        }),
        memory_row: "Rust Tokio",
        memory_mb: about(50.0, "~50 MB"),
    },
    SurveyRow {
        row: "Go net/http",
        target: "go-nethttp",
        hello_rps: Some(range(250_000.0, 400_000.0, "250–400k")),
        memory_row: "Go",
        memory_mb: about(80.0, "~80 MB"),
    },
    SurveyRow {
        row: "Bun.serve",
        target: "bun",
        hello_rps: Some(range(200_000.0, 300_000.0, "200–300k")),
        memory_row: "Bun",
        memory_mb: about(120.0, "~120 MB"),
    },
    SurveyRow {
        row: "Node 22 (uWebSockets)",
        target: "node-uws",
        hello_rps: Some(range(150_000.0, 250_000.0, "150–250k")),
        memory_row: "Node 22",
        memory_mb: about(160.0, "~160 MB"),
    },
    SurveyRow {
        row: "Node 22 (stock http)",
        target: "node-http",
        hello_rps: Some(range(70_000.0, 120_000.0, "70–120k")),
        memory_row: "Node 22",
        memory_mb: about(160.0, "~160 MB"),
    },
    SurveyRow {
        row: "FastAPI (uvicorn)",
        target: "fastapi",
        hello_rps: Some(range(30_000.0, 60_000.0, "30–60k")),
        memory_row: "FastAPI (uvicorn)",
        memory_mb: about(200.0, "~200 MB"),
    },
    SurveyRow {
        row: "Node + Workers pool",
        target: "node-cluster",
        hello_rps: None,
        memory_row: "Node + Workers pool",
        memory_mb: about(500.0, "~500 MB"),
    },
];

/// §11 rows with no reference server here, reproduced for completeness: (row, figure). Empty since
/// node-cluster stands for "Node + Workers pool".
pub const UNMEASURED_MEMORY_ROWS: [(&str, &str); 0] = [];

/// How far (as a factor) a measured ratio may sit outside the survey's ratio range and still be
/// called consistent: the survey calls its figures ballpark, and trials on a shared machine vary.
pub const TOLERANCE: f64 = 1.25;

/// Which test decided a verdict other than consistent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decided {
    /// The measured ratio lies outside the survey's ratio range, widened by [`TOLERANCE`].
    Ratio,
    /// The ratio lies inside that range, but the measured rank span misses the survey's.
    Rank {
        measured: (usize, usize),
        claimed: (usize, usize),
    },
}

/// A measured row held against the survey's claim for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Rank within the survey's rank span and ratio within its ratio range; `widened` when the
    /// ratio lies outside the survey's own range and only the [`TOLERANCE`] takes it in.
    Consistent { widened: bool },
    /// Better than claimed (faster, or leaner for memory), and by which test.
    Better(Decided),
    /// Worse than claimed (slower, or heavier for memory), and by which test.
    Worse(Decided),
}

/// The verdict rule. Absolute figures depend on the machine, so a row is judged by where it
/// stands among the rows measured in the same run:
///
/// - `ratio` is the row's measured figure over the best measured row's figure; `claimed` is the
///   survey's range of that ratio (each ballpark bound over the survey's figure for the best
///   row), widened by [`TOLERANCE`] on both sides.
/// - `rank` is the span of ranks the measured row can take (trials whose min–max overlap cannot
///   be ordered); `span` the ranks the survey's overlapping ballparks allow.
/// - Consistent when the ratio lies in the widened range and the two rank spans meet. Otherwise
///   the ratio decides the direction when it lies outside the range, else the rank does; the
///   result names which.
pub fn judge(
    ratio: f64,
    claimed: (f64, Option<f64>),
    rank: (usize, usize),
    span: (usize, usize),
    higher_is_better: bool,
) -> Direction {
    let low = claimed.0 / TOLERANCE;
    let high = claimed.1.map_or(f64::INFINITY, |h| h * TOLERANCE);
    let by_rank = Decided::Rank {
        measured: rank,
        claimed: span,
    };
    // A larger ratio is better when higher figures are better (req/s), worse for memory.
    if ratio > high || ratio < low {
        if (ratio > high) == higher_is_better {
            Direction::Better(Decided::Ratio)
        } else {
            Direction::Worse(Decided::Ratio)
        }
    } else if rank.1 < span.0 {
        Direction::Better(by_rank)
    } else if rank.0 > span.1 {
        Direction::Worse(by_rank)
    } else {
        // Judged on the ratios as printed (two decimals), so "within the tolerance" never
        // stands beside a ratio that reads as inside the range.
        let shown = |x: f64| (x * 100.0).round() / 100.0;
        Direction::Consistent {
            widened: shown(ratio) < shown(claimed.0)
                || claimed.1.is_some_and(|h| shown(ratio) > shown(h)),
        }
    }
}

/// The survey row a target stands for: by its `survey_row`, else by its folder name.
pub fn row_for(survey_row: Option<&str>, target: &str) -> Option<&'static SurveyRow> {
    match survey_row {
        Some(name) => SURVEY.iter().find(|r| r.row.eq_ignore_ascii_case(name)),
        None => SURVEY.iter().find(|r| r.target == target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_found_by_name_or_target() {
        assert_eq!(
            row_for(Some("Node 22 (stock http)"), "x").unwrap().target,
            "node-http"
        );
        assert_eq!(row_for(None, "bun").unwrap().row, "Bun.serve");
        assert!(row_for(Some("Deno"), "bun").is_none());
    }

    #[test]
    fn verdict_by_ratio_then_rank() {
        use Decided::Ratio;
        use Direction::*;
        const INSIDE: Direction = Consistent { widened: false };
        let rank = |measured, claimed| Decided::Rank { measured, claimed };
        // Go claimed at 0.42–0.67 of the fastest, rank 2–3.
        let go = (250.0 / 600.0, Some(400.0 / 600.0));
        assert_eq!(judge(0.55, go, (2, 2), (2, 3), true), INSIDE);
        let widened = Consistent { widened: true };
        assert_eq!(judge(0.80, go, (2, 2), (2, 3), true), widened); // within +25%
        assert_eq!(judge(0.90, go, (2, 2), (2, 3), true), Better(Ratio));
        assert_eq!(judge(0.30, go, (3, 3), (2, 3), true), Worse(Ratio));
        // The container run of issue 13: 0.58× is inside the range, but overtaken: the rank
        // decided, and says so.
        assert_eq!(
            judge(0.58, go, (4, 5), (2, 3), true),
            Worse(rank((4, 5), (2, 3)))
        );
        assert_eq!(judge(0.55, go, (3, 4), (2, 3), true), INSIDE); // a tie with the 3rd
        assert_eq!(
            judge(0.55, go, (1, 1), (2, 3), true),
            Better(rank((1, 1), (2, 3)))
        );
        // Memory: lower is better, a larger ratio is heavier.
        let node = (1.6, Some(1.6));
        assert_eq!(judge(3.0, node, (2, 2), (2, 2), false), Worse(Ratio));
        assert_eq!(judge(1.0, node, (2, 2), (2, 2), false), Better(Ratio));
        // The open "600k+" row cannot be beaten on ratio, only on rank.
        assert_eq!(judge(1.0, (1.0, None), (1, 1), (1, 1), true), INSIDE);
        assert_eq!(judge(0.7, (1.0, None), (2, 2), (1, 1), true), Worse(Ratio));
    }

    #[test]
    fn open_range_reads_as_its_floor() {
        assert_eq!(SURVEY[0].hello_rps.unwrap().reference(), 600_000.0);
        assert_eq!(SURVEY[1].hello_rps.unwrap().reference(), 325_000.0);
    }
}
