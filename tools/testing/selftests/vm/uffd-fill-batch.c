// SPDX-License-Identifier: GPL-2.0
/*
 * UFFDIO_ZEROPAGE, UFFDIO_POISON, UFFDIO_COPY and UFFDIO_CONTINUE over runs
 * of base pages, inside one PTE table and across the boundary between two:
 * what the caller sees must not depend on how many pages the kernel fills
 * under one page-table lock, nor (COPY) on how many sources it copies
 * before it takes that lock.
 *
 * Memory types: private anonymous, shared shmem (a memfd mapped
 * MAP_SHARED) and private shmem (the same, MAP_PRIVATE), registered
 * MISSING; CONTINUE on shared shmem, registered MINOR, the page cache
 * filled beforehand through a second mapping.  Every case
 * has a fresh mapping of 3 MB at a 2 MB-aligned address (page 512 is the
 * first page of the second PTE table) and runs one ioctl with the result
 * field pre-set to a sentinel; it checks the return value, errno and the
 * field (the bytes filled; -errno when nothing was; EAGAIN when only part
 * was), and then every page of the range and the page on each side of it:
 *   - pagemap, read while still registered: present for a page the ioctl
 *     (or the set-up) mapped, the swap bit for a poison marker, neither
 *     for a page left alone;
 *   - on shmem, mincore() of a second, unregistered shared mapping: the
 *     page cache has exactly the pages that were there, plus those a
 *     shared ZEROPAGE filled;
 *   - after UFFDIO_UNREGISTER (so that a page left alone reads without a
 *     fault): the bytes of each page (zeroes, the COPY source, the page
 *     cache, what the set-up put there), or SIGBUS for a poisoned page and
 *     beyond the end of the file (caught with sigsetjmp).
 * The cases:
 *   - whole runs of 1, 16, 64 and 512 pages (one full table), 16 and 512
 *     pages across the 2 MB boundary, and runs that end at the end of the
 *     VMA (which is not the end of a table): all filled;
 *   - a page already mapped (UFFDIO_COPY, or UFFDIO_CONTINUE for the
 *     CONTINUE control, of that page first) at page k of the range, for k
 *     inside a table, the last page of the range, the last page below the
 *     boundary and the first above it: EAGAIN with k pages in the field,
 *     those k pages filled, page k keeps its bytes, the rest left alone;
 *     at k = 0: EEXIST, field -EEXIST, nothing filled;
 *   - a poison marker (a one-page UFFDIO_POISON first) at page k: ZEROPAGE
 *     and POISON stop there as at a mapped page, but ZEROPAGE on shared
 *     shmem goes through the page cache and replaces the marker (it fills
 *     the whole range); COPY and CONTINUE replace it too;
 *   - shmem: page k in the page cache but not mapped here: shared ZEROPAGE
 *     and COPY stop there (EEXIST from the page cache, as a mapped page),
 *     private ZEROPAGE maps the zero page over it (the mapping then reads
 *     zeroes though the file holds data) and private COPY an anonymous
 *     copy, POISON puts its marker over it on both;
 *   - shmem: a file that ends 4 pages past 2 MB (the mapping is 3 MB: mmap
 *     beyond the end of a shmem file is allowed): a range of 8 pages from
 *     2 MB gives EAGAIN with 4 pages for COPY, ZEROPAGE and POISON, shared
 *     and private, and for CONTINUE (16 pages from 8 below 2 MB: EAGAIN
 *     with 12); a range wholly beyond the end gives EFAULT (-EFAULT) for
 *     COPY, ZEROPAGE and POISON and EINVAL (-EINVAL) for CONTINUE
 *     (shmem_get_folio() refuses an index beyond i_size);
 *   - COPY: the source of page k not in memory (MADV_DONTNEED of that
 *     source page just before): the copy with page faults disabled fails
 *     there, the page is copied outside the locks (it reads zeroes) and
 *     the fill goes on: all filled, page k zeroes;
 *   - COPY: each page's source is the page before it in the destination
 *     (the source starts one page below the range, at a page the set-up
 *     mapped): a source page is a page of the fill itself, readable only
 *     once the fill has mapped it, so every page ends up with the bytes of
 *     the set-up's page.
 * A fatal signal during a long fill (EINTR after partial progress) is not
 * covered.  The POISON rows and the marker rows are skipped without
 * UFFD_FEATURE_POISON, the CONTINUE rows without UFFD_FEATURE_MINOR_SHMEM.
 *
 * The expected values are those of Linux 6.12 (mm/userfaultfd.c, which
 * takes the page-table lock once per page, and mm/shmem.c); the build
 * host's 6.18 kernel gives the same answer to every case (all 442 checks
 * pass there), including the swap bit pagemap shows for a poison marker
 * (fs/proc/task_mmu.c reports any non-present, non-none PTE as swapped).
 *
 * With -q only the KTAP lines (and diagnostics of failed checks) are printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"

#define SENTINEL ((__s64)0x5a5a5a5a5a5a5a5aLL)
#define TABLE	512		/* pages per PTE table: page 512 starts the second */
#define NPAGES	768		/* the mapping: 3 MB */
#define SHORT	(TABLE + 4)	/* pages in the short file */

