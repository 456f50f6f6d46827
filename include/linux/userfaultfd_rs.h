/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The boundary between C and the Rust userfaultfd implementation
 * (mm/userfaultfd_rs/).  With CONFIG_USERFAULTFD_RUST off it compiles away
 * and the upstream C implementation is used.
 *
 * Names crossing the boundary:
 * - userfaultfd_rs_*: Rust functions that C calls (mm/userfaultfd_rs/
 *   exports.rs).  Rust functions that replace an upstream C function keep
 *   its name and are declared where the C one was (swapops.h,
 *   userfaultfd_k.h, mm_inline.h, asm-generic/hugetlb.h);
 * - uffd_rs_*: C shims that Rust calls (mm/userfaultfd_rs/shim.c);
 * - rust_helper_*: one-to-one wrappers of inline C (rust/helpers/).
 * Rust checks every export against the prototype here at build time.
 */
#ifndef _LINUX_USERFAULTFD_RS_H
#define _LINUX_USERFAULTFD_RS_H

#ifdef CONFIG_USERFAULTFD_RUST
#include <linux/mm_types.h>
#include <linux/pgtable.h>

struct folio;
struct page;
struct userfaultfd_ctx;
struct vm_area_struct;

/* Rust functions that C calls */

void userfaultfd_rs_init(void);

/* The fill ioctls and UFFDIO_WRITEPROTECT; fs/userfaultfd.c dispatches */
int userfaultfd_rs_copy(struct userfaultfd_ctx *ctx, unsigned long arg);
int userfaultfd_rs_zeropage(struct userfaultfd_ctx *ctx, unsigned long arg);
int userfaultfd_rs_continue(struct userfaultfd_ctx *ctx, unsigned long arg);
int userfaultfd_rs_poison(struct userfaultfd_ctx *ctx, unsigned long arg);
int userfaultfd_rs_writeprotect(struct userfaultfd_ctx *ctx, unsigned long arg);

/* The uffd-wp decisions of the generic mm code (mm/memory.c) */
bool userfaultfd_rs_fault_orig_pte_uffd_wp(struct vm_area_struct *vma,
					   unsigned int fault_flags,
					   pte_t orig_pte);
void userfaultfd_rs_zap_install_uffd_wp_markers(struct vm_area_struct *vma,
						unsigned long addr, pte_t *pte,
						int nr, pte_t pteval);

/* What a fault on a PTE marker does (handle_pte_marker() in mm/memory.c) */
int userfaultfd_rs_pte_marker_fault_action(struct vm_area_struct *vma,
					   pte_t orig_pte);
#define PTE_MARKER_FAULT_SIGBUS		0	/* unknown marker */
#define PTE_MARKER_FAULT_HWPOISON	1	/* poisoned */
#define PTE_MARKER_FAULT_CLEAR		2	/* stale uffd-wp marker: drop it */
#define PTE_MARKER_FAULT_MISSING	3	/* uffd-wp marker: a missing fault */
#define PTE_MARKER_FAULT_EMPTY		4	/* a marker without bits: a bug */

/*
 * The hand-off of a page-cache fault to user space (shmem_get_folio_gfp(),
 * hugetlb_no_page()): VM_UFFD_MINOR, VM_UFFD_MISSING or 0.  @vma may be
 * NULL (not a fault).
 */
unsigned long userfaultfd_rs_fault_reason(struct vm_area_struct *vma,
					  bool in_cache);

/* hugetlb's uffd-wp decisions (mm/hugetlb.c); mm/userfaultfd_rs/hugetlb.rs */
pte_t userfaultfd_rs_huge_pte_carry_uffd_wp(struct vm_area_struct *vma,
					    pte_t old, pte_t new);
pte_t userfaultfd_rs_hugetlb_move_pte(struct vm_area_struct *vma, pte_t pte);
bool userfaultfd_rs_hugetlb_zap_leaves_marker(pte_t pte,
					      zap_flags_t zap_flags);
bool userfaultfd_rs_hugetlb_refuses_cow(pte_t pte, bool unshare);
int userfaultfd_rs_hugetlb_wp_fault_action(struct vm_area_struct *vma,
					   unsigned int fault_flags, pte_t pte);
#define UFFD_RS_WP_FAULT_NONE		0	/* not a uffd-wp write fault */
#define UFFD_RS_WP_FAULT_MESSAGE	1	/* handle_userfault(VM_UFFD_WP) */
#define UFFD_RS_WP_FAULT_RESOLVE	2	/* WP_ASYNC: clear the bit */
pte_t userfaultfd_rs_hugetlb_change_pte(pte_t pte, unsigned long cp_flags);

/*
 * What the page table holds at an address of the current task, for the
 * debugfs probe (mm/userfaultfd_rs/debugfs.c): a negative errno, or one of
 * the kinds below in the low byte, with the marker bits in the next byte
 * for UFFD_RS_PROBE_MARKER.
 */
long userfaultfd_rs_probe_pte(unsigned long addr);
#define UFFD_RS_PROBE_NONE	0
#define UFFD_RS_PROBE_PRESENT	1
#define UFFD_RS_PROBE_SWAP	2
#define UFFD_RS_PROBE_MARKER	3
#define UFFD_RS_PROBE_NO_TABLE	4

/* C that Rust calls: fs/userfaultfd.c */
void uffd_rs_wake(struct userfaultfd_ctx *ctx, unsigned long start,
		  unsigned long len);

