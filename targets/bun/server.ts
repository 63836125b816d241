// rtbench reference server: Bun.serve.
// Contract: ../README.md. Env: HOST, PORT, WORKERS, UPSTREAM_URL.
import type { Server } from "bun";

const SERVER = "bun";

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
const PORT = envInt("PORT", 8083, 0, 65535);
const WORKERS = envInt("WORKERS", 1, 1, 1024);
const UPSTREAM_URL = process.env.UPSTREAM_URL || "";
if (UPSTREAM_URL !== "" && !URL.canParse(UPSTREAM_URL)) fail(`UPSTREAM_URL=${JSON.stringify(UPSTREAM_URL)} is not a URL`);
const IS_WORKER = process.env.RTBENCH_BUN_WORKER === "1";

// Wall-clock nanoseconds with sub-millisecond resolution (Date.now() has only milliseconds).
function unixNanos(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

function text(status: number, body: string): Response {
  return new Response(body, {
    status,
    headers: { Server: SERVER, "Content-Type": "text/plain; charset=utf-8" },
  });
}

const notFound = () => text(404, "Not Found");

const SSE_HEADERS = {
  Server: SERVER,
  "Content-Type": "text/event-stream",
  "Cache-Control": "no-cache",
};

// Returns the value, or null when present but outside min..=max or not a decimal integer.
function queryInt(params: URLSearchParams, name: string, fallback: number, min: number, max: number): number | null {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const value = parseDecimal(raw);
  return value !== null && value >= min && value <= max ? value : null;
}

function sse(req: Request, server: Server): Response {
  const params = new URL(req.url).searchParams;
  const events = queryInt(params, "events", 10, 1, 100000);
  const intervalMs = queryInt(params, "interval_ms", 10, 0, 60000);
  if (events === null || intervalMs === null) {
    return text(400, "events must be in 1..=100000 and interval_ms in 0..=60000\n");
  }
  // A stream may pause up to 60 s between events: longer than Bun's idle timeout.
  server.timeout(req, 0);
  let seq = 0;
  const stream = new ReadableStream(
    {
      async pull(controller) {
        seq += 1;
        if (seq > 1 && intervalMs > 0) await Bun.sleep(intervalMs);
        if (req.signal.aborted) return;
        const data = JSON.stringify({ seq, sent_ns: unixNanos() });
        controller.enqueue(`id: ${seq}\ndata: ${data}\n\n`);
        if (seq === events) controller.close();
      },
    },
    // Produce an event only when the previous one has been handed to the socket.
    { highWaterMark: 0 },
  );
  return new Response(stream, { headers: SSE_HEADERS });
}

async function relay(req: Request, server: Server): Promise<Response> {
  if (UPSTREAM_URL === "") return text(503, "UPSTREAM_URL is not set\n");
  server.timeout(req, 0);
  let upstream: Response;
  try {
    // req.signal aborts when the client leaves, which closes the upstream connection.
    upstream = await fetch(UPSTREAM_URL, { headers: { Accept: "text/event-stream" }, signal: req.signal });
  } catch (err) {
    return text(502, `upstream: ${(err as Error).message}\n`);
  }
  if (upstream.status !== 200 || upstream.body === null) {
    await upstream.body?.cancel();
    return text(502, `upstream answered ${upstream.status}\n`);
  }
  return new Response(upstream.body, { headers: SSE_HEADERS });
}

function serve() {
  const server = Bun.serve({
    hostname: HOST,
    port: PORT,
    // Workers are separate processes on one SO_REUSEPORT port; the kernel spreads the connections.
    reusePort: WORKERS > 1,
    routes: {
      "/plaintext": {
        GET: () => new Response("Hello, World!", { headers: { Server: SERVER, "Content-Type": "text/plain" } }),
      },
      "/json": { GET: () => Response.json({ message: "Hello, World!" }, { headers: { Server: SERVER } }) },
      "/health": { GET: () => new Response("ok", { headers: { Server: SERVER, "Content-Type": "text/plain" } }) },
      "/sse": { GET: sse },
      "/sse-relay": { GET: relay },
    },
    fetch: notFound,
    error(err) {
      console.error(`${SERVER}: ${err.message}`);
      return text(500, "Internal Server Error\n");
    },
  });
  console.log(`${SERVER} pid ${process.pid} listening on ${server.hostname}:${server.port}`);
}

function supervise() {
  console.log(`${SERVER} primary pid ${process.pid} starting ${WORKERS} workers`);
  const workers = Array.from({ length: WORKERS }, () =>
    Bun.spawn({
      cmd: [process.execPath, import.meta.path],
      env: { ...process.env, RTBENCH_BUN_WORKER: "1" },
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
