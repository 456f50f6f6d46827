// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing is lost over the life of a userfaultfd write-protected range of
 * file memory (shmem, hugetlb): the uffd-wp state of present pages and of
 * PTE markers (pages whose PTE was dropped) is kept, moved, copied or
 * dropped exactly as the 6.12 C kernel does it, when
 *
 *   1. a PMD-mapped shmem THP is write-protected and its folio is split;
 *   2. the process forks, without and with UFFD_FEATURE_EVENT_FORK;
 *   3. /proc/PID/pagemap is read (bit 57) before and after un-protect;
 *   4. the range is mprotect()ed and mremap()ed (without and with
 *      UFFD_FEATURE_EVENT_REMAP);
 *   5. the range is unregistered, or the userfaultfd is closed.
 *
 * "The write is caught" means: a write to the page raises a write-protect
 * message, it has not landed (checked through a second, unregistered mapping
 * of the same memory) until the page is un-protected, and afterwards it has
 * landed and the rest of the page holds what it held.
 *
 * Where the host kernel (6.18 when this was written) could differ from
 * 6.12, the comments give the 6.12 source that decides what is asserted.
 * Every wait is bounded; the program finishes in about a second.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
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

#define KPF_COMPOUND_TAIL 16
#define KPF_THP		22

/* What pm() reports about a page. */
#define F_WP		1
#define F_PRESENT	2

#define TMO_MS		3000
#define THP_SIZE	(2UL << 20)

static long pgsz, hpsz;
static int quiet;

/* Diagnostics left out with -q. */
#define note(...) do { if (!quiet) ksft_print_msg(__VA_ARGS__); } while (0)

/* ---- userfaultfd ---- */

static int uffd_new(uint64_t features, uint64_t *offered)
{
	int fd = uffd_open();

	if (fd < 0)
		return -1;
	if (uffd_api(fd, features, offered)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- pagemap, smaps, kpageflags ---- */

/* The pagemap entry of @p in @pid (0: us); vm_util exits if it is unreadable. */
static int pm_entry(pid_t pid, const void *p, uint64_t *e)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid ? pid : getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	*e = pagemap_get_entry(fd, (char *)p);
	close(fd);
	return 0;
}

/* F_WP | F_PRESENT as pagemap reports them for @p in @pid (0: us), -1 on error. */
static int pm(pid_t pid, const void *p)
{
	uint64_t e;

	if (pm_entry(pid, p, &e))
		return -1;
	return (e & PM_UFFD_WP ? F_WP : 0) | (e & PM_PRESENT ? F_PRESENT : 0);
}

static const char *pm_str(int f)
{
	static const char *const s[] = { "none", "uffd-wp", "present", "present+uffd-wp" };

	return f < 0 ? "unreadable" : s[f & 3];
}

/* /proc/kpageflags of the page mapped at @p (ours); 0 and *ok=0 if unknown. */
static uint64_t kpf(const void *p, int *ok)
{
	uint64_t e, fl = 0;
	int fd;

	*ok = 0;
	if (pm_entry(0, p, &e) || !(e & PM_PRESENT) || !PAGEMAP_PFN(e))
		return 0;
	fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	*ok = pread(fd, &fl, sizeof(fl), PAGEMAP_PFN(e) * sizeof(fl)) == sizeof(fl);
	close(fd);
	return fl;
}

/* ---- a region of file memory: the registered mapping and a second view ---- */

struct region {
	const char *kind;	/* "shmem" or "hugetlb" */
	size_t ps, n, len;	/* page size, pages, bytes */
	int fd;
	char *p;		/* registered with the userfaultfd */
	char *view;		/* never registered: shows what really is in memory */
	char *shadow;		/* what the memory should hold */
};

static char pat(size_t i)
{
	return 'a' + i % 26;
}

/* Address space for @len bytes aligned to @align, or NULL. */
static char *reserve(size_t len, size_t align)
{
	char *m = mmap(NULL, len + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	char *a;

	if (m == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)m + align - 1) & ~(align - 1));
	if (a > m)
		munmap(m, a - m);
	munmap(a + len, m + align - a);
	return a;
}

static char *map_at(char *at, size_t len, int fd)
{
	char *m;

	if (!at)
		return MAP_FAILED;
	m = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (m == MAP_FAILED)
		munmap(at, len);
	return m;
}

