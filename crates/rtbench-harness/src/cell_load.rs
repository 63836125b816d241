//! How a trial's load is generated: by this process's engine on the client CPUs, or by the run's
//! swarm agents (`rtbench run --agents`), merged exactly. One description of the load serves both,
//! so the agents run what the local engine would have.
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use rtbench_load::{AgentOutput, Hooks, LoadBuilder, Share, StreamOptions};
use rtbench_results::LoadResult;

use crate::load_result::{load_result, with_ceiling};
use crate::scale_out::Agents;
use crate::scenario::Variant;

/// A stream load's agents may take this long beyond its events' schedule.
const STREAM_MARGIN: Duration = Duration::from_secs(30);

/// One trial's load.
pub(crate) struct CellLoad {
    pub url: String,
    pub connections: u64,
    pub pipeline: u64,
    /// Open model: requests per second over all connections.
    pub rate: Option<f64>,
    /// The measured window; `None` for streams that run once, to their last event.
    pub duration: Option<Duration>,
    pub warmup: Duration,
    /// The engine's timeout (default: the engine's).
    pub timeout: Option<Duration>,
    /// Stream model: `(events, interval_ms)` per stream.
    pub stream: Option<(u64, u64)>,
}

/// A generated load: its record, and the client cores that generated it (headroom and the
/// client CPU fraction are over these).
pub(crate) struct Generated {
    pub load: LoadResult,
    pub client_cores: usize,
}

impl CellLoad {
    /// A request/response cell against `base_url`: the variant's connections, pipeline and rate,
    /// `duration` measured after `warmup`.
    pub(crate) fn http(
        base_url: &str,
        path: &str,
        variant: &Variant,
        (duration, warmup): (Duration, Duration),
    ) -> CellLoad {
        CellLoad {
            url: format!("{base_url}{path}"),
            connections: u64::from(variant.connections),
            pipeline: u64::from(variant.pipeline),
            rate: variant.rate,
            duration: Some(duration),
            warmup,
            timeout: None,
            stream: None,
        }
    }

    /// The load, wherever it runs (the local engine adds its CPUs; agents get it as flags).
    fn builder(&self) -> LoadBuilder {
        let mut b = LoadBuilder::new(&self.url)
            .connections(self.connections)
            .pipeline(self.pipeline)
            .warmup(self.warmup);
        if let Some(d) = self.duration {
            b = b.duration(d);
        }
        if let Some(rate) = self.rate {
            b = b.rate(rate);
        }
        if let Some(t) = self.timeout {
            b = b.timeout(t);
        }
        if let Some((events, interval_ms)) = self.stream {
            b = b.stream(StreamOptions {
                events: Some(events),
                interval_ms: Some(interval_ms),
                abort_after: None,
            });
        }
        b
    }

    /// How long the load lasts once started.
    fn length(&self) -> Duration {
        let schedule = match self.stream {
            Some((events, interval_ms)) => {
                Duration::from_millis(events * interval_ms) + STREAM_MARGIN
            }
            None => Duration::ZERO,
        };
        self.warmup + self.duration.unwrap_or_default() + schedule
    }

    /// Generates the load, here or by `agents`, and writes its interval log to `hdr_path`.
    pub(crate) fn generate(
        &self,
        client_cpus: &[usize],
        agents: Option<&Agents>,
        hdr_path: &Path,
    ) -> Result<Generated, String> {
        match agents {
            None => Ok(Generated {
                load: self.run_here(client_cpus, hdr_path)?,
                client_cores: client_cpus.len(),
            }),
            Some(agents) => self.run_on(agents, hdr_path),
        }
    }

    fn run_here(&self, client_cpus: &[usize], hdr_path: &Path) -> Result<LoadResult, String> {
        let mut hlog = std::fs::File::create(hdr_path)
            .map(std::io::BufWriter::new)
            .map_err(|e| format!("{}: {e}", hdr_path.display()))?;
        let summary = self.run_engine(client_cpus, &mut hlog)?;
        hlog.flush()
            .map_err(|e| format!("{}: {e}", hdr_path.display()))?;
        Ok(load_result(&summary))
    }

    /// One slice of a sliced trial (`rtbench run --slices`), slice `index` of `count`, run here;
    /// kept in memory for [`merge_slices`].
    pub(crate) fn run_slice(
        &self,
        client_cpus: &[usize],
        index: u64,
        count: u64,
    ) -> Result<AgentOutput, String> {
        let mut hlog = Vec::new();
        let summary = self.run_engine(client_cpus, &mut hlog)?;
        // The agents' output format is the engine's summary with its interval log, and reading it
        // back gives the histograms the merge adds: a slice is an agent that ran at its own time.
        let share = Share {
            index,
            agents: count,
            first: 0,
            connections: self.connections,
            total: self.connections,
            requests: None,
        };
        let mut file = Vec::new();
        rtbench_load::write_agent_output(&mut file, &share, &summary, None, &hlog)
            .map_err(|e| format!("slice {index}: {e}"))?;
        rtbench_load::read_agent_output(&format!("slice {index}"), &file).map_err(|e| e.to_string())
    }

