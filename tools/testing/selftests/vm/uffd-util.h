/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the userfaultfd selftests in this directory and the benchmarks in
 * bench/ (which include it as "../uffd-util.h") share, beyond the kernel's
 * own selftest helpers.
 *
 * It includes kselftest.h and upstream's mm/vm_util.h, whose helpers the
 * programs use directly: pagemap_get_entry() and the PM_* bits,
 * default_huge_page_size(), get_free_hugepages(), psize(), uffd_register()
 * and uffd_unregister().  The Makefile links mm/vm_util.c into every
 * program.  vm_util.h has no include guard: include it through this header
 * only.
 *
 * Include it after the system headers, with _GNU_SOURCE defined.  The
 * helpers return what the system call returned (-1 with errno set on
 * failure) and leave the reporting to the caller; only the benchmark
 * helpers at the end exit on failure.
 */
#ifndef _UFFD_RS_UFFD_UTIL_H
#define _UFFD_RS_UFFD_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "mm/vm_util.h"

/*
 * The end of a test program: the plan, printed last when it was not set up
 * front, the totals, and the exit status: KSFT_FAIL when a test failed or
 * the plan was not kept, KSFT_SKIP when every test was skipped, else
 * KSFT_PASS.
 */
static inline __noreturn void finish_tests(void)
{
	unsigned int n = ksft_test_num();

	if (!ksft_plan)
		ksft_set_plan(n);
	if (ksft_get_fail_cnt() || ksft_get_error_cnt() || ksft_plan != n)
		ksft_exit_fail();
	if (n && (unsigned int)ksft_get_xskip_cnt() == n) {
		ksft_print_cnts();
		exit(KSFT_SKIP);
	}
	ksft_exit_pass();
}

/*
 * A non-blocking userfaultfd: from the syscall, or from /dev/userfaultfd
 * where the syscall is refused.  -1 (errno set) when neither works.
 */
static inline int uffd_open(void)
{
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			close(dev);
		}
	}
	return fd;
}

/*
 * The UFFDIO_API handshake, asking for @features.  On success *@offered
 * (unless NULL) gets the features the kernel offers.
 */
static inline int uffd_api(int uffd, uint64_t features, uint64_t *offered)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };

	if (ioctl(uffd, UFFDIO_API, &api))
		return -1;
	if (offered)
		*offered = api.features;
	return 0;
}

/* UFFDIO_WRITEPROTECT of @len bytes at @p: protect if @on, else un-protect. */
static inline int uffd_writeprotect(int uffd, void *p, size_t len, int on)
{
	struct uffdio_writeprotect w = {
		.range = { .start = (unsigned long)p, .len = len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &w);
}

/*
 * Waits up to @ms (a poll() timeout) for a message and reads it into @msg:
 * 1 when one was read, 0 when none came, -1 on error.
 */
static inline int uffd_read_msg(int uffd, struct uffd_msg *msg, int ms)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	int n = poll(&pfd, 1, ms);

	if (n <= 0)
		return n;
	return read(uffd, msg, sizeof(*msg)) == sizeof(*msg) ? 1 : -1;
}

/* Writes @s to the file at @path (sysfs, procfs): 0, or -1 with errno set. */
static inline int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/*
 * Reads the file at @path (sysfs, procfs, cgroupfs) into @buf, at most
 * @len - 1 bytes, NUL-terminated: 0, or -1 with errno set.
 */
static inline int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* The kB of @field in the smaps entry of the mapping holding @p; -1 if none. */
static inline long smaps_kb(const void *p, const char *field)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	size_t flen = strlen(field);
	unsigned long s, e;
	char line[256];
	int in = 0;
	long kb = -1;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &s, &e) == 2) {
			in = s <= (uintptr_t)p && (uintptr_t)p < e;
			continue;
		}
		if (in && !strncmp(line, field, flen) && line[flen] == ':') {
			if (sscanf(line + flen + 1, "%ld", &kb) != 1)
				kb = -1;
			break;
		}
	}
	if (f)
		fclose(f);
	return kb;
}

