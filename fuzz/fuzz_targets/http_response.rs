//! The HTTP/1.1 response parser must never panic, and must report the same responses, body bytes
//! and error whether the bytes arrive in one read, cut at a fuzzer-chosen point, or in fixed-size
//! pieces; the end of the connection (`finish`) must agree too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtbench_load::{ParseError, Response, ResponseEvent, ResponseParser};

/// What a parse produced: every head's status, every response with the body bytes it carried,
/// and how it ended (the error, or what `finish` said).
#[derive(Debug, PartialEq)]
struct Outcome {
    heads: Vec<u16>,
    responses: Vec<(Response, Vec<u8>)>,
    end: Result<Option<Response>, ParseError>,
}

fn parse<'a>(pieces: impl Iterator<Item = &'a [u8]>, head_requests: bool) -> Outcome {
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
                Ok(Some(ResponseEvent::Head { status })) => out.heads.push(status),
                Ok(Some(ResponseEvent::Body(bytes))) => {
                    assert!(!bytes.is_empty(), "empty body event");
                    body.extend_from_slice(bytes);
                }
                Ok(Some(ResponseEvent::Done(response))) => {
                    assert_eq!(response.body_len, body.len() as u64, "body_len counts the body");
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

fuzz_target!(|input: &[u8]| {
    if input.len() < 4 {
        return;
    }
    let (head, stream) = input.split_at(4);
    let head_requests = head[0] & 1 == 1;
    let cut = usize::from(u16::from_le_bytes([head[1], head[2]])) % (stream.len() + 1);
    let piece = usize::from(head[3] % 16) + 1;
    let whole = parse(std::iter::once(stream), head_requests);
    let (a, b) = stream.split_at(cut);
    assert_eq!(whole, parse([a, b].into_iter(), head_requests), "cut at {cut}");
    assert_eq!(whole, parse(stream.chunks(piece), head_requests), "pieces of {piece}");
});
