// SPDX-License-Identifier: GPL-2.0
/*
 * What the userfaultfd fill ioctls (UFFDIO_COPY, UFFDIO_ZEROPAGE,
 * UFFDIO_CONTINUE, UFFDIO_POISON) answer to bad and borderline requests.
 *
 * Each of them has a result field (copy, zeropage, mapped, updated) that the
 * kernel may write back: the number of bytes filled, or a negative errno when
 * nothing was filled.  Whether it is written at all depends on where the
 * request fails:
 *   - refused before the range is looked up (no UFFDIO_API handshake, range
 *     or mode bits malformed, owning mm gone, argument unreadable): only
 *     errno says so, the field keeps what userspace put there;
 *   - raised mmap_changing (a non-cooperative event not yet read): the
 *     field gets -EAGAIN;
 *   - anything found while filling (no VMA, VMA not registered, page
 *     present, page cache empty, beyond EOF, hugetlb misalignment, ...):
 *     the field gets the negative errno when nothing was filled, or the
 *     byte count when some of the range was filled, and the ioctl then
 *     fails with EAGAIN.
 *
 * The checks are a table: each row sets up a fresh arena (a 4-unit mapping
 * of the memory type, optionally with a second VMA, a hole or an
 * unregistered VMA after it, and some units filled beforehand), runs one
 * ioctl with the field pre-set to a sentinel, and checks the return value,
 * errno and the field; where something was filled it checks the bytes too.
 * A unit is a base page, or a 2MB huge page for hugetlb (memfd with
 * MFD_HUGETLB, mapped shared or private); the hugetlb rows are skipped when
 * no free huge pages are available.
 *
 * The expected values are those of Linux 6.12 (fs/userfaultfd.c,
 * mm/userfaultfd.c, mm/shmem.c, mm/hugetlb.c).  Some of them may surprise:
 * the fill ioctls check only that the range is registered, not for MISSING
 * or MINOR (CONTINUE works on a MISSING-only range, COPY and POISON on a
 * MINOR-only one; only MODE_WP is checked against the registration); COPY
 * replaces a poison or write-protect marker while POISON never does, and
 * ZEROPAGE does only on shared shmem, whose zero page goes through the page
 * cache.  The marker rows rely on UFFDIO_POISON and UFFDIO_WRITEPROTECT
 * leaving a marker in an empty PTE.  A 6.18 kernel gives the same answers
 * to every row.
 *
 * With -q only the KTAP lines (and diagnostics of failed checks) are printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"

#define SENTINEL ((__s64)0x5a5a5a5a5a5a5a5aLL)

enum op { OP_COPY, OP_ZERO, OP_CONT, OP_POISON, NR_OPS };
#define X_COPY	(1u << OP_COPY)
#define X_ZERO	(1u << OP_ZERO)
#define X_CONT	(1u << OP_CONT)
#define X_POIS	(1u << OP_POISON)
#define X_ALL	(X_COPY | X_ZERO | X_CONT | X_POIS)

static const char *const op_name[] = { "COPY", "ZEROPAGE", "CONTINUE", "POISON" };
static const char *const field_name[] = { "copy", "zeropage", "mapped", "updated" };

enum mem { M_ANON, M_SHMEM, M_SHMEM_PRIV, M_HUGE, M_HUGE_PRIV, NR_MEMS };
#define A_ANON	(1u << M_ANON)
#define A_SHM	(1u << M_SHMEM)
#define A_SHMP	(1u << M_SHMEM_PRIV)
#define A_HUGE	(1u << M_HUGE)
#define A_HUGEP	(1u << M_HUGE_PRIV)
#define A_SHMS	(A_SHM | A_SHMP)
#define A_HUGES	(A_HUGE | A_HUGEP)
#define A_FILE	(A_SHMS | A_HUGES)
#define A_ALL	(A_ANON | A_FILE)

static const char *const mem_name[] = {
	"anon", "shmem", "shmem private", "hugetlb", "hugetlb private",
};

/* What the field must hold afterwards. */
enum fld {
	F_UNTOUCHED,	/* still the sentinel */
	F_NEG,		/* -errno */
	F_UNITS,	/* units * unit size */
	F_NONE,		/* not checked (the argument itself is unreadable) */
};

struct expect {
	unsigned int ops, mems;
	int err;		/* 0: the ioctl succeeds */
	enum fld fld;
	int units;
};

#define EXP(o, m, e, f, n) { .ops = (o), .mems = (m), .err = (e), .fld = (f), .units = (n) }
/* refused before anything is looked up: errno only */
#define REJECTS(o, m, e)	EXP(o, m, e, F_UNTOUCHED, 0)
/* failed while filling, nothing filled: errno and -errno in the field */
#define FAILS(o, m, e)		EXP(o, m, e, F_NEG, 0)
#define FILLS(o, m, n)		EXP(o, m, 0, F_UNITS, n)
#define PARTIAL(o, m, n)	EXP(o, m, EAGAIN, F_UNITS, n)

