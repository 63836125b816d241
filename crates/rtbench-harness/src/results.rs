//! The results folder: `run.json`, `summary.csv`, `hdr/`, `logs/`. Every change is written by
//! atomic rename, so a run killed at any moment keeps every finished trial and can be resumed.
use std::path::{Path, PathBuf};

use rtbench_results::{
    parse_run, summary_header, summary_record, Run, TargetRecord, Trial, SCHEMA_VERSION,
};

use crate::error::HarnessError;

/// Owns one run folder and the `Run` written to it.
#[derive(Debug)]
pub struct RunWriter {
    dir: PathBuf,
    run: Run,
}

impl RunWriter {
    /// Creates the folder (and `hdr/`, `logs/`) and writes the empty run.
    pub fn create(dir: &Path, run: Run) -> Result<RunWriter, HarnessError> {
        for sub in ["hdr", "logs"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path).map_err(|e| HarnessError::io(&path, e))?;
        }
        let writer = RunWriter {
            dir: dir.to_path_buf(),
            run,
        };
        writer.save()?;
        Ok(writer)
    }

    /// Reopens a run folder to complete it.
    pub fn resume(dir: &Path) -> Result<RunWriter, HarnessError> {
        let run = read_run(dir)?;
        RunWriter::create(dir, run)
    }

    pub fn run(&self) -> &Run {
        &self.run
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a target's server output goes.
    pub fn log_path(&self, target: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{target}.log"))
    }

    /// Where a trial's HdrHistogram interval log goes, and its name relative to the run folder.
    pub fn hdr_path(
        &self,
        target: &str,
        scenario: &str,
        variant: &str,
        trial: u32,
    ) -> (PathBuf, String) {
        let name = format!("hdr/{target}-{scenario}-{variant}-t{trial}.hlog");
        (self.dir.join(&name), name)
    }

    /// Records (or replaces) a target's record.
    pub fn set_target(&mut self, record: TargetRecord) -> Result<(), HarnessError> {
        match self.run.targets.iter_mut().find(|t| t.name == record.name) {
            Some(existing) => *existing = record,
            None => self.run.targets.push(record),
        }
        self.save()
    }

    /// Appends a finished trial and writes everything.
    pub fn add_trial(&mut self, trial: Trial) -> Result<(), HarnessError> {
        self.run.trials.push(trial);
        self.save()
    }

    /// Applies a change to the run (environment, finish time) and writes it.
    pub fn update(&mut self, change: impl FnOnce(&mut Run)) -> Result<(), HarnessError> {
        change(&mut self.run);
        self.save()
    }

    fn save(&self) -> Result<(), HarnessError> {
        crate::cleanup::recording(|| self.write_files())
    }

    fn write_files(&self) -> Result<(), HarnessError> {
        let json = serde_json::to_vec_pretty(&self.run).expect("a Run always serializes");
        write_atomic(&self.dir.join("run.json"), &json)?;
        let mut csv = csv::Writer::from_writer(Vec::new());
        csv.write_record(summary_header())
            .expect("writing into memory cannot fail");
        for trial in &self.run.trials {
            csv.write_record(summary_record(&self.run.run_id, trial))
                .expect("writing into memory cannot fail");
        }
        let bytes = csv.into_inner().expect("writing into memory cannot fail");
        write_atomic(&self.dir.join("summary.csv"), &bytes)
    }
}

/// Reads `dir/run.json` (or a run.json path) to complete it: only a run of the current schema
/// version can be resumed (an older one is still read by `report` and `compare`).
pub fn read_run(path: &Path) -> Result<Run, HarnessError> {
    let file = if path.is_dir() {
        path.join("run.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file).map_err(|e| HarnessError::io(&file, e))?;
    let run = parse_run(&text).map_err(|e| HarnessError::config(&file, e.to_string()))?;
    if run.schema_version != SCHEMA_VERSION {
        return Err(HarnessError::config(
            &file,
            format!(
                "schema_version {} cannot be resumed: this rtbench writes {SCHEMA_VERSION}",
                run.schema_version
            ),
        ));
    }
    Ok(run)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), HarnessError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| HarnessError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| HarnessError::io(path, e))
}
