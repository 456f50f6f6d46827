// SPDX-License-Identifier: GPL-2.0
/*
 * Each userfaultfd fill ioctl resolving a real fault, on each memory type:
 * anon, shmem (a memfd mapped shared, and mapped private), hugetlb (a 2MB
 * MFD_HUGETLB memfd mapped shared, and mapped private).
 *
 * In every case a thread touches one page (a 2MB page for hugetlb) of a
 * registered mapping and blocks in the fault; the main thread reads the
 * fault message, checks what it reports, resolves the fault with the ioctl
 * and checks the result field.  The faulting thread records what it then
 * reads (and writes a byte), and the test checks those bytes, and where the
 * memory is a file, whether the file (seen through a second, unregistered
 * shared mapping) got them.  The cases:
 *   - UFFDIO_COPY for a read fault and for a write fault;
 *   - UFFDIO_ZEROPAGE; hugetlb has no zero page: EINVAL with -EINVAL in
 *     the field, and the fault is then resolved with UFFDIO_COPY;
 *   - UFFDIO_CONTINUE (MINOR mode, files only) for a read and a write
 *     fault: the page cache page is changed after the fault, the thread must
 *     see the new bytes; on a private mapping the page is mapped read-only,
 *     so a write copies it and the file is left alone;
 *   - UFFDIO_COPY with MODE_WP and UFFDIO_CONTINUE with MODE_WP: the page is
 *     mapped write-protected; the thread's write raises a write-protect
 *     message and has not landed until the page is un-protected;
 *   - UFFDIO_POISON: the thread's access gets SIGBUS at the address it
 *     touched (caught with sigsetjmp);
 *   - MODE_DONTWAKE: the thread stays blocked until UFFDIO_WAKE.
 * Hugetlb cases are skipped when no free 2MB huge pages are available.
 *
 * What is expected is what Linux 6.12 does: MINOR registration is allowed
 * on private shmem and hugetlb mappings too (vma_can_userfault()); without
 * UFFD_FEATURE_EXACT_ADDRESS the message gives the start of the page (of
 * the huge page for hugetlb); a poisoned page gives SIGBUS at the faulting
 * address, with si_code BUS_MCEERR_AR or, without CONFIG_MEMORY_FAILURE,
 * BUS_ADRERR, so the code is not checked.  A 6.18 kernel behaves the same.
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"

#define SENTINEL ((__s64)0x5a5a5a5a5a5a5a5aLL)
#define SEEN 32		/* bytes the faulting thread records */
#define WBYTE 0x77	/* the byte it writes */

enum op { OP_COPY, OP_ZERO, OP_CONT, OP_POISON };
static const char *const op_name[] = { "COPY", "ZEROPAGE", "CONTINUE", "POISON" };
static const char *const field_name[] = { "copy", "zeropage", "mapped", "updated" };

enum mem { M_ANON, M_SHMEM, M_SHMEM_PRIV, M_HUGE, M_HUGE_PRIV, NR_MEMS };
#define A_ANON	(1u << M_ANON)
#define A_SHM	(1u << M_SHMEM)
#define A_SHMP	(1u << M_SHMEM_PRIV)
#define A_HUGE	(1u << M_HUGE)
#define A_HUGEP	(1u << M_HUGE_PRIV)
#define A_FILE	(A_SHM | A_SHMP | A_HUGE | A_HUGEP)
#define A_ALL	(A_ANON | A_FILE)

static const char *const mem_name[] = {
	"anon", "shmem", "shmem private", "hugetlb", "hugetlb private",
};

struct mcase {
	const char *name;
	enum op op;
	unsigned int mems;
	__u64 reg;		/* registration mode */
	__u64 mode;		/* ioctl mode */
	int write_first;	/* the fault is a write */
	int write_after;	/* after reading, the thread writes a byte */
	int wp;			/* ... which raises a write-protect fault */
	int dontwake;
};

#define MISSING	UFFDIO_REGISTER_MODE_MISSING
#define MINOR	UFFDIO_REGISTER_MODE_MINOR
#define WP	UFFDIO_REGISTER_MODE_WP

