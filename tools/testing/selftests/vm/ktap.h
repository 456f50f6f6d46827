/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KTAP output for our selftests: one "ok N ..." / "not ok N ..." line per
 * check, the plan and the totals at the end (scripts/results.py reads them).
 */
#ifndef _UFFD_RS_KTAP_H
#define _UFFD_RS_KTAP_H

#include <stdarg.h>
#include <stdio.h>

static int ktap_nr, ktap_failed;

static inline void ktap_start(void)
{
	printf("TAP version 13\n");
}

__attribute__((format(printf, 2, 3)))
static inline void ktap_result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", ok ? "" : "not ", ++ktap_nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		ktap_failed++;
}

__attribute__((format(printf, 1, 2)))
static inline void ktap_skip(const char *fmt, ...)
{
	va_list ap;

	printf("ok %d ", ++ktap_nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Prints the plan and the totals; returns the exit status. */
static inline int ktap_finish(void)
{
	printf("1..%d\n# Totals: pass:%d fail:%d\n", ktap_nr, ktap_nr - ktap_failed,
	       ktap_failed);
	return ktap_failed ? 1 : 0;
}

#endif /* _UFFD_RS_KTAP_H */
