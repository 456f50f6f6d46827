/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What uffd-fill-faults and uffd-fill-memcg share (uffd-fill-signal uses
 * a few of the pieces): both run one ioctl over a range of NPAGES pages,
 * make something fail in the middle of it, and check what the ioctl
 * reports, which pages it mapped and that nothing leaked.  Here: the
 * memory types and ioctls of their rows, the range (struct setup) and how
 * its source bytes, memfd and userfaultfd are made and torn down, the
 * ioctl call, what pagemap shows of a page done, the contents after
 * completion, and the /proc/meminfo counters the leak check reads.  Each
 * program lays out its mapping itself (set_up()), since what is allocated
 * before the ioctl is what the two tests differ in.
 *
 * It includes uffd-util.h.  The program sets pagemap_fd (an open
 * /proc/self/pagemap) and huge_ps before the first set-up.
 */
#ifndef _UFFD_RS_UFFD_FILL_H
#define _UFFD_RS_UFFD_FILL_H

#include <linux/memfd.h>

#include "uffd-util.h"

#define NPAGES		4		/* pages in the range of a case */
#define PMD_SIZE	(2UL << 20)	/* bytes one PTE table maps */

enum mem { ANON, SHMEM, SHMEM_PRIVATE, HUGETLB, NR_MEM };
static const char *const mem_name[] = {
	"anon", "shmem", "shmem-private", "hugetlb",
};

enum op { COPY, ZEROPAGE, CONTINUE, POISON, WP, NR_OP };
static const char *const op_name[] = {
	"COPY", "ZEROPAGE", "CONTINUE", "POISON", "WRITEPROTECT",
};

struct setup {
	enum mem mem;
	size_t ps;		/* page size of @mem, bytes */
	char *area;		/* the whole mapping */
	size_t area_len;	/* bytes */
	char *dst;		/* the NPAGES pages of the range */
	char *src;		/* NPAGES pages of source bytes */
	int memfd, uffd;
};

struct outcome {
	int rc, err;
	long long result;	/* the result field, bytes; len or 0 for WP */
};

static int pagemap_fd;		/* /proc/self/pagemap */
static size_t huge_ps;		/* the default huge page size, bytes */
/* When set, a page teardown() calls MADV_COLD on (uffd-fill-memcg) */
static char *drain_page;

/*
 * The /proc/meminfo counters that must come back, in kB or pages.  The
 * first three may also go down (the unmap can free page tables made
 * before the case), never up; the huge page counts are exact.
 */
#define NR_COUNTERS 5
static const char *const counters[NR_COUNTERS] = {
	"AnonPages", "Shmem", "PageTables", "HugePages_Free", "HugePages_Rsvd",
};

/*
 * Reads the counters, exact: the per-CPU differences are folded first
 * (vm.stat_refresh), and no stdio is used (the test's own heap must not
 * grow between two readings, or its pages would count as AnonPages).  A
 * counter the kernel does not show reads -1.
 */
