// SPDX-License-Identifier: GPL-2.0
/*
 * Seeded random sequences of userfaultfd operations checked against a
 * shadow model of every page.
 *
 * Five regions stay registered with one userfaultfd (MISSING | WP, and
 * MINOR for file memory): anonymous private memory, a shmem memfd mapped
 * MAP_SHARED and another mapped MAP_PRIVATE (NPAGES pages each), and, when
 * the kernel has the huge pages, a hugetlb memfd mapped MAP_SHARED and
 * another mapped MAP_PRIVATE (HUGE_NPAGES huge pages each).  Each memfd
 * also has a second, unregistered MAP_SHARED mapping through which the
 * test writes the file behind the registered mapping's back.  Resolver
 * threads (1 to 3, by seed) read the same userfaultfd and answer the
 * faults the way a VMM does (MISSING: UFFDIO_COPY of the page's expected
 * bytes; MINOR: UFFDIO_CONTINUE; WP: un-protect), keeping the protection
 * when the model says the page is protected; any of them may take a
 * fault, and one whose fill finds the page already there (EEXIST) wakes
 * the faulting thread instead.  The main thread applies random operations
 * to random runs of 1-4 pages: writes, reads, writes of the file through
 * the second mapping, COPY (with and without MODE_WP), ZEROPAGE,
 * CONTINUE, POISON, WRITEPROTECT on and off, MADV_DONTNEED, MADV_PAGEOUT,
 * punch hole, mprotect, un-register and register again, mremap of a
 * whole region to a spare reserved address (it keeps using the new one),
 * and fork (the child checks what it inherits).  Every other triple of
 * seeds enables UFFD_FEATURE_EVENT_FORK and UFFD_FEATURE_EVENT_REMAP:
 * then each mremap must be reported by a UFFD_EVENT_REMAP that says
 * where the pages went, and they keep their uffd-wp bits and markers;
 * each fork by a UFFD_EVENT_FORK whose new userfaultfd a resolver thread
 * serves while the child, still registered, checks its uffd-wp bits and
 * faults its pages in through it.  Without the events, an mremap leaves
 * the region unregistered with its uffd-wp state dropped (the test
 * registers it again), and the child inherits no registration.
 *
 * A MAP_PRIVATE page of a file is the file's page until the mapping gets
 * its own: a write copies it, and COPY and ZEROPAGE fill the mapping with
 * anonymous pages (or the zero page) without touching the file; CONTINUE
 * maps the file's page without write permission, so that a later write
 * copies it; MADV_DONTNEED drops the mapping's own page and the file's
 * page shows again; punch hole takes the file's page, and on shmem leaves
 * the mapping's own page (but not the zero page), on hugetlb takes that
 * too.  The model keeps both: the file's bytes and the mapping's own.
 *
 * The model predicts:
 *   - the result of every ioctl (the count, EEXIST, EFAULT, EAGAIN,
 *     ENOENT), from its own state and the PTE state pagemap reports
 *     (whether a page is mapped is the kernel's business: reclaim may or
 *     may not unmap);
 *   - the fault messages of every access (missing, minor, write-protect):
 *     a write to a protected page must raise its write-protect message;
 *   - the bytes every read returns, and SIGBUS for poisoned pages;
 *   - after every operation, the uffd-wp bit of every page (pagemap), and
 *     whether a mapped page of a MAP_PRIVATE file mapping is the file's
 *     page or the mapping's own (pagemap's "file" bit).
 * On the first mismatch it prints the seed, the operation and the last
 * operations on the page, and stops.
 *
 *   uffd-shadow-stress [-q] [-s first_seed] [-n seeds] [-o ops_per_seed]
 * make test runs 4 seeds of 2000 operations; Documentation/tests.rst says
 * how to run the long soak.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define NPAGES		16	/* pages of a region (hugetlb: HUGE_NPAGES) */
#define HUGE_NPAGES	4
#define HISTORY		6
#define NRING		4096
#define MAX_RESOLVERS	3

enum region { ANON, SHMEM, SHMEM_PRIVATE, HUGETLB, HUGETLB_PRIVATE, NR_REGIONS };
static const char *const region_name[] = {
	"anon", "shmem", "private shmem", "hugetlb", "private hugetlb",
};

static bool is_huge(enum region r)
{
	return r == HUGETLB || r == HUGETLB_PRIVATE;
}

/* A file mapped MAP_SHARED: a page is the file's page. */
static bool is_shared(enum region r)
{
	return r == SHMEM || r == HUGETLB;
}

/* A file mapped MAP_PRIVATE: a page is the file's until the mapping has its own. */
static bool is_cow(enum region r)
{
	return r == SHMEM_PRIVATE || r == HUGETLB_PRIVATE;
}

/* What the model knows of one page. */
struct page_model {
	uint8_t tag;		/* every byte (0: zeroes); MAP_PRIVATE file: of its own page */
	uint8_t ftag;		/* MAP_PRIVATE file: every byte of the file's page */
	bool cached;		/* anon: populated (mapped or swapped); file: in the file */
	bool own;		/* MAP_PRIVATE file: the mapping has its own (anon or zero) page */
	bool zero;		/* ... and it is the zero page */
	bool wp;		/* uffd-wp: the pagemap bit, and writes raise messages */
	bool poison;		/* a UFFDIO_POISON marker */
	int hist[HISTORY];	/* the last operations on the page (indexes) */
	int nhist;
};

/*
 * Faults the resolvers took, per page and kind.  In memory shared with the
 * child of a fork, whose faults (with EVENT_FORK) the parent's threads
 * resolve.
 */
struct fault_count {
	atomic_int missing, minor, wpfault;
};

static struct fault_count (*counts)[NPAGES];

static struct {
	char *base[NR_REGIONS];
	char *spare[NR_REGIONS];	/* reserved PROT_NONE, where an mremap moves the region */
	char *alias[NR_REGIONS];	/* file: an unregistered MAP_SHARED mapping of it */
	size_t ps[NR_REGIONS];	/* page size, bytes */
	int np[NR_REGIONS];	/* pages */
	int memfd[NR_REGIONS];	/* file regions */
	bool have[NR_REGIONS];
	enum region avail[NR_REGIONS], avail_file[NR_REGIONS];
	int navail, navail_file;
	size_t maxps;		/* the largest page size of the regions */
	int uffd;
	int nresolvers;
	bool events;		/* UFFD_FEATURE_EVENT_FORK and _REMAP */
	int stop[2];		/* a pipe: the resolvers stop when it is readable */
	struct page_model page[NR_REGIONS][NPAGES];
	char *buf;		/* 4 pages of any size: the main thread's COPY source */
	atomic_int fork_ufd;	/* the userfaultfd of a UFFD_EVENT_FORK, or -1 */
	/* The last UFFD_EVENT_REMAP */
	atomic_int remap_seen;
	unsigned long long remap_from, remap_to, remap_len;
	atomic_int raced;	/* faults found resolved already (EEXIST) */
	unsigned long long seed;
	int op;			/* index of the operation being done */
	char failure[256];
	/* The last NRING operations: index and description */
	struct {
		int op;
		char desc[64];
	} ring[NRING];
} st;

