// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of the userfaultfd fill ioctls and of whole fault round trips, for
 * A/B runs of the Rust and C kernels under QEMU -icount (guest time =
 * instruction count).
 *
 * Fill ioctls: each repeat issues ONE ioctl over a fresh range of NPAGES
 * 4K pages (HPAGES 2M pages for hugetlb); the figure is ioctl time / pages.
 *   copy-anon        UFFDIO_COPY into private anon registered MISSING
 *   zeropage-anon    UFFDIO_ZEROPAGE into private anon registered MISSING
 *   copy-shmem       UFFDIO_COPY into a new memfd (MAP_SHARED) registered
 *                    MISSING: allocates and fills the page cache
 *   continue-shmem   UFFDIO_CONTINUE over a MAP_SHARED memfd mapping
 *                    registered MINOR; the page cache was populated through
 *                    another (unregistered) mapping, so it only maps pages
 *   continue-hugetlb-2m  the same on a MFD_HUGETLB memfd; per 2M page
 *   copy-anon-1page  UFFDIO_COPY as in copy-anon, but one ioctl per page:
 *                    the per-call cost that a fault's resolution pays
 * Added later, and run after the rows above (so that a failure in one of
 * them cannot cost the older rows their figures):
 *   copy-shmem-private  UFFDIO_COPY into a MAP_PRIVATE mapping of a new
 *                    memfd registered MISSING: the fill of a private file
 *                    mapping, an anonymous page in a shmem VMA
 *                    (SHM_PAGES pages)
 *   zeropage-shmem   UFFDIO_ZEROPAGE into a new memfd (MAP_SHARED)
 *                    registered MISSING: allocates a zeroed page cache page
 *                    per page (SHM_PAGES pages)
 *   copy-hugetlb-2m  UFFDIO_COPY into a new MFD_HUGETLB memfd mapped
 *                    MAP_SHARED, registered MISSING: allocates a huge page
 *                    into the hugetlbfs page cache and copies 2M into it;
 *                    per 2M page (COPY_HPAGES pages; the source is
 *                    populated private anon, written through)
 *   poison-hugetlb   UFFDIO_POISON over a new MFD_HUGETLB memfd mapped
 *                    MAP_SHARED, registered MISSING: one poison marker per
 *                    2M page, no memory touched; per 2M page (HPAGES
 *                    pages).  Checked: every page raises SIGBUS after.
 * Added later still, and run after all of the above: the same fills done
 * K pages at a time, one ioctl over each next K pages of the range (K = 16,
 * 64, 512: a part of a PTE table, a whole one); the figure is the time of
 * all the ioctls / pages, so it carries the per-call cost of NPAGES / K
 * calls:
 *   zeropage-anon-K  UFFDIO_ZEROPAGE as in zeropage-anon (NPAGES pages)
 *   copy-anon-K      UFFDIO_COPY as in copy-anon (NPAGES pages)
 *   poison-anon-K    UFFDIO_POISON into private anon registered MISSING
 *                    (NPAGES pages); checked: every page raises SIGBUS
 *                    after.  Skipped without UFFD_FEATURE_POISON
 *   continue-shmem-K UFFDIO_CONTINUE as in continue-shmem (NPAGES pages,
 *                    a memfd of its own populated the same way)
 * Added last, and run last:
 *   continue-shmem-thp  UFFDIO_CONTINUE as in continue-shmem, but the page
 *                    cache holds PMD-sized folios: a memfd of THP_BLOCKS
 *                    2M blocks populated through a 2M-aligned mapping
 *                    with MADV_HUGEPAGE, shmem_enabled set to "advise"
 *                    for the row (put back after it, at exit and on
 *                    SIGTERM/SIGINT); each repeat maps it again, aligned,
 *                    with MADV_HUGEPAGE, registers MINOR and issues one
 *                    ioctl over all of it; per 2M block.  The Rust kernel
 *                    maps each block with one PMD, upstream with 512
 *                    PTEs; a "#" line gives ShmemPmdMapped after the
 *                    first ioctl.  Skipped without shmem THP (no knob,
 *                    "deny") or when the page cache did not get
 *                    PMD-sized folios
 * The hugetlb rows use at most UFFD_BENCH_HPAGES huge pages when that is
 * set in the environment (runs on a host with a small pool; the guest sets
 * nothing), and each frees its pages before the next row.
 *
 * Round trips: the main thread touches (reads) each page in turn, a handler
 * thread does a blocking read() of the uffd message, checks it and resolves
 * it with the named ioctl (which wakes the faulting thread).  The figure is
 * the faulting loop's time / faults.
 *   rt-missing-copy-anon       MISSING fault on anon, resolved by UFFDIO_COPY
 *   rt-minor-continue-shmem    MINOR fault on shmem, UFFDIO_CONTINUE
 *   rt-minor-continue-hugetlb  MINOR fault on hugetlb (2M), UFFDIO_CONTINUE
 *
 * Each ioctl's result is checked (a short or failed fill dies), and the
 * contents are checked after every repeat (outside the timed region).
 * Prints "bench <name> <ns per page or per fault>", the median over REPEAT.
 * Items whose feature is missing print a "# SKIP" line instead; exit 4 when
 * userfaultfd itself is unavailable.
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

