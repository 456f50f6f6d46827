// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of userfaultfd write-protect over populated and unpopulated ranges,
 * and of write-protect fault round trips, for A/B runs of the Rust and C
 * kernels under QEMU -icount (guest time = instruction count).
 *
 * Protect / un-protect: one UFFDIO_WRITEPROTECT over a range of NPAGES 4K
 * pages registered WP, on a fresh mapping every repeat; ns per page.
 *   wp-populated-shmem          MODE_WP over a memfd (MAP_SHARED) mapping
 *                               whose PTEs are all present (written)
 *   wp-resolve-populated-shmem  mode 0 (un-protect) of that same range
 *   wp-populated-anon           MODE_WP over private anon, every page written
 *   wp-unpopulated-anon         MODE_WP over untouched private anon on a uffd
 *                               with UFFD_FEATURE_WP_UNPOPULATED: installs
 *                               one UFFD_WP marker per PTE (and the page
 *                               tables).  The anon items use that feature.
 * (Unpopulated shmem is wp-markers in uffd-marker-bench.)
 *
 * Round trips, RT_PAGES pages protected beforehand: the main thread writes
 * each page in turn; a handler thread does a blocking read() of the WP
 * message, checks it, and resolves it with UFFDIO_WRITEPROTECT mode 0 on
 * that page (which wakes the writer).  ns per fault.
 *   rt-wp-shmem    on a memfd MAP_SHARED mapping
 *   rt-wp-anon     on private anon
 *   rt-wp-hugetlb  (added later, run last) on an MFD_HUGETLB memfd mapped
 *                  MAP_SHARED, RT_HPAGES 2M pages populated beforehand: a
 *                  write to each huge page, un-protect of that 2M page;
 *                  ns per fault.  At most UFFD_BENCH_HPAGES huge pages
 *                  when the environment sets it (hosts with a small pool).
 *
 * Each ioctl's result is checked; after each round-trip repeat the written
 * bytes are checked.  Prints "bench <name> <ns>", the median over REPEAT.
 * Shmem and hugetlb items print "# SKIP" without
 * UFFD_FEATURE_WP_HUGETLBFS_SHMEM (hugetlb: or without free 2M pages); exit
 * 4 when userfaultfd or its write-protect mode is unavailable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "uffd-wp-bench"
#include "../uffd-util.h"

#define NPAGES   8192		/* protect / un-protect, 4K pages (32 MB) */
#define RT_PAGES 2048		/* round trips */
#define RT_HPAGES 16		/* hugetlb round trips, 2M pages (32 MB) */
#define HPSIZE   (2UL << 20)
#define REPEAT   7

static size_t pgsz;

/* A check that failed without an errno. */
static void fail(const char *what, size_t idx)
{
	fprintf(stderr, "uffd-wp-bench: %s (page %zu)\n", what, idx);
	exit(1);
}

/* Write every page: present, writable, dirty PTEs. */
static void touch(char *p, size_t n, unsigned char v)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i * pgsz] = v;
}

/*
 * The data check for the protect items: /proc/self/pagemap must show the
 * uffd-wp bit (57) on every page as `wp` says, present (63) as `present`.
 */
static int pagemap = -1;
static unsigned long long pm[NPAGES];

static void check_pm(const char *p, size_t n, int wp_on, int present, const char *what)
{
	size_t i, sz = n * sizeof(pm[0]);

	if (pread(pagemap, pm, sz, (unsigned long)p / pgsz * sizeof(pm[0])) != (ssize_t)sz)
		die("pread /proc/self/pagemap");
	for (i = 0; i < n; i++)
		if (!(pm[i] & PM_UFFD_WP) != !wp_on || !(pm[i] & PM_PRESENT) != !present)
			fail(what, i);
}

/* Round trips. */
struct rt {
	int uffd;
	char *area;
	size_t n;
	size_t unit;		/* bytes per faulting unit (page or 2M page) */
	size_t handled;		/* messages taken (atomic) */
};

