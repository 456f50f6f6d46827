// SPDX-License-Identifier: GPL-2.0
/*
 * UFFDIO_CONTINUE over shmem whose page cache holds PMD-sized folios.
 *
 * Upstream (6.12, and 6.18) maps every page of a CONTINUE with its own
 * PTE, even when the range covers a whole PMD-sized folio.  Our Rust
 * kernel maps such a folio with ONE PMD when all of these hold: the range
 * covers the 2 MB-aligned block, the VMA can map a PMD there (address and
 * file offset aligned alike, THP not disabled for the VMA by
 * MADV_NOHUGEPAGE or prctl(PR_SET_THP_DISABLE); MADV_HUGEPAGE is not
 * needed, as for a fault's do_set_pmd()), the page cache holds a
 * PMD-sized folio for the block, the PMD entry is empty (no PTE table),
 * the block lies within i_size (stricter than a fault: both 6.12 and 6.18
 * PMD-map a shmem folio across i_size), and the mode has no
 * UFFDIO_CONTINUE_MODE_WP.  Otherwise it maps 512 PTEs as upstream does.
 * This test also requires PTEs in a VMA registered for write-protect
 * (see the UFFDIO_WRITEPROTECT case below).  The return value, errno, the
 * mapped field and the bytes are upstream's either way; the page table
 * differs, and smaps shows it: "ShmemPmdMapped" of the registered VMA
 * (fs/proc/task_mmu.c counts a PMD-mapped swap-backed folio there, other
 * files' under "FilePmdMapped"; 6.12 and 6.18 alike).  So does what a
 * later partial change of the block unmaps: a file PMD is never split
 * into PTEs but zapped whole (as for a THP a fault mapped), so after
 * MADV_DONTNEED or mprotect() of one page no page of the block stays
 * mapped, where upstream's PTEs go for that page only (mprotect: none);
 * the next access to any of them raises a MINOR fault.
 *
 * Which kernel this is: the Rust kernel has the debugfs directory
 * /sys/kernel/debug/userfaultfd_rs (debugfs mounted, as in our guest).
 * When it exists the test expects 2048 kB of ShmemPmdMapped per block the
 * rules above allow (and the zapping just described), else (upstream C,
 * the build host) 0 kB everywhere.
 *
 * Every case has a memfd of its own (4 MB: two blocks).  Its page cache is
 * filled through a first MAP_SHARED mapping, 2 MB aligned, with
 * MADV_HUGEPAGE and shmem_enabled set to "advise" (the old value is put
 * back at exit, also after a failed check or a fatal signal; without the
 * knob there is no shmem THP and the program skips); smaps of that mapping
 * must then show the blocks PMD-mapped, which proves PMD-sized folios, or
 * the case is skipped.  That mapping is unmapped, the memfd mapped again
 * (2 MB aligned, 4 MB), registered MINOR, and one UFFDIO_CONTINUE issued.
 * Each case checks the return value, errno and the mapped field,
 * ShmemPmdMapped of the registered VMA, and every page of the mapping:
 * pagemap present exactly for the pages mapped (and, with MODE_WP, the
 * uffd-wp bit), and the bytes of those pages, read while still registered
 * (without a fault: they are mapped).  The cases:
 *   - PMD where the Rust kernel maps one: the whole block; two blocks;
 *     the second block alone; a range from 4 KB into the first block to
 *     the end of the second (the second one whole); a mapping without
 *     MADV_HUGEPAGE (THP allowed, not advised).  Then, on a whole block:
 *     CONTINUE of the block again and of one page inside it (EEXIST,
 *     mapped -EEXIST); MADV_DONTNEED (nothing mapped, a read raises a MINOR
 *     fault at the page, seen by a second thread, and a CONTINUE of the
 *     block resolves it); MADV_DONTNEED and mprotect() of one page (what
 *     stays mapped, as above; every page reads its bytes after
 *     UFFDIO_UNREGISTER); a punch hole of one page (that page unmapped,
 *     i_size kept; after UFFDIO_UNREGISTER it reads zeroes, the others
 *     their bytes); a write while registered lands in the file without a
 *     fault, UFFDIO_UNREGISTER keeps the mapping; fork() (the child, not
 *     registered without EVENT_FORK, reads every page right; the parent's
 *     mapping is unchanged).
 *   - PTEs everywhere: a range from 4 KB into the block; 2 MB - 4 KB from
 *     its start; MODE_WP (registered MINOR and WP); registered MINOR and
 *     WP without MODE_WP, then UFFDIO_WRITEPROTECT of the block: every
 *     page stays mapped with the uffd-wp bit, a write raises a
 *     write-protect fault and lands after un-protect (a PMD here would be
 *     zapped by the write-protect and leave markers, and the write would
 *     raise a MINOR fault instead); these two skip without
 *     UFFD_FEATURE_WP_HUGETLBFS_SHMEM.  Small folios in the page cache
 *     (populated with MADV_NOHUGEPAGE); page 0, 5 or 511 of the block
 *     mapped first by a one-page CONTINUE (then EEXIST with mapped
 *     -EEXIST, EAGAIN with 5 or 511 pages, as upstream; a CONTINUE of the
 *     pages after it maps the rest); MADV_NOHUGEPAGE on the registered
 *     mapping; prctl(PR_SET_THP_DISABLE) during the ioctl; the mapping at
 *     file offset 4 KB; a file that ends 8 KB into its second block
 *     (whose folio is PMD-sized all the same: EAGAIN with 2 pages).
 * khugepaged is not stopped: it could, in principle, collapse a PTE-mapped
 * block of the registered mapping between the ioctl and the smaps read.
 *
 * The build host's 6.18 kernel (upstream, PTEs) passes all 99 checks.
 *
 * With -q only the KTAP lines (and diagnostics of failed checks) are printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"

#define SENTINEL	((__s64)0x5a5a5a5a5a5a5a5aLL)
#define BLOCK		(2UL << 20)
#define NR		512		/* pages per block */
#define MAP_PAGES	(2 * NR)	/* the registered mapping: two blocks */
#define SEED		7		/* of the page cache's bytes */
#define PUNCHED		100		/* the page a punch hole takes */
#define TOUCHED		7		/* the page the second thread touches */
#define INSIDE		300		/* a page inside a mapped block */
#define RS_DEBUGFS	"/sys/kernel/debug/userfaultfd_rs"

