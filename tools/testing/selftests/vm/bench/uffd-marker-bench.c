// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of the PTE marker helpers on their hot paths, for A/B runs of the
 * Rust and C kernels under QEMU -icount (guest time = instruction count).
 *
 * For a shmem range of NPAGES pages, REPEAT times:
 *   wp-markers   UFFDIO_WRITEPROTECT of the unpopulated range: one UFFD_WP
 *                marker installed per PTE (pte_none_mostly, make_pte_marker)
 *   fault-marker read every page: a fault on a marker PTE per page
 *                (pte_none_mostly, is_pte_marker, pte_marker_get)
 *   zap-markers  protect again, drop the pages (fallocate punch hole keeps
 *                the markers), then munmap: one marker zapped per PTE
 *                (is_pte_marker_entry, pte_marker_get)
 * Added later, run after those, on an MFD_HUGETLB memfd (MAP_SHARED) of
 * HPAGES 2M pages, REPEAT times:
 *   fault-marker-hugetlb  read every 2M page of a fresh mapping protected
 *                unpopulated: a hugetlb fault on a UFFD_WP marker per huge
 *                page.  The pages are in the memfd's page cache already
 *                (written once through an unregistered mapping), so the
 *                fault maps a page and clears none; the marker's uffd-wp
 *                bit must stay on the mapped page (checked in pagemap).
 *                At most UFFD_BENCH_HPAGES huge pages when the environment
 *                sets it (hosts with a small pool); the memfd is closed
 *                after, which frees them.
 * Prints "bench <name> <ns per page>" with the median over the repeats.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "uffd-marker-bench"
#include "../uffd-util.h"

#define NPAGES 8192
#define HPAGES 16		/* fault-marker-hugetlb, 2M pages (32 MB) */
#define HPSIZE (2UL << 20)
#define REPEAT 7

static long pgsz;

/* A non-blocking uffd; exits 4 without shmem write-protect. */
static int new_shmem_wp_uffd(void)
{
	uint64_t features = 0;
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || uffd_api(fd, 0, &features))
		die("userfaultfd");
	if (!(features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM)) {
		printf("# SKIP: no shmem write-protect (PTE_MARKER_UFFD_WP off)\n");
		exit(4);
	}
	return fd;
}

/* The byte huge page @i of the memfd carries at its start. */
static char huge_byte(size_t i)
{
	return (char)(i * 7 + 3);
}

/* fault-marker-hugetlb (see the top of the file). */
static void fault_marker_hugetlb(void)
{
	size_t n = hpages(HPAGES), len = n * HPSIZE, i;
	long nfree = free_2m_hugepages();
	double t[REPEAT];
	int memfd, pagemap, r;
	char *p;

	if (nfree < (long)n) {
		printf("# SKIP fault-marker-hugetlb: %ld free 2M huge pages, need %zu\n",
		       nfree, n);
		return;
	}
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap < 0)
		die("/proc/self/pagemap");
	memfd = new_memfd("bench-huge", MFD_HUGETLB | MFD_HUGE_2MB, len);
	/* Fill the page cache through a mapping that is never registered. */
	p = map_shared(memfd, len);
	for (i = 0; i < n; i++)
		p[i * HPSIZE] = huge_byte(i);
	if (munmap(p, len))
		die("munmap");

	prof_row("fault-marker-hugetlb");
	for (r = 0; r < REPEAT; r++) {
		int uffd = new_shmem_wp_uffd();
		volatile char sink;
		double t0;

		p = map_shared(memfd, len);
		reg(uffd, p, len, UFFDIO_REGISTER_MODE_WP);
		/* No PTE yet: one marker per huge page. */
		wp(uffd, p, len, 1);
		for (i = 0; i < n; i++) {
			uint64_t e = pagemap_get_entry(pagemap, p + i * HPSIZE);

			if ((e & PM_PRESENT) || !(e & PM_UFFD_WP)) {
				fprintf(stderr, BENCH_NAME ": fault-marker-hugetlb: %s (unit %zu)\n",
					e & PM_PRESENT ? "mapped before the fault" : "no marker",
					i);
				exit(1);
			}
		}

		prof_start();
		t0 = now_ns();
		for (i = 0; i < len; i += HPSIZE)
			sink = p[i];
		t[r] = (now_ns() - t0) / n;
		prof_stop(n);
		(void)sink;

		for (i = 0; i < n; i++) {
			uint64_t e = pagemap_get_entry(pagemap, p + i * HPSIZE);

			if (p[i * HPSIZE] != huge_byte(i)) {
				fprintf(stderr, BENCH_NAME ": fault-marker-hugetlb: wrong data (unit %zu)\n",
					i);
				exit(1);
			}
			if (!(e & PM_PRESENT) || !(e & PM_UFFD_WP)) {
				fprintf(stderr, BENCH_NAME ": fault-marker-hugetlb: %s (unit %zu)\n",
					e & PM_PRESENT ? "the uffd-wp bit was lost" : "not mapped",
					i);
				exit(1);
			}
		}
		close(uffd);
		if (munmap(p, len))
			die("munmap");
	}
	printf("bench fault-marker-hugetlb %.1f\n", median(t, REPEAT));
	close(memfd);
	close(pagemap);
}

int main(void)
{
	double t_wp[REPEAT], t_fault[REPEAT], t_zap[REPEAT];
	size_t len;
	int r;

	pgsz = sysconf(_SC_PAGESIZE);
	len = (size_t)NPAGES * pgsz;
	for (r = 0; r < REPEAT; r++) {
		int memfd = memfd_create("bench", MFD_CLOEXEC);
		int uffd = new_shmem_wp_uffd();
		volatile char sink;
		double t0;
		char *p;
		size_t i;

		if (memfd < 0 || ftruncate(memfd, len))
			die("memfd");
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		if (p == MAP_FAILED)
			die("mmap");
		reg(uffd, p, len, UFFDIO_REGISTER_MODE_WP);

		prof_row("wp-markers");
		prof_start();
		t0 = now_ns();
		wp(uffd, p, len, 1);
		t_wp[r] = (now_ns() - t0) / NPAGES;
		prof_stop(NPAGES);

		/* Read faults on markers: shmem allocates a zeroed page. */
		prof_row("fault-marker");
		prof_start();
		t0 = now_ns();
		for (i = 0; i < len; i += pgsz)
			sink = p[i];
		t_fault[r] = (now_ns() - t0) / NPAGES;
		prof_stop(NPAGES);
		(void)sink;

		/* Drop the pages; the markers stay (punch hole keeps them). */
		wp(uffd, p, len, 1);
		if (fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, len))
			die("fallocate");
		prof_row("zap-markers");
		prof_start();
		t0 = now_ns();
		if (munmap(p, len))
			die("munmap");
		t_zap[r] = (now_ns() - t0) / NPAGES;
		prof_stop(NPAGES);
		close(uffd);
		close(memfd);
	}
	printf("bench wp-markers %.1f\n", median(t_wp, REPEAT));
	printf("bench fault-marker %.1f\n", median(t_fault, REPEAT));
	printf("bench zap-markers %.1f\n", median(t_zap, REPEAT));

	fault_marker_hugetlb();
	return 0;
}
