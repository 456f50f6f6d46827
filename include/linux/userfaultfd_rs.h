/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entry points of the Rust userfaultfd implementation (mm/userfaultfd_rs.rs)
 * called from C.  With CONFIG_USERFAULTFD_RUST off they compile away and the
 * upstream C implementation is used.
 */
#ifndef _LINUX_USERFAULTFD_RS_H
#define _LINUX_USERFAULTFD_RS_H

#ifdef CONFIG_USERFAULTFD_RUST
#include <linux/mm_types.h>
#include <linux/pgtable.h>

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

struct userfaultfd_ctx;
struct vm_area_struct;

/* The fill ioctls (mm/userfaultfd_rs_fill.rs); fs/userfaultfd.c dispatches */
int userfaultfd_rs_copy(struct userfaultfd_ctx *ctx, unsigned long arg);
int userfaultfd_rs_zeropage(struct userfaultfd_ctx *ctx, unsigned long arg);
int userfaultfd_rs_continue(struct userfaultfd_ctx *ctx, unsigned long arg);
int userfaultfd_rs_poison(struct userfaultfd_ctx *ctx, unsigned long arg);

/* UFFDIO_WRITEPROTECT (mm/userfaultfd_rs_wp.rs); fs/userfaultfd.c dispatches */
int userfaultfd_rs_writeprotect(struct userfaultfd_ctx *ctx, unsigned long arg);
/* Wakes the faulters waiting in [start, start + len) (fs/userfaultfd.c) */
void userfaultfd_rs_wake(struct userfaultfd_ctx *ctx, unsigned long start,
			 unsigned long len);

/*
 * The uffd-wp decisions of the generic mm code (mm/memory.c), made in Rust
 * (mm/userfaultfd_rs_wp.rs).
 */
bool uffd_fault_orig_pte_uffd_wp(struct vm_area_struct *vma,
				 unsigned int fault_flags, pte_t orig_pte);
void zap_install_uffd_wp_markers(struct vm_area_struct *vma,
				 unsigned long addr, pte_t *pte, int nr,
				 pte_t pteval);

/* C shims for the Rust code (mm/userfaultfd_rs_shim.c) */
bool uffd_rs_vma_wants_manual_pte_write_upgrade(struct vm_area_struct *vma);
long uffd_rs_change_protection(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, unsigned long cp_flags);

/* The fill engine's steps (mm/userfaultfd_rs_shim.c) */
struct folio;
struct page;
void uffd_rs_vma_read_lock_mmap_locked(struct vm_area_struct *vma);
int uffd_rs_anon_vma_prepare(struct vm_area_struct *vma);
int uffd_rs_prepare_pte_table(struct mm_struct *mm, unsigned long addr,
			      pmd_t **pmdp);
bool uffd_rs_file_over_size(struct vm_area_struct *vma, unsigned long addr);
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
void uffd_rs_install_page(struct vm_area_struct *vma, unsigned long addr,
			  pte_t *ptep, struct folio *folio, struct page *page,
			  bool writable, bool wp, bool in_cache,
			  bool newly_allocated);
void uffd_rs_set_pte(struct vm_area_struct *vma, unsigned long addr,
		     pte_t *ptep, pte_t pte);
struct folio *uffd_rs_alloc_folio(struct vm_area_struct *vma,
				  unsigned long addr, bool zeroed);
unsigned long uffd_rs_copy_folio_from_user(struct folio *folio,
					   unsigned long src, bool nofault);
int uffd_rs_folio_prepare(struct vm_area_struct *vma, struct folio *folio);
void uffd_rs_folio_put(struct folio *folio);
bool uffd_rs_page_hwpoison(struct page *page);
int uffd_rs_shmem_get_folio(struct vm_area_struct *vma, unsigned long addr,
			    struct folio **foliop, struct page **pagep);
int uffd_rs_shmem_mfill_atomic_pte(struct vm_area_struct *vma,
				   unsigned long addr, unsigned long src,
				   bool zeropage, bool wp, struct folio **foliop);
u32 uffd_rs_hugetlb_lock(struct vm_area_struct *vma, unsigned long addr,
			 unsigned long size, pte_t **ptepp);
void uffd_rs_hugetlb_unlock(struct vm_area_struct *vma, u32 hash);
pte_t uffd_rs_huge_ptep_get(struct vm_area_struct *vma, unsigned long addr,
			    pte_t *ptep);
int uffd_rs_hugetlb_mfill_atomic_pte(struct vm_area_struct *vma,
				     unsigned long addr, pte_t *ptep,
				     unsigned long src, int mode, bool wp,
				     struct folio **foliop);

/* What a fault on a PTE marker does (handle_pte_marker() in mm/memory.c) */
int pte_marker_fault_action(struct vm_area_struct *vma, pte_t orig_pte);
#define PTE_MARKER_FAULT_SIGBUS		0	/* unknown marker */
#define PTE_MARKER_FAULT_HWPOISON	1	/* poisoned */
#define PTE_MARKER_FAULT_CLEAR		2	/* stale uffd-wp marker: drop it */
#define PTE_MARKER_FAULT_MISSING	3	/* uffd-wp marker: a missing fault */
#define PTE_MARKER_FAULT_EMPTY		4	/* a marker without bits: a bug */
#else
static inline int userfaultfd_rs_init(void)
{
	return 0;
}
#endif

#endif /* _LINUX_USERFAULTFD_RS_H */
