//! Incremental HTTP/1.1 response parsing: just enough to find where each response ends, and to
//! hand body bytes to whoever wants them (the SSE stream model). Body bytes are never stored.

use crate::error::ParseError;

/// The largest response head accepted; anything longer is malformed for a benchmark target.
const MAX_HEAD: usize = 64 * 1024;
/// Header slots tried first, on the stack (httparse needs a fixed slot count); a head with more is
/// parsed again with more slots, up to [`MAX_HEADERS`].
const INLINE_HEADERS: usize = 64;
/// The most headers accepted in one response head (real servers send tens; cookies and CSP
/// reports can make it hundreds).
pub(crate) const MAX_HEADERS: usize = 8192;
/// Chunk sizes above this are malformed (and would overflow the remaining-bytes counter).
const MAX_CHUNK: u64 = 1 << 60;

/// One complete response, as reported by [`ResponseEvent::Done`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The server will close the connection after this response (`Connection: close`, HTTP/1.0
    /// without keep-alive, or a body delimited by the close itself).
    pub close: bool,
    /// Body bytes after removing chunked framing.
    pub body_len: u64,
}

/// What [`ResponseParser::next`] found in the bytes it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseEvent<'a> {
    /// A final (non-1xx) response head was parsed.
    Head {
        /// The status code.
        status: u16,
        /// Its (last) `Content-Type` is `text/event-stream` (see [`is_event_stream`]).
        event_stream: bool,
    },
    /// Body bytes, chunk framing removed. A body may arrive in any number of pieces.
    Body(&'a [u8]),
    /// The response ended; the next bytes belong to the next response.
    Done(Response),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    /// Content-Length body with this many bytes left.
    Fixed(u64),
    /// Reading a chunk-size line: the size so far and whether a digit was seen.
    ChunkSize {
        size: u64,
        digit: bool,
    },
    /// Skipping a chunk extension until the end of the size line.
    ChunkExt {
        size: u64,
    },
    /// A `\r` ended the size line; `\n` must follow.
    ChunkSizeLf {
        size: u64,
    },
    ChunkData(u64),
    /// After chunk data: expecting `\r\n` (or a bare `\n`).
    ChunkDataEnd {
        cr: bool,
    },
    /// At the start of a trailer line (the empty one ends the body).
    TrailerStart,
    /// Inside a non-empty trailer line.
    TrailerLine,
    /// A `\r` started the final empty line; `\n` must follow.
    TrailerEndLf,
    /// Body delimited by the connection closing.
    UntilClose,
    /// A complete response is ready to be reported.
    Complete,
}

