//! rtbench's Rust reference server: axum on tokio. Contract: ../README.md.
//! Env: HOST, PORT, WORKERS (1 → a current-thread runtime, N → N tokio worker threads), UPSTREAM_URL.
use std::convert::Infallible;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, SERVER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use futures_util::Stream;
use serde::{Deserialize, Serialize};

const SERVER_NAME: &str = "axum";

struct Config {
    host: String,
    port: u16,
    workers: usize,
    upstream: Option<reqwest::Url>,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let upstream = match std::env::var("UPSTREAM_URL") {
            Ok(raw) if !raw.is_empty() => Some(
                reqwest::Url::parse(&raw)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https"))
                    .ok_or_else(|| format!("UPSTREAM_URL={raw:?} is not an http(s) URL"))?,
            ),
            _ => None,
        };
        Ok(Config {
            host: std::env::var("HOST")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "127.0.0.1".to_string()),
            port: env_int("PORT", 8081, 0, 65535)? as u16,
            workers: env_int("WORKERS", 1, 1, 1024)? as usize,
            upstream,
        })
    }
}

fn env_int(name: &str, default: u32, min: u32, max: u32) -> Result<u32, String> {
    match std::env::var(name) {
        Ok(raw) if !raw.is_empty() => raw
            .parse()
            .ok()
            .filter(|v| (min..=max).contains(v))
            .ok_or_else(|| format!("{name}={raw:?} is not an integer in {min}..={max}")),
        _ => Ok(default),
    }
}

#[derive(Clone)]
struct AppState {
    upstream: Option<reqwest::Url>,
    client: reqwest::Client,
}

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{SERVER_NAME}: {message}");
            return ExitCode::from(2);
        }
    };
    // One worker is the survey's one core: a current-thread runtime does all the work on the main thread.
    let mut builder = if config.workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(config.workers);
        builder
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{SERVER_NAME}: cannot start the tokio runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{SERVER_NAME}: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let client = reqwest::Client::builder()
        // The upstream is fixed at launch; a proxy from the environment would sit in the measured path.
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build the upstream client: {e}"))?;
    let state = AppState {
        upstream: config.upstream,
        client,
    };
    let app = Router::new()
        .route("/plaintext", get(plaintext))
        .route("/json", get(json))
        .route("/health", get(health))
        .route("/sse", get(sse))
        .route("/sse-relay", get(relay))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(middleware::map_response(server_header))
        .with_state(state);
    let addr = (config.host.as_str(), config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "{SERVER_NAME} pid {} listening on {local} (workers {})",
        std::process::id(),
        config.workers
    );
    axum::serve(listener, app)
        .await
        .map_err(|e| format!("server failed: {e}"))
}

async fn server_header(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(SERVER, HeaderValue::from_static(SERVER_NAME));
    response
}

async fn plaintext() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain")], "Hello, World!")
}

#[derive(Serialize)]
struct Message {
    message: &'static str,
}

async fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

async fn health() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain")], "ok")
}

async fn not_found() -> impl IntoResponse {
    (StatusCode::NOT_FOUND, "Not Found")
}

#[derive(Deserialize)]
struct SseParams {
    events: Option<u32>,
    interval_ms: Option<u64>,
}

#[derive(Serialize)]
struct Tick {
    seq: u32,
    sent_ns: u64,
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

async fn sse(params: Query<SseParams>) -> Response {
    let events = params.events.unwrap_or(10);
    let interval_ms = params.interval_ms.unwrap_or(10);
    if !(1..=100_000).contains(&events) || interval_ms > 60_000 {
        return (
            StatusCode::BAD_REQUEST,
            "events must be in 1..=100000 and interval_ms in 0..=60000\n",
        )
            .into_response();
    }
    Sse::new(ticks(events, interval_ms)).into_response()
}

fn ticks(events: u32, interval_ms: u64) -> impl Stream<Item = Result<Event, Infallible>> {
    // tokio's interval ticks at once, then every period; a zero period is not allowed, and means no wait.
    let interval = (interval_ms > 0).then(|| {
        let mut interval = tokio::time::interval(Duration::from_millis(interval_ms));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval
    });
    futures_util::stream::unfold((1, interval), move |(seq, mut interval)| async move {
        if seq > events {
            return None;
        }
        if let Some(interval) = interval.as_mut() {
            interval.tick().await;
        }
        let tick = Tick {
            seq,
            sent_ns: unix_nanos(),
        };
        let data = serde_json::to_string(&tick).expect("a Tick always serializes");
        let event = Event::default().id(seq.to_string()).data(data);
        Some((Ok(event), (seq + 1, interval)))
    })
}

async fn relay(State(state): State<AppState>) -> Response {
    let Some(url) = state.upstream else {
        return (StatusCode::SERVICE_UNAVAILABLE, "UPSTREAM_URL is not set\n").into_response();
    };
    let upstream = match state
        .client
        .get(url)
        .header(ACCEPT, "text/event-stream")
        .send()
        .await
    {
        Ok(upstream) if upstream.status() == reqwest::StatusCode::OK => upstream,
        Ok(upstream) => {
            let message = format!("upstream answered {}\n", upstream.status());
            return (StatusCode::BAD_GATEWAY, message).into_response();
        }
        Err(err) => {
            return (StatusCode::BAD_GATEWAY, format!("upstream: {err}\n")).into_response();
        }
    };
    // Each upstream chunk becomes a body frame as it arrives; when the client leaves, hyper drops this body,
    // which drops the upstream response and closes its connection.
    (
        [
            (CONTENT_TYPE, "text/event-stream"),
            (CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(upstream.bytes_stream()),
    )
        .into_response()
}