    /// This process's engine on `client_cpus`, its interval log into `hlog`.
    fn run_engine(
        &self,
        client_cpus: &[usize],
        hlog: &mut (dyn Write + Send),
    ) -> Result<rtbench_load::Summary, String> {
        let config = self
            .builder()
            .cpus(client_cpus.to_vec())
            .build()
            .map_err(|e| e.to_string())?;
        let hooks = Hooks {
            hlog: Some(hlog),
            hgrm: None,
        };
        rtbench_load::run_with(&config, hooks).map_err(|e| e.to_string())
    }

    /// The agents' merged load; a missing or failed agent fails the trial (a partial merge is not
    /// the asked load).
    fn run_on(&self, agents: &Agents, hdr_path: &Path) -> Result<Generated, String> {
        // The agents' split needs as many connections as agents: say so before any service.
        rtbench_load::split(
            self.connections,
            None,
            rtbench_load::Model::Closed,
            agents.count,
        )
        .map_err(|e| format!("{e} (--agents)"))?;
        let ran = agents
            .run(self.builder().load_flags(), self.length(), &mut |_| {})
            .map_err(|e| e.to_string())?;
        let failed = ran.failed_agents(agents.count);
        let Some((merged, hlog)) = ran.merged.as_ref().filter(|_| failed == 0) else {
            let reasons: Vec<String> = ran
                .failures
                .iter()
                .map(|(index, reason)| format!("agent {index} failed: {reason}"))
                .collect();
            return Err(format!(
                "{} of {} agents failed or are missing{}{}",
                failed.max(1),
                agents.count,
                if reasons.is_empty() { "" } else { ": " },
                reasons.join("; ")
            ));
        };
        std::fs::write(hdr_path, hlog).map_err(|e| format!("{}: {e}", hdr_path.display()))?;
        let client_cores = ran.client_cores();
        let mut load = load_result(&merged.summary);
        // The merge averaged the agents' fractions; over the cores they had together instead.
        load.client_cpu_fraction = if load.duration_s > 0.0 {
            load.client_cpu_s / (load.duration_s * client_cores as f64)
        } else {
            0.0
        };
        load.agents = ran.record(agents.count);
        // Without a ceiling yet (request/response cells get theirs in `with_ceiling`).
        load = with_ceiling(load, None, client_cores as usize);
        Ok(Generated {
            load,
            client_cores: client_cores as usize,
        })
    }
}

/// A sliced trial's load: its slices merged exactly, their interval log written to `hdr_path`.
pub(crate) fn merge_slices(slices: &[AgentOutput], hdr_path: &Path) -> Result<LoadResult, String> {
    let mut hlog = Vec::new();
    let merged = rtbench_load::merge_slices(slices, Some(&mut hlog)).map_err(|e| e.to_string())?;
    std::fs::write(hdr_path, hlog).map_err(|e| format!("{}: {e}", hdr_path.display()))?;
    Ok(load_result(&merged.summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cell's load is the builder the engine would get (the flags it becomes are
    /// rtbench-load's `load_flags`, tested there and against the CLI).
    #[test]
    fn agents_get_the_load_the_engine_would_run() {
        let url = "http://127.0.0.1:8080/plaintext";
        let cell = CellLoad {
            url: url.into(),
            connections: 64,
            pipeline: 1,
            rate: Some(10_000.0),
            duration: Some(Duration::from_millis(1_500)),
            warmup: Duration::from_secs(2),
            timeout: None,
            stream: None,
        };
        // No CPUs: the agents resolve their own (the scale-out pins them where it must).
        let open = LoadBuilder::new(url)
            .connections(64)
            .pipeline(1)
            .warmup(Duration::from_secs(2))
            .duration(Duration::from_millis(1_500))
            .rate(10_000.0);
        assert_eq!(cell.builder().load_flags(), open.load_flags());
        assert_eq!(cell.length(), Duration::from_millis(3_500));
        let sse = CellLoad {
            duration: None,
            rate: None,
            warmup: Duration::ZERO,
            timeout: Some(Duration::from_secs(10)),
            stream: Some((100, 10)),
            ..cell
        };
        let stream = LoadBuilder::new(url)
            .connections(64)
            .pipeline(1)
            .timeout(Duration::from_secs(10))
            .stream(StreamOptions {
                events: Some(100),
                interval_ms: Some(10),
                abort_after: None,
            });
        assert_eq!(sse.builder().load_flags(), stream.load_flags());
        assert_eq!(sse.length(), Duration::from_secs(1) + STREAM_MARGIN);
        // What the agents are told is what the engine accepts.
        assert!(sse.builder().cpus(vec![0]).build().is_ok());
    }
}