static const char knob[] = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";
static char knob_saved[32];

static int quiet, pmd_kernel, pagemap_fd;
static size_t ps;
static uint64_t offered;

/* Diagnostics left out with -q. */
#define say(...) do { if (!quiet) ksft_print_msg(__VA_ARGS__); } while (0)

/* ---- shmem_enabled ---- */

/* Async-signal-safe: puts the saved mode back (once). */
static void knob_restore_raw(void)
{
	if (knob_saved[0] && !write_file(knob, knob_saved))
		knob_saved[0] = 0;
}

static void knob_restore(void)
{
	knob_restore_raw();
	if (knob_saved[0])
		ksft_print_msg("could not restore %s to %s\n", knob, knob_saved);
}

static void on_fatal(int sig)
{
	knob_restore_raw();
	signal(sig, SIG_DFL);
	raise(sig);
}

static const int fatal_sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGSEGV, SIGBUS, SIGABRT };

/* Saves the mode, sets "advise"; NULL or why not. */
static const char *knob_set(void)
{
	char buf[128], *b, *e;
	int fd = open(knob, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return "cannot read it";
	buf[n] = 0;
	b = strchr(buf, '[');
	e = b ? strchr(b, ']') : NULL;
	if (!e)
		return "cannot parse it";
	*e = 0;
	snprintf(knob_saved, sizeof(knob_saved), "%s", b + 1);
	if (!strcmp(knob_saved, "advise")) {
		knob_saved[0] = 0;
		return NULL;
	}
	atexit(knob_restore);
	for (size_t i = 0; i < ARRAY_SIZE(fatal_sigs); i++)
		signal(fatal_sigs[i], on_fatal);
	if (write_file(knob, "advise"))
		return "cannot set it to advise";
	return NULL;
}

/* ---- smaps, pagemap, bytes ---- */

static long pmd_kb(const void *p)
{
	return smaps_kb(p, "ShmemPmdMapped");
}

/* Word @j of file page @f, as the page cache holds it (fill_pattern()). */
static uint64_t word_of(size_t f, size_t j)
{
	return (f * (ps / sizeof(uint64_t)) + j + SEED) * 0x9e3779b97f4a7c15ULL;
}

/* Whether @p holds file page @f's bytes. */
static int page_good(const char *p, size_t f)
{
	const uint64_t *w = (const uint64_t *)p;

	for (size_t j = 0; j < ps / sizeof(*w); j++)
		if (w[j] != word_of(f, j))
			return 0;
	return 1;
}

static int is_zero(const char *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (size_t j = 0; j < ps / sizeof(*w); j++)
		if (w[j])
			return 0;
	return 1;
}

/* ---- the cases ---- */

enum advice { ADV_HUGE, ADV_NONE, ADV_NOHUGE };
enum after { AFTER_NONE, AFTER_AGAIN, AFTER_DONTNEED, AFTER_DONTNEED1, AFTER_MPROTECT,
	     AFTER_PUNCH, AFTER_UNREG, AFTER_FORK, AFTER_WP, AFTER_REST };
enum wp { WP_NONE, WP_REG, WP_MODE };

struct row {
	const char *name;
	int start, len;		/* the range, in pages of the registered mapping */
	int err;		/* 0: the ioctl succeeds */
	int done;		/* pages it maps; -1: all */
	int pmds;		/* PMDs the Rust kernel maps */
	enum after after;	/* what is done and checked afterwards */
	int file_pages;		/* 0: MAP_PAGES */
	int small;		/* populate with MADV_NOHUGEPAGE: small folios */
	int off_pages;		/* the registered mapping's file offset */
	enum advice adv;	/* madvise() of the registered mapping */
	enum wp wp;		/* WP_REG: register MINOR | WP; WP_MODE: and MODE_WP */
	int thp_prctl;		/* PR_SET_THP_DISABLE around the ioctl */
	int premap, at;		/* a one-page CONTINUE of page @at first */
	int priv;		/* the registered mapping is MAP_PRIVATE */
	int ro;			/* the registered mapping is PROT_READ only */
};

/* name, range (first page, pages), errno, pages mapped (-1: all), PMDs, more */
#define ROW(n, s, l, e, dn, pm, ...) { .name = n, .start = s, .len = l, .err = e, \
				       .done = dn, .pmds = pm, __VA_ARGS__ }

