// rtbench reference server: Deno.serve on Deno 2.
// Contract: ../README.md. Env: HOST, PORT, WORKERS, UPSTREAM_URL.

const SERVER = "deno";

function fail(message: string): never {
  console.error(`${SERVER}: ${message}`);
  Deno.exit(2);
}

// Strict decimal: "10abc", "1e3" and "" are not numbers here, whatever Number() thinks.
function parseDecimal(text: string): number | null {
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : null;
}

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = Deno.env.get(name);
  if (raw === undefined || raw === "") return fallback;
  const value = parseDecimal(raw);
  if (value === null || value < min || value > max) {
    fail(`${name}=${JSON.stringify(raw)} is not an integer in ${min}..=${max}`);
  }
  return value;
}

const HOST = Deno.env.get("HOST") || "127.0.0.1";
const PORT = envInt("PORT", 8087, 0, 65535);
// Deno.serve runs on one thread; several processes would be `deno serve --parallel`, a different program.
const WORKERS = envInt("WORKERS", 1, 1, 1024);
if (WORKERS !== 1) fail(`WORKERS=${WORKERS}: this target serves from one Deno.serve thread (WORKERS must be 1)`);
const UPSTREAM_URL = Deno.env.get("UPSTREAM_URL") || "";
if (UPSTREAM_URL !== "" && !URL.canParse(UPSTREAM_URL)) fail(`UPSTREAM_URL=${JSON.stringify(UPSTREAM_URL)} is not a URL`);

// Wall-clock nanoseconds with sub-millisecond resolution (Date.now() has only milliseconds).
function unixNanos(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function text(status: number, body: string, contentType = "text/plain; charset=utf-8"): Response {
  return new Response(body, { status, headers: { Server: SERVER, "Content-Type": contentType } });
}

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

function sse(req: Request, params: URLSearchParams): Response {
  const events = queryInt(params, "events", 10, 1, 100000);
  const intervalMs = queryInt(params, "interval_ms", 10, 0, 60000);
  if (events === null || intervalMs === null) {
    return text(400, "events must be in 1..=100000 and interval_ms in 0..=60000\n");
  }
  const encoder = new TextEncoder();
  let seq = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        seq += 1;
        if (seq > 1 && intervalMs > 0) await sleep(intervalMs);
        if (req.signal.aborted) return;
        const data = JSON.stringify({ seq, sent_ns: unixNanos() });
        controller.enqueue(encoder.encode(`id: ${seq}\ndata: ${data}\n\n`));
        if (seq === events) controller.close();
      },
    },
    // Produce an event only when the previous one has been handed to the socket.
    { highWaterMark: 0 },
  );
  return new Response(stream, { headers: SSE_HEADERS });
}

async function relay(req: Request): Promise<Response> {
  if (UPSTREAM_URL === "") return text(503, "UPSTREAM_URL is not set\n");
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

function handle(req: Request): Response | Promise<Response> {
  const url = new URL(req.url);
  if (req.method !== "GET" && req.method !== "HEAD") return text(404, "Not Found");
  switch (url.pathname) {
    case "/plaintext":
      return new Response("Hello, World!", { headers: { Server: SERVER, "Content-Type": "text/plain" } });
    case "/json":
      return Response.json({ message: "Hello, World!" }, { headers: { Server: SERVER } });
    case "/health":
      return new Response("ok", { headers: { Server: SERVER, "Content-Type": "text/plain" } });
    case "/sse":
      return sse(req, url.searchParams);
    case "/sse-relay":
      return relay(req);
    default:
      return text(404, "Not Found");
  }
}

try {
  Deno.serve({
    hostname: HOST,
    port: PORT,
    onListen({ hostname, port }) {
      console.log(`${SERVER} pid ${Deno.pid} listening on ${hostname}:${port}`);
    },
    onError(err) {
      console.error(`${SERVER}: ${(err as Error).message}`);
      return text(500, "Internal Server Error\n");
    },
  }, handle);
} catch (err) {
  fail(`cannot listen on ${HOST}:${PORT}: ${(err as Error).message}`);
}
