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
 *     LEN bytes (ZP_LEN for ZEROPAGE on anon, which costs little per
 *     page), another thread, on another CPU, sends the caller SIGUSR1
 *     every SEND_NS.  At least 3 must have been sent while the caller was
 *     in the ioctl and the handler must have run (so a signal was, almost
 *     surely, pending while the ioctl ran), and the ioctl must still have
 *     done the whole range: 0, the count equal to the length, every page
 *     with its bytes.  A loop that stopped for any pending signal would
 *     return a short count with EAGAIN (or EINTR).  COPY and ZEROPAGE on
 *     anon, COPY and CONTINUE on shared shmem (ours batches the anon ones
 *     and CONTINUE), COPY on hugetlb.  Skipped with one CPU.
 *   - "<OP> shmem: killed in the middle": a child fills a shared memfd of
 *     KILL_LEN bytes with one ioctl and is killed with SIGKILL before the
 *     ioctl returns (it says so through a pipe when it does; the delay
 *     adapts until a try lands in the middle, at most MAX_TRIES tries).
 *     COPY and ZEROPAGE: the file must hold exactly a prefix of the range
 *     (SEEK_HOLE, SEEK_DATA), each page with its bytes or zeroes.
 *     CONTINUE (batched in ours, a run of page cache folios locked at a
 *     time): the child's mapped shmem (Pss_Shmem of smaps_rollup, read
 *     just before the kill) shows it was in the middle, and afterwards
 *     the whole file reads back with its bytes (a folio left locked would
 *     block the read).  Then Shmem in /proc/meminfo must be back to its
 *     start value once the file is gone: a file, inode or page cache
 *     accounting left behind, not a leaked folio reference, which Shmem
 *     does not count.
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
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"
#include "uffd-fill.h"

#define LEN		(32UL << 20)	/* bytes of a signal row's ioctl */
#define ZP_LEN		(128UL << 20)	/* the same for ZEROPAGE on anon */
#define KILL_LEN	(128UL << 20)	/* bytes of a kill row's memfd */
#define MAX_TRIES	12
#define SEND_NS		20000		/* between two signals */

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

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Sends the caller SIGUSR1 every SEND_NS while it is in the ioctl (on
 * another CPU; spinning, not sleeping, between two).  Paced, so that the
 * caller can get from one handler back to its system call.
 */
static void *sender(void *arg)
{
	(void)arg;
	while (!stop_sender) {
		long long next = now_ns() + SEND_NS;

		if (in_ioctl && !pthread_kill(caller, SIGUSR1) && in_ioctl)
			sends++;
		while (!stop_sender && now_ns() < next)
			;
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
	} else if (op == CONTINUE) {
		struct uffdio_continue c = {
			.range = { .start = (unsigned long)dst, .len = len },
		};

		o.rc = ioctl(uffd, UFFDIO_CONTINUE, &c);
		o.result = c.mapped;
	} else {
		o.rc = -1;
		errno = EINVAL;
	}
	o.err = o.rc ? errno : 0;
	return o;
}

/*
 * A uffd registered over @p for @op on @mem: the fd, -1 with errno set, or
 * -2 when the kernel does not offer it (EINVAL).
 */
