// SPDX-License-Identifier: GPL-2.0
/*
 * The userfaultfd fill ioctls on shared shmem and on hugetlb, where the
 * memory is a file: i_size, the page cache, the huge page pool, and the
 * uffd-wp state across MADV_DONTNEED, fork and mremap.
 *
 *  1. shmem (a memfd mapped shared): UFFDIO_COPY and UFFDIO_ZEROPAGE, with
 *     and without UFFDIO_COPY_MODE_WP (ZEROPAGE has no WP mode), the bytes
 *     checked through a second mapping of the memfd, the uffd-wp bit
 *     through pagemap, and a write to a protected page raising a
 *     write-protect message that the main thread reads and resolves;
 *  2. shmem beyond i_size after ftruncate() shrank the file under a still
 *     registered mapping: COPY and ZEROPAGE fail with EFAULT; a COPY across
 *     i_size fills up to it (EAGAIN with the count); ftruncate() racing a
 *     COPY loop from another thread: each COPY succeeds or fails with
 *     EFAULT, ENOENT or EEXIST, its result field agrees, and the file ends
 *     up holding, page by page, either the copied bytes or zeroes;
 *  3. shmem COPY onto a page already in the page cache (pwrite(), or a
 *     write through a second mapping): EEXIST; and with a thread adding the
 *     page at the same time: success or EEXIST, and the page shows which;
 *  4. hugetlb (MAP_HUGETLB private anonymous, a MFD_HUGETLB memfd mapped
 *     shared, and mapped private): COPY, CONTINUE (MINOR registration, the
 *     page put in the page cache through a second, shared mapping), POISON
 *     (an access gets SIGBUS), with and without MODE_WP where it exists;
 *  5. hugetlb ZEROPAGE: EINVAL; hugetlb CONTINUE with no page in the page
 *     cache: EFAULT;
 *  6. hugetlb COPY running out of huge pages in the middle of its range (a
 *     private MAP_NORESERVE mapping larger than what is left in the pool,
 *     which is made small for the case through /proc/sys/vm/nr_hugepages
 *     and restored right after): the count of what was done with EAGAIN,
 *     an error once nothing can be done, and HugePages_Free and
 *     HugePages_Rsvd as they were after munmap();
 *  7. a MINOR fault on shmem and on hugetlb, from a thread, resolved by
 *     changing the page through a second mapping and UFFDIO_CONTINUE: the
 *     thread reads the new bytes;
 *  8. hugetlb: a write-protected page dropped with MADV_DONTNEED leaves a
 *     uffd-wp marker (pagemap still shows the bit); a write raises a
 *     write-protect message, lands only after un-protect;
 *  9. hugetlb fork, with and without UFFD_FEATURE_EVENT_FORK (shared and
 *     private mappings): the child's pagemap bit, and the parent's;
 * 10. hugetlb mremap, with and without UFFD_FEATURE_EVENT_REMAP: the bit and
 *     the marker move with the pages, or are dropped with the registration;
 * 11. shmem COPY and ZEROPAGE into a full tmpfs (a tmpfs of its own, mounted
 *     with size= 2 pages on a fresh directory under /tmp, a file of 4 pages
 *     mapped shared): the first 2 pages fill it, then each fill fails with
 *     ENOMEM and nothing is mapped or added to the page cache.
 *
 * Every ioctl is checked for its return value, errno and result field (set
 * to a sentinel beforehand), and every case for the bytes of the pages
 * involved.  The expected answers are upstream's; they were established by
 * running this program on a 6.18 kernel (the build host) and, but for the
 * one noted below, agree with the 6.12 sources (mm/shmem.c
 * shmem_mfill_atomic_pte(), mm/hugetlb.c hugetlb_mfill_atomic_pte() and
 * copy_hugetlb_page_range(), mm/userfaultfd.c, fs/userfaultfd.c):
 *   - shmem COPY/ZEROPAGE at or beyond i_size: EFAULT, field -EFAULT;
 *   - a range that crosses i_size: EAGAIN, field = the bytes below it;
 *   - COPY onto a page in the page cache (shared shmem, shared hugetlb):
 *     EEXIST, field -EEXIST;
 *   - hugetlb ZEROPAGE: EINVAL, field -EINVAL;
 *   - hugetlb CONTINUE with no page in the page cache: EFAULT, field
 *     -EFAULT;
 *   - hugetlb COPY running out of huge pages after some: EAGAIN, field =
 *     the bytes done;
 *   - hugetlb COPY with no huge page for its first page: ENOMEM, field
 *     -ENOMEM on 6.12 (hugetlb_mfill_atomic_pte() turns any failure of
 *     alloc_hugetlb_folio() into -ENOMEM); the 6.18 build host answers
 *     EEXIST, field -EEXIST.  The only difference found between the two:
 *     the answer is asserted exactly on 6.12, either one elsewhere;
 *   - shmem COPY/ZEROPAGE into a tmpfs whose size= is used up: ENOMEM,
 *     field -ENOMEM, also for a range of 2 pages with nothing done
 *     (shmem_mfill_atomic_pte() turns any failure of
 *     shmem_inode_acct_blocks() into -ENOMEM, not shmem's -ENOSPC);
 *   - ZEROPAGE with mode bit 1 (there is no ZEROPAGE_MODE_WP): EINVAL,
 *     before the range is looked at, the field left alone;
 *   - fork without EVENT_FORK: the child's VMA is no longer uffd-wp, so a
 *     shared mapping's page tables are not copied (pagemap: nothing) and a
 *     private one's are copied with the bit cleared; with EVENT_FORK the
 *     child's entry keeps the bit, and the child's userfaultfd (from the
 *     UFFD_EVENT_FORK message) can un-protect it;
 *   - mremap without EVENT_REMAP: the bit is cleared, the marker dropped
 *     and the new range is not registered (UFFDIO_WRITEPROTECT: ENOENT);
 *     with EVENT_REMAP both move and the parent reads UFFD_EVENT_REMAP.
 *
 * Huge pages: at most 2 at a time from the pool.  Case 6 shrinks the pool
 * (nr_hugepages, and nr_overcommit_hugepages to 0) so that 2 pages are
 * left free, and puts both back right after the case, at exit and on
 * SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV and SIGABRT (not on SIGKILL).
 * The hugetlb cases skip when fewer than 4 huge pages are free; case 6
 * skips when fewer than 2 are, or the sysctls are not writable.  Case 11
 * (run as root) skips when mount() gives EPERM; it unmounts the tmpfs and
 * removes the directory whatever happens in it, short of a fatal signal.
 *
 * With -q only the KTAP lines (and diagnostics of failed checks) are printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"

#define SENT		((__s64)0x5a5a5a5a5a5a5a5aLL)
#define TMO_MS		3000
#define SEEN		64	/* bytes a reading thread records */

#define MISSING		UFFDIO_REGISTER_MODE_MISSING
#define WPREG		UFFDIO_REGISTER_MODE_WP
#define MINOR		UFFDIO_REGISTER_MODE_MINOR
#define F_WPFILE	UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define WP_WRITE	(UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE)

#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define NR_OVERCOMMIT	"/proc/sys/vm/nr_overcommit_hugepages"

static size_t pg, hpg;
static uint64_t offered;
static int quiet, pmfd = -1;

/* Diagnostics left out with -q. */
#define note(...) do { if (!quiet) ksft_print_msg(__VA_ARGS__); } while (0)

/* ---- one test: a name, checks that print what failed, one KTAP line ---- */

struct tc {
	char name[160];
	int ok;
};

static __printf(2, 3) void tc_start(struct tc *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->name, sizeof(t->name), fmt, ap);
	va_end(ap);
	t->ok = 1;
}

/* @cond, or a diagnostic and the test fails. */
static __printf(3, 4) int check(struct tc *t, int cond, const char *fmt, ...)
{
	char buf[320];
	va_list ap;

	if (cond)
		return 1;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ksft_print_msg("%s: %s\n", t->name, buf);
	t->ok = 0;
	return 0;
}

static void tc_end(struct tc *t)
{
	ksft_test_result(t->ok, "%s\n", t->name);
}

static void tc_skip(struct tc *t, const char *why)
{
	ksft_test_result_skip("%s: %s\n", t->name, why);
}

/* 1 when the kernel offers every feature in @f, else a SKIP line. */
static int need(struct tc *t, uint64_t f)
{
	char why[96];

	if ((offered & f) == f)
		return 1;
	snprintf(why, sizeof(why), "UFFDIO_API features %#llx not offered",
		 (unsigned long long)(f & ~offered));
	tc_skip(t, why);
	return 0;
}

/* Huge pages as /proc/meminfo counts them. */
struct hm {
	long total, free, rsvd, surp;
};

static int hmeminfo(struct hm *m)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	int n = 0;

	memset(m, 0, sizeof(*m));
	while (f && fgets(line, sizeof(line), f)) {
		n += sscanf(line, "HugePages_Total: %ld", &m->total) == 1;
		n += sscanf(line, "HugePages_Free: %ld", &m->free) == 1;
		n += sscanf(line, "HugePages_Rsvd: %ld", &m->rsvd) == 1;
		n += sscanf(line, "HugePages_Surp: %ld", &m->surp) == 1;
	}
	if (f)
		fclose(f);
	return n == 4 ? 0 : -1;
}

/* 1 when @n huge pages are free and unreserved, else a SKIP line. */
static int need_huge(struct tc *t, long n)
{
	struct hm m;
	char why[96];

	if (hpg && !hmeminfo(&m) && m.free - m.rsvd >= n)
		return 1;
	snprintf(why, sizeof(why), "fewer than %ld free huge pages", n);
	tc_skip(t, why);
	return 0;
}

/* ---- the fill ioctls, with the result field preset to SENT ---- */

struct res {
	int ret, err;
	__s64 field;
};

static struct res u_copy(int uffd, void *dst, const void *src, size_t len, __u64 mode)
{
	struct uffdio_copy a = { .dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = len,
				 .mode = mode, .copy = SENT };
	struct res r;