enum op { OP_COPY, OP_ZERO, OP_CONT, OP_POISON };
#define X_COPY	(1u << OP_COPY)
#define X_ZERO	(1u << OP_ZERO)
#define X_CONT	(1u << OP_CONT)
#define X_POIS	(1u << OP_POISON)
#define X_ALL	(X_COPY | X_ZERO | X_CONT | X_POIS)

static const char *const op_name[] = { "COPY", "ZEROPAGE", "CONTINUE", "POISON" };
static const char *const field_name[] = { "copy", "zeropage", "mapped", "updated" };

enum mem { M_ANON, M_SHMEM, M_SHMEM_PRIV };
#define A_ANON	(1u << M_ANON)
#define A_SHM	(1u << M_SHMEM)
#define A_SHMP	(1u << M_SHMEM_PRIV)
#define A_SHMS	(A_SHM | A_SHMP)
#define A_ALL	(A_ANON | A_SHMS)

static const char *const mem_name[] = { "anon", "shmem", "shmem private" };

/* The ioctls and memory types each case runs with. */
static const struct { enum op op; enum mem mem; } runs[] = {
	{ OP_ZERO, M_ANON }, { OP_ZERO, M_SHMEM }, { OP_ZERO, M_SHMEM_PRIV },
	{ OP_POISON, M_ANON }, { OP_POISON, M_SHMEM }, { OP_POISON, M_SHMEM_PRIV },
	{ OP_COPY, M_ANON }, { OP_COPY, M_SHMEM }, { OP_COPY, M_SHMEM_PRIV },
	{ OP_CONT, M_SHMEM },
};

/* What the set-up puts at one page before the checked ioctl. */
enum prep {
	P_NONE,
	P_MAPPED,	/* UFFDIO_COPY of a page (CONTINUE for the CONTINUE rows) */
	P_MARKER,	/* UFFDIO_POISON of the page */
	P_CACHED,	/* written through the second mapping: page cache only */
};

struct expect {
	unsigned int ops, mems;
	int err;	/* 0: the ioctl succeeds */
	int done;	/* pages filled; -1: all of them */
};

#define EXP(o, m, e, d)	{ .ops = (o), .mems = (m), .err = (e), .done = (d) }
#define FILLS(o, m)	EXP(o, m, 0, -1)
#define PARTIAL(o, m, d) EXP(o, m, EAGAIN, d)
#define FAILS(o, m, e)	EXP(o, m, e, 0)

#define MAX_EXP 6

struct row {
	const char *name;
	int start, len;		/* the range, in pages from the aligned start */
	enum prep prep;
	int at;			/* the page P_* is put at, from the aligned start */
	int short_file;		/* the file is SHORT pages long */
	int src_hole;		/* COPY: 1 + the page whose source is not in memory */
	int src_self;		/* COPY: the source starts one page below the range */
	struct expect exp[MAX_EXP];
};