#define BENCH_NAME "uffd-fill-bench"
#include "../uffd-util.h"

#define NPAGES   8192		/* fill ioctls, 4K pages (32 MB) */
#define RT_PAGES 2048		/* round trips on 4K pages */
#define HPAGES   64		/* hugetlb, fill and round trips (128 MB) */
#define SHM_PAGES   2048	/* copy-shmem-private, zeropage-shmem (8 MB) */
#define COPY_HPAGES 8		/* copy-hugetlb-2m: 2M copied per page (16 MB) */
#define THP_BLOCKS  16		/* continue-shmem-thp: 2M blocks (32 MB) */
#define HPSIZE   (2UL << 20)
#define REPEAT   7

static size_t pgsz;

/* A check that failed without an errno. */
static void fail(const char *what, size_t idx)
{
	fprintf(stderr, "uffd-fill-bench: %s (unit %zu)\n", what, idx);
	exit(1);
}

/* The bytes a unit (page) carries at its first and last offset. */
static unsigned char head_of(size_t i)
{
	return (unsigned char)(i * 13 + 1) | 1;
}

static unsigned char tail_of(size_t i)
{
	return (unsigned char)(i * 29 + 7) | 0x80;
}

static void unreg(int uffd, char *p, size_t len)
{
	if (uffd_unregister(uffd, p, len))
		die("UFFDIO_UNREGISTER");
}

static void do_copy(int uffd, char *dst, const char *src, size_t len)
{
	struct uffdio_copy c = {
		.dst = (unsigned long)dst, .src = (unsigned long)src, .len = len,
	};

	if (ioctl(uffd, UFFDIO_COPY, &c))
		die("UFFDIO_COPY");
	if (c.copy != (__s64)len)
		fail("UFFDIO_COPY: short copy", (size_t)c.copy);
}

static void do_zeropage(int uffd, char *dst, size_t len)
{
	struct uffdio_zeropage z = {
		.range = { .start = (unsigned long)dst, .len = len },
	};

	if (ioctl(uffd, UFFDIO_ZEROPAGE, &z))
		die("UFFDIO_ZEROPAGE");
	if (z.zeropage != (__s64)len)
		fail("UFFDIO_ZEROPAGE: short fill", (size_t)z.zeropage);
}

static void do_poison(int uffd, char *dst, size_t len)
{
	struct uffdio_poison p = {
		.range = { .start = (unsigned long)dst, .len = len },
	};

	if (ioctl(uffd, UFFDIO_POISON, &p))
		die("UFFDIO_POISON");
	if (p.updated != (__s64)len)
		fail("UFFDIO_POISON: short poison", (size_t)p.updated);
}

static void do_continue(int uffd, char *dst, size_t len)
{
	struct uffdio_continue c = {
		.range = { .start = (unsigned long)dst, .len = len },
	};

	if (ioctl(uffd, UFFDIO_CONTINUE, &c))
		die("UFFDIO_CONTINUE");
	if (c.mapped != (__s64)len)
		fail("UFFDIO_CONTINUE: short map", (size_t)c.mapped);
}

/* Mark the first and last byte of each unit of `unit` bytes. */
static void stamp(char *p, size_t n, size_t unit)
{
	size_t i;

	for (i = 0; i < n; i++) {
		p[i * unit] = head_of(i);
		p[i * unit + unit - 1] = tail_of(i);
	}
}

/* The data check: stamped (or all-zero when zero) first/last bytes. */
static void check(const char *p, size_t n, size_t unit, int zero, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char h = p[i * unit], t = p[i * unit + unit - 1];

		if (zero ? (h || t) : (h != head_of(i) || t != tail_of(i)))
			fail(what, i);
	}
}