static void *handler(void *arg)
{
	struct rt *rt = arg;
	size_t i;

	for (i = 0; i < rt->n; i++) {
		char *want = rt->area + i * rt->unit;
		struct uffd_msg m;
		ssize_t got = read(rt->uffd, &m, sizeof(m));

		if (got != sizeof(m))
			die("read uffd");
		if (m.event != UFFD_EVENT_PAGEFAULT)
			fail("unexpected uffd event", i);
		if ((m.arg.pagefault.address & ~(rt->unit - 1)) != (unsigned long)want)
			fail("fault at an unexpected address", i);
		if ((m.arg.pagefault.flags & (UFFD_PAGEFAULT_FLAG_WP |
					      UFFD_PAGEFAULT_FLAG_WRITE |
					      UFFD_PAGEFAULT_FLAG_MINOR)) !=
		    (UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE))
			fail("not a write-protect fault", i);
		__atomic_store_n(&rt->handled, i + 1, __ATOMIC_RELEASE);
		/* Mode 0 un-protects the page and wakes the writer. */
		wp(rt->uffd, want, rt->unit, 0);
	}
	return NULL;
}

/*
 * `area` (n units of `unit` bytes, registered WP on `uffd`, every unit
 * present): protect it, then write each unit in turn, each write a WP
 * fault resolved by the handler thread.  Returns ns per fault.
 */
static double rt_once(int uffd, char *area, size_t n, size_t unit, unsigned char v)
{
	struct rt rt = { .uffd = uffd, .area = area, .n = n, .unit = unit };
	volatile char *w = area;
	pthread_t th;
	double t0, t;
	size_t i;

	wp(uffd, area, n * unit, 1);
	errno = pthread_create(&th, NULL, handler, &rt);
	if (errno)
		die("pthread_create");
	prof_start();
	t0 = now_ns();
	for (i = 0; i < n; i++)
		w[i * unit] = v;
	t = (now_ns() - t0) / n;
	prof_stop(n);
	errno = pthread_join(th, NULL);
	if (errno)
		die("pthread_join");
	if (__atomic_load_n(&rt.handled, __ATOMIC_ACQUIRE) != n)
		fail("round trip: fewer faults than pages", rt.handled);
	for (i = 0; i < n; i++)
		if ((unsigned char)w[i * unit] != v)
			fail("round trip: the write did not land", i);
	return t;
}

/*
 * rt-wp-hugetlb: the round trip of rt-wp-shmem on a hugetlb memfd, per 2M
 * page; one mapping and uffd, every huge page written (allocated) before,
 * all protected anew per repeat.  The memfd is closed after: the pages go
 * back to the pool.
 */
static void rt_wp_hugetlb(void)
{
	size_t n = hpages(RT_HPAGES), len = n * HPSIZE, i;
	long nfree = free_2m_hugepages();
	double t[REPEAT];
	int fd, uffd, r;
	char *p;

	if (nfree < (long)n) {
		printf("# SKIP rt-wp-hugetlb: %ld free 2M huge pages, need %zu\n", nfree, n);
		return;
	}
	fd = new_memfd("wp-bench-huge", MFD_HUGETLB | MFD_HUGE_2MB, len);
	p = map_shared(fd, len);
	for (i = 0; i < n; i++)
		p[i * HPSIZE] = 0xff;
	uffd = new_uffd(0);
	reg(uffd, p, len, UFFDIO_REGISTER_MODE_WP);
	prof_row("rt-wp-hugetlb");
	for (r = 0; r < REPEAT; r++)
		t[r] = rt_once(uffd, p, n, HPSIZE, r + 1);
	printf("bench rt-wp-hugetlb %.1f\n", median(t, REPEAT));
	close(uffd);
	if (munmap(p, len))
		die("munmap");
	close(fd);
}