static const struct mcase cases[] = {
	{ "read fault", OP_COPY, A_ALL, MISSING, 0, .write_after = 1 },
	{ "write fault", OP_COPY, A_ALL, MISSING, 0, .write_first = 1 },
	{ "read fault", OP_ZERO, A_ALL, MISSING, 0, .write_after = 1 },
	{ "read fault", OP_CONT, A_FILE, MINOR, 0, .write_after = 1 },
	{ "write fault", OP_CONT, A_FILE, MINOR, 0, .write_first = 1 },
	{ "MODE_WP", OP_COPY, A_ALL, MISSING | WP, UFFDIO_COPY_MODE_WP,
	  .write_after = 1, .wp = 1 },
	{ "MODE_WP", OP_CONT, A_FILE, MINOR | WP, UFFDIO_CONTINUE_MODE_WP,
	  .write_after = 1, .wp = 1 },
	{ "read fault", OP_POISON, A_ALL, MISSING, 0, .write_first = 0 },
	{ "write fault", OP_POISON, A_ALL, MISSING, 0, .write_first = 1 },
	{ "MODE_DONTWAKE", OP_COPY, A_ANON | A_SHM | A_HUGE, MISSING,
	  UFFDIO_COPY_MODE_DONTWAKE, .dontwake = 1 },
	{ "MODE_DONTWAKE", OP_ZERO, A_ANON | A_SHMP, MISSING,
	  UFFDIO_ZEROPAGE_MODE_DONTWAKE, .dontwake = 1 },
	{ "MODE_DONTWAKE", OP_CONT, A_SHM | A_HUGEP, MINOR,
	  UFFDIO_CONTINUE_MODE_DONTWAKE, .dontwake = 1 },
	{ "MODE_DONTWAKE", OP_POISON, A_SHMP | A_HUGE, MISSING,
	  UFFDIO_POISON_MODE_DONTWAKE, .dontwake = 1 },
};

static int quiet;
static size_t hsize;
static int have_huge;

/* Diagnostics left out with -q. */
#define say(...) do { if (!quiet) ksft_print_msg(__VA_ARGS__); } while (0)

static int is_huge(enum mem m)
{
	return m == M_HUGE || m == M_HUGE_PRIV;
}

static int is_shared(enum mem m)
{
	return m == M_SHMEM || m == M_HUGE;
}

/* The faulting thread, and what it saw. */
struct toucher {
	char *page;		/* start of the page */
	size_t unit;
	size_t off;		/* where it touches */
	int write_first, write_after;
	unsigned char seen[SEEN], head, tail, after;
	int sigbus, si_code;
	void *bus_addr;
	pid_t tid;
	volatile int done;
};

static __thread sigjmp_buf tls_jb;
static __thread struct toucher *tls_t;
static __thread volatile int tls_armed;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!tls_armed) {
		/* not one of ours: die of it */
		signal(sig, SIG_DFL);
		return;
	}
	tls_armed = 0;
	tls_t->sigbus = 1;
	tls_t->si_code = si->si_code;
	tls_t->bus_addr = si->si_addr;
	siglongjmp(tls_jb, 1);
}

static void *toucher_fn(void *arg)
{
	struct toucher *t = arg;
	volatile char *p = t->page + t->off;

	t->tid = syscall(SYS_gettid);
	tls_t = t;
	if (sigsetjmp(tls_jb, 1)) {
		t->done = 1;
		return NULL;
	}
	tls_armed = 1;
	if (t->write_first)
		p[0] = WBYTE;
	for (int i = 0; i < SEEN; i++)
		t->seen[i] = p[i];
	t->head = ((volatile char *)t->page)[0];
	t->tail = ((volatile char *)t->page)[t->unit - 1];
	if (t->write_after) {
		p[1] = WBYTE;
		t->after = p[1];
	}
	tls_armed = 0;
	t->done = 1;
	return NULL;
}

/* The thread's scheduler state, from /proc/self/task/TID/stat. */
static char task_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/*
 * Waits until the faulting thread sleeps (in the fault: it does nothing
 * else that sleeps), and still sleeps a little later.
 */
