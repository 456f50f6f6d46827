// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing lost when a cgroup charge fails in the middle of a fill.
 *
 * The companion of uffd-fill-faults, which fails the page and slab
 * allocations: here the allocation succeeds and the cgroup refuses the
 * charge, at the first, a middle (2) and the last (3) page of a 4-page
 * range.  Each case makes two fresh cgroups, side by side: "setup",
 * where the test maps and prepares the range, completes it and tears it
 * down, and "case", limited to what the pages before page k charge, where
 * it moves for the one ioctl under test and leaves at once.  "case" starts
 * at 0 bytes: no per-CPU charge stock or RCU-freed object of the set-up
 * can move its limit.  The charges that can fail (6.12):
 *   - the folio: COPY on anon, shared and private shmem, ZEROPAGE on shared
 *     shmem (mfill_atomic_pte_copy() and shmem_mfill_atomic_pte() call
 *     mem_cgroup_charge(); -ENOMEM), both PTE tables of the range made
 *     beforehand;
 *   - the PTE table (page tables are allocated with __GFP_ACCOUNT): every
 *     ioctl that installs PTEs, the range starting k pages before a 2 MB
 *     boundary whose second table is not made yet: COPY, ZEROPAGE, POISON,
 *     WRITEPROTECT on anon, shared and private shmem, CONTINUE on the two
 *     shmem ones (mfill_atomic() and change_pmd_prepare() give -ENOMEM when
 *     pte_alloc() fails).  ZEROPAGE on anon and private shmem maps the zero
 *     page, CONTINUE the page cache, POISON and WRITEPROTECT a marker: the
 *     table is all they charge;
 *   - the huge page: COPY on a hugetlb memfd, charged to the memory
 *     controller (mem_cgroup_hugetlb_try_charge(): cgroup v2 mounted with
 *     memory_hugetlb_accounting only) and to the hugetlb controller
 *     (hugetlb.<size>.max); alloc_hugetlb_folio() fails and
 *     hugetlb_mfill_atomic_pte() gives -ENOMEM.
 * After each failed charge:
 *   - the ioctl gives what 6.12 gives: a fill ioctl fails with ENOMEM and
 *     -ENOMEM in its result field at page 0, with EAGAIN and k pages'
 *     bytes after; UFFDIO_WRITEPROTECT, which has no count, with ENOMEM;
 *   - the cgroup's failure counter moved (memory.events max, failcnt);
 *   - exactly pages 0..k-1 are mapped (pagemap: present; the swap bit of a
 *     poison marker; uffd-wp for WRITEPROTECT), none after;
 *   - the same ioctl over the rest of the range, from "setup", succeeds,
 *     and every page holds what the mode puts there;
 *   - once the mapping and file are gone, what both cgroups were charged
 *     for is back to 0: user pages (usage less kernel memory) and, on v2,
 *     the anon, shmem and pagetables statistics; hugetlb.<size>.current.
 *     Slab objects and page tables freed after an RCU grace period and the
 *     per-CPU charge stock are waited for and drained;
 *   - HugePages_Free and HugePages_Rsvd are what they were before the
 *     case, and without a memory controller AnonPages, Shmem and
 *     PageTables no higher: each of them that did not move by itself while
 *     the test watched it at start (other processes move them on a busy
 *     machine; the output is held back to the end, so that a reader of a
 *     pipe does not).
 * Not charged, so not here: CONTINUE's page (in the page cache already),
 * the zero page, hugetlb page tables (one PMD table serves the range), and
 * the slab objects (their per-CPU byte stock makes the failing one
 * unpredictable; uffd-fill-faults fails them).
 *
 * The controllers are used where the test finds them: a cgroup v1
 * hierarchy (memory.limit_in_bytes, memory.oom_control set so that the
 * failed charge returns -ENOMEM) or cgroup v2 (memory.max).  What is not
 * mounted it mounts on a directory of its own: a v1 memory hierarchy where
 * the kernel has one (CONFIG_MEMCG_V1), else cgroup2, with
 * memory_hugetlb_accounting.  On v2, 6.12 has no way to fail a small charge
 * but through the memcg OOM killer: try_charge_memcg() calls
 * mem_cgroup_oom() for any charge of order <= PAGE_ALLOC_COSTLY_ORDER that
 * reclaim cannot satisfy, which kills the test or, with the test
 * unkillable, logs an OOM report (a stack trace) before giving -ENOMEM.  So
 * on v2 the folio and PTE-table rows are skipped unless -o is given (the
 * test then sets its oom_score_adj to -1000 around each ioctl, and the
 * kernel log gets an OOM report per case); the huge page charge (order 9,
 * __GFP_RETRY_MAYFAIL) never calls the OOM killer.  The test stays on one
 * CPU.  Its cgroups and mounts are removed at exit, on failure and on
 * SIGTERM, SIGINT, SIGHUP, SIGQUIT and SIGPIPE too.  Skips what it cannot
 * run: no memory or hugetlb controller (the small guest kernel has no
 * CONFIG_MEMCG), a controller that cannot be enabled for a child of the
 * test's cgroup, fewer than 4 free huge pages, a userfaultfd feature not
 * offered.  A kernel other than 6.12 may answer a failed huge page
 * allocation with EEXIST: accepted there, and said.
 *
 * With -q only the KTAP lines (and diagnostics of failed checks) are printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"