static const struct row rows[] = {
	/* whole runs */
	{ "1 page", 0, 1, .exp = { FILLS(X_ALL, A_ALL) } },
	{ "16 pages", 0, 16, .exp = { FILLS(X_ALL, A_ALL) } },
	{ "64 pages", 0, 64, .exp = { FILLS(X_ALL, A_ALL) } },
	{ "512 pages, one whole PTE table", 0, TABLE, .exp = { FILLS(X_ALL, A_ALL) } },
	{ "16 pages across the 2MB boundary", TABLE - 8, 16, .exp = { FILLS(X_ALL, A_ALL) } },
	{ "512 pages across the 2MB boundary", TABLE / 2, TABLE,
	  .exp = { FILLS(X_ALL, A_ALL) } },
	{ "the last 16 pages of the VMA", NPAGES - 16, 16, .exp = { FILLS(X_ALL, A_ALL) } },
	{ "from 8 pages below 2MB to the end of the VMA", TABLE - 8, NPAGES - TABLE + 8,
	  .exp = { FILLS(X_ALL, A_ALL) } },

	/* a mapped page: the fill stops at it */
	{ "16 pages, page 5 mapped", 0, 16, P_MAPPED, 5,
	  .exp = { PARTIAL(X_ALL, A_ALL, 5) } },
	{ "16 pages, the last one mapped", 0, 16, P_MAPPED, 15,
	  .exp = { PARTIAL(X_ALL, A_ALL, 15) } },
	{ "16 pages across 2MB, the last page below it mapped", TABLE - 8, 16, P_MAPPED,
	  TABLE - 1, .exp = { PARTIAL(X_ALL, A_ALL, 7) } },
	{ "16 pages across 2MB, the first page above it mapped", TABLE - 8, 16, P_MAPPED,
	  TABLE, .exp = { PARTIAL(X_ALL, A_ALL, 8) } },
	{ "16 pages, the first one mapped", 0, 16, P_MAPPED, 0,
	  .exp = { FAILS(X_ALL, A_ALL, EEXIST) } },
	{ "16 pages from 2MB, the first one mapped", TABLE, 16, P_MAPPED, TABLE,
	  .exp = { FAILS(X_ALL, A_ALL, EEXIST) } },

	/* a poison marker */
	{ "16 pages, a poison marker at page 5", 0, 16, P_MARKER, 5,
	  .exp = { PARTIAL(X_ZERO, A_ANON | A_SHMP, 5), PARTIAL(X_POIS, A_ALL, 5),
		   FILLS(X_ZERO, A_SHM), FILLS(X_COPY | X_CONT, A_ALL) } },
	{ "16 pages across 2MB, a poison marker at the first page above it", TABLE - 8, 16,
	  P_MARKER, TABLE,
	  .exp = { PARTIAL(X_ZERO, A_ANON | A_SHMP, 8), PARTIAL(X_POIS, A_ALL, 8),
		   FILLS(X_ZERO, A_SHM), FILLS(X_COPY | X_CONT, A_ALL) } },
	{ "16 pages, a poison marker at the first one", 0, 16, P_MARKER, 0,
	  .exp = { FAILS(X_ZERO, A_ANON | A_SHMP, EEXIST), FAILS(X_POIS, A_ALL, EEXIST),
		   FILLS(X_ZERO, A_SHM), FILLS(X_COPY | X_CONT, A_ALL) } },

	/* shmem: the page cache has page k, this mapping does not map it */
	{ "16 pages, page 5 in the page cache only", 0, 16, P_CACHED, 5,
	  .exp = { PARTIAL(X_ZERO | X_COPY, A_SHM, 5), FILLS(X_ZERO | X_COPY, A_SHMP),
		   FILLS(X_POIS, A_SHMS) } },
	{ "16 pages across 2MB, page 512 in the page cache only", TABLE - 8, 16, P_CACHED,
	  TABLE,
	  .exp = { PARTIAL(X_ZERO | X_COPY, A_SHM, 8), FILLS(X_ZERO | X_COPY, A_SHMP),
		   FILLS(X_POIS, A_SHMS) } },

	/* shmem: the file ends 4 pages past 2MB */
	{ "8 pages from 2MB, the file ends 4 pages in", TABLE, 8, .short_file = 1,
	  .exp = { PARTIAL(X_COPY | X_ZERO | X_POIS | X_CONT, A_SHMS, 4) } },
	{ "16 pages across 2MB, the file ends 4 pages past it", TABLE - 8, 16,
	  .short_file = 1,
	  .exp = { PARTIAL(X_COPY | X_ZERO | X_POIS | X_CONT, A_SHMS, 12) } },
	{ "4 pages wholly beyond the end of the file", SHORT, 4, .short_file = 1,
	  .exp = { FAILS(X_COPY | X_ZERO | X_POIS, A_SHMS, EFAULT),
		   FAILS(X_CONT, A_SHMS, EINVAL) } },

	/* COPY: a source page not in memory */
	{ "16 pages, the source of page 5 not in memory", 0, 16, .src_hole = 1 + 5,
	  .exp = { FILLS(X_COPY, A_ALL) } },
	{ "16 pages, the source of the first page not in memory", 0, 16, .src_hole = 1 + 0,
	  .exp = { FILLS(X_COPY, A_ALL) } },
	{ "16 pages across 2MB, the source of the first page above it not in memory",
	  TABLE - 8, 16, .src_hole = 1 + TABLE, .exp = { FILLS(X_COPY, A_ALL) } },
	{ "64 pages, the source of page 63 not in memory", 0, 64, .src_hole = 1 + 63,
	  .exp = { FILLS(X_COPY, A_ALL) } },

	/* COPY: each page's source is the page before it in the destination */
	{ "16 pages, each from the page before it", 1, 16, P_MAPPED, 0, .src_self = 1,
	  .exp = { FILLS(X_COPY, A_ALL) } },
	{ "16 pages across 2MB, each from the page before it", TABLE - 8, 16, P_MAPPED,
	  TABLE - 9, .src_self = 1, .exp = { FILLS(X_COPY, A_ALL) } },
};