/// Incremental HTTP/1.1 response parser.
///
/// Feed it the bytes read from a connection, in any pieces; it reports each response's head, body
/// bytes and end. It handles `Content-Length`, chunked transfer coding (extensions, trailers),
/// close-delimited bodies, interim 1xx responses, statuses without a body (204, 304) and responses
/// to `HEAD`. Responses to pipelined requests simply follow one another.
///
/// ```
/// use rtbench_load::{ResponseEvent, ResponseParser};
///
/// let mut parser = ResponseParser::new();
/// let mut input: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 204 No Content\r\n\r\n";
/// let mut statuses = Vec::new();
/// while let Some(event) = parser.next(&mut input).unwrap() {
///     if let ResponseEvent::Done(response) = event {
///         statuses.push(response.status);
///     }
/// }
/// assert_eq!(statuses, [200, 204]);
/// ```
#[derive(Debug, Clone)]
pub struct ResponseParser {
    state: State,
    /// Head bytes carried over when a head arrives split across reads.
    carry: Vec<u8>,
    head_request: bool,
    status: u16,
    close: bool,
    body_len: u64,
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponseParser {
    /// A parser for responses to requests with a body-carrying method (anything but `HEAD`).
    pub fn new() -> Self {
        ResponseParser {
            state: State::Head,
            carry: Vec::new(),
            head_request: false,
            status: 0,
            close: false,
            body_len: 0,
        }
    }

    /// A parser for responses to `HEAD` requests, which never carry a body.
    pub fn for_head_requests() -> Self {
        ResponseParser {
            head_request: true,
            ..Self::new()
        }
    }

    /// True between responses: no byte of the next response has been seen.
    pub fn is_idle(&self) -> bool {
        self.state == State::Head && self.carry.is_empty()
    }

    /// Forgets any partial response (after the connection was replaced).
    pub fn reset(&mut self) {
        self.state = State::Head;
        self.carry.clear();
    }

    /// Parses from the front of `input`, advancing it past what was consumed, and returns the next
    /// event, or `None` once `input` is used up without completing one.
    ///
    /// After an error the connection's byte stream is unusable; call [`ResponseParser::reset`]
    /// before feeding bytes of a new connection.
    #[allow(clippy::should_implement_trait)] // not an Iterator: it borrows the input per call
    pub fn next<'a>(
        &mut self,
        input: &mut &'a [u8],
    ) -> Result<Option<ResponseEvent<'a>>, ParseError> {
        loop {
            match self.state {
                State::Complete => {
                    self.state = State::Head;
                    return Ok(Some(ResponseEvent::Done(self.response())));
                }
                State::Head => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    if let Some((status, event_stream)) = self.parse_head(input)? {
                        return Ok(Some(ResponseEvent::Head {
                            status,
                            event_stream,
                        }));
                    }
                }
                State::Fixed(left) => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    let (body, rest) = take(input, left);
                    *input = rest;
                    let left = left - body.len() as u64;
                    self.body_len += body.len() as u64;
                    self.state = if left == 0 {
                        State::Complete
                    } else {
                        State::Fixed(left)
                    };
                    return Ok(Some(ResponseEvent::Body(body)));
                }
                State::ChunkData(left) => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    let (body, rest) = take(input, left);
                    *input = rest;
                    let left = left - body.len() as u64;
                    self.body_len += body.len() as u64;
                    self.state = if left == 0 {
                        State::ChunkDataEnd { cr: false }
                    } else {
                        State::ChunkData(left)
                    };
                    return Ok(Some(ResponseEvent::Body(body)));
                }
                State::UntilClose => {
                    if input.is_empty() {
                        return Ok(None);
                    }
                    let body = std::mem::take(input);
                    self.body_len += body.len() as u64;
                    return Ok(Some(ResponseEvent::Body(body)));
                }
                _ => {
                    // Chunk framing: byte by byte, but only over size lines and terminators.
                    let Some((&byte, rest)) = input.split_first() else {
                        return Ok(None);
                    };
                    *input = rest;
                    self.state = self.chunk_framing(byte)?;
                }
            }
        }
    }

    /// Tells the parser the connection ended. A close-delimited body completes here (its `Done`
    /// is returned); ending anywhere else inside a response is [`ParseError::Truncated`].
    pub fn finish(&mut self) -> Result<Option<Response>, ParseError> {
        match self.state {
            State::UntilClose => {
                self.state = State::Head;
                Ok(Some(self.response()))
            }
            State::Complete => {
                self.state = State::Head;
                Ok(Some(self.response()))
            }
            State::Head if self.carry.is_empty() => Ok(None),
            _ => {
                self.reset();
                Err(ParseError::Truncated)
            }
        }
    }

    fn response(&self) -> Response {
        Response {
            status: self.status,
            close: self.close,
            body_len: self.body_len,
        }
    }

    /// Parses a head from `carry` + `input`. Returns the status of a final response head (and
    /// whether it announces an event stream), or `None` when more bytes are needed or an interim
    /// (1xx) head was skipped.
    fn parse_head(&mut self, input: &mut &[u8]) -> Result<Option<(u16, bool)>, ParseError> {
        let head;
        if self.carry.is_empty() {
            match parse_head_bytes(input, self.head_request)? {
                Some((len, parsed)) => {
                    head = parsed;
                    *input = &input[len..];
                }
                None => {
                    if input.len() >= MAX_HEAD {
                        return Err(ParseError::HeadTooLong(MAX_HEAD));
                    }
                    self.carry.extend_from_slice(input);
                    *input = &[];
                    return Ok(None);
                }
            }
        } else {
            let before = self.carry.len();
            let room = MAX_HEAD - before;
            let (more, _) = take(input, room as u64);
            self.carry.extend_from_slice(more);
            match parse_head_bytes(&self.carry, self.head_request)? {
                Some((len, parsed)) => {
                    head = parsed;
                    *input = &input[len - before..];
                    self.carry.clear();
                }
                None => {
                    if self.carry.len() >= MAX_HEAD {
                        return Err(ParseError::HeadTooLong(MAX_HEAD));
                    }
                    *input = &input[more.len()..];
                    return Ok(None);
                }
            }
        }
        if head.interim {
            return Ok(None);
        }
        self.status = head.status;
        self.close = head.close;
        self.body_len = 0;
        self.state = match head.body {
            Body::None | Body::Fixed(0) => State::Complete,
            Body::Fixed(len) => State::Fixed(len),
            Body::Chunked => State::ChunkSize {
                size: 0,
                digit: false,
            },
            Body::UntilClose => {
                self.close = true;
                State::UntilClose
            }
        };
        Ok(Some((head.status, head.event_stream)))
    }

    fn chunk_framing(&mut self, byte: u8) -> Result<State, ParseError> {
        Ok(match (self.state, byte) {
            (State::ChunkSize { size, .. }, b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => {
                let size = size * 16 + u64::from(hex(byte));
                if size > MAX_CHUNK {
                    return Err(ParseError::Chunk);
                }
                State::ChunkSize { size, digit: true }
            }
            (State::ChunkSize { size, digit: true }, b';' | b' ' | b'\t') => {
                State::ChunkExt { size }
            }
            (State::ChunkSize { size, digit: true }, b'\r') => State::ChunkSizeLf { size },
            (State::ChunkSize { size, digit: true }, b'\n') => self.chunk_start(size),
            (State::ChunkExt { size }, b'\r') => State::ChunkSizeLf { size },
            (State::ChunkExt { size }, b'\n') => self.chunk_start(size),
            (State::ChunkExt { size }, _) => State::ChunkExt { size },
            (State::ChunkSizeLf { size }, b'\n') => self.chunk_start(size),
            (State::ChunkDataEnd { cr: false }, b'\r') => State::ChunkDataEnd { cr: true },
            (State::ChunkDataEnd { .. }, b'\n') => State::ChunkSize {
                size: 0,
                digit: false,
            },
            (State::TrailerStart, b'\r') => State::TrailerEndLf,
            (State::TrailerStart | State::TrailerEndLf, b'\n') => State::Complete,
            (State::TrailerLine, b'\n') => State::TrailerStart,
            (State::TrailerStart | State::TrailerLine, _) => State::TrailerLine,
            _ => return Err(ParseError::Chunk),
        })
    }

    fn chunk_start(&self, size: u64) -> State {
        if size == 0 {
            State::TrailerStart
        } else {
            State::ChunkData(size)
        }
    }
}