/* 0, or -1 with errno set (no hugetlb pages, ...). */
static int region_open(struct region *r, int huge, size_t n, size_t align)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->kind = huge ? "hugetlb" : "shmem";
	r->ps = huge ? hpsz : pgsz;
	r->n = n;
	r->len = n * r->ps;
	r->p = MAP_FAILED;
	r->view = MAP_FAILED;
	if (huge && hpsz <= 0) {
		errno = EOPNOTSUPP;
		return -1;
	}
	r->fd = memfd_create(huge ? "uffd-wp-lifecycle-huge" : "uffd-wp-lifecycle",
			     MFD_CLOEXEC | (huge ? MFD_HUGETLB : 0));
	if (r->fd < 0 || ftruncate(r->fd, r->len))
		goto fail;
	r->p = map_at(reserve(r->len, align > r->ps ? align : r->ps), r->len, r->fd);
	if (r->p == MAP_FAILED)
		goto fail;
	r->view = map_at(reserve(r->len, r->ps), r->len, r->fd);
	if (r->view == MAP_FAILED)
		goto fail;
	r->shadow = calloc(1, r->len);
	if (r->shadow)
		return 0;
fail:
	err = errno;
	if (r->p != MAP_FAILED)
		munmap(r->p, r->len);
	if (r->view != MAP_FAILED)
		munmap(r->view, r->len);
	if (r->fd >= 0)
		close(r->fd);
	errno = err;
	return -1;
}

static void region_close(struct region *r)
{
	munmap(r->p, r->len);
	munmap(r->view, r->len);
	close(r->fd);
	free(r->shadow);
}

static int page_intact(struct region *r, size_t i)
{
	return !memcmp(r->view + i * r->ps, r->shadow + i * r->ps, r->ps);
}

/*
 * The three kinds of page every case protects: one present, one whose PTE
 * was zapped after protection (a marker), one never mapped in the
 * registered range (a marker installed by UFFDIO_WRITEPROTECT itself).
 */
enum { PG_PRESENT, PG_ZAPPED, PG_UNMAPPED, PG_NR };
static const char *const pg_name[PG_NR] = {
	"present page", "zapped page (marker)", "never-mapped page (marker)",
};

/* @r for a case; on failure reports it (a skip for hugetlb) and returns -1. */
static int case_region(struct region *r, int huge, const char *what)
{
	if (!region_open(r, huge, PG_NR, 0))
		return 0;
	if (huge)
		ksft_test_result_skip("%s: no hugetlb pages to use (%s)\n", what, strerror(errno));
	else
		ksft_test_result_fail("%s: memfd and mappings: %s\n", what, strerror(errno));
	return -1;
}

/* Fill, register, protect, zap: 0 or -1 (reported). */
static int protect_three(const char *what, struct region *r, int uffd)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		memset(r->view + i * r->ps, pat(i), r->ps);
		memset(r->shadow + i * r->ps, pat(i), r->ps);
	}
	/* A write fault maps the page in the registered range. */
	((volatile char *)r->p)[PG_PRESENT * r->ps] = pat(PG_PRESENT);
	((volatile char *)r->p)[PG_ZAPPED * r->ps] = pat(PG_ZAPPED);
	if (uffd_register(uffd, r->p, r->len, false, true, false) ||
	    uffd_writeprotect(uffd, r->p, r->len, 1) ||
	    madvise(r->p + PG_ZAPPED * r->ps, r->ps, MADV_DONTNEED)) {
		ksft_test_result_fail("%s: register, protect, zap: %s\n", what, strerror(errno));
		return -1;
	}
	return 0;
}

/* One result line per page: pagemap of @pid at @base shows @want[i]. */
static void expect_pm(const char *what, pid_t pid, struct region *r, char *base,
		      const int want[PG_NR])
{
	for (int i = 0; i < PG_NR; i++) {
		int got = pm(pid, base + i * r->ps);

		ksft_test_result(got == want[i], "%s: %s: pagemap shows %s%s%s\n", what, pg_name[i],
				 pm_str(want[i]), got == want[i] ? "" : ", got ",
				 got == want[i] ? "" : pm_str(got));
	}
}

/* ---- writers: a thread of ours, or a forked child driven through pipes ---- */

struct cmd {
	char *addr;
	char byte;
	char op;	/* 'w': write, 'q': quit */
};

struct writer {
	pid_t child;	/* 0: a thread */
	int cmd, ack;	/* the child's pipes */
	pthread_t thread;
	volatile char *addr;
	char byte;
};

static void *writer_thread(void *arg)
{
	struct writer *w = arg;

	*w->addr = w->byte;
	return NULL;
}

static __noreturn void child_loop(int cmd, int ack)
{
	struct pollfd pfd = { .fd = cmd, .events = POLLIN };
	struct cmd c;

	for (;;) {
		if (poll(&pfd, 1, 20000) != 1 || read(cmd, &c, sizeof(c)) != sizeof(c))
			_exit(3);
		if (c.op == 'q')
			_exit(0);
		*(volatile char *)c.addr = c.byte;
		if (write(ack, "k", 1) != 1)
			_exit(2);
	}
}

static int join_tmo(pthread_t t, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &ts) == 0;
}

