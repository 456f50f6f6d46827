// SPDX-License-Identifier: GPL-2.0
/*
 * Per-call cost of the fill ioctls' paths that do not fill, for A/B runs
 * under QEMU -icount: where a one-page fill spends its fixed cost.
 *   ioctl-copy-einval   UFFDIO_COPY with len 0: entry, argument copy and
 *                       checks (EINVAL)
 *   ioctl-copy-enoent   UFFDIO_COPY of a page of an unregistered VMA: adds
 *                       the mm reference, the VMA lock and its checks, the
 *                       result write (ENOENT)
 *   ioctl-copy-eexist   UFFDIO_COPY onto a present page: adds the fill
 *                       pass (a new page is copied, then found not needed)
 *   ioctl-wake          UFFDIO_WAKE of a page (C in both kernels): the
 *                       ioctl entry alone
 * Prints "bench <name> <ns per call>", the median over REPEAT.
 */
#define _GNU_SOURCE
#define BENCH_NAME "uffd-ioctl-bench"
#include "../uffd-util.h"

#define CALLS  4096
#define REPEAT 7

static double per_call(int uffd, unsigned long req, void *arg, int want_errno)
{
	double t0, t;

	prof_start();
	t0 = now_ns();
	for (int i = 0; i < CALLS; i++) {
		int r = ioctl(uffd, req, arg);

		if (want_errno ? r != -1 || errno != want_errno : r != 0)
			die("unexpected ioctl result");
	}
	t = (now_ns() - t0) / CALLS;
	prof_stop(CALLS);
	return t;
}

int main(void)
{
	long psize = sysconf(_SC_PAGESIZE);
	char *reg_area = map_anon(psize), *unreg_area = map_anon(psize);
	char *src = map_anon(psize);
	int uffd = new_uffd(0);
	double t[REPEAT];
	struct uffdio_copy c;
	struct uffdio_range w = { .start = (unsigned long)reg_area, .len = psize };

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(src, 1, psize);
	reg_area[0] = 1;	/* present before it is registered */
	reg(uffd, reg_area, psize, UFFDIO_REGISTER_MODE_MISSING);

	c = (struct uffdio_copy){ .dst = (unsigned long)reg_area,
				  .src = (unsigned long)src, .len = 0 };
	prof_row("ioctl-copy-einval");
	for (int r = 0; r < REPEAT; r++)
		t[r] = per_call(uffd, UFFDIO_COPY, &c, EINVAL);
	printf("bench ioctl-copy-einval %.1f\n", median(t, REPEAT));

	c.dst = (unsigned long)unreg_area;
	c.len = psize;
	prof_row("ioctl-copy-enoent");
	for (int r = 0; r < REPEAT; r++)
		t[r] = per_call(uffd, UFFDIO_COPY, &c, ENOENT);
	printf("bench ioctl-copy-enoent %.1f\n", median(t, REPEAT));

	c.dst = (unsigned long)reg_area;
	prof_row("ioctl-copy-eexist");
	for (int r = 0; r < REPEAT; r++)
		t[r] = per_call(uffd, UFFDIO_COPY, &c, EEXIST);
	printf("bench ioctl-copy-eexist %.1f\n", median(t, REPEAT));

	prof_row("ioctl-wake");
	for (int r = 0; r < REPEAT; r++)
		t[r] = per_call(uffd, UFFDIO_WAKE, &w, 0);
	printf("bench ioctl-wake %.1f\n", median(t, REPEAT));
	return 0;
}
