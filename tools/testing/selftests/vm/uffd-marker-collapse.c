// SPDX-License-Identifier: GPL-2.0
/*
 * No huge-page collapse drops a PTE marker that userfaultfd installed.
 *
 * A 2 MB range is mapped by small pages, one page (MARKED) gets a marker
 * (UFFDIO_POISON, or a uffd-wp marker from UFFDIO_WRITEPROTECT of a none
 * PTE), and then the range is collapsed into a huge page, by MADV_COLLAPSE
 * or by khugepaged with its scan forced.  On shmem, collapsing the file
 * range retracts the PTE tables of the VMAs that map it; on anonymous
 * memory the collapse replaces the table with a huge PMD.  Either way the
 * marker must survive:
 *   - POISON: a read of the page still gets SIGBUS;
 *   - uffd-wp: /proc/self/pagemap still reports the uffd-wp bit;
 *   - the other pages (mapped or not before the collapse) read their bytes.
 * A control row per method and memory type collapses the same range without
 * a marker and checks that it ends up mapped by a PMD: the collapse the
 * marker rows rely on really happens in this kernel.
 *
 * Runs the same on the C and the Rust kernel (both carry the fix of
 * retract_page_tables(), patches/0011).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define HPS	(2UL << 20)	/* PMD size on x86-64, bytes */
#define NR	(HPS / PS)	/* small pages in it */
#define PS	4096UL
#define MARKED	5		/* the page that gets the marker */

#define THP	"/sys/kernel/mm/transparent_hugepage/"
#define KHUGE_IDLE_MS	"600000"	/* between rows: no scan of its own */
#define KHUGE	THP "khugepaged/"

enum mem { ANON, SHMEM };
enum marker { NO_MARKER, POISON, WP };
enum how { COLLAPSE, KHUGEPAGED };

static const char *const mem_name[] = { "anon", "shmem" };
static const char *const marker_name[] = { "no marker", "POISON", "uffd-wp" };
static const char *const how_name[] = { "MADV_COLLAPSE", "khugepaged" };

static int pagemap_fd;

static int sysfs_read(const char *path, char *buf, size_t len)
{
	if (read_file(path, buf, len))
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

/* The setting in brackets of a THP mode file ("always [advise] never"). */
static void sysfs_mode(const char *s, char *mode, size_t len)
{
	const char *b = strchr(s, '['), *e = b ? strchr(b, ']') : NULL;

	snprintf(mode, len, "%.*s", b && e ? (int)(e - b - 1) : 0, b ? b + 1 : "");
}

static long sysfs_long(const char *path)
{
	char buf[64];

	return sysfs_read(path, buf, sizeof(buf)) ? -1 : atol(buf);
}

/* "@what: <errno text>", for a failed system call (one at a time). */
static const char *sys_why(const char *what)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "%s: %s", what, strerror(errno));
	return buf;
}

