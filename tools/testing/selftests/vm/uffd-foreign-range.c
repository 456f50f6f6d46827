// SPDX-License-Identifier: GPL-2.0
/*
 * Range ioctls through a userfaultfd that does not own the range.
 *
 * One process, two userfaultfds: A registers a range (MISSING and, where
 * the kernel offers them for the memory type, WP and MINOR) and
 * write-protects its first page; B is a second userfaultfd of the same mm
 * that registered nothing.  For each range ioctl on anon, shmem and hugetlb
 * memory:
 *   - UFFDIO_UNREGISTER through B is refused with EINVAL (patches/0012, as
 *     upstream from 6.16 on), and A's range stays as it was: pagemap still
 *     reports uffd-wp on the protected page, a write to it raises a
 *     write-protect message on A and lands only after A un-protects it;
 *   - UFFDIO_MOVE through B is refused with EINVAL (6.12 already checks the
 *     owner), where through A it works (anon only: file memory refuses MOVE
 *     before ownership matters, so those rows skip);
 *   - every other ioctl (WAKE, COPY, ZEROPAGE, CONTINUE, POISON,
 *     WRITEPROTECT on and off) gives through B exactly what it gives
 *     through A on a fresh copy of the same setup: return value, errno and
 *     the result field.  Upstream (6.18 checked) still accepts them through
 *     another userfaultfd; this pins our kernels to that.
 * Runs the same on the C and the Rust kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest.h"
#include "uffd-util.h"

#define NPAGES 4

enum mem { ANON, SHMEM, HUGETLB, NR_MEM };
static const char *const mem_name[] = { "anon", "shmem", "hugetlb" };

enum op {
	OP_UNREGISTER, OP_WAKE, OP_COPY, OP_ZEROPAGE, OP_CONTINUE, OP_POISON,
	OP_WP_ON, OP_WP_OFF, OP_MOVE, NR_OP,
};

static const char *const op_name[] = {
	"UFFDIO_UNREGISTER", "UFFDIO_WAKE", "UFFDIO_COPY", "UFFDIO_ZEROPAGE",
	"UFFDIO_CONTINUE", "UFFDIO_POISON", "UFFDIO_WRITEPROTECT (protect)",
	"UFFDIO_WRITEPROTECT (un-protect)", "UFFDIO_MOVE",
};

/* What a call gave: return value, errno, the result field (0 if none). */
struct outcome {
	int rc, err;
	long long result;
};

/* One setup: A's registered range and the two userfaultfds. */
struct setup {
	enum mem mem;
	size_t psize;		/* page size of the memory type, bytes */
	uint64_t mode;		/* A's UFFDIO_REGISTER_MODE_* */
	int a, b, memfd;
	char *p;		/* NPAGES pages; page 0 present and protected if WP */
	char *src;		/* NPAGES private anonymous pages, written */
};

static uint64_t offered;	/* the features the kernel offers */
static int pagemap_fd;