int main(void)
{
	double t[REPEAT], t2[REPEAT];
	size_t len, rtlen;
	__u64 feat, anon_feat;
	int fd, uffd, r, shmem;
	char *p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pgsz = sysconf(_SC_PAGESIZE);
	len = NPAGES * pgsz;
	rtlen = RT_PAGES * pgsz;
	feat = uffd_features();
	if (!(feat & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
		printf("# SKIP: no userfaultfd write-protect\n");
		exit(4);
	}
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0)
		die("/proc/self/pagemap");
	shmem = !!(feat & UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	anon_feat = feat & UFFD_FEATURE_WP_UNPOPULATED;

	if (shmem) {
		/* One memfd; a fresh mapping each repeat, written through. */
		fd = new_memfd("wp-bench", 0, len);
		for (r = 0; r < REPEAT; r++) {
			double t0;

			p = map_shared(fd, len);
			touch(p, NPAGES, r + 1);
			uffd = new_uffd(0);
			reg(uffd, p, len, UFFDIO_REGISTER_MODE_WP);
			prof_row("wp-populated-shmem");
			prof_start();
			t0 = now_ns();
			wp(uffd, p, len, 1);
			t[r] = (now_ns() - t0) / NPAGES;
			prof_stop(NPAGES);
			check_pm(p, NPAGES, 1, 1, "wp-populated-shmem: not protected");
			prof_row("wp-resolve-populated-shmem");
			prof_start();
			t0 = now_ns();
			wp(uffd, p, len, 0);
			t2[r] = (now_ns() - t0) / NPAGES;
			prof_stop(NPAGES);
			check_pm(p, NPAGES, 0, 1, "wp-resolve-populated-shmem: still protected");
			close(uffd);
			if (munmap(p, len))
				die("munmap");
		}
		printf("bench wp-populated-shmem %.1f\n", median(t, REPEAT));
		printf("bench wp-resolve-populated-shmem %.1f\n", median(t2, REPEAT));

		/* Round trips: one mapping and uffd, protected anew per repeat. */
		p = map_shared(fd, rtlen);
		touch(p, RT_PAGES, 0xff);
		uffd = new_uffd(0);
		reg(uffd, p, rtlen, UFFDIO_REGISTER_MODE_WP);
		prof_row("rt-wp-shmem");
		for (r = 0; r < REPEAT; r++)
			t[r] = rt_once(uffd, p, RT_PAGES, pgsz, r + 1);
		printf("bench rt-wp-shmem %.1f\n", median(t, REPEAT));
		close(uffd);
		if (munmap(p, rtlen))
			die("munmap");
		close(fd);
	} else {
		printf("# SKIP wp-populated-shmem wp-resolve-populated-shmem rt-wp-shmem: no UFFD_FEATURE_WP_HUGETLBFS_SHMEM\n");
	}

	prof_row("wp-populated-anon");
	for (r = 0; r < REPEAT; r++) {
		double t0;

		p = map_anon(len);
		touch(p, NPAGES, r + 1);
		uffd = new_uffd(anon_feat);
		reg(uffd, p, len, UFFDIO_REGISTER_MODE_WP);
		prof_start();
		t0 = now_ns();
		wp(uffd, p, len, 1);
		t[r] = (now_ns() - t0) / NPAGES;
		prof_stop(NPAGES);
		check_pm(p, NPAGES, 1, 1, "wp-populated-anon: not protected");
		close(uffd);
		if (munmap(p, len))
			die("munmap");
	}
	printf("bench wp-populated-anon %.1f\n", median(t, REPEAT));

	if (anon_feat) {
		prof_row("wp-unpopulated-anon");
		for (r = 0; r < REPEAT; r++) {
			double t0;

			p = map_anon(len);
			uffd = new_uffd(anon_feat);
			reg(uffd, p, len, UFFDIO_REGISTER_MODE_WP);
			prof_start();
			t0 = now_ns();
			wp(uffd, p, len, 1);
			t[r] = (now_ns() - t0) / NPAGES;
			prof_stop(NPAGES);
			check_pm(p, NPAGES, 1, 0, "wp-unpopulated-anon: no marker");
			close(uffd);
			if (munmap(p, len))
				die("munmap");
		}
		printf("bench wp-unpopulated-anon %.1f\n", median(t, REPEAT));
	} else {
		printf("# SKIP wp-unpopulated-anon: no UFFD_FEATURE_WP_UNPOPULATED\n");
	}

	p = map_anon(rtlen);
	touch(p, RT_PAGES, 0xff);
	uffd = new_uffd(anon_feat);
	reg(uffd, p, rtlen, UFFDIO_REGISTER_MODE_WP);
	prof_row("rt-wp-anon");
	for (r = 0; r < REPEAT; r++)
		t[r] = rt_once(uffd, p, RT_PAGES, pgsz, r + 1);
	printf("bench rt-wp-anon %.1f\n", median(t, REPEAT));
	close(uffd);
	if (munmap(p, rtlen))
		die("munmap");

	if (shmem)
		rt_wp_hugetlb();
	else
		printf("# SKIP rt-wp-hugetlb: no UFFD_FEATURE_WP_HUGETLBFS_SHMEM\n");
	return 0;
}
