//! The SSE parser must never panic, and must give the same events and the same error whether the
//! stream arrives in one read, cut at a fuzzer-chosen point, or in fixed-size pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rtbench_load::{parse_stamp, SseError, SseParser};

type Events = Vec<(Option<String>, String, String)>;

/// Feeds `stream` in the given pieces to a parser limited to `max_len` bytes per line and event.
fn parse<'a>(pieces: impl Iterator<Item = &'a [u8]>, max_len: usize) -> (Events, Option<SseError>) {
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

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let (head, stream) = input.split_at(3);
    let cut = usize::from(u16::from_le_bytes([head[0], head[1]])) % (stream.len() + 1);
    let piece = usize::from(head[2] % 16) + 1;
    // A small limit reaches the oversize paths; a large one parses everything.
    for max_len in [48, 1 << 20] {
        let whole = parse(std::iter::once(stream), max_len);
        let (a, b) = stream.split_at(cut);
        assert_eq!(whole, parse([a, b].into_iter(), max_len), "cut at {cut}");
        assert_eq!(
            whole,
            parse(stream.chunks(piece), max_len),
            "pieces of {piece}"
        );
    }
    let _ = parse_stamp(&String::from_utf8_lossy(stream));
});