/* Done before the checked ioctl; @unit -1 is all four units. */
enum prep_kind {
	P_NONE,
	P_COPY,		/* UFFDIO_COPY the unit */
	P_CACHE,	/* write the unit through a second, shared mapping */
	P_CONT,		/* UFFDIO_CONTINUE the unit */
	P_POISON,	/* UFFDIO_POISON the unit */
	P_WP,		/* UFFDIO_WRITEPROTECT the (empty) unit */
};

struct prep {
	enum prep_kind kind;
	int unit;
	unsigned int ops;	/* only before these ioctls; 0: all */
};

/* What follows the 4-unit mapping (units 4..7). */
#define L_HOLE	0x1	/* nothing */
#define L_TWO	0x2	/* a second VMA (units 4, 5), registered too */
#define L_UNREG	0x4	/* a second VMA (units 4, 5), not registered */
#define L_SHORT	0x8	/* the file is 3 units long: unit 3 is beyond EOF */

#define T_START_HIGH	0x001	/* start = 1 << 63 */
#define T_LEN_WRAP	0x002	/* start + len wraps around */
#define T_LEN_BEYOND	0x004	/* start + len beyond the address space */
#define T_SRC_HIGH	0x008	/* COPY source = 1 << 63 */
#define T_SRC_NONE	0x010	/* COPY source PROT_NONE */
#define T_SRC_HALF	0x020	/* COPY source units 2, 3 PROT_NONE */
#define T_SRC_PLUS1	0x040	/* COPY source one byte past a page boundary */
#define T_MODE_UNKNOWN	0x080	/* the lowest mode bit the ioctl does not know */
#define T_MODE_TOP	0x100	/* mode bit 63 */
#define T_MODE_WP	0x200	/* COPY / CONTINUE MODE_WP */
#define T_CHECK_DATA	0x400	/* check what landed in the filled units */

enum special {
	S_NONE,
	S_NO_API,		/* a userfaultfd without the UFFDIO_API handshake */
	S_NULL_ARG,		/* argument pointer NULL */
	S_DEAD_MM,		/* the userfaultfd of a process that has exited */
	S_REMOVE_PENDING,	/* an unread UFFD_EVENT_REMOVE */
	S_FORK_PENDING,		/* an unread UFFD_EVENT_FORK */
};

#define MAX_EXP 8

struct row {
	const char *name;
	unsigned int layout;
	__u64 reg;		/* registration mode; 0: MISSING (+MINOR on files) */
	__u64 features;
	struct prep prep[2];
	/* range: units, base pages and bytes from the start of the arena */
	int start_u, start_p, start_b;
	int len_u, len_p, len_b;
	unsigned int tweak;
	enum special special;
	struct expect exp[MAX_EXP];
};

#define MISSING	UFFDIO_REGISTER_MODE_MISSING
#define MINOR	UFFDIO_REGISTER_MODE_MINOR
#define WP	UFFDIO_REGISTER_MODE_WP

