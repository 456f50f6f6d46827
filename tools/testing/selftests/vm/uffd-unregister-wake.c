// SPDX-License-Identifier: GPL-2.0
/*
 * UFFDIO_UNREGISTER racing with a page fault in the range it unregisters.
 *
 * Unregistering wakes the faults pending in the range so that they retry
 * and do not hang.  A fault that races with it must end up either woken by
 * it or taken after it (and then it is not a userfault at all); it must not
 * stay asleep with its message queued for a range that is no longer
 * registered.  Plain 6.12 leaves such a message about once in three rounds
 * here: UFFDIO_UNREGISTER wakes before it write-locks the VMA, and a fault
 * taken under the per-VMA lock queues its message in between (the monitor
 * of upstream's "events" unit test then fails with "UFFDIO_COPY error: -2").
 * patches/0010 fixes it for both kernels.
 *
 * Each round registers one page (MISSING) of the memory type, lets a second
 * thread read it while this thread unregisters (one side gets a random head
 * start), and then looks at the queue.  A message found there is answered
 * with UFFDIO_COPY (its errno is reported) and UFFDIO_WAKE, so the reader
 * can go on.  The check fails when any round left a message, or when the
 * reader did not come back.
 *
 *   uffd-unregister-wake [-q] [ROUNDS]
 */
#define _GNU_SOURCE
#include <stdatomic.h>

#include "kselftest.h"
#include "uffd-util.h"

#define STUCK_MS 3000

enum mem { MEM_ANON, MEM_SHMEM, MEM_HUGETLB, NR_MEM };
static const char *const mem_name[NR_MEM] = { "anon", "shmem", "hugetlb" };

static volatile char *area;
static atomic_int seq;		/* bumped by main to start a round; -1: stop */
static atomic_int done;		/* the reader's last finished round */
static atomic_int head_start;	/* the reader's delay in this round */

static void spin(int n)
{
	for (volatile int i = 0; i < n; i++)
		;
}

static void *reader(void *arg)
{
	int last = 0;

	(void)arg;
	for (;;) {
		int s;

		while ((s = atomic_load(&seq)) == last)
			;
		if (s < 0)
			return NULL;
		last = s;
		spin(atomic_load(&head_start));
		(void)area[0];
		atomic_store(&done, s);
	}
}

struct counts {
	long rounds, stale, copy_enoent, copy_other, stuck;
};

/*
 * Waits for the reader to finish round @r, answering what the queue holds.
 * Returns 0, or -1 when it did not finish within STUCK_MS.
 */
static int finish_round(int uffd, int r, long unit, struct counts *c)
{
	static char src[2UL << 20];

	for (int ms = 0; atomic_load(&done) != r; ms++) {
		struct uffd_msg msg;
		struct uffdio_copy cp;
		struct uffdio_range all = {
			.start = (unsigned long)area, .len = unit,
		};

		if (ms == STUCK_MS)
			return -1;
		if (uffd_read_msg(uffd, &msg, 1) != 1 ||
		    msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		c->stale++;
		cp = (struct uffdio_copy){
			.dst = msg.arg.pagefault.address & ~(unit - 1),
			.src = (unsigned long)src,
			.len = unit,
		};
		if (ioctl(uffd, UFFDIO_COPY, &cp))
			*(cp.copy == -ENOENT ? &c->copy_enoent : &c->copy_other) += 1;
		ioctl(uffd, UFFDIO_WAKE, &all);
	}
	return 0;
}

static int run(enum mem m, long rounds, struct counts *c)
{
	long unit = m == MEM_HUGETLB ? (long)default_huge_page_size() : (long)psize();
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	unsigned int rnd = 12345;
	pthread_t thr;
	void *p;
	int uffd;

	if (m == MEM_SHMEM)
		flags = MAP_SHARED | MAP_ANONYMOUS;
	if (m == MEM_HUGETLB)
		flags |= MAP_HUGETLB;
	uffd = uffd_open();
	if (uffd < 0 || uffd_api(uffd, 0, NULL))
		return -1;
	p = mmap(NULL, unit, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED) {
		close(uffd);
		return -1;
	}
	area = p;
	atomic_store(&seq, 0);
	atomic_store(&done, 0);
	if (pthread_create(&thr, NULL, reader, NULL))
		return -1;

	for (int r = 1; r <= rounds; r++) {
		int d;

		/* Empty the page: shmem keeps it in the page cache otherwise. */
		if (madvise(p, unit, m == MEM_SHMEM ? MADV_REMOVE : MADV_DONTNEED) ||
		    uffd_register(uffd, p, unit, true, false, false))
			break;
		rnd = rnd * 1103515245 + 12345;
		d = (rnd >> 8) % 8000;
		atomic_store(&head_start, d < 4000 ? d : 0);
		atomic_store(&seq, r);
		spin(d >= 4000 ? d - 4000 : 0);
		if (uffd_unregister(uffd, p, unit))
			break;
		c->rounds++;
		if (finish_round(uffd, r, unit, c)) {
			c->stuck++;
			break;
		}
	}
	atomic_store(&seq, -1);
	/* A stuck reader is woken by the close (the context is released). */
	close(uffd);
	join_within(thr, 10);
	munmap(p, unit);
	return 0;
}

int main(int argc, char **argv)
{
	long rounds = 2000;
	int arg = 1;

	if (arg < argc && !strcmp(argv[arg], "-q"))
		arg++;
	if (arg < argc)
		rounds = atol(argv[arg]);
	ksft_print_header();
	ksft_set_plan(NR_MEM);
	for (int m = 0; m < NR_MEM; m++) {
		struct counts c = { 0 };

		if (m == MEM_HUGETLB && get_free_hugepages() < 1) {
			ksft_test_result_skip("%s: no queued fault after UFFDIO_UNREGISTER: no free huge page\n",
					      mem_name[m]);
			continue;
		}
		if (run(m, rounds, &c)) {
			ksft_test_result_fail("%s: set-up: %s\n", mem_name[m], strerror(errno));
			continue;
		}
		ksft_print_msg("%s: %ld of %ld rounds left a fault queued after UFFDIO_UNREGISTER (UFFDIO_COPY on it: ENOENT %ld, other %ld)%s\n",
			       mem_name[m], c.stale, c.rounds, c.copy_enoent, c.copy_other,
			       c.stuck ? "; the reader got stuck" : "");
		ksft_test_result(c.rounds == rounds && !c.stale && !c.stuck,
				 "%s: no queued fault after UFFDIO_UNREGISTER\n", mem_name[m]);
	}
	finish_tests();
}
