//! An incremental parser for `text/event-stream` bodies, per the WHATWG HTML specification's
//! "Parsing an event stream" (https://html.spec.whatwg.org/multipage/server-sent-events.html).
//!
//! Bytes arrive in arbitrary pieces: a line, a UTF-8 sequence, a CRLF pair or the BOM may be cut
//! anywhere. Only a line that spans reads is copied; every buffer is reused, so once warm the
//! parser does not allocate per event, and a line or event longer than the limit is an error
//! rather than unbounded memory.

use crate::error::SseError;

/// Default limit on one line and on one event's data, in bytes.
const DEFAULT_MAX_LEN: usize = 1 << 20;

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// One dispatched event. Borrowed from the parser: copy what must outlive the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The last event ID set by an `id` field of this or an earlier event (the spec's "last event
    /// ID" persists across events); `None` when never set or reset by an empty `id`.
    pub id: Option<&'a str>,
    /// The `event` field, `"message"` when absent.
    pub event: &'a str,
    /// The `data` lines joined with `\n`.
    pub data: &'a str,
}

/// An incremental `text/event-stream` parser: [`feed`](SseParser::feed) it bytes as they arrive.
///
/// ```
/// use rtbench_load::SseParser;
/// let mut parser = SseParser::new();
/// let mut seen = Vec::new();
/// parser.feed(b"id: 1\ndata: {\"seq\":1,", &mut |e| seen.push(e.data.to_owned())).unwrap();
/// parser.feed(b"\"sent_ns\":5}\r\n\r\n", &mut |e| seen.push(e.data.to_owned())).unwrap();
/// assert_eq!(seen, ["{\"seq\":1,\"sent_ns\":5}"]);
/// ```
#[derive(Debug)]
pub struct SseParser {
    /// The start of a line that has not ended yet.
    partial: Vec<u8>,
    /// The previous read ended with CR: an LF opening the next read belongs to it.
    after_cr: bool,
    /// Bytes of a leading BOM matched so far; `None` once the stream start is behind us.
    bom_matched: Option<usize>,
    fields: Fields,
}

/// The spec's per-stream buffers, apart from line assembly (so a line borrowed from `partial` can
/// be applied to them).
#[derive(Debug)]
struct Fields {
    data: String,
    event: String,
    last_id: String,
    retry_ms: Option<u64>,
    max_len: usize,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    /// A parser at the start of a stream, with a 1 MiB limit on a line and on an event's data.
    pub fn new() -> Self {
        Self::with_max_len(DEFAULT_MAX_LEN)
    }

    /// A parser whose limit on one line and on one event's data is `max_len` bytes.
    pub fn with_max_len(max_len: usize) -> Self {
        SseParser {
            partial: Vec::new(),
            after_cr: false,
            bom_matched: Some(0),
            fields: Fields {
                data: String::new(),
                event: String::new(),
                last_id: String::new(),
                retry_ms: None,
                max_len,
            },
        }
    }

    /// Back to the start of a new stream, keeping the buffers' capacity.
    pub fn reset(&mut self) {
        self.partial.clear();
        self.after_cr = false;
        self.bom_matched = Some(0);
        let f = &mut self.fields;
        f.data.clear();
        f.event.clear();
        f.last_id.clear();
        f.retry_ms = None;
    }

    /// The reconnection time from the last valid `retry` field, ms.
    pub fn retry_ms(&self) -> Option<u64> {
        self.fields.retry_ms
    }

    /// Parses the next bytes of the stream, calling `on_event` for every event they complete.
    ///
    /// After an error the stream is broken: [`reset`](SseParser::reset) before reusing the parser.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        on_event: &mut impl FnMut(&SseEvent<'_>),
    ) -> Result<(), SseError> {
        let mut rest = bytes;
        if let Some(matched) = self.bom_matched {
            let mut matched = matched;
            while matched < BOM.len() {
                match rest.first() {
                    None => {
                        self.bom_matched = Some(matched);
                        return Ok(());
                    }
                    Some(&b) if b == BOM[matched] => {
                        matched += 1;
                        rest = &rest[1..];
                    }
                    Some(_) => break,
                }
            }
            self.bom_matched = None;
            if matched < BOM.len() {
                // Not a BOM after all: what looked like its start is content.
                self.lines(&BOM[..matched], on_event)?;
            }
        }
        self.lines(rest, on_event)
    }

    /// Splits bytes into lines and applies each complete one.
    fn lines(
        &mut self,
        mut rest: &[u8],
        on_event: &mut impl FnMut(&SseEvent<'_>),
    ) -> Result<(), SseError> {
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        let max_len = self.fields.max_len;
        while !rest.is_empty() {
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                if self.partial.len() + rest.len() > max_len {
                    return Err(SseError::LineTooLong { limit: max_len });
                }
                self.partial.extend_from_slice(rest);
                return Ok(());
            };
            if self.partial.len() + end > max_len {
                return Err(SseError::LineTooLong { limit: max_len });
            }
            if self.partial.is_empty() {
                self.fields.line(&rest[..end], on_event)?;
            } else {
                self.partial.extend_from_slice(&rest[..end]);
                let result = self.fields.line(&self.partial, on_event);
                self.partial.clear();
                result?;
            }
            let cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        Ok(())
    }
}