static const struct row rows[] = {
	/*
	 * Refused before the range is looked up (userfaultfd_ioctl(),
	 * validate_range(), the mode checks in userfaultfd_copy() & co.,
	 * mmget_not_zero()): the field is never written.  Memory type does
	 * not matter here; anon stands for all.
	 */
	{ "no UFFDIO_API handshake", .special = S_NO_API, .len_u = 1,
	  .exp = { REJECTS(X_ALL, A_ANON, EINVAL) } },
	{ "argument pointer NULL", .special = S_NULL_ARG, .len_u = 1,
	  .exp = { EXP(X_ALL, A_ANON, EFAULT, F_NONE, 0) } },
	{ "start not page-aligned", .start_b = 1, .len_u = 1,
	  .exp = { REJECTS(X_ALL, A_ANON, EINVAL) } },
	{ "len not page-aligned", .len_u = 1, .len_b = 1,
	  .exp = { REJECTS(X_ALL, A_ANON, EINVAL) } },
	{ "len zero", .len_u = 0,
	  .exp = { REJECTS(X_ALL, A_ANON, EINVAL) } },
	{ "start + len wraps around", .len_u = 1, .tweak = T_LEN_WRAP,
	  .exp = { REJECTS(X_ALL, A_ANON, EINVAL) } },
	{ "start + len beyond TASK_SIZE", .len_u = 1, .tweak = T_LEN_BEYOND,
	  .exp = { REJECTS(X_ALL, A_ANON, EINVAL) } },
	{ "start beyond TASK_SIZE", .len_u = 1, .tweak = T_START_HIGH,
	  .exp = { REJECTS(X_ALL, A_ANON, EINVAL) } },
	{ "source beyond TASK_SIZE", .len_u = 1, .tweak = T_SRC_HIGH,
	  .exp = { REJECTS(X_COPY, A_ANON, EINVAL) } },
	{ "unknown mode bit", .len_u = 1, .tweak = T_MODE_UNKNOWN,
	  .exp = { REJECTS(X_ALL, A_ANON, EINVAL) } },
	{ "mode bit 63", .len_u = 1, .tweak = T_MODE_TOP,
	  .exp = { REJECTS(X_ALL, A_ANON, EINVAL) } },
	{ "owning process has exited", .special = S_DEAD_MM, .len_u = 1,
	  .exp = { REJECTS(X_ALL, A_ANON, ESRCH) } },

	/* mfill_atomic_hugetlb(): alignment to the huge page size */
	{ "start base-page-aligned, not huge-page-aligned", .start_p = 1, .len_u = 1,
	  .exp = { FAILS(X_ALL, A_HUGES, EINVAL) } },
	{ "len one base page", .len_p = 1,
	  .exp = { FAILS(X_ALL, A_HUGES, EINVAL) } },

	/* uffd_mfill_lock(): one registered VMA must hold the whole range */
	{ "start in a hole", .layout = L_HOLE, .start_u = 4, .len_u = 1,
	  .exp = { FAILS(X_ALL, A_ALL, ENOENT) } },
	{ "range runs from the VMA into a hole", .layout = L_HOLE, .start_u = 3, .len_u = 2,
	  .exp = { FAILS(X_ALL, A_ALL, ENOENT) } },
	{ "range spans two registered VMAs", .layout = L_TWO, .start_u = 3, .len_u = 2,
	  .exp = { FAILS(X_ALL, A_ALL, ENOENT) } },
	{ "range in an unregistered VMA", .layout = L_UNREG, .start_u = 4, .len_u = 1,
	  .exp = { FAILS(X_ALL, A_ALL, ENOENT) } },
	{ "range runs into an unregistered VMA", .layout = L_UNREG, .start_u = 3, .len_u = 2,
	  .exp = { FAILS(X_ALL, A_ALL, ENOENT) } },

	/* mfill_atomic(): mode against the VMA */
	{ "MODE_WP on a range registered without WP", .len_u = 1, .tweak = T_MODE_WP,
	  .prep = { { P_CACHE, 0, X_CONT } },
	  .exp = { FAILS(X_COPY | X_CONT, A_ALL, EINVAL) } },
	{ "hugetlb has no zero page", .reg = MISSING, .len_u = 1,
	  .exp = { FAILS(X_ZERO, A_HUGES, EINVAL) } },
	{ "on a MISSING-only registration", .reg = MISSING, .len_u = 1,
	  .tweak = T_CHECK_DATA, .prep = { { P_CACHE, 0 } },
	  .exp = { FILLS(X_CONT, A_FILE, 1), FAILS(X_CONT, A_ANON, EINVAL) } },
	{ "on a MINOR-only registration", .reg = MINOR, .len_u = 1,
	  .tweak = T_CHECK_DATA,
	  .exp = { FILLS(X_COPY | X_POIS, A_FILE, 1), FILLS(X_ZERO, A_SHMS, 1),
		   FAILS(X_ZERO, A_HUGES, EINVAL) } },

	/* what is already there */
	{ "onto a present page", .reg = MISSING, .len_u = 1,
	  .prep = { { P_COPY, 0 } },
	  .exp = { FAILS(X_COPY | X_POIS, A_ALL, EEXIST),
		   FAILS(X_ZERO, A_ANON | A_SHMS, EEXIST),
		   FAILS(X_ZERO, A_HUGES, EINVAL) } },
	{ "onto a page it mapped before", .reg = MINOR, .len_u = 1,
	  .prep = { { P_CACHE, 0 }, { P_CONT, 0 } },
	  .exp = { FAILS(X_CONT, A_FILE, EEXIST) } },
	{ "page cache has the page, not mapped here", .reg = MISSING, .len_u = 1,
	  .tweak = T_CHECK_DATA, .prep = { { P_CACHE, 0 } },
	  .exp = { FAILS(X_COPY | X_ZERO, A_SHM, EEXIST),
		   FILLS(X_COPY | X_ZERO, A_SHMP, 1),
		   FAILS(X_COPY, A_HUGE, EEXIST),
		   FILLS(X_COPY, A_HUGEP, 1),
		   FAILS(X_ZERO, A_HUGES, EINVAL),
		   FILLS(X_POIS, A_FILE, 1) } },
	{ "onto a poisoned page", .reg = MISSING, .len_u = 1,
	  .tweak = T_CHECK_DATA, .prep = { { P_POISON, 0 } },
	  .exp = { FILLS(X_COPY, A_ALL, 1),
		   FILLS(X_ZERO, A_SHM, 1),
		   FAILS(X_ZERO, A_ANON | A_SHMP, EEXIST),
		   FAILS(X_ZERO, A_HUGES, EINVAL),
		   FAILS(X_POIS, A_ALL, EEXIST) } },
	{ "onto a poisoned page", .reg = MINOR, .len_u = 1,
	  .tweak = T_CHECK_DATA, .prep = { { P_CACHE, 0 }, { P_POISON, 0 } },
	  .exp = { FILLS(X_CONT, A_FILE, 1) } },
	{ "onto a write-protect marker", .reg = MISSING | WP,
	  .features = UFFD_FEATURE_WP_UNPOPULATED, .len_u = 1,
	  .tweak = T_CHECK_DATA, .prep = { { P_WP, 0 } },
	  .exp = { FILLS(X_COPY, A_ALL, 1),
		   FILLS(X_ZERO, A_SHM, 1),
		   FAILS(X_ZERO, A_ANON | A_SHMP, EEXIST),
		   FAILS(X_ZERO, A_HUGES, EINVAL),
		   FAILS(X_POIS, A_ALL, EEXIST) } },
	{ "onto a write-protect marker", .reg = MINOR | WP, .len_u = 1,
	  .tweak = T_CHECK_DATA, .prep = { { P_CACHE, 0 }, { P_WP, 0 } },
	  .exp = { FILLS(X_CONT, A_FILE, 1) } },
	{ "page cache has no page", .len_u = 1,
	  .exp = { FAILS(X_CONT, A_FILE, EFAULT), FAILS(X_CONT, A_ANON, EINVAL) } },
	{ "beyond the end of the file", .layout = L_SHORT, .start_u = 3, .len_u = 1,
	  .prep = { { P_CACHE, 0, X_CONT } },
	  .exp = { FAILS(X_COPY | X_ZERO | X_POIS, A_SHMS, EFAULT),
		   FAILS(X_CONT, A_SHMS, EINVAL) } },

	/* several units: stops at the first one it cannot fill */
	{ "4 units, the first present", .reg = MISSING, .len_u = 4,
	  .prep = { { P_COPY, 0 } },
	  .exp = { FAILS(X_COPY | X_POIS, A_ALL, EEXIST),
		   FAILS(X_ZERO, A_ANON | A_SHMS, EEXIST),
		   FAILS(X_ZERO, A_HUGES, EINVAL) } },
	{ "4 units, the third present", .reg = MISSING, .len_u = 4,
	  .tweak = T_CHECK_DATA, .prep = { { P_COPY, 2 } },
	  .exp = { PARTIAL(X_COPY | X_POIS, A_ALL, 2),
		   PARTIAL(X_ZERO, A_ANON | A_SHMS, 2),
		   FAILS(X_ZERO, A_HUGES, EINVAL) } },
	{ "4 units, the third mapped before", .reg = MINOR, .len_u = 4,
	  .tweak = T_CHECK_DATA, .prep = { { P_CACHE, -1 }, { P_CONT, 2 } },
	  .exp = { PARTIAL(X_CONT, A_FILE, 2) } },
	{ "4 units, the third not in the page cache", .reg = MINOR, .len_u = 4,
	  .tweak = T_CHECK_DATA, .prep = { { P_CACHE, 0 }, { P_CACHE, 1 } },
	  .exp = { PARTIAL(X_CONT, A_FILE, 2) } },
	{ "source unreadable", .len_u = 1, .tweak = T_SRC_NONE,
	  .exp = { FAILS(X_COPY, A_ALL, EFAULT) } },
	{ "4 units, source readable for 2", .len_u = 4,
	  .tweak = T_SRC_HALF | T_CHECK_DATA,
	  .exp = { PARTIAL(X_COPY, A_ALL, 2) } },
	{ "source not page-aligned", .len_u = 1, .tweak = T_SRC_PLUS1 | T_CHECK_DATA,
	  .exp = { FILLS(X_COPY, A_ALL, 1) } },

	/*
	 * mmap_changing raised by a non-cooperative event that has not been
	 * read: refused up front, with -EAGAIN in the field.
	 */
	{ "UFFD_EVENT_REMOVE unread", .special = S_REMOVE_PENDING,
	  .features = UFFD_FEATURE_EVENT_REMOVE, .len_u = 1,
	  .prep = { { P_CACHE, 0, X_CONT } },
	  .exp = { FAILS(X_COPY | X_POIS, A_ALL, EAGAIN),
		   FAILS(X_ZERO, A_ANON | A_SHMS, EAGAIN),
		   FAILS(X_CONT, A_FILE, EAGAIN) } },
	{ "UFFD_EVENT_FORK unread", .special = S_FORK_PENDING,
	  .features = UFFD_FEATURE_EVENT_FORK, .len_u = 1,
	  .exp = { FAILS(X_COPY | X_ZERO | X_POIS, A_ANON, EAGAIN) } },
};

