//! The epoll backend: one edge-triggered mio event loop per worker.
//!
//! Per request it makes one `send` and one `recv`: the request bytes are prepared once, sockets
//! are registered for read and write readiness once (edge-triggered, never re-armed), and a read
//! that returns less than the buffer is taken to have drained the socket (a new arrival raises a
//! new edge), so there is no extra read ending in `EAGAIN`.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use mio::event::Event;
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::book::{Book, State};
use crate::schedule::Schedule;
use crate::sys::{self, Timer};
use crate::worker::{Backend, Plan, Wait};
use crate::worker_out::Class;

/// One read buffer per worker; body bytes are skipped, never kept per connection.
const READ_BUFFER: usize = 64 * 1024;
const TIMER_TOKEN: Token = Token(usize::MAX);

/// A connection's socket and the part of its batch not yet written.
struct Slot {
    sock: Option<TcpStream>,
    out_off: u32,
    out_len: u32,
}

pub(crate) struct Epoll<'p> {
    plan: &'p Plan,
    poll: Poll,
    events: Events,
    /// A nanosecond timer for the open model's due times (epoll_wait counts in milliseconds).
    timer: Option<Timer>,
    slots: Vec<Slot>,
    buf: Box<[u8]>,
}

impl<'p> Epoll<'p> {
    /// An event loop for `connections` slots; `timer`: the open model's.
    pub(crate) fn new(plan: &'p Plan, connections: usize, timer: bool) -> io::Result<Self> {
        let poll = Poll::new()?;
        let timer = if timer {
            let t = Timer::new()?;
            poll.registry().register(
                &mut SourceFd(&t.as_raw_fd()),
                TIMER_TOKEN,
                Interest::READABLE,
            )?;
            Some(t)
        } else {
            None
        };
        Ok(Epoll {
            plan,
            poll,
            events: Events::with_capacity(connections.clamp(16, 1024)),
            timer,
            slots: (0..connections)
                .map(|_| Slot {
                    sock: None,
                    out_off: 0,
                    out_len: 0,
                })
                .collect(),
            buf: vec![0; READ_BUFFER].into_boxed_slice(),
        })
    }

    fn on_event<S: Schedule>(&mut self, book: &mut Book<'_, S>, i: usize, event: &Event) {
        let Some(conn) = book.conns.get(i) else {
            return;
        };
        match conn.state {
            State::Connecting => {
                if event.is_writable() || event.is_error() || event.is_write_closed() {
                    self.finish_connect(book, i);
                }
            }
            State::Ready => {
                let slot = &self.slots[i];
                if event.is_writable() && slot.out_off < slot.out_len && !self.flush(i) {
                    book.fail(i, Class::Write);
                    return;
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.on_readable(book, i, event.is_read_closed() || event.is_error());
                }
            }
            // A late event of a socket about to be dropped.
            State::Closed | State::Backoff | State::Retired => {}
        }
    }

    fn finish_connect<S: Schedule>(&mut self, book: &mut Book<'_, S>, i: usize) {
        let Some(sock) = self.slots[i].sock.as_ref() else {
            return;
        };
        let connected = match sock.take_error() {
            Ok(None) => match sock.peer_addr() {
                Ok(_) => true,
                // Not yet: a spurious wake-up; the real edge follows.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(_) => false,
            },
            Ok(Some(_)) | Err(_) => false,
        };
        if !connected {
            self.slots[i].sock = None;
            book.connect_failed(i, sys::now_ns(), false);
            return;
        }
        let _ = sock.set_nodelay(true);
        book.on_connected(i);
        book.send_next(i, self);
    }

    /// Writes what is left of slot `i`'s batch; stops at `WouldBlock` until the next edge. False
    /// when writing failed.
    fn flush(&mut self, i: usize) -> bool {
        let slot = &mut self.slots[i];
        let Some(sock) = slot.sock.as_mut() else {
            return true;
        };
        while slot.out_off < slot.out_len {
            match sock.write(&self.plan.batch[slot.out_off as usize..slot.out_len as usize]) {
                Ok(n) => slot.out_off += n as u32,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }

    /// Reads until a short read (the socket is drained: new data raises a new edge) or, when the
    /// peer has closed (`hup`: no edge will follow), until the end of the stream.
    fn on_readable<S: Schedule>(&mut self, book: &mut Book<'_, S>, i: usize, hup: bool) {
        while book.is_ready(i) {
            let Some(sock) = self.slots[i].sock.as_mut() else {
                break;
            };
            match sock.read(&mut self.buf) {
                Ok(0) => {
                    book.on_eof(i);
                    break;
                }
                Ok(n) => {
                    let open = book.consume(i, &self.buf[..n], sys::now_ns());
                    if !open || (n < self.buf.len() && !hup) {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    book.on_read_error(i);
                    break;
                }
            }
        }
        book.send_next(i, self);
    }
}

impl Backend for Epoll<'_> {
    fn connect(&mut self, i: usize) -> io::Result<()> {
        let mut sock = TcpStream::connect(self.plan.addr)?;
        self.poll.registry().register(
            &mut sock,
            Token(i),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        self.slots[i].sock = Some(sock);
        Ok(())
    }

    fn send(&mut self, i: usize, len: usize) -> bool {
        let slot = &mut self.slots[i];
        slot.out_off = 0;
        slot.out_len = len as u32;
        self.flush(i)
    }

    fn close(&mut self, i: usize) {
        // Dropping the socket closes it, which also removes it from the epoll set.
        let slot = &mut self.slots[i];
        slot.sock = None;
        slot.out_off = 0;
        slot.out_len = 0;
    }

    fn wait<S: Schedule>(&mut self, book: &mut Book<'_, S>, wait: Wait) -> io::Result<()> {
        let Wait { now, wake, due } = wait;
        if let (Some(due), Some(t)) = (due, self.timer.as_mut()) {
            if due < wake {
                t.arm_at(due);
            }
        }
        let timeout = Duration::from_nanos(wake.saturating_sub(now));
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        for event in events.iter() {
            if event.token() != TIMER_TOKEN {
                self.on_event(book, event.token().0, event);
            }
        }
        self.events = events;
        Ok(())
    }
}
