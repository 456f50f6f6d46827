// SPDX-License-Identifier: GPL-2.0
/*
 * Seeded random sequences of userfaultfd operations checked against a
 * shadow model of every page.
 *
 * Three regions, anonymous private and shared shmem of NPAGES pages and
 * shared hugetlb of HUGE_NPAGES huge pages (when the kernel has them), stay
 * registered with one userfaultfd (MISSING | WP, and MINOR for file
 * memory); a resolver thread answers the faults the way a VMM does
 * (MISSING: UFFDIO_COPY of the page's expected bytes; MINOR:
 * UFFDIO_CONTINUE; WP: un-protect), keeping the protection when the model
 * says the page is protected.  The main thread applies random operations
 * to random runs of 1-4 pages: writes, reads, COPY (with and without
 * MODE_WP), ZEROPAGE, CONTINUE, POISON, WRITEPROTECT on and off,
 * MADV_DONTNEED, MADV_PAGEOUT, punch hole, mprotect, un-register and
 * register again, fork (the child checks what it inherits).  The model
 * predicts:
 *   - the result of every ioctl (the count, EEXIST, EFAULT, EAGAIN), from
 *     its own state and the PTE state pagemap reports (whether a page is
 *     mapped is the kernel's business: reclaim may or may not unmap);
 *   - the fault messages of every access (missing, minor, write-protect):
 *     a write to a protected page must raise its write-protect message;
 *   - the bytes every read returns, and SIGBUS for poisoned pages;
 *   - after every operation, the uffd-wp bit of every page (pagemap).
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
#include <pthread.h>
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
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define NPAGES		16	/* pages of a region (hugetlb: HUGE_NPAGES) */
#define HUGE_NPAGES	4
#define HISTORY		6
#define NRING		4096

enum region { ANON, SHMEM, HUGETLB, NR_REGIONS };
static const char *const region_name[] = { "anon", "shmem", "hugetlb" };

/* What the model knows of one page. */
struct page_model {
	uint8_t tag;		/* every byte of the page; 0: zeroes */
	bool cached;		/* anon: populated (mapped or swapped); shmem: in the file */
	bool wp;		/* uffd-wp: the pagemap bit, and writes raise messages */
	bool poison;		/* a UFFDIO_POISON marker */
	/* Faults seen by the resolver, by kind */
	atomic_int missing, minor, wpfault;
	int hist[HISTORY];	/* the last operations on the page (indexes) */
	int nhist;
};