static int quiet;
static size_t hsize;
static int have_huge;
static char *src_small, *src_huge;

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
	case ESRCH: return "ESRCH";
	case ENOMEM: return "ENOMEM";
	case EPERM: return "EPERM";
	case EBUSY: return "EBUSY";
	case EIO: return "EIO";
	}
	return "E?";
}

static int is_huge(enum mem m)
{
	return m == M_HUGE || m == M_HUGE_PRIV;
}

static int is_shared(enum mem m)
{
	return m == M_SHMEM || m == M_HUGE;
}

/* One fill ioctl; *field is pre-set to SENTINEL and read back. */
static int fill(int uffd, enum op op, __u64 start, __u64 len, __u64 src, __u64 mode,
		__s64 *field, int *err)
{
	struct uffdio_copy c = { .dst = start, .src = src, .len = len, .mode = mode,
				 .copy = SENTINEL };
	struct uffdio_zeropage z = { .range = { start, len }, .mode = mode,
				     .zeropage = SENTINEL };
	struct uffdio_continue n = { .range = { start, len }, .mode = mode,
				     .mapped = SENTINEL };
	struct uffdio_poison p = { .range = { start, len }, .mode = mode,
				   .updated = SENTINEL };
	int ret = -1;

	errno = 0;
	switch (op) {
	case OP_COPY:
		ret = ioctl(uffd, UFFDIO_COPY, &c);
		*field = c.copy;
		break;
	case OP_ZERO:
		ret = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
		*field = z.zeropage;
		break;
	case OP_CONT:
		ret = ioctl(uffd, UFFDIO_CONTINUE, &n);
		*field = n.mapped;
		break;
	case OP_POISON:
		ret = ioctl(uffd, UFFDIO_POISON, &p);
		*field = p.updated;
		break;
	case NR_OPS:
		break;
	}
	*err = ret ? errno : 0;
	return ret;
}