static int new_ctx(void)
{
	uint64_t want = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MISSING_HUGETLBFS |
			UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_MINOR_HUGETLBFS |
			UFFD_FEATURE_WP_HUGETLBFS_SHMEM | UFFD_FEATURE_POISON |
			UFFD_FEATURE_MOVE;
	int fd = uffd_open();

	if (fd >= 0 && uffd_api(fd, want & offered, NULL)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The registration modes A can have on @mem in this kernel. */
static uint64_t modes_for(enum mem mem)
{
	uint64_t m = UFFDIO_REGISTER_MODE_MISSING;

	if (mem == ANON || (offered & UFFD_FEATURE_WP_HUGETLBFS_SHMEM))
		m |= UFFDIO_REGISTER_MODE_WP;
	if ((mem == SHMEM && (offered & UFFD_FEATURE_MINOR_SHMEM)) ||
	    (mem == HUGETLB && (offered & UFFD_FEATURE_MINOR_HUGETLBFS)))
		m |= UFFDIO_REGISTER_MODE_MINOR;
	return m;
}

static void teardown(struct setup *s)
{
	if (s->p && s->p != MAP_FAILED)
		munmap(s->p, NPAGES * s->psize);
	if (s->src && s->src != MAP_FAILED)
		munmap(s->src, NPAGES * s->psize);
	if (s->memfd >= 0)
		close(s->memfd);
	if (s->a >= 0)
		close(s->a);
	if (s->b >= 0)
		close(s->b);
}

/*
 * Builds a setup on @mem: file memory has all NPAGES pages in its page
 * cache and only page 0 mapped; anonymous memory has page 0 only.  A
 * registers the range and write-protects page 0 (when WP is offered).
 * 0 on success, -1 with errno set.
 */
static int set_up(struct setup *s, enum mem mem)
{
	size_t len;

	memset(s, 0, sizeof(*s));
	s->a = -1;
	s->b = -1;
	s->memfd = -1;
	s->mem = mem;
	s->psize = mem == HUGETLB ? default_huge_page_size() : (size_t)getpagesize();
	s->mode = modes_for(mem);
	len = NPAGES * s->psize;
	s->a = new_ctx();
	s->b = new_ctx();
	if (s->a < 0 || s->b < 0)
		return -1;
	s->src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->src == MAP_FAILED)
		return -1;
	memset(s->src, 0x5a, len);
	if (mem == ANON) {
		s->p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (s->p == MAP_FAILED)
			return -1;
		madvise(s->p, len, MADV_NOHUGEPAGE);
		s->p[0] = 1;
	} else {
		s->memfd = memfd_create("uffd-foreign-range",
					MFD_CLOEXEC | (mem == HUGETLB ? MFD_HUGETLB : 0));
		if (s->memfd < 0 || ftruncate(s->memfd, len))
			return -1;
		s->p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, s->memfd, 0);
		if (s->p == MAP_FAILED)
			return -1;
		memset(s->p, 0x33, len);
		/* Pages 1.. stay in the page cache, unmapped */
		if (madvise(s->p + s->psize, len - s->psize, MADV_DONTNEED))
			return -1;
	}
	if (uffd_register(s->a, s->p, len, s->mode & UFFDIO_REGISTER_MODE_MISSING,
			  s->mode & UFFDIO_REGISTER_MODE_WP, s->mode & UFFDIO_REGISTER_MODE_MINOR))
		return -1;
	if ((s->mode & UFFDIO_REGISTER_MODE_WP) &&
	    uffd_writeprotect(s->a, s->p, s->psize, 1))
		return -1;
	return 0;
}

/* Calls @op through @fd on the setup @s. */
static struct outcome call(struct setup *s, int fd, enum op op)
{
	unsigned long p0 = (unsigned long)s->p, p1 = p0 + s->psize;
	unsigned long ps = s->psize;
	struct uffdio_range whole = { .start = p0, .len = NPAGES * ps };
	struct outcome o = { 0 };

	switch (op) {
	case OP_UNREGISTER:
		o.rc = ioctl(fd, UFFDIO_UNREGISTER, &whole);
		break;
	case OP_WAKE:
		o.rc = ioctl(fd, UFFDIO_WAKE, &whole);
		break;
	case OP_COPY: {
		struct uffdio_copy c = { .dst = p1, .src = (unsigned long)s->src, .len = ps };

		o.rc = ioctl(fd, UFFDIO_COPY, &c);
		o.result = c.copy;
		break;
	}
	case OP_ZEROPAGE: {
		struct uffdio_zeropage z = { .range = { .start = p1, .len = ps } };

		o.rc = ioctl(fd, UFFDIO_ZEROPAGE, &z);
		o.result = z.zeropage;
		break;
	}
	case OP_CONTINUE: {
		struct uffdio_continue c = { .range = { .start = p1, .len = ps } };

		o.rc = ioctl(fd, UFFDIO_CONTINUE, &c);
		o.result = c.mapped;
		break;
	}
	case OP_POISON: {
		struct uffdio_poison c = { .range = { .start = p1, .len = ps } };

		o.rc = ioctl(fd, UFFDIO_POISON, &c);
		o.result = c.updated;
		break;
	}
	case OP_WP_ON:
		o.rc = uffd_writeprotect(fd, s->p, 2 * ps, 1);
		break;
	case OP_WP_OFF:
		o.rc = uffd_writeprotect(fd, s->p, ps, 0);
		break;
	default: {
		struct uffdio_move m = { .dst = p1, .src = (unsigned long)s->src, .len = ps };

		o.rc = ioctl(fd, UFFDIO_MOVE, &m);
		o.result = m.move;
		break;
	}
	}
	o.err = o.rc ? errno : 0;
	return o;
}

