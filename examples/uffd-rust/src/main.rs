// SPDX-License-Identifier: MIT OR Apache-2.0
//! userfaultfd from Rust, the way a VMM uses it, on the `userfaultfd` crate:
//!
//! 1. MINOR faults on shared memory.  Guest memory is a memfd mapped twice:
//!    the guest's view is registered in MINOR mode, the VMM's own view is
//!    not.  The page cache is already populated, but a first touch of the
//!    guest's view faults; the handler writes the page's contents through
//!    the VMM's view and maps that same page-cache page into the guest's
//!    view with UFFDIO_CONTINUE.
//! 2. Write-protect on shmem (dirty tracking for live migration).  A
//!    populated memfd range is write-protected; the first write to each page
//!    faults, the handler records it and un-protects the page, and the write
//!    lands.
//!
//! Output is TAP.  Exit status: 0 passed (some tests may have skipped),
//! 1 a test failed, 4 every test skipped (kselftest's KSFT_SKIP).

use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::{ptr, slice, thread};

use libc::c_void;
use userfaultfd::{
    Event, FaultKind, FeatureFlags, IoctlFlags, ReadWrite, RegisterMode, Uffd, UffdBuilder,
};
use userfaultfd_sys::{
    _UFFDIO_CONTINUE, UFFD_FEATURE_MINOR_SHMEM, UFFD_FEATURE_PAGEFAULT_FLAG_WP,
    UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
};

const PAGES: usize = 16;
/// How long the handler waits for the next fault before it fails the test.
const FAULT_TIMEOUT_MS: i32 = 10_000;

/// Why a test did not pass.
enum Problem {
    Fail(String),
    /// What the test needs is not in this kernel.
    Skip(String),
}

type Outcome<T = ()> = Result<T, Problem>;

/// Fails the test, with a message.
macro_rules! bail {
    ($($msg:tt)+) => {
        return Err(Problem::Fail(format!($($msg)+)))
    };
}

/// Fails the test unless a condition holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            bail!($($msg)+);
        }
    };
}

/// An error and its causes, one after the other.
fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s = format!("{s}: {c}");
        cause = c.source();
    }
    s
}

trait OrFail<T> {
    fn or_fail(self, what: &str) -> Outcome<T>;
}

impl<T, E: std::error::Error> OrFail<T> for Result<T, E> {
    fn or_fail(self, what: &str) -> Outcome<T> {
        self.map_err(|e| Problem::Fail(format!("{what}: {}", describe(&e))))
    }
}

/// A userfaultfd whose UFFDIO_API asked for `features`: the kernel refuses
/// (EINVAL) a feature it lacks, and the test skips.  Non-blocking, so that
/// the handler can poll() with a timeout.
fn open_uffd(features: u64, what: &str) -> Outcome<Uffd> {
    UffdBuilder::new()
        .close_on_exec(true)
        .non_blocking(true)
        .user_mode_only(true)
        .require_features(FeatureFlags::from_bits_retain(features))
        .create()
        .map_err(|e| match e {
            userfaultfd::Error::SystemError(errno) => match errno as i32 {
                libc::ENOSYS => Problem::Skip("no userfaultfd in this kernel".into()),
                libc::EPERM => Problem::Skip("userfaultfd not permitted".into()),
                libc::EINVAL => Problem::Skip(format!("the kernel lacks {what}")),
                _ => Problem::Fail(format!("userfaultfd: {}", describe(&e))),
            },
            // /dev/userfaultfd exists but is not ours (the crate then does
            // not fall back to the system call).
            userfaultfd::Error::OpenDevUserfaultfd(e) => {
                Problem::Skip(format!("cannot open /dev/userfaultfd: {e}"))
            }
            e => Problem::Fail(format!("userfaultfd: {}", describe(&e))),
        })
}

/// The next event of a non-blocking userfaultfd, waiting at most
/// FAULT_TIMEOUT_MS for it.
fn next_event(uffd: &Uffd) -> Outcome<Event> {
    let mut pfd = libc::pollfd {
        fd: uffd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: `pfd` is a valid pollfd for the call.
        match unsafe { libc::poll(&mut pfd, 1, FAULT_TIMEOUT_MS) } {
            0 => bail!("no fault within {FAULT_TIMEOUT_MS} ms"),
            n if n < 0 => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e).or_fail("poll");
                }
            }
            _ => {
                if let Some(event) = uffd.read_event().or_fail("read the userfaultfd")? {
                    return Ok(event);
                }
            }
        }
    }
}

/// A memfd (shmem) of `len` bytes.
fn memfd(name: &CStr, len: usize) -> Outcome<File> {
    // SAFETY: `name` is a NUL-terminated string; the call only reads it.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error()).or_fail("memfd_create");
    }
    // SAFETY: `fd` is a new descriptor we own; the File takes it over.
    let file = unsafe { File::from_raw_fd(fd) };
    file.set_len(len as u64).or_fail("ftruncate")?;
    Ok(file)
}