static int quiet;
static size_t ps;
static int pagemap_fd;
static uint64_t offered;
static char *src;		/* COPY source, NPAGES pages */
static char *prep_src;		/* the bytes of a P_MAPPED page */

/* Diagnostics left out with -q. */
#define say(...) do { if (!quiet) ksft_print_msg(__VA_ARGS__); } while (0)

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
	case EINTR: return "EINTR";
	}
	return "E?";
}

/* One fill ioctl of @len bytes at @at; *field pre-set to SENTINEL, read back. */
static int fill(int uffd, enum op which, char *at, size_t len, const char *from,
		__s64 *field, int *err)
{
	int ret = -1;

	*field = SENTINEL;
	switch (which) {
	case OP_COPY: {
		struct uffdio_copy a = { .dst = (unsigned long)at, .src = (unsigned long)from,
					 .len = len, .copy = SENTINEL };

		ret = ioctl(uffd, UFFDIO_COPY, &a);
		*field = a.copy;
		break;
	}
	case OP_ZERO: {
		struct uffdio_zeropage a = { .range = { (unsigned long)at, len },
					     .zeropage = SENTINEL };

		ret = ioctl(uffd, UFFDIO_ZEROPAGE, &a);
		*field = a.zeropage;
		break;
	}
	case OP_CONT: {
		struct uffdio_continue a = { .range = { (unsigned long)at, len },
					     .mapped = SENTINEL };

		ret = ioctl(uffd, UFFDIO_CONTINUE, &a);
		*field = a.mapped;
		break;
	}
	case OP_POISON: {
		struct uffdio_poison a = { .range = { (unsigned long)at, len },
					   .updated = SENTINEL };

		ret = ioctl(uffd, UFFDIO_POISON, &a);
		*field = a.updated;
		break;
	}
	}
	*err = ret ? errno : 0;
	return ret;
}

/* One case's memory. */
struct arena {
	enum mem mem;
	char *resv;		/* PROT_NONE reservation holding the mapping */
	size_t resv_len;
	char *base;		/* the registered mapping, NPAGES pages, 2MB-aligned */
	char *view;		/* shmem: an unregistered MAP_SHARED view of the file */
	int file_pages;		/* shmem: pages in the file */
	int memfd, uffd;
	char why[128];		/* why setting up failed */
};

static void arena_fini(struct arena *a)
{
	if (a->uffd >= 0)
		close(a->uffd);
	if (a->resv)
		munmap(a->resv, a->resv_len);
	if (a->view)
		munmap(a->view, NPAGES * ps);
	if (a->memfd >= 0)
		close(a->memfd);
}