/* The poison check: reading the first byte of every unit raises SIGBUS. */
static void check_poisoned(char *p, size_t n, size_t unit, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!read_sigbus(p + i * unit))
			fail(what, i);
}

enum fill { COPY, ZEROPAGE, CONTINUE, COPY_1PAGE, POISON };

/*
 * One timed fill ioctl over `dst` (n units of `unit` bytes), registered
 * `mode` on a fresh uffd; returns ns per unit.  Checks the contents after.
 */
static double fill_once(char *dst, size_t n, size_t unit, __u64 mode,
			enum fill how, const char *src, const char *what)
{
	size_t len = n * unit;
	int uffd = new_uffd(0);
	double t0, t;

	reg(uffd, dst, len, mode);
	prof_start();
	t0 = now_ns();
	if (how == COPY)
		do_copy(uffd, dst, src, len);
	else if (how == COPY_1PAGE)
		for (size_t i = 0; i < n; i++)
			do_copy(uffd, dst + i * unit, src + i * unit, unit);
	else if (how == ZEROPAGE)
		do_zeropage(uffd, dst, len);
	else if (how == POISON)
		do_poison(uffd, dst, len);
	else
		do_continue(uffd, dst, len);
	t = (now_ns() - t0) / n;
	prof_stop(n);
	/* Unregister first: a page left unfilled reads wrong, not hangs. */
	unreg(uffd, dst, len);
	if (how == POISON)
		check_poisoned(dst, n, unit, what);
	else
		check(dst, n, unit, how == ZEROPAGE, what);
	close(uffd);
	return t;
}

/*
 * As fill_once(), but one ioctl per `k` units, each over the next k
 * (COPY from `src`, ZEROPAGE, POISON or CONTINUE; k divides n); returns
 * the time of all of them per unit.  Checks the contents after.
 */
static double fill_chunks(char *dst, size_t n, size_t unit, __u64 mode,
			  enum fill how, const char *src, size_t k, const char *what)
{
	size_t len = n * unit, step = k * unit, off;
	int uffd = new_uffd(0);
	double t0, t;

	if (!k || n % k)
		fail("K pages per ioctl do not divide the range", k);
	reg(uffd, dst, len, mode);
	prof_start();
	t0 = now_ns();
	for (off = 0; off < len; off += step) {
		if (how == COPY)
			do_copy(uffd, dst + off, src + off, step);
		else if (how == ZEROPAGE)
			do_zeropage(uffd, dst + off, step);
		else if (how == POISON)
			do_poison(uffd, dst + off, step);
		else
			do_continue(uffd, dst + off, step);
	}
	t = (now_ns() - t0) / n;
	prof_stop(n);
	/* Unregister first: a page left unfilled reads wrong, not hangs. */
	unreg(uffd, dst, len);
	if (how == POISON)
		check_poisoned(dst, n, unit, what);
	else
		check(dst, n, unit, how == ZEROPAGE, what);
	close(uffd);
	return t;
}

/* Round trips. */
struct rt {
	int uffd;
	char *area;		/* the registered range */
	size_t unit;		/* bytes per faulting unit */
	size_t n;		/* faults expected */
	enum fill how;		/* COPY or CONTINUE */
	__u64 flag;		/* expected pagefault flag (0 or MINOR) */
	const char *src;	/* COPY: stamped source, `unit` per fault */
	size_t handled;		/* messages taken (atomic) */
};

static void *handler(void *arg)
{
	struct rt *rt = arg;
	size_t i;

	for (i = 0; i < rt->n; i++) {
		unsigned long want = (unsigned long)rt->area + i * rt->unit;
		struct uffd_msg m;
		ssize_t got = read(rt->uffd, &m, sizeof(m));

		if (got != sizeof(m))
			die("read uffd");
		if (m.event != UFFD_EVENT_PAGEFAULT)
			fail("unexpected uffd event", i);
		if ((m.arg.pagefault.address & ~(rt->unit - 1)) != want)
			fail("fault at an unexpected address", i);
		if ((m.arg.pagefault.flags & (UFFD_PAGEFAULT_FLAG_MINOR |
					      UFFD_PAGEFAULT_FLAG_WP)) != rt->flag)
			fail("unexpected fault flags", i);
		__atomic_store_n(&rt->handled, i + 1, __ATOMIC_RELEASE);
		/* Mode 0: the ioctl wakes the faulting thread. */
		if (rt->how == COPY)
			do_copy(rt->uffd, (char *)want, rt->src + i * rt->unit, rt->unit);
		else
			do_continue(rt->uffd, (char *)want, rt->unit);
	}
	return NULL;
}