static int wait_asleep(struct toucher *t)
{
	for (int i = 0; i < 400; i++) {
		if (t->tid && task_state(t->tid) == 'S') {
			usleep(20000);
			if (task_state(t->tid) == 'S')
				return 1;
		}
		usleep(5000);
	}
	return 0;
}

static int fill(int uffd, enum op op, char *at, size_t len, char *src, __u64 mode,
		__s64 *field, int *err)
{
	int ret = -1;

	errno = 0;
	switch (op) {
	case OP_COPY: {
		struct uffdio_copy a = { .dst = (unsigned long)at, .src = (unsigned long)src,
					 .len = len, .mode = mode, .copy = SENTINEL };

		ret = ioctl(uffd, UFFDIO_COPY, &a);
		*field = a.copy;
		break;
	}
	case OP_ZERO: {
		struct uffdio_zeropage a = { .range = { (unsigned long)at, len },
					     .mode = mode, .zeropage = SENTINEL };

		ret = ioctl(uffd, UFFDIO_ZEROPAGE, &a);
		*field = a.zeropage;
		break;
	}
	case OP_CONT: {
		struct uffdio_continue a = { .range = { (unsigned long)at, len },
					     .mode = mode, .mapped = SENTINEL };

		ret = ioctl(uffd, UFFDIO_CONTINUE, &a);
		*field = a.mapped;
		break;
	}
	case OP_POISON: {
		struct uffdio_poison a = { .range = { (unsigned long)at, len },
					   .mode = mode, .updated = SENTINEL };

		ret = ioctl(uffd, UFFDIO_POISON, &a);
		*field = a.updated;
		break;
	}
	}
	*err = ret ? errno : 0;
	return ret;
}

static __u64 features_for(const struct mcase *c, enum mem m)
{
	__u64 f = 0;

	if (c->reg & MINOR)
		f |= is_huge(m) ? UFFD_FEATURE_MINOR_HUGETLBFS : UFFD_FEATURE_MINOR_SHMEM;
	if ((c->reg & WP) && m != M_ANON)
		f |= UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
	if (c->op == OP_POISON)
		f |= UFFD_FEATURE_POISON;
	return f;
}

static const char *fault_kind(__u64 flags)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s%s%s",
		 flags & UFFD_PAGEFAULT_FLAG_WP ? "write-protect" :
		 flags & UFFD_PAGEFAULT_FLAG_MINOR ? "minor" : "missing",
		 flags & UFFD_PAGEFAULT_FLAG_WRITE ? " write" : " read",
		 flags & ~(__u64)(UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_MINOR |
				  UFFD_PAGEFAULT_FLAG_WRITE) ? " +?" : "");
	return buf;
}

static int check_msg(const struct uffd_msg *msg, char *page, __u64 want_flags)
{
	return msg->event == UFFD_EVENT_PAGEFAULT &&
	       msg->arg.pagefault.address == (unsigned long)page &&
	       msg->arg.pagefault.flags == want_flags;
}

static void show_msg(const struct uffd_msg *msg, char *page)
{
	ksft_print_msg("message: event %u, address %#llx (page %p), %s\n", msg->event,
		       (unsigned long long)msg->arg.pagefault.address, page,
		       fault_kind(msg->arg.pagefault.flags));
}

/* One case's memory: the registered page, the file's view, the source. */
struct arena {
	size_t unit;
	char *resv;		/* PROT_NONE reservation holding the page */
	char *page;		/* the registered page, 1 unit */
	char *view;		/* MAP_SHARED view of the file (not for anon) */
	char *src;		/* COPY source */
	char *expect;		/* scratch: what the page should hold */
	int memfd, uffd;
};

static void arena_fini(struct arena *a)
{
	if (a->uffd >= 0)
		close(a->uffd);
	if (a->resv)
		munmap(a->resv, 2 * a->unit);
	if (a->view)
		munmap(a->view, a->unit);
	if (a->src)
		munmap(a->src, a->unit);
	if (a->memfd >= 0)
		close(a->memfd);
	free(a->expect);
}