static const struct row rows[] = {
	/* a PMD on the Rust kernel */
	ROW("the whole block", 0, NR, 0, -1, 1, .after = AFTER_AGAIN),
	ROW("two blocks (4 MB)", 0, 2 * NR, 0, -1, 2),
	ROW("the second block alone", NR, NR, 0, -1, 1),
	ROW("from 4 KB in to the end of the second block (that one whole)", 1, 2 * NR - 1,
	    0, -1, 1),
	ROW("the whole block, mapping without MADV_HUGEPAGE", 0, NR, 0, -1, 1,
	    .adv = ADV_NONE),
	ROW("the whole block, then MADV_DONTNEED", 0, NR, 0, -1, 1,
	    .after = AFTER_DONTNEED),
	ROW("the whole block, then MADV_DONTNEED of one page", 0, NR, 0, -1, 1,
	    .after = AFTER_DONTNEED1),
	ROW("the whole block, then mprotect of one page", 0, NR, 0, -1, 1,
	    .after = AFTER_MPROTECT),
	ROW("the whole block, then punch hole", 0, NR, 0, -1, 1, .after = AFTER_PUNCH),
	ROW("the whole block, then a write and unregister", 0, NR, 0, -1, 1,
	    .after = AFTER_UNREG),
	ROW("the whole block, then fork", 0, NR, 0, -1, 1, .after = AFTER_FORK),

	/* PTEs on every kernel */
	ROW("from 4 KB into the block to its end", 1, NR - 1, 0, -1, 0),
	ROW("2 MB - 4 KB from the start of the block", 0, NR - 1, 0, -1, 0),
	ROW("the whole block with MODE_WP", 0, NR, 0, -1, 0, .wp = WP_MODE),
	ROW("the whole block, registered MINOR and WP, then UFFDIO_WRITEPROTECT", 0, NR,
	    0, -1, 0, .wp = WP_REG, .after = AFTER_WP),
	ROW("the whole block, small folios in the page cache", 0, NR, 0, -1, 0,
	    .small = 1),
	ROW("the whole block, page 0 mapped first", 0, NR, EEXIST, 0, 0,
	    .after = AFTER_REST, .premap = 1, .at = 0),
	ROW("the whole block, page 5 mapped first", 0, NR, EAGAIN, 5, 0,
	    .after = AFTER_REST, .premap = 1, .at = 5),
	ROW("the whole block, page 511 mapped first", 0, NR, EAGAIN, 511, 0,
	    .after = AFTER_REST, .premap = 1, .at = 511),
	ROW("the whole block, mapping with MADV_NOHUGEPAGE", 0, NR, 0, -1, 0,
	    .adv = ADV_NOHUGE),
	ROW("the whole block, PR_SET_THP_DISABLE", 0, NR, 0, -1, 0, .thp_prctl = 1),
	ROW("the whole block, mapping at file offset 4 KB", 0, NR, 0, -1, 0,
	    .off_pages = 1),
	ROW("the second block, the file ending 8 KB into it", NR, NR, EAGAIN, 2, 0,
	    .file_pages = NR + 2),
	/*
	 * A read-only PMD would be unmapped whole by the first write (or by
	 * mprotect() to writable and a write), raising MINOR faults where
	 * upstream's PTEs copy the page or are already dirty: PTEs.
	 */
	ROW("the whole block, MAP_PRIVATE mapping", 0, NR, 0, -1, 0, .priv = 1),
	ROW("the whole block, read-only shared mapping", 0, NR, 0, -1, 0, .ro = 1),
};

enum want { W_NONE, W_MAPPED, W_ZERO, W_EOF, W_SKIP };

/* One case's memory. */
struct arena {
	int memfd, uffd;
	char *resv, *base;	/* PROT_NONE reservation, the mapping in it */
	size_t resv_len;
	int file_pages, off_pages;
	int registered, wp;
	unsigned char want[MAP_PAGES];	/* W_*, per page of the mapping */
	char why[192];
};

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	case EFAULT: return "EFAULT";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	}
	return "E?";
}

/* UFFDIO_CONTINUE of @n pages from page @i; *field pre-set to SENTINEL. */
static int cont(struct arena *a, int i, int n, __u64 mode, __s64 *field, int *err)
{
	struct uffdio_continue c = {
		.range = { (unsigned long)(a->base + i * ps), n * ps },
		.mode = mode, .mapped = SENTINEL,
	};
	int ret = ioctl(a->uffd, UFFDIO_CONTINUE, &c);

	*err = ret ? errno : 0;
	*field = c.mapped;
	return ret;
}