static void writer_fn_store(volatile char *p)
{
	*p = 0x77;
}

static void *writer_fn(void *arg)
{
	writer_fn_store(arg);
	return NULL;
}

/*
 * After B's refused UFFDIO_UNREGISTER: A's protection of page 0 is intact.
 * Returns NULL, or what went wrong.
 */
static const char *protection_intact(struct setup *s)
{
	struct uffd_msg msg;
	pthread_t t;
	const char *why = NULL;

	/* pagemap has one entry per base page, whatever maps it */
	if (!(pagemap_get_entry(pagemap_fd, s->p) & PM_UFFD_WP))
		return "pagemap lost the uffd-wp bit";
	if (pthread_create(&t, NULL, writer_fn, s->p))
		return "pthread_create";
	if (uffd_read_msg(s->a, &msg, 2000) != 1 || msg.event != UFFD_EVENT_PAGEFAULT ||
	    !(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP))
		why = "the write raised no write-protect message on the owner";
	else if (s->p[0] == 0x77)
		why = "the write landed before the owner un-protected the page";
	/* Let the writer finish either way */
	if (uffd_writeprotect(s->a, s->p, s->psize, 0) && !why)
		why = "the owner could not un-protect the page";
	if (join_within(t, 5))
		return "the writer did not finish after un-protect";
	if (!why && s->p[0] != 0x77)
		why = "the write did not land after un-protect";
	return why;
}

static void run(enum mem mem, enum op op)
{
	struct setup owner, other;
	struct outcome want, got;
	char desc[160];
	const char *why = NULL;

	snprintf(desc, sizeof(desc), "%s: %s through another userfaultfd", mem_name[mem],
		 op_name[op]);
	if (op == OP_MOVE && mem != ANON) {
		/* Refused as file memory before ownership is looked at */
		ksft_test_result_skip("%s: UFFDIO_MOVE is for anonymous memory only\n", desc);
		return;
	}
	if ((op == OP_WP_ON || op == OP_WP_OFF) && !(modes_for(mem) & UFFDIO_REGISTER_MODE_WP)) {
		ksft_test_result_skip("%s: write-protect of %s not offered\n", desc,
				      mem_name[mem]);
		return;
	}
	/* Both set up (or at least reset), so that teardown() is safe on both */
	if (set_up(&owner, mem) | set_up(&other, mem)) {
		ksft_test_result_fail("%s: setup: %s\n", desc, strerror(errno));
		teardown(&owner);
		teardown(&other);
		return;
	}
	want = call(&owner, owner.a, op);
	got = call(&other, other.b, op);
	if (op == OP_UNREGISTER || op == OP_MOVE) {
		if (want.rc)
			why = "the same call through the owner failed";
		else if (got.rc != -1 || got.err != EINVAL)
			why = "not refused with EINVAL";
		else if (op == OP_UNREGISTER && (other.mode & UFFDIO_REGISTER_MODE_WP))
			why = protection_intact(&other);
	} else if (got.rc != want.rc || got.err != want.err || got.result != want.result) {
		ksft_print_msg("%s: owner rc=%d errno=%d result=%lld, %s rc=%d errno=%d result=%lld\n",
			       desc, want.rc, want.err, want.result, "other", got.rc,
			       got.err, got.result);
		why = "differs from the same call through the owner";
	}
	if (why)
		ksft_test_result_fail("%s: %s\n", desc, why);
	else
		ksft_test_result_pass("%s\n", desc);
	teardown(&owner);
	teardown(&other);
}

int main(void)
{
	int fd;

	ksft_print_header();
	fd = uffd_open();
	if (fd < 0 || uffd_api(fd, 0, &offered))
		ksft_exit_skip("userfaultfd unavailable: %s\n", strerror(errno));
	close(fd);
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap_fd < 0)
		ksft_exit_fail_msg("/proc/self/pagemap: %s\n", strerror(errno));

	ksft_set_plan(NR_MEM * NR_OP);
	for (enum mem mem = ANON; mem < NR_MEM; mem++) {
		for (enum op op = OP_UNREGISTER; op < NR_OP; op++) {
			if (mem == HUGETLB && get_free_hugepages() < 2 * NPAGES)
				ksft_test_result_skip("%s: %s: not enough free huge pages\n",
						      mem_name[mem], op_name[op]);
			else
				run(mem, op);
		}
	}
	finish_tests();
}