	errno = 0;
	r.ret = ioctl(uffd, UFFDIO_COPY, &a);
	r.err = r.ret ? errno : 0;
	r.field = a.copy;
	return r;
}

static struct res u_zero(int uffd, void *dst, size_t len, __u64 mode)
{
	struct uffdio_zeropage a = { .range = { (uintptr_t)dst, len }, .mode = mode,
				     .zeropage = SENT };
	struct res r;

	errno = 0;
	r.ret = ioctl(uffd, UFFDIO_ZEROPAGE, &a);
	r.err = r.ret ? errno : 0;
	r.field = a.zeropage;
	return r;
}

static struct res u_cont(int uffd, void *dst, size_t len, __u64 mode)
{
	struct uffdio_continue a = { .range = { (uintptr_t)dst, len }, .mode = mode,
				     .mapped = SENT };
	struct res r;

	errno = 0;
	r.ret = ioctl(uffd, UFFDIO_CONTINUE, &a);
	r.err = r.ret ? errno : 0;
	r.field = a.mapped;
	return r;
}

static struct res u_poison(int uffd, void *dst, size_t len)
{
	struct uffdio_poison a = { .range = { (uintptr_t)dst, len }, .updated = SENT };
	struct res r;

	errno = 0;
	r.ret = ioctl(uffd, UFFDIO_POISON, &a);
	r.err = r.ret ? errno : 0;
	r.field = a.updated;
	return r;
}

