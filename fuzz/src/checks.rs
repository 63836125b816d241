//! The fuzz targets' properties, as plain functions: the fuzz targets call them with libFuzzer's
//! inputs, and `crates/rtbench-load/tests/fuzz_seeds.rs` replays every committed seed through
//! them on every `cargo test` (no nightly needed).

use rtbench_load::{
    is_event_stream, parse_stamp, ParseError, Response, ResponseEvent, ResponseParser, SseError,
    SseParser,
};

/// What a parse produced: every head's status and whether it announced an event stream, every
/// response with the body bytes it carried, and how it ended (the error, or what `finish` said).
#[derive(Debug, PartialEq)]
struct Outcome {
    heads: Vec<(u16, bool)>,
    responses: Vec<(Response, Vec<u8>)>,
    end: Result<Option<Response>, ParseError>,
}

fn parse_responses<'a>(pieces: impl Iterator<Item = &'a [u8]>, head_requests: bool) -> Outcome {
    let mut parser = if head_requests {
        ResponseParser::for_head_requests()
    } else {
        ResponseParser::new()
    };
    let mut out = Outcome {
        heads: Vec::new(),
        responses: Vec::new(),
        end: Ok(None),
    };
    let mut body = Vec::new();
    for mut piece in pieces {
        loop {
            match parser.next(&mut piece) {
                Ok(None) => break,
                Ok(Some(ResponseEvent::Head {
                    status,
                    event_stream,
                })) => out.heads.push((status, event_stream)),
                Ok(Some(ResponseEvent::Body(bytes))) => {
                    assert!(!bytes.is_empty(), "empty body event");
                    body.extend_from_slice(bytes);
                }
                Ok(Some(ResponseEvent::Done(response))) => {
                    assert_eq!(
                        response.body_len,
                        body.len() as u64,
                        "body_len counts the body"
                    );
                    out.responses.push((response, std::mem::take(&mut body)));
                }
                Err(e) => {
                    out.end = Err(e);
                    return out;
                }
            }
        }
    }
    out.end = parser.finish();
    if let Ok(Some(response)) = &out.end {
        assert_eq!(response.body_len, body.len() as u64);
    }
    assert!(parser.is_idle(), "finish leaves the parser idle");
    out
}

/// The HTTP/1.1 response parser never panics, and reports the same heads (status and event-stream
/// content type), responses, body bytes and error however the bytes are split; the content-type
/// test accepts exactly the media type `text/event-stream`.
///
/// Input layout: byte 0 bit 0 selects responses to `HEAD`, bytes 1–2 the cut point (u16,
/// little-endian), byte 3 the piece size (1–16), the rest is the bytes read from the connection.
pub fn http_response(input: &[u8]) {
    if input.len() < 4 {
        return;
    }

    let (head, stream) = input.split_at(4);
    let head_requests = head[0] & 1 == 1;
    let cut = usize::from(u16::from_le_bytes([head[1], head[2]])) % (stream.len() + 1);
    let piece = usize::from(head[3] % 16) + 1;
    let whole = parse_responses(std::iter::once(stream), head_requests);
    let (a, b) = stream.split_at(cut);
    assert_eq!(
        whole,
        parse_responses([a, b].into_iter(), head_requests),
        "cut at {cut}"
    );
    assert_eq!(
        whole,
        parse_responses(stream.chunks(piece), head_requests),
        "pieces of {piece}"
    );
    // The SSE content-type case: whatever the value, a match means the media type (before any
    // parameter, trimmed) is text/event-stream, and parameters never change the answer.
    let value = &input[4..];
    if is_event_stream(value) {
        let media = value.split(|&b| b == b';').next().unwrap_or(&[]);
        let media = String::from_utf8_lossy(media).trim().to_ascii_lowercase();
        assert_eq!(media, "text/event-stream");
    }
    if !value.contains(&b';') {
        let with_param = [value, b"; charset=utf-8"].concat();
        assert_eq!(is_event_stream(value), is_event_stream(&with_param));
    }
}

type Events = Vec<(Option<String>, String, String)>;

/// Feeds `stream` in the given pieces to a parser limited to `max_len` bytes per line and event.
fn parse_events<'a>(
    pieces: impl Iterator<Item = &'a [u8]>,
    max_len: usize,
) -> (Events, Option<SseError>) {
    let mut parser = SseParser::with_max_len(max_len);
    let mut events = Events::new();
    for piece in pieces {
        let result = parser.feed(piece, &mut |e| {
            // The stamp reader sees arbitrary text here too.
            let _ = parse_stamp(e.data);
            events.push((
                e.id.map(str::to_owned),
                e.event.to_owned(),
                e.data.to_owned(),
            ));
        });
        if let Err(e) = result {
            return (events, Some(e));
        }
    }
    (events, None)
}

/// The SSE parser never panics, and gives the same events and the same error however the stream
/// is split.
///
/// Input layout: bytes 0–1 are the cut point (u16, little-endian, modulo the stream length + 1),
/// byte 2 the piece size (1–16), the rest is the stream.
pub fn sse_parser(input: &[u8]) {
    if input.len() < 3 {
        return;
    }

    let (head, stream) = input.split_at(3);
    let cut = usize::from(u16::from_le_bytes([head[0], head[1]])) % (stream.len() + 1);
    let piece = usize::from(head[2] % 16) + 1;
    // A small limit reaches the oversize paths; a large one parses everything.
    for max_len in [48, 1 << 20] {
        let whole = parse_events(std::iter::once(stream), max_len);
        let (a, b) = stream.split_at(cut);
        assert_eq!(
            whole,
            parse_events([a, b].into_iter(), max_len),
            "cut at {cut}"
        );
        assert_eq!(
            whole,
            parse_events(stream.chunks(piece), max_len),
            "pieces of {piece}"
        );
    }
    let _ = parse_stamp(&String::from_utf8_lossy(stream));
}
