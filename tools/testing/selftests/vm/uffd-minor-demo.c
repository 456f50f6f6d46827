// SPDX-License-Identifier: GPL-2.0
/*
 * A minor fault on shmem, resolved with UFFDIO_CONTINUE.
 *
 * A memfd page is mapped twice.  The first mapping is registered with
 * /dev/userfaultfd in MINOR mode; the page is already in the page cache
 * (written through the second mapping), but the first mapping has no PTE for
 * it.  A second thread reads the page through the first mapping and blocks in
 * a minor fault; the resolver reads the fault message, changes the page
 * through the second mapping, and maps it with UFFDIO_CONTINUE.  The reader
 * must then see the changed bytes.
 *
 * Prints what happens, then a KTAP result line per check.
 * With -q only the KTAP lines are printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest.h"

#define NR_CHECKS 6

static int quiet;

/* The narrative: diagnostic lines, left out with -q. */
#define say(...) do { if (!quiet) ksft_print_msg(__VA_ARGS__); } while (0)

static void bail(const char *what)
{
	ksft_test_result_fail("%s: %s\n", what, strerror(errno));
	ksft_finished();
}

static const char before[] = "written before the fault";
static const char after[] = "changed by the resolver, then UFFDIO_CONTINUE";

struct reader {
	volatile char *addr;
	char seen[64];
};

static void *reader_fn(void *arg)
{
	struct reader *r = arg;
	size_t i;

	/* The first load faults; this thread sleeps until the resolver is done. */
	for (i = 0; i < sizeof(r->seen) - 1; i++)
		r->seen[i] = r->addr[i];
	r->seen[sizeof(r->seen) - 1] = 0;
	return NULL;
}

int main(int argc, char **argv)
{
	long psize = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_MINOR_SHMEM };
	struct uffdio_register reg = { 0 };
	struct uffdio_continue cont = { 0 };
	struct uffd_msg msg;
	struct pollfd pfd;
	struct reader r = { 0 };
	pthread_t thread;
	char *a, *b;
	int devfd, uffd, memfd;

	quiet = argc > 1 && !strcmp(argv[1], "-q");
	ksft_print_header();
	ksft_set_plan(NR_CHECKS);

	memfd = memfd_create("uffd-minor-demo", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, psize))
		bail("memfd_create");
	a = mmap(NULL, psize, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	b = mmap(NULL, psize, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (a == MAP_FAILED || b == MAP_FAILED)
		bail("mmap");
	memcpy(b, before, strlen(before) + 1);
	say("page cache filled through mapping B at %p: \"%s\"\n", b, before);

	devfd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (devfd < 0)
		bail("open /dev/userfaultfd");
	uffd = ioctl(devfd, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		bail("USERFAULTFD_IOC_NEW");
	if (ioctl(uffd, UFFDIO_API, &api))
		bail("UFFDIO_API with UFFD_FEATURE_MINOR_SHMEM");
	say("/dev/userfaultfd gave uffd %d, features 0x%llx\n", uffd,
	    (unsigned long long)api.features);

	reg.range.start = (unsigned long)a;
	reg.range.len = psize;
	reg.mode = UFFDIO_REGISTER_MODE_MINOR;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		bail("UFFDIO_REGISTER MODE_MINOR");
	ksft_test_result(reg.ioctls & (1ULL << _UFFDIO_CONTINUE),
			 "MINOR registration of shmem offers UFFDIO_CONTINUE\n");
	say("mapping A at %p registered in MINOR mode\n", a);

	r.addr = a;
	if (pthread_create(&thread, NULL, reader_fn, &r))
		bail("pthread_create");

	pfd.fd = uffd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 10000) != 1)
		bail("poll for the fault message");
	if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
		bail("read the fault message");
	ksft_test_result(msg.event == UFFD_EVENT_PAGEFAULT &&
			 (msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_MINOR) &&
			 msg.arg.pagefault.address == (unsigned long)a,
			 "reader thread raised a minor fault at the start of mapping A\n");
	say("fault message: event 0x%x flags 0x%llx address 0x%llx (minor fault)\n",
	    msg.event, (unsigned long long)msg.arg.pagefault.flags,
	    (unsigned long long)msg.arg.pagefault.address);

	memcpy(b, after, strlen(after) + 1);
	say("resolver changed the page through mapping B: \"%s\"\n", after);

	cont.range.start = (unsigned long)a;
	cont.range.len = psize;
	if (ioctl(uffd, UFFDIO_CONTINUE, &cont))
		bail("UFFDIO_CONTINUE");
	ksft_test_result(cont.mapped == psize, "UFFDIO_CONTINUE mapped the whole page\n");
	say("UFFDIO_CONTINUE mapped %lld bytes; reader woken\n", (long long)cont.mapped);

	pthread_join(thread, NULL);
	say("reader thread saw through mapping A: \"%s\"\n", r.seen);
	ksft_test_result(!strcmp(r.seen, after),
			 "reader sees the bytes written before UFFDIO_CONTINUE\n");

	/* The page is mapped now: a second UFFDIO_CONTINUE finds a PTE there. */
	ksft_test_result(ioctl(uffd, UFFDIO_CONTINUE, &cont) == -1 && errno == EEXIST &&
			 cont.mapped == -EEXIST,
			 "UFFDIO_CONTINUE on a mapped page fails with EEXIST\n");

	/* A page that is not in the page cache cannot be continued. */
	ksft_test_result(ftruncate(memfd, 0) == 0 && ftruncate(memfd, psize) == 0 &&
			 ioctl(uffd, UFFDIO_CONTINUE, &cont) == -1 && errno == EFAULT,
			 "UFFDIO_CONTINUE with no page in the page cache fails with EFAULT\n");

	say("minor fault resolved with UFFDIO_CONTINUE: %s\n",
	    ksft_get_fail_cnt() ? "FAILED" : "ok");
	ksft_finished();
}