/* pthread_join() that gives up after @seconds: 0, or an error number. */
static inline int join_within(pthread_t t, int seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += seconds;
	return pthread_timedjoin_np(t, NULL, &ts);
}

/* Bytes that differ from page to page and from their neighbours. */
static inline void fill_pattern(char *p, size_t len, unsigned int seed)
{
	uint64_t *w = (uint64_t *)p;

	for (size_t i = 0; i < len / sizeof(*w); i++)
		w[i] = (i + seed) * 0x9e3779b97f4a7c15ULL;
}

static sigjmp_buf uffd_sigbus_jmp;
static volatile sig_atomic_t uffd_sigbus_armed;

/* A SIGBUS outside read_sigbus()/write_sigbus() is a failure: say so, exit. */
static inline void uffd_sigbus_handler(int sig)
{
	static const char msg[] = "# unexpected SIGBUS (a poisoned page?)\n";

	(void)sig;
	if (!uffd_sigbus_armed) {
		if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
			_exit(1);
		_exit(1);
	}
	uffd_sigbus_armed = 0;
	siglongjmp(uffd_sigbus_jmp, 1);
}

/* Installs the SIGBUS handler that read_sigbus() needs: 0, or -1. */
static inline int catch_sigbus(void)
{
	struct sigaction sa = { .sa_handler = uffd_sigbus_handler };

	return sigaction(SIGBUS, &sa, NULL);
}

/*
 * 1 when reading the byte at @p raises SIGBUS (a poisoned page), 0 when it
 * reads; catch_sigbus() first.
 */
static inline int read_sigbus(volatile char *p)
{
	if (sigsetjmp(uffd_sigbus_jmp, 1))
		return 1;
	uffd_sigbus_armed = 1;
	(void)*p;
	uffd_sigbus_armed = 0;
	return 0;
}

/* 1 when writing @v at @p raises SIGBUS, 0 when it is written. */
static inline int write_sigbus(volatile char *p, char v)
{
	if (sigsetjmp(uffd_sigbus_jmp, 1))
		return 1;
	uffd_sigbus_armed = 1;
	*p = v;
	uffd_sigbus_armed = 0;
	return 0;
}

#ifdef BENCH_NAME
/*
 * For the benchmarks, which define BENCH_NAME (their name, for the error
 * messages) before including this header.  These exit on failure.
 */