static int pagemap_fd;

/* xorshift64*: the whole run follows from the seed. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545F4914F6CDD1DULL;
}

static unsigned int rnd_below(unsigned int n)
{
	return rnd() % n;
}

static char *addr_of(enum region r, int i)
{
	return st.base[r] + i * st.ps[r];
}

/* The first failure of the run: kept, the rest ignored. */
__printf(1, 2)
static void mismatch(const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	va_list ap;

	pthread_mutex_lock(&lock);
	if (!st.failure[0]) {
		va_start(ap, fmt);
		vsnprintf(st.failure, sizeof(st.failure), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&lock);
}

/*
 * A resolver could not go on: the faulting thread would wait for ever, so
 * report from here and end the program (its exit status fails the test).
 */
static void resolver_failed(const char *what)
{
	ksft_print_msg("seed %llu, operation %d: resolver: %s: %s\n", st.seed, st.op, what,
		       strerror(errno));
	ksft_test_result_fail("seed %llu: the resolver could not resolve a fault\n", st.seed);
	fflush(stdout);
	_exit(1);
}

static void fill_page(char *p, uint8_t tag, size_t size)
{
	memset(p, tag, size);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The page a fault address falls in, or -1 (region in *@r). */
static int page_at(unsigned long addr, enum region *r)
{
	for (*r = ANON; *r < NR_REGIONS; (*r)++) {
		unsigned long b = (unsigned long)st.base[*r];

		if (st.have[*r] && addr >= b && addr < b + st.np[*r] * st.ps[*r])
			return (addr - b) / st.ps[*r];
	}
	return -1;
}

/*
 * A resolving ioctl; EAGAIN (the mappings are changing under an event)
 * is tried again for a while.
 */
static int resolve_ioctl(int uffd, unsigned long req, void *arg)
{
	for (int tries = 0;; tries++) {
		int rc = ioctl(uffd, req, arg);

		if (!rc || errno != EAGAIN || tries == 1000)
			return rc;
		usleep(1000);
	}
}

/*
 * Resolves one fault through @uffd (the test's, or a child's after
 * EVENT_FORK) as the model says, counting it before the ioctl that wakes
 * the faulting thread.  A fill that finds the page there already
 * (EEXIST: another resolver took the same fault) wakes the thread
 * instead and is not counted.
 */
static void resolve_fault(int uffd, const struct uffd_msg *msg, char *buf)
{
	unsigned long flags = msg->arg.pagefault.flags;
	struct page_model *m;
	struct fault_count *c;
	atomic_int *kind;
	unsigned long addr;
	enum region r;
	int i, rc;

	i = page_at(msg->arg.pagefault.address, &r);
	if (i < 0) {
		errno = EFAULT;
		resolver_failed("a fault outside the regions");
	}
	addr = (unsigned long)addr_of(r, i);
	m = &st.page[r][i];
	c = &counts[r][i];
	if (flags & UFFD_PAGEFAULT_FLAG_WP) {
		struct uffdio_writeprotect w = {
			.range = { .start = addr, .len = st.ps[r] },
		};

		kind = &c->wpfault;
		atomic_fetch_add(kind, 1);
		rc = resolve_ioctl(uffd, UFFDIO_WRITEPROTECT, &w);
	} else if (flags & UFFD_PAGEFAULT_FLAG_MINOR) {
		struct uffdio_continue cont = {
			.range = { .start = addr, .len = st.ps[r] },
			.mode = m->wp ? UFFDIO_CONTINUE_MODE_WP : 0,
		};

		kind = &c->minor;
		atomic_fetch_add(kind, 1);
		rc = resolve_ioctl(uffd, UFFDIO_CONTINUE, &cont);
	} else {
		struct uffdio_copy copy = {
			.dst = addr, .src = (unsigned long)buf, .len = st.ps[r],
			.mode = m->wp ? UFFDIO_COPY_MODE_WP : 0,
		};

		kind = &c->missing;
		atomic_fetch_add(kind, 1);
		fill_page(buf, m->tag, st.ps[r]);
		rc = resolve_ioctl(uffd, UFFDIO_COPY, &copy);
	}
	if (rc && errno == EEXIST && !(flags & UFFD_PAGEFAULT_FLAG_WP)) {
		struct uffdio_range range = { .start = addr, .len = st.ps[r] };

		atomic_fetch_sub(kind, 1);
		atomic_fetch_add(&st.raced, 1);
		rc = ioctl(uffd, UFFDIO_WAKE, &range);
	}
	if (rc)
		resolver_failed(flags & UFFD_PAGEFAULT_FLAG_WP ? "un-protect" :
				flags & UFFD_PAGEFAULT_FLAG_MINOR ? "CONTINUE" : "COPY");
}

struct resolver_arg {
	int uffd;
	int stop;		/* readable: stop */
	char *buf;		/* st.maxps bytes, for COPY */
	pthread_t thread;
};

/*
 * A resolver thread: takes messages from its userfaultfd, which other
 * threads read too, until its stop pipe is readable.  It must not take a
 * lock that fork() holds (malloc's, through glibc's fork handlers): with
 * EVENT_FORK the forking thread holds them until a resolver has read the
 * UFFD_EVENT_FORK.  So its buffer comes from its creator.
 */
static void *resolver(void *arg)
{
	struct resolver_arg *a = arg;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = a->stop, .events = POLLIN },
			{ .fd = a->uffd, .events = POLLIN },
		};
		struct uffd_msg msg;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			resolver_failed("poll");
		}
		if (pfd[0].revents)
			break;
		if (pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			errno = EIO;
			resolver_failed("poll of the userfaultfd");
		}
		if (!(pfd[1].revents & POLLIN))
			continue;
		if (read(a->uffd, &msg, sizeof(msg)) != sizeof(msg)) {
			if (errno == EAGAIN)	/* another thread took it */
				continue;
			resolver_failed("read");
		}
		switch (msg.event) {
		case UFFD_EVENT_PAGEFAULT:
			resolve_fault(a->uffd, &msg, a->buf);
			break;
		case UFFD_EVENT_FORK:
			if (!st.events)
				mismatch("UFFD_EVENT_FORK without EVENT_FORK");
			atomic_store(&st.fork_ufd, (int)msg.arg.fork.ufd);
			break;
		case UFFD_EVENT_REMAP:
			if (!st.events)
				mismatch("UFFD_EVENT_REMAP without EVENT_REMAP");
			st.remap_from = msg.arg.remap.from;
			st.remap_to = msg.arg.remap.to;
			st.remap_len = msg.arg.remap.len;
			atomic_store(&st.remap_seen, 1);
			break;
		default:
			mismatch("unexpected event %u", msg.event);
			break;
		}
	}
	return NULL;
}

