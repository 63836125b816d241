//! The boundary between the engine and the file format: the engine's in-memory [`Summary`]
//! becomes the results schema's [`LoadResult`], field by field, so neither depends on the other.
use rtbench_load as engine;
use rtbench_results::{ClientCeiling, ErrorCounts, LoadResult, Model, Percentiles, StreamResult};

/// The schema's record of one engine run.
pub fn load_result(summary: &engine::Summary) -> LoadResult {
    LoadResult {
        model: match summary.model {
            engine::Model::Closed => Model::Closed,
            engine::Model::Open => Model::Open,
            engine::Model::Stream => Model::Stream,
        },
        connections: summary.connections,
        pipeline: summary.pipeline,
        threads: summary.threads,
        requests: summary.requests,
        duration_s: summary.duration_s,
        rps: summary.rps,
        bytes_read: summary.bytes_read,
        transfer_bytes_per_s: summary.transfer_bytes_per_s,
        errors: errors(&summary.errors),
        latency_us: percentiles(&summary.latency_us),
        latency_uncorrected_us: summary.latency_uncorrected_us.as_ref().map(percentiles),
        target_rate: summary.target_rate,
        achieved_rate: summary.achieved_rate,
        unsent_due: summary.unsent_due,
        client_cpu_s: summary.client_cpu_s,
        client_cpu_fraction: summary.client_cpu_fraction,
        client_headroom: None,
        client_bound: summary.client_bound,
        stream: summary.stream.as_ref().map(stream),
        status_codes: summary.status_codes.clone(),
    }
}

/// A request/response load held against the run's client ceiling: its headroom, and the
/// client-bound flag again by the engine's one rule, now with the headroom. `client_cpus` is how
/// many CPUs the client was given (it ran on at most one per worker thread).
pub(crate) fn with_ceiling(
    mut load: LoadResult,
    ceiling: Option<&ClientCeiling>,
    client_cpus: usize,
) -> LoadResult {
    let cores = client_cpus.min(usize::try_from(load.threads).unwrap_or(usize::MAX));
    load.client_headroom =
        ceiling.and_then(|c| engine::headroom(load.rps, c.max_rps_per_core, cores));
    load.client_bound = engine::client_bound(load.client_cpu_fraction, load.client_headroom);
    load
}

/// The schema's record of a measured ceiling.
pub(crate) fn ceiling_record(c: &engine::Ceiling) -> ClientCeiling {
    ClientCeiling {
        client_cpus: c.client_cpus.clone(),
        server_cpus: c.server_cpus.clone(),
        connections: c.summary.connections,
        duration_s: c.summary.duration_s,
        rps: c.summary.rps,
        client_cpu_fraction: c.summary.client_cpu_fraction,
        cpu_us_per_request: c.cpu_us_per_request,
        max_rps_per_core: c.max_rps_per_core,
        shared_cpu: c.shared_cpu,
    }
}

fn percentiles(p: &engine::Percentiles) -> Percentiles {
    Percentiles {
        p50: p.p50,
        p75: p.p75,
        p90: p.p90,
        p99: p.p99,
        p999: p.p999,
        p9999: p.p9999,
        max: p.max,
        mean: p.mean,
    }
}

fn errors(e: &engine::ErrorCounts) -> ErrorCounts {
    ErrorCounts {
        total: e.total,
        connect: e.connect,
        read: e.read,
        write: e.write,
        timeout: e.timeout,
        status: e.status,
        parse: e.parse,
        content_type: e.content_type,
    }
}

