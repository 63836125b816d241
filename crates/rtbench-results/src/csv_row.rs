//! `summary.csv`: one row per trial. A few columns say what the row is; every other column is a
//! metric of the catalogue, in catalogue order, named by its column (whose suffix is the unit).
//! Empty cells mean "not measured by this scenario". The first column is the run id, so the CSVs
//! of several runs concatenate.
use crate::metric::Metric;
use crate::schema::{Trial, TrialStatus};

/// The columns before the metrics: what the row is and the flags that are not numbers.
const LEADING: [&str; 14] = [
    "run_id",
    "target",
    "scenario",
    "variant",
    "trial",
    "status",
    "reason",
    "model",
    "pipelined",
    "client_bound",
    "rate_sustained",
    "relay_buffering",
    "cold_start_ms",
    "status_codes",
];

/// The header row.
pub fn summary_header() -> Vec<&'static str> {
    LEADING
        .into_iter()
        .chain(Metric::all().map(Metric::column))
        .collect()
}

/// One trial of run `run_id` as a row under [`summary_header`].
pub fn summary_record(run_id: &str, trial: &Trial) -> Vec<String> {
    let flag = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
    let load = trial.load();
    let leading = [
        run_id.to_string(),
        trial.target.clone(),
        trial.scenario.clone(),
        trial.variant.clone(),
        trial.trial.to_string(),
        match trial.status {
            TrialStatus::Ok => "ok".to_string(),
            TrialStatus::Failed => "failed".to_string(),
        },
        trial.reason.clone().unwrap_or_default(),
        load.map(|l| format!("{:?}", l.model).to_lowercase())
            .unwrap_or_default(),
        flag(load.map(|l| l.pipeline > 1)),
        flag(load.map(|l| l.client_bound)),
        flag(trial.sustained()),
        flag(trial.relay().map(|r| r.buffering)),
        // Every start (statistics over them belong to the report).
        trial
            .cold_starts_ms()
            .iter()
            .map(|ms| format!("{ms:.1}"))
            .collect::<Vec<_>>()
            .join(" "),
        // Responses by status code, `code:count` (the tables show the non-2xx ones).
        load.map(|l| {
            l.status_codes
                .iter()
                .map(|(code, n)| format!("{code}:{n}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default(),
    ];
    let metrics = Metric::all().map(|m| m.value(trial).map(|v| v.to_string()).unwrap_or_default());
    leading.into_iter().chain(metrics).collect()
}