static unsigned long fill_cmd(enum op op)
{
	static const unsigned long cmd[] = {
		UFFDIO_COPY, UFFDIO_ZEROPAGE, UFFDIO_CONTINUE, UFFDIO_POISON,
	};

	return cmd[op];
}

struct env {
	enum mem mem;
	size_t unit;
	int uffd, memfd, memfd2;
	char *resv;		/* PROT_NONE reservation holding it all */
	size_t resv_len;
	char *base;		/* the registered mapping, 4 units */
	char *view;		/* MAP_SHARED view of the file, 4 units */
	char *src;		/* COPY source, 4 units */
	char why[128];		/* why setting up failed */
};

static void env_fini(struct env *e)
{
	if (e->uffd >= 0)
		close(e->uffd);
	if (e->resv)
		munmap(e->resv, e->resv_len);
	if (e->view)
		munmap(e->view, 4 * e->unit);
	if (e->memfd >= 0)
		close(e->memfd);
	if (e->memfd2 >= 0)
		close(e->memfd2);
}

/* Maps @len at @addr, of the arena's memory type; a new file for files. */
static int map_at(struct env *e, char *addr, size_t len, size_t file_len, int *fd,
		  int prot)
{
	int flags = MAP_FIXED | (is_shared(e->mem) ? MAP_SHARED : MAP_PRIVATE);

	if (e->mem == M_ANON)
		return mmap(addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			    -1, 0) == MAP_FAILED ? -1 : 0;
	*fd = memfd_create("uffd-fill-errors", MFD_CLOEXEC | (is_huge(e->mem) ? MFD_HUGETLB : 0));
	if (*fd < 0 || ftruncate(*fd, file_len))
		return -1;
	return mmap(addr, len, prot, flags, *fd, 0) == MAP_FAILED ? -1 : 0;
}

static __u64 reg_mode(const struct row *r, enum mem m)
{
	if (r->reg)
		return r->reg;
	return m == M_ANON ? MISSING : MISSING | MINOR;
}