#include "uffd-fill.h"

#define PUD_SIZE	(1UL << 30)
/* Memory-controller budget beyond the huge pages: page tables */
#define HUGE_SLACK	256

/* Which charge of page k fails. */
enum kind {
	K_FOLIO,	/* its folio, memory controller */
	K_PTABLE,	/* the PTE table it is the first page of, memory controller */
	K_HUGE_MEMCG,	/* its huge page, memory controller */
	K_HUGE_HCG,	/* its huge page, hugetlb controller */
};

static const char *const kind_name[] = {
	"the folio", "the PTE table", "the huge page (memory controller)",
	"the huge page (hugetlb controller)",
};

struct row {
	enum kind kind;
	enum mem mem;
	enum op op;
};

static const struct row rows[] = {
	{ K_FOLIO, ANON, COPY },
	{ K_FOLIO, SHMEM, COPY },
	{ K_FOLIO, SHMEM_PRIVATE, COPY },
	{ K_FOLIO, SHMEM, ZEROPAGE },
	{ K_PTABLE, ANON, COPY },
	{ K_PTABLE, ANON, ZEROPAGE },
	{ K_PTABLE, ANON, POISON },
	{ K_PTABLE, ANON, WP },
	{ K_PTABLE, SHMEM, COPY },
	{ K_PTABLE, SHMEM, ZEROPAGE },
	{ K_PTABLE, SHMEM, CONTINUE },
	{ K_PTABLE, SHMEM, POISON },
	{ K_PTABLE, SHMEM, WP },
	{ K_PTABLE, SHMEM_PRIVATE, COPY },
	{ K_PTABLE, SHMEM_PRIVATE, ZEROPAGE },
	{ K_PTABLE, SHMEM_PRIVATE, CONTINUE },
	{ K_PTABLE, SHMEM_PRIVATE, POISON },
	{ K_PTABLE, SHMEM_PRIVATE, WP },
	{ K_HUGE_MEMCG, HUGETLB, COPY },
	{ K_HUGE_HCG, HUGETLB, COPY },
};

/* The page whose charge fails: the first, a middle and the last. */
static const size_t fail_at[] = { 0, 2, NPAGES - 1 };

/*
 * A cgroup hierarchy with one of the controllers.  The test's own cgroup
 * there is @parent; ours, @top, holds the per-case children "setup" and
 * "case" (on v2 the controller is enabled for @top and its children).
 */
struct hier {
	const char *ctrl;	/* "memory" or "hugetlb" */
	int found;		/* usable; else @why says why not */
	int v2;			/* cgroup2, else a v1 hierarchy */
	int shared;		/* the hugetlb one: the same cgroup2 as memory's */
	char parent[PATH_MAX];
	char top[PATH_MAX + 32];
	char why[160];
	char disable[16];	/* "-@ctrl" when we enabled it for @parent */
	char subtree[PATH_MAX + 32];	/* @parent's cgroup.subtree_control */
	int parent_procs;	/* the parent's cgroup.procs, opened up front */
};

/* A per-case child of @top. */
struct cg {
	struct hier *h;
	char dir[PATH_MAX + 64];
	int procs;		/* its cgroup.procs, -1 when not made */
	int inside;		/* the test is in it */
};

static struct hier memcg = { .ctrl = "memory", .parent_procs = -1 };
static struct hier hugecg = { .ctrl = "hugetlb", .parent_procs = -1 };
static struct cg setup_cg = { .procs = -1 }, case_cg = { .procs = -1 };

static int quiet, allow_oom;
static int kernel_6_12;		/* uname: 6.12, whose answers are checked */
static char huge_name[16];	/* its name in hugetlb.<name>.max: "2MB" */
static int hugetlb_acct;	/* cgroup2 charges hugetlb to the memory controller */
static char our_v1[64];		/* a v1 memory mount of ours, or "" */
static char our_v2[64];		/* a cgroup2 mount of ours, or "" */
static int oom_adj_fd = -1;
static char oom_adj_old[16];

/*
 * Which of uffd-fill.h's counters[] are checked: those that stood still
 * while the test watched them at start, and AnonPages, Shmem and
 * PageTables only when there is no memory controller (the cgroups' own
 * usage is exact).
 */
static int counter_quiet[NR_COUNTERS];

/* Which counters stand still for 50 ms: those that are checked. */
static void watch_counters(void)
{
	long a[NR_COUNTERS], b[NR_COUNTERS];

	read_counters(a);
	for (int i = 0; i < NR_COUNTERS; i++)
		counter_quiet[i] = 1;
	for (int t = 0; t < 10; t++) {
		usleep(5000);
		read_counters(b);
		for (int i = 0; i < NR_COUNTERS; i++)
			counter_quiet[i] &= a[i] == b[i];
	}
}

/*
 * NULL when the counters checked are back to @before (see counters[]),
 * else what went wrong, with the values in @msg.  Re-read for up to 0.1 s;
 * one that is still off but found moving by itself now is not checked
 * from then on, and said in @msg.
 */