static struct {
	char *base[NR_REGIONS];
	size_t ps[NR_REGIONS];	/* page size, bytes */
	int np[NR_REGIONS];	/* pages */
	int memfd[NR_REGIONS];	/* shmem and hugetlb */
	int nregions;		/* hugetlb last, when the kernel has it */
	int uffd;
	struct page_model page[NR_REGIONS][NPAGES];
	char *buf;		/* one page of any size, the resolver's COPY source */
	atomic_int stop;
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
 * A resolver ioctl failed: the faulting thread would wait for ever, so
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

/* The page a fault address falls in, or -1 (region in *@r). */
static int page_at(unsigned long addr, enum region *r)
{
	for (*r = ANON; (int)*r < st.nregions; (*r)++) {
		unsigned long b = (unsigned long)st.base[*r];

		if (addr >= b && addr < b + st.np[*r] * st.ps[*r])
			return (addr - b) / st.ps[*r];
	}
	return -1;
}

/* The resolver thread: answers each fault as the model says. */
static void *resolver(void *arg)
{
	struct uffd_msg msg;

	(void)arg;
	while (!atomic_load(&st.stop)) {
		int n = uffd_read_msg(st.uffd, &msg, 100), i;
		unsigned long addr;
		struct page_model *m;
		enum region r;

		if (n <= 0)
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT) {
			mismatch("unexpected event %u", msg.event);
			continue;
		}
		i = page_at(msg.arg.pagefault.address, &r);
		if (i < 0) {
			mismatch("fault at %#llx outside the regions", msg.arg.pagefault.address);
			continue;
		}
		addr = (unsigned long)addr_of(r, i);
		m = &st.page[r][i];
		if (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) {
			atomic_fetch_add(&m->wpfault, 1);
			if (uffd_writeprotect(st.uffd, (void *)addr, st.ps[r], 0))
				resolver_failed("un-protect");
		} else if (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR) {
			struct uffdio_continue c = {
				.range = { .start = addr, .len = st.ps[r] },
				.mode = m->wp ? UFFDIO_CONTINUE_MODE_WP : 0,
			};

			atomic_fetch_add(&m->minor, 1);
			if (ioctl(st.uffd, UFFDIO_CONTINUE, &c))
				resolver_failed("CONTINUE");
		} else {
			struct uffdio_copy c = {
				.dst = addr, .src = (unsigned long)st.buf, .len = st.ps[r],
				.mode = m->wp ? UFFDIO_COPY_MODE_WP : 0,
			};

			atomic_fetch_add(&m->missing, 1);
			fill_page(st.buf, m->tag, st.ps[r]);
			if (ioctl(st.uffd, UFFDIO_COPY, &c))
				resolver_failed("COPY");
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
 * Whether COPY, ZEROPAGE or CONTINUE finds the page's PTE in use (EEXIST):
 * a page or a swap entry.  Markers (uffd-wp or poison) count as none and
 * are replaced.  pagemap reports markers as swap entries; the model tells
 * them apart (shmem has no swap PTEs, anon no uffd-wp markers here).
 */
static bool pte_blocks_fill(enum region r, int i)
{
	uint64_t e = pagemap_of(r, i);

	if (e & PM_PRESENT)
		return true;
	return r == ANON && (e & PM_SWAP) && !st.page[r][i].poison;
}

/*
 * Whether POISON (and anon ZEROPAGE) find the PTE in use: anything but
 * none, markers too.
 */
static bool pte_blocks_poison(enum region r, int i)
{
	struct page_model *m = &st.page[r][i];

	/* hugetlb's pagemap does not report markers: the model knows them */
	if (r == HUGETLB)
		return (pagemap_of(r, i) & PM_PRESENT) || m->wp || m->poison;
	return pagemap_of(r, i) & (PM_PRESENT | PM_SWAP);
}

static void note(enum region r, int i)
{
	struct page_model *m = &st.page[r][i];

	m->hist[m->nhist++ % HISTORY] = st.op;
}

/* --- operations ------------------------------------------------------- */

/*
 * An access to page @i: a write of @tag, or a read.  Predicts the faults
 * the resolver must see and the bytes read.
 */
static void access_page(enum region r, int i, bool write, uint8_t tag)
{
	struct page_model *m = &st.page[r][i];
	int missing = m->missing, minor = m->minor, wpfault = m->wpfault;
	bool mapped = pagemap_of(r, i) & PM_PRESENT;
	int want_missing = 0, want_minor = 0, want_wp = 0;
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
	} else if (!mapped) {
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
	} else if (p[0] != (char)m->tag || p[ps - 1] != (char)m->tag) {
		mismatch("read %#x..%#x, the model says %#x", (uint8_t)p[0],
			 (uint8_t)p[ps - 1], m->tag);
	}
	m->cached = true;
	if (m->missing - missing != want_missing || m->minor - minor != want_minor ||
	    m->wpfault - wpfault != want_wp)
		mismatch("faults missing/minor/wp %d/%d/%d, the model says %d/%d/%d",
			 m->missing - missing, m->minor - minor, m->wpfault - wpfault,
			 want_missing, want_minor, want_wp);
}

/*
 * Whether pages @i to @i + @n - 1 of @r lie in one VMA, from
 * /proc/self/maps.  An mprotect() of part of a region splits its VMA, and
 * 6.12 does not always merge the pieces back when the protection is
 * restored (an anon piece that got its own anon_vma stays apart), so the
 * model asks the kernel's own map rather than assume either.
 */
static bool one_vma(enum region r, int i, int n)
{
	unsigned long a = (unsigned long)addr_of(r, i), b = a + n * st.ps[r];
	unsigned long start, end;
	char line[512];
	bool one = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f) {
		mismatch("/proc/self/maps: %s", strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && start <= a && a < end) {
			one = b <= end;
			break;
		}
	}
	fclose(f);
	return one;
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
 * COPY (@zeropage: ZEROPAGE) of @n pages at @i.  A page stops the fill
 * with EEXIST when its PTE is in use (anon; COPY replaces a marker,
 * ZEROPAGE does not), or when it is in the file (shmem; a marker is
 * replaced).
 */
static void fill(enum region r, int i, int n, bool zeropage, bool wp, uint8_t tag)
{
	unsigned long dst = (unsigned long)addr_of(r, i);
	size_t ps = st.ps[r];
	char *src = malloc(n * ps);
	long long result;
	int rc, done, err = EEXIST;

	for (done = 0; done < n; done++) {
		if (zeropage && r == HUGETLB) {
			err = EINVAL;	/* hugetlb has no ZEROPAGE */
			break;
		}
		struct page_model *m = &st.page[r][i + done];

		/* Anon ZEROPAGE wants a none PTE: it does not replace markers */
		if (r != ANON ? m->cached : zeropage ? pte_blocks_poison(r, i + done) :
		    pte_blocks_fill(r, i + done))
			break;
	}
	/* A fill must lie in one VMA: ENOENT before any page otherwise */
	if (!one_vma(r, i, n)) {
		done = 0;
		err = ENOENT;
	}
	for (int k = 0; src && k < n; k++)
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

		m->tag = zeropage ? 0 : tag;
		m->cached = true;
		m->wp = wp && !zeropage;
		m->poison = false;
	}
	free(src);
}

/* CONTINUE of @n shmem pages: EFAULT where the file has no page, EEXIST where mapped. */
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

/* WRITEPROTECT on or off: anon pages get the bit only where populated. */
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
 * MADV_DONTNEED: anon pages are gone with their bit and poison; shmem
 * pages stay in the file, their bit is kept in a marker, poison is
 * dropped (the zap drops it as it drops a private page).
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