/* One entry per base page, whatever maps it; vm_util exits if unreadable */
static uint64_t pagemap_of(enum region r, int i)
{
	return pagemap_get_entry(pagemap_fd, addr_of(r, i));
}

/*
 * The pagemap entries of every page of @r (of a huge page: of its first
 * base page), in one read where it can.
 */
static void pagemap_region(enum region r, uint64_t *e)
{
	static uint64_t all[HUGE_NPAGES * 512 > NPAGES ? HUGE_NPAGES * 512 : NPAGES];
	size_t per = st.ps[r] / getpagesize(), n = st.np[r] * per * sizeof(*e);
	off_t off = (uintptr_t)st.base[r] / getpagesize() * sizeof(*e);

	if (n > sizeof(all)) {		/* huge pages larger than 2 MB */
		for (int i = 0; i < st.np[r]; i++)
			e[i] = pagemap_of(r, i);
		return;
	}
	if (pread(pagemap_fd, all, n, off) != (ssize_t)n)
		ksft_exit_fail_msg("pagemap: %s\n", strerror(errno));
	for (int i = 0; i < st.np[r]; i++)
		e[i] = all[i * per];
}

/*
 * Whether COPY, ZEROPAGE or CONTINUE finds the page's PTE in use (EEXIST):
 * a page or a swap entry.  Markers (uffd-wp or poison) count as none and
 * are replaced.  pagemap reports markers as swap entries; the model tells
 * them apart: anon has no uffd-wp markers here, shared shmem no swap PTEs,
 * a MAP_PRIVATE file mapping has a swap PTE only for a page of its own,
 * and hugetlb's pagemap shows no swap at all.
 */
static bool pte_blocks_fill(enum region r, int i)
{
	struct page_model *m = &st.page[r][i];
	uint64_t e = pagemap_of(r, i);

	if (e & PM_PRESENT)
		return true;
	if (!(e & PM_SWAP))
		return false;
	return r == ANON ? !m->poison : is_cow(r) && m->own;
}

/*
 * Whether POISON (and ZEROPAGE into private memory) find the PTE in use:
 * anything but none, markers too.
 */
static bool pte_blocks_poison(enum region r, int i)
{
	struct page_model *m = &st.page[r][i];

	/* hugetlb's pagemap does not report markers: the model knows them */
	if (is_huge(r))
		return (pagemap_of(r, i) & PM_PRESENT) || m->wp || m->poison;
	return pagemap_of(r, i) & (PM_PRESENT | PM_SWAP);
}

static void note(enum region r, int i)
{
	struct page_model *m = &st.page[r][i];

	m->hist[m->nhist++ % HISTORY] = st.op;
}

/* The bytes a read of a page returns once it is mapped. */
static uint8_t expected_tag(enum region r, const struct page_model *m)
{
	return is_cow(r) && !m->own && m->cached ? m->ftag : m->tag;
}

/* --- operations ------------------------------------------------------- */

/*
 * An access to page @i: a write of @tag, or a read.  Predicts the faults
 * the resolvers must see and the bytes read.  A page not mapped faults as
 * missing or minor unless it is anon and populated (maybe swapped), or
 * the MAP_PRIVATE file mapping's own (maybe swapped).
 */
static void access_page(enum region r, int i, bool write, uint8_t tag)
{
	struct page_model *m = &st.page[r][i];
	struct fault_count *c = &counts[r][i];
	int missing = c->missing, minor = c->minor, wpfault = c->wpfault;
	bool mapped = pagemap_of(r, i) & PM_PRESENT;
	int want_missing = 0, want_minor = 0, want_wp = 0;
	uint8_t want = expected_tag(r, m);
	volatile char *p = addr_of(r, i);
	size_t ps = st.ps[r];

	if (m->poison) {
		if (!(write ? write_sigbus(p, tag) : read_sigbus(p)))
			mismatch("%s of a poisoned page did not raise SIGBUS",
				 write ? "a write" : "a read");
		return;
	}
	if (r == ANON) {
		want_missing = !m->cached;
	} else if (is_cow(r) ? !m->own && !mapped : !mapped) {
		want_missing = !m->cached;
		want_minor = m->cached;
	}
	want_wp = write && m->wp;
	if (write) {
		p[0] = tag;
		p[ps - 1] = tag;
		memset((char *)p + 1, tag, ps - 2);
		m->tag = tag;
		m->wp = false;
	} else if (p[0] != (char)want || p[ps - 1] != (char)want) {
		mismatch("read %#x..%#x, the model says %#x", (uint8_t)p[0],
			 (uint8_t)p[ps - 1], want);
	}
	if (!is_cow(r)) {
		m->cached = true;
	} else if (write || want_missing) {
		/* a copy of the file's page, or the resolver's COPY */
		m->own = true;
		m->zero = false;
	}
	if (c->missing - missing != want_missing || c->minor - minor != want_minor ||
	    c->wpfault - wpfault != want_wp)
		mismatch("faults missing/minor/wp %d/%d/%d, the model says %d/%d/%d",
			 c->missing - missing, c->minor - minor, c->wpfault - wpfault,
			 want_missing, want_minor, want_wp);
}

/*
 * Writes @tag into the file under pages @i to @i + @n - 1, through the
 * second mapping: no fault, whatever the registered mapping's PTEs say.
 */
