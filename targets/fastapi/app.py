"""rtbench's Python reference server: FastAPI on uvicorn (uvloop, httptools).

Contract: ../README.md. Env: UPSTREAM_URL (read at import). HOST, PORT and WORKERS go to uvicorn's command line
(see target.toml).
"""

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response, StreamingResponse


def _upstream_url() -> str | None:
    raw = os.environ.get("UPSTREAM_URL", "")
    if not raw:
        return None
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        sys.exit(f"fastapi: UPSTREAM_URL={raw!r} is not an http(s) URL")
    return raw


UPSTREAM_URL = _upstream_url()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One pooled client per worker. trust_env=False: the upstream is fixed at launch, and a proxy from the
    # environment would sit in the measured path. No read timeout: an event stream may pause for long.
    # No connection cap: httpx's default of 100 would queue the 101st relayed stream behind the others
    # (Node's fetch, Go's Transport, reqwest and Bun have no per-host cap either).
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
    async with httpx.AsyncClient(
        trust_env=False, timeout=httpx.Timeout(10.0, read=None), limits=limits
    ) as client:
        app.state.upstream = client
        yield


# No docs or OpenAPI routes and no trailing-slash redirects: the contract serves its five paths and 404s the rest.
app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None, redirect_slashes=False)


@app.exception_handler(RequestValidationError)
async def bad_query(request: Request, exc: RequestValidationError) -> PlainTextResponse:
    # The contract answers out-of-range query values with 400 (FastAPI's default is 422).
    return PlainTextResponse("events must be in 1..=100000 and interval_ms in 0..=60000\n", status_code=400)


@app.exception_handler(405)
async def wrong_method(request: Request, exc: Exception) -> PlainTextResponse:
    # The contract answers anything but its GET endpoints with 404, wrong methods included.
    return PlainTextResponse("Not Found", status_code=404)


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext() -> str:
    return "Hello, World!"


@app.get("/json")
async def json_hello() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/health", response_class=PlainTextResponse)
async def health() -> str:
    return "ok"


async def ticks(events: int, interval_ms: int) -> AsyncIterator[str]:
    # StreamingResponse writes each chunk as soon as it is yielded, so sent_ns is taken just before the write.
    # When the client leaves, Starlette cancels this generator wherever it waits.
    for seq in range(1, events + 1):
        if seq > 1 and interval_ms:
            await asyncio.sleep(interval_ms / 1000)
        data = json.dumps({"seq": seq, "sent_ns": time.time_ns()}, separators=(",", ":"))
        yield f"id: {seq}\ndata: {data}\n\n"


@app.get("/sse")
async def sse(
    events: Annotated[int, Query(ge=1, le=100_000)] = 10,
    interval_ms: Annotated[int, Query(ge=0, le=60_000)] = 10,
) -> StreamingResponse:
    return StreamingResponse(
        ticks(events, interval_ms), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


async def upstream_stream(client: httpx.AsyncClient, url: str) -> AsyncIterator[int | bytes]:
    """Yields the upstream status first, then its body chunks as they arrive. Leaving the `async with` (end of
    stream, client gone, or aclose()) closes the upstream response and so its connection."""
    async with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as upstream:
        yield upstream.status_code
        async for chunk in upstream.aiter_raw():
            yield chunk


async def client_gone(request: Request) -> None:
    # A GET's receive() yields its (empty) body once, then blocks until uvicorn reports the disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


@app.get("/sse-relay", response_model=None)
async def sse_relay(request: Request) -> Response:
    if UPSTREAM_URL is None:
        return PlainTextResponse("UPSTREAM_URL is not set\n", status_code=503)
    stream = upstream_stream(request.app.state.upstream, UPSTREAM_URL)
    # Starting the generator here lets the endpoint answer 502 before any byte is sent, and makes sure its
    # `async with` is unwound even if the client leaves before the response starts. Starlette cancels a
    # streaming response when its client leaves, but not an endpoint: so race the upstream's answer against
    # the client leaving.
    opening = asyncio.ensure_future(anext(stream))
    gone = asyncio.ensure_future(client_gone(request))
    try:
        await asyncio.wait({opening, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not opening.done():
        # Cancelling unwinds the generator's `async with`, which closes the upstream connection.
        opening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await opening
        return Response(status_code=499)  # nginx's "client closed request"; nobody is left to read it
    try:
        status = opening.result()
    except httpx.HTTPError as err:
        return PlainTextResponse(f"upstream: {err!r}\n", status_code=502)
    if status != 200:
        await stream.aclose()
        return PlainTextResponse(f"upstream answered {status}\n", status_code=502)
    return StreamingResponse(stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
