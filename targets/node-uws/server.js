'use strict';
// rtbench reference server: Node.js 22 with uWebSockets.js (npm @btc-vision/uwebsockets.js, a republish of the
// upstream binaries). Contract: ../README.md. Env: HOST, PORT, WORKERS, UPSTREAM_URL.
// uWS writes the Date header itself (refreshed once a second by its loop) and a `uWebSockets: 20` header.

const { Worker, isMainThread, threadId } = require('node:worker_threads');
const { setTimeout: sleep } = require('node:timers/promises');

const SERVER = 'node-uws';

function fail(message) {
  console.error(`${SERVER}: ${message}`);
  process.exit(2);
}

// Strict decimal: "10abc", "1e3" and "" are not numbers here, whatever Number() thinks.
function parseDecimal(text) {
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : null;
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

const HOST = process.env.HOST || '127.0.0.1';
const PORT = envInt('PORT', 8085, 1, 65535);
const WORKERS = envInt('WORKERS', 1, 1, 1024);
const UPSTREAM_URL = process.env.UPSTREAM_URL || '';
if (UPSTREAM_URL !== '' && !URL.canParse(UPSTREAM_URL)) fail(`UPSTREAM_URL=${JSON.stringify(UPSTREAM_URL)} is not a URL`);

// Wall-clock nanoseconds with sub-millisecond resolution (Date.now() has only milliseconds).
function unixNanos() {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

function text(res, status, body) {
  res.writeStatus(status).writeHeader('Server', SERVER).writeHeader('Content-Type', 'text/plain; charset=utf-8').end(body);
}

const notFound = (res) => text(res, '404 Not Found', 'Not Found');

// Returns the value, or null when present but outside min..=max or not a decimal integer.
function queryInt(req, name, fallback, min, max) {
  const raw = req.getQuery(name);
  if (raw === undefined) return fallback;
  const value = parseDecimal(raw);
  return value !== null && value >= min && value <= max ? value : null;
}

function startEventStream(res) {
  res
    .writeStatus('200 OK')
    .writeHeader('Server', SERVER)
    .writeHeader('Content-Type', 'text/event-stream')
    .writeHeader('Cache-Control', 'no-cache');
}

// Resolves when uWS has drained its backpressure buffer (or the client left: onAborted resolves it too).
function writable(res) {
  return new Promise((resolve) => {
    res.drained = resolve;
    res.onWritable(() => {
      res.drained = null;
      resolve();
      return true;
    });
  });
}

// Every async response must say what happens if the client leaves; after that `res` may not be touched.
function watchAbort(res, onAbort) {
  res.aborted = false;
  res.onAborted(() => {
    res.aborted = true;
    if (res.drained) res.drained();
    onAbort();
  });
}

function sse(res, req) {
  const events = queryInt(req, 'events', 10, 1, 100000);
  const intervalMs = queryInt(req, 'interval_ms', 10, 0, 60000);
  if (events === null || intervalMs === null) {
    text(res, '400 Bad Request', 'events must be in 1..=100000 and interval_ms in 0..=60000\n');
    return;
  }
  const gone = new AbortController();
  watchAbort(res, () => gone.abort());
  (async () => {
    for (let seq = 1; seq <= events; seq++) {
      if (seq > 1 && intervalMs > 0) await sleep(intervalMs, undefined, { signal: gone.signal });
      if (res.aborted) return;
      let ok = true;
      // Writes outside the route handler's own tick must be corked: one syscall per event.
      res.cork(() => {
        if (seq === 1) startEventStream(res);
        const data = JSON.stringify({ seq, sent_ns: unixNanos() });
        ok = res.write(`id: ${seq}\ndata: ${data}\n\n`);
        if (seq === events) res.end();
      });
      if (!ok && seq < events) await writable(res);
    }
  })().catch((err) => {
    if (!res.aborted) {
      console.error(`${SERVER}: /sse: ${err.message}`);
      res.close();
    }
  });
}

function relay(res) {
  if (UPSTREAM_URL === '') {
    text(res, '503 Service Unavailable', 'UPSTREAM_URL is not set\n');
    return;
  }
  // Aborting this signal closes the upstream connection, so a client that leaves frees it at once.
  const gone = new AbortController();
  watchAbort(res, () => gone.abort());
  (async () => {
    let upstream;
    try {
      upstream = await fetch(UPSTREAM_URL, { headers: { Accept: 'text/event-stream' }, signal: gone.signal });
    } catch (err) {
      if (!res.aborted) res.cork(() => text(res, '502 Bad Gateway', `upstream: ${err.cause?.code ?? err.cause?.message ?? err.message}\n`));
      return;
    }
    if (upstream.status !== 200 || upstream.body === null) {
      gone.abort();
      if (!res.aborted) res.cork(() => text(res, '502 Bad Gateway', `upstream answered ${upstream.status}\n`));
      return;
    }
    res.cork(() => startEventStream(res));
    for await (const chunk of upstream.body) {
      if (res.aborted) return;
      let ok = true;
      res.cork(() => {
        ok = res.write(chunk);
      });
      if (!ok) await writable(res);
    }
    if (!res.aborted) res.cork(() => res.end());
  })().catch((err) => {
    // Upstream failed mid-stream, or the client left (the abort surfaces here as an AbortError).
    gone.abort();
    if (!res.aborted) {
      console.error(`${SERVER}: /sse-relay: ${err.message}`);
      res.close();
    }
  });
}

function serve() {
  const uWS = require('@btc-vision/uwebsockets.js');
  uWS
    .App()
    .get('/plaintext', (res) => {
      res.writeStatus('200 OK').writeHeader('Server', SERVER).writeHeader('Content-Type', 'text/plain').end('Hello, World!');
    })
    .get('/json', (res) => {
      const body = JSON.stringify({ message: 'Hello, World!' });
      res.writeStatus('200 OK').writeHeader('Server', SERVER).writeHeader('Content-Type', 'application/json').end(body);
    })
    .get('/health', (res) => {
      res.writeStatus('200 OK').writeHeader('Server', SERVER).writeHeader('Content-Type', 'text/plain').end('ok');
    })
    .get('/sse', sse)
    .get('/sse-relay', relay)
    .any('/*', notFound)
    // On Linux uWS binds with SO_REUSEPORT, so every worker thread listens on the same port.
    .listen(HOST, PORT, (token) => {
      if (!token) fail(`cannot listen on ${HOST}:${PORT}`);
      console.log(`${SERVER} pid ${process.pid} thread ${threadId} listening on ${HOST}:${PORT}`);
    });
}

if (WORKERS > 1 && isMainThread) {
  console.log(`${SERVER} pid ${process.pid} starting ${WORKERS} worker threads`);
  for (let i = 0; i < WORKERS; i++) {
    // A dead worker would silently lower capacity mid-benchmark: stop everything and let the harness see it.
    new Worker(__filename).on('exit', (code) => fail(`worker thread exited with ${code}; stopping`));
  }
} else {
  serve();
}
