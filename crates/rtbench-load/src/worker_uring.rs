//! The io_uring backend (`--io uring`): one ring per worker, set up single-issuer with deferred
//! task running, so the kernel does the ring's work only inside the worker's own wait.
//!
//! Each connection has one multishot receive armed for its whole life, which draws buffers from a
//! provided-buffer ring per worker: a response arrives as a completion carrying a buffer, with no
//! receive to submit. Every send of one loop turn is queued and goes to the kernel in the turn's
//! one `io_uring_enter`, which also waits (until the next tick or due time, to the nanosecond:
//! no timer descriptor). Completions of a socket already closed are told apart by a generation
//! in their user data.

use std::alloc::{self, Layout};
use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use io_uring::types::{BufRingEntry, Fd, SubmitArgs, Timespec};
use io_uring::{cqueue, opcode, squeue, IoUring};

use crate::book::{Book, State};
use crate::schedule::Schedule;
use crate::sys;
use crate::worker::{Backend, Plan, Wait};
use crate::worker_out::Class;

/// Bytes per provided buffer: a pipelined batch of small responses fits in one.
const BUF_SIZE: u32 = 8 * 1024;
/// The worker's one buffer group.
const BGID: u16 = 0;
const OP_CONNECT: u64 = 1;
const OP_RECV: u64 = 2;
const OP_SEND: u64 = 3;
/// Generations wrap at 24 bits (user data: generation, operation, connection).
const GEN_MASK: u32 = 0xff_ffff;

/// A connection's socket (-1: none), its generation, and the length of its send in flight.
struct Slot {
    fd: RawFd,
    gen: u32,
    send_len: u32,
}

pub(crate) struct Uring<'p> {
    plan: &'p Plan,
    // Dropped before `bufs`: the kernel stops using the buffers before they are freed.
    ring: IoUring,
    bufs: BufRing,
    /// The target's address, where the kernel reads it while connects are in flight.
    addr: Box<(libc::sockaddr_storage, libc::socklen_t)>,
    slots: Vec<Slot>,
    /// One turn's completions (user data, result, flags), copied out of the ring.
    cqes: Vec<(u64, i32, u32)>,
}

impl<'p> Uring<'p> {
    /// A ring and buffer ring for `connections` slots. Fails with one line naming the cause when
    /// io_uring cannot be used here.
    pub(crate) fn new(plan: &'p Plan, connections: usize) -> Result<Self, String> {
        let entries = (2 * connections as u32 + 64).next_power_of_two().min(4096);
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_cqsize((4 * entries).min(65_536))
            .build(entries)
            .map_err(|e| unavailable("creating the ring", &e))?;
        let count = (2 * connections as u32).next_power_of_two().clamp(64, 4096) as u16;
        let mut bufs = BufRing::new(count).map_err(|e| unavailable("allocating buffers", &e))?;
        // SAFETY: the entries stay allocated until after the ring is dropped (field order) and
        // are unregistered first in `Drop`.
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(bufs.entries as u64, count, BGID, 0)
        }
        .map_err(|e| unavailable("registering a provided-buffer ring", &e))?;
        for bid in 0..count {
            bufs.provide(bid);
        }
        Ok(Uring {
            plan,
            ring,
            bufs,
            addr: Box::new(sockaddr(plan.addr)),
            slots: (0..connections)
                .map(|_| Slot {
                    fd: -1,
                    gen: 0,
                    send_len: 0,
                })
                .collect(),
            cqes: Vec::with_capacity(4 * entries as usize),
        })
    }

    fn tag(&self, op: u64, i: usize) -> u64 {
        u64::from(self.slots[i].gen) << 40 | op << 32 | i as u64
    }

    /// Queues an entry, submitting what is queued first when the queue is full.
    fn push(&mut self, entry: &squeue::Entry) -> io::Result<()> {
        loop {
            // SAFETY: every buffer an entry points to (the plan's batch, the boxed address, the
            // registered buffer ring) outlives the ring.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return Ok(());
            }
            self.ring.submit()?;
        }
    }

    fn arm_recv(&mut self, i: usize) -> io::Result<()> {
        let entry = opcode::RecvMulti::new(Fd(self.slots[i].fd), BGID)
            .build()
            .user_data(self.tag(OP_RECV, i));
        self.push(&entry)
    }

    fn complete<S: Schedule>(&mut self, book: &mut Book<'_, S>, data: u64, res: i32, flags: u32) {
        let i = (data & 0xffff_ffff) as usize;
        let current = self.slots[i].gen == (data >> 40) as u32;
        match (data >> 32) & 0xff {
            OP_RECV => self.on_recv(book, i, current, res, flags),
            OP_CONNECT if current && book.conns[i].state == State::Connecting => {
                if res == 0 {
                    set_nodelay(self.slots[i].fd);
                    book.on_connected(i);
                    if self.arm_recv(i).is_err() {
                        book.fail(i, Class::Read);
                        return;
                    }
                    book.send_next(i, self);
                } else {
                    self.close(i);
                    book.connect_failed(i, sys::now_ns(), false);
                }
            }
            // MSG_WAITALL: anything short of the whole batch is a failure.
            OP_SEND if current && book.is_ready(i) && res != self.slots[i].send_len as i32 => {
                book.fail(i, Class::Write);
            }
            _ => {}
        }
    }

    fn on_recv<S: Schedule>(
        &mut self,
        book: &mut Book<'_, S>,
        i: usize,
        current: bool,
        res: i32,
        flags: u32,
    ) {
        let live = current && book.is_ready(i);
        let mut open = live;
        if let Some(bid) = cqueue::buffer_select(flags) {
            if live && res > 0 {
                open = book.consume(i, self.bufs.slice(bid, res as usize), sys::now_ns());
            }
            self.bufs.provide(bid);
        }
        if !live {
            return;
        }
        let rearm = match res {
            0 => {
                book.on_eof(i);
                false
            }
            // The buffer ring ran dry for a moment; buffers come back as completions are read.
            e if e == -libc::ENOBUFS => true,
            e if e < 0 => {
                book.on_read_error(i);
                false
            }
            _ => open && !cqueue::more(flags),
        };
        if rearm && self.arm_recv(i).is_err() {
            book.fail(i, Class::Read);
        }
        book.send_next(i, self);
    }
}