static void file_write(enum region r, int i, int n, uint8_t tag)
{
	for (int k = 0; k < n; k++) {
		struct page_model *m = &st.page[r][i + k];

		fill_page(st.alias[r] + (i + k) * st.ps[r], tag, st.ps[r]);
		m->cached = true;
		if (is_cow(r))
			m->ftag = tag;
		else
			m->tag = tag;
	}
}

/*
 * The VMAs over [@a, @a + @len), from /proc/self/maps: their parts in the
 * range in @piece (at most @max), their number; -1 if the range has a hole.
 */
static int vmas_of(unsigned long a, unsigned long len, unsigned long (*piece)[2], int max)
{
	unsigned long start, end, at = a;
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f) {
		mismatch("/proc/self/maps: %s", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) && at < a + len) {
		if (sscanf(line, "%lx-%lx", &start, &end) != 2 || end <= at)
			continue;
		if (start > at || n == max) {
			n = -1;
			break;
		}
		piece[n][0] = at;
		piece[n][1] = end < a + len ? end : a + len;
		at = piece[n++][1];
	}
	fclose(f);
	return at < a + len ? -1 : n;
}

/*
 * Whether pages @i to @i + @n - 1 of @r lie in one VMA.  An mprotect() of
 * part of a region splits its VMA, and 6.12 does not always merge the
 * pieces back when the protection is restored (an anon piece that got its
 * own anon_vma stays apart), so the model asks the kernel's own map
 * rather than assume either.
 */
static bool one_vma(enum region r, int i, int n)
{
	unsigned long piece[1][2];

	return vmas_of((unsigned long)addr_of(r, i), n * st.ps[r], piece, 1) == 1;
}

/*
 * Checks what an ioctl over @n pages of @r gave against the model: @done
 * pages filled, then @err.
 */
static void check_result(const char *what, enum region r, int rc, long long result, int n,
			 int done, int err)
{
	long long want = done ? (long long)(done * st.ps[r]) : -(long long)err;
	int want_rc = done == n ? 0 : -1;
	int want_errno = done == n ? 0 : done ? EAGAIN : err;

	if (rc != want_rc || (rc && errno != want_errno) || result != want)
		mismatch("%s: rc %d errno %d result %lld, %s rc %d errno %d result %lld",
			 what, rc, rc ? errno : 0, result, "the model says", want_rc,
			 want_errno, want);
}

/*
 * Whether COPY (@zeropage: ZEROPAGE) stops at page @i with EEXIST.  In a
 * MAP_SHARED file, when the file has the page (a marker is replaced).  In
 * private memory, anon or a MAP_PRIVATE file, the file does not matter
 * (the fill makes an anonymous page, or maps the zero page): the PTE
 * does; COPY replaces a marker, ZEROPAGE does not.
 */
static bool fill_blocked(enum region r, int i, bool zeropage)
{
	if (is_shared(r))
		return st.page[r][i].cached;
	return zeropage ? pte_blocks_poison(r, i) : pte_blocks_fill(r, i);
}

/* COPY (@zeropage: ZEROPAGE, which hugetlb has not) of @n pages at @i. */
static void fill(enum region r, int i, int n, bool zeropage, bool wp, uint8_t tag)
{
	unsigned long dst = (unsigned long)addr_of(r, i);
	size_t ps = st.ps[r];
	char *src = st.buf;
	long long result;
	int rc, done, err = EEXIST;

	for (done = 0; done < n; done++) {
		if (zeropage && is_huge(r)) {
			err = EINVAL;
			break;
		}
		if (fill_blocked(r, i + done, zeropage))
			break;
	}
	/* A fill must lie in one VMA: ENOENT before any page otherwise */
	if (!one_vma(r, i, n)) {
		done = 0;
		err = ENOENT;
	}
	for (int k = 0; k < n; k++)
		fill_page(src + k * ps, tag, ps);
	if (zeropage) {
		struct uffdio_zeropage z = { .range = { .start = dst, .len = n * ps } };

		rc = ioctl(st.uffd, UFFDIO_ZEROPAGE, &z);
		result = z.zeropage;
	} else {
		struct uffdio_copy c = {
			.dst = dst, .src = (unsigned long)src, .len = n * ps,
			.mode = wp ? UFFDIO_COPY_MODE_WP : 0,
		};

		rc = ioctl(st.uffd, UFFDIO_COPY, &c);
		result = c.copy;
	}
	check_result(zeropage ? "ZEROPAGE" : "COPY", r, rc, result, n, done, err);
	for (int k = 0; k < done; k++) {
		struct page_model *m = &st.page[r][i + k];

		if (is_cow(r)) {
			m->own = true;
			m->zero = zeropage;
		} else {
			m->cached = true;
		}
		m->tag = zeropage ? 0 : tag;
		m->wp = wp && !zeropage;
		m->poison = false;
	}
}

/*
 * CONTINUE of @n file pages: EFAULT where the file has no page, EEXIST
 * where the PTE is in use.  In a MAP_PRIVATE mapping it maps the file's
 * page without write permission.
 */
static void cont(enum region r, int i, int n, bool wp)
{
	struct uffdio_continue c = {
		.range = { .start = (unsigned long)addr_of(r, i), .len = n * st.ps[r] },
		.mode = wp ? UFFDIO_CONTINUE_MODE_WP : 0,
	};
	int rc, done, err = 0;

	for (done = 0; done < n; done++) {
		struct page_model *m = &st.page[r][i + done];

		if (!m->cached) {
			err = EFAULT;
			break;
		}
		if (pte_blocks_fill(r, i + done)) {
			err = EEXIST;
			break;
		}
	}
	if (!one_vma(r, i, n)) {
		done = 0;
		err = ENOENT;
	}
	rc = ioctl(st.uffd, UFFDIO_CONTINUE, &c);
	check_result("CONTINUE", r, rc, c.mapped, n, done, err);
	for (int k = 0; k < done; k++) {
		st.page[r][i + k].wp = wp;
		st.page[r][i + k].poison = false;
	}
}

/* POISON of @n pages: EEXIST where the PTE is not none, a marker too. */
static void poison(enum region r, int i, int n)
{
	struct uffdio_poison c = {
		.range = { .start = (unsigned long)addr_of(r, i), .len = n * st.ps[r] },
	};
	int rc, done, err = EEXIST;

	for (done = 0; done < n; done++)
		if (pte_blocks_poison(r, i + done))
			break;
	if (!one_vma(r, i, n)) {
		done = 0;
		err = ENOENT;
	}
	rc = ioctl(st.uffd, UFFDIO_POISON, &c);
	check_result("POISON", r, rc, c.updated, n, done, err);
	for (int k = 0; k < done; k++) {
		st.page[r][i + k].poison = true;
		st.page[r][i + k].wp = false;
	}
}