	if (r == HUGETLB ? !(rc && errno == EINVAL) : rc != 0)
		mismatch("MADV_PAGEOUT: %s", rc ? strerror(errno) : "succeeded");
}

/*
 * Punch hole: the file loses the pages; uffd-wp bits stay (as markers);
 * poison stays on shmem, hugetlb's zap drops it.
 */
static void punch(enum region r, int i, int n)
{
	if (fallocate(st.memfd[r], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      i * st.ps[r], n * st.ps[r]))
		mismatch("punch hole: %s", strerror(errno));
	for (int k = 0; k < n; k++) {
		st.page[r][i + k].cached = false;
		st.page[r][i + k].tag = 0;
		if (r == HUGETLB)
			st.page[r][i + k].poison = false;
	}
}

/* MISSING and WP, and MINOR for file memory. */
static int register_region(enum region r, size_t len)
{
	return uffd_register(st.uffd, st.base[r], len, true, true, r != ANON);
}

/* Un-register the whole region and register it again: protection is gone. */
static void reregister(enum region r)
{
	size_t len = st.np[r] * st.ps[r];

	if (uffd_unregister(st.uffd, st.base[r], len) || register_region(r, len))
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

/*
 * In a child (no UFFD_FEATURE_EVENT_FORK: its VMAs are not registered),
 * what the child reads of each page the model can predict without
 * allocating: anon pages are copied with poison; shared shmem is not
 * copied at all, so the child reads the file, poisoned or not, and holes
 * are skipped (a read would fill them).
 */
static void fork_check(void)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		mismatch("fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		for (enum region r = ANON; (int)r < st.nregions; r++)
			for (int i = 0; i < st.np[r]; i++) {
				struct page_model *m = &st.page[r][i];
				volatile char *p = addr_of(r, i);
				size_t ps = st.ps[r];

				if (r == ANON && m->poison) {
					if (!read_sigbus(p)) {
						ksft_print_msg("child: anon page %d: no SIGBUS\n",
							       i);
						_exit(1);
					}
				} else if (r == ANON || m->cached) {
					if (p[0] != (char)m->tag || p[ps - 1] != (char)m->tag) {
						ksft_print_msg("child: %s page %d reads %#x, model %#x\n",
							       region_name[r], i, (uint8_t)p[0],
							       m->tag);
						_exit(1);
					}
				}
			}
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		mismatch("the child of a fork saw what the model did not (status %#x)", status);
}

/* After each operation: the uffd-wp bit of every page is the model's. */
static void check_wp_bits(void)
{
	for (enum region r = ANON; (int)r < st.nregions; r++)
		for (int i = 0; i < st.np[r] && !st.failure[0]; i++) {
			bool bit = pagemap_of(r, i) & PM_UFFD_WP;

			if (bit != st.page[r][i].wp)
				mismatch("%s page %d: pagemap uffd-wp %d, the model says %d",
					 region_name[r], i, bit, st.page[r][i].wp);
		}
}

enum opkind {
	O_WRITE, O_READ, O_COPY, O_COPY_WP, O_ZEROPAGE, O_CONTINUE, O_CONTINUE_WP,
	O_POISON, O_WP_ON, O_WP_OFF, O_DONTNEED, O_PAGEOUT, O_PUNCH, O_MPROTECT,
	O_REREGISTER, O_FORK, NR_OPKIND,
};

static const char *const opkind_name[] = {
	"write", "read", "COPY", "COPY(WP)", "ZEROPAGE", "CONTINUE", "CONTINUE(WP)",
	"POISON", "WRITEPROTECT", "un-protect", "MADV_DONTNEED", "MADV_PAGEOUT",
	"punch hole", "mprotect", "re-register", "fork",
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

	ksft_print_msg("seed %llu, operation %d (%s): %s\n", st.seed, st.op, desc_of(st.op),
		       st.failure);
	ksft_print_msg("the model of %s page %d: tag %#x cached %d wp %d poison %d\n",
		       region_name[r], i, m->tag, m->cached, m->wp, m->poison);
	for (int h = m->nhist > HISTORY ? m->nhist - HISTORY : 0; h < m->nhist; h++) {
		int op = m->hist[h % HISTORY];

		ksft_print_msg("  earlier on it: operation %d: %s\n", op, desc_of(op));
	}
}

static uint64_t offered;	/* the features the kernel offers */

/* Maps region @r: @np pages of @ps bytes; shmem and hugetlb from a memfd. */
static int map_region(enum region r, int np, size_t ps)
{
	size_t len = np * ps;

	st.np[r] = np;
	st.ps[r] = ps;
	st.memfd[r] = -1;
	if (r != ANON) {
		st.memfd[r] = memfd_create("uffd-shadow-stress",
					   MFD_CLOEXEC | (r == HUGETLB ? MFD_HUGETLB : 0));
		if (st.memfd[r] < 0 || ftruncate(st.memfd[r], len))
			return -1;
	}
	st.base[r] = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  r == ANON ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED, st.memfd[r], 0);
	if (st.base[r] == MAP_FAILED)
		return -1;
	if (r != HUGETLB)
		madvise(st.base[r], len, MADV_NOHUGEPAGE);
	return register_region(r, len);
}