/* Returns 0 when set up, -1 (reported) on failure, 1 (reported) to skip. */
static int arena_init(struct arena *a, const struct mcase *c, enum mem m, const char *pre)
{
	int shared = MAP_FIXED | (is_shared(m) ? MAP_SHARED : MAP_PRIVATE);
	int anon = MAP_PRIVATE | MAP_ANONYMOUS;
	int rw = PROT_READ | PROT_WRITE;
	struct uffdio_api api = { .api = UFFD_API, .features = features_for(c, m) };
	size_t u = a->unit;
	void *p;

	a->resv = mmap(NULL, 2 * u, PROT_NONE, anon | MAP_NORESERVE, -1, 0);
	a->src = mmap(NULL, u, rw, anon, -1, 0);
	a->expect = malloc(u);
	if (a->resv == MAP_FAILED || a->src == MAP_FAILED || !a->expect) {
		ksft_test_result_fail("%s: setup: %s\n", pre, strerror(errno));
		a->resv = a->resv == MAP_FAILED ? NULL : a->resv;
		a->src = a->src == MAP_FAILED ? NULL : a->src;
		return -1;
	}
	a->page = (char *)(((unsigned long)a->resv + u - 1) & ~(u - 1));
	fill_pattern(a->src, u, 'S');
	if (m == M_ANON) {
		p = mmap(a->page, u, rw, anon | MAP_FIXED, -1, 0);
	} else {
		a->memfd = memfd_create("uffd-fill-modes",
					MFD_CLOEXEC | (is_huge(m) ? MFD_HUGETLB : 0));
		p = MAP_FAILED;
		if (a->memfd >= 0 && !ftruncate(a->memfd, u))
			p = mmap(a->page, u, rw, shared, a->memfd, 0);
		if (p != MAP_FAILED) {
			a->view = mmap(NULL, u, rw, MAP_SHARED, a->memfd, 0);
			if (a->view == MAP_FAILED) {
				a->view = NULL;
				p = MAP_FAILED;
			}
		}
	}
	if (p == MAP_FAILED) {
		ksft_test_result_fail("%s: setup: map the page: %s\n", pre, strerror(errno));
		return -1;
	}
	/* CONTINUE: the page cache has the page before the fault */
	if (c->op == OP_CONT)
		fill_pattern(a->view, u, 'A');

	a->uffd = uffd_open();
	if (a->uffd < 0) {
		ksft_test_result_fail("%s: setup: userfaultfd: %s\n", pre, strerror(errno));
		return -1;
	}
	if (ioctl(a->uffd, UFFDIO_API, &api)) {
		ksft_test_result_skip("%s: UFFDIO_API features %#llx: %s\n", pre,
				      (unsigned long long)api.features, strerror(errno));
		return 1;
	}
	if (uffd_register(a->uffd, a->page, u, c->reg & MISSING, c->reg & WP, c->reg & MINOR)) {
		ksft_test_result_fail("%s: setup: register mode %#llx: %s\n", pre,
				      (unsigned long long)c->reg, strerror(errno));
		return -1;
	}
	return 0;
}

/* Resolves the fault with the case's ioctl; checks the result field. */
static void resolve(const struct mcase *c, enum mem m, struct arena *a, const char *pre)
{
	size_t u = a->unit;
	__s64 field = SENTINEL;
	int ret, err, ok;

	ret = fill(a->uffd, c->op, a->page, u, a->src, c->mode, &field, &err);
	if (c->op == OP_ZERO && is_huge(m)) {
		ok = ret == -1 && err == EINVAL && field == -EINVAL;
		ksft_test_result(ok, "%s: hugetlb has no zero page: EINVAL, zeropage -EINVAL\n",
				 pre);
		if (!ok)
			ksft_print_msg("got ret %d errno %d field %lld\n", ret, err,
				       (long long)field);
		ret = fill(a->uffd, OP_COPY, a->page, u, a->src, 0, &field, &err);
		ok = ret == 0 && field == (__s64)u;
		ksft_test_result(ok, "%s: then COPY resolves the fault: copy = page size\n", pre);
	} else {
		ok = ret == 0 && field == (__s64)u;
		ksft_test_result(ok, "%s: returns 0, %s = page size\n", pre, field_name[c->op]);
	}
	if (!ok)
		ksft_print_msg("got ret %d errno %d field %lld\n", ret, err, (long long)field);
}