/* Returns 0 when set up, -1 on failure (a->why says why). */
static int arena_init(struct arena *a, enum op which, enum mem m, const struct row *r)
{
	size_t len = NPAGES * ps, align = TABLE * ps;
	int rw = PROT_READ | PROT_WRITE;
	uint64_t features = 0;
	void *p;

	memset(a, 0, sizeof(*a));
	a->mem = m;
	a->memfd = -1;
	a->uffd = -1;
	a->file_pages = r->short_file ? SHORT : NPAGES;
	a->resv_len = len + align;
	a->resv = mmap(NULL, a->resv_len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->resv == MAP_FAILED) {
		a->resv = NULL;
		snprintf(a->why, sizeof(a->why), "reserve: %s", strerror(errno));
		return -1;
	}
	a->base = (char *)(((unsigned long)a->resv + align - 1) & ~(align - 1));
	if (m == M_ANON) {
		p = mmap(a->base, len, rw, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	} else {
		p = MAP_FAILED;
		a->memfd = memfd_create("uffd-fill-batch", MFD_CLOEXEC);
		if (a->memfd >= 0 && !ftruncate(a->memfd, a->file_pages * ps))
			p = mmap(a->base, len, rw,
				 MAP_FIXED | (m == M_SHMEM ? MAP_SHARED : MAP_PRIVATE),
				 a->memfd, 0);
		if (p != MAP_FAILED) {
			a->view = mmap(NULL, len, rw, MAP_SHARED, a->memfd, 0);
			if (a->view == MAP_FAILED) {
				a->view = NULL;
				p = MAP_FAILED;
			}
		}
	}
	if (p == MAP_FAILED) {
		snprintf(a->why, sizeof(a->why), "map: %s", strerror(errno));
		return -1;
	}
	/*
	 * No THP (the guest runs THP=always): a huge page would fill a
	 * table, or the page cache 512 pages at a time.  Best effort.
	 */
	madvise(a->base, len, MADV_NOHUGEPAGE);
	if (a->view)
		madvise(a->view, len, MADV_NOHUGEPAGE);
	/* CONTINUE maps what the page cache holds: all of the file */
	if (which == OP_CONT)
		fill_pattern(a->view, a->file_pages * ps, 'V');

	a->uffd = uffd_open();
	if (a->uffd < 0) {
		snprintf(a->why, sizeof(a->why), "userfaultfd: %s", strerror(errno));
		return -1;
	}
	if (which == OP_CONT)
		features |= UFFD_FEATURE_MINOR_SHMEM;
	if (which == OP_POISON || r->prep == P_MARKER)
		features |= UFFD_FEATURE_POISON;
	if (uffd_api(a->uffd, features, NULL)) {
		snprintf(a->why, sizeof(a->why), "UFFDIO_API features %#llx: %s",
			 (unsigned long long)features, strerror(errno));
		return -1;
	}
	if (uffd_register(a->uffd, a->base, len, which != OP_CONT, false, which == OP_CONT)) {
		snprintf(a->why, sizeof(a->why), "UFFDIO_REGISTER: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Puts the row's P_* at its page. */
static int prep_page(struct arena *a, enum op which, const struct row *r)
{
	char *at = a->base + r->at * ps;
	__s64 field;
	int err = 0;

	switch (r->prep) {
	case P_NONE:
		return 0;
	case P_MAPPED:
		if (which == OP_CONT)
			fill(a->uffd, OP_CONT, at, ps, NULL, &field, &err);
		else
			fill(a->uffd, OP_COPY, at, ps, prep_src, &field, &err);
		break;
	case P_MARKER:
		fill(a->uffd, OP_POISON, at, ps, NULL, &field, &err);
		break;
	case P_CACHED:
		fill_pattern(a->view + r->at * ps, ps, 'C');
		break;
	}
	if (err)
		snprintf(a->why, sizeof(a->why), "preparing page %d: %s", r->at, strerror(err));
	return err ? -1 : 0;
}

/* What a page must look like afterwards. */
enum state {
	S_NONE,		/* left alone */
	S_ZERO,		/* ZEROPAGE filled it */
	S_POISON,	/* POISON filled it, or the marker the set-up put there */
	S_COPY,		/* COPY filled it: the source bytes */
	S_CONT,		/* CONTINUE mapped it (or the set-up did): the page cache bytes */
	S_MAPPED,	/* the set-up's P_MAPPED page (COPY): its bytes */
	S_CACHED,	/* the set-up's P_CACHED page: in the page cache, not mapped */
	S_EOF,		/* beyond the end of the file */
};

static enum state page_state(const struct arena *a, enum op which, const struct row *r,
			     int done, int i)
{
	if (a->mem != M_ANON && i >= a->file_pages)
		return S_EOF;
	if (i >= r->start && i < r->start + done)
		return which == OP_ZERO ? S_ZERO : which == OP_POISON ? S_POISON :
		       which == OP_COPY ? S_COPY : S_CONT;
	if (r->prep != P_NONE && i == r->at)
		return r->prep == P_MARKER ? S_POISON : r->prep == P_CACHED ? S_CACHED :
		       which == OP_CONT ? S_CONT : S_MAPPED;
	return S_NONE;
}

static const char *const state_name[] = {
	"left alone", "zero-filled", "poisoned", "copied", "continued", "mapped before",
	"in the page cache only", "beyond EOF",
};

/* Whether the page cache must hold page @i of the file (shmem only). */
static int want_cached(const struct arena *a, enum op which, const struct row *r,
		       enum state s, int i)
{
	if (s == S_EOF)
		return 0;
	if (which == OP_CONT)
		return 1;
	if (r->prep == P_CACHED && i == r->at)
		return 1;
	/* a shared mapping fills the page cache, a private one anon pages */
	if (a->mem == M_SHMEM && (s == S_ZERO || s == S_COPY || s == S_MAPPED))
		return 1;
	return 0;
}

static int is_zero(const char *p, size_t len)
{
	for (size_t j = 0; j < len / sizeof(uint64_t); j++)
		if (((const uint64_t *)p)[j])
			return 0;
	return 1;
}

/*
 * Checks the pages of the range and one on each side; unregisters the
 * range on the way.  Returns 1 when all are as they must be.
 */
static int check_pages(struct arena *a, enum op which, const struct row *r, int done)
{
	int first = r->start > 0 ? r->start - 1 : 0;
	int last = r->start + r->len < NPAGES ? r->start + r->len : NPAGES - 1;
	unsigned char vec[NPAGES];
	int ok = 1;

	if (a->view && mincore(a->view, NPAGES * ps, vec)) {
		ksft_print_msg("mincore: %s\n", strerror(errno));
		return 0;
	}
	/* pagemap and the page cache, while the range is registered */
	for (int i = first; i <= last; i++) {
		enum state s = page_state(a, which, r, done, i);
		uint64_t e = pagemap_get_entry(pagemap_fd, a->base + i * ps);
		int present = !!(e & PM_PRESENT), swap = !!(e & PM_SWAP);
		int want_present = s == S_ZERO || s == S_COPY || s == S_CONT || s == S_MAPPED;
		int want_swap = s == S_POISON;

		if (present != want_present || swap != want_swap) {
			ksft_print_msg("page %d (%s): pagemap present %d swap %d, want %d %d\n",
				       i, state_name[s], present, swap, want_present, want_swap);
			ok = 0;
		}
		if (a->view && (vec[i] & 1) != want_cached(a, which, r, s, i)) {
			ksft_print_msg("page %d (%s): in the page cache %d, want %d\n", i,
				       state_name[s], vec[i] & 1, !(vec[i] & 1));
			ok = 0;
		}
	}

	/* the bytes: a page left alone reads without a fault once unregistered */
	if (uffd_unregister(a->uffd, a->base, NPAGES * ps)) {
		ksft_print_msg("UFFDIO_UNREGISTER: %s\n", strerror(errno));
		return 0;
	}
	for (int i = first; i <= last; i++) {
		enum state s = page_state(a, which, r, done, i);
		char *p = a->base + i * ps;
		int bus = read_sigbus(p), good;

		if (s == S_POISON || s == S_EOF) {
			good = bus;
		} else if (bus) {
			good = 0;
		} else if (s == S_COPY && r->src_self) {
			good = !memcmp(p, prep_src, ps);
		} else if (s == S_COPY && r->src_hole == 1 + i) {
			good = is_zero(p, ps);
		} else if (s == S_COPY) {
			good = !memcmp(p, src + (i - r->start) * ps, ps);
		} else if (s == S_MAPPED) {
			good = !memcmp(p, prep_src, ps);
		} else if (s == S_CONT || s == S_CACHED || (s == S_NONE && which == OP_CONT)) {
			good = !memcmp(p, a->view + i * ps, ps);
		} else {
			/* S_ZERO, and a page left alone in an empty file or anon */
			good = is_zero(p, ps);
		}
		if (!good) {
			ksft_print_msg("page %d (%s): %s\n", i, state_name[s],
				       bus ? "SIGBUS" : s == S_POISON || s == S_EOF ?
				       "no SIGBUS" : "wrong bytes");
			ok = 0;
		}
	}
	return ok;
}

static const struct expect *find_exp(const struct row *r, enum op which, enum mem m)
{
	for (int i = 0; i < MAX_EXP && r->exp[i].ops; i++)
		if ((r->exp[i].ops & (1u << which)) && (r->exp[i].mems & (1u << m)))
			return &r->exp[i];
	return NULL;
}

static void run_case(const struct row *r, enum op which, enum mem m, const struct expect *x)
{
	int done = x->done < 0 ? r->len : x->done;
	char desc[256], what[64];
	const char *from;
	struct arena a;
	__s64 field, want;
	int ret, err, ok;

	if (!x->err)
		snprintf(what, sizeof(what), "ok, %s %d page%s", field_name[which], done,
			 done == 1 ? "" : "s");
	else if (done)
		snprintf(what, sizeof(what), "%s, %s %d page%s", errname(x->err),
			 field_name[which], done, done == 1 ? "" : "s");
	else
		snprintf(what, sizeof(what), "%s, %s -%s", errname(x->err), field_name[which],
			 errname(x->err));
	snprintf(desc, sizeof(desc), "%s %s: %s: %s", op_name[which], mem_name[m], r->name,
		 what);
	if ((which == OP_POISON || r->prep == P_MARKER) && !(offered & UFFD_FEATURE_POISON)) {
		ksft_test_result_skip("%s: no UFFD_FEATURE_POISON\n", desc);
		return;
	}
	if (which == OP_CONT && !(offered & UFFD_FEATURE_MINOR_SHMEM)) {
		ksft_test_result_skip("%s: no UFFD_FEATURE_MINOR_SHMEM\n", desc);
		return;
	}
	if (m != M_ANON && !(offered & UFFD_FEATURE_MISSING_SHMEM) && which != OP_CONT) {
		ksft_test_result_skip("%s: no UFFD_FEATURE_MISSING_SHMEM\n", desc);
		return;
	}
	if (arena_init(&a, which, m, r) || prep_page(&a, which, r)) {
		ksft_test_result_fail("%s\n", desc);
		ksft_print_msg("setup: %s\n", a.why);
		arena_fini(&a);
		return;
	}

	from = src;
	if (r->src_self)
		from = a.base + (r->start - 1) * ps;
	if (r->src_hole)
		madvise(src + (r->src_hole - 1 - r->start) * ps, ps, MADV_DONTNEED);
	ret = fill(a.uffd, which, a.base + r->start * ps, r->len * ps, from, &field, &err);
	want = x->err && !done ? -x->err : (__s64)(done * ps);
	ok = (x->err ? ret == -1 && err == x->err : ret == 0) && field == want;
	ksft_test_result(ok, "%s\n", desc);
	if (!ok) {
		if (field == SENTINEL)
			ksft_print_msg("got ret %d errno %s, field untouched\n", ret, errname(err));
		else
			ksft_print_msg("got ret %d errno %s, field %lld (%lld pages)\n", ret,
				       errname(err), (long long)field,
				       (long long)(field / (__s64)ps));
	}

	ok = check_pages(&a, which, r, done);
	ksft_test_result(ok, "%s %s: %s: the pages afterwards\n", op_name[which],
			 mem_name[m], r->name);
	arena_fini(&a);
	if (r->src_hole)
		fill_pattern(src, NPAGES * ps, 'S');
}

int main(int argc, char **argv)
{
	int fd;

	quiet = argc > 1 && !strcmp(argv[1], "-q");
	ksft_print_header();

	fd = uffd_open();
	if (fd < 0 || uffd_api(fd, 0, &offered))
		ksft_exit_skip("userfaultfd: %s\n", strerror(errno));
	close(fd);
	if (!(offered & UFFD_FEATURE_POISON))
		say("no UFFD_FEATURE_POISON: the POISON and marker rows are skipped\n");

	ps = psize();
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0 || catch_sigbus())
		ksft_exit_fail_msg("pagemap or sigaction: %s\n", strerror(errno));
	src = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	prep_src = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED || prep_src == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	fill_pattern(src, NPAGES * ps, 'S');
	fill_pattern(prep_src, ps, 'P');

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];

		say("row: %s\n", r->name);
		for (size_t j = 0; j < ARRAY_SIZE(runs); j++) {
			const struct expect *x = find_exp(r, runs[j].op, runs[j].mem);

			if (x)
				run_case(r, runs[j].op, runs[j].mem, x);
		}
	}
	finish_tests();
}