/*
 * Touch each unit of `area` (n units) in turn, each fault resolved by the
 * handler thread; returns ns per fault.  The read value is the data check.
 */
static double rt_once(char *area, size_t n, size_t unit, __u64 mode,
		      enum fill how, const char *src)
{
	struct rt rt = {
		.uffd = new_uffd(0), .area = area, .unit = unit, .n = n,
		.how = how, .src = src,
		.flag = mode == UFFDIO_REGISTER_MODE_MINOR ? UFFD_PAGEFAULT_FLAG_MINOR : 0,
	};
	volatile char *v = area;
	pthread_t th;
	double t0, t;
	size_t i;

	reg(rt.uffd, area, n * unit, mode);
	errno = pthread_create(&th, NULL, handler, &rt);
	if (errno)
		die("pthread_create");
	prof_start();
	t0 = now_ns();
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i * unit] != head_of(i))
			fail("round trip: wrong data after the fault", i);
	t = (now_ns() - t0) / n;
	prof_stop(n);
	errno = pthread_join(th, NULL);
	if (errno)
		die("pthread_join");
	if (__atomic_load_n(&rt.handled, __ATOMIC_ACQUIRE) != n)
		fail("round trip: fewer faults than pages", rt.handled);
	check(area, n, unit, 0, "round trip: wrong data");
	close(rt.uffd);
	return t;
}

/*
 * A fill benchmark on private anonymous memory: REPEAT fills of NPAGES
 * pages, each into a new mapping; prints the median per page.
 */
static void anon_fill(const char *name, enum fill how, const char *src,
		      const char *what)
{
	size_t len = NPAGES * pgsz;
	double t[REPEAT];

	prof_row(name);
	for (int r = 0; r < REPEAT; r++) {
		char *p = map_anon(len);

		t[r] = fill_once(p, NPAGES, pgsz, UFFDIO_REGISTER_MODE_MISSING,
				 how, src, what);
		if (munmap(p, len))
			die("munmap");
	}
	printf("bench %s %.1f\n", name, median(t, REPEAT));
}

/* A MAP_PRIVATE mapping of the first @len bytes of @fd. */
static char *map_private(int fd, size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);

	if (p == MAP_FAILED)
		die("mmap private");
	return p;
}

/*
 * A fill benchmark on shmem: REPEAT fills of SHM_PAGES pages, each into a
 * new memfd (empty page cache) mapped shared or private; prints the median
 * per page.
 */
static void shmem_fill(const char *name, int private, enum fill how,
		       const char *src, const char *what)
{
	size_t len = SHM_PAGES * pgsz;
	double t[REPEAT];

	prof_row(name);
	for (int r = 0; r < REPEAT; r++) {
		int fd = new_memfd(name, 0, len);
		char *p = private ? map_private(fd, len) : map_shared(fd, len);

		t[r] = fill_once(p, SHM_PAGES, pgsz, UFFDIO_REGISTER_MODE_MISSING,
				 how, src, what);
		if (munmap(p, len))
			die("munmap");
		close(fd);
	}
	printf("bench %s %.1f\n", name, median(t, REPEAT));
}

/* copy-shmem-private and zeropage-shmem, per 4K page. */
static void shmem_rows(__u64 feat)
{
	size_t len = SHM_PAGES * pgsz;
	char *src;

	if (!(feat & UFFD_FEATURE_MISSING_SHMEM)) {
		printf("# SKIP copy-shmem-private zeropage-shmem: no UFFD_FEATURE_MISSING_SHMEM\n");
		return;
	}
	src = map_anon(len);
	stamp(src, SHM_PAGES, pgsz);
	shmem_fill("copy-shmem-private", 1, COPY, src, "copy-shmem-private: wrong data");
	shmem_fill("zeropage-shmem", 0, ZEROPAGE, NULL, "zeropage-shmem: not zero");
	if (munmap(src, len))
		die("munmap");
}

/*
 * copy-hugetlb-2m and poison-hugetlb, per 2M page: each repeat on a new
 * MFD_HUGETLB memfd, closed after it, so the huge pages go back to the pool.
 */
