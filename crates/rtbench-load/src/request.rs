//! The bytes a run sends: the target URL taken apart, and the request serialized once so workers
//! copy it and never format again.

use std::net::{SocketAddr, ToSocketAddrs};

use crate::config::StreamOptions;
use crate::error::LoadError;

/// The parts of an `http://` URL the engine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Path and query, as sent in the request line.
    pub(crate) path: String,
    /// Value of the default `Host` header.
    pub(crate) host_header: String,
}

impl Url {
    pub(crate) fn parse(url: &str) -> Result<Url, LoadError> {
        let invalid = |reason: &str| LoadError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("expected http://host[:port][/path]"))?;
        if scheme.eq_ignore_ascii_case("https") {
            return Err(LoadError::HttpsUnsupported {
                url: url.to_owned(),
            });
        }
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(invalid(&format!(
                "unsupported scheme '{scheme}' (only http)"
            )));
        }
        let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let path = path.split('#').next().unwrap_or("");
        let path = match path.chars().next() {
            None => "/".to_owned(),
            Some('?') => format!("/{path}"),
            Some(_) => path.to_owned(),
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(invalid("the path contains a space or control character"));
        }
        if authority.contains('@') {
            return Err(invalid("user info (user@host) is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| invalid("unclosed '[' in the host"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| invalid("unexpected text after ']'"))?,
                ),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("missing host"));
        }
        let port = match port {
            None => 80,
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(invalid(&format!("invalid port '{p}'"))),
            },
        };
        let bracketed = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let host_header = if port == 80 {
            bracketed
        } else {
            format!("{bracketed}:{port}")
        };
        Ok(Url {
            host: host.to_owned(),
            port,
            path,
            host_header,
        })
    }

    pub(crate) fn resolve(&self) -> Result<SocketAddr, LoadError> {
        let addrs: Vec<SocketAddr> = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| LoadError::Resolve {
                host: self.host.clone(),
                reason: e.to_string(),
            })?
            .collect();
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
            .ok_or_else(|| LoadError::Resolve {
                host: self.host.clone(),
                reason: "no address".into(),
            })
    }
}

/// RFC 9110 token characters (methods, header names).
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Serializes the request once; workers copy these bytes and never format again.
pub(crate) fn build_request(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<u8>, LoadError> {
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(format!("{method} {path} HTTP/1.1\r\n").as_bytes());
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("host") {
        out.extend_from_slice(format!("Host: {host}\r\n").as_bytes());
    }
    for (name, value) in headers {
        let bad = |reason: &str| LoadError::InvalidHeader {
            header: format!("{name}: {value}"),
            reason: reason.to_owned(),
        };
        if name.is_empty() || !name.bytes().all(is_token) {
            return Err(bad("the name must be a token (letters, digits, -)"));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(bad("the value contains a line break"));
        }
        out.extend_from_slice(format!("{name}: {}\r\n", value.trim()).as_bytes());
    }
    if (!body.is_empty() || method == "POST" || method == "PUT") && !has("content-length") {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

/// The URL's path with the stream options put into its query (replacing the URL's own values).
pub(crate) fn stream_path(path: &str, options: &StreamOptions) -> String {
    let (base, query) = path.split_once('?').unwrap_or((path, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let key = p.split('=').next().unwrap_or("");
            !(key == "events" && options.events.is_some()
                || key == "interval_ms" && options.interval_ms.is_some())
        })
        .map(str::to_owned)
        .collect();
    if let Some(n) = options.events {
        pairs.push(format!("events={n}"));
    }
    if let Some(m) = options.interval_ms {
        pairs.push(format!("interval_ms={m}"));
    }
    if pairs.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", pairs.join("&"))
    }
}

/// Events and interval a stream URL asks for (the contract's defaults: 10 events, 10 ms).
pub(crate) fn stream_query(path: &str) -> (u64, u64) {
    let query = path.split_once('?').map_or("", |(_, q)| q);
    let get = |key: &str, default: u64| {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(default)
    };
    (get("events", 10), get("interval_ms", 10))
}