/* MODE_WP: the thread's write faults, and waits until un-protect. */
static void wp_write(const struct mcase *c, struct arena *a, struct toucher *t,
		     const char *pre)
{
	char before = c->op == OP_CONT ? a->view[t->off + 1] : a->src[t->off + 1];
	struct uffd_msg msg;
	int ok;

	ok = uffd_read_msg(a->uffd, &msg, 5000) == 1;
	if (ok && !check_msg(&msg, a->page, UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE)) {
		show_msg(&msg, a->page);
		ok = 0;
	}
	ksft_test_result(ok, "%s: the thread's write raises a write-protect fault\n", pre);
	/* the page is mapped and readable here */
	ksft_test_result(a->page[t->off + 1] == before && !t->done,
			 "%s: the write has not landed while the page is protected\n", pre);
	ok = !uffd_writeprotect(a->uffd, a->page, a->unit, 0);
	ksft_test_result(ok, "%s: un-protect\n", pre);
	if (!ok)
		ksft_print_msg("UFFDIO_WRITEPROTECT: %s\n", strerror(errno));
}

/* What the thread saw, what the page and the file hold afterwards. */
static void check_data(const struct mcase *c, enum mem m, struct arena *a,
		       struct toucher *t, const char *pre)
{
	unsigned char *want = (unsigned char *)a->expect;
	size_t u = a->unit, off = t->off;
	int ok;

	if (c->op == OP_POISON) {
		ok = t->sigbus && t->bus_addr == a->page + off;
		ksft_test_result(ok, "%s: the thread got SIGBUS at the address it touched\n", pre);
		if (!ok)
			ksft_print_msg("SIGBUS %d at %p (touched %p), code %d\n", t->sigbus,
				       t->bus_addr, a->page + off, t->si_code);
		return;
	}
	if (c->op == OP_ZERO && !is_huge(m))
		memset(want, 0, u);
	else if (c->op == OP_CONT)
		fill_pattern(a->expect, u, 'B');
	else
		memcpy(want, a->src, u);
	if (c->write_first)
		want[off] = WBYTE;
	ok = !t->sigbus && t->done && !memcmp(t->seen, want + off, SEEN) &&
	     t->head == want[0] && t->tail == want[u - 1];
	ksft_test_result(ok, "%s: the thread read the %s\n", pre,
			 c->op == OP_CONT ? "page cache bytes as changed after the fault" :
			 c->op == OP_ZERO && !is_huge(m) ? "zeroes" : "copied bytes");
	if (!ok)
		ksft_print_msg("SIGBUS %d, done %d, read %02x %02x %02x %02x, want %02x %02x %02x %02x\n",
			       t->sigbus, t->done, t->seen[0], t->seen[1], t->seen[2], t->seen[3],
			       want[off], want[off + 1], want[off + 2], want[off + 3]);
	if (c->write_after) {
		ksft_test_result(t->after == WBYTE, "%s: the thread's write landed\n", pre);
		want[off + 1] = WBYTE;
	}
	ksft_test_result(!memcmp(a->page, want, u),
			 "%s: the page holds those bytes afterwards\n", pre);

	/* a shared mapping wrote through to the file, a private one did not */
	if (!a->view)
		return;
	if (is_shared(m)) {
		ksft_test_result(!memcmp(a->view, a->page, u),
				 "%s: the file holds the same bytes\n", pre);
		return;
	}
	if (c->op == OP_CONT)
		fill_pattern(a->expect, u, 'B');
	else
		memset(want, 0, u);
	ksft_test_result(!memcmp(a->view, want, u), "%s: the file is untouched\n", pre);
}

