//! A scenario's resolved settings: every value the runner used, defaults included, so a reader of
//! `run.json` never has to know what an omitted key meant. The harness settles the defaults once,
//! when it reads the scenario file, into exactly these types.
use serde::{Deserialize, Serialize};

/// One scenario as it ran (after the suite's overrides and the defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioSettings {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The kind and the kind's own settings.
    #[serde(flatten)]
    pub kind: KindSettings,
    /// The load shapes that ran, in order.
    pub variants: Vec<VariantSettings>,
}

/// What a scenario measures, with the settings that kind uses (and no others).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KindSettings {
    /// Requests on `path`: closed model, or open model for variants with a rate.
    Http {
        path: String,
        duration_ms: u64,
        /// Warm-up on the same connections, excluded from every figure.
        warmup_ms: u64,
    },
    /// Keep-alive connections held open after one request each: memory per connection.
    IdleConnections {
        path: String,
        /// How long the connections are held before memory is read.
        settle_ms: u64,
    },
    /// Repeated launches: start → first 200 on /health.
    ColdStart { starts: u32 },
    /// Concurrent streams from the target's own `/sse`.
    Sse {
        path: String,
        events: u32,
        interval_ms: u32,
    },
    /// SSE relayed by the target from rtbench's upstream token server.
    SseRelay {
        path: String,
        /// Upstream tokens per stream.
        events: u32,
        interval_ms: u32,
        /// The abort test's client leaves after this many tokens.
        abort_after: u32,
        /// Sequential streams in the abort test.
        abort_streams: u32,
    },
}

/// One load shape of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantSettings {
    /// Short label used in results, e.g. `c64`.
    pub name: String,
    /// Connections (`http`, `idle-connections`) or concurrent streams (`sse`, `sse-relay`).
    pub connections: u32,
    /// Open model: requests per second over `connections`; absent in the closed model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Pipeline depth; > 1 is labelled pipelined.
    pub pipeline: u32,
}

impl KindSettings {
    /// The kind's name as scenario files write it.
    pub fn name(&self) -> &'static str {
        match self {
            KindSettings::Http { .. } => "http",
            KindSettings::IdleConnections { .. } => "idle-connections",
            KindSettings::ColdStart { .. } => "cold-start",
            KindSettings::Sse { .. } => "sse",
            KindSettings::SseRelay { .. } => "sse-relay",
        }
    }

    /// The request path, for kinds that make requests.
    pub fn path(&self) -> Option<&str> {
        match self {
            KindSettings::Http { path, .. }
            | KindSettings::IdleConnections { path, .. }
            | KindSettings::Sse { path, .. }
            | KindSettings::SseRelay { path, .. } => Some(path),
            KindSettings::ColdStart { .. } => None,
        }
    }
}