static const char *ename(int e)
{
	static char buf[16];

	switch (e) {
	case 0: return "0";
	case EFAULT: return "EFAULT";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case EAGAIN: return "EAGAIN";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case ENOSPC: return "ENOSPC";
	case EPERM: return "EPERM";
	case EBUSY: return "EBUSY";
	case ESRCH: return "ESRCH";
	}
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static const char *fstr(__s64 f)
{
	static char buf[32];

	if (f == SENT)
		return "untouched";
	if (f < 0 && f > -4096)
		snprintf(buf, sizeof(buf), "-%s", ename((int)-f));
	else
		snprintf(buf, sizeof(buf), "%lld", (long long)f);
	return buf;
}

/* The ioctl did all of @len: 0, and @len in the result field. */
static int expect_done(struct tc *t, const char *what, struct res r, size_t len)
{
	return check(t, r.ret == 0 && r.field == (__s64)len,
		     "%s: returned %d (%s), field %s; want 0, field %zu", what, r.ret,
		     ename(r.err), fstr(r.field), len);
}

/* The ioctl failed with @err and @field in the result field. */
static int expect_fail(struct tc *t, const char *what, struct res r, int err, __s64 field)
{
	char want[32];

	snprintf(want, sizeof(want), "%s", fstr(field));
	return check(t, r.ret == -1 && r.err == err && r.field == field,
		     "%s: returned %d (%s), field %s; want -1 (%s), field %s", what, r.ret,
		     ename(r.err), fstr(r.field), ename(err), want);
}

/* ---- pagemap ---- */

static uint64_t pme(const void *p)
{
	return pagemap_get_entry(pmfd, (char *)p);
}

static const char *pm_str(uint64_t e)
{
	return e & PM_PRESENT ? (e & PM_UFFD_WP ? "present+uffd-wp" : "present") :
	       e & PM_UFFD_WP ? "uffd-wp (marker)" : e & PM_SWAP ? "swap" : "none";
}

/* pagemap of @p shows @present_ and @wp. */
static int expect_pm(struct tc *t, const char *what, const void *p, int present_, int wp)
{
	uint64_t e = pme(p);

	return check(t, !!(e & PM_PRESENT) == present_ && !!(e & PM_UFFD_WP) == wp,
		     "%s: pagemap shows %s, want %s%s", what, pm_str(e),
		     present_ ? "present" : "not present",
		     wp ? " with uffd-wp" : " without uffd-wp");
}

/* ---- bytes ---- */

static void pat(char *p, size_t len, unsigned int seed)
{
	fill_pattern(p, len, seed);
}

static int is_zero(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* @len bytes at @got are @want: else a diagnostic with the first difference. */
static int expect_bytes(struct tc *t, const char *what, const char *got, const char *want,
			size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (got[i] != want[i])
			return check(t, 0, "%s: byte %zu is %#x, want %#x", what, i,
				     (unsigned char)got[i], (unsigned char)want[i]);
	return 1;
}

static int expect_zero(struct tc *t, const char *what, const char *got, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (got[i])
			return check(t, 0, "%s: byte %zu is %#x, want 0", what, i,
				     (unsigned char)got[i]);
	return 1;
}

/* ---- memory under test ---- */

enum kind {
	SHMEM,		/* memfd, MAP_SHARED */
	HSHARED,	/* MFD_HUGETLB memfd, MAP_SHARED */
	HPRIV,		/* MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB */
	HPRIVFILE,	/* MFD_HUGETLB memfd, MAP_PRIVATE */
};

struct area {
	enum kind kind;
	size_t unit, len;
	int fd, uffd;
	char *p;	/* the registered mapping */
	char *view;	/* a second MAP_SHARED mapping of the file, unregistered */
	char *src;	/* a COPY source of len bytes */
};

static void area_free(struct area *a)
{
	/* the userfaultfd first: nothing can block once it is closed */
	if (a->uffd >= 0)
		close(a->uffd);
	if (a->p)
		munmap(a->p, a->len);
	if (a->view)
		munmap(a->view, a->len);
	if (a->src)
		munmap(a->src, a->len);
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	a->uffd = -1;
	a->src = NULL;
	a->view = NULL;
	a->p = NULL;
}

static int new_uffd(uint64_t features)
{
	int fd = uffd_open();

	if (fd < 0)
		return -1;
	if (uffd_api(fd, features, NULL)) {
		close(fd);
		return -1;
	}
	return fd;
}

static char *map(size_t len, int flags, int fd)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * @units units of memory of @kind, registered in @mode with a userfaultfd
 * that has @features.  0, or -1 after a failed check.
 */
static int area_init(struct tc *t, struct area *a, enum kind kind, size_t units,
		     uint64_t features, uint64_t mode)
{
	int huge = kind != SHMEM;

	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->uffd = -1;
	a->fd = -1;
	a->unit = huge ? hpg : pg;
	a->len = units * a->unit;
	a->src = map(a->len, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!check(t, !!a->src, "mmap the source: %s", strerror(errno)))
		return -1;
	if (kind == HPRIV) {
		a->p = map(a->len, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1);
		if (!check(t, !!a->p, "mmap MAP_HUGETLB: %s", strerror(errno)))
			return -1;
	} else {
		a->fd = memfd_create("uffd-shmem-hugetlb", MFD_CLOEXEC | (huge ? MFD_HUGETLB : 0));
		if (!check(t, a->fd >= 0, "memfd_create: %s", strerror(errno)) ||
		    !check(t, !ftruncate(a->fd, a->len), "ftruncate: %s", strerror(errno)))
			return -1;
		a->p = map(a->len, kind == HPRIVFILE ? MAP_PRIVATE : MAP_SHARED, a->fd);
		a->view = map(a->len, MAP_SHARED, a->fd);
		if (!check(t, a->p && a->view, "mmap the memfd: %s", strerror(errno)))
			return -1;
		if (!huge) {
			/* small pages only, whatever shmem_enabled says */
			madvise(a->p, a->len, MADV_NOHUGEPAGE);
			madvise(a->view, a->len, MADV_NOHUGEPAGE);
		}
	}
	a->uffd = new_uffd(features);
	if (!check(t, a->uffd >= 0, "userfaultfd with features %#llx: %s",
		   (unsigned long long)features, strerror(errno)))
		return -1;
	if (mode && !check(t, !uffd_register(a->uffd, a->p, a->len, mode & MISSING, mode & WPREG,
					     mode & MINOR),
			   "UFFDIO_REGISTER mode %#llx: %s", (unsigned long long)mode,
			   strerror(errno)))
		return -1;
	return 0;
}

/* ---- a thread that touches memory that may fault ---- */

struct toucher {
	volatile char *at;
	const volatile char *unit;	/* also read its first and last byte */
	size_t unit_len;
	int write;
	char v;
	unsigned char seen[SEEN], first, last;
	volatile int done;
	pthread_t th;
};

static void *touch_fn(void *arg)
{
	struct toucher *w = arg;

	if (w->write) {
		w->at[0] = w->v;
	} else {
		for (int i = 0; i < SEEN; i++)
			w->seen[i] = w->at[i];
		if (w->unit) {
			w->first = w->unit[0];
			w->last = w->unit[w->unit_len - 1];
		}
	}
	w->done = 1;
	return NULL;
}

static int touch_start(struct tc *t, struct toucher *w)
{
	errno = pthread_create(&w->th, NULL, touch_fn, w);
	return check(t, errno == 0, "pthread_create: %s", strerror(errno)) ? 0 : -1;
}

/*
 * Joins the thread.  A thread still blocked after 5 s is a failure; closing
 * the userfaultfd lets its fault go on.  1 when it finished by itself.
 */
static int touch_finish(struct tc *t, struct toucher *w, int *uffd)
{
	if (!join_within(w->th, 5))
		return 1;
	check(t, 0, "the touching thread is still blocked after 5 s");
	if (*uffd >= 0) {
		close(*uffd);
		*uffd = -1;
	}
	if (join_within(w->th, 5))
		ksft_exit_fail_msg("%s: the touching thread is stuck\n", t->name);
	return 0;
}

/* An access that must not fault to userspace: it completes, no message. */
static int touch_sync(struct tc *t, int *uffd, char *at, int write, char v)
{
	struct toucher w = { .at = at, .write = write, .v = v };
	struct uffd_msg m;
	int ok;

	if (touch_start(t, &w))
		return 0;
	ok = touch_finish(t, &w, uffd);
	if (*uffd >= 0 && uffd_read_msg(*uffd, &m, 0) == 1)
		ok = check(t, 0, "the %s at %p raised a message (event %u, flags %#llx)",
			   write ? "write" : "read", at, m.event,
			   (unsigned long long)m.arg.pagefault.flags);
	return ok;
}

static int check_msg(struct tc *t, const struct uffd_msg *m, const char *page, __u64 flags)
{
	return check(t, m->event == UFFD_EVENT_PAGEFAULT &&
		     m->arg.pagefault.address == (uintptr_t)page &&
		     m->arg.pagefault.flags == flags,
		     "message: event %u address %#llx flags %#llx; want a page fault at %p, flags %#llx",
		     m->event, (unsigned long long)m->arg.pagefault.address,
		     (unsigned long long)m->arg.pagefault.flags, page,
		     (unsigned long long)flags);
}

/*
 * A thread writes @v at @at, in the write-protected unit at @page: the write
 * raises a write-protect message for @page, has not landed (seen at @seen:
 * the byte in a second mapping, or @at itself) while the unit is
 * protected, and has after un-protect.
 */
static void expect_wp_write(struct tc *t, int *uffd, char *page, size_t unit, char *at,
			    const volatile char *seen, char v)
{
	struct toucher w = { .at = at, .write = 1, .v = v };
	struct uffd_msg m;
	char before = *seen;
	int got;

	if (!check(t, before != v, "test bug: the byte is already %#x", v) || touch_start(t, &w))
		return;
	got = uffd_read_msg(*uffd, &m, TMO_MS);
	if (check(t, got == 1, "the write raised no message within %d ms", TMO_MS))
		check_msg(t, &m, page, WP_WRITE);
	check(t, !w.done && *seen == before, "the write landed while the page was protected");
	check(t, !uffd_writeprotect(*uffd, page, unit, 0), "un-protect: %s", strerror(errno));
	if (touch_finish(t, &w, uffd))
		check(t, *seen == v, "the write has not landed after un-protect");
}

/* ---- 1. shmem COPY and ZEROPAGE ---- */

static void shmem_copy(void)
{
	struct tc t;
	struct area a;
	struct res r;

	tc_start(&t, "shmem: COPY fills two pages, seen through a second mapping");
	if (!need(&t, UFFD_FEATURE_MISSING_SHMEM))
		return;
	if (area_init(&t, &a, SHMEM, 2, 0, MISSING))
		goto out;
	pat(a.src, a.len, 11);
	r = u_copy(a.uffd, a.p, a.src, a.len, 0);
	if (expect_done(&t, "COPY", r, a.len)) {
		expect_bytes(&t, "the file", a.view, a.src, a.len);
		if (expect_pm(&t, "page 0", a.p, 1, 0) & expect_pm(&t, "page 1", a.p + pg, 1, 0))
			expect_bytes(&t, "the registered mapping", a.p, a.src, a.len);
	}
out:
	area_free(&a);
	tc_end(&t);
}

/* How many of the @len bytes at @p (a shared mapping) are in the page cache. */
static int incore(struct tc *t, char *p, size_t len)
{
	unsigned char vec[16];
	int n = 0;

	if (!check(t, len / pg <= sizeof(vec) && !mincore(p, len, vec), "mincore: %s",
		   strerror(errno)))
		return -1;
	for (size_t i = 0; i < len / pg; i++)
		n += vec[i] & 1;
	return n;
}

static void shmem_zeropage(void)
{
	struct tc t;
	struct area a;
	struct res r;
	int n;

	tc_start(&t, "shmem: ZEROPAGE fills two pages with zeroes in the page cache");
	if (!need(&t, UFFD_FEATURE_MISSING_SHMEM))
		return;
	if (area_init(&t, &a, SHMEM, 2, 0, MISSING))
		goto out;
	n = incore(&t, a.view, a.len);
	check(&t, n == 0, "%d pages in the page cache before ZEROPAGE", n);
	r = u_zero(a.uffd, a.p, a.len, 0);
	if (!expect_done(&t, "ZEROPAGE", r, a.len))
		goto out;
	n = incore(&t, a.view, a.len);
	check(&t, n == 2, "%d pages in the page cache after ZEROPAGE, want 2", n);
	expect_zero(&t, "the file", a.view, a.len);
	if (expect_pm(&t, "page 0", a.p, 1, 0) & expect_pm(&t, "page 1", a.p + pg, 1, 0)) {
		expect_zero(&t, "the registered mapping", a.p, a.len);
		/* the same page: a write through one mapping shows in the other */
		if (touch_sync(&t, &a.uffd, a.p + pg + 5, 1, 'z'))
			check(&t, a.view[pg + 5] == 'z',
			      "a write to the mapped page is not in the file");
	}
out:
	area_free(&a);
	tc_end(&t);
}

static void shmem_copy_wp(void)
{
	struct tc t;
	struct area a;
	struct res r;
	size_t off = pg + 123;

	tc_start(&t, "shmem: COPY with MODE_WP maps write-protected, a write raises a WP fault");
	if (!need(&t, UFFD_FEATURE_MISSING_SHMEM | F_WPFILE))
		return;
	if (area_init(&t, &a, SHMEM, 2, F_WPFILE, MISSING | WPREG))
		goto out;
	pat(a.src, a.len, 12);
	r = u_copy(a.uffd, a.p, a.src, a.len, UFFDIO_COPY_MODE_WP);
	if (!expect_done(&t, "COPY MODE_WP", r, a.len))
		goto out;
	expect_bytes(&t, "the file", a.view, a.src, a.len);
	if (!(expect_pm(&t, "page 0", a.p, 1, 1) & expect_pm(&t, "page 1", a.p + pg, 1, 1)))
		goto out;
	expect_bytes(&t, "the registered mapping", a.p, a.src, a.len);
	expect_wp_write(&t, &a.uffd, a.p + pg, pg, a.p + off, a.view + off, ~a.src[off]);
	expect_pm(&t, "page 1 after un-protect", a.p + pg, 1, 0);
	expect_pm(&t, "page 0 (still protected)", a.p, 1, 1);
	a.src[off] = ~a.src[off];
	expect_bytes(&t, "the file after the write", a.view, a.src, a.len);
out:
	area_free(&a);
	tc_end(&t);
}

/* COPY (@zero: ZEROPAGE) without MODE_WP in a MISSING|WP range. */
static void shmem_fill_wp_range(int zero)
{
	struct tc t;
	struct area a;
	struct res r;

	tc_start(&t, "shmem: %s without MODE_WP in a MISSING|WP range maps writable",
		 zero ? "ZEROPAGE" : "COPY");
	if (!need(&t, UFFD_FEATURE_MISSING_SHMEM | F_WPFILE))
		return;
	if (area_init(&t, &a, SHMEM, 1, F_WPFILE, MISSING | WPREG))
		goto out;
	pat(a.src, a.len, 13);
	if (zero) {
		memset(a.src, 0, a.len);
		r = u_zero(a.uffd, a.p, a.len, 0);
	} else {
		r = u_copy(a.uffd, a.p, a.src, a.len, 0);
	}
	if (!expect_done(&t, zero ? "ZEROPAGE" : "COPY", r, a.len) ||
	    !expect_pm(&t, "the page", a.p, 1, 0))
		goto out;
	expect_bytes(&t, "the file", a.view, a.src, a.len);
	if (touch_sync(&t, &a.uffd, a.p + 77, 1, 'w'))
		check(&t, a.view[77] == 'w', "the write is not in the file");
out:
	area_free(&a);
	tc_end(&t);
}

static void shmem_zeropage_no_wp_mode(void)
{
	struct tc t;
	struct area a;
	struct res r;

	tc_start(&t, "shmem: ZEROPAGE has no MODE_WP: mode bit 1 gives EINVAL");
	if (!need(&t, UFFD_FEATURE_MISSING_SHMEM | F_WPFILE))
		return;
	if (area_init(&t, &a, SHMEM, 1, F_WPFILE, MISSING | WPREG))
		goto out;
	/* refused before the range is looked at: the field is left alone */
	r = u_zero(a.uffd, a.p, a.len, (__u64)1 << 1);
	expect_fail(&t, "ZEROPAGE mode 2", r, EINVAL, SENT);
	expect_pm(&t, "the page", a.p, 0, 0);
	check(&t, incore(&t, a.view, a.len) == 0, "the page cache got a page");
out:
	area_free(&a);
	tc_end(&t);
}

/* ---- 2. shmem beyond i_size ---- */

static void shmem_beyond_isize(int zero)
{
	const char *op = zero ? "ZEROPAGE" : "COPY";
	struct tc t;
	struct area a;
	struct stat st;
	struct res r;
	int n;

	tc_start(&t, "shmem: %s beyond i_size gives EFAULT", op);
	if (!need(&t, UFFD_FEATURE_MISSING_SHMEM))
		return;
	if (area_init(&t, &a, SHMEM, 4, 0, MISSING))
		goto out;
	pat(a.src, a.len, 21);
	/* the file shrinks to 2 pages; the mapping of 4 stays registered */
	if (!check(&t, !ftruncate(a.fd, 2 * pg), "ftruncate: %s", strerror(errno)))
		goto out;
	for (int i = 2; i < 4; i++) {
		char what[32];

		snprintf(what, sizeof(what), "%s of page %d", op, i);
		r = zero ? u_zero(a.uffd, a.p + i * pg, pg, 0) :
			   u_copy(a.uffd, a.p + i * pg, a.src + i * pg, pg, 0);
		expect_fail(&t, what, r, EFAULT, -EFAULT);
		expect_pm(&t, what, a.p + i * pg, 0, 0);
	}
	check(&t, !fstat(a.fd, &st) && st.st_size == (off_t)(2 * pg),
	      "i_size is %lld, want %zu", (long long)st.st_size, 2 * pg);
	/* below i_size it works */
	r = zero ? u_zero(a.uffd, a.p + pg, pg, 0) : u_copy(a.uffd, a.p + pg, a.src + pg, pg, 0);
	expect_done(&t, "below i_size", r, pg);
	/* grown back: the pages beyond were never added, they read as holes */
	if (!check(&t, !ftruncate(a.fd, 4 * pg), "ftruncate: %s", strerror(errno)))
		goto out;
	n = incore(&t, a.view, a.len);
	check(&t, n == 1, "%d pages in the page cache, want 1", n);
	expect_zero(&t, "pages 2-3 of the file", a.view + 2 * pg, 2 * pg);
	if (zero)
		expect_zero(&t, "page 1 of the file", a.view + pg, pg);
	else
		expect_bytes(&t, "page 1 of the file", a.view + pg, a.src + pg, pg);
out:
	area_free(&a);
	tc_end(&t);
}

static void shmem_across_isize(void)
{
	struct tc t;
	struct area a;
	struct res r;

	tc_start(&t, "shmem: COPY across i_size stops at it: EAGAIN, copy = bytes below");
	if (!need(&t, UFFD_FEATURE_MISSING_SHMEM))
		return;
	if (area_init(&t, &a, SHMEM, 4, 0, MISSING))
		goto out;
	pat(a.src, a.len, 22);
	if (!check(&t, !ftruncate(a.fd, 2 * pg), "ftruncate: %s", strerror(errno)))
		goto out;
	r = u_copy(a.uffd, a.p + pg, a.src + pg, 2 * pg, 0);
	expect_fail(&t, "COPY of pages 1-2", r, EAGAIN, pg);
	expect_pm(&t, "page 1", a.p + pg, 1, 0);
	expect_pm(&t, "page 2", a.p + 2 * pg, 0, 0);
	expect_bytes(&t, "page 1 of the file", a.view + pg, a.src + pg, pg);
out:
	area_free(&a);
	tc_end(&t);
}

#define RACE_PAGES	8
#define RACE_SMALL	2	/* pages the file shrinks to */

struct truncator {
	int fd;
	volatile int stop;
	long rounds;
	int err;
};

static void *truncate_fn(void *arg)
{
	struct truncator *tr = arg;

	while (!tr->stop) {
		if (ftruncate(tr->fd, RACE_SMALL * pg) || ftruncate(tr->fd, RACE_PAGES * pg)) {
			tr->err = errno;
			break;
		}
		tr->rounds++;
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void shmem_truncate_race(void)
{
	struct truncator tr = { 0 };
	long ok = 0, efault = 0, enoent = 0, eexist = 0, other = 0, bad_field = 0;
	struct tc t;
	struct area a;
	pthread_t th;
	double end;
	int i;

	tc_start(&t, "shmem: truncate racing COPY: only success, EFAULT, ENOENT or EEXIST");
	if (!need(&t, UFFD_FEATURE_MISSING_SHMEM))
		return;
	if (area_init(&t, &a, SHMEM, RACE_PAGES, 0, MISSING))
		goto out;
	for (i = 0; i < RACE_PAGES; i++)
		pat(a.src + i * pg, pg, 300 + i);
	tr.fd = a.fd;
	errno = pthread_create(&th, NULL, truncate_fn, &tr);
	if (!check(&t, errno == 0, "pthread_create: %s", strerror(errno)))
		goto out;
	end = now_s() + 0.4;
	for (long round = 0; round < 20000 && (round < 50 || now_s() < end); round++) {
		for (i = 0; i < RACE_PAGES; i++) {
			struct res r = u_copy(a.uffd, a.p + i * pg, a.src + i * pg, pg, 0);

			if (r.ret == 0) {
				ok++;
				bad_field += r.field != (__s64)pg;
				continue;
			}
			bad_field += r.field != -r.err;
			if (r.ret == -1 && r.err == EFAULT)
				efault++;
			else if (r.ret == -1 && r.err == ENOENT)
				enoent++;
			else if (r.ret == -1 && r.err == EEXIST)
				eexist++;
			else if (other++ < 5)
				check(&t, 0, "COPY of page %d: returned %d (%s), field %s", i,
				      r.ret, ename(r.err), fstr(r.field));
		}
	}
	tr.stop = 1;
	pthread_join(th, NULL);
	/* the file whole again, whatever the thread's last call was */
	check(&t, !ftruncate(a.fd, RACE_PAGES * pg), "ftruncate: %s", strerror(errno));
	note("truncate race: %ld truncate rounds; COPY: %ld done, %ld EFAULT, %ld ENOENT, %ld EEXIST, %ld other\n",
	     tr.rounds, ok, efault, enoent, eexist, other);
	check(&t, !tr.err, "ftruncate: %s", strerror(tr.err));
	check(&t, !other, "%ld COPYs failed otherwise", other);
	check(&t, !bad_field, "%ld COPYs left a wrong result field", bad_field);
	check(&t, ok >= RACE_SMALL && eexist > 0, "%ld done, %ld EEXIST: no race took place",
	      ok, eexist);
	/* each page of the file holds what COPY put there, or is a hole */
	for (i = 0; i < RACE_PAGES; i++) {
		char *f = a.view + i * pg;

		if (i < RACE_SMALL)
			expect_bytes(&t, "a page never truncated", f, a.src + i * pg, pg);
		else
			check(&t, is_zero(f, pg) || !memcmp(f, a.src + i * pg, pg),
			      "page %d of the file is neither a hole nor the copied bytes", i);
	}
out:
	area_free(&a);
	tc_end(&t);
}

/* ---- 3. COPY onto a page already in the page cache ---- */

static void shmem_copy_exists(int by_mapping)
{
	struct tc t;
	struct area a;
	struct res r;
	char *w = NULL;

	tc_start(&t, "shmem: COPY onto a page written %s gives EEXIST",
		 by_mapping ? "through a second mapping" : "with pwrite");
	if (!need(&t, UFFD_FEATURE_MISSING_SHMEM))
		return;
	if (area_init(&t, &a, SHMEM, 1, 0, MISSING))
		goto out;
	w = malloc(pg);
	if (!check(&t, !!w, "malloc"))
		goto out;
	pat(w, pg, 31);
	pat(a.src, pg, 32);
	if (by_mapping)
		memcpy(a.view, w, pg);
	else if (!check(&t, pwrite(a.fd, w, pg, 0) == (ssize_t)pg, "pwrite: %s", strerror(errno)))
		goto out;
	r = u_copy(a.uffd, a.p, a.src, pg, 0);
	expect_fail(&t, "COPY", r, EEXIST, -EEXIST);
	expect_pm(&t, "the registered page", a.p, 0, 0);
	expect_bytes(&t, "the file", a.view, w, pg);
	/* read through the registered mapping: the page cache page, no fault */
	if (touch_sync(&t, &a.uffd, a.p, 0, 0))
		expect_bytes(&t, "the registered mapping", a.p, w, pg);
out:
	free(w);
	area_free(&a);
	tc_end(&t);
}

#define ADD_ROUNDS	64

struct adder {
	int fd;
	char *view;	/* the second mapping */
	pthread_barrier_t go;
	char *buf;	/* half a page */
	int failed;
};

/*
 * Writes the first half of page i in round i: with pwrite() in rounds 0
 * and 1 of every 4, through the second mapping in rounds 2 and 3.
 */
static void *adder_fn(void *arg)
{
	struct adder *ad = arg;

	for (int i = 0; i < ADD_ROUNDS; i++) {
		pat(ad->buf, pg / 2, 500 + i);
		pthread_barrier_wait(&ad->go);
		/* every other round a little later, so that either side wins */
		for (volatile int s = 0; s < (i & 1) * 2000; s++)
			;
		if (i & 2)
			memcpy(ad->view + i * pg, ad->buf, pg / 2);
		else if (pwrite(ad->fd, ad->buf, pg / 2, i * pg) != (ssize_t)(pg / 2))
			ad->failed = 1;	/* and go on: the main thread waits at the barrier */
	}
	return NULL;
}

static void shmem_copy_exists_race(void)
{
	struct adder ad = { 0 };
	char *want = NULL, won[ADD_ROUNDS];
	long done = 0;
	struct tc t;
	struct area a;
	pthread_t th;
	int i;

	tc_start(&t, "shmem: COPY racing a writer adding the page: success or EEXIST only");
	if (!need(&t, UFFD_FEATURE_MISSING_SHMEM))
		return;
	if (area_init(&t, &a, SHMEM, ADD_ROUNDS, 0, MISSING))
		goto out;
	want = malloc(pg);
	ad.buf = malloc(pg / 2);
	if (!check(&t, want && ad.buf, "malloc"))
		goto out;
	for (i = 0; i < ADD_ROUNDS; i++)
		pat(a.src + i * pg, pg, 600 + i);
	ad.fd = a.fd;
	ad.view = a.view;
	pthread_barrier_init(&ad.go, NULL, 2);
	errno = pthread_create(&th, NULL, adder_fn, &ad);
	if (!check(&t, errno == 0, "pthread_create: %s", strerror(errno)))
		goto out_barrier;
	for (i = 0; i < ADD_ROUNDS; i++) {
		struct res r;
		char what[32];

		pthread_barrier_wait(&ad.go);
		r = u_copy(a.uffd, a.p + i * pg, a.src + i * pg, pg, 0);
		snprintf(what, sizeof(what), "COPY of page %d", i);
		won[i] = r.ret == 0;
		if (won[i]) {
			done++;
			expect_done(&t, what, r, pg);
		} else {
			expect_fail(&t, what, r, EEXIST, -EEXIST);
		}
	}
	if (join_within(th, 5))
		ksft_exit_fail_msg("%s: the writer thread is stuck\n", t.name);
	check(&t, !ad.failed, "pwrite failed");
	note("COPY racing a writer: %ld done, %ld EEXIST\n", done, ADD_ROUNDS - done);
	/*
	 * The writer wrote the first half of each page; the second half is
	 * the copied bytes where COPY came first, zeroes where the writer did.
	 */
	for (i = 0; i < ADD_ROUNDS && t.ok; i++) {
		char *f = a.view + i * pg;
		char what[64];

		snprintf(what, sizeof(what), "page %d, first half", i);
		pat(want, pg / 2, 500 + i);
		expect_bytes(&t, what, f, want, pg / 2);
		snprintf(what, sizeof(what), "page %d, second half (COPY %s)", i,
			 won[i] ? "done" : "EEXIST");
		if (won[i])
			expect_bytes(&t, what, f + pg / 2, a.src + i * pg + pg / 2, pg / 2);
		else
			expect_zero(&t, what, f + pg / 2, pg / 2);
	}
out_barrier:
	pthread_barrier_destroy(&ad.go);
out:
	free(want);
	free(ad.buf);
	area_free(&a);
	tc_end(&t);
}

/* ---- 4. hugetlb fills ---- */

enum hop { H_COPY, H_CONT, H_POISON };

static const char *const kind_name[] = {
	[SHMEM] = "shmem", [HSHARED] = "hugetlb shared", [HPRIV] = "hugetlb private",
	[HPRIVFILE] = "hugetlb private memfd",
};

static void huge_fill(enum kind kind, enum hop op, int wp)
{
	static const char *const opn[] = { "COPY", "CONTINUE", "POISON" };
	uint64_t features = F_WPFILE * !!wp;
	uint64_t mode = (op == H_CONT ? MINOR : MISSING) | (wp ? WPREG : 0);
	size_t off = hpg / 2 + 321;
	char *expect, v;
	struct tc t;
	struct area a;
	struct res r;

	tc_start(&t, "%s: %s%s", kind_name[kind], opn[op],
		 op == H_POISON ? ", then access gives SIGBUS" : wp ? " with MODE_WP" : "");
	features |= op == H_CONT ? UFFD_FEATURE_MINOR_HUGETLBFS :
		    op == H_POISON ? UFFD_FEATURE_POISON : 0;
	if (!need(&t, features | UFFD_FEATURE_MISSING_HUGETLBFS) || !need_huge(&t, 4))
		return;
	if (area_init(&t, &a, kind, 1, features, mode))
		goto out;
	expect = a.src;
	if (op == H_CONT) {
		/* the page cache gets the page through the second mapping */
		pat(a.view, hpg, 41);
		expect = a.view;
	} else {
		pat(a.src, hpg, 42);
	}
	switch (op) {
	case H_COPY:
		r = u_copy(a.uffd, a.p, a.src, hpg, wp ? UFFDIO_COPY_MODE_WP : 0);
		break;
	case H_CONT:
		r = u_cont(a.uffd, a.p, hpg, wp ? UFFDIO_CONTINUE_MODE_WP : 0);
		break;
	default:
		r = u_poison(a.uffd, a.p, hpg);
		break;
	}
	if (!expect_done(&t, opn[op], r, hpg))
		goto out;
	if (op == H_POISON) {
		expect_pm(&t, "the poisoned page", a.p, 0, 0);
		check(&t, read_sigbus(a.p + off), "a read of the poisoned page did not get SIGBUS");
		check(&t, write_sigbus(a.p, 1), "a write to the poisoned page did not get SIGBUS");
		if (a.view) {
			/* the marker is in this mapping only: the file has a hole */
			expect_zero(&t, "the file", a.view, hpg);
			check(&t, read_sigbus(a.p + hpg - 1),
			      "no SIGBUS any more once the file has a page");
		}
		goto out;
	}
	if (!expect_pm(&t, "the page", a.p, 1, wp))
		goto out;
	expect_bytes(&t, "the registered mapping", a.p, expect, hpg);
	if (kind == HSHARED)
		expect_bytes(&t, "the file", a.view, expect, hpg);
	/* @expect may be the file: keep the byte written */
	v = ~expect[off];
	if (wp) {
		expect_wp_write(&t, &a.uffd, a.p, hpg, a.p + off,
				kind == HSHARED ? a.view + off : a.p + off, v);
		expect_pm(&t, "after un-protect", a.p, 1, 0);
	} else if (touch_sync(&t, &a.uffd, a.p + off, 1, v)) {
		check(&t, a.p[off] == v, "the write is not there");
	}
	if (kind == HSHARED) {
		check(&t, a.view[off] == a.p[off], "the write is not in the file");
	} else if (kind == HPRIVFILE) {
		/* a private mapping: the write went to a copy, the file has the old byte */
		check(&t, a.view[off] != a.p[off], "the private write went to the file");
		check(&t, a.view[off] == (char)~v, "the file changed");
	}
out:
	area_free(&a);
	tc_end(&t);
}

/* ---- 5. hugetlb ZEROPAGE and CONTINUE without a page ---- */

static void huge_zeropage(enum kind kind)
{
	struct tc t;
	struct area a;
	struct res r;

	tc_start(&t, "%s: ZEROPAGE gives EINVAL", kind_name[kind]);
	if (!need(&t, UFFD_FEATURE_MISSING_HUGETLBFS) || !need_huge(&t, 4))
		return;
	if (area_init(&t, &a, kind, 1, 0, MISSING))
		goto out;
	r = u_zero(a.uffd, a.p, hpg, 0);
	expect_fail(&t, "ZEROPAGE", r, EINVAL, -EINVAL);
	expect_pm(&t, "the page", a.p, 0, 0);
	/* the range still takes a COPY */
	pat(a.src, hpg, 51);
	r = u_copy(a.uffd, a.p, a.src, hpg, 0);
	if (expect_done(&t, "COPY after it", r, hpg) && expect_pm(&t, "the page", a.p, 1, 0))
		expect_bytes(&t, "the registered mapping", a.p, a.src, hpg);
out:
	area_free(&a);
	tc_end(&t);
}

static void huge_continue_nopage(enum kind kind)
{
	struct tc t;
	struct area a;
	struct hm m0, m1;
	struct res r;

	tc_start(&t, "%s: CONTINUE with no page in the page cache gives EFAULT", kind_name[kind]);
	if (!need(&t, UFFD_FEATURE_MINOR_HUGETLBFS) || !need_huge(&t, 4))
		return;
	if (area_init(&t, &a, kind, 1, UFFD_FEATURE_MINOR_HUGETLBFS, MINOR))
		goto out;
	hmeminfo(&m0);
	r = u_cont(a.uffd, a.p, hpg, 0);
	hmeminfo(&m1);
	expect_fail(&t, "CONTINUE", r, EFAULT, -EFAULT);
	expect_pm(&t, "the page", a.p, 0, 0);
	check(&t, m1.free == m0.free, "HugePages_Free went from %ld to %ld", m0.free, m1.free);
	/* once the file has the page, CONTINUE maps it */
	pat(a.view, hpg, 52);
	r = u_cont(a.uffd, a.p, hpg, 0);
	if (expect_done(&t, "CONTINUE after the page is there", r, hpg) &&
	    expect_pm(&t, "the page", a.p, 1, 0))
		expect_bytes(&t, "the registered mapping", a.p, a.view, hpg);
out:
	area_free(&a);
	tc_end(&t);
}

/* ---- 6. hugetlb pool exhausted ---- */

static int is_612;	/* running on 6.12: its exact answers */
static long saved_nr = -1, saved_over = -1;
static char saved_nr_s[32], saved_over_s[32];

static long read_long(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

static int write_long(const char *path, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld\n", v);
	return write_file(path, buf);
}

/* Async-signal-safe: @s into @path, errors ignored (restore_pool() checks and retries). */
static void write_raw(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return;
	n = write(fd, s, strlen(s));
	(void)n;
	close(fd);
}

/* Async-signal-safe: the saved values, as saved. */
static void restore_pool_raw(void)
{
	if (saved_over >= 0)
		write_raw(NR_OVERCOMMIT, saved_over_s);
	if (saved_nr >= 0)
		write_raw(NR_HUGEPAGES, saved_nr_s);
}

/* Puts the pool back: 0 when nr_hugepages reads what it was. */
static int restore_pool(void)
{
	int ok = 1;

	for (int i = 0; i < 5; i++) {
		restore_pool_raw();
		ok = (saved_nr < 0 || read_long(NR_HUGEPAGES) == saved_nr) &&
		     (saved_over < 0 || read_long(NR_OVERCOMMIT) == saved_over);
		if (ok)
			break;
		usleep(100000);
	}
	saved_over = -1;
	saved_nr = -1;
	return ok ? 0 : -1;
}

static void pool_atexit(void)
{
	if (saved_nr >= 0 || saved_over >= 0)
		restore_pool_raw();
}

static void pool_signal(int sig)
{
	restore_pool_raw();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void huge_pool_exhausted(void)
{
	struct tc t1, t2, t3, t4;
	struct hm m0, m1, m2, m3;
	long nr, over, avail, left, units = 0;
	char *p = MAP_FAILED, *src = MAP_FAILED;
	int uffd = -1, reported = 0;
	struct res r;

	tc_start(&t1, "hugetlb: COPY past the free huge pages: EAGAIN, copy = bytes done");
	tc_start(&t2, "hugetlb: COPY with no free huge page gives ENOMEM (6.18 host: EEXIST)");
	tc_start(&t3, "hugetlb: after munmap HugePages_Free and HugePages_Rsvd are back");
	tc_start(&t4, "hugetlb: the huge page pool is restored");
	nr = read_long(NR_HUGEPAGES);
	over = read_long(NR_OVERCOMMIT);
	if ((offered & UFFD_FEATURE_MISSING_HUGETLBFS) != UFFD_FEATURE_MISSING_HUGETLBFS ||
	    !hpg || hmeminfo(&m0) || m0.free - m0.rsvd < 2 || nr < 0 || over < 0 ||
	    access(NR_HUGEPAGES, W_OK) || access(NR_OVERCOMMIT, W_OK)) {
		const char *why = !(offered & UFFD_FEATURE_MISSING_HUGETLBFS) ?
				  "UFFD_FEATURE_MISSING_HUGETLBFS not offered" :
				  !hpg || hmeminfo(&m0) || m0.free - m0.rsvd < 2 ?
				  "fewer than 2 free huge pages" :
				  "nr_hugepages or nr_overcommit_hugepages not writable";

		tc_skip(&t1, why);
		tc_skip(&t2, why);
		tc_skip(&t3, why);
		tc_skip(&t4, why);
		return;
	}
	/*
	 * Shrink the pool so that 2 huge pages are left free and unreserved
	 * (and no surplus pages can be had): the case takes at most 2 from
	 * the pool, whatever its size.
	 */
	avail = m0.free - m0.rsvd;
	snprintf(saved_nr_s, sizeof(saved_nr_s), "%ld\n", nr);
	snprintf(saved_over_s, sizeof(saved_over_s), "%ld\n", over);
	saved_over = over;
	saved_nr = nr;
	if (over && !check(&t1, !write_long(NR_OVERCOMMIT, 0), "nr_overcommit_hugepages = 0: %s",
			   strerror(errno)))
		goto out;
	if (avail > 2 && !check(&t1, !write_long(NR_HUGEPAGES, nr - (avail - 2)),
				"nr_hugepages = %ld: %s", nr - (avail - 2), strerror(errno)))
		goto out;
	if (!check(&t1, !hmeminfo(&m1), "/proc/meminfo"))
		goto out;
	left = m1.free - m1.rsvd;
	if (!check(&t1, left >= 1 && left <= 4, "%ld free huge pages left, want 1 to 4", left))
		goto out;
	units = left + 2;
	note("pool: nr_hugepages %ld -> %ld, %ld free; COPY of %ld huge pages\n", nr,
	     read_long(NR_HUGEPAGES), left, units);

	p = mmap(NULL, units * hpg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE, -1, 0);
	src = mmap(NULL, units * hpg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!check(&t1, p != MAP_FAILED && src != MAP_FAILED, "mmap: %s", strerror(errno)))
		goto out;
	for (long i = 0; i < units; i++)
		pat(src + i * hpg, hpg, 700 + i);
	uffd = new_uffd(0);
	if (!check(&t1, uffd >= 0, "userfaultfd: %s", strerror(errno)) ||
	    !check(&t1, !uffd_register(uffd, p, units * hpg, 1, 0, 0), "UFFDIO_REGISTER: %s",
		   strerror(errno)))
		goto out;

	r = u_copy(uffd, p, src, units * hpg, 0);
	expect_fail(&t1, "COPY of the whole range", r, EAGAIN, left * hpg);
	check(&t1, !hmeminfo(&m2) && m2.free - m2.rsvd == 0,
	      "HugePages_Free %ld, Rsvd %ld after the COPY", m2.free, m2.rsvd);
	for (long i = 0; i < units; i++) {
		char what[32];

		snprintf(what, sizeof(what), "huge page %ld", i);
		if (expect_pm(&t1, what, p + i * hpg, i < left, 0) && i < left)
			expect_bytes(&t1, what, p + i * hpg, src + i * hpg, hpg);
	}
	tc_end(&t1);

	/*
	 * 6.12 hugetlb_mfill_atomic_pte(): ENOMEM when alloc_hugetlb_folio()
	 * fails.  The 6.18 build host answers EEXIST instead (as it would if
	 * the page table existing made it report a racing fill): asserted
	 * exactly on 6.12, either one elsewhere.
	 */
	r = u_copy(uffd, p + left * hpg, src + left * hpg, hpg, 0);
	if (is_612 || r.err != EEXIST)
		expect_fail(&t2, "COPY of the next page", r, ENOMEM, -ENOMEM);
	else
		expect_fail(&t2, "COPY of the next page", r, EEXIST, -EEXIST);
	note("COPY with no free huge page: %s\n", ename(r.err));
	expect_pm(&t2, "that page", p + left * hpg, 0, 0);
	tc_end(&t2);

	close(uffd);
	uffd = -1;
	munmap(p, units * hpg);
	p = MAP_FAILED;
	check(&t3, !hmeminfo(&m3) && m3.free == m1.free && m3.rsvd == m1.rsvd,
	      "HugePages_Free %ld, Rsvd %ld; before the mmap %ld, %ld", m3.free, m3.rsvd,
	      m1.free, m1.rsvd);
	tc_end(&t3);
	reported = 1;
out:
	if (uffd >= 0)
		close(uffd);
	if (p != MAP_FAILED)
		munmap(p, units * hpg);
	if (src != MAP_FAILED)
		munmap(src, units * hpg);
	check(&t4, !restore_pool(), "nr_hugepages is %ld, nr_overcommit_hugepages %ld; "
	      "want %ld, %ld", read_long(NR_HUGEPAGES), read_long(NR_OVERCOMMIT), nr, over);
	check(&t4, !hmeminfo(&m3) && m3.free == m0.free && m3.rsvd == m0.rsvd &&
	      m3.total == m0.total,
	      "HugePages_Total %ld, Free %ld, Rsvd %ld; at the start %ld, %ld, %ld",
	      m3.total, m3.free, m3.rsvd, m0.total, m0.free, m0.rsvd);
	if (!reported) {
		check(&t2, 0, "not run: the setup failed");
		check(&t3, 0, "not run: the setup failed");
		tc_end(&t1);
		tc_end(&t2);
		tc_end(&t3);
	}
	tc_end(&t4);
}

/* ---- 7. MINOR faults resolved through a second mapping ---- */

static void minor_fault(enum kind kind)
{
	size_t off;
	struct toucher w = { 0 };
	struct uffd_msg m;
	struct tc t;
	struct area a;
	struct res r;
	int got;

	tc_start(&t, "%s: MINOR fault resolved through a second mapping and CONTINUE",
		 kind == SHMEM ? "shmem" : "hugetlb");
	if (kind == SHMEM ? !need(&t, UFFD_FEATURE_MINOR_SHMEM) :
			    !need(&t, UFFD_FEATURE_MINOR_HUGETLBFS) || !need_huge(&t, 4))
		return;
	if (area_init(&t, &a, kind, 1,
		      kind == SHMEM ? UFFD_FEATURE_MINOR_SHMEM : UFFD_FEATURE_MINOR_HUGETLBFS,
		      MINOR))
		goto out;
	off = a.unit / 2 + 40;
	/* the page cache has the page: the touch is a MINOR fault */
	pat(a.view, a.unit, 61);
	w.at = a.p + off;
	w.unit = a.p;
	w.unit_len = a.unit;
	if (touch_start(&t, &w))
		goto out;
	got = uffd_read_msg(a.uffd, &m, TMO_MS);
	if (check(&t, got == 1, "no MINOR fault message within %d ms", TMO_MS)) {
		check_msg(&t, &m, a.p, UFFD_PAGEFAULT_FLAG_MINOR);
		check(&t, !w.done, "the thread did not wait for the fault to be resolved");
		/* the resolver changes the page through the unregistered mapping */
		pat(a.view, a.unit, 62);
		r = u_cont(a.uffd, a.p, a.unit, 0);
		expect_done(&t, "CONTINUE", r, a.unit);
	}
	if (!touch_finish(&t, &w, &a.uffd))
		goto out;
	check(&t, !memcmp(w.seen, a.view + off, SEEN) && w.first == (unsigned char)a.view[0] &&
	      w.last == (unsigned char)a.view[a.unit - 1],
	      "the thread read %02x %02x .. (first %02x, last %02x), want %02x %02x .. (%02x, %02x)",
	      w.seen[0], w.seen[1], w.first, w.last, (unsigned char)a.view[off],
	      (unsigned char)a.view[off + 1], (unsigned char)a.view[0],
	      (unsigned char)a.view[a.unit - 1]);
	if (expect_pm(&t, "the page", a.p, 1, 0))
		expect_bytes(&t, "the registered mapping", a.p, a.view, a.unit);
	check(&t, uffd_read_msg(a.uffd, &m, 0) == 0, "a further message");
out:
	area_free(&a);
	tc_end(&t);
}

/* ---- 8. hugetlb uffd-wp marker after MADV_DONTNEED ---- */

static void huge_wp_marker(void)
{
	size_t off = hpg / 3 + 11;
	struct tc t;
	struct area a;
	char *want = NULL;

	tc_start(&t, "hugetlb shared: a write to a uffd-wp marker left by MADV_DONTNEED raises a WP fault");
	if (!need(&t, UFFD_FEATURE_MISSING_HUGETLBFS | F_WPFILE) || !need_huge(&t, 4))
		return;
	if (area_init(&t, &a, HSHARED, 1, F_WPFILE, MISSING | WPREG))
		goto out;
	want = malloc(hpg);
	if (!check(&t, !!want, "malloc"))
		goto out;
	pat(a.view, hpg, 71);
	memcpy(want, a.view, hpg);
	/* a read maps the page cache page: no MISSING fault */
	if (!touch_sync(&t, &a.uffd, a.p, 0, 0) || !expect_pm(&t, "after the read", a.p, 1, 0))
		goto out;
	if (!check(&t, !uffd_writeprotect(a.uffd, a.p, hpg, 1), "write-protect: %s",
		   strerror(errno)) ||
	    !expect_pm(&t, "write-protected", a.p, 1, 1))
		goto out;
	if (!check(&t, !madvise(a.p, hpg, MADV_DONTNEED), "MADV_DONTNEED: %s", strerror(errno)) ||
	    !expect_pm(&t, "after MADV_DONTNEED", a.p, 0, 1))
		goto out;
	expect_wp_write(&t, &a.uffd, a.p, hpg, a.p + off, a.view + off, ~want[off]);
	want[off] = ~want[off];
	expect_pm(&t, "after un-protect", a.p, 1, 0);
	expect_bytes(&t, "the file", a.view, want, hpg);
	expect_bytes(&t, "the registered mapping", a.p, want, hpg);
out:
	free(want);
	area_free(&a);
	tc_end(&t);
}

/* ---- 9. hugetlb fork ---- */

struct pm_report {
	int ok;
	uint64_t e;
};

struct forker {
	char *p;
	int cmd[2], rep[2];
	pid_t pid;
	int err;
};

/* The child: its pagemap entry for p, twice, the second after a go. */
static __noreturn void fork_child(struct forker *f)
{
	struct pm_report rep = { 0 };
	char c;
	int fd;

	close(f->cmd[1]);
	close(f->rep[0]);
	fd = open("/proc/self/pagemap", O_RDONLY);
	for (int i = 0; i < 2; i++) {
		if (i && read(f->cmd[0], &c, 1) != 1)
			_exit(1);
		rep.ok = fd >= 0 && pread(fd, &rep.e, sizeof(rep.e),
					   (uintptr_t)f->p / pg * sizeof(rep.e)) == sizeof(rep.e);
		if (write(f->rep[1], &rep, sizeof(rep)) != sizeof(rep))
			_exit(2);
	}
	_exit(0);
}

static void *fork_fn(void *arg)
{
	struct forker *f = arg;

	f->pid = fork();
	f->err = errno;
	if (f->pid == 0)
		fork_child(f);
	return NULL;
}

static int read_report(struct tc *t, struct forker *f, struct pm_report *rep)
{
	struct pollfd pfd = { .fd = f->rep[0], .events = POLLIN };

	return check(t, poll(&pfd, 1, TMO_MS) == 1 &&
		     read(f->rep[0], rep, sizeof(*rep)) == sizeof(*rep) && rep->ok,
		     "no pagemap report from the child");
}

static void huge_fork(enum kind kind, int event_fork)
{
	struct forker f = { .pid = -1, .cmd = { -1, -1 }, .rep = { -1, -1 } };
	uint64_t features = F_WPFILE | (event_fork ? UFFD_FEATURE_EVENT_FORK : 0);
	struct pm_report rep;
	struct uffd_msg m;
	struct tc t;
	struct area a;
	struct res r;
	pthread_t th;
	int cufd = -1, status;

	tc_start(&t, "%s: fork %s EVENT_FORK: the child %s", kind_name[kind],
		 event_fork ? "with" : "without",
		 event_fork ? "keeps the uffd-wp bit" : "has no uffd-wp bit");
	if (!need(&t, UFFD_FEATURE_MISSING_HUGETLBFS | features) || !need_huge(&t, 4))
		return;
	if (area_init(&t, &a, kind, 1, features, MISSING | WPREG))
		goto out;
	pat(a.src, hpg, 81);
	r = u_copy(a.uffd, a.p, a.src, hpg, 0);
	if (!expect_done(&t, "COPY", r, hpg) ||
	    !check(&t, !uffd_writeprotect(a.uffd, a.p, hpg, 1), "write-protect: %s",
		   strerror(errno)) ||
	    !expect_pm(&t, "the parent's page before fork", a.p, 1, 1))
		goto out;
	if (!check(&t, !pipe2(f.cmd, O_CLOEXEC) && !pipe2(f.rep, O_CLOEXEC), "pipe: %s",
		   strerror(errno)))
		goto out;
	f.p = a.p;
	fflush(stdout);
	if (event_fork) {
		/* fork() returns once the event has been read: fork from a thread */
		errno = pthread_create(&th, NULL, fork_fn, &f);
		if (!check(&t, errno == 0, "pthread_create: %s", strerror(errno)))
			goto out;
		if (check(&t, uffd_read_msg(a.uffd, &m, TMO_MS) == 1, "no UFFD_EVENT_FORK") &&
		    check(&t, m.event == UFFD_EVENT_FORK, "event %u, want UFFD_EVENT_FORK",
			  m.event))
			cufd = m.arg.fork.ufd;
		if (join_within(th, 5))
			ksft_exit_fail_msg("%s: fork() does not return\n", t.name);
	} else {
		fork_fn(&f);
		check(&t, uffd_read_msg(a.uffd, &m, 0) == 0, "fork sent event %u", m.event);
	}
	if (!check(&t, f.pid > 0, "fork: %s", strerror(f.err)))
		goto out;
	close(f.cmd[0]);
	close(f.rep[1]);
	f.rep[1] = -1;
	f.cmd[0] = -1;

	if (read_report(&t, &f, &rep)) {
		if (event_fork) {
			/* the child's entry is copied with its bit */
			check(&t, (rep.e & (PM_PRESENT | PM_UFFD_WP)) == (PM_PRESENT | PM_UFFD_WP),
			      "the child's pagemap shows %s, want present+uffd-wp", pm_str(rep.e));
		} else if (kind == HSHARED) {
			/* a shared mapping without uffd-wp: page tables not copied */
			check(&t, !(rep.e & (PM_PRESENT | PM_UFFD_WP)),
			      "the child's pagemap shows %s, want none", pm_str(rep.e));
		} else {
			/* private: copied (anon_vma), the bit cleared */
			check(&t, (rep.e & (PM_PRESENT | PM_UFFD_WP)) == PM_PRESENT,
			      "the child's pagemap shows %s, want present", pm_str(rep.e));
		}
	}
	/* the child's userfaultfd is the child's: it un-protects the child's page */
	if (cufd >= 0)
		check(&t, !uffd_writeprotect(cufd, a.p, hpg, 0),
		      "un-protect through the child's userfaultfd: %s", strerror(errno));
	if (check(&t, write(f.cmd[1], "g", 1) == 1, "pipe write") &&
	    read_report(&t, &f, &rep))
		check(&t, !(rep.e & PM_UFFD_WP), "the child's pagemap shows %s after %s",
		      pm_str(rep.e), event_fork ? "its un-protect" : "fork");
	check(&t, waitpid(f.pid, &status, 0) == f.pid && WIFEXITED(status) &&
	      !WEXITSTATUS(status), "the child failed (status %#x)", status);
	f.pid = -1;
	/* the parent's page is as it was */
	if (expect_pm(&t, "the parent's page after fork", a.p, 1, 1))
		expect_bytes(&t, "the parent's page", a.p, a.src, hpg);
	check(&t, uffd_read_msg(a.uffd, &m, 0) == 0, "a further message (event %u)", m.event);
out:
	if (f.pid > 0) {
		kill(f.pid, SIGKILL);
		waitpid(f.pid, NULL, 0);
	}
	for (int i = 0; i < 2; i++) {
		if (f.cmd[i] >= 0)
			close(f.cmd[i]);
		if (f.rep[i] >= 0)
			close(f.rep[i]);
	}
	if (cufd >= 0)
		close(cufd);
	area_free(&a);
	tc_end(&t);
}

/* ---- 10. hugetlb mremap ---- */

struct remap {
	char *from, *to, *ret;
	size_t len;
	int err;
};

static void *remap_fn(void *arg)
{
	struct remap *m = arg;

	m->ret = mremap(m->from, m->len, m->len, MREMAP_MAYMOVE | MREMAP_FIXED, m->to);
	m->err = errno;
	return NULL;
}

static void huge_mremap(int event_remap)
{
	uint64_t features = F_WPFILE | (event_remap ? UFFD_FEATURE_EVENT_REMAP : 0);
	size_t off = hpg / 2 + 7;
	struct remap mv = { 0 };
	struct uffd_msg m;
	struct tc t;
	struct area a;
	char *resv = MAP_FAILED, *want = NULL;
	size_t resv_len = 0;
	pthread_t th;

	tc_start(&t, "hugetlb shared: mremap %s EVENT_REMAP %s uffd-wp and the marker",
		 event_remap ? "with" : "without", event_remap ? "keeps" : "drops");
	if (!need(&t, UFFD_FEATURE_MISSING_HUGETLBFS | features) || !need_huge(&t, 4))
		return;
	if (area_init(&t, &a, HSHARED, 2, features, MISSING | WPREG))
		goto out;
	want = malloc(a.len);
	if (!check(&t, !!want, "malloc"))
		goto out;
	pat(a.view, a.len, 91);
	memcpy(want, a.view, a.len);
	/*
	 * Huge page 0 mapped and write-protected; huge page 1 write-protected
	 * and dropped: a uffd-wp marker.
	 */
	if (!touch_sync(&t, &a.uffd, a.p, 0, 0) || !touch_sync(&t, &a.uffd, a.p + hpg, 0, 0) ||
	    !check(&t, !uffd_writeprotect(a.uffd, a.p, a.len, 1), "write-protect: %s",
		   strerror(errno)) ||
	    !check(&t, !madvise(a.p + hpg, hpg, MADV_DONTNEED), "MADV_DONTNEED: %s",
		   strerror(errno)) ||
	    !(expect_pm(&t, "page 0 before mremap", a.p, 1, 1) &
	      expect_pm(&t, "page 1 before mremap", a.p + hpg, 0, 1)))
		goto out;
	/* the destination: huge-page aligned, in a reservation of our own */
	resv_len = a.len + hpg;
	resv = mmap(NULL, resv_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!check(&t, resv != MAP_FAILED, "mmap: %s", strerror(errno)))
		goto out;
	mv.from = a.p;
	mv.len = a.len;
	mv.to = (char *)(((uintptr_t)resv + hpg - 1) & ~(uintptr_t)(hpg - 1));
	if (event_remap) {
		/* mremap() returns once the event has been read */
		errno = pthread_create(&th, NULL, remap_fn, &mv);
		if (!check(&t, errno == 0, "pthread_create: %s", strerror(errno)))
			goto out;
		if (check(&t, uffd_read_msg(a.uffd, &m, TMO_MS) == 1, "no UFFD_EVENT_REMAP"))
			check(&t, m.event == UFFD_EVENT_REMAP &&
			      m.arg.remap.from == (uintptr_t)mv.from &&
			      m.arg.remap.to == (uintptr_t)mv.to && m.arg.remap.len == mv.len,
			      "event %u from %#llx to %#llx len %llu; want UFFD_EVENT_REMAP from %p to %p len %zu",
			      m.event,
			      (unsigned long long)m.arg.remap.from,
			      (unsigned long long)m.arg.remap.to,
			      (unsigned long long)m.arg.remap.len, mv.from, mv.to, mv.len);
		if (join_within(th, 5))
			ksft_exit_fail_msg("%s: mremap() does not return\n", t.name);
	} else {
		remap_fn(&mv);
		check(&t, uffd_read_msg(a.uffd, &m, 0) == 0, "mremap sent event %u", m.event);
	}
	if (!check(&t, mv.ret == mv.to, "mremap: %s", strerror(mv.err)))
		goto out;
	/* the old range is gone; the reservation now holds the mapping */
	a.p = NULL;
	if (event_remap) {
		if (!(expect_pm(&t, "page 0 after mremap", mv.to, 1, 1) &
		      expect_pm(&t, "page 1 after mremap", mv.to + hpg, 0, 1)))
			goto out;
		/* both still catch a write */
		expect_wp_write(&t, &a.uffd, mv.to, hpg, mv.to + off, a.view + off, ~want[off]);
		want[off] = ~want[off];
		expect_wp_write(&t, &a.uffd, mv.to + hpg, hpg, mv.to + hpg + off,
				a.view + hpg + off, ~want[hpg + off]);
		want[hpg + off] = ~want[hpg + off];
	} else {
		if (!(expect_pm(&t, "page 0 after mremap", mv.to, 1, 0) &
		      expect_pm(&t, "page 1 after mremap", mv.to + hpg, 0, 0)))
			goto out;
		/* the new range is no longer registered */
		errno = 0;
		check(&t, uffd_writeprotect(a.uffd, mv.to, a.len, 1) == -1 && errno == ENOENT,
		      "write-protect of the new range: %s, want ENOENT", strerror(errno));
		/* a write to either lands without a message */
		for (int i = 0; i < 2; i++) {
			if (touch_sync(&t, &a.uffd, mv.to + i * hpg + off, 1, ~want[i * hpg + off]))
				want[i * hpg + off] = ~want[i * hpg + off];
		}
	}
	expect_bytes(&t, "the file", a.view, want, a.len);
	expect_bytes(&t, "the moved mapping", mv.to, want, a.len);
out:
	if (resv != MAP_FAILED) {
		/* closes the userfaultfd first: nothing blocks in munmap() */
		if (a.uffd >= 0)
			close(a.uffd);
		a.uffd = -1;
		munmap(resv, resv_len);
	}
	free(want);
	area_free(&a);
	tc_end(&t);
}

/* ---- 11. shmem COPY and ZEROPAGE into a full tmpfs ---- */

#define FULL_FILE	4	/* pages: the file and the registered mapping */
#define FULL_FS		2	/* pages: the tmpfs, size= */

/*
 * The file in a tmpfs of its own, mounted on @dir: @a as area_init()
 * makes it for SHMEM, registered MISSING.  0, or -1 after a failed check.
 */
static int full_area_init(struct tc *t, struct area *a, const char *dir)
{
	char path[64];

	a->kind = SHMEM;
	a->unit = pg;
	a->len = FULL_FILE * pg;
	snprintf(path, sizeof(path), "%s/file", dir);
	a->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (!check(t, a->fd >= 0, "open %s: %s", path, strerror(errno)))
		return -1;
	/* nothing left in the directory: the inode goes with the last close */
	unlink(path);
	/* a size, no blocks */
	if (!check(t, !ftruncate(a->fd, a->len), "ftruncate: %s", strerror(errno)))
		return -1;
	a->src = map(a->len, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	a->p = map(a->len, MAP_SHARED, a->fd);
	a->view = map(a->len, MAP_SHARED, a->fd);
	if (!check(t, a->src && a->p && a->view, "mmap: %s", strerror(errno)))
		return -1;
	madvise(a->p, a->len, MADV_NOHUGEPAGE);
	madvise(a->view, a->len, MADV_NOHUGEPAGE);
	a->uffd = new_uffd(0);
	if (!check(t, a->uffd >= 0, "userfaultfd: %s", strerror(errno)))
		return -1;
	return check(t, !uffd_register(a->uffd, a->p, a->len, 1, 0, 0),
		     "UFFDIO_REGISTER MISSING: %s", strerror(errno)) ? 0 : -1;
}

static void shmem_tmpfs_full(void)
{
	char dir[] = "/tmp/uffd-shmem-hugetlb.XXXXXX", opts[64];
	struct area a = { .fd = -1, .uffd = -1 };
	int made = 0, mounted = 0, eperm = 0, n;
	struct statvfs sv;
	struct tc t;
	struct res r;

	tc_start(&t, "shmem: COPY into a full tmpfs gives ENOMEM, and so does ZEROPAGE");
	if (!need(&t, UFFD_FEATURE_MISSING_SHMEM))
		return;
	made = check(&t, !!mkdtemp(dir), "mkdtemp: %s", strerror(errno));
	if (!made)
		goto out;
	snprintf(opts, sizeof(opts), "size=%zu,mode=0700,huge=never", FULL_FS * pg);
	mounted = !mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts);
	if (!mounted) {
		eperm = errno == EPERM;
		if (!eperm)
			check(&t, 0, "mount -t tmpfs -o %s %s: %s", opts, dir, strerror(errno));
		goto out;
	}
	if (full_area_init(&t, &a, dir))
		goto out;
	pat(a.src, a.len, 111);
	/* 2 blocks: the tmpfs is full */
	r = u_copy(a.uffd, a.p, a.src, 2 * pg, 0);
	if (!expect_done(&t, "COPY of pages 0-1", r, 2 * pg) ||
	    !check(&t, !statvfs(dir, &sv) && sv.f_blocks == FULL_FS && sv.f_bfree == 0,
		   "statvfs: %llu blocks, %llu free; want %d, 0 (%s)",
		   (unsigned long long)sv.f_blocks, (unsigned long long)sv.f_bfree, FULL_FS,
		   strerror(errno)))
		goto out;
	r = u_copy(a.uffd, a.p + 2 * pg, a.src + 2 * pg, pg, 0);
	expect_fail(&t, "COPY of page 2", r, ENOMEM, -ENOMEM);
	expect_pm(&t, "page 2 after COPY", a.p + 2 * pg, 0, 0);
	r = u_zero(a.uffd, a.p + 3 * pg, pg, 0);
	expect_fail(&t, "ZEROPAGE of page 3", r, ENOMEM, -ENOMEM);
	expect_pm(&t, "page 3 after ZEROPAGE", a.p + 3 * pg, 0, 0);
	/* nothing done: the error itself, not EAGAIN */
	r = u_copy(a.uffd, a.p + 2 * pg, a.src + 2 * pg, 2 * pg, 0);
	expect_fail(&t, "COPY of pages 2-3", r, ENOMEM, -ENOMEM);
	expect_pm(&t, "page 2 after COPY of pages 2-3", a.p + 2 * pg, 0, 0);
	expect_pm(&t, "page 3 after COPY of pages 2-3", a.p + 3 * pg, 0, 0);
	/* the page cache: pages 0-1 only */
	n = incore(&t, a.view, a.len);
	check(&t, n == 2, "%d pages in the page cache, want 2", n);
	check(&t, incore(&t, a.view + 2 * pg, 2 * pg) == 0, "pages 2-3 are in the page cache");
	expect_bytes(&t, "pages 0-1 of the file", a.view, a.src, 2 * pg);
	if (expect_pm(&t, "page 0", a.p, 1, 0) & expect_pm(&t, "page 1", a.p + pg, 1, 0))
		expect_bytes(&t, "the registered mapping", a.p, a.src, 2 * pg);
out:
	/* the file closed and unmapped first, or the tmpfs is busy */
	area_free(&a);
	if (mounted)
		check(&t, !umount2(dir, 0), "umount %s: %s", dir, strerror(errno));
	if (made)
		check(&t, !rmdir(dir), "rmdir %s: %s", dir, strerror(errno));
	if (eperm && t.ok)
		tc_skip(&t, "mount tmpfs: EPERM");
	else
		tc_end(&t);
}

int main(int argc, char **argv)
{
	static const int fatal[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGSEGV, SIGABRT };
	int fd;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-q"))
			quiet = 1;
	pg = psize();
	{
		struct utsname u;

		is_612 = !uname(&u) && !strncmp(u.release, "6.12.", 5);
	}
	ksft_print_header();
	fd = uffd_open();
	if (fd < 0 || uffd_api(fd, 0, &offered))
		ksft_exit_skip("userfaultfd: %s\n", strerror(errno));
	close(fd);
	pmfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pmfd < 0)
		ksft_exit_skip("/proc/self/pagemap: %s\n", strerror(errno));
	hpg = default_huge_page_size();
	if (!hpg)
		note("no hugetlb: the hugetlb cases are skipped\n");
	if (catch_sigbus())
		ksft_exit_fail_msg("sigaction: %s\n", strerror(errno));
	/* case 6 changes the pool: put it back whatever happens */
	atexit(pool_atexit);
	for (size_t i = 0; i < ARRAY_SIZE(fatal); i++)
		signal(fatal[i], pool_signal);

	/* 1 */
	shmem_copy();
	shmem_zeropage();
	shmem_copy_wp();
	shmem_fill_wp_range(0);
	shmem_fill_wp_range(1);
	shmem_zeropage_no_wp_mode();
	/* 2 */
	shmem_beyond_isize(0);
	shmem_beyond_isize(1);
	shmem_across_isize();
	shmem_truncate_race();
	/* 3 */
	shmem_copy_exists(0);
	shmem_copy_exists(1);
	shmem_copy_exists_race();
	/* 4 */
	huge_fill(HPRIV, H_COPY, 0);
	huge_fill(HPRIV, H_COPY, 1);
	huge_fill(HSHARED, H_COPY, 0);
	huge_fill(HSHARED, H_COPY, 1);
	huge_fill(HSHARED, H_CONT, 0);
	huge_fill(HSHARED, H_CONT, 1);
	huge_fill(HPRIVFILE, H_CONT, 0);
	huge_fill(HPRIVFILE, H_CONT, 1);
	huge_fill(HPRIV, H_POISON, 0);
	huge_fill(HSHARED, H_POISON, 0);
	/* 5 */
	huge_zeropage(HPRIV);
	huge_zeropage(HSHARED);
	huge_continue_nopage(HSHARED);
	huge_continue_nopage(HPRIVFILE);
	/* 6 */
	huge_pool_exhausted();
	/* 7 */
	minor_fault(SHMEM);
	minor_fault(HSHARED);
	/* 8 */
	huge_wp_marker();
	/* 9 */
	huge_fork(HSHARED, 0);
	huge_fork(HSHARED, 1);
	huge_fork(HPRIV, 0);
	huge_fork(HPRIV, 1);
	/* 10 */
	huge_mremap(0);
	huge_mremap(1);
	/* 11 */
	shmem_tmpfs_full();
	finish_tests();
}
