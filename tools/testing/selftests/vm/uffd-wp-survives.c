// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing is lost: a userfaultfd write-protected page of file memory stays
 * write-protected when the kernel drops its PTE, whatever drops it.
 *
 * For each way of dropping the PTE (none, swap-out with MADV_PAGEOUT,
 * fallocate(PUNCH_HOLE), MADV_DONTNEED) on shmem, and MADV_DONTNEED on
 * shared and private hugetlb:
 *   - fill the page, write-protect it, drop the PTE;
 *   - /proc/self/pagemap still reports the uffd-wp bit;
 *   - a thread writes to the page: the write-protect message arrives, and
 *     until the page is un-protected the write has not landed (checked
 *     through a second, unregistered mapping of the same memory);
 *   - after un-protect the writer finishes and its byte is there, and the
 *     rest of the page holds what it held (zeroes after a punch hole).
 * Runs the same on the C and the Rust kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
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

static int pagemap_fd;

enum drop { DROP_NONE, DROP_PAGEOUT, DROP_PUNCH_HOLE, DROP_DONTNEED };
static const char *const drop_name[] = {
	"no drop", "MADV_PAGEOUT", "fallocate(PUNCH_HOLE)", "MADV_DONTNEED",
};

struct writer {
	volatile char *addr;
	char byte;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;

	*w->addr = w->byte;
	return NULL;
}

/*
 * One case.  @memfd backs both mappings (@shared: MAP_SHARED for both;
 * otherwise the registered one is MAP_PRIVATE and there is no second view).
 * Returns nothing; prints a result line per check, prefixed with @what.
 */
static void run_case(const char *what, int memfd, size_t unit, int shared, enum drop drop)
{
	struct writer w;
	struct uffd_msg msg;
	pthread_t thread;
	char *p, *view = NULL, expect_rest;
	int uffd, got_msg, landed_early = 0;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || uffd_api(uffd, UFFD_FEATURE_WP_HUGETLBFS_SHMEM, NULL)) {
		ksft_test_result_skip("%s, %s: file-memory write-protect not offered\n",
				      what, drop_name[drop]);
		if (uffd >= 0)
			close(uffd);
		return;
	}
	p = mmap(NULL, unit, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE,
		 memfd, 0);
	if (shared)
		view = mmap(NULL, unit, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED || view == MAP_FAILED) {
		ksft_test_result_fail("%s: mmap: %s\n", what, strerror(errno));
		close(uffd);
		return;
	}
	memset(p, 'A', unit);
	if (uffd_register(uffd, p, unit, false, true, false) ||
	    uffd_writeprotect(uffd, p, unit, 1)) {
		ksft_test_result_fail("%s, %s: register/protect: %s\n", what, drop_name[drop],
				      strerror(errno));
		goto out;
	}

	expect_rest = 'A';
	switch (drop) {
	case DROP_NONE:
		break;
	case DROP_PAGEOUT:
		if (madvise(p, unit, MADV_PAGEOUT)) {
			ksft_test_result_fail("%s: MADV_PAGEOUT: %s\n", what, strerror(errno));
		} else {
			unsigned char vec = 1;

			ksft_test_result(!mincore(p, unit, &vec) && !(vec & 1),
					 "%s, MADV_PAGEOUT: the page left memory (mincore)\n",
					 what);
		}
		break;
	case DROP_PUNCH_HOLE:
		if (fallocate(memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, unit))
			ksft_test_result_fail("%s: punch hole: %s\n", what, strerror(errno));
		expect_rest = 0;
		break;
	case DROP_DONTNEED:
		if (madvise(p, unit, MADV_DONTNEED))
			ksft_test_result_fail("%s: MADV_DONTNEED: %s\n", what, strerror(errno));
		/*
		 * A private mapping loses its private copy: what shows through
		 * afterwards is the file, which was never written.
		 */
		if (!shared)
			expect_rest = 0;
		break;
	}
	ksft_test_result(pagemap_get_entry(pagemap_fd, p) & PM_UFFD_WP,
			 "%s, %s: pagemap still reports uffd-wp\n", what, drop_name[drop]);

	w.addr = p + 1;
	w.byte = 'B';
	if (pthread_create(&thread, NULL, writer_fn, &w)) {
		ksft_test_result_fail("%s: pthread_create\n", what);
		goto out;
	}
	got_msg = uffd_read_msg(uffd, &msg, 5000) == 1 && msg.event == UFFD_EVENT_PAGEFAULT &&
		  (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP) &&
		  (msg.arg.pagefault.address & ~(unit - 1)) == (unsigned long)p;
	if (view)
		landed_early = view[1] == 'B';
	ksft_test_result(got_msg, "%s, %s: the write raises a write-protect message\n", what,
			 drop_name[drop]);
	if (view)
		ksft_test_result(!landed_early,
				 "%s, %s: the write has not landed before un-protect\n",
				 what, drop_name[drop]);

	/* Un-protect wakes the writer; without a message, it never slept. */
	if (uffd_writeprotect(uffd, p, unit, 0))
		ksft_test_result_fail("%s: un-protect: %s\n", what, strerror(errno));
	pthread_join(thread, NULL);
	ksft_test_result(p[1] == 'B' && p[0] == expect_rest && p[unit - 1] == expect_rest,
			 "%s, %s: after un-protect the write landed and the page holds its data\n",
			 what, drop_name[drop]);
out:
	munmap(p, unit);
	if (view)
		munmap(view, unit);
	close(uffd);
}

int main(void)
{
	size_t hsize = default_huge_page_size();
	enum drop d;
	int memfd;

	ksft_print_header();
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap_fd < 0)
		ksft_exit_skip("/proc/self/pagemap: %s\n", strerror(errno));
	for (d = DROP_NONE; d <= DROP_DONTNEED; d++) {
		memfd = memfd_create("uffd-wp-survives", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, psize())) {
			ksft_test_result_fail("shmem: memfd: %s\n", strerror(errno));
			continue;
		}
		run_case("shmem", memfd, psize(), 1, d);
		close(memfd);
	}
	for (int shared = 1; shared >= 0; shared--) {
		const char *what = shared ? "hugetlb shared" : "hugetlb private";

		memfd = memfd_create("uffd-wp-survives-huge", MFD_CLOEXEC | MFD_HUGETLB);
		if (!hsize || memfd < 0 || ftruncate(memfd, hsize)) {
			ksft_test_result_skip("%s: no hugetlb memfd\n", what);
			if (memfd >= 0)
				close(memfd);
			continue;
		}
		run_case(what, memfd, hsize, shared, DROP_NONE);
		run_case(what, memfd, hsize, shared, DROP_DONTNEED);
		close(memfd);
	}
	finish_tests();
}