/* ShmemHugePages of /proc/meminfo in kB, exact (per-CPU counts folded) */
static long shmem_huge_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f;

	write_file("/proc/sys/vm/stat_refresh", "1");
	f = fopen("/proc/meminfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "ShmemHugePages: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* A 2 MB-aligned range of 2 MB with no mapping: reserve and trim. */
static char *aligned_hole(void)
{
	char *p = mmap(NULL, 2 * HPS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (char *)(((unsigned long)p + HPS - 1) & ~(HPS - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + HPS, p + 2 * HPS - (a + HPS));
	return a;
}

static char byte_of(size_t page)
{
	return (char)(page * 7 + 1);
}

/*
 * Maps the 2 MB range at a 2 MB-aligned address, by small pages: every page
 * but MARKED is populated (shmem: written with pwrite(), then, unless
 * @alone, mapped by a read; anon: written with THP off for the VMA).
 * Returns NULL on failure, with *@why set.
 */
static char *map_range(enum mem mem, int alone, int *memfd, const char **why)
{
	char *a = aligned_hole(), *p;
	char page[PS];

	*memfd = -1;
	if (!a) {
		*why = sys_why("mmap");
		return NULL;
	}
	if (mem == SHMEM) {
		*memfd = memfd_create("uffd-marker-collapse", MFD_CLOEXEC);
		if (*memfd < 0 || ftruncate(*memfd, HPS)) {
			*why = sys_why("memfd");
			return NULL;
		}
		/* Written through the file: small folios whatever the VMA says */
		for (size_t i = 0; i < NR; i++) {
			memset(page, byte_of(i), PS);
			if (pwrite(*memfd, page, PS, i * PS) != PS) {
				*why = sys_why("pwrite");
				return NULL;
			}
		}
		p = mmap(a, HPS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, *memfd, 0);
	} else {
		p = mmap(a, HPS, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != MAP_FAILED && madvise(p, HPS, MADV_NOHUGEPAGE))
			p = MAP_FAILED;
	}
	if (p == MAP_FAILED) {
		*why = sys_why("mmap");
		return NULL;
	}
	for (size_t i = 0; i < NR && !alone; i++) {
		if (i == MARKED)
			continue;
		if (mem == SHMEM)
			(void)*(volatile char *)(p + i * PS);
		else
			memset(p + i * PS, byte_of(i), PS);
	}
	/* Fault-around may have mapped MARKED with its neighbours: unmap it */
	if (madvise(p + MARKED * PS, PS, MADV_DONTNEED)) {
		*why = sys_why("MADV_DONTNEED");
		return NULL;
	}
	if (madvise(p, HPS, MADV_HUGEPAGE)) {
		*why = sys_why("MADV_HUGEPAGE");
		return NULL;
	}
	return p;
}

/*
 * Registers the range with a new userfaultfd and installs @marker on page
 * MARKED.  Returns the userfaultfd, -1 on failure (*@why set), -2 when the
 * kernel does not offer what the marker needs.
 */
static int install_marker(char *p, enum mem mem, enum marker marker, const char **why)
{
	uint64_t need = UFFD_FEATURE_POISON;
	int uffd = uffd_open();

	/* A none PTE gets a marker: on anon only with WP_UNPOPULATED */
	if (marker == WP)
		need = mem == SHMEM ? UFFD_FEATURE_WP_HUGETLBFS_SHMEM :
				      UFFD_FEATURE_WP_UNPOPULATED;
	if (uffd < 0) {
		*why = sys_why("userfaultfd");
		return -1;
	}
	if (uffd_api(uffd, need, NULL)) {
		close(uffd);
		return -2;
	}
	if (uffd_register(uffd, p, HPS, true, marker == WP, false)) {
		*why = sys_why("UFFDIO_REGISTER");
		close(uffd);
		return -1;
	}
	if (marker == POISON) {
		struct uffdio_poison po = {
			.range = { .start = (unsigned long)p + MARKED * PS, .len = PS },
		};

		if (ioctl(uffd, UFFDIO_POISON, &po)) {
			*why = sys_why("UFFDIO_POISON");
			close(uffd);
			return -1;
		}
	} else if (uffd_writeprotect(uffd, p + MARKED * PS, PS, 1) ||
		   !(pagemap_get_entry(pagemap_fd, p + MARKED * PS) & PM_UFFD_WP)) {
		*why = "UFFDIO_WRITEPROTECT of a none PTE left no marker";
		close(uffd);
		return -1;
	}
	return uffd;
}

/*
 * Wakes khugepaged (idle between rows) and waits for three full scans (the
 * first may have begun before the wake-up; of the two after it, one
 * collapses the page cache and the other revisits the mapping), at most
 * 30 s; then idles it again.  0 when the scans happened.
 */
static int khugepaged_scans(void)
{
	long start = sysfs_long(KHUGE "full_scans");
	int ret = -1;

	/* khugepaged sleeps between rows, so that it cannot collapse early */
	write_file(KHUGE "scan_sleep_millisecs", "10");
	for (int i = 0; i < 3000; i++) {
		if (sysfs_long(KHUGE "full_scans") >= start + 3) {
			ret = 0;
			break;
		}
		usleep(10000);
	}
	write_file(KHUGE "scan_sleep_millisecs", KHUGE_IDLE_MS);
	return ret;
}

/* Each page but MARKED reads its byte (anon pages never written read 0). */
static int neighbours_ok(const char *p)
{
	for (size_t i = 0; i < NR; i++)
		if (i != MARKED && p[i * PS] != byte_of(i))
			return 0;
	return 1;
}

/*
 * One row: @marker on page MARKED of @mem, the range collapsed by @how; on
 * shmem, the other pages mapped too unless @alone.
 */
static void run_case(enum mem mem, enum marker marker, enum how how, int alone)
{
	const char *why = NULL;
	char desc[128];
	int memfd, uffd = -1, ok;
	long huge_before;
	char *p;

	snprintf(desc, sizeof(desc), "%s, %s%s, %s", mem_name[mem], marker_name[marker],
		 alone ? " alone" : "", how_name[how]);
	huge_before = shmem_huge_kb();
	p = map_range(mem, alone, &memfd, &why);
	if (!p)
		goto fail;
	if (marker != NO_MARKER) {
		uffd = install_marker(p, mem, marker, &why);
		if (uffd == -2) {
			ksft_test_result_skip("%s: the marker's feature is not offered\n", desc);
			goto out;
		}
		if (uffd < 0)
			goto fail;
	}
	if (how == COLLAPSE) {
		int rc, tries = 0;

		/* EAGAIN: a page was busy (locked, off the LRU); try again */
		do {
			rc = madvise(p, HPS, MADV_COLLAPSE);
		} while (rc && errno == EAGAIN && ++tries < 10 && !usleep(100000));

		/*
		 * Without a marker it must work; with one the range may stay
		 * PTE-mapped (EINVAL), but nothing else may go wrong
		 */
		if (rc && (marker == NO_MARKER || errno != EINVAL)) {
			why = sys_why("MADV_COLLAPSE");
			goto fail;
		}
		ksft_print_msg("%s: MADV_COLLAPSE returned %d (%s)\n", desc, rc,
			       rc ? strerror(errno) : "ok");
	} else if (khugepaged_scans()) {
		why = "khugepaged did not finish three scans in 30 s";
		goto fail;
	}

	/* The file range did become one huge page: the row tests a collapse */
	if (mem == SHMEM && shmem_huge_kb() < huge_before + (long)(HPS >> 10)) {
		why = "the file range was not collapsed";
		goto fail;
	}
	if (!neighbours_ok(p)) {
		why = "a page next to the marker lost its bytes";
		goto fail;
	}
	switch (marker) {
	case NO_MARKER:
		/* A read maps the huge page by a PMD where the table is gone */
		(void)*(volatile char *)(p + MARKED * PS);
		ok = smaps_kb(p, mem == SHMEM ? "ShmemPmdMapped" : "AnonHugePages") ==
		     HPS >> 10;
		why = "the range is not mapped by a PMD after the collapse";
		break;
	case POISON:
		ok = read_sigbus(p + MARKED * PS);
		why = "the poisoned page reads without SIGBUS: the marker was dropped";
		break;
	default:
		ok = !!(pagemap_get_entry(pagemap_fd, p + MARKED * PS) & PM_UFFD_WP);
		why = "pagemap lost the uffd-wp bit: the marker was dropped";
		break;
	}
	if (!ok)
		goto fail;
	ksft_test_result_pass("%s\n", desc);
	goto out;
fail:
	ksft_test_result_fail("%s: %s\n", desc, why);
out:
	if (uffd >= 0)
		close(uffd);
	if (p)
		munmap(p, HPS);
	if (memfd >= 0)
		close(memfd);
}

/* The THP settings this test changes (mode files first), restored at exit. */
#define NR_KNOBS 5
static const char *const knobs[NR_KNOBS] = {
	THP "enabled", THP "shmem_enabled", KHUGE "scan_sleep_millisecs",
	KHUGE "alloc_sleep_millisecs", KHUGE "pages_to_scan",
};

static char saved[NR_KNOBS][128];

static void restore_knobs(void)
{
	for (size_t i = 0; i < NR_KNOBS; i++)
		if (saved[i][0])
			write_file(knobs[i], saved[i]);
}

static void on_sigterm(int sig)
{
	(void)sig;
	restore_knobs();
	_exit(1);
}

int main(void)
{
	static const char *const set[NR_KNOBS] = {
		"madvise", "advise", KHUGE_IDLE_MS, "10", "4096",
	};
	char buf[128];

	ksft_print_header();
	for (size_t i = 0; i < NR_KNOBS; i++) {
		if (sysfs_read(knobs[i], buf, sizeof(buf)))
			ksft_exit_skip("no %s: THP for shmem or khugepaged missing\n",
				       knobs[i]);
		if (i < 2)
			sysfs_mode(buf, saved[i], sizeof(saved[i]));
		else
			snprintf(saved[i], sizeof(saved[i]), "%s", buf);
	}
	atexit(restore_knobs);
	/* The guest's timeout kills with SIGTERM: restore the settings then too */
	signal(SIGTERM, on_sigterm);
	for (size_t i = 0; i < NR_KNOBS; i++)
		if (write_file(knobs[i], set[i]))
			ksft_exit_fail_msg("cannot write %s\n", knobs[i]);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0 || catch_sigbus())
		ksft_exit_fail_msg("pagemap or sigaction: %s\n", strerror(errno));

	ksft_set_plan(2 * (3 + 5));
	for (enum how how = COLLAPSE; how <= KHUGEPAGED; how++) {
		for (enum mem mem = ANON; mem <= SHMEM; mem++)
			for (enum marker m = NO_MARKER; m <= WP; m++)
				run_case(mem, m, how, 0);
		/* The shmem markers with nothing else of the range mapped */
		run_case(SHMEM, POISON, how, 1);
		run_case(SHMEM, WP, how, 1);
	}
	finish_tests();
}
