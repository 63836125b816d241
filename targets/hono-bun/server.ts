// rtbench reference server: Hono on Bun, streaming through Hono's own SSE helper.
// Contract: ../README.md. Env: HOST, PORT, WORKERS, UPSTREAM_URL.
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { Server } from "bun";

const SERVER = "hono-bun";

function fail(message: string): never {
  console.error(`${SERVER}: ${message}`);
  process.exit(2);
}

// Strict decimal: "10abc", "1e3" and "" are not numbers here, whatever Number() thinks.
function parseDecimal(text: string): number | null {
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : null;
}

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = parseDecimal(raw);
  if (value === null || value < min || value > max) {
    fail(`${name}=${JSON.stringify(raw)} is not an integer in ${min}..=${max}`);
  }
  return value;
}

const HOST = process.env.HOST || "127.0.0.1";
const PORT = envInt("PORT", 8090, 0, 65535);
const WORKERS = envInt("WORKERS", 1, 1, 1024);
const UPSTREAM_URL = process.env.UPSTREAM_URL || "";
if (UPSTREAM_URL !== "" && !URL.canParse(UPSTREAM_URL)) fail(`UPSTREAM_URL=${JSON.stringify(UPSTREAM_URL)} is not a URL`);
const IS_WORKER = process.env.RTBENCH_HONO_WORKER === "1";

// Wall-clock nanoseconds with sub-millisecond resolution (Date.now() has only milliseconds).
function unixNanos(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

// Returns the value, or null when present but outside min..=max or not a decimal integer.
function queryInt(raw: string | undefined, fallback: number, min: number, max: number): number | null {
  if (raw === undefined) return fallback;
  const value = parseDecimal(raw);
  return value !== null && value >= min && value <= max ? value : null;
}

const BAD_SSE_QUERY = "events must be in 1..=100000 and interval_ms in 0..=60000\n";
const SSE_HEADERS = { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" };

const app = new Hono<{ Bindings: Server }>();

// Hono sends no Server header; every response, errors and streams included, gets one here.
app.use(async (c, next) => {
  await next();
  c.res.headers.set("Server", SERVER);
});

app.get("/plaintext", (c) => c.text("Hello, World!", 200, { "Content-Type": "text/plain" }));
app.get("/json", (c) => c.json({ message: "Hello, World!" }));
app.get("/health", (c) => c.text("ok", 200, { "Content-Type": "text/plain" }));

app.get("/sse", (c) => {
  const events = queryInt(c.req.query("events"), 10, 1, 100000);
  const intervalMs = queryInt(c.req.query("interval_ms"), 10, 0, 60000);
  if (events === null || intervalMs === null) return c.text(BAD_SSE_QUERY, 400);
  // A stream may pause up to 60 s between events: longer than Bun's idle timeout.
  c.env.timeout(c.req.raw, 0);
  c.header("Cache-Control", "no-cache");
  return streamSSE(c, async (stream) => {
    for (let seq = 1; seq <= events && !stream.aborted; seq++) {
      if (seq > 1 && intervalMs > 0) await stream.sleep(intervalMs);
      if (stream.aborted) break;
      await stream.writeSSE({ id: String(seq), data: JSON.stringify({ seq, sent_ns: unixNanos() }) });
    }
  });
});

app.get("/sse-relay", async (c) => {
  if (UPSTREAM_URL === "") return c.text("UPSTREAM_URL is not set\n", 503);
  c.env.timeout(c.req.raw, 0);
  let upstream: Response;
  try {
    // The request's signal aborts when the client leaves, which closes the upstream connection.
    upstream = await fetch(UPSTREAM_URL, { headers: { Accept: "text/event-stream" }, signal: c.req.raw.signal });
  } catch (err) {
    return c.text(`upstream: ${(err as Error).message}\n`, 502);
  }
  if (upstream.status !== 200 || upstream.body === null) {
    await upstream.body?.cancel();
    return c.text(`upstream answered ${upstream.status}\n`, 502);
  }
  // Byte for byte: the upstream's events are already framed, so they pass through rather than being re-written.
  return c.body(upstream.body, 200, SSE_HEADERS);
});

app.notFound((c) => c.text("Not Found", 404));
app.onError((err, c) => {
  console.error(`${SERVER}: ${err.message}`);
  return c.text("Internal Server Error\n", 500);
});

function serve() {
  const server = Bun.serve({
    hostname: HOST,
    port: PORT,
    // Workers are separate processes on one SO_REUSEPORT port; the kernel spreads the connections.
    reusePort: WORKERS > 1,
    fetch: app.fetch,
  });
  console.log(`${SERVER} pid ${process.pid} listening on ${server.hostname}:${server.port}`);
}

function supervise() {
  console.log(`${SERVER} primary pid ${process.pid} starting ${WORKERS} workers`);
  const workers = Array.from({ length: WORKERS }, () =>
    Bun.spawn({
      cmd: [process.execPath, import.meta.path],
      env: { ...process.env, RTBENCH_HONO_WORKER: "1" },
      stdio: ["ignore", "inherit", "inherit"],
      // A dead worker would silently lower capacity mid-benchmark: stop everything and let the harness see it.
      onExit(proc, code, signal) {
        console.error(`${SERVER}: worker ${proc.pid} exited (${signal ?? code}); stopping`);
        for (const w of workers) w.kill();
        process.exit(1);
      },
    }),
  );
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.on(sig, () => {
      for (const w of workers) w.kill(sig);
      process.exit(0);
    });
  }
}

try {
  if (WORKERS > 1 && !IS_WORKER) supervise();
  else serve();
} catch (err) {
  fail(`cannot listen on ${HOST}:${PORT}: ${(err as Error).message}`);
}