impl Fields {
    /// Applies one line (without its end) to the buffers, dispatching on a blank line.
    fn line(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(&SseEvent<'_>),
    ) -> Result<(), SseError> {
        if line.is_empty() {
            self.dispatch(on_event);
            return Ok(());
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => return Ok(()), // a comment
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"data" => {
                push_lossy(&mut self.data, value);
                self.data.push('\n');
                if self.data.len() > self.max_len + 1 {
                    return Err(SseError::EventTooLong {
                        limit: self.max_len,
                    });
                }
            }
            b"event" => {
                self.event.clear();
                push_lossy(&mut self.event, value);
            }
            b"id" if !value.contains(&0) => {
                self.last_id.clear();
                push_lossy(&mut self.last_id, value);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // All digits, so only overflow can fail; the spec leaves that open: keep the old value.
                if let Some(ms) = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()) {
                    self.retry_ms = Some(ms);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(&SseEvent<'_>)) {
        if self.data.is_empty() {
            self.event.clear();
            return;
        }
        let data = self.data.strip_suffix('\n').unwrap_or(&self.data);
        let event = if self.event.is_empty() {
            "message"
        } else {
            &self.event
        };
        let id = (!self.last_id.is_empty()).then_some(self.last_id.as_str());
        on_event(&SseEvent { id, event, data });
        self.data.clear();
        self.event.clear();
    }
}

/// Appends bytes decoded as UTF-8, each invalid sequence replaced by U+FFFD (the spec decodes the
/// whole stream this way; line ends are ASCII, so decoding line by line gives the same text).
fn push_lossy(dst: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => dst.push_str(s),
        Err(_) => {
            for chunk in bytes.utf8_chunks() {
                dst.push_str(chunk.valid());
                if !chunk.invalid().is_empty() {
                    dst.push(char::REPLACEMENT_CHARACTER);
                }
            }
        }
    }
}

/// Extracts `(seq, sent_ns)` from an event payload `{"seq":k,"sent_ns":n}`, in either key order,
/// with any JSON whitespace and other keys beside them; `None` when either is missing or is not an
/// unsigned integer.
///
/// ```
/// use rtbench_load::parse_stamp;
/// assert_eq!(parse_stamp(r#"{ "sent_ns": 17, "seq": 3 }"#), Some((3, 17)));
/// assert_eq!(parse_stamp(r#"{"seq":-1,"sent_ns":17}"#), None);
/// ```
pub fn parse_stamp(data: &str) -> Option<(u64, u64)> {
    let mut s = Scanner {
        b: data.as_bytes(),
        i: 0,
    };
    let (mut seq, mut sent_ns) = (None, None);
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if s.eat(b'}').is_some() {
        return None;
    }
    loop {
        s.ws();
        let key = s.string()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        match key {
            b"seq" => seq = Some(s.uint()?),
            b"sent_ns" => sent_ns = Some(s.uint()?),
            _ => s.skip_value()?,
        }
        s.ws();
        match s.next()? {
            b',' => {}
            b'}' => break,
            _ => return None,
        }
    }
    Some((seq?, sent_ns?))
}

/// Just enough of a JSON reader for [`parse_stamp`]: it never builds values it skips.
struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn next(&mut self) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A string's raw bytes between its quotes (escapes left as they are).
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match self.next()? {
                b'"' => return Some(&self.b[start..self.i - 1]),
                b'\\' => {
                    self.next()?;
                }
                _ => {}
            }
        }
    }

    fn uint(&mut self) -> Option<u64> {
        let start = self.i;
        let mut n: u64 = 0;
        while let Some(d) = self.b.get(self.i).filter(|c| c.is_ascii_digit()) {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.i += 1;
        }
        // A fraction or exponent makes it not an integer; a leading zero is not JSON.
        let digits = &self.b[start..self.i];
        let leading_zero = digits.len() > 1 && digits[0] == b'0';
        let fraction = matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'));
        let valid = !digits.is_empty() && !leading_zero && !fraction;
        valid.then_some(n)
    }