static void run_case(const struct mcase *c, enum mem m)
{
	struct arena a = { .unit = is_huge(m) ? hsize : psize(), .memfd = -1, .uffd = -1 };
	struct toucher t = { 0 };
	struct uffd_msg msg;
	__u64 want_flags;
	pthread_t thread;
	int thread_live = 0, ok;
	char pre[128];

	snprintf(pre, sizeof(pre), "%s %s, %s", op_name[c->op], mem_name[m], c->name);
	if (is_huge(m) && !have_huge) {
		ksft_test_result_skip("%s: no free 2MB hugetlb pages\n", pre);
		return;
	}
	say("%s\n", pre);
	if (arena_init(&a, c, m, pre))
		goto out;

	t.page = a.page;
	t.unit = a.unit;
	t.off = a.unit / 2 + 17;
	t.write_first = c->write_first;
	t.write_after = c->write_after;
	if (pthread_create(&thread, NULL, toucher_fn, &t)) {
		ksft_test_result_fail("%s: setup: pthread_create\n", pre);
		goto out;
	}
	thread_live = 1;

	/* the fault is reported at the start of the (huge) page */
	want_flags = (c->op == OP_CONT ? UFFD_PAGEFAULT_FLAG_MINOR : 0) |
		     (c->write_first ? UFFD_PAGEFAULT_FLAG_WRITE : 0);
	if (uffd_read_msg(a.uffd, &msg, 5000) != 1) {
		ksft_test_result_fail("%s: no fault message\n", pre);
		goto out;
	}
	ok = check_msg(&msg, a.page, want_flags);
	ksft_test_result(ok, "%s: a %s fault is reported at the page\n", pre,
			 fault_kind(want_flags));
	if (!ok)
		show_msg(&msg, a.page);

	/* CONTINUE maps what the page cache holds now, not at fault time */
	if (c->op == OP_CONT)
		fill_pattern(a.view, a.unit, 'B');
	if (c->dontwake && !wait_asleep(&t))
		ksft_print_msg("the faulting thread is not seen asleep\n");

	resolve(c, m, &a, pre);

	if (c->dontwake) {
		struct uffdio_range r = { (unsigned long)a.page, a.unit };

		/* it sleeps until woken: 100ms is plenty to see it didn't go on */
		usleep(100000);
		ksft_test_result(!t.done, "%s: the faulting thread still waits\n", pre);
		ok = !ioctl(a.uffd, UFFDIO_WAKE, &r);
		ksft_test_result(ok, "%s: UFFDIO_WAKE\n", pre);
		if (!ok)
			ksft_print_msg("UFFDIO_WAKE: %s\n", strerror(errno));
	}
	if (c->wp)
		wp_write(c, &a, &t, pre);

	if (join_within(thread, 5)) {
		ksft_test_result_fail("%s: the faulting thread finishes\n", pre);
		goto out;
	}
	thread_live = 0;

	check_data(c, m, &a, &t, pre);
	ok = uffd_read_msg(a.uffd, &msg, 0) != 1;
	ksft_test_result(ok, "%s: no further message\n", pre);
	if (!ok)
		show_msg(&msg, a.page);
out:
	if (thread_live) {
		/* closing the userfaultfd lets the thread's fault go on */
		close(a.uffd);
		a.uffd = -1;
		if (join_within(thread, 5)) {
			ksft_print_msg("the faulting thread is stuck\n");
			finish_tests();
		}
	}
	arena_fini(&a);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO };
	int fd;

	quiet = argc > 1 && !strcmp(argv[1], "-q");
	ksft_print_header();

	fd = uffd_open();
	if (fd < 0 || uffd_api(fd, 0, NULL))
		ksft_exit_skip("userfaultfd: %s\n", strerror(errno));
	close(fd);
	hsize = default_huge_page_size();
	have_huge = get_free_hugepages() >= 8 && hsize == 2 << 20;
	if (!have_huge)
		say("no free 2MB hugetlb pages: the hugetlb cases are skipped\n");
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		for (enum mem m = 0; m < NR_MEMS; m++)
			if (cases[i].mems & (1u << m))
				run_case(&cases[i], m);
	finish_tests();
}