/// A shared mapping of a whole file, unmapped when dropped.
struct Mapping {
    addr: *mut u8,
    len: usize,
    page_size: usize,
}

impl Mapping {
    fn shared(file: &File, len: usize, page_size: usize) -> Outcome<Self> {
        let prot = libc::PROT_READ | libc::PROT_WRITE;
        // SAFETY: a new mapping of `file`; the kernel picks the address.
        let addr = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error()).or_fail("mmap");
        }
        Ok(Mapping {
            addr: addr.cast(),
            len,
            page_size,
        })
    }

    fn start(&self) -> *mut c_void {
        self.addr.cast()
    }

    fn page(&self, index: usize) -> *mut u8 {
        assert!(index < self.len / self.page_size);
        // SAFETY: `index` is inside the mapping (asserted above).
        unsafe { self.addr.add(index * self.page_size) }
    }

    /// The page a fault address falls in.
    fn page_of(&self, addr: *mut c_void) -> Outcome<usize> {
        let offset = (addr as usize).wrapping_sub(self.addr as usize);
        ensure!(
            offset < self.len,
            "fault at {addr:p}, outside {:p}+{:#x}",
            self.addr,
            self.len
        );
        Ok(offset / self.page_size)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `addr` and `len` are the mapping this value made and owns.
        unsafe { libc::munmap(self.addr.cast(), self.len) };
    }
}

/// The contents of page `page` in round `round`: every byte differs from
/// its neighbours, from the same byte of other pages and of other rounds.
fn contents(round: usize, page: usize, page_size: usize) -> Vec<u8> {
    (0..page_size)
        .map(|i| (round * 101 + page * 7 + i) as u8)
        .collect()
}

/// Page `page` of round `round` written at `dst`, through a raw pointer (no
/// reference to memory another thread may be faulting on).
fn write_page(dst: *mut u8, round: usize, page: usize, page_size: usize) {
    let src = contents(round, page, page_size);
    // SAFETY: callers pass a page of a live mapping of `page_size` bytes.
    unsafe { ptr::copy_nonoverlapping(src.as_ptr(), dst, page_size) };
}

/// Whether the page at `at` holds round `round`'s bytes; else the first
/// byte that differs.
fn check_page(at: *const u8, round: usize, page: usize, page_size: usize) -> Result<(), String> {
    // SAFETY: callers pass a page of a live, readable mapping.
    let got = unsafe { slice::from_raw_parts(at, page_size) };
    let want = contents(round, page, page_size);
    match got.iter().zip(&want).position(|(g, w)| g != w) {
        None => Ok(()),
        Some(i) => Err(format!(
            "page {page} byte {i}: {:#04x}, want {:#04x} (round {round})",
            got[i], want[i]
        )),
    }
}

fn minor_continue(page_size: usize) -> Outcome {
    let uffd = open_uffd(
        UFFD_FEATURE_MINOR_SHMEM,
        "MINOR faults on shmem (UFFD_FEATURE_MINOR_SHMEM)",
    )?;
    let len = PAGES * page_size;
    let mem = memfd(c"uffd-rust-minor", len)?;
    let guest = Mapping::shared(&mem, len, page_size)?; // registered: what the vCPU touches
    let vmm = Mapping::shared(&mem, len, page_size)?; // the VMM's own view, never registered

    // Every page is in the page cache (round 0), none is mapped in the
    // guest's view: a first touch there is a MINOR fault.
    for p in 0..PAGES {
        write_page(vmm.page(p), 0, p, page_size);
    }
    let ioctls = uffd
        .register_with_mode(guest.start(), len, RegisterMode::MINOR)
        .or_fail("UFFDIO_REGISTER (MINOR)")?;
    ensure!(
        ioctls.bits() & (1 << _UFFDIO_CONTINUE) != 0,
        "no UFFDIO_CONTINUE for the range ({ioctls:?})"
    );

    // The "vCPU": reads each page and checks what it sees (all of them,
    // keeping the first mismatch: the handler waits for every fault).
    let base = guest.page(0) as usize;
    let vcpu = thread::spawn(move || {
        let mut seen = Ok(());
        for p in 0..PAGES {
            let page = (base + p * page_size) as *const u8;
            // SAFETY: a page of the live mapping `base` points into.
            unsafe { ptr::read_volatile(page) }; // faults; returns once resolved
            seen = seen.and(check_page(page, 1, p, page_size));
        }
        seen
    });
    let served = serve_minor(&uffd, &guest, &vmm);
    drop(uffd); // if serving failed, this lets the vCPU's faults through
    let seen = vcpu
        .join()
        .map_err(|_| Problem::Fail("the vCPU thread panicked".into()))?;
    let faults = served?;
    seen.map_err(Problem::Fail)?;
    ensure!(
        faults.iter().all(|&n| n == 1),
        "MINOR faults per page: {faults:?}, want one each"
    );
    Ok(())
}