impl Backend for Uring<'_> {
    fn connect(&mut self, i: usize) -> io::Result<()> {
        let family = match self.plan.addr {
            SocketAddr::V4(_) => libc::AF_INET,
            SocketAddr::V6(_) => libc::AF_INET6,
        };
        // SAFETY: plain syscall; the result is checked.
        let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        self.slots[i].fd = fd;
        let (addr, len) = &*self.addr;
        let entry =
            opcode::Connect::new(Fd(fd), (addr as *const libc::sockaddr_storage).cast(), *len)
                .build()
                .user_data(self.tag(OP_CONNECT, i));
        self.push(&entry).inspect_err(|_| self.close(i))
    }

    fn send(&mut self, i: usize, len: usize) -> bool {
        self.slots[i].send_len = len as u32;
        let entry = opcode::Send::new(Fd(self.slots[i].fd), self.plan.batch.as_ptr(), len as u32)
            .flags(libc::MSG_NOSIGNAL | libc::MSG_WAITALL)
            .build()
            .user_data(self.tag(OP_SEND, i));
        self.push(&entry).is_ok()
    }

    fn close(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if slot.fd >= 0 {
            // The shutdown ends the multishot receive (and any send or connect) in flight, which
            // would otherwise keep the socket open after the close.
            // SAFETY: `fd` is this slot's own socket, closed exactly once.
            unsafe {
                libc::shutdown(slot.fd, libc::SHUT_RDWR);
                libc::close(slot.fd);
            }
            slot.fd = -1;
        }
        slot.gen = slot.gen.wrapping_add(1) & GEN_MASK;
    }

    fn wait<S: Schedule>(&mut self, book: &mut Book<'_, S>, wait: Wait) -> io::Result<()> {
        let Wait { now, wake, due } = wait;
        let until = due.map_or(wake, |due| due.min(wake));
        let ts = Timespec::from(Duration::from_nanos(until.saturating_sub(now)));
        let args = SubmitArgs::new().timespec(&ts);
        match self.ring.submitter().submit_with_args(1, &args) {
            Ok(_) => {}
            // Timed out, interrupted, or completions waiting to be read first.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY)
                ) => {}
            Err(e) => return Err(e),
        }
        let mut cqes = std::mem::take(&mut self.cqes);
        cqes.extend(
            self.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        for &(data, res, flags) in &cqes {
            self.complete(book, data, res, flags);
        }
        cqes.clear();
        self.cqes = cqes;
        Ok(())
    }
}

impl Drop for Uring<'_> {
    fn drop(&mut self) {
        for i in 0..self.slots.len() {
            self.close(i);
        }
        let _ = self.ring.submitter().unregister_buf_ring(BGID);
    }
}

/// The provided buffers: a page-aligned ring of entries the kernel takes buffers from, and the
/// buffers themselves. Both are raw allocations: the kernel writes into buffers it holds while the
/// worker reads others, so no Rust reference ever spans them all.
struct BufRing {
    entries: *mut BufRingEntry,
    data: *mut u8,
    count: u16,
    /// Entries handed to the kernel so far (the ring's tail).
    tail: u16,
}

impl BufRing {
    fn layouts(count: u16) -> (Layout, Layout) {
        let count = usize::from(count);
        let entries = Layout::from_size_align(count * size_of::<BufRingEntry>(), 4096);
        let data = Layout::from_size_align(count * BUF_SIZE as usize, 64);
        (
            entries.expect("a small power of two"),
            data.expect("a small power of two"),
        )
    }

    fn new(count: u16) -> io::Result<BufRing> {
        let (entries, data) = Self::layouts(count);
        // SAFETY: both layouts have a non-zero size.
        let (entries, data) = unsafe { (alloc::alloc_zeroed(entries), alloc::alloc(data)) };
        let ring = BufRing {
            entries: entries.cast(),
            data,
            count,
            tail: 0,
        };
        if entries.is_null() || data.is_null() {
            return Err(io::Error::from_raw_os_error(libc::ENOMEM));
        }
        Ok(ring)
    }