/*
 * WRITEPROTECT on or off: anon pages get the bit only where populated,
 * file pages everywhere but on poison (a marker where no page is mapped).
 */
static void writeprotect(enum region r, int i, int n, bool on)
{
	if (uffd_writeprotect(st.uffd, addr_of(r, i), n * st.ps[r], on))
		mismatch("WRITEPROTECT %s: %s", on ? "on" : "off", strerror(errno));
	for (int k = 0; k < n; k++) {
		struct page_model *m = &st.page[r][i + k];

		if (!on)
			m->wp = false;
		else if (!m->poison && (r != ANON || m->cached))
			m->wp = true;
	}
}

/*
 * MADV_DONTNEED: anon pages are gone with their bit and poison.  File
 * pages stay in the file and their bit is kept in a marker, whether the
 * PTE mapped the file's page or the mapping's own (which is gone); poison
 * is dropped (the zap drops it as it drops a private page).
 */
static void dontneed(enum region r, int i, int n)
{
	if (madvise(addr_of(r, i), n * st.ps[r], MADV_DONTNEED))
		mismatch("MADV_DONTNEED: %s", strerror(errno));
	for (int k = 0; k < n; k++) {
		struct page_model *m = &st.page[r][i + k];

		m->poison = false;
		if (r == ANON) {
			m->tag = 0;
			m->cached = false;
			m->wp = false;
		} else if (is_cow(r)) {
			m->own = false;
			m->zero = false;
			m->tag = 0;
		}
	}
}

/*
 * MADV_PAGEOUT: nothing the model sees changes (bits live in swap PTEs or
 * markers); hugetlb cannot be paged out (EINVAL).
 */
static void pageout(enum region r, int i, int n)
{
	int rc = madvise(addr_of(r, i), n * st.ps[r], MADV_PAGEOUT);

	if (is_huge(r) ? !(rc && errno == EINVAL) : rc != 0)
		mismatch("MADV_PAGEOUT: %s", rc ? strerror(errno) : "succeeded");
}

/*
 * Punch hole: the file loses the pages; uffd-wp bits stay (as markers).
 * shmem unmaps only the file's pages and the zero page, never a private
 * copy (mapped or swapped), and keeps poison; hugetlb's zap takes
 * everything in the range, private copies and poison too.
 */
static void punch(enum region r, int i, int n)
{
	if (fallocate(st.memfd[r], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      i * st.ps[r], n * st.ps[r]))
		mismatch("punch hole: %s", strerror(errno));
	for (int k = 0; k < n; k++) {
		struct page_model *m = &st.page[r][i + k];

		m->cached = false;
		if (is_cow(r))
			m->ftag = 0;
		else
			m->tag = 0;
		if (is_huge(r))
			m->poison = false;
		if (is_cow(r) && (is_huge(r) || m->zero)) {
			m->own = false;
			m->zero = false;
			m->tag = 0;
		}
	}
}

/* MISSING and WP, and MINOR for file memory. */
static int register_region(enum region r)
{
	return uffd_register(st.uffd, st.base[r], st.np[r] * st.ps[r], true, true, r != ANON);
}

/* Un-register the whole region and register it again: protection is gone. */
static void reregister(enum region r)
{
	size_t len = st.np[r] * st.ps[r];

	if (uffd_unregister(st.uffd, st.base[r], len) || register_region(r))
		mismatch("re-register: %s", strerror(errno));
	for (int i = 0; i < st.np[r]; i++)
		st.page[r][i].wp = false;
}

/* Read-only for a while (reads checked), then read-write again. */
static void mprotect_ro(enum region r, int i, int n)
{
	if (mprotect(addr_of(r, i), n * st.ps[r], PROT_READ))
		mismatch("mprotect(PROT_READ): %s", strerror(errno));
	for (int j = 0; j < n && !st.failure[0]; j++)
		access_page(r, i + j, false, 0);
	if (mprotect(addr_of(r, i), n * st.ps[r], PROT_READ | PROT_WRITE))
		mismatch("mprotect(PROT_READ | PROT_WRITE): %s", strerror(errno));
}

/* Waits up to @s seconds for @v to become non-zero; its value. */
static int wait_for(atomic_int *v, double s)
{
	double end = now_s() + s;
	int x;

	while (!(x = atomic_load(v)) && now_s() < end)
		sched_yield();
	return x;
}

/*
 * mremap of the whole region to its spare address, one VMA at a time (an
 * mprotect may have split it): the PTEs move, uffd-wp bits and markers
 * (uffd-wp and poison) with them.  With EVENT_REMAP each move is reported
 * (from, to, len: mremap waits until a resolver read it) and the
 * registration moves along.  Without it the moved VMAs are not
 * registered and lost their uffd-wp state; the test registers the
 * region again.  The old range is reserved again as the next spare.
 */
static void move_region(enum region r)
{
	unsigned long piece[NPAGES][2];
	unsigned long from = (unsigned long)st.base[r], to = (unsigned long)st.spare[r];
	size_t len = st.np[r] * st.ps[r];
	int n = vmas_of(from, len, piece, NPAGES);

	if (n < 0) {
		mismatch("mremap: the region has a hole");
		return;
	}
	for (int k = 0; k < n && !st.failure[0]; k++) {
		unsigned long s = piece[k][0], l = piece[k][1] - s, d = to + (s - from);
		void *p;

		atomic_store(&st.remap_seen, 0);
		p = mremap((void *)s, l, l, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)d);
		if (p != (void *)d) {
			mismatch("mremap of %#lx-%#lx: %s", s, s + l,
				 p == MAP_FAILED ? strerror(errno) : "moved elsewhere");
			return;
		}
		if (!st.events)
			continue;
		if (!wait_for(&st.remap_seen, 10))
			mismatch("mremap: no UFFD_EVENT_REMAP");
		else if (st.remap_from != s || st.remap_to != d || st.remap_len != l)
			mismatch("UFFD_EVENT_REMAP from %#llx to %#llx len %#llx, the model says %#lx %#lx %#lx",
				 st.remap_from, st.remap_to, st.remap_len, s, d, l);
	}
	if (mmap((void *)from, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
		 -1, 0) != (void *)from)
		mismatch("mremap: reserving the old range: %s", strerror(errno));
	st.base[r] = (char *)to;
	st.spare[r] = (char *)from;
	if (st.events)
		return;
	if (register_region(r))
		mismatch("register after mremap: %s", strerror(errno));
	for (int i = 0; i < st.np[r]; i++)
		st.page[r][i].wp = false;
}