fn stream(s: &engine::StreamSummary) -> StreamResult {
    StreamResult {
        streams: s.streams,
        streams_completed: s.streams_completed,
        streams_failed: s.streams_failed,
        events_received: s.events_received,
        events_expected: s.events_expected,
        events_per_s: s.events_per_s,
        connect_us: percentiles(&s.connect_us),
        first_event_us: percentiles(&s.first_event_us),
        gap_us: percentiles(&s.gap_us),
        event_latency_us: percentiles(&s.event_latency_us),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> engine::Summary {
        let p = engine::Percentiles {
            p50: 1.0,
            p75: 2.0,
            p90: 3.0,
            p99: 4.0,
            p999: 5.0,
            p9999: 6.0,
            max: 7.0,
            mean: 1.5,
        };
        engine::Summary {
            model: engine::Model::Open,
            io: engine::IoBackend::Epoll,
            connections: 64,
            pipeline: 1,
            threads: 1,
            requests: 1000,
            duration_s: 1.0,
            rps: 990.0,
            bytes_read: 12_345,
            transfer_bytes_per_s: 12_345.0,
            errors: engine::ErrorCounts {
                total: 3,
                connect: 1,
                read: 1,
                write: 0,
                timeout: 1,
                status: 0,
                parse: 0,
                content_type: 0,
            },
            latency_us: p,
            latency_uncorrected_us: Some(p),
            target_rate: Some(1000.0),
            achieved_rate: Some(995.0),
            unsent_due: Some(2),
            client_cpu_s: 0.5,
            client_cpu_fraction: 0.5,
            client_bound: false,
            stream: Some(engine::StreamSummary {
                streams: 2,
                events_received: 10,
                connect_us: p,
                ..Default::default()
            }),
            ended: engine::Ended::Completed,
            requests_asked: None,
            start_wall_ns: 0,
            cpus: vec![0],
            connections_established: 64,
            connect_s: 0.01,
            status_codes: [(200, 990), (503, 10)].into_iter().collect(),
            error_reasons: Default::default(),
        }
    }

    /// The converted record has the engine's field names and values: schema-1 files (which
    /// embedded the engine's type) and schema-2 files agree on the load record.
    #[test]
    fn converted_record_serializes_like_the_engine_summary() {
        let summary = summary();
        let engine_json = serde_json::to_value(&summary).unwrap();
        let schema_json = serde_json::to_value(load_result(&summary)).unwrap();
        // Every recorded field carries the engine's value (the engine may add fields of its own).
        for (key, value) in schema_json.as_object().unwrap() {
            assert_eq!(Some(value), engine_json.get(key), "{key}");
        }
        assert_eq!(schema_json["stream"]["connect_us"]["p99"], 4.0);
    }

    fn ceiling(max_rps_per_core: f64) -> ClientCeiling {
        ClientCeiling {
            client_cpus: vec![0, 1],
            server_cpus: vec![2],
            connections: 64,
            duration_s: 3.0,
            rps: 2.0 * max_rps_per_core,
            client_cpu_fraction: 1.0,
            cpu_us_per_request: 1e6 / max_rps_per_core,
            max_rps_per_core,
            shared_cpu: false,
        }
    }

    #[test]
    fn headroom_counts_the_client_cores_the_load_ran_on() {
        let load = load_result(&summary()); // 990 req/s on 1 thread
        let one = with_ceiling(load.clone(), Some(&ceiling(1980.0)), 2);
        assert_eq!(one.client_headroom, Some(0.5), "one thread: one core");
        let mut two_threads = load.clone();
        two_threads.threads = 2;
        let two = with_ceiling(two_threads, Some(&ceiling(990.0)), 2);
        assert_eq!(two.client_headroom, Some(0.5), "two threads on two CPUs");
        assert_eq!(with_ceiling(load, None, 2).client_headroom, None);
    }

    #[test]
    fn the_ceiling_makes_a_cell_client_bound_from_exactly_90_percent() {
        let load = load_result(&summary()); // 990 req/s, client CPU 50%
        assert!(with_ceiling(load.clone(), Some(&ceiling(1100.0)), 1).client_bound);
        assert!(!with_ceiling(load.clone(), Some(&ceiling(1100.2)), 1).client_bound);
        let mut busy = load;
        busy.client_cpu_fraction = 0.9;
        assert!(
            with_ceiling(busy, None, 1).client_bound,
            "CPU alone still counts"
        );
    }
}