/// Parses a complete head from `bytes` (`None`: incomplete), with as many header slots as it
/// needs: the stack array first, then a growing heap array for the rare head with many headers.
fn parse_head_bytes(bytes: &[u8], head_request: bool) -> Result<Option<(usize, Head)>, ParseError> {
    fn attempt<'b>(
        bytes: &'b [u8],
        slots: &mut [httparse::Header<'b>],
        head_request: bool,
    ) -> Result<Option<(usize, Head)>, ParseError> {
        let mut parsed = httparse::Response::new(slots);
        match parsed.parse(bytes).map_err(ParseError::Head)? {
            httparse::Status::Complete(len) => Ok(Some((len, Head::of(&parsed, head_request)?))),
            httparse::Status::Partial => Ok(None),
        }
    }
    let too_many = |r: &Result<_, ParseError>| {
        matches!(r, Err(ParseError::Head(httparse::Error::TooManyHeaders)))
    };
    let result = attempt(
        bytes,
        &mut [httparse::EMPTY_HEADER; INLINE_HEADERS],
        head_request,
    );
    if !too_many(&result) {
        return result;
    }
    let mut slots = INLINE_HEADERS;
    while slots < MAX_HEADERS {
        slots = (slots * 4).min(MAX_HEADERS);
        let result = attempt(
            bytes,
            &mut vec![httparse::EMPTY_HEADER; slots],
            head_request,
        );
        if !too_many(&result) {
            return result;
        }
    }
    Err(ParseError::TooManyHeaders(MAX_HEADERS))
}

