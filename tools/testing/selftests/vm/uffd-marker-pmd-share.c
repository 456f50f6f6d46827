// SPDX-License-Identifier: GPL-2.0
/*
 * A poison marker in hugetlb memory stays in its own process's page table.
 *
 * Two processes map the same 1 GB hugetlbfs file, each at a 1 GB-aligned
 * address, and fault a page in: their VMAs cover the whole PUD range, so
 * the kernel lets the second share the first one's PMD table (hugetlb PMD
 * sharing).  Then the parent registers its range MISSING-only and
 * UFFDIO_POISONs a page that neither process has touched:
 *   - the child, which registered nothing, must read that page (no SIGBUS):
 *     the poison is the parent's business;
 *   - the parent must still get SIGBUS there after an mprotect that splits
 *     its VMA inside the 1 GB range (a split unshares PMD tables).
 * Plain 6.12 fails both: MISSING-only VMAs keep sharing (only WP and MINOR
 * stop it), so the marker lands in the shared table, and the unshare drops
 * it from the parent (patches/0013).  MAP_NORESERVE: only the pages touched
 * are taken from the pool.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"

#define PUD_SIZE	(1UL << 30)
#define POISONED	5	/* the huge page that gets the marker */

/* The file mapped at a PUD-aligned address, so its PMD table can be shared */
static char *map_pud_aligned(int memfd)
{
	char *hole = mmap(NULL, 2 * PUD_SIZE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *p;

	if (hole == MAP_FAILED)
		return NULL;
	p = (char *)(((unsigned long)hole + PUD_SIZE - 1) & ~(PUD_SIZE - 1));
	p = mmap(p, PUD_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_NORESERVE | MAP_FIXED, memfd, 0);
	return p == MAP_FAILED ? NULL : p;
}

int main(void)
{
	int to_child[2], to_parent[2], memfd, uffd, status;
	unsigned long hsize = default_huge_page_size(), nfree = get_free_hugepages();
	char *p, c = 0;
	pid_t pid;

	ksft_print_header();
	if (hsize != 2UL << 20 || nfree < 8)
		ksft_exit_skip("needs 2 MB huge pages, 8 of them free\n");
	ksft_set_plan(2);
	memfd = memfd_create("uffd-marker-pmd-share", MFD_CLOEXEC | MFD_HUGETLB);
	if (memfd < 0 || ftruncate(memfd, PUD_SIZE) || pipe(to_child) || pipe(to_parent) ||
	    catch_sigbus())
		ksft_exit_fail_msg("setup: %s\n", strerror(errno));

	pid = fork();
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	if (pid == 0) {
		/* The child: map, touch page 0 (sharing the parent's table) */
		char *q;

		if (read(to_child[0], &c, 1) != 1)
			_exit(2);
		q = map_pud_aligned(memfd);
		if (!q)
			_exit(2);
		(void)*(volatile char *)q;
		if (write(to_parent[1], &c, 1) != 1)
			_exit(2);
		/* After the parent's POISON: the page is not poisoned here */
		if (read(to_child[0], &c, 1) != 1)
			_exit(2);
		_exit(read_sigbus(q + POISONED * hsize) ? 1 : 0);
	}

	p = map_pud_aligned(memfd);
	if (!p)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	*p = 1;		/* the parent's PMD table, made first */
	if (write(to_child[1], &c, 1) != 1 || read(to_parent[0], &c, 1) != 1)
		ksft_exit_fail_msg("the child did not map the file\n");

	uffd = uffd_open();
	if (uffd < 0 || uffd_api(uffd, UFFD_FEATURE_MISSING_HUGETLBFS | UFFD_FEATURE_POISON,
				 NULL))
		ksft_exit_skip("hugetlb MISSING or POISON not offered\n");
	if (uffd_register(uffd, p, PUD_SIZE, true, false, false))
		ksft_exit_fail_msg("UFFDIO_REGISTER: %s\n", strerror(errno));
	{
		struct uffdio_poison po = {
			.range = { .start = (unsigned long)p + POISONED * hsize, .len = hsize },
		};

		if (ioctl(uffd, UFFDIO_POISON, &po))
			ksft_exit_fail_msg("UFFDIO_POISON: %s\n", strerror(errno));
	}

	if (write(to_child[1], &c, 1) != 1 || waitpid(pid, &status, 0) != pid)
		ksft_exit_fail_msg("the child: %s\n", strerror(errno));
	ksft_test_result(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "another process reads the page this one poisoned\n");

	/* Split the VMA inside the PUD range: PMD tables are unshared there */
	if (mprotect(p + hsize, hsize, PROT_READ))
		ksft_exit_fail_msg("mprotect: %s\n", strerror(errno));
	/*
	 * Unregistered, a lost marker shows as a plain read instead of a
	 * MISSING fault that nobody would answer; a kept one still SIGBUSes
	 */
	if (uffd_unregister(uffd, p, PUD_SIZE))
		ksft_exit_fail_msg("UFFDIO_UNREGISTER: %s\n", strerror(errno));
	ksft_test_result(read_sigbus(p + POISONED * hsize),
			 "the poisoned page still raises SIGBUS after a VMA split\n");
	close(uffd);
	munmap(p, PUD_SIZE);
	close(memfd);
	finish_tests();
}