static void hugetlb_rows(__u64 feat)
{
	double t[REPEAT];
	size_t n, len, i;
	char *src, *p;
	int fd, r;

	n = hpages(COPY_HPAGES);
	len = n * HPSIZE;
	if (!(feat & UFFD_FEATURE_MISSING_HUGETLBFS)) {
		printf("# SKIP copy-hugetlb-2m: no UFFD_FEATURE_MISSING_HUGETLBFS\n");
	} else if (free_2m_hugepages() < (long)n) {
		printf("# SKIP copy-hugetlb-2m: %ld free 2M huge pages, need %zu\n",
		       free_2m_hugepages(), n);
	} else {
		/* Written through: no fault on the source during the copy. */
		src = map_anon(len);
		memset(src, 0x5a, len);
		stamp(src, n, HPSIZE);
		prof_row("copy-hugetlb-2m");
		for (r = 0; r < REPEAT; r++) {
			fd = new_memfd("fill-copy-huge", MFD_HUGETLB | MFD_HUGE_2MB, len);
			p = map_shared(fd, len);
			t[r] = fill_once(p, n, HPSIZE, UFFDIO_REGISTER_MODE_MISSING,
					 COPY, src, "copy-hugetlb-2m: wrong data");
			for (i = 0; i < n; i++)
				if (p[i * HPSIZE + HPSIZE / 2] != 0x5a)
					fail("copy-hugetlb-2m: wrong data inside the page", i);
			if (munmap(p, len))
				die("munmap");
			close(fd);
		}
		printf("bench copy-hugetlb-2m %.1f\n", median(t, REPEAT));
		if (munmap(src, len))
			die("munmap");
	}

	n = hpages(HPAGES);
	len = n * HPSIZE;
	if (!(feat & UFFD_FEATURE_POISON)) {
		printf("# SKIP poison-hugetlb: no UFFD_FEATURE_POISON\n");
	} else if (!(feat & UFFD_FEATURE_MISSING_HUGETLBFS)) {
		printf("# SKIP poison-hugetlb: no UFFD_FEATURE_MISSING_HUGETLBFS\n");
	} else if (free_2m_hugepages() < (long)n) {
		/* No page is allocated, but the shared mapping reserves them. */
		printf("# SKIP poison-hugetlb: %ld free 2M huge pages, need %zu\n",
		       free_2m_hugepages(), n);
	} else {
		if (catch_sigbus())
			die("sigaction SIGBUS");
		prof_row("poison-hugetlb");
		for (r = 0; r < REPEAT; r++) {
			fd = new_memfd("fill-poison-huge", MFD_HUGETLB | MFD_HUGE_2MB, len);
			p = map_shared(fd, len);
			t[r] = fill_once(p, n, HPSIZE, UFFDIO_REGISTER_MODE_MISSING,
					 POISON, NULL, "poison-hugetlb: no SIGBUS");
			if (munmap(p, len))
				die("munmap");
			close(fd);
		}
		printf("bench poison-hugetlb %.1f\n", median(t, REPEAT));
	}
}

/* The run lengths of the K-pages-per-ioctl rows. */
static const size_t chunk_pages[] = { 16, 64, 512 };

/*
 * zeropage-anon-K, poison-anon-K and copy-anon-K: REPEAT fills of NPAGES
 * pages of new private anon, K pages per ioctl; prints the median per
 * page.  COPY copies from a stamped source of its own.
 */
static void anon_chunk_rows(__u64 feat)
{
	static const enum fill hows[] = { ZEROPAGE, POISON, COPY };
	size_t len = NPAGES * pgsz;
	double t[REPEAT];
	char name[64], what[96];
	char *src = map_anon(len);

	stamp(src, NPAGES, pgsz);
	for (size_t h = 0; h < ARRAY_SIZE(hows); h++) {
		const char *row = hows[h] == ZEROPAGE ? "zeropage-anon" :
				  hows[h] == POISON ? "poison-anon" : "copy-anon";

		if (hows[h] == POISON) {
			if (!(feat & UFFD_FEATURE_POISON)) {
				printf("# SKIP poison-anon-16 poison-anon-64 poison-anon-512: no UFFD_FEATURE_POISON\n");
				continue;
			}
			if (catch_sigbus())
				die("sigaction SIGBUS");
		}
		for (size_t c = 0; c < ARRAY_SIZE(chunk_pages); c++) {
			snprintf(name, sizeof(name), "%s-%zu", row, chunk_pages[c]);
			snprintf(what, sizeof(what), "%s: %s", name,
				 hows[h] == POISON ? "no SIGBUS" :
				 hows[h] == COPY ? "wrong data" : "not zero");
			prof_row(name);
			for (int r = 0; r < REPEAT; r++) {
				char *p = map_anon(len);

				t[r] = fill_chunks(p, NPAGES, pgsz, UFFDIO_REGISTER_MODE_MISSING,
						   hows[h], src, chunk_pages[c], what);
				if (munmap(p, len))
					die("munmap");
			}
			printf("bench %s %.1f\n", name, median(t, REPEAT));
		}
	}
	if (munmap(src, len))
		die("munmap");
}

