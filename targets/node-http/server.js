'use strict';
// rtbench reference server: Node.js 22 with the stock node:http module.
// Contract: ../README.md. Env: HOST, PORT, WORKERS, UPSTREAM_URL; RTBENCH_HANDICAP_NS (default 0) is a test
// knob for bench/gate-power.sh only: every request first spins that many nanoseconds of CPU, a known slowdown
// (nanoseconds: a −5% step at ~60k req/s is under 1 µs).

const http = require('node:http');
const cluster = require('node:cluster');
const { once } = require('node:events');
const { setTimeout: sleep } = require('node:timers/promises');

const SERVER = 'node-http';

function fail(message) {
  console.error(`${SERVER}: ${message}`);
  process.exit(2);
}

function envInt(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = parseDecimal(raw);
  if (value === null || value < min || value > max) {
    fail(`${name}=${JSON.stringify(raw)} is not an integer in ${min}..=${max}`);
  }
  return value;
}

// Strict decimal: "10abc", "1e3" and "" are not numbers here, whatever Number() thinks.
function parseDecimal(text) {
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : null;
}

const HOST = process.env.HOST || '127.0.0.1';
const PORT = envInt('PORT', 8084, 0, 65535);
const WORKERS = envInt('WORKERS', 1, 1, 1024);
const UPSTREAM_URL = process.env.UPSTREAM_URL || '';
const HANDICAP_NS = BigInt(envInt('RTBENCH_HANDICAP_NS', 0, 0, 1000000000));

// A busy wait, not a sleep: the handicap must cost server CPU per request, as slower code would.
function spin() {
  const until = process.hrtime.bigint() + HANDICAP_NS;
  while (process.hrtime.bigint() < until);
}
if (UPSTREAM_URL !== '' && !URL.canParse(UPSTREAM_URL)) fail(`UPSTREAM_URL=${JSON.stringify(UPSTREAM_URL)} is not a URL`);

// Wall-clock nanoseconds with sub-millisecond resolution (Date.now() has only milliseconds).
function unixNanos() {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

function send(res, status, contentType, body) {
  res.writeHead(status, {
    Server: SERVER,
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

const notFound = (res) => send(res, 404, 'text/plain; charset=utf-8', 'Not Found');

// Returns the value, or null when present but outside min..=max or not a decimal integer.
function queryInt(params, name, fallback, min, max) {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const value = parseDecimal(raw);
  return value !== null && value >= min && value <= max ? value : null;
}

const SSE_HEADERS = {
  Server: SERVER,
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
};

async function sse(res, params) {
  const events = queryInt(params, 'events', 10, 1, 100000);
  const intervalMs = queryInt(params, 'interval_ms', 10, 0, 60000);
  if (events === null || intervalMs === null) {
    send(res, 400, 'text/plain; charset=utf-8', 'events must be in 1..=100000 and interval_ms in 0..=60000\n');
    return;
  }
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  res.writeHead(200, SSE_HEADERS);
  try {
    for (let seq = 1; seq <= events; seq++) {
      if (seq > 1 && intervalMs > 0) await sleep(intervalMs, undefined, { signal: gone.signal });
      const data = JSON.stringify({ seq, sent_ns: unixNanos() });
      if (!res.write(`id: ${seq}\ndata: ${data}\n\n`)) await once(res, 'drain', { signal: gone.signal });
    }
    res.end();
  } catch (err) {
    if (!gone.signal.aborted) console.error(`${SERVER}: /sse: ${err.message}`);
    res.destroy();
  }
}

async function relay(res) {
  if (UPSTREAM_URL === '') {
    send(res, 503, 'text/plain; charset=utf-8', 'UPSTREAM_URL is not set\n');
    return;
  }
  // Aborting this signal closes the upstream connection, so a client that leaves frees it at once.
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  let upstream;
  try {
    upstream = await fetch(UPSTREAM_URL, { headers: { Accept: 'text/event-stream' }, signal: gone.signal });
  } catch (err) {
    if (!gone.signal.aborted) send(res, 502, 'text/plain; charset=utf-8', `upstream: ${err.cause?.code ?? err.cause?.message ?? err.message}\n`);
    return;
  }
  if (upstream.status !== 200 || upstream.body === null) {
    gone.abort();
    send(res, 502, 'text/plain; charset=utf-8', `upstream answered ${upstream.status}\n`);
    return;
  }
  res.writeHead(200, SSE_HEADERS);
  try {
    for await (const chunk of upstream.body) {
      if (!res.write(chunk)) await once(res, 'drain', { signal: gone.signal });
    }
    res.end();
  } catch {
    // Upstream failed mid-stream or the client left: either way this response cannot be completed.
    gone.abort();
    res.destroy();
  }
}

function handle(req, res) {
  if (HANDICAP_NS > 0n) spin();
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  if (req.method !== 'GET' && req.method !== 'HEAD') return notFound(res);
  switch (path) {
    case '/plaintext':
      return send(res, 200, 'text/plain', 'Hello, World!');
    case '/json':
      return send(res, 200, 'application/json', JSON.stringify({ message: 'Hello, World!' }));
    case '/health':
      return send(res, 200, 'text/plain', 'ok');
    case '/sse':
      return sse(res, new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1)));
    case '/sse-relay':
      return relay(res);
    default:
      return notFound(res);
  }
}

function serve() {
  const server = http.createServer(handle);
  server.on('error', (err) => fail(`cannot listen on ${HOST}:${PORT}: ${err.message}`));
  // Each worker binds its own SO_REUSEPORT socket, so the kernel spreads connections without a primary in the path.
  const shared = WORKERS > 1 ? { exclusive: true, reusePort: true } : {};
  server.listen({ host: HOST, port: PORT, ...shared }, () => {
    const { address, port } = server.address();
    console.log(`${SERVER} pid ${process.pid} listening on ${address}:${port}`);
  });
}

if (WORKERS > 1 && cluster.isPrimary) {
  console.log(`${SERVER} primary pid ${process.pid} starting ${WORKERS} workers`);
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  // A dead worker would silently lower capacity mid-benchmark: stop everything and let the harness see it.
  cluster.on('exit', (worker, code, signal) => {
    console.error(`${SERVER}: worker ${worker.process.pid} exited (${signal ?? code}); stopping`);
    for (const other of Object.values(cluster.workers)) other.process.kill('SIGTERM');
    process.exit(1);
  });
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      for (const worker of Object.values(cluster.workers)) worker.process.kill(sig);
      process.exit(0);
    });
  }
} else {
  serve();
}