static void unmap_regions(void)
{
	for (enum region r = ANON; (int)r < st.nregions; r++) {
		if (st.base[r] && st.base[r] != MAP_FAILED)
			munmap(st.base[r], st.np[r] * st.ps[r]);
		if (st.memfd[r] >= 0)
			close(st.memfd[r]);
	}
}

/* Maps the regions, registers them, starts the resolver; runs @ops operations. */
static int run_seed(unsigned long long seed, int ops, int with_hugetlb)
{
	uint64_t want = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM |
			UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_POISON;
	pthread_t thread;
	int ok;

	memset(&st, 0, sizeof(st));
	for (enum region r = ANON; r < NR_REGIONS; r++)
		st.memfd[r] = -1;
	st.seed = seed;
	rnd_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	st.nregions = with_hugetlb ? NR_REGIONS : HUGETLB;
	if (with_hugetlb)
		want |= UFFD_FEATURE_MISSING_HUGETLBFS | UFFD_FEATURE_MINOR_HUGETLBFS;
	st.buf = malloc(with_hugetlb ? default_huge_page_size() : (size_t)getpagesize());
	st.uffd = uffd_open();
	if (!st.buf || st.uffd < 0 || uffd_api(st.uffd, want, NULL) ||
	    map_region(ANON, NPAGES, getpagesize()) ||
	    map_region(SHMEM, NPAGES, getpagesize()) ||
	    (with_hugetlb && map_region(HUGETLB, HUGE_NPAGES, default_huge_page_size())) ||
	    pthread_create(&thread, NULL, resolver, NULL)) {
		ok = -1;
		goto out;
	}

	for (st.op = 0; st.op < ops && !st.failure[0]; st.op++) {
		enum opkind k = rnd_below(NR_OPKIND);
		enum region r = rnd_below(st.nregions);
		int n, i;

		if (r == ANON && (k == O_CONTINUE || k == O_CONTINUE_WP || k == O_PUNCH))
			r = SHMEM;
		n = 1 + rnd_below(st.np[r] < 4 ? st.np[r] : 4);
		i = rnd_below(st.np[r] - n + 1);
		/*
		 * hugetlb VMAs never merge: mprotect of a part would split the
		 * region for good, and fills across the split fail (ENOENT)
		 */
		if (r == HUGETLB && k == O_MPROTECT) {
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
			check_wp_bits();
		if (st.failure[0])
			report(r, i);
	}
	ok = !st.failure[0];
	atomic_store(&st.stop, 1);
	pthread_join(thread, NULL);
out:
	unmap_regions();
	if (st.uffd >= 0)
		close(st.uffd);
	free(st.buf);
	return ok;
}

int main(int argc, char **argv)
{
	unsigned long long first = 1;
	int seeds = 4, ops = 2000, c;
	int fd, with_hugetlb;

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
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0 || catch_sigbus())
		ksft_exit_fail_msg("pagemap or sigaction: %s\n", strerror(errno));

	/* hugetlb needs its features and HUGE_NPAGES free pages (+ 1 for COPY) */
	with_hugetlb = (offered & UFFD_FEATURE_MISSING_HUGETLBFS) &&
		       (offered & UFFD_FEATURE_MINOR_HUGETLBFS) &&
		       get_free_hugepages() > HUGE_NPAGES;
	if (!with_hugetlb)
		ksft_print_msg("no hugetlb region: features or free huge pages missing\n");

	ksft_set_plan(seeds);
	for (int s = 0; s < seeds; s++) {
		int r = run_seed(first + s, ops, with_hugetlb);

		if (r < 0)
			ksft_test_result_fail("seed %llu: setup: %s\n", first + s, strerror(errno));
		else
			ksft_test_result(r, "seed %llu: %d operations match the model\n", first + s,
					 ops);
	}
	finish_tests();
}