static const char *counters_back(const long *before, char *msg, size_t len)
{
	long after[NR_COUNTERS], again[NR_COUNTERS];
	int bad = -1;

	for (int t = 0; t < 50; t++) {
		bad = -1;
		read_counters(after);
		for (int i = 0; bad < 0 && i < NR_COUNTERS; i++)
			if (counter_quiet[i] &&
			    (i < 3 ? after[i] > before[i] : after[i] != before[i]))
				bad = i;
		if (bad < 0)
			return NULL;
		usleep(2000);
	}
	snprintf(msg, len, " (%s %ld before, %ld after)", counters[bad], before[bad],
		 after[bad]);
	for (int t = 0; t < 10; t++) {
		usleep(2000);
		read_counters(again);
		if (again[bad] != after[bad]) {
			counter_quiet[bad] = 0;
			snprintf(msg, len, ", %s moves by itself now: not checked", counters[bad]);
			return NULL;
		}
	}
	return "a counter did not come back (leak)";
}

/* --- cgroups ----------------------------------------------------------- */

/* @dir/@file in @buf: 0, or -1 with errno set. */
static int cg_read(const char *dir, const char *file, char *buf, size_t len)
{
	char path[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return read_file(path, buf, len);
}

static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return write_file(path, val);
}

/* The number in @dir/@file, or after "@key " in it when @key; -1 if none. */
static long long cg_value(const char *dir, const char *file, const char *key)
{
	char buf[8192], *at = buf;

	if (cg_read(dir, file, buf, sizeof(buf)))
		return -1;
	if (key) {
		size_t klen = strlen(key);

		while (strncmp(at, key, klen) || at[klen] != ' ') {
			at = strchr(at, '\n');
			if (!at)
				return -1;
			at++;
		}
		at += klen + 1;
	}
	return strtoll(at, NULL, 10);
}

/* Whether the blank- or comma-separated @list holds the word @w. */
static int has_word(const char *list, const char *w)
{
	size_t len = strlen(w);

	for (const char *p = list; (p = strstr(p, w)); p += len)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') &&
		    (!p[len] || p[len] == ' ' || p[len] == ',' || p[len] == '\n'))
			return 1;
	return 0;
}

/*
 * The cgroup mounts, from mountinfo: the v1 hierarchy with @ctrl, else
 * the cgroup2 mount.  *@root gets the mount's root in the hierarchy,
 * *@opts its super options.  0, or -1 when there is neither.
 */
static int find_mount(const char *ctrl, int *v2, char *mnt, char *root, char *opts)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096], m[PATH_MAX], r[PATH_MAX], type[64], o[1024];
	int found = -1;

	while (f && fgets(line, sizeof(line), f)) {
		char *dash = strstr(line, " - ");

		if (!dash || sscanf(line, "%*d %*d %*s %4095s %4095s", r, m) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", type, o) != 2)
			continue;
		if (!strcmp(type, "cgroup") && has_word(o, ctrl))
			*v2 = 0;
		else if (!strcmp(type, "cgroup2") && found < 0)
			*v2 = 1;
		else
			continue;
		snprintf(mnt, PATH_MAX, "%s", m);
		snprintf(root, PATH_MAX, "%s", r);
		snprintf(opts, 1024, "%s", o);
		found = 0;
		if (!*v2)
			break;
	}
	if (f)
		fclose(f);
	return found;
}