/// Whether a `Content-Type` value names an SSE stream: the media type `text/event-stream`, in any
/// case, with or without parameters (`; charset=utf-8`).
pub fn is_event_stream(content_type: &[u8]) -> bool {
    let media = content_type.split(|&b| b == b';').next().unwrap_or(&[]);
    trim(media).eq_ignore_ascii_case(b"text/event-stream")
}

fn take(input: &[u8], max: u64) -> (&[u8], &[u8]) {
    let n = usize::try_from(max).map_or(input.len(), |max| max.min(input.len()));
    input.split_at(n)
}

fn hex(byte: u8) -> u8 {
    match byte {
        b'0'..=b'9' => byte - b'0',
        b'a'..=b'f' => byte - b'a' + 10,
        _ => byte - b'A' + 10,
    }
}

enum Body {
    None,
    Fixed(u64),
    Chunked,
    UntilClose,
}

/// What a parsed head says about the response's framing.
struct Head {
    status: u16,
    event_stream: bool,
    interim: bool,
    close: bool,
    body: Body,
}

impl Head {
    /// Framing per RFC 9112 §6.3.
    fn of(parsed: &httparse::Response<'_, '_>, head_request: bool) -> Result<Head, ParseError> {
        let status = parsed.code.unwrap_or(0);
        if status == 101 {
            return Err(ParseError::Status(status));
        }
        let interim = (100..200).contains(&status);
        let mut close = parsed.version == Some(0);
        let mut content_length: Option<u64> = None;
        let mut chunked = None;
        let mut event_stream = false;
        for header in parsed.headers.iter() {
            let name = header.name;
            if name.eq_ignore_ascii_case("content-length") {
                let len = parse_length(header.value).ok_or(ParseError::ContentLength)?;
                if content_length.is_some_and(|seen| seen != len) {
                    return Err(ParseError::ContentLength);
                }
                content_length = Some(len);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                // Only the final coding decides whether the body is chunked.
                let last = header.value.rsplit(|&b| b == b',').next().unwrap_or(&[]);
                chunked = Some(trim(last).eq_ignore_ascii_case(b"chunked"));
            } else if name.eq_ignore_ascii_case("content-type") {
                event_stream = is_event_stream(header.value);
            } else if name.eq_ignore_ascii_case("connection") {
                for token in header.value.split(|&b| b == b',') {
                    let token = trim(token);
                    if token.eq_ignore_ascii_case(b"close") {
                        close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") && parsed.version == Some(0)
                    {
                        close = false;
                    }
                }
            }
        }
        let body = if head_request || interim || status == 204 || status == 304 {
            Body::None
        } else {
            match (chunked, content_length) {
                (Some(true), _) => Body::Chunked,
                (Some(false), _) => Body::UntilClose,
                (None, Some(len)) => Body::Fixed(len),
                (None, None) => Body::UntilClose,
            }
        };
        Ok(Head {
            status,
            event_stream,
            interim,
            close,
            body,
        })
    }
}

fn parse_length(value: &[u8]) -> Option<u64> {
    let value = trim(value);
    if value.is_empty() || value.len() > 18 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        value
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')),
    )
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `input` split at every pair of points, and checks every split gives `expected`.
    fn parse_all(parser: &mut ResponseParser, mut input: &[u8]) -> (Vec<Response>, Vec<u8>) {
        let mut done = Vec::new();
        let mut body = Vec::new();
        while let Some(event) = parser.next(&mut input).unwrap() {
            match event {
                ResponseEvent::Body(b) => body.extend_from_slice(b),
                ResponseEvent::Done(r) => done.push(r),
                ResponseEvent::Head { .. } => {}
            }
        }
        (done, body)
    }