    /// Skips one value of any kind, nested ones included, up to the `,` or `}` after it.
    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                }
                b'}' | b']' if depth > 0 => {
                    depth -= 1;
                    self.i += 1;
                }
                b',' | b'}' | b']' if depth == 0 => return Some(()),
                _ => self.i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owned copy of an event, for comparing.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Ev {
        id: Option<String>,
        event: String,
        data: String,
    }

    fn ev(id: Option<&str>, event: &str, data: &str) -> Ev {
        Ev {
            id: id.map(str::to_owned),
            event: event.to_owned(),
            data: data.to_owned(),
        }
    }

    /// Feeds `input` cut at `cuts` (ascending offsets) into a fresh parser.
    fn parse_cut(input: &[u8], cuts: &[usize]) -> Result<Vec<Ev>, SseError> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        let mut push = |e: &SseEvent<'_>| {
            out.push(Ev {
                id: e.id.map(str::to_owned),
                event: e.event.to_owned(),
                data: e.data.to_owned(),
            })
        };
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            parser.feed(&input[start..cut], &mut push)?;
            start = cut;
        }
        Ok(out)
    }

    fn parse(input: &[u8]) -> Vec<Ev> {
        parse_cut(input, &[]).unwrap()
    }

    /// A stream exercising every feature: BOM, all three line ends, comments, multi-line data,
    /// named events, ids (persisting and reset), retry, unknown fields, a field without a colon,
    /// no space after the colon, and a trailing incomplete event that must not be dispatched.
    const STREAM: &[u8] = b"\xEF\xBB\xBF: hello\r\nid: 1\rdata: {\"seq\":1,\"sent_ns\":10}\r\n\r\n\
event: tick\ndata:a\ndata:  b\ndata\n\nretry: 250\nfoo: bar\nid\ndata: x\r\n\r\n\
id: 7\r\n:comment\r\ndata: \xC3\xA9\xFF\r\r: tail\ndata: unfinished";

    fn expected() -> Vec<Ev> {
        vec![
            ev(Some("1"), "message", "{\"seq\":1,\"sent_ns\":10}"),
            ev(Some("1"), "tick", "a\n b\n"),
            ev(None, "message", "x"),
            ev(Some("7"), "message", "\u{e9}\u{FFFD}"),
        ]
    }

    #[test]
    fn parses_every_feature_in_one_read() {
        assert_eq!(parse(STREAM), expected());
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        for cut in 0..=STREAM.len() {
            assert_eq!(
                parse_cut(STREAM, &[cut]).unwrap(),
                expected(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn every_pair_of_split_points_gives_the_same_events() {
        for a in 0..=STREAM.len() {
            for b in a..=STREAM.len() {
                assert_eq!(
                    parse_cut(STREAM, &[a, b]).unwrap(),
                    expected(),
                    "cuts {a},{b}"
                );
            }
        }
    }

    #[test]
    fn byte_by_byte_gives_the_same_events() {
        let cuts: Vec<usize> = (1..STREAM.len()).collect();
        assert_eq!(parse_cut(STREAM, &cuts).unwrap(), expected());
    }

    #[test]
    fn line_ends_cr_lf_and_crlf_are_equivalent() {
        for end in ["\n", "\r", "\r\n"] {
            let s = format!("data: a{end}data: b{end}{end}data: c{end}{end}");
            assert_eq!(
                parse(s.as_bytes()),
                [ev(None, "message", "a\nb"), ev(None, "message", "c")],
                "line end {end:?}"
            );
        }
    }

    #[test]
    fn cr_at_end_of_a_read_then_lf_is_one_line_end() {
        // Were the LF taken as a second line end, the blank line would dispatch "a" early.
        let got = parse_cut(b"data: a\r\ndata: b\r\n\r\n", &[8]).unwrap();
        assert_eq!(got, [ev(None, "message", "a\nb")]);
    }

    #[test]
    fn cr_then_cr_is_two_line_ends() {
        assert_eq!(parse(b"data: a\r\r"), [ev(None, "message", "a")]);
        assert_eq!(
            parse_cut(b"data: a\r\r", &[8]).unwrap(),
            [ev(None, "message", "a")]
        );
    }

    #[test]
    fn comments_and_empty_data_dispatch_nothing() {
        assert!(parse(b": only a comment\n\n:another\r\n\r\n").is_empty());
        assert!(parse(b"event: x\n\ndata: y\n\n")
            .iter()
            .all(|e| e.event == "message"));
    }

    #[test]
    fn only_one_space_after_the_colon_is_stripped() {
        assert_eq!(parse(b"data:  two\n\n"), [ev(None, "message", " two")]);
        assert_eq!(parse(b"data:none\n\n"), [ev(None, "message", "none")]);
    }

    #[test]
    fn bom_is_stripped_once_and_only_at_the_start() {
        assert_eq!(
            parse(b"\xEF\xBB\xBFdata: a\n\n"),
            [ev(None, "message", "a")]
        );
        // A second BOM makes the field name "\u{feff}data", an unknown field.
        assert!(parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n").is_empty());
        // A BOM's first bytes that are not a BOM are content.
        assert_eq!(
            parse_cut(b"\xEF\xBBdata: a\n\ndata: b\n\n", &[1]).unwrap(),
            [ev(None, "message", "b")]
        );
        assert_eq!(
            parse_cut(b"\xEFdata: a\n\n", &[1]).unwrap(),
            parse(b"\xEFdata: a\n\n")
        );
    }

    #[test]
    fn id_with_nul_is_ignored_and_retry_needs_digits() {
        let mut p = SseParser::new();
        let mut ids = Vec::new();
        p.feed(
            b"id: 5\ndata: a\n\nid: 6\0\nretry: 12x\ndata: b\n\nretry: 300\n",
            &mut |e| ids.push(e.id.map(str::to_owned)),
        )
        .unwrap();
        assert_eq!(ids, [Some("5".to_owned()), Some("5".to_owned())]);
        assert_eq!(p.retry_ms(), Some(300));
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_whole_or_split() {
        let mut line = b"data: ".to_vec();
        line.extend([b'x'; 100]);
        line.push(b'\n');
        for cuts in [&[][..], &[3], &[50, 90]] {
            let mut p = SseParser::with_max_len(64);
            let mut start = 0;
            let mut result = Ok(());
            for &cut in cuts.iter().chain(std::iter::once(&line.len())) {
                result = result.and_then(|()| p.feed(&line[start..cut], &mut |_| {}));
                start = cut;
            }
            assert_eq!(result, Err(SseError::LineTooLong { limit: 64 }), "{cuts:?}");
        }
        // An unterminated line is refused too, before the end is ever seen.
        let mut p = SseParser::with_max_len(64);
        assert!(p.feed(&line[..90], &mut |_| {}).is_err());
    }

    #[test]
    fn an_event_over_the_limit_is_an_error() {
        let mut p = SseParser::with_max_len(64);
        let line = b"data: 0123456789012345678901234567890123456789\n";
        assert!(p.feed(line, &mut |_| {}).is_ok());
        assert_eq!(
            p.feed(line, &mut |_| {}),
            Err(SseError::EventTooLong { limit: 64 })
        );
    }

    #[test]
    fn buffers_are_reused_once_warm() {
        let mut p = SseParser::new();
        let one = b"id: 123\nevent: tick\ndata: {\"seq\":1,\"sent_ns\":1}\ndata: more\n\n";
        for i in 0..one.len() {
            p.feed(&one[..i], &mut |_| {}).unwrap();
            p.feed(&one[i..], &mut |_| {}).unwrap();
        }
        let caps = (
            p.partial.capacity(),
            p.fields.data.capacity(),
            p.fields.event.capacity(),
        );
        let mut events = 0;
        for _ in 0..1000 {
            for i in [0, 5, 17, 40, one.len()] {
                p.feed(&one[..i], &mut |_| events += 1).unwrap();
                p.feed(&one[i..], &mut |_| events += 1).unwrap();
            }
        }
        assert_eq!(events, 5000);
        let after = (
            p.partial.capacity(),
            p.fields.data.capacity(),
            p.fields.event.capacity(),
        );
        assert_eq!(caps, after);
    }

    #[test]
    fn stamps_parse_in_any_key_order_and_spacing() {
        assert_eq!(parse_stamp(r#"{"seq":1,"sent_ns":2}"#), Some((1, 2)));
        assert_eq!(
            parse_stamp("{\n \"sent_ns\" : 1700000000000000000 ,\t\"seq\":42 }"),
            Some((42, 1_700_000_000_000_000_000))
        );
        assert_eq!(
            parse_stamp(r#"{"x":{"seq":9,"a":[1,"}"]},"seq":3,"s":"\"","sent_ns":4}"#),
            Some((3, 4))
        );
    }

    #[test]
    fn stamps_reject_what_is_not_two_unsigned_integers() {
        for bad in [
            "",
            "{}",
            r#"{"seq":1}"#,
            r#"{"seq":1.5,"sent_ns":2}"#,
            r#"{"seq":1,"sent_ns":2e3}"#,
            r#"{"seq":"1","sent_ns":2}"#,
            r#"{"seq":01,"sent_ns":2}"#,
            r#"{"seq":1,"sent_ns":99999999999999999999}"#,
            r#"{"seq":1,"sent_ns":2"#,
            r#"{"seq":1 "sent_ns":2}"#,
            r#"[1,2]"#,
        ] {
            assert_eq!(parse_stamp(bad), None, "{bad}");
        }
    }
}