/*
 * continue-shmem-K: as continue-shmem (a memfd stamped through a mapping
 * that is never registered, mapped afresh and registered MINOR for every
 * repeat), K pages per ioctl.
 */
static void continue_chunk_rows(__u64 feat)
{
	size_t len = NPAGES * pgsz;
	double t[REPEAT];
	char name[64], what[96], *p;
	int fd;

	if (!(feat & UFFD_FEATURE_MINOR_SHMEM)) {
		printf("# SKIP continue-shmem-16 continue-shmem-64 continue-shmem-512: no UFFD_FEATURE_MINOR_SHMEM\n");
		return;
	}
	fd = new_memfd("fill-minor-chunks", 0, len);
	p = map_shared(fd, len);
	stamp(p, NPAGES, pgsz);
	if (munmap(p, len))
		die("munmap");

	for (size_t c = 0; c < ARRAY_SIZE(chunk_pages); c++) {
		snprintf(name, sizeof(name), "continue-shmem-%zu", chunk_pages[c]);
		snprintf(what, sizeof(what), "%s: wrong data", name);
		prof_row(name);
		for (int r = 0; r < REPEAT; r++) {
			p = map_shared(fd, len);
			t[r] = fill_chunks(p, NPAGES, pgsz, UFFDIO_REGISTER_MODE_MINOR,
					   CONTINUE, NULL, chunk_pages[c], what);
			if (munmap(p, len))
				die("munmap");
		}
		printf("bench %s %.1f\n", name, median(t, REPEAT));
	}
	close(fd);
}

/* continue-shmem-thp: shmem_enabled, set to "advise" for the row. */
static const char thp_knob[] = "/sys/kernel/mm/transparent_hugepage/shmem_enabled";
static char thp_knob_saved[32];

/* Puts the saved mode back (once); async-signal-safe. */
static void thp_knob_restore(void)
{
	if (thp_knob_saved[0] && !write_file(thp_knob, thp_knob_saved))
		thp_knob_saved[0] = 0;
}