    fn split_everywhere(input: &[u8]) -> (Vec<Response>, Vec<u8>) {
        let whole = parse_all(&mut ResponseParser::new(), input);
        for a in 0..=input.len() {
            for b in a..=input.len() {
                let mut parser = ResponseParser::new();
                let mut got = parse_all(&mut parser, &input[..a]);
                let second = parse_all(&mut parser, &input[a..b]);
                let third = parse_all(&mut parser, &input[b..]);
                got.0.extend(second.0);
                got.0.extend(third.0);
                got.1.extend(second.1);
                got.1.extend(third.1);
                assert_eq!(got, whole, "split at {a} and {b}");
            }
        }
        whole
    }

    const TWO: &[u8] = b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 13\r\n\r\nHello, World!\
HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";

    #[test]
    fn content_length_responses_at_every_split() {
        let (done, body) = split_everywhere(TWO);
        assert_eq!(done.len(), 2);
        assert_eq!((done[0].status, done[0].body_len), (200, 13));
        assert_eq!((done[1].status, done[1].body_len), (404, 0));
        assert_eq!(body, b"Hello, World!");
        assert!(!done[0].close);
    }

    #[test]
    fn chunked_with_extensions_and_trailers_at_every_split() {
        let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
5;name=value\r\nHello\r\n8\r\n, World!\r\n0\r\nX-Trailer: 1\r\n\r\n\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\nabcdefghij\n0\n\n";
        let (done, body) = split_everywhere(input);
        assert_eq!(done.len(), 2);
        assert_eq!(done[0].body_len, 13);
        assert_eq!(done[1].body_len, 10);
        assert_eq!(body, b"Hello, World!abcdefghij");
    }

    #[test]
    fn interim_and_bodyless_statuses() {
        let input =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n\
HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
        let (done, _) = split_everywhere(input);
        let statuses: Vec<u16> = done.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [204, 304, 200]);
    }

    #[test]
    fn head_requests_have_no_body() {
        let mut parser = ResponseParser::for_head_requests();
        let (done, _) = parse_all(
            &mut parser,
            b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n",
        );
        assert_eq!(done.len(), 2);
    }

    #[test]
    fn close_delimited_body_ends_at_finish() {
        let mut parser = ResponseParser::new();
        let (done, body) = parse_all(&mut parser, b"HTTP/1.0 200 OK\r\n\r\nall of it");
        assert!(done.is_empty());
        assert_eq!(body, b"all of it");
        let last = parser.finish().unwrap().unwrap();
        assert_eq!((last.status, last.body_len, last.close), (200, 9, true));
        assert!(parser.is_idle());
    }

    #[test]
    fn connection_close_is_reported() {
        let mut parser = ResponseParser::new();
        let (done, _) = parse_all(
            &mut parser,
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n\
HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(done[0].close);
        assert!(!done[1].close);
    }

    #[test]
    fn truncation_and_idle_eof() {
        let mut parser = ResponseParser::new();
        assert_eq!(parser.finish(), Ok(None));
        parse_all(
            &mut parser,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        );
        assert_eq!(parser.finish(), Err(ParseError::Truncated));
        assert!(parser.is_idle());
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let cases: &[(&[u8], ParseError)] = &[
            (
                b"garbage\r\n\r\n",
                ParseError::Head(httparse::Error::Version),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
                ParseError::ContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                ParseError::ContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                ParseError::Chunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
                ParseError::Chunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
                ParseError::Chunk,
            ),
            (b"HTTP/1.1 101 Switching\r\n\r\n", ParseError::Status(101)),
        ];
        for (input, want) in cases {
            let mut parser = ResponseParser::new();
            let mut rest = *input;
            let got = loop {
                match parser.next(&mut rest) {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("no error for {:?}", String::from_utf8_lossy(input)),
                    Err(e) => break e,
                }
            };
            assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn oversized_head_is_rejected_even_when_split() {
        let mut parser = ResponseParser::new();
        let mut first: &[u8] = b"HTTP/1.1 200 OK\r\nX-Filler: ";
        assert_eq!(parser.next(&mut first), Ok(None));
        let filler = [b'a'; 1000];
        let mut result = Ok(None);
        for _ in 0..100 {
            let mut piece: &[u8] = &filler;
            result = parser.next(&mut piece);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(ParseError::HeadTooLong(MAX_HEAD)));
    }
}