/* Our cgroup's path in the v1 hierarchy of @ctrl, or in cgroup2 (NULL). */
static int own_cgroup(const char *ctrl, char *path)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[PATH_MAX + 128];
	int found = -1;

	while (f && found && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':'), *p = c ? strchr(c + 1, ':') : NULL;

		if (!p)
			continue;
		*c++ = 0;	/* line: the hierarchy ID, c: its controllers */
		*p++ = 0;	/* p: the path */
		p[strcspn(p, "\n")] = 0;
		if (ctrl ? has_word(c, ctrl) : !strcmp(line, "0") && !*c) {
			snprintf(path, PATH_MAX, "%s", p);
			found = 0;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * Mounts a cgroup hierarchy on a directory of ours, @dir: 0, or -1 with
 * errno set.  A v1 one with the memory controller (CONFIG_MEMCG_V1 only,
 * and not when the controller is on cgroup2 already), or cgroup2, with
 * memory_hugetlb_accounting where the kernel knows it (the options of a
 * mount apply to the one cgroup2 hierarchy: only when it is not mounted).
 */
static int mount_cgroup(char *dir, size_t len, int v2)
{
	snprintf(dir, len, "/tmp/uffd-fill-memcg.XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = 0;
		return -1;
	}
	if (!v2 && !mount("cgroup", dir, "cgroup", 0, "memory"))
		return 0;
	if (v2 && (!mount("cgroup2", dir, "cgroup2", 0, "memory_hugetlb_accounting") ||
		   !mount("cgroup2", dir, "cgroup2", 0, NULL)))
		return 0;
	rmdir(dir);
	dir[0] = 0;
	return -1;
}

/* Enables @h's controller for the children of @dir (cgroup2). */
static int enable_ctrl(struct hier *h, const char *dir)
{
	char buf[256];

	if (!cg_read(dir, "cgroup.subtree_control", buf, sizeof(buf)) && has_word(buf, h->ctrl))
		return 0;
	snprintf(buf, sizeof(buf), "+%s", h->ctrl);
	if (cg_write(dir, "cgroup.subtree_control", buf)) {
		snprintf(h->why, sizeof(h->why), "cannot add %s to %.80s/%s: %s", h->ctrl, dir,
			 "cgroup.subtree_control", strerror(errno));
		return -1;
	}
	if (dir == h->parent) {
		snprintf(h->disable, sizeof(h->disable), "-%s", h->ctrl);
		snprintf(h->subtree, sizeof(h->subtree), "%s/cgroup.subtree_control", dir);
	}
	return 0;
}

/*
 * Finds @h's hierarchy and our cgroup in it and makes @h->top: the test
 * stays in its own cgroup.  @h->why when not usable.
 */
static void find_hier(struct hier *h)
{
	char mnt[PATH_MAX], root[PATH_MAX], opts[1024], path[PATH_MAX + 64], buf[256];
	size_t rlen;

	/*
	 * Nothing mounted: v1 for the memory controller if the kernel has it
	 * (no OOM killer in the way), else cgroup2
	 */
	if (find_mount(h->ctrl, &h->v2, mnt, root, opts)) {
		if ((h != &memcg || mount_cgroup(our_v1, sizeof(our_v1), 0)) &&
		    (our_v2[0] || mount_cgroup(our_v2, sizeof(our_v2), 1))) {
			snprintf(h->why, sizeof(h->why), "no cgroup file system (mount: %s)",
				 strerror(errno));
			return;
		}
		if (find_mount(h->ctrl, &h->v2, mnt, root, opts)) {
			snprintf(h->why, sizeof(h->why), "cgroup2 mounted but not found");
			return;
		}
	}
	if (h->v2 && has_word(opts, "memory_hugetlb_accounting"))
		hugetlb_acct = 1;
	if (own_cgroup(h->v2 ? NULL : h->ctrl, path)) {
		snprintf(h->why, sizeof(h->why), "not in /proc/self/cgroup");
		return;
	}
	/* The mount shows the hierarchy from @root down */
	rlen = strcmp(root, "/") ? strlen(root) : 0;
	if (strncmp(path, root, rlen))
		rlen = 0;
	snprintf(h->parent, sizeof(h->parent), "%s%s", mnt,
		 strcmp(path + rlen, "/") ? path + rlen : "");
	snprintf(h->top, sizeof(h->top), "%s/uffd-fill-memcg.%d", h->parent, getpid());
	h->shared = h == &hugecg && h->v2 && memcg.found && memcg.v2;
	if (h->v2 && (cg_read(h->parent, "cgroup.controllers", buf, sizeof(buf)) ||
		      !has_word(buf, h->ctrl))) {
		snprintf(h->why, sizeof(h->why), "no %s controller on cgroup v2", h->ctrl);
		return;
	}
	if (h->v2 && enable_ctrl(h, h->parent))
		return;
	if (mkdir(h->top, 0755) && (errno != EEXIST || !h->shared)) {
		snprintf(h->why, sizeof(h->why), "%.100s: %s", h->top, strerror(errno));
		return;
	}
	if (h->v2 && enable_ctrl(h, h->top))
		return;
	snprintf(path, sizeof(path), "%s/cgroup.procs", h->parent);
	h->parent_procs = open(path, O_WRONLY | O_CLOEXEC);
	if (h->parent_procs < 0) {
		snprintf(h->why, sizeof(h->why), "%.100s: %s", path, strerror(errno));
		return;
	}
	h->found = 1;
}

/* Moves the test to the cgroup of @fd, a cgroup.procs ("0" is the writer). */
static int move_to(int fd)
{
	return write(fd, "0", 1) == 1 ? 0 : -1;
}

/* A fresh @name in @h->top: 0, or -1 with errno set. */
static int cg_new(struct cg *g, struct hier *h, const char *name)
{
	char path[PATH_MAX + 128];

	g->h = h;
	snprintf(g->dir, sizeof(g->dir), "%s/%s", h->top, name);
	if (mkdir(g->dir, 0755) && (errno != EEXIST || rmdir(g->dir) || mkdir(g->dir, 0755)))
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.procs", g->dir);
	g->procs = open(path, O_WRONLY | O_CLOEXEC);
	if (g->procs < 0) {
		rmdir(g->dir);
		return -1;
	}
	return 0;
}

/* Moves the test into @g. */
static void cg_enter(struct cg *g)
{
	if (move_to(g->procs))
		ksft_exit_fail_msg("entering %s: %s\n", g->dir, strerror(errno));
	g->inside = 1;
}

/* Moves the test out of @g, to the cgroup of @procs. */
static void cg_leave(struct cg *g, int procs)
{
	if (move_to(procs))
		ksft_exit_fail_msg("leaving %s: %s\n", g->dir, strerror(errno));
	g->inside = 0;
}

/* Removes @g, the test out of it (async-signal-safe, for the exit paths). */
static void cg_del(struct cg *g)
{
	if (g->procs < 0)
		return;
	if (g->inside && !move_to(g->h->parent_procs))
		g->inside = 0;
	close(g->procs);
	g->procs = -1;
	rmdir(g->dir);
}

/*
 * Everything the test changed: it goes back to its cgroups, ours go, the
 * controllers we enabled for its cgroup are disabled again, our cgroup2
 * mount is unmounted (its flags reset first), oom_score_adj is restored.
 * Async-signal-safe.
 */
static void cleanup(void)
{
	struct hier *h[] = { &hugecg, &memcg };

	cg_del(&case_cg);
	cg_del(&setup_cg);
	for (int i = 0; i < 2; i++) {
		if (h[i]->parent_procs >= 0) {
			move_to(h[i]->parent_procs);
			close(h[i]->parent_procs);	/* or the umount is busy */
			h[i]->parent_procs = -1;
		}
		if (h[i]->top[0] && !h[i]->shared)
			rmdir(h[i]->top);
	}
	for (int i = 0; i < 2; i++) {
		int fd;

		if (!h[i]->disable[0])
			continue;
		fd = open(h[i]->subtree, O_WRONLY);
		if (fd >= 0 && write(fd, h[i]->disable, strlen(h[i]->disable)) > 0)
			h[i]->disable[0] = 0;
		if (fd >= 0)
			close(fd);
	}
	if (oom_adj_fd >= 0 && oom_adj_old[0] &&
	    pwrite(oom_adj_fd, oom_adj_old, strlen(oom_adj_old), 0) < 0)
		oom_adj_old[0] = 0;
	if (our_v2[0]) {
		if (hugetlb_acct)
			mount(NULL, our_v2, NULL, MS_REMOUNT, "");
		if (!umount2(our_v2, 0))
			rmdir(our_v2);
		our_v2[0] = 0;
	}
	if (our_v1[0] && !umount2(our_v1, 0)) {
		rmdir(our_v1);
		our_v1[0] = 0;
	}
}

static void on_signal(int sig)
{
	cleanup();
	fflush(stdout);
	_exit(128 + sig);
}

/* The name of @h's file with @what ("limit", "usage", "hits") in @file. */
static void cg_file(const struct hier *h, const char *what, char *file, size_t len)
{
	int limit = !strcmp(what, "limit"), usage = !strcmp(what, "usage");
	const char *name = h->v2 ? (limit ? "max" : usage ? "current" : "events") :
			   (limit ? "limit_in_bytes" : usage ? "usage_in_bytes" : "failcnt");

	if (h == &hugecg)
		snprintf(file, len, "hugetlb.%s.%s", huge_name, name);
	else
		snprintf(file, len, "memory.%s", name);
}

/* How often @g refused a charge for its limit. */
static long long cg_hits(const struct cg *g)
{
	char file[64];

	cg_file(g->h, "hits", file, sizeof(file));
	return cg_value(g->dir, file, g->h->v2 ? "max" : NULL);
}

/*
 * No swap for @g's pages: reclaim, when a charge fails or a lower limit
 * drains the charge stock, must not make room (or hide a leaked page) by
 * swapping.
 */
static void cg_noswap(struct cg *g)
{
	if (g->h == &memcg)
		cg_write(g->dir, g->h->v2 ? "memory.swap.max" : "memory.swappiness", "0");
}

/* Limits @g to @limit bytes of @g->h's controller. */
static int cg_limit(struct cg *g, unsigned long long limit)
{
	char file[64], val[32];

	/* No OOM killer on v1: a failed charge outside a fault gives -ENOMEM */
	if (g->h == &memcg && !g->h->v2 && cg_write(g->dir, "memory.oom_control", "1"))
		return -1;
	cg_noswap(g);
	cg_file(g->h, "limit", file, sizeof(file));
	snprintf(val, sizeof(val), "%llu", limit);
	return cg_write(g->dir, file, val);
}

/*
 * What @g, left by the test, is still charged for: hugetlb usage, or the
 * memory controller's user pages (usage less kernel memory) and, on v2,
 * its anon, shmem and page table statistics, in bytes.  Objects freed
 * after an RCU grace period and the per-CPU charge stock are waited for
 * and drained (writing a lower limit drains the stock; reading cpu.stat
 * flushes the v2 statistics) for up to about 50 grace periods.  0, or
 * what is left, described in @msg.
 */
static long long cg_settle(const struct cg *g, char *msg, size_t len)
{
	static const char *const stat[] = { "kernel", "anon", "shmem", "pagetables" };
	long long usage = -1, v[ARRAY_SIZE(stat)] = { -1, 0, 0, 0 }, left = -1;
	char file[64], buf[256];

	cg_file(g->h, "usage", file, sizeof(file));
	for (int t = 0; t < 50 && left; t++) {
		if (t && syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
			usleep(2000);
		usage = cg_value(g->dir, file, NULL);
		left = usage;
		if (g->h == &hugecg)
			continue;
		cg_write(g->dir, g->h->v2 ? "memory.high" : "memory.limit_in_bytes", "0");
		if (g->h->v2) {
			cg_read(g->dir, "cpu.stat", buf, sizeof(buf));
			for (size_t i = 0; i < ARRAY_SIZE(stat); i++)
				v[i] = cg_value(g->dir, "memory.stat", stat[i]);
		} else {
			v[0] = cg_value(g->dir, "memory.kmem.usage_in_bytes", NULL);
		}
		usage = cg_value(g->dir, file, NULL);
		/* Nonzero, the first that is: user pages, anon, shmem, page tables */
		left = usage - v[0];
		for (size_t i = 1; i < ARRAY_SIZE(stat); i++)
			if (!left)
				left = v[i];
		for (size_t i = 0; i < ARRAY_SIZE(stat); i++)
			if (usage < 0 || v[i] < 0)
				left = -1;
	}
	if (g->h == &hugecg)
		snprintf(msg, len, " (%s: %s %lld)", strrchr(g->dir, '/') + 1, file, usage);
	else if (!g->h->v2)
		snprintf(msg, len, " (%s: %s %lld, kmem %lld)", strrchr(g->dir, '/') + 1, file,
			 usage, v[0]);
	else
		snprintf(msg, len, " (%s: %s %lld, %s %lld, %s %lld, %s %lld, %s %lld)",
			 strrchr(g->dir, '/') + 1, file, usage, stat[0], v[0], stat[1], v[1],
			 stat[2], v[2], stat[3], v[3]);
	return left;
}

/* --- the mapping ------------------------------------------------------- */

/* Faults @p in from the parent: a read for shared shmem, else a write. */
static void touch(const struct setup *s, char *p)
{
	if (s->mem == SHMEM)
		(void)*(volatile char *)p;
	else
		*(volatile char *)p = 1;
}

/*
 * A fresh mapping, everything but the ioctl under test done from the
 * parent cgroup.  Base pages: two PMD-sized blocks, within one PMD table,
 * and the range starting @before pages before the boundary between them;
 * the first block's PTE table is made by faulting in its first page, the
 * second's, when @warm, by faulting in its last (neither is in the range),
 * as are the anon_vma of a private mapping and the page cache xarray nodes
 * of the range (a page written at each end of them).  CONTINUE and WP find
 * the range's bytes in the page cache.  Hugetlb: NPAGES huge pages, the
 * range.  0, -1 with errno set, or -2 when the kernel lacks a feature.
 */
static int set_up(struct setup *s, enum mem mem, enum op op, size_t before, int warm)
{
	int flags = mem == SHMEM_PRIVATE || mem == ANON ? MAP_PRIVATE : MAP_SHARED;
	unsigned long a;
	char *hole;

	if (set_up_source(s, mem, mem == HUGETLB ? NPAGES * huge_ps : 2 * PMD_SIZE,
			  "uffd-fill-memcg"))
		return -1;
	if (mem == HUGETLB) {
		s->area = mmap(NULL, s->area_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			       s->memfd, 0);
		if (s->area == MAP_FAILED)
			return -1;
		s->dst = s->area;
		goto uffd;
	}
	/* 2 MB-aligned, and the boundary in the middle not a 1 GB one */
	hole = mmap(NULL, s->area_len + 2 * PMD_SIZE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (hole == MAP_FAILED)
		return -1;
	a = ((unsigned long)hole + PMD_SIZE - 1) & ~(PMD_SIZE - 1);
	if ((a + PMD_SIZE) % PUD_SIZE == 0)
		a += PMD_SIZE;
	munmap(hole, s->area_len + 2 * PMD_SIZE);
	s->area = mmap((void *)a, s->area_len, PROT_READ | PROT_WRITE, flags | MAP_FIXED |
		       (mem == ANON ? MAP_ANONYMOUS : 0), s->memfd, 0);
	if (s->area == MAP_FAILED)
		return -1;
	madvise(s->area, s->area_len, MADV_NOHUGEPAGE);
	s->dst = s->area + PMD_SIZE - before * s->ps;
	if (mem != ANON) {
		/* The xarray nodes of indices 448..511 and 512..575 */
		off_t lo = PMD_SIZE - 64 * s->ps, hi = PMD_SIZE + 63 * s->ps;

		if (pwrite(s->memfd, s->src, s->ps, lo) != (ssize_t)s->ps ||
		    pwrite(s->memfd, s->src, s->ps, hi) != (ssize_t)s->ps)
			return -1;
		if ((op == CONTINUE || op == WP) &&
		    pwrite(s->memfd, s->src, NPAGES * s->ps, s->dst - s->area) !=
		    (ssize_t)(NPAGES * s->ps))
			return -1;
	}
	touch(s, s->area);
	if (warm)
		touch(s, s->area + s->area_len - s->ps);
uffd:
	return set_up_uffd(s, op);
}

/* The name of the errno values the ioctls give here, for the diagnostics. */
static const char *errno_name(int err, char *buf, size_t len)
{
	switch (err) {
	case 0:
		return "0";
	case ENOMEM:
		return "ENOMEM";
	case EAGAIN:
		return "EAGAIN";
	case EEXIST:
		return "EEXIST";
	default:
		snprintf(buf, len, "%d", err);
		return buf;
	}
}

/*
 * What 6.12 gives when the charge of page @k fails: NULL or why not.  A
 * later kernel answers a failed huge page allocation with EEXIST (6.18
 * does, for an empty pool too): accepted when the kernel is not a 6.12
 * one, said in @note.
 */
static const char *outcome_ok(const struct row *r, size_t k, size_t ps, struct outcome o,
			      char *note, size_t len)
{
	int err = ENOMEM;

	if (o.rc != -1)
		return "the ioctl did not fail";
	if (r->op == WP)
		return o.err == ENOMEM ? NULL : "WRITEPROTECT failed, not with ENOMEM";
	if (!k && r->mem == HUGETLB && o.err == EEXIST && !kernel_6_12) {
		snprintf(note, len, " (not 6.12, which gives ENOMEM)");
		err = EEXIST;
	}
	if (!k) {
		if (o.err != err)
			return "nothing done, and not ENOMEM";
		return o.result == -err ? NULL : "the result field is not -errno";
	}
	if (o.err != EAGAIN)
		return "part done, and not EAGAIN";
	return o.result == (long long)(k * ps) ? NULL :
	       "the result field is not the pages before the failure";
}

/* The charges the pages before page @k make in @r's row: the limit. */
static unsigned long long limit_for(const struct row *r, size_t k)
{
	size_t ps = getpagesize();

	switch (r->kind) {
	case K_HUGE_MEMCG:
		return k * huge_ps + HUGE_SLACK * ps;
	case K_HUGE_HCG:
		return k * huge_ps;
	default:
		/* A folio per page: COPY, and ZEROPAGE on shared shmem */
		return r->op == COPY || (r->op == ZEROPAGE && r->mem == SHMEM) ? k * ps : 0;
	}
}

/* Settles and removes @g: NULL, or the leak, described in @detail. */
static const char *cg_done(struct cg *g, const char *why, char *detail, size_t len)
{
	char msg[160];

	if (g->procs < 0)
		return why;
	if (cg_settle(g, msg, sizeof(msg)) && !why) {
		snprintf(detail, len, "%s", msg);
		why = "a cgroup is still charged after the teardown (leak)";
	}
	cg_del(g);
	return why;
}

/*
 * One case: the charge of @r's kind for page @k fails.  NULL, "" when the
 * kernel lacks a feature, or what went wrong; the diagnostic line in @msg.
 */
static const char *run_case(const struct row *r, size_t k, char *msg, size_t mlen)
{
	struct hier *h = r->kind == K_HUGE_HCG ? &hugecg : &memcg;
	int oom = h == &memcg && h->v2 && r->kind != K_HUGE_MEMCG;
	char detail[192] = "", note[64] = "", ebuf[16];
	long before[NR_COUNTERS];
	const char *why = NULL;
	struct outcome o = { 0 };
	long long hits = -1;
	struct setup s;
	size_t done = 0;
	int rc, back;

	read_counters(before);
	if (memcg.found) {
		if (cg_new(&setup_cg, &memcg, "setup"))
			ksft_exit_fail_msg("%s/setup: %s\n", memcg.top, strerror(errno));
		cg_noswap(&setup_cg);
		cg_enter(&setup_cg);
	}
	/* K_FOLIO: both tables made, range across the boundary */
	rc = set_up(&s, r->mem, r->op, r->kind == K_FOLIO ? 2 : k, r->kind == K_FOLIO);
	if (rc) {
		snprintf(msg, mlen, "set-up: %s", strerror(errno));
		teardown(&s);
		cg_del(&setup_cg);
		return rc == -2 ? "" : "set-up failed";
	}
	if (cg_new(&case_cg, h, "case") || cg_limit(&case_cg, limit_for(r, k))) {
		snprintf(msg, mlen, "%.300s: %s", case_cg.dir, strerror(errno));
		teardown(&s);
		cg_del(&case_cg);
		cg_del(&setup_cg);
		return "cannot make the case's cgroup";
	}
	/* Back to "setup" after the ioctl, if it is in the same hierarchy */
	back = (h == &memcg || h->shared) && setup_cg.procs >= 0 ? setup_cg.procs :
	       h->parent_procs;
	if (oom && (oom_adj_fd < 0 || pwrite(oom_adj_fd, "-1000", 5, 0) != 5))
		ksft_exit_fail_msg("oom_score_adj: %s\n", strerror(errno));
	/* Nothing but the ioctl in "case": no fault, no print */
	cg_enter(&case_cg);
	o = call(&s, r->op, 0);
	cg_leave(&case_cg, back);
	if (oom && pwrite(oom_adj_fd, oom_adj_old, strlen(oom_adj_old), 0) < 0)
		ksft_exit_fail_msg("oom_score_adj: %s\n", strerror(errno));

	hits = cg_hits(&case_cg);
	why = outcome_ok(r, k, s.ps, o, note, sizeof(note));
	if (!why && hits < 1)
		why = "the cgroup's failure counter did not move";
	for (size_t i = 0; i < NPAGES; i++) {
		int d = page_done(&s, r->op, i), want = i < k;

		if (!why && d != want)
			why = i < k ? "a page before the failure is not done" :
				      "a page after the failure is done";
		done += d;
	}
	if (!why && call(&s, r->op, r->op == WP ? 0 : k).rc)
		why = "the ioctl over the rest of the range failed";
	if (!why)
		why = contents_ok(&s, r->op);
	teardown(&s);
	if (setup_cg.inside)
		cg_leave(&setup_cg, memcg.parent_procs);
	why = cg_done(&case_cg, why, detail, sizeof(detail));
	why = cg_done(&setup_cg, why, detail, sizeof(detail));
	if (!why)
		why = counters_back(before, detail, sizeof(detail));
	snprintf(msg, mlen,
		 "rc=%d errno=%s%s result=%lld, %zu of %d pages done, limit hit %lld times%s%s%s",
		 o.rc, errno_name(o.err, ebuf, sizeof(ebuf)), note, o.result, done, NPAGES, hits,
		 why ? ": " : "", why ? why : "", detail);
	return why;
}

/* Why @r cannot run here, or NULL. */
static const char *row_skip(const struct row *r)
{
	const struct hier *h = r->kind == K_HUGE_HCG ? &hugecg : &memcg;

	if (!h->found)
		return h->why;
	if (r->mem == HUGETLB && get_free_hugepages() < NPAGES)
		return "fewer than 4 free huge pages";
	if (r->kind == K_HUGE_MEMCG && !h->v2)
		return "memory controller on cgroup v1: only v2 charges hugetlb to it";
	if (r->kind == K_HUGE_MEMCG && !hugetlb_acct)
		return "cgroup2 mounted without memory_hugetlb_accounting";
	if (r->kind != K_HUGE_MEMCG && h == &memcg && h->v2 && !allow_oom)
		return "cgroup v2: the charge fails through the memcg OOM killer (-o runs it)";
	return NULL;
}

static void run_row(const struct row *r)
{
	const char *why = NULL, *skip = row_skip(r);
	char desc[128], msg[512];

	snprintf(desc, sizeof(desc), "%s %s: the charge of %s fails at pages 0, 2, %d",
		 op_name[r->op], mem_name[r->mem], kind_name[r->kind], NPAGES - 1);
	if (skip) {
		ksft_test_result_skip("%s: %s\n", desc, skip);
		return;
	}
	for (size_t i = 0; !why && i < ARRAY_SIZE(fail_at); i++) {
		why = run_case(r, fail_at[i], msg, sizeof(msg));
		if (why && !*why) {
			ksft_test_result_skip("%s: not offered (%s)\n", desc, msg);
			return;
		}
		if (!quiet || why)
			ksft_print_msg("%s %s, %s of page %zu fails: %s\n", op_name[r->op],
				       mem_name[r->mem], kind_name[r->kind], fail_at[i], msg);
	}
	ksft_test_result(!why, "%s\n", desc);
}

/*
 * Faults in the stack the ioctls and the SIGBUS handler run on (called
 * through a pointer, never inlined into main()'s frame).
 */
static void warm_stack(void)
{
	volatile char buf[64 << 10];

	for (size_t i = 0; i < sizeof(buf); i += 4096)
		buf[i] = 0;
}

static void (*volatile warm_fn)(void) = warm_stack;

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct utsname uts;
	cpu_set_t cpus;
	int opt;

	while ((opt = getopt(argc, argv, "qo")) != -1) {
		if (opt == 'q')
			quiet = 1;
		else if (opt == 'o')
			allow_oom = 1;
		else
			ksft_exit_fail_msg("usage: %s [-q] [-o]\n", argv[0]);
	}
	/*
	 * The output goes out at the end: a reader of a pipe that allocates
	 * as it reads would move AnonPages in the middle of a case.
	 */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	ksft_print_header();
	ksft_set_plan(ARRAY_SIZE(rows));
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0 || catch_sigbus())
		ksft_exit_fail_msg("pagemap or sigaction: %s\n", strerror(errno));
	kernel_6_12 = !uname(&uts) && !strncmp(uts.release, "6.12.", 5);
	huge_ps = default_huge_page_size();
	if (huge_ps >= PUD_SIZE)
		snprintf(huge_name, sizeof(huge_name), "%zuGB", huge_ps / PUD_SIZE);
	else
		snprintf(huge_name, sizeof(huge_name), "%zuMB", huge_ps >> 20);
	drain_page = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (drain_page == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	/* One CPU: the batches of new LRU pages teardown() drains are its */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	oom_adj_fd = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);
	if (oom_adj_fd >= 0 && pread(oom_adj_fd, oom_adj_old, sizeof(oom_adj_old) - 1, 0) > 0)
		oom_adj_old[strcspn(oom_adj_old, "\n")] = 0;
	warm_fn();

	atexit(cleanup);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	find_hier(&memcg);
	find_hier(&hugecg);
	watch_counters();
	/* Exact per cgroup instead, where other processes do not count */
	for (int i = 0; i < 3 && memcg.found; i++)
		counter_quiet[i] = 0;
	if (!quiet) {
		struct hier *h[] = { &memcg, &hugecg };

		for (int i = 0; i < 2; i++)
			ksft_print_msg("%s: %s%s%s\n", h[i]->ctrl, !h[i]->found ? "none: " :
				       h[i]->v2 ? "cgroup v2 " : "cgroup v1 ",
				       h[i]->found ? h[i]->top : h[i]->why,
				       h[i]->found && h[i]->v2 && hugetlb_acct ?
				       ", memory_hugetlb_accounting" : "");
		for (int i = 0; i < NR_COUNTERS; i++)
			if (!counter_quiet[i])
				ksft_print_msg("%s not checked: %s\n", counters[i], i < 3 &&
					       memcg.found ? "the cgroups' own usage is" :
					       "it moves by itself");
	}
	/*
	 * A first case, not checked: what the test itself faults in or
	 * allocates once for good (an anonymous page the first time round)
	 * is not a leak of the ioctl.
	 */
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char msg[512];

		if (!row_skip(&rows[i])) {
			run_case(&rows[i], 2, msg, sizeof(msg));
			break;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		run_row(&rows[i]);
	cleanup();
	finish_tests();
}
