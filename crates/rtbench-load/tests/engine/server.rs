//! A real HTTP/1.1 server on a 127.0.0.1 ephemeral port, one thread per connection, whose answer
//! to each request is decided by the test. It counts what it receives.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What the server knows when it answers.
#[allow(dead_code)]
pub struct Ctx {
    /// 1-based number of the connection, in accept order.
    pub connection: u64,
    /// 1-based number of the request on its connection.
    pub on_connection: u64,
    /// 1-based number of the request over the server's life.
    pub total: u64,
    /// The request's method and path.
    pub method: String,
    pub path: String,
}

/// The server's answer to one request.
#[allow(dead_code)]
pub enum Reply {
    /// Write these bytes.
    Bytes(Vec<u8>),
    /// Write these bytes, then close the connection.
    BytesThenClose(Vec<u8>),
    /// Close the connection without answering.
    Close,
    /// Never answer; keep reading.
    Nothing,
    /// Write the answer over time (streams); the connection closes afterwards.
    Custom(Box<dyn FnOnce(&mut TcpStream) + Send>),
}

pub const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 13\r\n\r\nHello, World!";

pub struct Server {
    pub addr: SocketAddr,
    requests: Arc<AtomicU64>,
    connections: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

#[allow(dead_code)]
impl Server {
    pub fn start(answer: impl Fn(&Ctx) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let answer = Arc::new(answer);
        let accept = {
            let (requests, connections, stop) =
                (requests.clone(), connections.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let connection = connections.fetch_add(1, Ordering::SeqCst) + 1;
                    let (requests, answer) = (requests.clone(), answer.clone());
                    std::thread::spawn(move || serve(stream, connection, &requests, &*answer));
                }
            })
        };
        Server {
            addr,
            requests,
            connections,
            stop,
            accept: Some(accept),
        }
    }

    /// A server answering every request with `HELLO`.
    pub fn hello() -> Server {
        Server::start(|_| Reply::Bytes(HELLO.to_vec()))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn serve(
    mut stream: TcpStream,
    connection: u64,
    total: &AtomicU64,
    answer: &(dyn Fn(&Ctx) -> Reply + Send + Sync),
) {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 64 * 1024];
    let mut pending: Vec<u8> = Vec::new();
    let mut on_connection = 0;
    loop {
        // Answer every complete request already buffered.
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut request = httparse::Request::new(&mut headers);
            let Ok(httparse::Status::Complete(head)) = request.parse(&pending) else {
                break;
            };
            let body = request
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| {
                    std::str::from_utf8(h.value)
                        .ok()?
                        .trim()
                        .parse::<usize>()
                        .ok()
                })
                .unwrap_or(0);
            if pending.len() < head + body {
                break;
            }
            on_connection += 1;
            let ctx = Ctx {
                connection,
                on_connection,
                total: total.fetch_add(1, Ordering::SeqCst) + 1,
                method: request.method.unwrap_or("").to_owned(),
                path: request.path.unwrap_or("").to_owned(),
            };
            pending.drain(..head + body);
            match answer(&ctx) {
                Reply::Bytes(bytes) => {
                    if stream.write_all(&bytes).is_err() {
                        return;
                    }
                }
                Reply::BytesThenClose(bytes) => {
                    let _ = stream.write_all(&bytes);
                    return;
                }
                Reply::Close => return,
                Reply::Nothing => {}
                Reply::Custom(write) => {
                    write(&mut stream);
                    return;
                }
            }
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}