/// Resolves one MINOR fault per page; returns how many each page had.
fn serve_minor(uffd: &Uffd, guest: &Mapping, vmm: &Mapping) -> Outcome<Vec<u32>> {
    let mut faults = vec![0; PAGES];
    while faults.contains(&0) {
        match next_event(uffd)? {
            Event::Pagefault {
                kind: FaultKind::Minor,
                addr,
                ..
            } => {
                let p = guest.page_of(addr)?;
                faults[p] += 1;
                // The page's contents go into the page cache through the
                // VMM's view (here: new bytes, round 1) ...
                write_page(vmm.page(p), 1, p, guest.page_size);
                // ... and UFFDIO_CONTINUE maps that page in the guest's view
                // and wakes the faulting thread.
                uffd.r#continue(guest.page(p).cast(), guest.page_size, true)
                    .or_fail("UFFDIO_CONTINUE")?;
            }
            event => bail!("unexpected event {event:?}"),
        }
    }
    Ok(faults)
}

fn shmem_write_protect(page_size: usize) -> Outcome {
    let uffd = open_uffd(
        UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
        "write-protect of shmem (UFFD_FEATURE_WP_HUGETLBFS_SHMEM)",
    )?;
    let len = PAGES * page_size;
    let mem = memfd(c"uffd-rust-wp", len)?;
    let map = Mapping::shared(&mem, len, page_size)?;

    // Populated (round 0) before it is registered, so there are no missing
    // pages: WP mode alone is enough.
    for p in 0..PAGES {
        write_page(map.page(p), 0, p, page_size);
    }
    let ioctls = uffd
        .register_with_mode(map.start(), len, RegisterMode::WRITE_PROTECT)
        .or_fail("UFFDIO_REGISTER (WP)")?;
    ensure!(
        ioctls.contains(IoctlFlags::WRITE_PROTECT),
        "no UFFDIO_WRITEPROTECT for the range ({ioctls:?})"
    );
    uffd.write_protect(map.start(), len)
        .or_fail("UFFDIO_WRITEPROTECT")?;
    for p in 0..PAGES {
        // Reads do not fault.
        check_page(map.page(p), 0, p, page_size).map_err(Problem::Fail)?;
    }

    // The "vCPU": writes round 1 to each page.
    let base = map.page(0) as usize;
    let vcpu = thread::spawn(move || {
        for p in 0..PAGES {
            write_page((base + p * page_size) as *mut u8, 1, p, page_size);
        }
    });
    let served = serve_write_protect(&uffd, &map);
    drop(uffd); // if serving failed, this lets the vCPU's writes through
    vcpu.join()
        .map_err(|_| Problem::Fail("the vCPU thread panicked".into()))?;
    let faults = served?;
    for p in 0..PAGES {
        check_page(map.page(p), 1, p, page_size).map_err(Problem::Fail)?;
    }
    ensure!(
        faults.iter().all(|&n| n == 1),
        "write-protect faults per page: {faults:?}, want one each"
    );
    Ok(())
}

/// Resolves one write-protect fault per page; returns how many each page had.
fn serve_write_protect(uffd: &Uffd, map: &Mapping) -> Outcome<Vec<u32>> {
    let mut faults = vec![0; PAGES];
    while faults.contains(&0) {
        match next_event(uffd)? {
            Event::Pagefault {
                kind: FaultKind::WriteProtected,
                rw: ReadWrite::Write,
                addr,
                ..
            } => {
                let p = map.page_of(addr)?;
                faults[p] += 1;
                // The write has not landed yet.
                check_page(map.page(p), 0, p, map.page_size).map_err(Problem::Fail)?;
                // A VMM marks the page dirty here, then lets the write
                // through: un-protect the page and wake the writer.
                uffd.remove_write_protection(map.page(p).cast(), map.page_size, true)
                    .or_fail("UFFDIO_WRITEPROTECT (un-protect)")?;
            }
            event => bail!("unexpected event {event:?}"),
        }
    }
    Ok(faults)
}

fn main() {
    // SAFETY: sysconf() has no preconditions.
    let page_size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
    // Each test gets the page size.
    type Test = fn(usize) -> Outcome;
    let tests: [(&str, Test); 2] = [
        (
            "MINOR faults on a memfd resolved with UFFDIO_CONTINUE",
            minor_continue,
        ),
        (
            "write-protect faults on shmem resolved by un-protecting",
            shmem_write_protect,
        ),
    ];

    println!("TAP version 13");
    println!("1..{}", tests.len());
    let (mut failed, mut skipped) = (0, 0);
    for (n, (name, test)) in tests.iter().enumerate() {
        match test(page_size) {
            Ok(()) => println!("ok {} {name}", n + 1),
            Err(Problem::Skip(why)) => {
                skipped += 1;
                println!("ok {} {name} # SKIP {why}", n + 1);
            }
            Err(Problem::Fail(why)) => {
                failed += 1;
                println!("not ok {} {name} # {why}", n + 1);
            }
        }
    }
    std::process::exit(if failed > 0 {
        1
    } else if skipped == tests.len() {
        4
    } else {
        0
    });
}