/* C that Rust calls: the shims of mm/userfaultfd_rs/shim.c */
bool uffd_rs_vma_wants_manual_pte_write_upgrade(struct vm_area_struct *vma);
long uffd_rs_change_protection(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, unsigned long cp_flags);
void uffd_rs_vma_read_lock_mmap_locked(struct vm_area_struct *vma);
int uffd_rs_prepare_pte_table(struct mm_struct *mm, unsigned long addr,
			      pmd_t **pmdp);
pmd_t *uffd_rs_find_pmd(struct mm_struct *mm, unsigned long addr);
pte_t uffd_rs_zero_pte(struct vm_area_struct *vma, unsigned long addr);
/*
 * 1 where the zero page mapped at an address depends on the address
 * (coloured zero pages): the fill engine then asks uffd_rs_zero_pte() for
 * every page, not once per VMA.
 */
#ifdef __HAVE_COLOR_ZERO_PAGE
#define UFFD_RS_ZERO_PTE_PER_ADDR	1
#else
#define UFFD_RS_ZERO_PTE_PER_ADDR	0
#endif
void uffd_rs_set_pte(struct vm_area_struct *vma, unsigned long addr,
		     pte_t *ptep, pte_t pte);
/* How uffd_rs_install_pte() maps a page: a word of these bits */
#define UFFD_RS_PTE_WRITABLE	(1U << 0)	/* pte_mkwrite() */
#define UFFD_RS_PTE_UFFD_WP	(1U << 1)	/* pte_mkuffd_wp() */
#define UFFD_RS_PTE_IN_CACHE	(1U << 2)	/* a page-cache page: file rmap */
#define UFFD_RS_PTE_NEW		(1U << 3)	/* filled by this fill */
void uffd_rs_install_pte(struct vm_area_struct *vma, unsigned long addr,
			 pte_t *ptep, struct page *page, unsigned int flags);
void uffd_rs_warn_pte_not_none(void);
struct folio *uffd_rs_alloc_folio(struct vm_area_struct *vma,
				  unsigned long addr, bool zeroed, bool noretry);
unsigned long uffd_rs_copy_folio_from_user(struct folio *folio,
					   unsigned long src, bool nofault);
int uffd_rs_folio_prepare(struct vm_area_struct *vma, struct folio *folio,
			  bool noretry);
int uffd_rs_shmem_get_folio(struct vm_area_struct *vma, unsigned long addr,
			    struct folio **foliop, struct page **pagep);
int uffd_rs_put_user_s64(s64 value, s64 __user *ptr);
bool uffd_rs_cond_resched_fatal_signal_pending(void);
bool uffd_rs_fatal_signal_pending(void);
unsigned int uffd_rs_shmem_trylock_folios(struct vm_area_struct *vma,
					  unsigned long addr, unsigned int nr,
					  struct folio **folios,
					  struct page **pages);
bool uffd_rs_shmem_continue_pmd(struct vm_area_struct *vma, unsigned long addr);
unsigned long uffd_rs_hugetlb_page_size(struct vm_area_struct *vma);
u32 uffd_rs_hugetlb_lock(struct vm_area_struct *vma, unsigned long addr,
			 pte_t **ptepp);
void uffd_rs_hugetlb_unlock(struct vm_area_struct *vma, u32 hash);
spinlock_t *uffd_rs_huge_pte_lock(struct vm_area_struct *vma, pte_t *ptep);
void uffd_rs_set_huge_pte(struct vm_area_struct *vma, unsigned long addr,
			  pte_t *ptep, pte_t pte);
struct folio *uffd_rs_hugetlb_lock_cache_folio(struct vm_area_struct *vma,
					       unsigned long addr);
struct folio *uffd_rs_hugetlb_alloc_folio(struct vm_area_struct *vma,
					  unsigned long addr);
void uffd_rs_hugetlb_put_new_folio(struct vm_area_struct *vma,
				   unsigned long addr, struct folio *folio);
unsigned long uffd_rs_hugetlb_copy_from_user_nofault(struct folio *folio,
						     unsigned long src);
int uffd_rs_hugetlb_add_to_page_cache(struct vm_area_struct *vma,
				      unsigned long addr, struct folio *folio);
bool uffd_rs_hugetlb_pagecache_present(struct vm_area_struct *vma,
				       unsigned long addr);
void uffd_rs_folio_mark_uptodate(struct folio *folio);

/* C that Rust calls: shmem's steps of a fill, in mm/shmem.c */
int uffd_rs_shmem_acct_block(struct vm_area_struct *vma);
void uffd_rs_shmem_unacct_block(struct vm_area_struct *vma);
struct folio *uffd_rs_shmem_alloc_folio(struct vm_area_struct *vma,
					unsigned long addr, bool zeroed);
int uffd_rs_shmem_add_folio(struct vm_area_struct *vma, unsigned long addr,
			    struct folio *folio);
void uffd_rs_shmem_recalc_inode(struct vm_area_struct *vma);

/* C that Rust calls: hugetlb's steps of a fill, in mm/hugetlb.c */
struct folio *uffd_rs_hugetlb_alloc_temp_folio(struct vm_area_struct *vma,
					       unsigned long addr);
void uffd_rs_hugetlb_install_pte(struct vm_area_struct *vma,
				 unsigned long addr, pte_t *ptep,
				 struct folio *folio, unsigned int flags);
#else
static inline void userfaultfd_rs_init(void)
{
}
#endif

#endif /* _LINUX_USERFAULTFD_RS_H */