/* Exits with "BENCH_NAME: @what: <errno text>" on stderr. */
static inline void die(const char *what)
{
	fprintf(stderr, BENCH_NAME ": %s: %s\n", what, strerror(errno));
	exit(1);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Instruction profiles (scripts/profile.sh).  With UFFD_PROFILE=<row> in
 * the environment, the timed regions of that row are framed by two marker
 * NOPs which the QEMU plugin scripts/profile/uffd-prof.c counts between,
 * and a "# profile <row>: W windows, U units" line at exit says over how
 * many units (what the row's figure is per: pages, 2M pages, faults,
 * calls) the windows ran.  prof_row() names the row that the timed regions
 * after it belong to; prof_start() goes before a region's first now_ns(),
 * prof_stop() after its second, outside what is timed: the figures are the
 * same with and without profiling, which costs nothing but the getenv()
 * at startup when off.  The markers (the plugin knows them by their bytes):
 *   nopl 0x2b525055(%rax)   0f 1f 80 55 50 52 2b   start ("UPR+")
 *   nopl 0x2d525055(%rax)   0f 1f 80 55 50 52 2d   stop  ("UPR-")
 */
static const char *prof_want;	/* UFFD_PROFILE, or NULL */
static int prof_on;		/* the current row is prof_want */
static unsigned long prof_windows, prof_units;

static void prof_report(void)
{
	printf("# profile %s: %lu windows, %lu units\n", prof_want,
	       prof_windows, prof_units);
}

__attribute__((constructor)) static void prof_init(void)
{
	prof_want = getenv("UFFD_PROFILE");
	if (prof_want && !*prof_want)
		prof_want = NULL;
	if (prof_want)
		atexit(prof_report);
}

static inline void prof_row(const char *row)
{
	prof_on = prof_want && !strcmp(prof_want, row);
}

/* The markers are x86 NOPs: elsewhere there is no plugin to count. */
static inline void prof_start(void)
{
#if defined(__x86_64__) || defined(__i386__)
	if (prof_on)
		__asm__ volatile(".byte 0x0f, 0x1f, 0x80, 0x55, 0x50, 0x52, 0x2b" ::: "memory");
#endif
}

/* Closes the window, which covered @units units of the row. */
static inline void prof_stop(size_t units)
{
	if (prof_on) {
#if defined(__x86_64__) || defined(__i386__)
		__asm__ volatile(".byte 0x0f, 0x1f, 0x80, 0x55, 0x50, 0x52, 0x2d" ::: "memory");
#endif
		prof_windows++;
		prof_units += units;
	}
}

/* The median of the @n values at @v (which it sorts). */
static inline double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/*
 * The huge pages a hugetlb row uses: @want, or fewer when the environment
 * sets UFFD_BENCH_HPAGES (host runs, where the pool is small).
 */
static inline size_t hpages(size_t want)
{
	const char *s = getenv("UFFD_BENCH_HPAGES");
	long n = s ? atol(s) : 0;

	return n > 0 && (size_t)n < want ? (size_t)n : want;
}

/* Free 2M huge pages, or 0 when there is no 2M hstate. */
static inline long free_2m_hugepages(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");
	long n = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

/*
 * Features the kernel offers (a throw-away uffd: UFFDIO_API works once);
 * prints a SKIP line and exits 4 when there is no userfaultfd.
 */
static inline __u64 uffd_features(void)
{
	uint64_t features = 0;
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC);

	if (fd < 0) {
		printf("# SKIP: userfaultfd unavailable: %s\n", strerror(errno));
		exit(4);
	}
	if (uffd_api(fd, 0, &features))
		die("UFFDIO_API");
	close(fd);
	return features;
}

/* A blocking uffd with @features enabled (round-trip handlers block in read()). */
static inline int new_uffd(uint64_t features)
{
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC);

	if (fd < 0 || uffd_api(fd, features, NULL))
		die("userfaultfd");
	return fd;
}

/* vm_util's uffd_register() in @mode (UFFDIO_REGISTER_MODE_*), or die. */
static inline void reg(int uffd, char *p, size_t len, uint64_t mode)
{
	if (uffd_register(uffd, p, len, mode & UFFDIO_REGISTER_MODE_MISSING,
			  mode & UFFDIO_REGISTER_MODE_WP, mode & UFFDIO_REGISTER_MODE_MINOR))
		die("UFFDIO_REGISTER");
}

/* uffd_writeprotect(), or die. */
static inline void wp(int uffd, char *p, size_t len, int on)
{
	if (uffd_writeprotect(uffd, p, len, on))
		die("UFFDIO_WRITEPROTECT");
}

/*
 * Private anon without THP: the guest runs THP=always, and a huge page
 * would change what is measured.  Best effort (EINVAL without THP).
 */
static inline char *map_anon(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap anon");
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

/* A MAP_SHARED mapping of the first @len bytes of @fd. */
static inline char *map_shared(int fd, size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap shared");
	return p;
}

/* A memfd of @len bytes, MFD_CLOEXEC | @flags. */
static inline int new_memfd(const char *name, unsigned int flags, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | flags);

	if (fd < 0)
		die("memfd_create");
	if (ftruncate(fd, len))
		die("ftruncate");
	return fd;
}
#endif /* BENCH_NAME */

#endif /* _UFFD_RS_UFFD_UTIL_H */
