// SPDX-License-Identifier: GPL-2.0
/*
 * Signals in the middle of a long fill.
 *
 * The fill loops (mfill_atomic() and mfill_atomic_hugetlb() in 6.12's C,
 * the page loop of mm/userfaultfd_rs/fill.rs in ours) stop for a fatal
 * signal only, and only between two pages: the pages before stay filled,
 * and the caller, being killed, never sees the count.  Any other signal
 * waits until the ioctl returns.  Two kinds of rows:
 *   - "<OP> <mem>: signals during the ioctl": while one ioctl fills
 *     LEN bytes, another thread sends the caller SIGUSR1 back to back.
 *     At least 3 must have been sent during the ioctl and the handler must
 *     have run (a signal was pending while the ioctl ran), and the ioctl
 *     must still have done the whole range: 0, the count equal to the
 *     length, every page with its bytes.
 *     A loop that stopped for any pending signal would return a short
 *     count with EAGAIN (or EINTR).  COPY and ZEROPAGE on anon (COPY is
 *     batched in ours), COPY and CONTINUE on shared shmem, COPY on
 *     hugetlb.
 *   - "<OP> shmem: killed in the middle": a child fills a shared memfd of
 *     KILL_LEN bytes with one ioctl and is killed with SIGKILL meanwhile
 *     (the delay adapts until a try lands in the middle, at most
 *     MAX_TRIES tries).  The file must then hold exactly a prefix of the
 *     range (SEEK_HOLE, SEEK_DATA), each page with its bytes (COPY) or
 *     zeroes (ZEROPAGE), and Shmem in /proc/meminfo must be back to its
 *     start value once the file is gone.
 * Skips what the kernel does not offer (MINOR on shmem, hugetlb without
 * enough free huge pages).  With -q only the KTAP lines are printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"
#include "uffd-fill.h"

#define LEN		(32UL << 20)	/* bytes of a signal row's ioctl */
#define KILL_LEN	(128UL << 20)	/* bytes of a kill row's memfd */
#define MAX_TRIES	12
#define SHMEM_IDX	1		/* "Shmem" in uffd-fill.h's counters[] */

static int quiet;
static pthread_t caller;
static volatile sig_atomic_t in_ioctl, hits;
static volatile int stop_sender;
static volatile unsigned long sends;	/* while the caller was in the ioctl */

/* The byte every byte of page @i of a range holds: never 0. */
static char pat(size_t i)
{
	return (char)(1 + i % 251);
}

static void on_usr1(int sig)
{
	(void)sig;
	if (in_ioctl)
		hits++;
}

/*
 * Sends the caller SIGUSR1 back to back while it is in the ioctl (on
 * another CPU): the first may land just before the system call, the next
 * ones while it runs.
 */
static void *sender(void *arg)
{
	(void)arg;
	while (!stop_sender) {
		if (in_ioctl && !pthread_kill(caller, SIGUSR1) && in_ioctl)
			sends++;
	}
	return NULL;
}

/* @op over [@dst, @dst + @len) from @src: the ioctl's outcome. */
static struct outcome fill(int uffd, enum op op, char *dst, char *src, size_t len)
{
	struct outcome o = { 0 };

	if (op == COPY) {
		struct uffdio_copy c = {
			.dst = (unsigned long)dst, .src = (unsigned long)src, .len = len,
		};

		o.rc = ioctl(uffd, UFFDIO_COPY, &c);
		o.result = c.copy;
	} else if (op == ZEROPAGE) {
		struct uffdio_zeropage z = {
			.range = { .start = (unsigned long)dst, .len = len },
		};

		o.rc = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
		o.result = z.zeropage;
	} else {
		struct uffdio_continue c = {
			.range = { .start = (unsigned long)dst, .len = len },
		};

		o.rc = ioctl(uffd, UFFDIO_CONTINUE, &c);
		o.result = c.mapped;
	}
	o.err = o.rc ? errno : 0;
	return o;
}

