// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-prof: a QEMU TCG plugin (QEMU 7.2, plugin API 1) that counts the
 * guest instructions executed inside windows the guest marks, per
 * instruction address, user and kernel alike.
 *
 * The guest opens a window by executing the 7-byte NOP
 *     nopl 0x2b525055(%rax)     0f 1f 80 55 50 52 2b   ("UPR+")
 * and closes it with
 *     nopl 0x2d525055(%rax)     0f 1f 80 55 50 52 2d   ("UPR-")
 * (tools/testing/selftests/vm/uffd-util.h, prof_start() and prof_stop()).
 * No compiler emits a NOP with such a displacement: its padding NOPs have
 * a zero one.  Every vCPU shares one window state; the benchmarks run on
 * one vCPU (-icount needs it).
 *
 * How it counts: every translation block gets an inline counter of its
 * executions (no helper call, so the guest runs nearly at full TCG speed
 * outside the windows), and the instruction offsets of the block are kept.
 * The two markers get an exec callback: opening a window snapshots every
 * block's counter, closing it adds each block's executions since then to
 * the block's in-window count.  A block counts all its instructions each
 * time it is entered, so the block holding a marker is corrected for the
 * instructions before the opening marker and from the closing marker on
 * (the markers themselves are not counted).  At exit, every instruction of
 * every block gets the block's in-window count, summed per address.
 *
 * Arguments (-plugin uffd-prof.so,out=FILE,gran=insn|tb):
 *   out=FILE   where to write the result (default uffd-prof.out)
 *   gran=insn  one line per instruction address (default)
 *   gran=tb    one line per translation block start address, with the
 *              instructions of the block
 * The file has "# " header lines (windows, total instructions, each
 * window's instructions, anomalies) and then "<hex address> <count>"
 * lines, sorted by address.  scripts/profile/symbolize.py reads it.
 *
 * Build: gcc -shared -fPIC -O2 -Wall -o uffd-prof.so uffd-prof.c
 * (scripts/profile.sh does); no glib needed, qemu-plugin-api.h declares the
 * part of the API used.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin-api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MARK_LEN 7
static const uint8_t mark_start[MARK_LEN] = { 0x0f, 0x1f, 0x80, 'U', 'P', 'R', '+' };
static const uint8_t mark_stop[MARK_LEN] = { 0x0f, 0x1f, 0x80, 'U', 'P', 'R', '-' };

/* One translation of a block (a block translated again gets a new one). */
struct tb_rec {
	uint64_t execs;		/* inline counter: executions, all the time */
	uint64_t base;		/* execs when the open window opened */
	uint64_t win;		/* executions inside closed windows */
	uint64_t vaddr;		/* first instruction */
	int64_t *adj;		/* per-instruction corrections, or NULL */
	uint32_t n;		/* instructions */
	uint32_t off[];		/* their offsets from vaddr */
};

/* A marker instruction: which block, which instruction of it. */
struct mark {
	struct tb_rec *rec;
	uint32_t idx;
	int start;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tb_rec **recs;
static size_t nrecs, caprecs;
static int on;				/* a window is open */
static int64_t open_adj;		/* the opening block's correction */
static uint64_t windows, stray_start, stray_stop, nomem;
static uint64_t *win_total;		/* instructions per window */
static size_t cap_win;
static const char *out_path = "uffd-prof.out";
static int per_tb;

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (!q) {
		fprintf(stderr, "uffd-prof: out of memory\n");
		abort();
	}
	return q;
}

/* Adds @d to the count of instruction @idx and every one after it. */
static void adjust(struct tb_rec *r, uint32_t from, int64_t d)
{
	if (!r->adj) {
		r->adj = calloc(r->n, sizeof(*r->adj));
		if (!r->adj) {
			nomem++;
			return;
		}
	}
	for (uint32_t j = from; j < r->n; j++)
		r->adj[j] += d;
}

static void mark_exec(unsigned int vcpu, void *udata)
{
	struct mark *m = udata;
	struct tb_rec *r = m->rec;
	uint64_t total = 0;

	(void)vcpu;
	pthread_mutex_lock(&lock);
	if (m->start) {
		if (on) {
			stray_start++;	/* nested: keep the open window */
			goto out;
		}
		for (size_t i = 0; i < nrecs; i++)
			recs[i]->base = recs[i]->execs;
		/* This execution was snapshotted whole: count what follows. */
		adjust(r, m->idx + 1, 1);
		open_adj = r->n - m->idx - 1;
		on = 1;
		goto out;
	}
	if (!on) {
		stray_stop++;
		goto out;
	}
	for (size_t i = 0; i < nrecs; i++) {
		uint64_t d = recs[i]->execs - recs[i]->base;

		recs[i]->win += d;
		total += d * recs[i]->n;
	}
	/* This execution was counted whole: not the marker and what follows. */
	adjust(r, m->idx, -1);
	total += open_adj - (r->n - m->idx);
	if (windows == cap_win) {
		cap_win = cap_win ? 2 * cap_win : 64;
		win_total = xrealloc(win_total, cap_win * sizeof(*win_total));
	}
	win_total[windows++] = total;
	on = 0;
out:
	pthread_mutex_unlock(&lock);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	uint64_t va = qemu_plugin_tb_vaddr(tb);
	struct tb_rec *r;

	(void)id;
	r = calloc(1, sizeof(*r) + n * sizeof(r->off[0]));
	if (!r) {
		nomem++;
		return;
	}
	r->vaddr = va;
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *b = qemu_plugin_insn_data(insn);
		struct mark *m;

		r->off[i] = qemu_plugin_insn_vaddr(insn) - va;
		if (qemu_plugin_insn_size(insn) != MARK_LEN ||
		    (memcmp(b, mark_start, MARK_LEN) && memcmp(b, mark_stop, MARK_LEN)))
			continue;
		m = malloc(sizeof(*m));
		if (!m) {
			nomem++;
			continue;
		}
		m->rec = r;
		m->idx = i;
		m->start = !memcmp(b, mark_start, MARK_LEN);
		qemu_plugin_register_vcpu_insn_exec_cb(insn, mark_exec,
						       QEMU_PLUGIN_CB_NO_REGS, m);
	}
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 &r->execs, 1);
	pthread_mutex_lock(&lock);
	if (nrecs == caprecs) {
		caprecs = caprecs ? 2 * caprecs : 65536;
		recs = xrealloc(recs, caprecs * sizeof(*recs));
	}
	recs[nrecs++] = r;
	pthread_mutex_unlock(&lock);
}

