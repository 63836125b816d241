//! Reading `run.json` of any version this rtbench understands, through one converter.
use crate::error::SchemaError;
use crate::schema::{Run, SCHEMA_VERSION};
use crate::v1::RunV1;

/// Parses `run.json` text of schema 1 or [`SCHEMA_VERSION`] into the current types. The version
/// is checked before any other field, so an unknown version is reported as such. The returned
/// run's `schema_version` stays the file's, so readers can say which version they read.
pub fn parse_run(text: &str) -> Result<Run, SchemaError> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    let found = value.get("schema_version");
    let file_version = match found.and_then(serde_json::Value::as_u64) {
        Some(v @ 1) => v as u32,
        Some(v) if v == u64::from(SCHEMA_VERSION) => SCHEMA_VERSION,
        _ => {
            return Err(SchemaError::Version {
                found: found.map_or_else(|| "missing".to_string(), ToString::to_string),
            })
        }
    };
    if file_version == SCHEMA_VERSION {
        return Ok(serde_json::from_str(text)?);
    }
    // Parsed from the text (not from `value`) so an error carries its line and column.
    let old: RunV1 = serde_json::from_str(text)?;
    Ok(Run::from(old))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Outcome, TrialStatus};

    /// A schema-1 run covering every scenario kind (the report's fixture).
    const V1_FULL: &str = include_str!("../../rtbench-report/tests/fixtures/full/run.json");

    fn kind(outcome: &Outcome) -> &'static str {
        match outcome {
            Outcome::Http { .. } => "http",
            Outcome::Rate { .. } => "rate",
            Outcome::IdleConnections { .. } => "idle-connections",
            Outcome::ColdStart { .. } => "cold-start",
            Outcome::Sse { .. } => "sse",
            Outcome::SseRelay { .. } => "sse-relay",
        }
    }

    #[test]
    fn schema_1_trials_become_the_outcome_of_their_kind() {
        let run = parse_run(V1_FULL).unwrap();
        assert_eq!(run.schema_version, 1, "the file's version is kept");
        fn expected(scenario: &str) -> &str {
            match scenario {
                "plaintext" | "json" => "http",
                "rate-10k" => "rate",
                "idle-connections" | "cold-start" | "sse" | "sse-relay" => scenario,
                other => panic!("unexpected scenario {other}"),
            }
        }
        let mut ok = 0;
        for t in run.trials.iter().filter(|t| t.status == TrialStatus::Ok) {
            let outcome = t.outcome.as_ref().unwrap_or_else(|| panic!("{t:?}"));
            assert_eq!(kind(outcome), expected(&t.scenario), "{}", t.scenario);
            ok += 1;
        }
        assert!(ok > 100, "{ok}");
        let old: serde_json::Value = serde_json::from_str(V1_FULL).unwrap();
        let rate = run
            .trials
            .iter()
            .position(|t| t.sustained().is_some())
            .unwrap();
        assert_eq!(
            run.trials[rate].memory_at_rate_mib(),
            old["trials"][rate]["memory_per_10k_mb"].as_f64()
        );
    }

    #[test]
    fn the_current_schema_round_trips() {
        let mut run = parse_run(V1_FULL).unwrap();
        run.schema_version = SCHEMA_VERSION;
        // Regression: integer-keyed status codes could not be read back through the tagged outcome.
        let http = run
            .trials
            .iter_mut()
            .find_map(|t| match t.outcome.as_mut() {
                Some(crate::Outcome::Http { load, .. }) => Some(load),
                _ => None,
            });
        let http = http.expect("the fixture has closed-model trials");
        http.status_codes = [(200, 990), (503, 10)].into();
        let text = serde_json::to_string(&run).unwrap();
        assert_eq!(parse_run(&text).unwrap(), run);
    }

    #[test]
    fn unknown_versions_are_named() {
        let err = parse_run(r#"{"schema_version": 99}"#).unwrap_err();
        assert!(err.to_string().contains("schema_version 99"), "{err}");
        let err = parse_run("{}").unwrap_err();
        assert!(err.to_string().contains("schema_version missing"), "{err}");
    }
}
