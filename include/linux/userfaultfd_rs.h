/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entry points of the Rust userfaultfd implementation (mm/userfaultfd_rs.rs)
 * called from C.  With CONFIG_USERFAULTFD_RUST off they compile away and the
 * upstream C implementation is used.
 */
#ifndef _LINUX_USERFAULTFD_RS_H
#define _LINUX_USERFAULTFD_RS_H

#ifdef CONFIG_USERFAULTFD_RUST
int userfaultfd_rs_init(void);

/*
 * What the page table holds at an address of the current task, for the
 * debugfs probe (mm/userfaultfd_rs_debugfs.c): a negative errno, or one of
 * the kinds below in the low byte, with the marker bits in the next byte
 * for UFFD_RS_PROBE_MARKER.  Keep in sync with mm/userfaultfd_rs.rs.
 */
long userfaultfd_rs_probe_pte(unsigned long addr);
#define UFFD_RS_PROBE_NONE	0
#define UFFD_RS_PROBE_PRESENT	1
#define UFFD_RS_PROBE_SWAP	2
#define UFFD_RS_PROBE_MARKER	3
#define UFFD_RS_PROBE_NO_TABLE	4
#else
static inline int userfaultfd_rs_init(void)
{
	return 0;
}
#endif

#endif /* _LINUX_USERFAULTFD_RS_H */