static void writer_start(struct writer *w, char *addr, char byte)
{
	struct cmd c = { .addr = addr, .byte = byte, .op = 'w' };

	w->addr = addr;
	w->byte = byte;
	if (w->child ? write(w->cmd, &c, sizeof(c)) != sizeof(c) :
		       pthread_create(&w->thread, NULL, writer_thread, w) != 0) {
		ksft_test_result_fail("start a writer: %s\n", strerror(errno));
		finish_tests();
	}
}

/* 1 once the write has been done, 0 if still blocked after @ms. */
static int writer_wait(struct writer *w, int ms)
{
	struct pollfd pfd = { .fd = w->ack, .events = POLLIN };
	char c;

	if (!w->child)
		return join_tmo(w->thread, ms);
	return poll(&pfd, 1, ms) == 1 && read(w->ack, &c, 1) == 1;
}

static void child_reap(pid_t pid)
{
	for (int i = 0; i < TMO_MS / 10; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A writer that stays blocked where it must not: stop here, without hanging. */
static __noreturn void writer_stuck(const char *what, struct writer *w)
{
	ksft_test_result_fail("%s: the writer is still blocked after %d ms; giving up\n", what,
			      TMO_MS);
	if (w->child)
		kill(w->child, SIGKILL);
	/* Exiting kills a blocked thread: the fault sleeps killable. */
	finish_tests();
}

static unsigned int write_seq;

/*
 * A write to page @i of @r at @base (the address of r->p in the writer's
 * address space) must be caught by @uffd; @silent (or -1) must stay quiet.
 */
static void expect_caught(const char *what, struct region *r, int uffd, int silent,
			  struct writer *w, char *base, size_t i)
{
	size_t off = r->ps / 2 + write_seq % 64;
	char byte = 'A' + write_seq++ % 26;
	unsigned long page = (uintptr_t)base + i * r->ps;
	struct uffd_msg m;
	int got, early;

	writer_start(w, base + i * r->ps + off, byte);
	got = uffd_read_msg(uffd, &m, TMO_MS) == 1 && m.event == UFFD_EVENT_PAGEFAULT &&
	      (m.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) &&
	      (m.arg.pagefault.address & ~(r->ps - 1)) == page;
	early = r->view[i * r->ps + off] == byte;
	ksft_test_result(got, "%s: a write raises a write-protect message\n", what);
	ksft_test_result(!early, "%s: the write has not landed before un-protect\n", what);
	if (silent >= 0)
		ksft_test_result(uffd_read_msg(silent, &m, 0) == 0,
				 "%s: the other userfaultfd has no message\n", what);
	if (uffd_writeprotect(uffd, (void *)page, r->ps, 0))
		ksft_test_result_fail("%s: un-protect: %s\n", what, strerror(errno));
	if (!writer_wait(w, TMO_MS))
		writer_stuck(what, w);
	r->shadow[i * r->ps + off] = byte;
	ksft_test_result(page_intact(r, i),
			 "%s: after un-protect the write landed and the page holds its data\n",
			 what);
}

/* A write to page @i must complete at once; none of @uffds hears of it. */
static void expect_free(const char *what, struct region *r, const int *uffds, int nr,
			struct writer *w, char *base, size_t i)
{
	size_t off = r->ps / 2 + write_seq % 64;
	char byte = 'A' + write_seq++ % 26;
	struct uffd_msg m;
	int quiet_fds = 1;

	writer_start(w, base + i * r->ps + off, byte);
	if (!writer_wait(w, TMO_MS))
		writer_stuck(what, w);
	for (int k = 0; k < nr; k++)
		if (uffds[k] >= 0 && uffd_read_msg(uffds[k], &m, 0) != 0)
			quiet_fds = 0;
	r->shadow[i * r->ps + off] = byte;
	ksft_test_result(quiet_fds, "%s: a write completes without any userfaultfd message\n",
			 what);
	ksft_test_result(page_intact(r, i), "%s: the write landed and the page holds its data\n",
			 what);
}

/* The label for page @i of case @c. */
static const char *lbl(const char *c, int i)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s, %s", c, pg_name[i]);
	return buf;
}

/* ---- 1. shmem THP: protect a PMD-mapped THP, split the folio ---- */

static const char thp_knob[] = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";
static char thp_knob_saved[32];

static void thp_knob_restore(void)
{
	int fd;

	if (!thp_knob_saved[0])
		return;
	fd = open(thp_knob, O_WRONLY);
	if (fd < 0 || write(fd, thp_knob_saved, strlen(thp_knob_saved)) < 0)
		ksft_print_msg("could not restore %s to %s\n", thp_knob, thp_knob_saved);
	if (fd >= 0)
		close(fd);
	thp_knob_saved[0] = 0;
}

/* Make memfd THPs possible with MADV_HUGEPAGE; NULL or why not. */
static const char *thp_knob_set(void)
{
	char buf[128], *b, *e;
	int fd = open(thp_knob, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return "no shmem THP (no shmem_enabled knob)";
	buf[n] = 0;
	b = strchr(buf, '[');
	e = b ? strchr(b, ']') : NULL;
	if (!e)
		return "cannot parse shmem_enabled";
	*e = 0;
	b++;
	if (!strcmp(b, "always") || !strcmp(b, "advise") || !strcmp(b, "within_size") ||
	    !strcmp(b, "force"))
		return NULL;
	if (strcmp(b, "never"))
		return "shmem_enabled is 'deny'";
	fd = open(thp_knob, O_WRONLY);
	if (fd < 0 || write(fd, "advise", 6) != 6) {
		if (fd >= 0)
			close(fd);
		return "cannot set shmem_enabled to advise";
	}
	close(fd);
	snprintf(thp_knob_saved, sizeof(thp_knob_saved), "%s", b);
	return NULL;
}

/* Pages of r->p that must (still) report uffd-wp, bit per page. */
static unsigned char thp_wp[THP_SIZE / 4096 / 8];

/* How many of the first @n pages show something other than what thp_wp says. */
static size_t thp_count_wrong(struct region *r, size_t n, int need_present)
{
	size_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		int want = (thp_wp[i / 8] >> (i % 8) & 1) ? F_WP : 0;
		int got = pm(0, r->p + i * r->ps);

		if (need_present)
			want |= F_PRESENT;
		if (got < 0 || (got & F_WP) != (want & F_WP) ||
		    (need_present && !(got & F_PRESENT)))
			bad++;
	}
	return bad;
}

static void thp_caught(const char *stage, struct region *r, int uffd, struct writer *w, size_t i)
{
	char what[128];

	snprintf(what, sizeof(what), "shmem THP, %s, page %zu", stage, i);
	expect_caught(what, r, uffd, -1, w, r->p, i);
	thp_wp[i / 8] &= ~(1 << (i % 8));
}

static void case_thp(void)
{
	static const size_t before_split[] = { 3, 300 };
	static const size_t after_split[] = { 0, 1, 99, 100, 101, 255, 256, 511 };
	const size_t punched = 100, probe = 256;
	struct writer w = { 0 };
	struct uffd_msg m;
	struct region r;
	const char *why;
	uint64_t fl;
	size_t n, i, bad;
	int uffd, ok, tail_before = -1;

	if (pgsz != 4096) {
		ksft_test_result_skip("shmem THP: written for 4 KiB pages\n");
		return;
	}
	why = thp_knob_set();
	if (why) {
		ksft_test_result_skip("shmem THP: %s\n", why);
		return;
	}
	if (region_open(&r, 0, THP_SIZE / pgsz, THP_SIZE)) {
		ksft_test_result_fail("shmem THP: memfd and mappings: %s\n", strerror(errno));
		thp_knob_restore();
		return;
	}
	n = r.n;
	madvise(r.p, r.len, MADV_HUGEPAGE);
	for (i = 0; i < n; i++) {
		memset(r.p + i * r.ps, pat(i), r.ps);
		memset(r.shadow + i * r.ps, pat(i), r.ps);
	}
	if (smaps_kb(r.p, "ShmemPmdMapped") < (long)(THP_SIZE >> 10)) {
		ksft_test_result_skip("shmem THP: the memfd range is not PMD-mapped (ShmemPmdMapped %ld kB): no THP could be allocated\n",
				      smaps_kb(r.p, "ShmemPmdMapped"));
		goto out_region;
	}
	fl = kpf(r.p + probe * r.ps, &ok);
	if (ok)
		tail_before = !!(fl & (1ULL << KPF_COMPOUND_TAIL));
	note("shmem THP: PMD-mapped; page %zu is %s\n", probe,
	     tail_before < 0 ? "of unknown kind (no kpageflags)" :
	     tail_before ? "a tail page of the THP" : "NOT a tail page");

	uffd = uffd_new(UFFD_FEATURE_WP_HUGETLBFS_SHMEM, NULL);
	if (uffd < 0 || uffd_register(uffd, r.p, r.len, false, true, false) ||
	    uffd_writeprotect(uffd, r.p, r.len, 1)) {
		ksft_test_result_fail("shmem THP: register and protect: %s\n", strerror(errno));
		goto out_uffd;
	}
	memset(thp_wp, 0xff, sizeof(thp_wp));
	/*
	 * A file PMD cannot carry uffd-wp: 6.12 change_pmd_range() splits it
	 * (pgtable_split_needed(), mm/mprotect.c:301,387), which for file THP
	 * just clears the PMD (__split_huge_pmd_locked(), mm/huge_memory.c);
	 * change_pmd_prepare() then allocates the PTE table and
	 * change_pte_range() puts a marker in each of the 512 none PTEs.
	 */
	ksft_test_result(smaps_kb(r.p, "ShmemPmdMapped") == 0,
			 "shmem THP: write-protect splits the PMD mapping (ShmemPmdMapped 0)\n");
	bad = thp_count_wrong(&r, n, 0);
	ksft_test_result(!bad, "shmem THP: after protect pagemap shows uffd-wp on all %zu pages (%zu wrong)\n",
			 n, bad);

	/*
	 * Read faults map the pages by PTE (the PMD slot holds a table now),
	 * one at a time (uffd_disable_fault_around()), each inheriting the
	 * bit from its marker (vmf_orig_pte_uffd_wp(), mm/memory.c:116).
	 */
	ok = 1;
	for (i = 0; i < n; i++)
		if (memcmp(r.p + i * r.ps, r.shadow + i * r.ps, r.ps))
			ok = 0;
	ksft_test_result(ok && uffd_read_msg(uffd, &m, 0) == 0,
			 "shmem THP: reads see the data and raise no message\n");
	bad = thp_count_wrong(&r, n, 1);
	ksft_test_result(!bad, "shmem THP: after reads all %zu pages are present with uffd-wp (%zu wrong)\n",
			 n, bad);
	for (i = 0; i < ARRAY_SIZE(before_split); i++)
		thp_caught("PTE-mapped THP", &r, uffd, &w, before_split[i]);

	/*
	 * Split the folio: punching one page out of a THP makes
	 * truncate_inode_partial_folio() split it (mm/truncate.c:218).  The
	 * PTEs of the large folio are unmapped for the split, and
	 * try_to_unmap_one() leaves a marker for each uffd-wp one
	 * (mm/rmap.c:1820); the punched page is unmapped first by
	 * unmap_mapping_range() with markers kept (zap_details without
	 * ZAP_FLAG_DROP_MARKER).
	 */
	if (fallocate(r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, punched * r.ps, r.ps)) {
		ksft_test_result_fail("shmem THP: punch a hole: %s\n", strerror(errno));
		goto out_uffd;
	}
	memset(r.shadow + punched * r.ps, 0, r.ps);
	/* The view is not registered: a read maps the page to look up its pfn. */
	(void)*(volatile char *)(r.view + probe * r.ps);
	fl = kpf(r.view + probe * r.ps, &ok);
	/*
	 * Whether the split happened is for information: the split is not
	 * uffd code, and it can fail on a transient extra folio reference
	 * (the punched page is then only zeroed).  What follows holds either way.
	 */
	if (tail_before != 1 || !ok)
		ksft_test_result_skip("shmem THP: the punch hole split the folio: no /proc/kpageflags to tell\n");
	else if (fl & (1ULL << KPF_COMPOUND_TAIL))
		ksft_test_result_skip("shmem THP: the punch hole split the folio: not split this time\n");
	else
		ksft_test_result_pass("shmem THP: the punch hole split the folio (page %zu no longer a tail)\n",
				      probe);
	bad = thp_count_wrong(&r, n, 0);
	ksft_test_result(!bad, "shmem THP: after the split pagemap shows uffd-wp where it should on all %zu pages (%zu wrong)\n",
			 n, bad);
	for (i = 0; i < ARRAY_SIZE(after_split); i++)
		thp_caught(after_split[i] == punched ? "split folio, punched page" : "split folio",
			   &r, uffd, &w, after_split[i]);
	ok = 1;
	for (i = 0; i < n; i++)
		if (!page_intact(&r, i))
			ok = 0;
	ksft_test_result(ok, "shmem THP: all %zu pages hold their data at the end\n", n);
out_uffd:
	if (uffd >= 0)
		close(uffd);
out_region:
	region_close(&r);
	thp_knob_restore();
}

/* ---- 2. fork ---- */

struct forker {
	int cmd[2], ack[2];
	pid_t pid;
};

static void *fork_thread(void *arg)
{
	struct forker *f = arg;

	f->pid = fork();
	if (f->pid == 0)
		child_loop(f->cmd[0], f->ack[1]);
	return NULL;
}

static void case_fork(int huge, int event_fork)
{
	static const int none[PG_NR] = { 0, 0, 0 };
	static const int kept[PG_NR] = { F_PRESENT | F_WP, F_WP, F_WP };
	struct forker f = { .pid = -1 };
	struct writer w = { 0 };
	struct uffd_msg m;
	struct region r;
	pthread_t t;
	char what[128];
	int uffd, cufd = -1, got, i;

	snprintf(what, sizeof(what), "%s fork, %s", huge ? "hugetlb" : "shmem",
		 event_fork ? "EVENT_FORK" : "no EVENT_FORK");
	if (case_region(&r, huge, what))
		return;
	uffd = uffd_new(UFFD_FEATURE_WP_HUGETLBFS_SHMEM |
			(event_fork ? UFFD_FEATURE_EVENT_FORK : 0), NULL);
	if (uffd < 0) {
		ksft_test_result_fail("%s: userfaultfd: %s\n", what, strerror(errno));
		goto out_region;
	}
	if (protect_three(what, &r, uffd))
		goto out;
	{
		char lab[160];

		snprintf(lab, sizeof(lab), "%s, parent before fork", what);
		expect_pm(lab, 0, &r, r.p, kept);
	}
	if (pipe(f.cmd) || pipe(f.ack)) {
		ksft_test_result_fail("%s: pipe: %s\n", what, strerror(errno));
		goto out;
	}
	if (event_fork) {
		/*
		 * With EVENT_FORK, fork() waits until the event has been read
		 * (dup_userfaultfd_complete(), fs/userfaultfd.c): fork from a
		 * thread, read the event here.
		 */
		if (pthread_create(&t, NULL, fork_thread, &f)) {
			ksft_test_result_fail("%s: pthread_create\n", what);
			goto out_pipes;
		}
		got = uffd_read_msg(uffd, &m, TMO_MS) == 1 && m.event == UFFD_EVENT_FORK;
		if (!join_tmo(t, TMO_MS)) {
			ksft_test_result_fail("%s: fork() did not return\n", what);
			finish_tests();
		}
		cufd = got ? (int)m.arg.fork.ufd : -1;
		ksft_test_result(got && cufd >= 0, "%s: the parent reads UFFD_EVENT_FORK with the child's userfaultfd\n",
				 what);
	} else {
		fork_thread(&f);
		ksft_test_result(uffd_read_msg(uffd, &m, 0) == 0, "%s: fork sends no event\n",
				 what);
	}
	if (f.pid < 0) {
		ksft_test_result_fail("%s: fork: %s\n", what, strerror(errno));
		goto out_pipes;
	}
	w.child = f.pid;
	w.cmd = f.cmd[1];
	w.ack = f.ack[0];

	if (event_fork) {
		/*
		 * 6.12: the child's VMA keeps VM_UFFD_WP (dup_userfaultfd()),
		 * so vma_needs_copy() copies the page tables even for a shared
		 * file mapping (mm/memory.c:1338): present PTEs keep the bit
		 * (__copy_present_ptes() clears it only when the child VMA is
		 * not uffd-wp), markers are copied by copy_pte_marker()
		 * (include/linux/mm_inline.h:532); hugetlb the same in
		 * copy_hugetlb_page_range() (mm/hugetlb.c).
		 */
		char lab[160];

		snprintf(lab, sizeof(lab), "%s, child", what);
		expect_pm(lab, f.pid, &r, r.p, kept);
		for (i = 0; i < PG_NR; i++) {
			snprintf(lab, sizeof(lab), "%s, child's %s", what, pg_name[i]);
			if (cufd >= 0)
				expect_caught(lab, &r, cufd, uffd, &w, r.p, i);
		}
	} else {
		/*
		 * 6.12: without EVENT_FORK dup_userfaultfd() resets the
		 * child's VMA (fs/userfaultfd.c:637), so vma_needs_copy() is
		 * false for this shared mapping with no anon_vma
		 * (mm/memory.c:1330) and the child starts with no page table
		 * entries at all: no present PTE, no marker, no uffd-wp.
		 */
		char lab[160];

		snprintf(lab, sizeof(lab), "%s, child", what);
		expect_pm(lab, f.pid, &r, r.p, none);
		for (i = 0; i < PG_NR; i++) {
			snprintf(lab, sizeof(lab), "%s, child's %s", what, pg_name[i]);
			expect_free(lab, &r, &uffd, 1, &w, r.p, i);
		}
	}
	{
		struct cmd q = { .op = 'q' };

		if (write(w.cmd, &q, sizeof(q)) != sizeof(q))
			kill(f.pid, SIGKILL);
		child_reap(f.pid);
	}

	/* What the child did leaves the parent's protection as it was. */
	{
		char lab[160];
		struct writer pw = { 0 };

		snprintf(lab, sizeof(lab), "%s, parent after the child", what);
		expect_pm(lab, 0, &r, r.p, kept);
		for (i = 0; i < PG_NR; i++) {
			snprintf(lab, sizeof(lab), "%s, parent's %s", what, pg_name[i]);
			expect_caught(lab, &r, uffd, -1, &pw, r.p, i);
		}
	}
out_pipes:
	close(f.cmd[0]);
	close(f.cmd[1]);
	close(f.ack[0]);
	close(f.ack[1]);
out:
	if (cufd >= 0)
		close(cufd);
	close(uffd);
out_region:
	region_close(&r);
}

/* ---- 3. pagemap ---- */

static void case_pagemap(int huge)
{
	static const int kept[PG_NR] = { F_PRESENT | F_WP, F_WP, F_WP };
	static const int gone[PG_NR] = { F_PRESENT, 0, 0 };
	struct region r;
	char what[128];
	int uffd;

	snprintf(what, sizeof(what), "%s pagemap", huge ? "hugetlb" : "shmem");
	if (case_region(&r, huge, what))
		return;
	uffd = uffd_new(UFFD_FEATURE_WP_HUGETLBFS_SHMEM, NULL);
	if (uffd < 0 || protect_three(what, &r, uffd))
		goto out;
	/*
	 * 6.12 fs/proc/task_mmu.c: pte_to_pagemap_entry() sets bit 57 for a
	 * uffd-wp PTE and for a uffd-wp marker; pagemap_hugetlb_range() for a
	 * uffd-wp huge PTE and, via pte_swp_uffd_wp_any(), for a marker.
	 */
	expect_pm(what, 0, &r, r.p, kept);
	/*
	 * Un-protect clears the bit of present PTEs and drops markers
	 * (change_pte_range(), mm/mprotect.c:248; hugetlb_change_protection()).
	 */
	if (uffd_writeprotect(uffd, r.p, r.len, 0))
		ksft_test_result_fail("%s: un-protect: %s\n", what, strerror(errno));
	snprintf(what, sizeof(what), "%s pagemap after un-protect", huge ? "hugetlb" : "shmem");
	expect_pm(what, 0, &r, r.p, gone);
out:
	if (uffd >= 0)
		close(uffd);
	region_close(&r);
}

/* ---- 4. mprotect and mremap ---- */

static void case_mprotect(int huge)
{
	static const int kept[PG_NR] = { F_PRESENT | F_WP, F_WP, F_WP };
	struct writer w = { 0 };
	struct region r;
	char what[128];
	int uffd, i;

	snprintf(what, sizeof(what), "%s mprotect", huge ? "hugetlb" : "shmem");
	if (case_region(&r, huge, what))
		return;
	uffd = uffd_new(UFFD_FEATURE_WP_HUGETLBFS_SHMEM, NULL);
	if (uffd < 0 || protect_three(what, &r, uffd))
		goto out;
	/*
	 * 6.12 change_pte_range() keeps the bit through pte_modify() (x86
	 * _PAGE_CHG_MASK holds _PAGE_UFFD_WP) and leaves markers alone
	 * without MM_CP_UFFD_WP_RESOLVE; can_change_pte_writable() refuses
	 * to make a uffd-wp PTE writable on the way back.
	 */
	if (mprotect(r.p, r.len, PROT_READ)) {
		ksft_test_result_fail("%s: mprotect(PROT_READ): %s\n", what, strerror(errno));
		goto out;
	}
	snprintf(what, sizeof(what), "%s mprotect(PROT_READ)", r.kind);
	expect_pm(what, 0, &r, r.p, kept);
	if (mprotect(r.p, r.len, PROT_READ | PROT_WRITE)) {
		ksft_test_result_fail("%s: mprotect(PROT_READ|PROT_WRITE): %s\n", what,
				      strerror(errno));
		goto out;
	}
	snprintf(what, sizeof(what), "%s mprotect back to PROT_READ|PROT_WRITE", r.kind);
	expect_pm(what, 0, &r, r.p, kept);
	for (i = 0; i < PG_NR; i++)
		expect_caught(lbl(what, i), &r, uffd, -1, &w, r.p, i);
out:
	if (uffd >= 0)
		close(uffd);
	region_close(&r);
}

struct remap {
	char *from, *to, *ret;
	size_t len;
};

static void *remap_thread(void *arg)
{
	struct remap *a = arg;

	a->ret = mremap(a->from, a->len, a->len, MREMAP_MAYMOVE | MREMAP_FIXED, a->to);
	return NULL;
}

static void case_mremap(int huge, int event_remap)
{
	static const int kept[PG_NR] = { F_PRESENT | F_WP, F_WP, F_WP };
	static const int cleared[PG_NR] = { F_PRESENT, 0, 0 };
	struct writer w = { 0 };
	struct uffd_msg m;
	struct remap a;
	struct region r;
	pthread_t t;
	char what[128];
	int uffd, i, got;

	snprintf(what, sizeof(what), "%s mremap, %s", huge ? "hugetlb" : "shmem",
		 event_remap ? "EVENT_REMAP" : "no EVENT_REMAP");
	if (case_region(&r, huge, what))
		return;
	uffd = uffd_new(UFFD_FEATURE_WP_HUGETLBFS_SHMEM |
			(event_remap ? UFFD_FEATURE_EVENT_REMAP : 0), NULL);
	if (uffd < 0 || protect_three(what, &r, uffd))
		goto out;
	a.from = r.p;
	a.len = r.len;
	a.to = reserve(r.len, r.ps);
	if (!a.to) {
		ksft_test_result_fail("%s: reserve the destination: %s\n", what, strerror(errno));
		goto out;
	}
	if (event_remap) {
		/* mremap() waits until the event is read (mremap_userfaultfd_complete()). */
		if (pthread_create(&t, NULL, remap_thread, &a)) {
			ksft_test_result_fail("%s: pthread_create\n", what);
			munmap(a.to, r.len);
			goto out;
		}
		got = uffd_read_msg(uffd, &m, TMO_MS) == 1 && m.event == UFFD_EVENT_REMAP &&
		      m.arg.remap.from == (uintptr_t)a.from && m.arg.remap.to == (uintptr_t)a.to &&
		      m.arg.remap.len == a.len;
		if (!join_tmo(t, TMO_MS)) {
			ksft_test_result_fail("%s: mremap() did not return\n", what);
			finish_tests();
		}
		ksft_test_result(got, "%s: UFFD_EVENT_REMAP reports the move\n", what);
	} else {
		remap_thread(&a);
		ksft_test_result(uffd_read_msg(uffd, &m, 0) == 0, "%s: no event\n", what);
	}
	if (a.ret != a.to) {
		ksft_test_result_fail("%s: mremap: %s\n", what, strerror(errno));
		munmap(a.to, r.len);
		goto out;
	}
	r.p = a.to;
	if (event_remap) {
		/* The new VMA keeps the context, the PTEs move as they are. */
		expect_pm(what, 0, &r, r.p, kept);
		for (i = 0; i < PG_NR; i++)
			expect_caught(lbl(what, i), &r, uffd, -1, &w, r.p, i);
	} else {
		/*
		 * 6.12 mm/mremap.c: vma_has_uffd_without_event_remap() makes
		 * move_ptes() (and move_huge_pte() for hugetlb) drop uffd-wp
		 * markers and clear the bit of present PTEs (line 141, 212),
		 * and mremap_userfaultfd_prep() unregisters the new VMA.
		 */
		expect_pm(what, 0, &r, r.p, cleared);
		errno = 0;
		ksft_test_result(uffd_writeprotect(uffd, r.p, r.len, 1) && errno == ENOENT,
				 "%s: the moved range is no longer registered\n", what);
		for (i = 0; i < PG_NR; i++)
			expect_free(lbl(what, i), &r, &uffd, 1, &w, r.p, i);
	}
out:
	if (uffd >= 0)
		close(uffd);
	region_close(&r);
}

/* ---- 5. unregister / close ---- */

static void case_unregister(int huge, int by_close)
{
	static const int gone[PG_NR] = { F_PRESENT, 0, 0 };
	struct writer w = { 0 };
	struct region r;
	char what[128];
	int uffd, i;

	snprintf(what, sizeof(what), "%s %s", huge ? "hugetlb" : "shmem",
		 by_close ? "close(userfaultfd)" : "UFFDIO_UNREGISTER");
	if (case_region(&r, huge, what))
		return;
	uffd = uffd_new(UFFD_FEATURE_WP_HUGETLBFS_SHMEM, NULL);
	if (uffd < 0 || protect_three(what, &r, uffd))
		goto out;
	/*
	 * 6.12 userfaultfd_clear_vma() (mm/userfaultfd.c), reached from
	 * UFFDIO_UNREGISTER and from release, calls uffd_wp_range(.., false)
	 * first: bits cleared, markers dropped.
	 */
	if (by_close) {
		close(uffd);
		uffd = -1;
	} else if (uffd_unregister(uffd, r.p, r.len)) {
		ksft_test_result_fail("%s: %s\n", what, strerror(errno));
		goto out;
	}
	expect_pm(what, 0, &r, r.p, gone);
	for (i = 0; i < PG_NR; i++)
		expect_free(lbl(what, i), &r, &uffd, 1, &w, r.p, i);
out:
	if (uffd >= 0)
		close(uffd);
	region_close(&r);
}

int main(int argc, char **argv)
{
	uint64_t offered = 0;
	int fd, huge;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-q"))
			quiet = 1;
	pgsz = sysconf(_SC_PAGESIZE);
	hpsz = default_huge_page_size();
	ksft_print_header();
	fd = uffd_new(0, &offered);
	if (fd < 0 || !(offered & UFFD_FEATURE_WP_HUGETLBFS_SHMEM))
		ksft_exit_skip("%s\n", fd < 0 ? "no userfaultfd" :
			       "UFFD_FEATURE_WP_HUGETLBFS_SHMEM not offered");
	close(fd);
	if (pm(0, &fd) < 0)
		ksft_exit_skip("/proc/self/pagemap unreadable\n");
	atexit(thp_knob_restore);

	case_thp();
	for (huge = 0; huge <= 1; huge++) {
		case_fork(huge, 0);
		case_fork(huge, 1);
		case_pagemap(huge);
		case_mprotect(huge);
		case_mremap(huge, 0);
		case_mremap(huge, 1);
		case_unregister(huge, 0);
		case_unregister(huge, 1);
	}
	finish_tests();
}
