// SPDX-License-Identifier: GPL-2.0
/*
 * PTE markers as the page tables hold them, read back through
 * /sys/kernel/debug/userfaultfd_rs/pte (the Rust kernel's probe, which walks
 * the page table with the Rust mm abstractions) and, independently, through
 * /proc/self/pagemap's uffd-wp bit.
 *
 * On a kernel without the probe (the C baseline) the test skips.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"

#define PROBE "/sys/kernel/debug/userfaultfd_rs/pte"

static int probe_fd, pagemap_fd;

static void die(const char *what)
{
	ksft_test_result_fail("%s: %s\n", what, strerror(errno));
	finish_tests();
}

/* What the probe says about @p, without the trailing newline. */
static const char *probe(void *p)
{
	static char buf[64];
	char addr[32];
	ssize_t n;

	snprintf(addr, sizeof(addr), "%#lx", (unsigned long)p);
	if (pwrite(probe_fd, addr, strlen(addr), 0) < 0)
		die("write the probe");
	n = pread(probe_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		die("read the probe");
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/* Whether pagemap reports uffd-wp for @p (vm_util exits if unreadable). */
static int pagemap_wp(char *p)
{
	return !!(pagemap_get_entry(pagemap_fd, p) & PM_UFFD_WP);
}

static void expect(void *p, const char *want, const char *what)
{
	const char *got = probe(p);

	ksft_test_result(!strcmp(got, want), "%s: probe says \"%s\" (want \"%s\")\n", what, got,
			 want);
}

static int new_uffd(uint64_t features, uint64_t *got)
{
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		die("userfaultfd");
	if (uffd_api(fd, features, got)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void reg(int uffd, void *p, size_t len, bool missing, bool wp)
{
	if (uffd_register(uffd, p, len, missing, wp, false))
		die("UFFDIO_REGISTER");
}

static void wp(int uffd, void *p, size_t len)
{
	if (uffd_writeprotect(uffd, p, len, 1))
		die("UFFDIO_WRITEPROTECT");
}

static void test_shmem_wp(void)
{
	uint64_t features;
	int memfd, uffd;
	char *p;

	uffd = new_uffd(0, &features);
	if (uffd < 0)
		die("UFFDIO_API");
	if (!(features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM)) {
		ksft_test_result_skip("shmem write-protect markers: UFFD_FEATURE_WP_HUGETLBFS_SHMEM not offered\n");
		close(uffd);
		return;
	}
	memfd = memfd_create("uffd-marker-probe", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, 4 * psize()))
		die("memfd");
	p = mmap(NULL, 4 * psize(), PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED)
		die("mmap shmem");
	/* Pages 2 and 3 present; that also gives the range a PTE table. */
	p[2 * psize()] = 2;
	p[3 * psize()] = 3;
	reg(uffd, p, 4 * psize(), false, true);

	/*
	 * Nothing mapped: a none PTE, or no PTE table at all when the range
	 * straddles a 2 MB boundary and pages 2-3 are in the next table.
	 */
	if (!strcmp(probe(p), "no-table"))
		expect(p, "no-table", "shmem page never touched (its PTE table is not there)");
	else
		expect(p, "none", "shmem page never touched");
	expect(p + 2 * psize(), "present", "shmem page written");

	wp(uffd, p + psize(), psize());
	expect(p + psize(), "marker 0x1", "unpopulated shmem page write-protected");
	ksft_test_result(pagemap_wp(p + psize()), "pagemap reports uffd-wp on that marker\n");
	ksft_test_result(!pagemap_wp(p), "pagemap reports no uffd-wp on the untouched page\n");

	wp(uffd, p + 2 * psize(), 2 * psize());
	expect(p + 2 * psize(), "present", "present shmem page write-protected stays present");
	ksft_test_result(pagemap_wp(p + 2 * psize()),
			 "pagemap reports uffd-wp on the present page\n");

	if (fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 3 * psize(), psize()))
		die("fallocate punch hole");
	expect(p + 3 * psize(), "marker 0x1", "punch hole on a protected page leaves a marker");
	ksft_test_result(pagemap_wp(p + 3 * psize()),
			 "pagemap reports uffd-wp after the punch hole\n");

	if (madvise(p + 2 * psize(), psize(), MADV_DONTNEED))
		die("madvise DONTNEED");
	expect(p + 2 * psize(), "marker 0x1", "MADV_DONTNEED on a protected page leaves a marker");

	/* Un-registering drops the markers. */
	if (uffd_unregister(uffd, p, 4 * psize()))
		die("UFFDIO_UNREGISTER");
	expect(p + psize(), "none", "un-register drops the marker");
	ksft_test_result(!pagemap_wp(p + psize()), "pagemap: no uffd-wp after un-register\n");

	munmap(p, 4 * psize());
	close(memfd);
	close(uffd);
}

static void test_poison(void)
{
	struct uffdio_poison po = { 0 };
	uint64_t features;
	int uffd;
	char *p;

	uffd = new_uffd(UFFD_FEATURE_POISON, &features);
	if (uffd < 0) {
		ksft_test_result_skip("UFFDIO_POISON marker: UFFD_FEATURE_POISON not offered\n");
		return;
	}
	p = mmap(NULL, 2 * psize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap anon");
	p[psize()] = 1;	/* a PTE table for the range */
	reg(uffd, p, 2 * psize(), true, false);
	po.range.start = (unsigned long)p;
	po.range.len = psize();
	if (ioctl(uffd, UFFDIO_POISON, &po))
		die("UFFDIO_POISON");
	expect(p, "marker 0x2", "UFFDIO_POISON installs a poisoned marker");
	expect(p + psize(), "present", "the neighbour page is untouched");
	munmap(p, 2 * psize());
	close(uffd);
}

static void test_swap_and_errors(void)
{
	char *p, *h;

	p = mmap(NULL, psize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap anon");
	memset(p, 7, psize());
	if (madvise(p, psize(), MADV_PAGEOUT) == 0 && strcmp(probe(p), "present"))
		expect(p, "swap", "anonymous page paged out to swap is a swap entry, not a marker");
	else
		ksft_test_result_skip("paged-out anonymous page: MADV_PAGEOUT left it in memory\n");
	ksft_test_result(p[100] == 7, "the paged-out page reads back\n");
	munmap(p, psize());

	/* No VMA there: ENOENT. */
	expect(p, "error 2", "address with no VMA");

	h = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (h == MAP_FAILED) {
		ksft_test_result_skip("hugetlb VMA: no huge pages\n");
		return;
	}
	h[0] = 1;
	expect(h, "error 95", "hugetlb VMA is refused by the PTE-table guard (EOPNOTSUPP)");
	munmap(h, 2 << 20);
}

int main(void)
{
	ksft_print_header();
	probe_fd = open(PROBE, O_RDWR | O_CLOEXEC);
	if (probe_fd < 0)
		ksft_exit_skip("%s: %s (not the Rust kernel)\n", PROBE, strerror(errno));
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0)
		die("open pagemap");
	test_shmem_wp();
	test_poison();
	test_swap_and_errors();
	finish_tests();
}
