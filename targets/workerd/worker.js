// rtbench reference server: a Worker (one ES module with a `fetch` handler) on workerd.
// Contract: ../README.md. HOST, PORT and WORKERS are checked by start.sh; UPSTREAM_URL is a binding.

const SERVER = 'workerd';
const encoder = new TextEncoder();

// Workers' clocks advance only between I/O events and have millisecond resolution (a Spectre mitigation), so
// `sent_ns` is the time of the last I/O in whole milliseconds: good to ~1 ms, not to the microsecond.
const unixNanos = () => Date.now() * 1e6;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// workerd sends no `Server` and no `Date` header of its own: both are added here, Date formatted per response.
function headers(contentType, extra = {}) {
  return { Server: SERVER, Date: new Date().toUTCString(), 'Content-Type': contentType, ...extra };
}

const text = (status, body, contentType = 'text/plain; charset=utf-8') =>
  new Response(body, { status, headers: headers(contentType) });

const sseHeaders = () => headers('text/event-stream', { 'Cache-Control': 'no-cache' });

// Strict decimal: "10abc", "1e3" and "" are not numbers here, whatever Number() thinks.
function queryInt(params, name, fallback, min, max) {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const value = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : null;
  return value !== null && value >= min && value <= max ? value : null;
}

function sse(request, params) {
  const events = queryInt(params, 'events', 10, 1, 100000);
  const intervalMs = queryInt(params, 'interval_ms', 10, 0, 60000);
  if (events === null || intervalMs === null) {
    return text(400, 'events must be in 1..=100000 and interval_ms in 0..=60000\n');
  }
  let seq = 0;
  const stream = new ReadableStream(
    {
      async pull(controller) {
        seq += 1;
        if (seq > 1 && intervalMs > 0) await sleep(intervalMs);
        if (request.signal?.aborted) return;
        const data = JSON.stringify({ seq, sent_ns: unixNanos() });
        controller.enqueue(encoder.encode(`id: ${seq}\ndata: ${data}\n\n`));
        if (seq === events) controller.close();
      },
    },
    // Produce an event only when the previous one has been handed to the socket.
    { highWaterMark: 0 },
  );
  return new Response(stream, { headers: sseHeaders() });
}

async function relay(request, env) {
  const upstreamUrl = env.UPSTREAM_URL || '';
  if (upstreamUrl === '') return text(503, 'UPSTREAM_URL is not set\n');
  let upstream;
  try {
    upstream = await fetch(upstreamUrl, { headers: { Accept: 'text/event-stream' } });
  } catch (err) {
    return text(502, `upstream: ${err.message}\n`);
  }
  if (upstream.status !== 200 || upstream.body === null) {
    await upstream.body?.cancel();
    return text(502, `upstream answered ${upstream.status}\n`);
  }
  // The upstream body is handed to the runtime as this response's body: workerd pumps it to the client and, when
  // the client leaves, cancels the stream, which is the only abort a Worker can ask for here.
  return new Response(upstream.body, { headers: sseHeaders() });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(404, 'Not Found');
    switch (url.pathname) {
      case '/plaintext':
        return text(200, 'Hello, World!', 'text/plain');
      case '/json':
        return new Response(JSON.stringify({ message: 'Hello, World!' }), { headers: headers('application/json') });
      case '/health':
        return text(200, 'ok', 'text/plain');
      case '/sse':
        return sse(request, url.searchParams);
      case '/sse-relay':
        return relay(request, env);
      default:
        return text(404, 'Not Found');
    }
  },
};