/*
 * The uffd-wp bit of every page is the model's, and a mapped page of a
 * MAP_PRIVATE file mapping is the file's page exactly when the model says
 * the mapping has none of its own (pagemap's file bit: the zero page and
 * anonymous pages have it clear).
 */
static void check_pages(void)
{
	uint64_t e[NPAGES];

	for (enum region r = ANON; r < NR_REGIONS && !st.failure[0]; r++) {
		if (!st.have[r])
			continue;
		pagemap_region(r, e);
		for (int i = 0; i < st.np[r] && !st.failure[0]; i++) {
			struct page_model *m = &st.page[r][i];
			bool bit = e[i] & PM_UFFD_WP;

			if (bit != m->wp)
				mismatch("%s page %d: pagemap uffd-wp %d, the model says %d",
					 region_name[r], i, bit, m->wp);
			else if (is_cow(r) && (e[i] & PM_PRESENT) && !(e[i] & PM_FILE) != m->own)
				mismatch("%s page %d: the mapped page is %s, the model says %s",
					 region_name[r], i, e[i] & PM_FILE ? "the file's" : "its own",
					 m->own ? "its own" : "the file's");
		}
	}
}

/*
 * In the child of a fork: page @i of @r as the model predicts it.  Pages
 * whose access would fill a hole of a file, or take a huge page, are
 * skipped.
 */
static void child_page(enum region r, int i)
{
	struct page_model *m = &st.page[r][i];
	volatile char *p = addr_of(r, i);
	size_t ps = st.ps[r];
	uint8_t want;

	if (m->poison && (st.events || !is_shared(r))) {
		if (!read_sigbus(p))
			mismatch("a read of a poisoned page did not raise SIGBUS");
		return;
	}
	if (st.events) {
		if (is_shared(r) ? !m->cached : r == HUGETLB_PRIVATE && !m->own && !m->cached)
			return;
		access_page(r, i, false, 0);
		if (!st.failure[0] && (r == ANON || r == SHMEM_PRIVATE))
			access_page(r, i, true, 1 + rnd_below(254));
		return;
	}
	if (r != ANON && !(is_cow(r) && m->own) && !m->cached)
		return;
	want = expected_tag(r, m);
	if (p[0] != (char)want || p[ps - 1] != (char)want)
		mismatch("read %#x..%#x, the model says %#x", (uint8_t)p[0], (uint8_t)p[ps - 1],
			 want);
}

/*
 * In the child of a fork: the checks, then _exit() with the verdict.
 * Without EVENT_FORK nothing is registered in the child and no uffd-wp
 * state is inherited: anon and MAP_PRIVATE file mappings (which have an
 * anon_vma from the setup, so fork copies their page tables) come with
 * their pages and poison; MAP_SHARED ones are not copied at all, the child
 * reads the file, poisoned or not.  With EVENT_FORK every page table is
 * copied with its uffd-wp bits and markers, and the child's faults go to
 * the new userfaultfd, which the parent's resolver serves: the child reads
 * each page (and writes the private small ones) as the parent would.
 * Pages whose access would fill a hole of the file, or take a huge page,
 * are skipped.
 */
static __noreturn void child_checks(void)
{
	const char *where = "its pagemap";
	char page[64];

	close(pagemap_fd);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		mismatch("pagemap: %s", strerror(errno));
	for (enum region r = ANON; r < NR_REGIONS && !st.events; r++)
		for (int i = 0; i < NPAGES; i++)
			st.page[r][i].wp = false;
	if (!st.failure[0])
		check_pages();
	for (enum region r = ANON; r < NR_REGIONS && !st.failure[0]; r++) {
		for (int i = 0; st.have[r] && i < st.np[r] && !st.failure[0]; i++) {
			child_page(r, i);
			snprintf(page, sizeof(page), "%s page %d", region_name[r], i);
			where = page;
		}
	}
	if (!st.failure[0]) {
		where = "its pagemap";
		check_pages();
	}
	if (st.failure[0]) {
		ksft_print_msg("the child of the fork (%s): %s\n", where, st.failure);
		fflush(stdout);
		_exit(1);
	}
	_exit(0);
}

/*
 * fork(), and the child checks what it inherits.  With EVENT_FORK, fork()
 * returns once a resolver read the UFFD_EVENT_FORK; a thread serves the
 * child's userfaultfd until the child is gone.
 */