static int uffd_for(enum mem mem, enum op op, char *p, size_t len)
{
	int uffd = uffd_open(), err;

	if (uffd < 0)
		return -1;
	if (uffd_api(uffd, features_for(mem, op), NULL) ||
	    uffd_register(uffd, p, len, op != CONTINUE, 0, op == CONTINUE)) {
		err = errno;
		close(uffd);
		errno = err;
		return err == EINVAL ? -2 : -1;
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
	size_t len = mem == ANON && op == ZEROPAGE ? ZP_LEN : LEN;
	size_t n = ps ? len / ps : 0;
	int flags = mem == ANON ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED;
	char desc[96], msg[160] = "";
	const char *why = NULL;
	struct outcome o = { 0 };
	char *src, *dst = MAP_FAILED;
	int memfd = -1, uffd = -1;
	pthread_t t;

	snprintf(desc, sizeof(desc), "%s %s: signals during the ioctl", op_name[op],
		 mem_name[mem]);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		ksft_test_result_skip("%s: one CPU, the sender would not run\n", desc);
		return;
	}
	if (mem == HUGETLB && (!n || len % ps)) {
		ksft_test_result_skip("%s: no huge page size that divides %zu bytes\n", desc,
				      len);
		return;
	}
	if (mem == HUGETLB && (size_t)get_free_hugepages() < n) {
		ksft_test_result_skip("%s: fewer than %zu free huge pages\n", desc, n);
		return;
	}
	src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (src == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	for (size_t i = 0; i < n; i++)
		memset(src + i * ps, pat(i), ps);
	if (mem != ANON) {
		memfd = memfd_create("uffd-fill-signal",
				     MFD_CLOEXEC | (mem == HUGETLB ? MFD_HUGETLB : 0));
		if (memfd < 0 || ftruncate(memfd, len))
			ksft_exit_fail_msg("memfd: %s\n", strerror(errno));
		/* CONTINUE maps what the page cache holds */
		if (op == CONTINUE && pwrite(memfd, src, len, 0) != (ssize_t)len)
			ksft_exit_fail_msg("pwrite: %s\n", strerror(errno));
	}
	dst = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, memfd, 0);
	if (dst == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	madvise(dst, len, MADV_NOHUGEPAGE);
	uffd = uffd_for(mem, op, dst, len);
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
	/* Let the sender start before the ioctl begins */
	usleep(1000);
	in_ioctl = 1;
	o = fill(uffd, op, dst, src, len);
	in_ioctl = 0;
	stop_sender = 1;
	pthread_join(t, NULL);

	if (o.rc || o.result != (long long)len)
		why = "the ioctl stopped before the end of the range";
	else if (!hits || sends < 3)
		why = "fewer than 3 signals sent during the ioctl (too fast to test)";
	for (size_t i = 0; !why && i < n; i++)
		if (!page_ok(dst, ps, i, op))
			why = "a page does not hold its bytes";
	snprintf(msg, sizeof(msg),
		 "rc=%d errno=%d result=%lld of %zu, %lu signals sent, handler ran %d times",
		 o.rc, o.err, o.result, len, sends, (int)hits);
	if (!quiet || why)
		ksft_print_msg("%s: %s\n", desc, msg);
	ksft_test_result(!why, "%s%s%s\n", desc, why ? ": " : "", why ? why : "");
out:
	if (uffd >= 0)
		close(uffd);
	munmap(dst, len);
	munmap(src, len);
	if (memfd >= 0)
		close(memfd);
}

/* The kB after "@key:" in /proc/@pid/smaps_rollup, or -1. */
static long rollup_kb(pid_t pid, const char *key)
{
	char path[64], buf[4096], *at;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	at = strstr(buf, key);
	return at && at[strlen(key)] == ':' ? strtol(at + strlen(key) + 1, NULL, 10) : -1;
}

/*
 * One try of a kill row: a child fills @memfd with @op and is killed
 * @delay_us after it says it starts.  *@k gets the pages the child had
 * filled (COPY, ZEROPAGE: the file's prefix) or mapped just before the
 * kill (CONTINUE), *@returned whether its ioctl returned first.  NULL, or
 * what is wrong with the file.
 */
static const char *kill_try(int memfd, enum op op, char *src, long delay_us, size_t *k,
			    int *returned)
{
	size_t ps = getpagesize();
	int pipefd[2], status;
	off_t hole, data;
	char *view, c;
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
		/* Too late: the parent must know */
		if (write(pipefd[1], "d", 1) != 1)
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	*k = 0;
	if (read(pipefd[0], &c, 1) == 1) {
		if (delay_us)
			usleep(delay_us);
		if (op == CONTINUE) {
			long kb = rollup_kb(pid, "Pss_Shmem");

			*k = kb > 0 ? kb * 1024 / ps : 0;
		}
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &status, 0) != pid)
		ksft_exit_fail_msg("waitpid: %s\n", strerror(errno));
	*returned = read(pipefd[0], &c, 1) == 1;
	close(pipefd[0]);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		return "the child could not register";

	if (op == CONTINUE) {
		/* Every page reads back; a folio left locked would block here */
		char buf[1 << 16];

		for (off_t off = 0; off < (off_t)KILL_LEN; off += sizeof(buf)) {
			if (pread(memfd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf))
				return "the file does not read back";
			for (size_t i = 0; i < sizeof(buf) / ps; i++) {
				char want = pat(off / ps + i);

				if (buf[i * ps] != want || buf[i * ps + ps - 1] != want)
					return "a page of the file changed";
			}
		}
		return NULL;
	}
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

/* Index of "Shmem" in uffd-fill.h's counters[]. */
static int shmem_counter(void)
{
	for (int i = 0; i < NR_COUNTERS; i++)
		if (!strcmp(counters[i], "Shmem"))
			return i;
	ksft_exit_fail_msg("no Shmem counter\n");
}

/* Whether Shmem is back to @before kB, re-read for up to 0.1 s. */
static int shmem_back(long before, long *after)
{
	long v[NR_COUNTERS];
	int i = shmem_counter();

	for (int t = 0; t < 50; t++) {
		read_counters(v);
		*after = v[i];
		if (v[i] <= before)
			return 1;
		usleep(2000);
	}
	return 0;
}

static void kill_row(enum op op)
{
	size_t ps = getpagesize(), n = KILL_LEN / ps, k = 0;
	long before[NR_COUNTERS], after = 0, delay_us = 2000;
	const char *why = NULL;
	char desc[96];
	char *src;
	int tries = 0, middle = 0, returned = 0;

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
		/* CONTINUE maps what the page cache holds */
		if (op == CONTINUE && pwrite(memfd, src, KILL_LEN, 0) != (ssize_t)KILL_LEN)
			ksft_exit_fail_msg("pwrite: %s\n", strerror(errno));
		why = kill_try(memfd, op, src, delay_us, &k, &returned);
		close(memfd);
		if (!why && !shmem_back(before[shmem_counter()], &after)) {
			ksft_print_msg("%s: Shmem %ld kB before, %ld kB after\n", desc,
				       before[shmem_counter()], after);
			why = "Shmem did not come back (leak)";
		}
		if (!quiet || why)
			ksft_print_msg("%s: try %d, kill after %ld us: %zu of %zu pages %s%s\n",
				       desc, tries, delay_us, k, n,
				       op == CONTINUE ? "mapped" : "filled",
				       returned ? ", the ioctl had returned" : "");
		/* Too early: wait longer; too late: kill sooner */
		middle = k > 0 && k < n && !returned;
		if (!k)
			delay_us = delay_us * 2 + 1000;
		else if (returned || k == n)
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
	ksft_set_plan(8);
	/* No SA_RESTART: a loop that gave up for a signal would show */
	if (sigaction(SIGUSR1, &sa, NULL))
		ksft_exit_fail_msg("sigaction: %s\n", strerror(errno));
	huge_ps = default_huge_page_size();

	signal_row(ANON, COPY);
	signal_row(ANON, ZEROPAGE);
	signal_row(SHMEM, COPY);
	signal_row(SHMEM, CONTINUE);
	signal_row(HUGETLB, COPY);
	kill_row(COPY);
	kill_row(ZEROPAGE);
	kill_row(CONTINUE);
	finish_tests();
}
