#!/usr/bin/env python3
"""Writes the compare fixtures beside this script. Re-run after a schema change:

    python3 crates/rtbench-report/tests/compare/make_fixtures.py

Every run has the same cells (axum and go-nethttp × plaintext/c64, json, sse/s100) with 5 trials,
each figure drawn with small seeded noise around a fixed centre, so:
  base/          the baseline
  drop20/        axum plaintext/c64 rps −20% (the rest re-drawn with other noise)  → regression
  drop1/         axum plaintext/c64 rps −1%  (the rest re-drawn with other noise)  → no change
  other-targets/ go-nethttp and bun; axum failed verification                     → listed, no crash
  few-trials/    2 trials a cell                                                  → insufficient trials
  corrupt/       truncated JSON                                                   → exit 2
  schema-v99.json schema_version 99                                               → exit 2
"""
import hashlib
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

CENTRES = {
    # target: (rps, p50 µs, p99 µs, max µs, rss KiB, cpu µs/req)
    "axum": (180_000.0, 340.0, 900.0, 4_000.0, 6_000.0, 5.4),
    "go-nethttp": (95_000.0, 650.0, 2_100.0, 9_000.0, 14_000.0, 10.2),
    "bun": (80_000.0, 780.0, 2_500.0, 11_000.0, 42_000.0, 12.0),
}


def percentiles(p50, p99, mx):
    return {"p50": p50, "p75": p50 * 1.2, "p90": p50 * 1.6, "p99": p99, "p999": p99 * 1.5,
            "p9999": p99 * 2.0, "max": mx, "mean": p50 * 1.1}


def trial(rng, target, scenario, variant, k, rps_factor=1.0):
    rps, p50, p99, mx, rss, cpu = CENTRES[target]
    n = lambda x, pct: x * (1.0 + rng.uniform(-pct, pct) / 100.0)
    stream = None
    model = "closed"
    if scenario == "sse":
        model = "stream"
        stream = {
            "streams": 100, "streams_completed": 100, "streams_failed": 0,
            "events_received": 1000, "events_expected": 1000, "events_per_s": n(9_900.0, 1),
            "connect_us": percentiles(n(80, 3), n(200, 3), n(400, 3)),
            "first_event_us": percentiles(n(300, 3), n(800, 3), n(1500, 3)),
            "gap_us": percentiles(n(10_000, 1), n(10_400, 1), n(11_000, 1)),
            "event_latency_us": percentiles(n(60, 3), n(250, 3), n(900, 3)),
        }
        rps_t = 0.0
        lat = percentiles(0.0, 0.0, 0.0)
    else:
        rps_t = n(rps * rps_factor, 1.5)
        lat = percentiles(n(p50, 3), n(p99, 4), n(mx, 10))
    requests = int(rps_t * 4)
    return {
        "target": target, "scenario": scenario, "variant": variant, "trial": k, "status": "ok",
        "started_at": f"2026-11-28T00:0{k}:00Z",
        "load": {
            "model": model, "connections": 64, "pipeline": 1, "threads": 1, "requests": requests,
            "duration_s": 4.0, "rps": rps_t, "bytes_read": requests * 130,
            "transfer_bytes_per_s": rps_t * 130,
            "errors": {"total": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0, "status": 0,
                       "parse": 0},
            "latency_us": lat, "client_cpu_s": 3.1, "client_cpu_fraction": 0.78,
            "client_bound": False, **({"stream": stream} if stream else {}),
        },
        "server": {
            "samples": 40, "rss_idle_kib": rss * 0.8, "rss_mean_kib": n(rss, 1),
            "rss_peak_kib": rss * 1.05, "cpu_s": 3.9, "cores_used": 0.98,
            "cpu_us_per_request": None if scenario == "sse" else n(cpu, 1.5),
        },
    }


def run(run_id, seed, targets, trials=5, factor=None, failed=()):
    rng = random.Random(seed)
    records = []
    for t in targets + list(failed):
        rec = {"name": t, "display_name": t, "runtime": t, "status": "ok", "checks": []}
        if t in failed:
            rec.update(status="failed", reason="verify: plaintext FAIL: missing Date header")
        records.append(rec)
    out = []
    for k in range(1, trials + 1):
        for scenario, variant in (("plaintext", "c64"), ("json", ""), ("sse", "s100")):
            for t in targets:  # the runner rotates target order per round; order is irrelevant here
                f = (factor or {}).get((t, scenario, variant), 1.0)
                out.append(trial(rng, t, scenario, variant, k, f))
    return {
        "schema_version": 1, "run_id": run_id, "started_at": "2026-11-28T00:00:00Z",
        "finished_at": "2026-11-28T00:30:00Z",
        "environment": {
            "hostname": "bench1", "cpu_model": "Example CPU @ 3.0GHz", "cores": 2,
            "kernel": "6.1.0", "memory_bytes": 25769803776, "rtbench_version": "0.1.0",
            "git_commit": hashlib.sha1(run_id.encode()).hexdigest(), "launcher": "native",
            "placement": {"server_cpus": [1], "client_cpus": [0]},
            "runtime_versions": {t: "1.0" for t in targets},
        },
        "suite": {"name": "quick", "trials": trials, "scenarios": ["plaintext", "json", "sse"]},
        "targets": records, "trials": out,
    }


def write(name, data):
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


write("base/run.json", run("20261128T000000Z-bench1", 1, ["axum", "go-nethttp"]))
write("drop20/run.json", run("20261129T000000Z-bench1", 2, ["axum", "go-nethttp"],
                             factor={("axum", "plaintext", "c64"): 0.80}))
write("drop1/run.json", run("20261130T000000Z-bench1", 3, ["axum", "go-nethttp"],
                            factor={("axum", "plaintext", "c64"): 0.99}))
write("other-targets/run.json", run("20261201T000000Z-bench1", 4, ["go-nethttp", "bun"],
                                    failed=("axum",)))
write("few-trials/run.json", run("20261202T000000Z-bench1", 5, ["axum", "go-nethttp"], trials=2))
text = json.dumps(run("20261203T000000Z-bench1", 6, ["axum"]), indent=1)
os.makedirs(os.path.join(HERE, "corrupt"), exist_ok=True)
with open(os.path.join(HERE, "corrupt", "run.json"), "w") as f:
    f.write(text[: len(text) // 2])  # a run cut short mid-write
v99 = run("20261204T000000Z-bench1", 7, ["axum"])
v99["schema_version"] = 99
write("schema-v99.json", v99)