static void fork_check(void)
{
	struct resolver_arg child = { .uffd = -1, .stop = -1, .buf = malloc(st.maxps) };
	int stop[2] = { -1, -1 };
	bool serving = false;
	int status = 0;
	pid_t pid;

	fflush(stdout);
	atomic_store(&st.fork_ufd, -1);
	pid = fork();
	if (pid < 0) {
		mismatch("fork: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		child_checks();
	if (st.events) {
		double end = now_s() + 10;

		while ((child.uffd = atomic_load(&st.fork_ufd)) < 0 && now_s() < end)
			sched_yield();
		if (child.uffd < 0) {
			mismatch("fork: no UFFD_EVENT_FORK");
			kill(pid, SIGKILL);
		} else if (!child.buf || pipe(stop)) {
			mismatch("pipe or malloc: %s", strerror(errno));
			kill(pid, SIGKILL);
		} else {
			child.stop = stop[0];
			serving = !pthread_create(&child.thread, NULL, resolver, &child);
			if (!serving) {
				mismatch("pthread_create failed");
				kill(pid, SIGKILL);
			}
		}
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		mismatch("the child of a fork saw what the model did not (status %#x)", status);
	if (serving) {
		if (write(stop[1], "", 1) != 1)
			resolver_failed("stopping the child's resolver");
		pthread_join(child.thread, NULL);
	}
	if (stop[0] >= 0) {
		close(stop[0]);
		close(stop[1]);
	}
	if (child.uffd >= 0)
		close(child.uffd);
	free(child.buf);
	atomic_store(&st.fork_ufd, -1);
}

enum opkind {
	O_WRITE, O_READ, O_FILE_WRITE, O_COPY, O_COPY_WP, O_ZEROPAGE, O_CONTINUE,
	O_CONTINUE_WP, O_POISON, O_WP_ON, O_WP_OFF, O_DONTNEED, O_PAGEOUT, O_PUNCH,
	O_MPROTECT, O_REREGISTER, O_MREMAP, O_FORK, NR_OPKIND,
};

static const char *const opkind_name[] = {
	"write", "read", "file write", "COPY", "COPY(WP)", "ZEROPAGE", "CONTINUE",
	"CONTINUE(WP)", "POISON", "WRITEPROTECT", "un-protect", "MADV_DONTNEED",
	"MADV_PAGEOUT", "punch hole", "mprotect", "re-register", "mremap", "fork",
};

static void do_op(enum opkind k, enum region r, int i, int n)
{
	uint8_t tag = 1 + rnd_below(254);

	switch (k) {
	case O_WRITE:
	case O_READ:
		for (int j = 0; j < n && !st.failure[0]; j++)
			access_page(r, i + j, k == O_WRITE, tag);
		break;
	case O_FILE_WRITE:
		file_write(r, i, n, tag);
		break;
	case O_COPY:
	case O_COPY_WP:
	case O_ZEROPAGE:
		fill(r, i, n, k == O_ZEROPAGE, k == O_COPY_WP, tag);
		break;
	case O_CONTINUE:
	case O_CONTINUE_WP:
		cont(r, i, n, k == O_CONTINUE_WP);
		break;
	case O_POISON:
		poison(r, i, n);
		break;
	case O_WP_ON:
	case O_WP_OFF:
		writeprotect(r, i, n, k == O_WP_ON);
		break;
	case O_DONTNEED:
		dontneed(r, i, n);
		break;
	case O_PAGEOUT:
		pageout(r, i, n);
		break;
	case O_PUNCH:
		punch(r, i, n);
		break;
	case O_MPROTECT:
		mprotect_ro(r, i, n);
		break;
	case O_REREGISTER:
		reregister(r);
		break;
	case O_MREMAP:
		move_region(r);
		break;
	default:
		fork_check();
		break;
	}
}

static const char *desc_of(int op)
{
	return st.ring[op % NRING].op == op ? st.ring[op % NRING].desc : "?";
}

static void report(enum region r, int i)
{
	struct page_model *m = &st.page[r][i];

	ksft_print_msg("seed %llu (%d resolvers, events %s), operation %d (%s): %s\n", st.seed,
		       st.nresolvers, st.events ? "on" : "off", st.op, desc_of(st.op),
		       st.failure);
	ksft_print_msg("the model of %s page %d: tag %#x file %#x cached %d own %d zero %d wp %d poison %d\n",
		       region_name[r], i, m->tag, m->ftag, m->cached, m->own, m->zero, m->wp,
		       m->poison);
	for (int h = m->nhist > HISTORY ? m->nhist - HISTORY : 0; h < m->nhist; h++) {
		int op = m->hist[h % HISTORY];

		ksft_print_msg("  earlier on it: operation %d: %s\n", op, desc_of(op));
	}
}

/* A PROT_NONE reservation of @len bytes aligned to @align, or NULL. */
static char *reserve(size_t len, size_t align)
{
	char *p = mmap(NULL, len + align, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1);
	if (a > (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + align > a)
		munmap((char *)a + len, (uintptr_t)p + align - a);
	return (char *)a;
}

/*
 * Maps region @r with its spare reservation and, for a file, the memfd
 * and its second mapping; registers it.  A private mapping gets its
 * anon_vma here (a COPY into page 0, dropped again), so that fork()
 * always copies its page tables.
 */
static int map_region(enum region r)
{
	bool huge = is_huge(r);
	size_t ps = huge ? default_huge_page_size() : (size_t)getpagesize();
	int np = huge ? HUGE_NPAGES : NPAGES;
	size_t len = np * ps;
	int flags = r == ANON ? MAP_PRIVATE | MAP_ANONYMOUS :
		    is_cow(r) ? MAP_PRIVATE : MAP_SHARED;

	st.np[r] = np;
	st.ps[r] = ps;
	if (r != ANON) {
		st.memfd[r] = memfd_create("uffd-shadow-stress",
					   MFD_CLOEXEC | (huge ? MFD_HUGETLB : 0));
		if (st.memfd[r] < 0 || ftruncate(st.memfd[r], len))
			return -1;
		st.alias[r] = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, st.memfd[r], 0);
		if (st.alias[r] == MAP_FAILED) {
			st.alias[r] = NULL;
			return -1;
		}
	}
	st.base[r] = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, st.memfd[r], 0);
	if (st.base[r] == MAP_FAILED) {
		st.base[r] = NULL;
		return -1;
	}
	st.spare[r] = reserve(len, ps);
	if (!st.spare[r])
		return -1;
	if (!huge) {
		madvise(st.base[r], len, MADV_NOHUGEPAGE);
		if (st.alias[r])
			madvise(st.alias[r], len, MADV_NOHUGEPAGE);
	}
	if (register_region(r))
		return -1;
	if (!is_shared(r)) {
		struct uffdio_copy c = {
			.dst = (unsigned long)st.base[r], .src = (unsigned long)st.buf, .len = ps,
		};

		if (ioctl(st.uffd, UFFDIO_COPY, &c) || madvise(st.base[r], ps, MADV_DONTNEED))
			return -1;
	}
	st.have[r] = true;
	st.avail[st.navail++] = r;
	if (r != ANON)
		st.avail_file[st.navail_file++] = r;
	return 0;
}

static void unmap_regions(void)
{
	for (enum region r = ANON; r < NR_REGIONS; r++) {
		size_t len = st.np[r] * st.ps[r];

		if (st.base[r])
			munmap(st.base[r], len);
		if (st.spare[r])
			munmap(st.spare[r], len);
		if (st.alias[r])
			munmap(st.alias[r], len);
		if (st.memfd[r] >= 0)
			close(st.memfd[r]);
	}
}

static uint64_t offered;	/* the features the kernel offers */
static bool events_ok;		/* EVENT_FORK and EVENT_REMAP can be enabled */

/*
 * Maps the regions (@huge: how many of the two hugetlb ones), registers
 * them, starts the resolvers; runs @ops operations.  The seed chooses the
 * number of resolvers (seed % 3 + 1) and the events (on when seed / 3 is
 * odd).
 */
static int run_seed(unsigned long long seed, int ops, int huge)
{
	uint64_t want = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM |
			UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_POISON;
	struct resolver_arg res[MAX_RESOLVERS] = { 0 };
	int started = 0, ok = -1;

	memset(&st, 0, sizeof(st));
	memset(counts, 0, sizeof(*counts) * NR_REGIONS);
	for (enum region r = ANON; r < NR_REGIONS; r++)
		st.memfd[r] = -1;
	st.stop[0] = -1;
	st.stop[1] = -1;
	st.seed = seed;
	rnd_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	st.nresolvers = 1 + seed % MAX_RESOLVERS;
	st.events = events_ok && (seed / MAX_RESOLVERS) % 2;
	if (huge)
		want |= UFFD_FEATURE_MISSING_HUGETLBFS | UFFD_FEATURE_MINOR_HUGETLBFS;
	if (st.events)
		want |= UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP;
	st.maxps = huge ? default_huge_page_size() : (size_t)getpagesize();
	st.buf = calloc(4, st.maxps);
	st.uffd = uffd_open();
	if (!st.buf || st.uffd < 0 || uffd_api(st.uffd, want, NULL) || pipe(st.stop) ||
	    map_region(ANON) || map_region(SHMEM) || map_region(SHMEM_PRIVATE) ||
	    (huge > 0 && map_region(HUGETLB)) || (huge > 1 && map_region(HUGETLB_PRIVATE)))
		goto out;
	for (; started < st.nresolvers; started++) {
		res[started].uffd = st.uffd;
		res[started].stop = st.stop[0];
		res[started].buf = malloc(st.maxps);
		if (!res[started].buf ||
		    pthread_create(&res[started].thread, NULL, resolver, &res[started]))
			goto out;
	}

	for (st.op = 0; st.op < ops && !st.failure[0]; st.op++) {
		enum opkind k = rnd_below(NR_OPKIND);
		enum region r = st.avail[rnd_below(st.navail)];
		int n, i;

		if (r == ANON && (k == O_CONTINUE || k == O_CONTINUE_WP || k == O_PUNCH ||
				  k == O_FILE_WRITE))
			r = st.avail_file[rnd_below(st.navail_file)];
		n = 1 + rnd_below(st.np[r] < 4 ? st.np[r] : 4);
		i = rnd_below(st.np[r] - n + 1);
		/*
		 * hugetlb VMAs never merge: mprotect of a part would split the
		 * region for good, and fills across the split fail (ENOENT)
		 */
		if ((is_huge(r) && k == O_MPROTECT) || k == O_REREGISTER || k == O_MREMAP) {
			i = 0;
			n = st.np[r];
		}
		st.ring[st.op % NRING].op = st.op;
		snprintf(st.ring[st.op % NRING].desc, sizeof(st.ring[0].desc),
			 "%s of %s pages %d-%d", opkind_name[k], region_name[r], i, i + n - 1);
		for (int j = 0; j < n; j++)
			note(r, i + j);
		do_op(k, r, i, n);
		if (!st.failure[0])
			check_pages();
		if (st.failure[0])
			report(r, i);
	}
	ok = !st.failure[0];
	if (atomic_load(&st.raced))
		ksft_print_msg("seed %llu: %d faults were resolved already when a resolver took them\n",
			       seed, atomic_load(&st.raced));
out:
	if (started && write(st.stop[1], "", 1) != 1)
		resolver_failed("stopping the resolvers");
	while (started)
		pthread_join(res[--started].thread, NULL);
	for (int k = 0; k < MAX_RESOLVERS; k++)
		free(res[k].buf);
	if (ok < 0)
		ok = -errno;
	unmap_regions();
	if (st.uffd >= 0)
		close(st.uffd);
	if (st.stop[0] >= 0) {
		close(st.stop[0]);
		close(st.stop[1]);
	}
	free(st.buf);
	return ok;
}

int main(int argc, char **argv)
{
	unsigned long long first = 1;
	int seeds = 4, ops = 2000, c;
	int fd, huge;

	while ((c = getopt(argc, argv, "qs:n:o:")) != -1) {
		switch (c) {
		case 'q':	/* the guest passes it; the output is short anyway */
			break;
		case 's':
			first = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			seeds = atoi(optarg);
			break;
		case 'o':
			ops = atoi(optarg);
			break;
		default:
			ksft_exit_fail_msg("usage: %s [-q] [-s seed] [-n seeds] [-o ops]\n",
					   argv[0]);
		}
	}
	ksft_print_header();
	fd = uffd_open();
	if (fd < 0 || uffd_api(fd, 0, &offered))
		ksft_exit_skip("userfaultfd unavailable\n");
	close(fd);
	if (!(offered & UFFD_FEATURE_WP_HUGETLBFS_SHMEM) || !(offered & UFFD_FEATURE_POISON))
		ksft_exit_skip("write-protect of shmem or POISON not offered\n");
	/* EVENT_FORK needs CAP_SYS_PTRACE */
	fd = uffd_open();
	events_ok = fd >= 0 && !uffd_api(fd, UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP,
					 NULL);
	if (fd >= 0)
		close(fd);
	if (!events_ok)
		ksft_print_msg("EVENT_FORK or EVENT_REMAP refused: every seed runs without\n");
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0 || catch_sigbus())
		ksft_exit_fail_msg("pagemap or sigaction: %s\n", strerror(errno));
	counts = mmap(NULL, sizeof(*counts) * NR_REGIONS, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));

	/*
	 * hugetlb needs its features and free huge pages: HUGE_NPAGES for
	 * the shared region, + 1 for a COPY's temporary page; the private
	 * one adds HUGE_NPAGES for its file and HUGE_NPAGES for its copies.
	 */
	huge = 0;
	if ((offered & UFFD_FEATURE_MISSING_HUGETLBFS) &&
	    (offered & UFFD_FEATURE_MINOR_HUGETLBFS) && default_huge_page_size())
		huge = get_free_hugepages() > 3 * HUGE_NPAGES ? 2 :
		       get_free_hugepages() > HUGE_NPAGES ? 1 : 0;
	if (huge < 2)
		ksft_print_msg("no %shugetlb region: features or free huge pages missing\n",
			       huge ? "private " : "");

	ksft_set_plan(seeds);
	for (int s = 0; s < seeds; s++) {
		unsigned long long seed = first + s;
		int r = run_seed(seed, ops, huge);

		if (r < 0)
			ksft_test_result_fail("seed %llu: setup: %s\n", seed, strerror(-r));
		else
			ksft_test_result(r, "seed %llu: %d operations match the model (%d resolvers, events %s)\n",
					 seed, ops, st.nresolvers, st.events ? "on" : "off");
	}
	finish_tests();
}