/* The CONTINUE mode of @r's ioctls. */
static __u64 cont_mode(const struct row *r)
{
	return r->wp == WP_MODE ? UFFDIO_CONTINUE_MODE_WP : 0;
}

/* The result check: @want_err (0: success) and @done pages in the field. */
static int result_ok(int ret, int err, __s64 field, int want_err, int done)
{
	__s64 want = want_err && !done ? -want_err : (__s64)(done * ps);
	int ok = (want_err ? ret == -1 && err == want_err : ret == 0) && field == want;

	if (!ok)
		ksft_print_msg("got ret %d errno %s, mapped %lld; want %s, mapped %lld\n", ret,
			       errname(err), (long long)field, errname(want_err),
			       (long long)want);
	return ok;
}

static void arena_fini(struct arena *a)
{
	if (a->uffd >= 0)
		close(a->uffd);
	if (a->resv)
		munmap(a->resv, a->resv_len);
	if (a->memfd >= 0)
		close(a->memfd);
	a->uffd = -1;
	a->memfd = -1;
	a->resv = NULL;
}

/* A 2 MB-aligned place for @len bytes: its start, *resv and *resv_len set. */
static char *reserve(size_t len, char **resv, size_t *resv_len)
{
	char *r = mmap(NULL, len + BLOCK, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (r == MAP_FAILED)
		return NULL;
	*resv = r;
	*resv_len = len + BLOCK;
	return (char *)(((unsigned long)r + BLOCK - 1) & ~(BLOCK - 1));
}

/*
 * Fills the page cache through a mapping of its own (2 MB aligned,
 * MADV_HUGEPAGE unless @small) and unmaps it: 0, or 1 (skip) / -1 (fail)
 * with a->why set.
 */
static int populate(struct arena *a, int small)
{
	size_t flen = a->file_pages * ps;
	size_t mlen = (flen + BLOCK - 1) & ~(BLOCK - 1);
	long kb, want = small ? 0 : (long)(mlen >> 10);
	size_t rlen;
	char *r, *p;

	p = reserve(mlen, &r, &rlen);
	if (!p || mmap(p, mlen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, a->memfd, 0)
	    == MAP_FAILED) {
		snprintf(a->why, sizeof(a->why), "populating mapping: %s", strerror(errno));
		if (p)
			munmap(r, rlen);
		return -1;
	}
	if (madvise(p, mlen, small ? MADV_NOHUGEPAGE : MADV_HUGEPAGE)) {
		snprintf(a->why, sizeof(a->why), "madvise of the populating mapping: %s",
			 strerror(errno));
		munmap(r, rlen);
		return -1;
	}
	fill_pattern(p, flen, SEED);
	kb = pmd_kb(p);
	munmap(r, rlen);
	if (kb != want && small) {
		snprintf(a->why, sizeof(a->why),
			 "PMD-sized folios without MADV_HUGEPAGE (ShmemPmdMapped %ld kB)", kb);
		return 1;
	}
	if (kb != want) {
		snprintf(a->why, sizeof(a->why),
			 "no PMD-sized folios in the page cache (ShmemPmdMapped %ld kB of %ld)",
			 kb, want);
		return 1;
	}
	return 0;
}

/* 0 when set up, 1 (skip) or -1 (fail) with a->why set. */
static int arena_init(struct arena *a, const struct row *r)
{
	size_t len = MAP_PAGES * ps;
	uint64_t features = UFFD_FEATURE_MINOR_SHMEM;
	__s64 field;
	int ret, err;

	memset(a, 0, sizeof(*a));
	a->uffd = -1;
	a->file_pages = r->file_pages ? r->file_pages : MAP_PAGES;
	a->off_pages = r->off_pages;
	a->wp = r->wp == WP_MODE;
	a->memfd = memfd_create("uffd-continue-thp", MFD_CLOEXEC);
	if (a->memfd < 0 || ftruncate(a->memfd, a->file_pages * ps)) {
		snprintf(a->why, sizeof(a->why), "memfd: %s", strerror(errno));
		return -1;
	}
	ret = populate(a, r->small);
	if (ret)
		return ret;

	a->base = reserve(len, &a->resv, &a->resv_len);
	if (!a->base || mmap(a->base, len, r->ro ? PROT_READ : PROT_READ | PROT_WRITE,
			     (r->priv ? MAP_PRIVATE : MAP_SHARED) | MAP_FIXED,
			     a->memfd, a->off_pages * ps) == MAP_FAILED) {
		snprintf(a->why, sizeof(a->why), "mapping: %s", strerror(errno));
		return -1;
	}
	if (r->adv != ADV_NONE &&
	    madvise(a->base, len, r->adv == ADV_HUGE ? MADV_HUGEPAGE : MADV_NOHUGEPAGE)) {
		snprintf(a->why, sizeof(a->why), "madvise: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < MAP_PAGES; i++)
		a->want[i] = a->off_pages + i < a->file_pages ? W_NONE : W_EOF;

	a->uffd = uffd_open();
	if (r->wp)
		features |= UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
	if (a->uffd < 0 || uffd_api(a->uffd, features, NULL)) {
		snprintf(a->why, sizeof(a->why), "userfaultfd: %s", strerror(errno));
		return -1;
	}
	if (uffd_register(a->uffd, a->base, len, false, r->wp, true)) {
		snprintf(a->why, sizeof(a->why), "UFFDIO_REGISTER: %s", strerror(errno));
		return -1;
	}
	a->registered = 1;
	if (r->premap) {
		ret = cont(a, r->at, 1, cont_mode(r), &field, &err);
		if (ret) {
			snprintf(a->why, sizeof(a->why), "CONTINUE of page %d: %s", r->at,
				 strerror(err));
			return -1;
		}
		a->want[r->at] = W_MAPPED;
	}
	return 0;
}

/*
 * Every page of the mapping against a->want.  While registered: pagemap
 * present exactly for W_MAPPED (with the uffd-wp bit when a->wp), and
 * the bytes of those pages (mapped: reading them cannot fault).  Once
 * unregistered: the bytes of every page within the file (a page not
 * mapped faults in).  Returns 1 when all are right.
 */
static int check_pages(struct arena *a)
{
	int bad = 0;

	for (int i = 0; i < MAP_PAGES; i++) {
		char *p = a->base + i * ps;
		uint64_t e = pagemap_get_entry(pagemap_fd, p);
		int present = !!(e & PM_PRESENT), w = a->want[i];
		const char *what = NULL;

		if (w == W_SKIP)
			continue;
		if (w == W_EOF) {
			if (present)
				what = "beyond the end of the file, present";
		} else if (a->registered && present != (w == W_MAPPED)) {
			what = present ? "present, want not mapped" : "not present, want mapped";
		} else if (a->registered && present && a->wp && !(e & PM_UFFD_WP)) {
			what = "no uffd-wp bit";
		} else if (!a->registered || present) {
			if (w == W_ZERO ? !is_zero(p) : !page_good(p, a->off_pages + i))
				what = w == W_ZERO ? "not zero" : "wrong bytes";
		}
		if (what && bad++ < 4)
			ksft_print_msg("page %d: %s\n", i, what);
	}
	if (bad > 4)
		ksft_print_msg("%d pages wrong in all\n", bad);
	return !bad;
}

/* ShmemPmdMapped of the mapping as the kernel must show it with @pmds PMDs. */
static int pmd_ok(struct arena *a, int pmds, long *kb)
{
	long want = pmd_kernel ? pmds * (long)(BLOCK >> 10) : 0;

	*kb = pmd_kb(a->base);
	if (*kb != want)
		ksft_print_msg("ShmemPmdMapped %ld kB, want %ld kB\n", *kb, want);
	return *kb == want;
}

static void set_want(struct arena *a, int from, int n, int w)
{
	for (int i = from; i < from + n; i++)
		if (a->want[i] != W_EOF)
			a->want[i] = w;
}

/* A second thread that reads or writes a byte. */
struct toucher {
	volatile char *p;
	int write;
	char val;
	int done;		/* read after pthread_join() */
};

static void *toucher_fn(void *arg)
{
	struct toucher *t = arg;

	if (t->write)
		*t->p = t->val;
	else
		t->val = *t->p;
	t->done = 1;
	return NULL;
}

/*
 * Joins @th within 5 s; when it is stuck in a fault, closing the
 * userfaultfd lets it go on.  Returns 1 when it finished in time.
 */
static int join_toucher(struct arena *a, pthread_t th)
{
	if (!join_within(th, 5))
		return 1;
	ksft_print_msg("the second thread is stuck: closing the userfaultfd\n");
	close(a->uffd);
	a->uffd = -1;
	a->registered = 0;
	if (join_within(th, 5)) {
		ksft_print_msg("the second thread is still stuck\n");
		finish_tests();
	}
	return 0;
}

/* CONTINUE of the block again, and of one page inside it: EEXIST. */
static void after_again(struct arena *a, const struct row *r, const char *d)
{
	__s64 field;
	int ret, err;
	long kb;

	ret = cont(a, r->start, NR, 0, &field, &err);
	ksft_test_result(result_ok(ret, err, field, EEXIST, 0),
			 "%s: CONTINUE of it again: EEXIST, mapped -EEXIST\n", d);
	ret = cont(a, r->start + INSIDE, 1, 0, &field, &err);
	ksft_test_result(result_ok(ret, err, field, EEXIST, 0),
			 "%s: CONTINUE of page %d inside it: EEXIST, mapped -EEXIST\n", d, INSIDE);
	ksft_test_result(pmd_ok(a, r->pmds, &kb) & check_pages(a),
			 "%s: the mapping is unchanged\n", d);
}

/* MADV_DONTNEED; a read raises a MINOR fault, a CONTINUE resolves it. */
static void after_dontneed(struct arena *a, const struct row *r, const char *d)
{
	char *page = a->base + (r->start + TOUCHED) * ps;
	struct toucher t = { .p = page + 5 };
	struct uffd_msg msg;
	pthread_t th;
	__s64 field;
	int ok, ret, err, n;
	long kb;

	ok = !madvise(a->base + r->start * ps, BLOCK, MADV_DONTNEED);
	if (!ok)
		ksft_print_msg("MADV_DONTNEED: %s\n", strerror(errno));
	set_want(a, r->start, NR, W_NONE);
	ksft_test_result(ok & pmd_ok(a, 0, &kb) & check_pages(a),
			 "%s: MADV_DONTNEED: no page mapped, ShmemPmdMapped 0 kB\n", d);

	if (pthread_create(&th, NULL, toucher_fn, &t)) {
		ksft_test_result_fail("%s: pthread_create\n", d);
		return;
	}
	n = uffd_read_msg(a->uffd, &msg, 5000);
	ok = n == 1 && msg.event == UFFD_EVENT_PAGEFAULT &&
	     msg.arg.pagefault.flags == UFFD_PAGEFAULT_FLAG_MINOR &&
	     msg.arg.pagefault.address == (unsigned long)page;
	if (!ok && n == 1)
		ksft_print_msg("message: event %u, address %#llx (page %p), flags %#llx\n",
			       msg.event, (unsigned long long)msg.arg.pagefault.address, page,
			       (unsigned long long)msg.arg.pagefault.flags);
	else if (!ok)
		ksft_print_msg("no message (%d)\n", n);
	ksft_test_result(ok, "%s: then a read of page %d raises a MINOR fault there\n", d,
			 TOUCHED);
	ret = cont(a, r->start, NR, 0, &field, &err);
	ksft_test_result(result_ok(ret, err, field, 0, NR),
			 "%s: CONTINUE of the block resolves it: mapped 2 MB\n", d);
	ok = join_toucher(a, th) && t.done &&
	     t.val == (char)(word_of(a->off_pages + r->start + TOUCHED, 0) >> 40);
	ksft_test_result(ok, "%s: the faulting thread read the page cache bytes\n", d);
	if (!a->registered) {
		ksft_test_result_fail("%s: the block is mapped again\n", d);
		return;
	}
	set_want(a, r->start, NR, W_MAPPED);
	ok = pmd_ok(a, r->pmds, &kb) & check_pages(a);
	ksft_test_result(ok, "%s: the block is mapped again: ShmemPmdMapped %ld kB\n", d, kb);
}

static void unregister(struct arena *a, const char *d)
{
	int ok = !uffd_unregister(a->uffd, a->base, MAP_PAGES * ps);

	if (!ok)
		ksft_print_msg("UFFDIO_UNREGISTER: %s\n", strerror(errno));
	a->registered = 0;
	ksft_test_result(ok, "%s: UFFDIO_UNREGISTER\n", d);
}

/*
 * MADV_DONTNEED or mprotect() (which splits the VMA) of one page of the
 * mapped block: upstream's PTEs go for that page only (mprotect keeps
 * it), a PMD goes whole (a file PMD is not split into PTEs but zapped, as
 * for a THP a fault mapped); every page reads its bytes after un-register.
 */
static void after_part(struct arena *a, const struct row *r, const char *d, int dontneed)
{
	char *page = a->base + (r->start + PUNCHED) * ps;
	long kb;
	int ok;

	ok = dontneed ? !madvise(page, ps, MADV_DONTNEED) : !mprotect(page, ps, PROT_READ);
	if (!ok)
		ksft_print_msg("%s: %s\n", dontneed ? "MADV_DONTNEED" : "mprotect",
			       strerror(errno));
	if (pmd_kernel && r->pmds)
		set_want(a, r->start, NR, W_NONE);
	else if (dontneed)
		set_want(a, r->start + PUNCHED, 1, W_NONE);
	ok = ok & pmd_ok(a, 0, &kb) & check_pages(a);
	ksft_test_result(ok, "%s: %s of page %d: %s\n", d,
			 dontneed ? "MADV_DONTNEED" : "mprotect", PUNCHED,
			 pmd_kernel && r->pmds ? "the PMD goes, no page of the block stays" :
			 dontneed ? "the other pages stay mapped" : "every page stays mapped");
	unregister(a, d);
	ksft_test_result(check_pages(a), "%s: then every page reads its bytes\n", d);
}

/*
 * UFFDIO_WRITEPROTECT of the block: every page stays mapped, with the
 * uffd-wp bit; a write raises a write-protect fault and lands once the
 * page is un-protected.
 */
static void after_wp(struct arena *a, const struct row *r, const char *d)
{
	char *page = a->base + (r->start + TOUCHED) * ps;
	struct toucher t = { .p = page + 10, .write = 1, .val = 0x42 };
	__u64 want = UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE;
	struct uffd_msg msg;
	pthread_t th;
	char c = 0;
	long kb;
	int ok, n;

	ok = !uffd_writeprotect(a->uffd, a->base + r->start * ps, BLOCK, 1);
	if (!ok)
		ksft_print_msg("UFFDIO_WRITEPROTECT: %s\n", strerror(errno));
	a->wp = 1;
	ok = ok & pmd_ok(a, 0, &kb) & check_pages(a);
	ksft_test_result(ok, "%s: every page stays mapped, with the uffd-wp bit\n", d);

	if (pthread_create(&th, NULL, toucher_fn, &t)) {
		ksft_test_result_fail("%s: pthread_create\n", d);
		return;
	}
	n = uffd_read_msg(a->uffd, &msg, 5000);
	ok = n == 1 && msg.event == UFFD_EVENT_PAGEFAULT &&
	     msg.arg.pagefault.flags == want &&
	     msg.arg.pagefault.address == (unsigned long)page;
	if (!ok && n == 1)
		ksft_print_msg("message: event %u, address %#llx (page %p), flags %#llx\n",
			       msg.event, (unsigned long long)msg.arg.pagefault.address, page,
			       (unsigned long long)msg.arg.pagefault.flags);
	else if (!ok)
		ksft_print_msg("no message (%d)\n", n);
	ksft_test_result(ok, "%s: a write to page %d raises a write-protect fault\n", d,
			 TOUCHED);
	ok = !uffd_writeprotect(a->uffd, page, ps, 0);
	ok = join_toucher(a, th) && ok;
	ok = ok && pread(a->memfd, &c, 1, (a->off_pages + r->start + TOUCHED) * ps + 10) == 1 &&
	     c == 0x42;
	ksft_test_result(ok, "%s: un-protect lets the write land\n", d);
}

/* Punch hole of one page of the mapped block. */
static void after_punch(struct arena *a, const struct row *r, const char *d)
{
	off_t at = (off_t)(a->off_pages + r->start + PUNCHED) * ps;
	struct stat st;
	int ok;

	ok = !fallocate(a->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, ps);
	if (!ok)
		ksft_print_msg("fallocate: %s\n", strerror(errno));
	ok = ok && !fstat(a->memfd, &st) && st.st_size == (off_t)(a->file_pages * ps);
	ok = ok && !(pagemap_get_entry(pagemap_fd, a->base + (r->start + PUNCHED) * ps) &
		     PM_PRESENT);
	ksft_test_result(ok, "%s: punch hole of page %d: not mapped, i_size kept\n", d,
			 PUNCHED);
	unregister(a, d);
	set_want(a, r->start + PUNCHED, 1, W_ZERO);
	ksft_test_result(check_pages(a),
			 "%s: then page %d reads zeroes, every other page its bytes\n", d,
			 PUNCHED);
}

/* A write while registered, then UFFDIO_UNREGISTER. */
static void after_unreg(struct arena *a, const struct row *r, const char *d)
{
	size_t off = (r->start + 3) * ps + 10;
	struct toucher t = { .p = a->base + off, .write = 1, .val = 0x42 };
	struct uffd_msg msg;
	pthread_t th;
	char c = 0;
	long kb;
	int ok;

	if (pthread_create(&th, NULL, toucher_fn, &t)) {
		ksft_test_result_fail("%s: pthread_create\n", d);
		return;
	}
	ok = join_toucher(a, th) && a->uffd >= 0 && uffd_read_msg(a->uffd, &msg, 0) == 0;
	ok = ok && pread(a->memfd, &c, 1, a->off_pages * ps + off) == 1 && c == 0x42;
	ksft_test_result(ok, "%s: a write while registered lands in the file, no fault\n", d);
	if (a->uffd < 0)
		return;
	unregister(a, d);
	ok = pmd_ok(a, r->pmds, &kb);
	ksft_test_result(ok, "%s: the mapping stays: ShmemPmdMapped %ld kB\n", d, kb);
	/* the written page is left out of the bytes check */
	set_want(a, r->start + 3, 1, W_SKIP);
	ksft_test_result(check_pages(a), "%s: then every page reads its bytes\n", d);
}

/* fork() with the block mapped: the child (not registered) reads it. */
static void after_fork(struct arena *a, const struct row *r, const char *d)
{
	int status = 0, ok;
	pid_t pid;
	long kb;

	pid = fork();
	if (pid == 0) {
		int bad = 0;

		for (size_t i = 0; i < ARRAY_SIZE(fatal_sigs); i++)
			signal(fatal_sigs[i], SIG_DFL);
		alarm(20);
		for (int i = 0; i < MAP_PAGES; i++)
			if (a->want[i] != W_EOF && a->want[i] != W_SKIP &&
			    !page_good(a->base + i * ps, a->off_pages + i))
				bad++;
		_exit(bad ? 1 : 0);
	}
	ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	     !WEXITSTATUS(status);
	if (!ok)
		ksft_print_msg("fork: pid %d, status %#x\n", pid, status);
	ksft_test_result(ok, "%s: the child reads every page's bytes\n", d);
	ok = pmd_ok(a, r->pmds, &kb) & check_pages(a);
	ksft_test_result(ok, "%s: the parent's mapping is unchanged\n", d);
}

/* After a partial CONTINUE at a mapped page: the rest of the block. */
static void after_rest(struct arena *a, const struct row *r, const char *d)
{
	int from = r->start + r->at + 1, n = r->start + NR - from, ret, err;
	__s64 field;
	long kb;

	if (n <= 0)
		return;
	ret = cont(a, from, n, cont_mode(r), &field, &err);
	ksft_test_result(result_ok(ret, err, field, 0, n),
			 "%s: then CONTINUE of the %d pages after page %d\n", d, n, r->at);
	set_want(a, from, n, W_MAPPED);
	ksft_test_result(pmd_ok(a, 0, &kb) & check_pages(a),
			 "%s: the block is mapped by PTEs, every page right\n", d);
}

static void run_row(const struct row *r)
{
	int done = r->done < 0 ? r->len : r->done, ret, err, ok;
	char d[160], what[64];
	struct arena a;
	__s64 field;
	long kb;

	snprintf(d, sizeof(d), "CONTINUE %s", r->name);
	if (r->wp && !(offered & UFFD_FEATURE_WP_HUGETLBFS_SHMEM)) {
		ksft_test_result_skip("%s: no UFFD_FEATURE_WP_HUGETLBFS_SHMEM\n", d);
		return;
	}
	say("%s\n", d);
	ret = arena_init(&a, r);
	if (ret > 0) {
		ksft_test_result_skip("%s: %s\n", d, a.why);
		arena_fini(&a);
		return;
	}
	if (ret < 0) {
		ksft_test_result_fail("%s: setup: %s\n", d, a.why);
		arena_fini(&a);
		return;
	}

	if (r->thp_prctl && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) {
		ksft_test_result_fail("%s: PR_SET_THP_DISABLE: %s\n", d, strerror(errno));
		arena_fini(&a);
		return;
	}
	ret = cont(&a, r->start, r->len, cont_mode(r), &field, &err);
	if (r->thp_prctl && prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0))
		ksft_exit_fail_msg("PR_SET_THP_DISABLE 0: %s\n", strerror(errno));
	if (!r->err)
		snprintf(what, sizeof(what), "0, mapped %d pages", done);
	else if (done)
		snprintf(what, sizeof(what), "%s, mapped %d pages", errname(r->err), done);
	else
		snprintf(what, sizeof(what), "%s, mapped -%s", errname(r->err), errname(r->err));
	ksft_test_result(result_ok(ret, err, field, r->err, done), "%s: %s\n", d, what);
	set_want(&a, r->start, done, W_MAPPED);

	ok = pmd_ok(&a, r->pmds, &kb);
	ksft_test_result(ok, "%s: ShmemPmdMapped %ld kB\n", d, kb);
	ksft_test_result(check_pages(&a), "%s: the pages mapped, their bytes\n", d);

	switch (r->after) {
	case AFTER_NONE:
		break;
	case AFTER_AGAIN:
		after_again(&a, r, d);
		break;
	case AFTER_DONTNEED:
		after_dontneed(&a, r, d);
		break;
	case AFTER_DONTNEED1:
		after_part(&a, r, d, 1);
		break;
	case AFTER_MPROTECT:
		after_part(&a, r, d, 0);
		break;
	case AFTER_PUNCH:
		after_punch(&a, r, d);
		break;
	case AFTER_WP:
		after_wp(&a, r, d);
		break;
	case AFTER_UNREG:
		after_unreg(&a, r, d);
		break;
	case AFTER_FORK:
		after_fork(&a, r, d);
		break;
	case AFTER_REST:
		after_rest(&a, r, d);
		break;
	}
	arena_fini(&a);
}

int main(int argc, char **argv)
{
	const char *why;
	int fd;

	quiet = argc > 1 && !strcmp(argv[1], "-q");
	ksft_print_header();

	ps = psize();
	if (ps != 4096 || read_pmd_pagesize() != BLOCK)
		ksft_exit_skip("written for 4 KB pages and 2 MB PMDs\n");
	if (access(knob, F_OK))
		ksft_exit_skip("no %s: no shmem THP\n", knob);
	fd = uffd_open();
	if (fd < 0 || uffd_api(fd, 0, &offered))
		ksft_exit_skip("userfaultfd: %s\n", strerror(errno));
	close(fd);
	if (!(offered & UFFD_FEATURE_MINOR_SHMEM))
		ksft_exit_skip("no UFFD_FEATURE_MINOR_SHMEM\n");
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		ksft_exit_fail_msg("/proc/self/pagemap: %s\n", strerror(errno));

	pmd_kernel = !access(RS_DEBUGFS, F_OK);
	say("%s: expecting %s\n", RS_DEBUGFS,
	    pmd_kernel ? "present (Rust kernel): a PMD per whole folio" :
	    "absent (upstream): PTEs only");
	why = knob_set();
	if (why)
		ksft_exit_skip("%s: %s\n", knob, why);

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		run_row(&rows[i]);
	finish_tests();
}