    /// The first `len` bytes the kernel wrote into buffer `bid`, which it handed over.
    fn slice(&self, bid: u16, len: usize) -> &[u8] {
        let len = len.min(BUF_SIZE as usize);
        // SAFETY: buffer `bid` lies inside the allocation, and it is the worker's (the kernel
        // does not write into it) until `provide(bid)`, which needs `&mut self`.
        unsafe { std::slice::from_raw_parts(self.buffer(bid), len) }
    }

    fn buffer(&self, bid: u16) -> *mut u8 {
        // SAFETY: bid < count, so the offset lies inside the allocation.
        unsafe { self.data.add(usize::from(bid) * BUF_SIZE as usize) }
    }

    /// Hands buffer `bid` (back) to the kernel.
    fn provide(&mut self, bid: u16) {
        let addr = self.buffer(bid) as u64;
        // SAFETY: the index is masked into the ring; the kernel reads only entries below the
        // published tail, and this one is not yet published.
        unsafe {
            let entry = &mut *self.entries.add(usize::from(self.tail & (self.count - 1)));
            entry.set_addr(addr);
            entry.set_len(BUF_SIZE);
            entry.set_bid(bid);
        }
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: the tail overlays the first entry's reserved field, which the kernel reads
        // atomically; the release store publishes the entry written above.
        let tail = unsafe { &*BufRingEntry::tail(self.entries).cast::<AtomicU16>() };
        tail.store(self.tail, Ordering::Release);
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        let (entries, data) = Self::layouts(self.count);
        // SAFETY: allocated in `new` with these layouts (null when that failed).
        unsafe {
            if !self.entries.is_null() {
                alloc::dealloc(self.entries.cast(), entries);
            }
            if !self.data.is_null() {
                alloc::dealloc(self.data, data);
            }
        }
    }
}

fn set_nodelay(fd: RawFd) {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a valid c_int of the size passed; a failure only costs latency.
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

fn sockaddr(addr: SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_storage is valid.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for every sockaddr type.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: as above.
            unsafe { std::ptr::write((&mut storage as *mut libc::sockaddr_storage).cast(), sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as libc::socklen_t)
}

/// One line saying why io_uring cannot be used here, with what to do about it.
fn unavailable(step: &str, e: &io::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(libc::ENOSYS) => {
            "this kernel has no io_uring, or a seccomp filter hides it".to_owned()
        }
        Some(libc::EPERM | libc::EACCES) => {
            match std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
                .map(|s| s.trim().to_owned())
                .as_deref()
            {
                Ok("2") => "kernel.io_uring_disabled=2 turns it off for every process".to_owned(),
                Ok("1") => "kernel.io_uring_disabled=1 allows it only to the \
                            kernel.io_uring_group and to CAP_SYS_ADMIN"
                    .to_owned(),
                _ => "a seccomp filter (e.g. a container's default profile) or a security \
                      module forbids it"
                    .to_owned(),
            }
        }
        Some(libc::EINVAL) => "the kernel lacks what rtbench needs (single-issuer rings with \
                               deferred task running, provided-buffer rings: Linux 6.1+)"
            .to_owned(),
        Some(libc::ENOMEM) => "not enough locked memory for the rings (`ulimit -l`)".to_owned(),
        _ => "use --io epoll".to_owned(),
    };
    format!("{step}: {e}; {hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_names_the_cause_and_the_way_out() {
        let line = |errno| unavailable("creating the ring", &io::Error::from_raw_os_error(errno));
        assert_eq!(
            line(libc::ENOSYS),
            "creating the ring: Function not implemented (os error 38); this kernel has no \
             io_uring, or a seccomp filter hides it"
        );
        assert!(line(libc::EINVAL).ends_with("provided-buffer rings: Linux 6.1+)"));
        let denied = line(libc::EPERM);
        assert!(
            denied.contains("kernel.io_uring_disabled=") || denied.contains("seccomp filter"),
            "{denied}"
        );
        assert!(line(libc::ENOMEM).contains("ulimit -l"));
        assert!(!line(libc::EBADF).contains('\n'));
    }

    #[test]
    fn addresses_are_laid_out_for_the_kernel() {
        let (storage, len) = sockaddr("127.0.0.1:8080".parse().unwrap());
        assert_eq!(len as usize, size_of::<libc::sockaddr_in>());
        // SAFETY: `sockaddr` wrote a sockaddr_in at the start of the storage.
        let sin =
            unsafe { &*(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
        assert_eq!(sin.sin_family, libc::AF_INET as libc::sa_family_t);
        assert_eq!(u16::from_be(sin.sin_port), 8080);
        assert_eq!(sin.sin_addr.s_addr.to_ne_bytes(), [127, 0, 0, 1]);
        let (_, len) = sockaddr("[::1]:80".parse().unwrap());
        assert_eq!(len as usize, size_of::<libc::sockaddr_in6>());
    }
}