static void thp_knob_signal(int sig)
{
	thp_knob_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Sets shmem_enabled to "advise", the old mode saved: NULL, or why not. */
static const char *thp_knob_set(void)
{
	char buf[128], *b, *e;
	int fd = open(thp_knob, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return "no shmem THP (no shmem_enabled)";
	buf[n] = 0;
	b = strchr(buf, '[');
	e = b ? strchr(b, ']') : NULL;
	if (!e)
		return "cannot parse shmem_enabled";
	*e = 0;
	if (!strcmp(b + 1, "advise"))
		return NULL;
	if (!strcmp(b + 1, "deny"))
		return "shmem_enabled is deny";
	snprintf(thp_knob_saved, sizeof(thp_knob_saved), "%s", b + 1);
	atexit(thp_knob_restore);
	signal(SIGTERM, thp_knob_signal);
	signal(SIGINT, thp_knob_signal);
	if (write_file(thp_knob, "advise"))
		return "cannot set shmem_enabled to advise";
	return NULL;
}

/*
 * @len bytes of @fd, MAP_SHARED at a 2M-aligned address, MADV_HUGEPAGE;
 * *resv and *rlen: what to munmap() after.  NULL when madvise() fails
 * (no THP).
 */
static char *map_shared_thp(int fd, size_t len, char **resv, size_t *rlen)
{
	char *r = mmap(NULL, len + HPSIZE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *p;

	if (r == MAP_FAILED)
		die("mmap reserve");
	p = (char *)(((unsigned long)r + HPSIZE - 1) & ~(HPSIZE - 1));
	if (mmap(p, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		die("mmap shared");
	*resv = r;
	*rlen = len + HPSIZE;
	if (madvise(p, len, MADV_HUGEPAGE)) {
		munmap(r, *rlen);
		return NULL;
	}
	return p;
}

/*
 * continue-shmem-thp: one CONTINUE over THP_BLOCKS blocks of a memfd
 * whose page cache holds PMD-sized folios (stamped per 4K page, checked
 * per 4K page after every repeat); prints the median per 2M block.
 */
static void continue_thp_row(__u64 feat)
{
	size_t len = THP_BLOCKS * HPSIZE, n = len / pgsz, rlen;
	long kb, first_kb = -1;
	double t[REPEAT], t0;
	const char *why;
	char *p, *resv;
	int fd, uffd;

	if (!(feat & UFFD_FEATURE_MINOR_SHMEM)) {
		printf("# SKIP continue-shmem-thp: no UFFD_FEATURE_MINOR_SHMEM\n");
		return;
	}
	why = thp_knob_set();
	if (why) {
		printf("# SKIP continue-shmem-thp: %s\n", why);
		thp_knob_restore();
		return;
	}
	fd = new_memfd("fill-minor-thp", 0, len);
	p = map_shared_thp(fd, len, &resv, &rlen);
	if (!p) {
		printf("# SKIP continue-shmem-thp: MADV_HUGEPAGE: %s\n", strerror(errno));
		close(fd);
		thp_knob_restore();
		return;
	}
	stamp(p, n, pgsz);
	kb = smaps_kb(p, "ShmemPmdMapped");
	if (munmap(resv, rlen))
		die("munmap");
	if (kb != (long)(len >> 10)) {
		printf("# SKIP continue-shmem-thp: the page cache did not get PMD-sized folios (ShmemPmdMapped %ld of %zu kB)\n",
		       kb, len >> 10);
		close(fd);
		thp_knob_restore();
		return;
	}

	prof_row("continue-shmem-thp");
	for (int r = 0; r < REPEAT; r++) {
		p = map_shared_thp(fd, len, &resv, &rlen);
		if (!p)
			die("madvise MADV_HUGEPAGE");
		uffd = new_uffd(0);
		reg(uffd, p, len, UFFDIO_REGISTER_MODE_MINOR);
		prof_start();
		t0 = now_ns();
		do_continue(uffd, p, len);
		t[r] = (now_ns() - t0) / THP_BLOCKS;
		prof_stop(THP_BLOCKS);
		if (!r)
			first_kb = smaps_kb(p, "ShmemPmdMapped");
		/* Unregister first: a page left unfilled reads wrong, not hangs. */
		unreg(uffd, p, len);
		check(p, n, pgsz, 0, "continue-shmem-thp: wrong data");
		close(uffd);
		if (munmap(resv, rlen))
			die("munmap");
	}
	close(fd);
	thp_knob_restore();
	printf("# continue-shmem-thp: ShmemPmdMapped %ld of %zu kB after the ioctl\n",
	       first_kb, len >> 10);
	printf("bench continue-shmem-thp %.1f\n", median(t, REPEAT));
}

int main(void)
{
	double t[REPEAT];
	__u64 feat;
	size_t len, rtlen, hn;
	char *src, *p;
	int fd, r;
	long nfree;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pgsz = sysconf(_SC_PAGESIZE);
	len = NPAGES * pgsz;
	rtlen = RT_PAGES * pgsz;
	feat = uffd_features();

	/* One stamped source for every COPY (first and last byte per page). */
	src = map_anon(len);
	stamp(src, NPAGES, pgsz);

	anon_fill("copy-anon", COPY, src, "copy-anon: wrong data");
	anon_fill("zeropage-anon", ZEROPAGE, NULL, "zeropage-anon: not zero");
	anon_fill("copy-anon-1page", COPY_1PAGE, src, "copy-anon-1page: wrong data");

	/* copy-shmem: a new memfd each time, so the page cache is empty. */
	if (feat & UFFD_FEATURE_MISSING_SHMEM) {
		prof_row("copy-shmem");
		for (r = 0; r < REPEAT; r++) {
			fd = new_memfd("fill-copy", 0, len);
			p = map_shared(fd, len);
			t[r] = fill_once(p, NPAGES, pgsz, UFFDIO_REGISTER_MODE_MISSING,
					 COPY, src, "copy-shmem: wrong data");
			if (munmap(p, len))
				die("munmap");
			close(fd);
		}
		printf("bench copy-shmem %.1f\n", median(t, REPEAT));
	} else {
		printf("# SKIP copy-shmem: no UFFD_FEATURE_MISSING_SHMEM\n");
	}

	prof_row("rt-missing-copy-anon");
	for (r = 0; r < REPEAT; r++) {
		p = map_anon(rtlen);
		t[r] = rt_once(p, RT_PAGES, pgsz, UFFDIO_REGISTER_MODE_MISSING,
			       COPY, src);
		if (munmap(p, rtlen))
			die("munmap");
	}
	printf("bench rt-missing-copy-anon %.1f\n", median(t, REPEAT));

	if (munmap(src, len))
		die("munmap");

	/*
	 * MINOR on shmem: one memfd, stamped once through a mapping that is
	 * never registered; every repeat maps it afresh and registers MINOR.
	 */
	if (feat & UFFD_FEATURE_MINOR_SHMEM) {
		fd = new_memfd("fill-minor", 0, len);
		p = map_shared(fd, len);
		stamp(p, NPAGES, pgsz);
		if (munmap(p, len))
			die("munmap");

		prof_row("continue-shmem");
		for (r = 0; r < REPEAT; r++) {
			p = map_shared(fd, len);
			t[r] = fill_once(p, NPAGES, pgsz, UFFDIO_REGISTER_MODE_MINOR,
					 CONTINUE, NULL, "continue-shmem: wrong data");
			if (munmap(p, len))
				die("munmap");
		}
		printf("bench continue-shmem %.1f\n", median(t, REPEAT));

		prof_row("rt-minor-continue-shmem");
		for (r = 0; r < REPEAT; r++) {
			p = map_shared(fd, rtlen);
			t[r] = rt_once(p, RT_PAGES, pgsz, UFFDIO_REGISTER_MODE_MINOR,
				       CONTINUE, NULL);
			if (munmap(p, rtlen))
				die("munmap");
		}
		printf("bench rt-minor-continue-shmem %.1f\n", median(t, REPEAT));
		close(fd);
	} else {
		printf("# SKIP continue-shmem rt-minor-continue-shmem: no UFFD_FEATURE_MINOR_SHMEM\n");
	}

	/* The same on hugetlb, per 2M page. */
	nfree = free_2m_hugepages();
	hn = hpages(HPAGES);
	if (!(feat & UFFD_FEATURE_MINOR_HUGETLBFS)) {
		printf("# SKIP continue-hugetlb-2m rt-minor-continue-hugetlb: no UFFD_FEATURE_MINOR_HUGETLBFS\n");
	} else if (nfree < (long)hn) {
		printf("# SKIP continue-hugetlb-2m rt-minor-continue-hugetlb: %ld free 2M huge pages, need %zu\n",
		       nfree, hn);
	} else {
		size_t hlen = hn * HPSIZE;

		fd = new_memfd("fill-huge", MFD_HUGETLB | MFD_HUGE_2MB, hlen);
		p = map_shared(fd, hlen);
		stamp(p, hn, HPSIZE);
		if (munmap(p, hlen))
			die("munmap");

		prof_row("continue-hugetlb-2m");
		for (r = 0; r < REPEAT; r++) {
			p = map_shared(fd, hlen);
			t[r] = fill_once(p, hn, HPSIZE, UFFDIO_REGISTER_MODE_MINOR,
					 CONTINUE, NULL, "continue-hugetlb: wrong data");
			if (munmap(p, hlen))
				die("munmap");
		}
		printf("bench continue-hugetlb-2m %.1f\n", median(t, REPEAT));

		prof_row("rt-minor-continue-hugetlb");
		for (r = 0; r < REPEAT; r++) {
			p = map_shared(fd, hlen);
			t[r] = rt_once(p, hn, HPSIZE, UFFDIO_REGISTER_MODE_MINOR,
				       CONTINUE, NULL);
			if (munmap(p, hlen))
				die("munmap");
		}
		printf("bench rt-minor-continue-hugetlb %.1f\n", median(t, REPEAT));
		close(fd);
	}

	/* The rows added later, after the older ones. */
	shmem_rows(feat);
	hugetlb_rows(feat);
	/* Added after those, and run after them. */
	anon_chunk_rows(feat);
	continue_chunk_rows(feat);
	/* Added last, and run last. */
	continue_thp_row(feat);
	return 0;
}