static inline void read_counters(long *v)
{
	static char buf[8192];
	int fd;
	ssize_t n;

	write_file("/proc/sys/vm/stat_refresh", "1");
	fd = open("/proc/meminfo", O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	for (int i = 0; i < NR_COUNTERS; i++) {
		char needle[32], *at;

		snprintf(needle, sizeof(needle), "\n%s:", counters[i]);
		at = strstr(buf, needle);
		v[i] = at ? strtol(at + strlen(needle), NULL, 10) : -1;
	}
}

/* The byte every byte of source page @page holds. */
static inline char byte_of(size_t page)
{
	return (char)(0x40 + page);
}

/* The UFFDIO_API features @op on @mem needs. */
static inline uint64_t features_for(enum mem mem, enum op op)
{
	if (op == CONTINUE)
		return mem == HUGETLB ? UFFD_FEATURE_MINOR_HUGETLBFS : UFFD_FEATURE_MINOR_SHMEM;
	if (op == POISON)
		return UFFD_FEATURE_POISON;
	if (op == WP)	/* markers in none PTEs: page tables to allocate */
		return mem == ANON ? UFFD_FEATURE_WP_UNPOPULATED :
				     UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
	return mem == HUGETLB ? UFFD_FEATURE_MISSING_HUGETLBFS :
	       mem == ANON ? 0 : UFFD_FEATURE_MISSING_SHMEM;
}

/*
 * The first half of a set-up: @s reset for @mem, its NPAGES source pages
 * (page i all byte_of(i)) and, for file memory, a memfd named @name of
 * @area_len bytes.  0, or -1 with errno set.
 */
static inline int set_up_source(struct setup *s, enum mem mem, size_t area_len,
				const char *name)
{
	memset(s, 0, sizeof(*s));
	s->memfd = -1;
	s->uffd = -1;
	s->mem = mem;
	s->ps = mem == HUGETLB ? huge_ps : (size_t)getpagesize();
	s->area_len = area_len;
	s->src = mmap(NULL, NPAGES * s->ps, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->src == MAP_FAILED)
		return -1;
	madvise(s->src, NPAGES * s->ps, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < NPAGES; i++)
		memset(s->src + i * s->ps, byte_of(i), s->ps);
	if (mem == ANON)
		return 0;
	s->memfd = memfd_create(name, MFD_CLOEXEC | (mem == HUGETLB ? MFD_HUGETLB : 0));
	if (s->memfd < 0 || ftruncate(s->memfd, area_len))
		return -1;
	return 0;
}

/*
 * The last step of a set-up: a userfaultfd with what @op needs, the whole
 * area registered in the mode @op resolves.  0, -1 with errno set, or -2
 * when the kernel lacks a feature.
 */
static inline int set_up_uffd(struct setup *s, enum op op)
{
	s->uffd = uffd_open();
	if (s->uffd < 0)
		return -1;
	if (uffd_api(s->uffd, features_for(s->mem, op), NULL))
		return -2;
	if (uffd_register(s->uffd, s->area, s->area_len, op != CONTINUE && op != WP,
			  op == WP, op == CONTINUE))
		return errno == EINVAL ? -2 : -1;
	return 0;
}

/*
 * Unmaps and closes everything.  With drain_page set, the pages the ioctls
 * added, which wait in this CPU's batch of new LRU pages holding a
 * reference until it is drained, are drained (MADV_COLD does it; munmap()
 * did not, on the build host's 6.18) before the file goes, so that every
 * page is freed, and uncharged, by the end.
 */
static inline void teardown(struct setup *s)
{
	if (s->area && s->area != MAP_FAILED)
		munmap(s->area, s->area_len);
	if (s->src && s->src != MAP_FAILED)
		munmap(s->src, NPAGES * s->ps);
	if (drain_page)
		madvise(drain_page, getpagesize(), MADV_COLD);
	if (s->memfd >= 0)
		close(s->memfd);
	if (s->uffd >= 0)
		close(s->uffd);
	memset(s, 0, sizeof(*s));
	s->memfd = -1;
	s->uffd = -1;
}

/* @op over pages [@from, NPAGES) of the range. */
static inline struct outcome call(struct setup *s, enum op op, size_t from)
{
	unsigned long start = (unsigned long)s->dst + from * s->ps;
	unsigned long len = (NPAGES - from) * s->ps;
	struct outcome o = { 0 };

	switch (op) {
	case COPY: {
		struct uffdio_copy c = {
			.dst = start, .src = (unsigned long)s->src + from * s->ps, .len = len,
		};

		o.rc = ioctl(s->uffd, UFFDIO_COPY, &c);
		o.result = c.copy;
		break;
	}
	case ZEROPAGE: {
		struct uffdio_zeropage z = { .range = { .start = start, .len = len } };

		o.rc = ioctl(s->uffd, UFFDIO_ZEROPAGE, &z);
		o.result = z.zeropage;
		break;
	}
	case CONTINUE: {
		struct uffdio_continue c = { .range = { .start = start, .len = len } };

		o.rc = ioctl(s->uffd, UFFDIO_CONTINUE, &c);
		o.result = c.mapped;
		break;
	}
	case POISON: {
		struct uffdio_poison c = { .range = { .start = start, .len = len } };

		o.rc = ioctl(s->uffd, UFFDIO_POISON, &c);
		o.result = c.updated;
		break;
	}
	default:
		o.rc = uffd_writeprotect(s->uffd, (void *)start, len, 1);
		o.result = o.rc ? 0 : (long long)len;
		break;
	}
	o.err = o.rc ? errno : 0;
	return o;
}

/*
 * Whether page @i of the range carries what @op leaves (pagemap has one
 * entry per base page, whatever maps it): the uffd-wp bit for WP, a swap
 * entry for POISON (a marker; only in PTE tables: hugetlb's pagemap shows
 * no swap bit for a marker, so POISON on hugetlb cannot be checked here),
 * else present.
 */
static inline int page_done(struct setup *s, enum op op, size_t i)
{
	uint64_t e = pagemap_get_entry(pagemap_fd, s->dst + i * s->ps);

	if (op == WP)
		return !!(e & PM_UFFD_WP);
	if (op == POISON)
		return !!(e & PM_SWAP);
	return !!(e & PM_PRESENT);
}

/*
 * After completion: each page holds what @op puts there (the source bytes,
 * zeroes, the page cache's bytes, SIGBUS for POISON; uffd-wp for WP, with
 * the page cache's bytes or, on anon, zeroes).  NULL or why not.
 */
static inline const char *contents_ok(struct setup *s, enum op op)
{
	for (size_t i = 0; i < NPAGES; i++) {
		char *p = s->dst + i * s->ps;

		switch (op) {
		case POISON:
			if (!read_sigbus(p))
				return "a poisoned page reads without SIGBUS";
			break;
		case ZEROPAGE:
			if (p[0] || p[s->ps - 1])
				return "a zero page is not zero";
			break;
		case WP:
			if (page_done(s, op, i) != 1)
				return "a page is not write-protected";
			/* Anon was never written: a read maps the zero page */
			if (s->mem == ANON) {
				if (p[0] || p[s->ps - 1])
					return "an unpopulated page is not zero";
				break;
			}
			/* fall through */
		default:
			if (p[0] != byte_of(i) || p[s->ps - 1] != byte_of(i))
				return "a page does not hold its bytes";
		}
	}
	return NULL;
}

#endif /* _UFFD_RS_UFFD_FILL_H */