/* Returns 0 when set up, -1 on failure, 1 when the kernel lacks a feature. */
static int env_init(struct env *e, enum mem m, const struct row *r)
{
	size_t u = is_huge(m) ? hsize : psize();
	size_t file_len = (r->layout & L_SHORT ? 3 : 4) * u;
	uint64_t offered = 0, mode;
	int rc;

	memset(e, 0, sizeof(*e));
	e->uffd = -1;
	e->memfd = -1;
	e->memfd2 = -1;
	e->mem = m;
	e->unit = u;
	e->src = is_huge(m) ? src_huge : src_small;
	e->resv_len = 9 * u;
	e->resv = mmap(NULL, e->resv_len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (e->resv == MAP_FAILED) {
		e->resv = NULL;
		snprintf(e->why, sizeof(e->why), "reserve: %s", strerror(errno));
		return -1;
	}
	e->base = (char *)(((unsigned long)e->resv + u - 1) & ~(u - 1));
	if (map_at(e, e->base, 4 * u, file_len, &e->memfd, PROT_READ | PROT_WRITE)) {
		snprintf(e->why, sizeof(e->why), "map: %s", strerror(errno));
		return -1;
	}
	if (m != M_ANON) {
		e->view = mmap(NULL, 4 * u, PROT_READ | PROT_WRITE, MAP_SHARED, e->memfd, 0);
		if (e->view == MAP_FAILED) {
			e->view = NULL;
			snprintf(e->why, sizeof(e->why), "view: %s", strerror(errno));
			return -1;
		}
	}
	if (r->layout & L_HOLE)
		munmap(e->base + 4 * u, 4 * u);
	/* anon: read-only, or it would merge with the first VMA */
	if ((r->layout & (L_TWO | L_UNREG)) &&
	    map_at(e, e->base + 4 * u, 2 * u, 2 * u, &e->memfd2,
		   m == M_ANON ? PROT_READ : PROT_READ | PROT_WRITE)) {
		snprintf(e->why, sizeof(e->why), "second VMA: %s", strerror(errno));
		return -1;
	}

	e->uffd = uffd_open();
	if (e->uffd < 0) {
		snprintf(e->why, sizeof(e->why), "userfaultfd: %s", strerror(errno));
		return -1;
	}
	if (uffd_api(e->uffd, r->features, &offered)) {
		snprintf(e->why, sizeof(e->why), "UFFDIO_API features %#llx: %s",
			 (unsigned long long)r->features, strerror(errno));
		return errno == EINVAL || errno == EPERM ? 1 : -1;
	}
	/* Write-protect of file memory needs CONFIG_PTE_MARKER_UFFD_WP */
	if ((reg_mode(r, m) & WP) && m != M_ANON &&
	    !(offered & UFFD_FEATURE_WP_HUGETLBFS_SHMEM)) {
		snprintf(e->why, sizeof(e->why),
			 "no write-protect of shmem/hugetlb (UFFD_FEATURE_WP_HUGETLBFS_SHMEM)");
		return 1;
	}
	mode = reg_mode(r, m);
	rc = uffd_register(e->uffd, e->base, (r->layout & L_TWO ? 6 : 4) * u, mode & MISSING,
			   mode & WP, mode & MINOR);
	if (rc) {
		snprintf(e->why, sizeof(e->why), "UFFDIO_REGISTER mode %#llx: %s",
			 (unsigned long long)mode, strerror(errno));
		return -1;
	}
	return 0;
}

static int prep_one(struct env *e, const struct prep *p, enum op op)
{
	int first = p->unit < 0 ? 0 : p->unit, n = p->unit < 0 ? 4 : 1;
	size_t u = e->unit;
	char *at = e->base + first * u;
	__s64 field;
	int err = 0;

	if (p->ops && !(p->ops & (1u << op)))
		return 0;
	switch (p->kind) {
	case P_NONE:
		return 0;
	case P_CACHE:
		if (!e->view)
			return 0;
		for (int i = first; i < first + n; i++)
			fill_pattern(e->view + i * u, u, 'C' + i);
		return 0;
	case P_COPY:
		fill(e->uffd, OP_COPY, (unsigned long)at, n * u, (unsigned long)e->src, 0,
		     &field, &err);
		break;
	case P_CONT:
		fill(e->uffd, OP_CONT, (unsigned long)at, n * u, 0, 0, &field, &err);
		break;
	case P_POISON:
		fill(e->uffd, OP_POISON, (unsigned long)at, n * u, 0, 0, &field, &err);
		break;
	case P_WP:
		if (uffd_writeprotect(e->uffd, at, n * u, 1))
			err = errno;
		break;
	}
	if (err)
		snprintf(e->why, sizeof(e->why), "preparing unit %d: %s", p->unit,
			 strerror(err));
	return err ? -1 : 0;
}

/* A userfaultfd whose process has exited: made by a child, passed over. */
/*
 * A userfaultfd whose process has exited: a child makes it and waits; the
 * parent takes a copy with pidfd_getfd() (the guest has no sockets to pass
 * it with), then kills and reaps the child, whose mm is left without users.
 */
static int dead_mm_uffd(void)
{
	int pipefd[2], pidfd = -1, fd = -1, child_fd = -1;
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		int ufd = uffd_open();

		if (ufd < 0 || uffd_api(ufd, 0, NULL))
			ufd = -1;
		if (write(pipefd[1], &ufd, sizeof(ufd)) != sizeof(ufd))
			_exit(1);
		pause();
		_exit(0);
	}
	if (read(pipefd[0], &child_fd, sizeof(child_fd)) == sizeof(child_fd) &&
	    child_fd >= 0) {
		pidfd = syscall(SYS_pidfd_open, pid, 0);
		if (pidfd >= 0)
			fd = syscall(SYS_pidfd_getfd, pidfd, child_fd, 0);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (pidfd >= 0)
		close(pidfd);
out:
	close(pipefd[0]);
	close(pipefd[1]);
	return fd;
}

/* Raises mmap_changing: a thread's madvise() or fork() waits on its event. */
struct eventer {
	enum special kind;
	char *addr;
	size_t len;
	int ret, err;
};

static void *eventer_fn(void *arg)
{
	struct eventer *ev = arg;

	if (ev->kind == S_REMOVE_PENDING) {
		ev->ret = madvise(ev->addr, ev->len, MADV_DONTNEED);
	} else {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		ev->ret = pid < 0 ? -1 : (waitpid(pid, NULL, 0) == pid ? 0 : -1);
	}
	ev->err = errno;
	return NULL;
}

static int wait_readable(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1 && (pfd.revents & POLLIN);
}

static const struct expect *find_exp(const struct row *r, enum op op, enum mem m)
{
	for (int i = 0; i < MAX_EXP && r->exp[i].ops; i++)
		if ((r->exp[i].ops & (1u << op)) && (r->exp[i].mems & (1u << m)))
			return &r->exp[i];
	return NULL;
}

static __u64 mode_for(const struct row *r, enum op op)
{
	if (r->tweak & T_MODE_TOP)
		return 1ULL << 63;
	if (r->tweak & T_MODE_UNKNOWN)
		/* COPY and CONTINUE know DONTWAKE and WP, the others DONTWAKE */
		return op == OP_COPY || op == OP_CONT ? 1ULL << 2 : 1ULL << 1;
	if (r->tweak & T_MODE_WP)
		return op == OP_COPY ? UFFDIO_COPY_MODE_WP : UFFDIO_CONTINUE_MODE_WP;
	return 0;
}

static void describe_exp(char *buf, size_t size, const struct expect *x, enum op op, size_t u)
{
	const char *f = field_name[op];

	switch (x->fld) {
	case F_UNTOUCHED:
		snprintf(buf, size, "%s, %s untouched", errname(x->err), f);
		break;
	case F_NEG:
		snprintf(buf, size, "%s, %s -%s", errname(x->err), f, errname(x->err));
		break;
	case F_UNITS:
		snprintf(buf, size, "%s, %s %d*%s", x->err ? errname(x->err) : "ok", f,
			 x->units, u == (size_t)psize() ? "page" : "2MB");
		break;
	case F_NONE:
		snprintf(buf, size, "%s", errname(x->err));
		break;
	}
}

static int field_ok(const struct expect *x, __s64 field, size_t u)
{
	switch (x->fld) {
	case F_UNTOUCHED:
		return field == SENTINEL;
	case F_NEG:
		return field == -x->err;
	case F_UNITS:
		return field == (__s64)(x->units * u);
	case F_NONE:
		return 1;
	}
	return 0;
}

static int result_ok(const struct expect *x, int ret, int err, __s64 field, size_t u)
{
	int ret_ok = x->err ? ret == -1 && err == x->err : ret == 0;

	return ret_ok && field_ok(x, field, u);
}

static void show_got(int ret, int err, __s64 field)
{
	if (field == SENTINEL)
		ksft_print_msg("got ret %d errno %s, field untouched\n", ret, errname(err));
	else
		ksft_print_msg("got ret %d errno %s, field %lld\n", ret, errname(err),
			       (long long)field);
}

/* The filled units hold what the ioctl put there. */
static int data_ok(struct env *e, enum op op, int first, int n, unsigned int tweak)
{
	size_t u = e->unit;

	for (int i = first; i < first + n; i++) {
		char *p = e->base + i * u;

		switch (op) {
		case OP_COPY: {
			char *s = e->src + (i - first) * u + (tweak & T_SRC_PLUS1 ? 1 : 0);

			if (memcmp(p, s, u))
				return 0;
			break;
		}
		case OP_ZERO:
			for (size_t j = 0; j < u / sizeof(uint64_t); j++)
				if (((uint64_t *)p)[j])
					return 0;
			break;
		case OP_CONT:
			if (memcmp(p, e->view + i * u, u))
				return 0;
			break;
		case OP_POISON:
		case NR_OPS:
			break;
		}
	}
	return 1;
}

static void run_case(const struct row *r, enum mem m, enum op op, const struct expect *x)
{
	char desc[256], what[96];
	struct env e;
	struct eventer ev = { 0 };
	pthread_t thread;
	int thread_live = 0, ret, err, rc, fd;
	__u64 start, len, src, mode;
	__s64 field;
	size_t u;

	describe_exp(what, sizeof(what), x, op, is_huge(m) ? hsize : psize());
	snprintf(desc, sizeof(desc), "%s %s: %s: %s", op_name[op], mem_name[m], r->name, what);
	if (is_huge(m) && !have_huge) {
		ksft_test_result_skip("%s: no free 2MB hugetlb pages\n", desc);
		return;
	}
	rc = env_init(&e, m, r);
	if (rc) {
		if (rc > 0)
			ksft_test_result_skip("%s: %s\n", desc, e.why);
		else
			ksft_test_result_fail("%s\n", desc);
		if (rc < 0)
			ksft_print_msg("setup: %s\n", e.why);
		env_fini(&e);
		return;
	}
	u = e.unit;
	for (int i = 0; i < 2; i++) {
		if (prep_one(&e, &r->prep[i], op)) {
			ksft_test_result_fail("%s\n", desc);
			ksft_print_msg("setup: %s\n", e.why);
			env_fini(&e);
			return;
		}
	}

	start = (unsigned long)e.base + r->start_u * u + r->start_p * psize() + r->start_b;
	len = r->len_u * u + r->len_p * psize() + r->len_b;
	src = (unsigned long)e.src;
	if (r->tweak & T_START_HIGH)
		start = 1ULL << 63;
	if (r->tweak & T_LEN_WRAP)
		len = -(__u64)psize();
	if (r->tweak & T_LEN_BEYOND)
		len = 1ULL << 62;
	if (r->tweak & T_SRC_HIGH)
		src = 1ULL << 63;
	if (r->tweak & T_SRC_PLUS1)
		src += 1;
	if (r->tweak & T_SRC_NONE)
		mprotect(e.src, 4 * u, PROT_NONE);
	if (r->tweak & T_SRC_HALF)
		mprotect(e.src + 2 * u, 2 * u, PROT_NONE);
	mode = mode_for(r, op);

	fd = e.uffd;
	if (r->special == S_NO_API) {
		fd = uffd_open();
	} else if (r->special == S_DEAD_MM) {
		fd = dead_mm_uffd();
	} else if (r->special == S_REMOVE_PENDING || r->special == S_FORK_PENDING) {
		ev.kind = r->special;
		ev.addr = e.base + 3 * u;
		ev.len = u;
		if (pthread_create(&thread, NULL, eventer_fn, &ev) == 0)
			thread_live = 1;
		/* the event is queued after mmap_changing was raised */
		if (!thread_live || !wait_readable(e.uffd, 5000)) {
			ksft_test_result_fail("%s\n", desc);
			ksft_print_msg("no event arrived\n");
			goto out;
		}
	}
	if (fd < 0) {
		ksft_test_result_fail("%s\n", desc);
		ksft_print_msg("setup: userfaultfd: %s\n", strerror(errno));
		goto out;
	}

	if (r->special == S_NULL_ARG) {
		field = SENTINEL;
		ret = ioctl(fd, fill_cmd(op), NULL);
		err = ret ? errno : 0;
	} else {
		ret = fill(fd, op, start, len, src, mode, &field, &err);
	}
	if (fd != e.uffd)
		close(fd);
	rc = result_ok(x, ret, err, field, u);
	ksft_test_result(rc, "%s\n", desc);
	if (!rc)
		show_got(ret, err, field);

	if (thread_live) {
		struct uffd_msg msg;
		int want = r->special == S_REMOVE_PENDING ? UFFD_EVENT_REMOVE : UFFD_EVENT_FORK;
		int got = read(e.uffd, &msg, sizeof(msg)) == sizeof(msg) && msg.event == want;

		if (got && want == UFFD_EVENT_FORK)
			close(msg.arg.fork.ufd);
		if (join_within(thread, 5)) {
			ksft_print_msg("the %s thread does not return\n", op_name[op]);
			finish_tests();
		}
		thread_live = 0;
		/* mmap_changing is down again: the same request now works */
		ret = fill(e.uffd, op, start, len, src, mode, &field, &err);
		rc = got && ev.ret == 0 && ret == 0 && field == (__s64)len;
		ksft_test_result(rc, "%s %s: %s: fills once the event is read\n", op_name[op],
				 mem_name[m], r->name);
		if (!rc) {
			ksft_print_msg("event read: %d, eventer ret %d (%s)\n", got, ev.ret,
				       strerror(ev.err));
			show_got(ret, err, field);
		}
	}

	if ((r->tweak & T_CHECK_DATA) && x->fld == F_UNITS && x->units > 0 && op != OP_POISON &&
	    field == (__s64)(x->units * u)) {
		rc = data_ok(&e, op, r->start_u, x->units, r->tweak);
		ksft_test_result(rc, "%s %s: %s: the filled units hold the %s\n", op_name[op],
				 mem_name[m], r->name,
				 op == OP_COPY ? "source bytes" :
				 op == OP_ZERO ? "zeroes" : "page cache bytes");
	}
out:
	if (thread_live) {
		/* closing the userfaultfd lets the waiting thread go on */
		close(e.uffd);
		e.uffd = -1;
		if (join_within(thread, 5)) {
			ksft_print_msg("the event thread does not return\n");
			finish_tests();
		}
	}
	if (r->tweak & (T_SRC_NONE | T_SRC_HALF))
		mprotect(e.src, 4 * u, PROT_READ | PROT_WRITE);
	env_fini(&e);
}

int main(int argc, char **argv)
{
	int fd;

	quiet = argc > 1 && !strcmp(argv[1], "-q");
	ksft_print_header();

	fd = uffd_open();
	if (fd < 0 || uffd_api(fd, 0, NULL))
		ksft_exit_skip("userfaultfd: %s\n", strerror(errno));
	close(fd);

	/* 2MB pages only: every row uses four of them, plus a few more */
	hsize = default_huge_page_size();
	have_huge = get_free_hugepages() >= 16 && hsize == 2 << 20;
	if (!have_huge)
		say("no free 2MB hugetlb pages: the hugetlb rows are skipped\n");

	src_small = mmap(NULL, 4 * psize(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src_huge = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src_small == MAP_FAILED || src_huge == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	fill_pattern(src_small, 4 * psize(), 's');
	fill_pattern(src_huge, 8 << 20, 'h');

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const struct row *r = &rows[i];

		say("row: %s\n", r->name);
		for (enum mem m = 0; m < NR_MEMS; m++)
			for (enum op op = 0; op < NR_OPS; op++) {
				const struct expect *x = find_exp(r, op, m);

				if (x)
					run_case(r, m, op, x);
			}
	}
	finish_tests();
}