struct hit {
	uint64_t addr, count;
};

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	struct hit *h = NULL;
	size_t nh = 0, caph = 0, k;
	uint64_t total = 0, open_at_exit = on;
	FILE *f;

	(void)id;
	(void)udata;
	pthread_mutex_lock(&lock);
	if (on) {
		/* Not closed: count it up to here (reported as an anomaly). */
		for (size_t i = 0; i < nrecs; i++)
			recs[i]->win += recs[i]->execs - recs[i]->base;
		on = 0;
	}
	for (size_t i = 0; i < nrecs; i++) {
		struct tb_rec *r = recs[i];
		uint64_t tbsum = 0;

		if (!r->win && !r->adj)
			continue;
		for (uint32_t j = 0; j < r->n; j++) {
			int64_t c = (int64_t)r->win + (r->adj ? r->adj[j] : 0);

			if (c <= 0)
				continue;
			if (per_tb) {
				tbsum += c;
				continue;
			}
			if (nh == caph) {
				caph = caph ? 2 * caph : 65536;
				h = xrealloc(h, caph * sizeof(*h));
			}
			h[nh++] = (struct hit){ r->vaddr + r->off[j], (uint64_t)c };
		}
		if (per_tb && tbsum) {
			if (nh == caph) {
				caph = caph ? 2 * caph : 65536;
				h = xrealloc(h, caph * sizeof(*h));
			}
			h[nh++] = (struct hit){ r->vaddr, tbsum };
		}
	}
	qsort(h, nh, sizeof(*h), cmp_hit);
	/* Merge the translations of one address. */
	for (size_t i = k = 0; i < nh; i++) {
		total += h[i].count;
		if (k && h[k - 1].addr == h[i].addr)
			h[k - 1].count += h[i].count;
		else
			h[k++] = h[i];
	}
	nh = nh ? k : 0;

	f = fopen(out_path, "w");
	if (!f) {
		perror(out_path);
		goto done;
	}
	fprintf(f, "# uffd-prof windows %" PRIu64 " total %" PRIu64 " gran %s\n",
		windows, total, per_tb ? "tb" : "insn");
	fprintf(f, "# anomalies nested_start %" PRIu64 " stray_stop %" PRIu64
		" open_at_exit %" PRIu64 " nomem %" PRIu64 "\n",
		stray_start, stray_stop, open_at_exit, nomem);
	fprintf(f, "# translations %zu\n", nrecs);
	for (uint64_t w = 0; w < windows; w++)
		fprintf(f, "# window %" PRIu64 " %" PRIu64 "\n", w, win_total[w]);
	for (size_t i = 0; i < nh; i++)
		fprintf(f, "%016" PRIx64 " %" PRIu64 "\n", h[i].addr, h[i].count);
	fclose(f);
done:
	pthread_mutex_unlock(&lock);
	free(h);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4)) {
			out_path = argv[i] + 4;
		} else if (!strcmp(argv[i], "gran=tb")) {
			per_tb = 1;
		} else if (!strcmp(argv[i], "gran=insn")) {
			per_tb = 0;
		} else {
			fprintf(stderr, "uffd-prof: unknown argument '%s' (out=FILE, gran=insn|tb)\n",
				argv[i]);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
