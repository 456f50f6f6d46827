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
#else
static inline int userfaultfd_rs_init(void)
{
	return 0;
}
#endif

#endif /* _LINUX_USERFAULTFD_RS_H */