/* A uffd registered over @p for @op on @mem: the fd, -1, or -2 if not offered. */
static int uffd_for(enum mem mem, enum op op, char *p, size_t len)
{
	int uffd = uffd_open();

	if (uffd < 0)
		return -1;
	if (uffd_api(uffd, features_for(mem, op), NULL) ||
	    uffd_register(uffd, p, len, op != CONTINUE, 0, op == CONTINUE)) {
		close(uffd);
		return -2;
	}
	return uffd;
}

/* Whether page @i of @p holds what @op puts there (first and last byte). */
static int page_ok(const char *p, size_t ps, size_t i, enum op op)
{
	char want = op == ZEROPAGE ? 0 : pat(i);

	return p[i * ps] == want && p[i * ps + ps - 1] == want;
}

static void signal_row(enum mem mem, enum op op)
{
	size_t ps = mem == HUGETLB ? huge_ps : (size_t)getpagesize();
	size_t n = LEN / ps;
	int flags = mem == ANON ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED;
	char desc[96], msg[160] = "";
	const char *why = NULL;
	struct outcome o = { 0 };
	char *src, *dst = MAP_FAILED;
	int memfd = -1, uffd = -1;
	pthread_t t;

	snprintf(desc, sizeof(desc), "%s %s: signals during the ioctl", op_name[op],
		 mem_name[mem]);
	if (mem == HUGETLB && (size_t)get_free_hugepages() < n) {
		ksft_test_result_skip("%s: fewer than %zu free huge pages\n", desc, n);
		return;
	}
	src = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (size_t i = 0; i < n; i++)
		memset(src + i * ps, pat(i), ps);
	if (mem != ANON) {
		memfd = memfd_create("uffd-fill-signal",
				     MFD_CLOEXEC | (mem == HUGETLB ? MFD_HUGETLB : 0));
		if (memfd < 0 || ftruncate(memfd, LEN))
			ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
		/* CONTINUE maps what the page cache holds */
		if (op == CONTINUE && pwrite(memfd, src, LEN, 0) != (ssize_t)LEN)
			ksft_exit_fail_msg("pwrite: %s\n", strerror(errno));
	}
	dst = mmap(NULL, LEN, PROT_READ | PROT_WRITE, flags, memfd, 0);
	if (dst == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	madvise(dst, LEN, MADV_NOHUGEPAGE);
	uffd = uffd_for(mem, op, dst, LEN);
	if (uffd == -2) {
		ksft_test_result_skip("%s: not offered\n", desc);
		goto out;
	}
	if (uffd < 0)
		ksft_exit_fail_msg("userfaultfd: %s\n", strerror(errno));

	hits = 0;
	sends = 0;
	stop_sender = 0;
	caller = pthread_self();
	if (pthread_create(&t, NULL, sender, NULL))
		ksft_exit_fail_msg("pthread_create\n");
	/* Let the sender start polling before the ioctl begins */
	usleep(1000);
	in_ioctl = 1;
	o = fill(uffd, op, dst, src, LEN);
	in_ioctl = 0;
	stop_sender = 1;
	pthread_join(t, NULL);

	if (o.rc || o.result != (long long)LEN)
		why = "the ioctl stopped before the end of the range";
	else if (!hits || sends < 3)
		why = "fewer than 3 signals sent during the ioctl (too fast to test)";
	for (size_t i = 0; !why && i < n; i++)
		if (!page_ok(dst, ps, i, op))
			why = "a page does not hold its bytes";
	snprintf(msg, sizeof(msg),
		 "rc=%d errno=%d result=%lld of %lu, %lu signals sent, handler ran %d times",
		 o.rc, o.err, o.result, LEN, sends, (int)hits);
	if (!quiet || why)
		ksft_print_msg("%s: %s\n", desc, msg);
	ksft_test_result(!why, "%s%s%s\n", desc, why ? ": " : "", why ? why : "");
out:
	if (uffd >= 0)
		close(uffd);
	munmap(dst, LEN);
	munmap(src, LEN);
	if (memfd >= 0)
		close(memfd);
}

/*
 * One try of a kill row: a child fills @memfd with @op and is killed
 * @delay_us after it says it starts.  The pages of the prefix in *@k.
 * NULL, or what is wrong with the file.
 */
static const char *kill_try(int memfd, enum op op, char *src, long delay_us, size_t *k)
{
	size_t ps = getpagesize();
	int pipefd[2], status;
	off_t hole, data;
	char *view;
	pid_t pid;

	if (pipe(pipefd))
		ksft_exit_fail_msg("pipe: %s\n", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	if (!pid) {
		char *dst = mmap(NULL, KILL_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		int uffd = dst == MAP_FAILED ? -1 : uffd_for(SHMEM, op, dst, KILL_LEN);

		if (uffd < 0)
			_exit(2);
		if (write(pipefd[1], "g", 1) != 1)
			_exit(2);
		fill(uffd, op, dst, src, KILL_LEN);
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &status, 1) == 1) {
		if (delay_us)
			usleep(delay_us);
		kill(pid, SIGKILL);
	}
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid)
		ksft_exit_fail_msg("waitpid: %s\n", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		return "the child could not register";

	/* The filled pages: [0, hole), and no data after the first hole */
	hole = lseek(memfd, 0, SEEK_HOLE);
	if (hole < 0 || hole % ps)
		return "SEEK_HOLE failed";
	*k = hole / ps;
	data = hole < (off_t)KILL_LEN ? lseek(memfd, hole, SEEK_DATA) : -1;
	if (data >= 0 || (hole < (off_t)KILL_LEN && errno != ENXIO))
		return "a page after the first hole is filled";
	if (!*k)
		return NULL;
	view = mmap(NULL, *k * ps, PROT_READ, MAP_SHARED, memfd, 0);
	if (view == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (size_t i = 0; i < *k; i++)
		if (!page_ok(view, ps, i, op)) {
			munmap(view, *k * ps);
			return "a filled page does not hold its bytes";
		}
	munmap(view, *k * ps);
	return NULL;
}

static void kill_row(enum op op)
{
	size_t ps = getpagesize(), n = KILL_LEN / ps, k = 0;
	long before[NR_COUNTERS], after[NR_COUNTERS], delay_us = 2000;
	const char *why = NULL;
	char desc[96];
	char *src;
	int tries = 0, middle = 0;

	snprintf(desc, sizeof(desc), "%s shmem: killed in the middle", op_name[op]);
	src = mmap(NULL, KILL_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (size_t i = 0; i < n; i++)
		memset(src + i * ps, pat(i), ps);

	while (!why && !middle && tries++ < MAX_TRIES) {
		int memfd;

		read_counters(before);
		memfd = memfd_create("uffd-fill-signal", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, KILL_LEN))
			ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
		k = 0;
		why = kill_try(memfd, op, src, delay_us, &k);
		close(memfd);
		read_counters(after);
		if (!why && after[SHMEM_IDX] > before[SHMEM_IDX]) {
			ksft_print_msg("%s: Shmem %ld kB before, %ld kB after\n", desc,
				       before[SHMEM_IDX], after[SHMEM_IDX]);
			why = "Shmem did not come back (leak)";
		}
		if (!quiet || why)
			ksft_print_msg("%s: try %d, kill after %ld us: %zu of %zu pages filled\n",
				       desc, tries, delay_us, k, n);
		/* Too early: wait longer; too late: kill sooner */
		middle = k > 0 && k < n;
		if (!k)
			delay_us = delay_us * 2 + 1000;
		else if (k == n)
			delay_us /= 4;
	}
	if (!why && !middle)
		why = "no try killed the child in the middle of the ioctl";
	ksft_test_result(!why, "%s%s%s\n", desc, why ? ": " : "", why ? why : "");
	munmap(src, KILL_LEN);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };

	if (argc > 1 && !strcmp(argv[1], "-q"))
		quiet = 1;
	ksft_print_header();
	ksft_set_plan(7);
	/* No SA_RESTART: a loop that gave up for a signal would show */
	if (sigaction(SIGUSR1, &sa, NULL))
		ksft_exit_fail_msg("sigaction: %s\n", strerror(errno));
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	huge_ps = default_huge_page_size();

	signal_row(ANON, COPY);
	signal_row(ANON, ZEROPAGE);
	signal_row(SHMEM, COPY);
	signal_row(SHMEM, CONTINUE);
	signal_row(HUGETLB, COPY);
	kill_row(COPY);
	kill_row(ZEROPAGE);
	finish_tests();
}
