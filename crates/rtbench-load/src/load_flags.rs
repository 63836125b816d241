//! A load as `rtbench load` flags: what a swarm agent is started with so that it builds the same
//! load (its share of it). One translation, for `rtbench load --agents` and `rtbench run --agents`.

use std::time::Duration;

use crate::config::LoadBuilder;

impl LoadBuilder {
    /// The URL and `--flag=value` arguments that make `rtbench load` build this load (`=` keeps a
    /// value from being read as a flag). Settings the scale-out adds per agent (`--agent`,
    /// `--start-at`, a slice) are left out, and so are threads and CPUs unless set here: an agent
    /// resolves them on its own machine.
    pub fn load_flags(&self) -> Vec<String> {
        let ms = |d: Duration| format!("{}ms", d.as_millis());
        let mut out = vec![self.url.clone()];
        let mut flag = |name: &str, value: String| out.push(format!("{name}={value}"));
        flag("--connections", self.connections.to_string());
        flag("--pipeline", self.pipeline.to_string());
        flag("--method", self.method.clone());
        flag("--timeout", ms(self.timeout));
        flag("--io", self.io.name().to_string());
        if !self.warmup.is_zero() {
            flag("--warmup", ms(self.warmup));
        }
        let optional = [
            ("--duration", self.duration.map(ms)),
            ("--requests", self.requests.map(|n| n.to_string())),
            ("--rate", self.rate.map(|r| r.to_string())),
            ("--threads", self.threads.map(|n| n.to_string())),
            ("--cpus", self.cpus.as_ref().map(|c| cpu_list(c))),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                flag(name, value);
            }
        }
        for (name, value) in &self.headers {
            flag("--header", format!("{name}: {value}"));
        }
        if !self.body.is_empty() {
            flag("--body", String::from_utf8_lossy(&self.body).into_owned());
        }
        if let Some(stream) = &self.stream {
            out.push("--sse".into());
            let stream_flags = [
                ("--events", stream.events),
                ("--interval-ms", stream.interval_ms),
                ("--abort-after", stream.abort_after),
            ];
            for (name, value) in stream_flags {
                if let Some(value) = value {
                    out.push(format!("{name}={value}"));
                }
            }
        }
        out
    }
}

fn cpu_list(cpus: &[usize]) -> String {
    let list: Vec<String> = cpus.iter().map(usize::to_string).collect();
    list.join(",")
}

#[cfg(test)]
mod tests {
    use crate::{IoBackend, LoadBuilder, StreamOptions};
    use std::time::Duration;

    #[test]
    fn an_open_load_becomes_the_flags_that_build_it() {
        let flags = LoadBuilder::new("http://127.0.0.1:8080/json")
            .connections(64)
            .warmup(Duration::from_secs(2))
            .duration(Duration::from_millis(1500))
            .rate(10_000.0)
            .header("X-Trace", "a: b")
            .body("{\"k\":1}")
            .method("POST")
            .load_flags();
        assert_eq!(
            flags,
            [
                "http://127.0.0.1:8080/json",
                "--connections=64",
                "--pipeline=1",
                "--method=POST",
                "--timeout=10000ms",
                "--io=epoll",
                "--warmup=2000ms",
                "--duration=1500ms",
                "--rate=10000",
                "--header=X-Trace: a: b",
                "--body={\"k\":1}",
            ]
        );
    }

    #[test]
    fn threads_cpus_and_streams_appear_only_when_set() {
        let flags = LoadBuilder::new("http://127.0.0.1:8080/sse")
            .connections(100)
            .io(IoBackend::Uring)
            .requests(500)
            .threads(2)
            .cpus(vec![0, 2])
            .stream(StreamOptions {
                events: Some(100),
                interval_ms: Some(10),
                abort_after: None,
            })
            .load_flags();
        assert!(flags.contains(&"--io=uring".to_string()), "{flags:?}");
        assert!(flags.contains(&"--requests=500".to_string()), "{flags:?}");
        assert!(flags.contains(&"--threads=2".to_string()), "{flags:?}");
        assert!(flags.contains(&"--cpus=0,2".to_string()), "{flags:?}");
        assert!(
            flags.ends_with(&[
                "--sse".into(),
                "--events=100".into(),
                "--interval-ms=10".into()
            ]),
            "{flags:?}"
        );
        let plain = LoadBuilder::new("http://127.0.0.1:8080/").load_flags();
        assert!(
            !plain.iter().any(|f| f.starts_with("--threads")
                || f.starts_with("--cpus")
                || f.starts_with("--duration")
                || f == "--sse"),
            "{plain:?}"
        );
    }
}
