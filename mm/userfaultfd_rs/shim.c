// SPDX-License-Identifier: GPL-2.0
/*
 * C shims of the Rust userfaultfd implementation (rust/kernel/mm/).
 *
 * The rule: a C function or macro that Rust needs one to one is wrapped in
 * rust/helpers/ as rust_helper_<its name>, and Rust calls it by that name.
 * What is here is a step that needs more than that: mm's internal headers
 * (mm/internal.h), which the Rust bindings do not see; a C stack frame
 * (the mmu_gather of a protection change points into itself); a walk or a
 * sequence of several calls that C does under one lock; or a macro that
 * takes a type.  Each is named uffd_rs_<what it does> and says which C it
 * stands for.
 */

#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/memcontrol.h>
#include <linux/rmap.h>
#include <linux/sched/signal.h>
#include <linux/shmem_fs.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>
#include <linux/userfaultfd_rs.h>
#include <linux/pgalloc.h>
#include <asm/tlb.h>
#include "../internal.h"

/* vma_wants_manual_pte_write_upgrade() lives in mm/internal.h */
bool uffd_rs_vma_wants_manual_pte_write_upgrade(struct vm_area_struct *vma)
{
	return vma_wants_manual_pte_write_upgrade(vma);
}

/*
 * change_protection() of [start, end) in @vma with its own TLB batch: the
 * mmu_gather points into itself, so it lives on this C stack frame rather
 * than in Rust.  The caller holds the mmap lock.
 */
long uffd_rs_change_protection(struct vm_area_struct *vma, unsigned long start,
			       unsigned long end, unsigned long cp_flags)
{
	struct mmu_gather tlb;
	long ret;

	tlb_gather_mmu(&tlb, vma->vm_mm);
	ret = change_protection(&tlb, vma, start, end, cp_flags);
	tlb_finish_mmu(&tlb);
	return ret;
}

/*
 * Read-locks @vma under the mmap lock, which excludes writers, so that it
 * cannot fail (the tail of uffd_lock_vma() in mm/userfaultfd.c).
 */
void uffd_rs_vma_read_lock_mmap_locked(struct vm_area_struct *vma)
{
	mmap_assert_locked(vma->vm_mm);
	down_read(&vma->vm_lock->lock);
}

/*
 * Makes sure the PTE table of @addr exists (mm_alloc_pmd() and the PMD
 * checks of mfill_atomic()): allocates the levels above it and the table,
 * and gives its PMD entry in *@pmdp.  0, -ENOMEM, -EEXIST (a huge PMD is
 * there: the range is mapped already) or -EFAULT (a bad PMD).
 */
int uffd_rs_prepare_pte_table(struct mm_struct *mm, unsigned long addr,
			      pmd_t **pmdp)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmd, pmdval;

	p4d = p4d_alloc(mm, pgd, addr);
	if (!p4d)
		return -ENOMEM;
	pud = pud_alloc(mm, p4d, addr);
	if (!pud)
		return -ENOMEM;
	pmd = pmd_alloc(mm, pud, addr);
	if (!pmd)
		return -ENOMEM;
	pmdval = pmdp_get_lockless(pmd);
	if (unlikely(pmd_none(pmdval)) && unlikely(__pte_alloc(mm, pmd)))
		return -ENOMEM;
	pmdval = pmdp_get_lockless(pmd);
	if (unlikely(!pmd_present(pmdval) || pmd_trans_huge(pmdval) ||
		     pmd_devmap(pmdval)))
		return -EEXIST;
	if (unlikely(pmd_bad(pmdval)))
		return -EFAULT;
	*pmdp = pmd;
	return 0;
}

/*
 * The PMD entry that covers @addr, or NULL when an upper level is not
 * populated or is a huge leaf (the walk of the debugfs probe).  The caller
 * holds the mmap lock or the VMA lock, which keeps the upper levels from
 * being freed; whether the PMD points at a PTE table is for
 * pte_offset_map_lock() to decide.
 */
pmd_t *uffd_rs_find_pmd(struct mm_struct *mm, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;

	if (!pgd_present(*pgd))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (!p4d_present(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (!pud_present(*pud) || pud_leaf(*pud))
		return NULL;
	return pmd_offset(pud, addr);
}

/*
 * The PTE mapping the zero page at @addr of @vma, or __pte(0) if this mm
 * may not map it (mfill_atomic_pte_zeropage(); the caller then maps a
 * zeroed folio).
 */
pte_t uffd_rs_zero_pte(struct vm_area_struct *vma, unsigned long addr)
{
	if (mm_forbids_zeropage(vma->vm_mm))
		return __pte(0);
	return pte_mkspecial(pfn_pte(my_zero_pfn(addr), vma->vm_page_prot));
}

/* set_pte_at() and update_mmu_cache() of a PTE (locked, mapping nothing) */
void uffd_rs_set_pte(struct vm_area_struct *vma, unsigned long addr,
		     pte_t *ptep, pte_t pte)
{
	set_pte_at(vma->vm_mm, addr, ptep, pte);
	update_mmu_cache(vma, addr, ptep);
}

/*
 * The second half of mfill_atomic_install_pte(): maps @page at @addr,
 * whose PTE (@ptep) the caller has locked and found none or a marker, and
 * beyond the end of no file.  The first half (the lock and those checks)
 * is Rust's, which so fails EEXIST and EFAULT without building a PTE.
 * @flags: UFFD_RS_PTE_*.  A page-cache page gets a file rmap (and the LRU
 * if the fill just added it: UFFD_RS_PTE_NEW); an anonymous one a new
 * exclusive anon rmap and the LRU.
 */
void uffd_rs_install_pte(struct vm_area_struct *vma, unsigned long addr,
			 pte_t *ptep, struct page *page, unsigned int flags)
{
	struct folio *folio = page_folio(page);
	pte_t pte = pte_mkdirty(mk_pte(page, vma->vm_page_prot));

	if (flags & UFFD_RS_PTE_WRITABLE)
		pte = pte_mkwrite(pte, vma);
	if (flags & UFFD_RS_PTE_UFFD_WP)
		pte = pte_mkuffd_wp(pte);
	if (flags & UFFD_RS_PTE_IN_CACHE) {
		/* A page-cache folio the fill just added joins the LRU */
		if (flags & UFFD_RS_PTE_NEW)
			folio_add_lru(folio);
		folio_add_file_rmap_pte(folio, page, vma);
	} else {
		folio_add_new_anon_rmap(folio, vma, addr, RMAP_EXCLUSIVE);
		folio_add_lru_vma(folio, vma);
	}
	inc_mm_counter(vma->vm_mm, mm_counter(folio));
	set_pte_at(vma->vm_mm, addr, ptep, pte);
	update_mmu_cache(vma, addr, ptep);
}

/* One warning for the Rust guard against overwriting a live PTE */
void uffd_rs_warn_pte_not_none(void)
{
	WARN_ON_ONCE(1);
}

/*
 * A new anonymous folio for @addr, zeroed if @zeroed (the allocators are
 * macros over the _noprof functions).  @noretry: for a page a batched fill
 * takes ahead of its turn, which C would not allocate yet; it fails
 * rather than reclaim hard or warn, and the page is allocated again in
 * its turn as C allocates it.
 */
struct folio *uffd_rs_alloc_folio(struct vm_area_struct *vma,
				  unsigned long addr, bool zeroed, bool noretry)
{
	gfp_t gfp = GFP_HIGHUSER_MOVABLE;

	if (zeroed)
		return vma_alloc_zeroed_movable_folio(vma, addr);
	if (noretry)
		gfp |= __GFP_NORETRY | __GFP_NOWARN;
	return vma_alloc_folio(gfp, 0, vma, addr, false);
}

/*
 * Copies user memory at @src into @folio (mfill_atomic_pte_copy()): with
 * @nofault, one page with page faults disabled (the caller holds mm
 * locks); else the whole folio.  0, or the bytes not copied.
 */
unsigned long uffd_rs_copy_folio_from_user(struct folio *folio,
					   unsigned long src, bool nofault)
{
	void *kaddr;
	unsigned long left;

	/* Faults allowed: the whole folio, which may be a huge one */
	if (!nofault)
		return copy_folio_from_user(folio, (const void __user *)src,
					    true);
	kaddr = kmap_local_folio(folio, 0);
	pagefault_disable();
	left = copy_from_user(kaddr, (const void __user *)src, PAGE_SIZE);
	pagefault_enable();
	kunmap_local(kaddr);
	if (!left)
		flush_dcache_folio(folio);
	return left;
}

/*
 * Marks a new folio up to date and charges it to @vma's memcg
 * (mfill_atomic_pte_copy()): 0 or -ENOMEM.  @noretry as for
 * uffd_rs_alloc_folio(): a charge over the limit then fails after one
 * round of reclaim, without the memcg OOM killer.
 */
int uffd_rs_folio_prepare(struct vm_area_struct *vma, struct folio *folio,
			  bool noretry)
{
	gfp_t gfp = GFP_KERNEL;

	if (noretry)
		gfp |= __GFP_NORETRY | __GFP_NOWARN;
	__folio_mark_uptodate(folio);
	return mem_cgroup_charge(folio, vma->vm_mm, gfp) ? -ENOMEM : 0;
}

/*
 * The page-cache folio of @addr in shmem @vma, locked and referenced, and
 * its page at @addr; never allocates (mfill_atomic_pte_continue()).
 * -EFAULT when there is none.
 */
int uffd_rs_shmem_get_folio(struct vm_area_struct *vma, unsigned long addr,
			    struct folio **foliop, struct page **pagep)
{
	pgoff_t pgoff = linear_page_index(vma, addr);
	int ret;

	*foliop = NULL;
	ret = shmem_get_folio(file_inode(vma->vm_file), pgoff, 0, foliop,
			      SGP_NOALLOC);
	if (ret == -ENOENT || (!ret && !*foliop))
		ret = -EFAULT;
	if (ret)
		return ret;
	*pagep = folio_file_page(*foliop, pgoff);
	return 0;
}

/*
 * The page-cache folios of the pages from @addr on in shmem @vma, up to
 * @nr of them, each locked and referenced in @folios with its page in
 * @pages, while taking them needs no sleep: shmem_get_folio() of
 * SGP_NOALLOC would return each as it is (within i_size, uptodate, still
 * in the mapping), its lock is free and its page is not poisoned.  One
 * walk of the page cache for all of them, under RCU, as the fault-around
 * of filemap_map_pages() takes its folios.  Returns how many pages from
 * @addr on got theirs; the first page that does not (a hole, a swapped
 * out page, a folio locked, by us too for the next page of a large
 * folio, or changing under the walk) ends the run, and the caller asks
 * uffd_rs_shmem_get_folio() for it, which may sleep (and gives the
 * errors).  For the pages after the first of a run of UFFDIO_CONTINUE,
 * looked up before the run's PTE lock is taken; the first one is the only
 * lock the run waits for.
 */
unsigned int uffd_rs_shmem_trylock_folios(struct vm_area_struct *vma,
					  unsigned long addr, unsigned int nr,
					  struct folio **folios,
					  struct page **pages)
{
	struct inode *inode = file_inode(vma->vm_file);
	struct address_space *mapping = inode->i_mapping;
	pgoff_t pgoff = linear_page_index(vma, addr);
	pgoff_t end = DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE);
	XA_STATE(xas, &mapping->i_pages, pgoff);
	unsigned int n;

	rcu_read_lock();
	for (n = 0; n < nr && pgoff + n < end; n++) {
		struct folio *folio = n ? xas_next(&xas) : xas_load(&xas);

		if (!folio || xa_is_internal(folio) || xa_is_value(folio))
			break;
		if (!folio_try_get(folio))
			break;
		if (unlikely(folio != xas_reload(&xas)))
			goto put;
		if (!folio_trylock(folio))
			goto put;
		if (folio->mapping != mapping || !folio_test_uptodate(folio) ||
		    PageHWPoison(folio_file_page(folio, pgoff + n)))
			goto unlock;
		folios[n] = folio;
		pages[n] = folio_file_page(folio, pgoff + n);
		continue;
unlock:
		folio_unlock(folio);
put:
		folio_put(folio);
		break;
	}
	rcu_read_unlock();
	return n;
}

/*
 * UFFDIO_CONTINUE of the PMD_SIZE block at @addr of shmem @vma with one
 * PMD, as a fault maps a PMD-sized page-cache folio (do_set_pmd()): when
 * the block lies within i_size, its PMD entry is empty (no PTE table, so
 * no page of it is mapped and no marker kept), the page cache holds one
 * PMD-sized folio for all of it, and do_set_pmd() finds the VMA fit for a
 * PMD there (address and file offset aligned, the block inside the VMA,
 * THP not disabled for it, no poisoned page).  Writable and dirty in a
 * writable shared mapping, as mfill_atomic_install_pte() makes each PTE
 * (Rust asks only for those: a read-only PMD would be unmapped whole by
 * the first write).
 * Returns true when mapped (the lookup's reference went to the mapping);
 * false, having mapped nothing, for the caller to map the pages with PTEs
 * (which also gives any error).  The caller holds the VMA's lock.
 */
bool uffd_rs_shmem_continue_pmd(struct vm_area_struct *vma, unsigned long addr)
{
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	struct inode *inode = file_inode(vma->vm_file);
	pgoff_t pgoff = linear_page_index(vma, addr);
	struct vm_fault vmf = {
		.vma = vma,
		.address = addr,
		.pgoff = pgoff,
	};
	struct folio *folio = NULL;
	bool mapped = false;
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;

	if ((loff_t)(pgoff + HPAGE_PMD_NR) << PAGE_SHIFT > i_size_read(inode))
		return false;
	pgd = pgd_offset(vma->vm_mm, addr);
	p4d = p4d_alloc(vma->vm_mm, pgd, addr);
	if (!p4d)
		return false;
	pud = pud_alloc(vma->vm_mm, p4d, addr);
	if (!pud)
		return false;
	vmf.pmd = pmd_alloc(vma->vm_mm, pud, addr);
	if (!vmf.pmd || !pmd_none(pmdp_get_lockless(vmf.pmd)))
		return false;
	if (shmem_get_folio(inode, pgoff, 0, &folio, SGP_NOALLOC) || !folio)
		return false;
	if (folio->index == pgoff && folio_test_pmd_mappable(folio)) {
		if ((vma->vm_flags & (VM_SHARED | VM_WRITE)) ==
		    (VM_SHARED | VM_WRITE))
			vmf.flags = FAULT_FLAG_WRITE;
		mapped = !do_set_pmd(&vmf, &folio->page);
	}
	if (vmf.prealloc_pte)
		pte_free(vma->vm_mm, vmf.prealloc_pte);
	folio_unlock(folio);
	if (!mapped)
		folio_put(folio);
	return mapped;
#else
	return false;
#endif
}

/* The result field of a userfaultfd ioctl: 0 or -EFAULT (put_user()) */
int uffd_rs_put_user_s64(s64 value, s64 __user *ptr)
{
	return put_user(value, ptr);
}

/* One call per filled page: cond_resched(), then fatal_signal_pending() */
bool uffd_rs_cond_resched_fatal_signal_pending(void)
{
	cond_resched();
	return fatal_signal_pending(current);
}

/* The same without cond_resched(), for a page filled under a held lock */
bool uffd_rs_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

#ifdef CONFIG_HUGETLB_PAGE
/*
 * huge_page_size(hstate_vma(@vma)) of a hugetlb VMA: what
 * vma_kernel_pagesize() answers for it, without its indirect call through
 * vm_ops (a retpoline with the Spectre mitigations).
 */
unsigned long uffd_rs_hugetlb_page_size(struct vm_area_struct *vma)
{
	return huge_page_size(hstate_vma(vma));
}

/*
 * The hugetlb fill's locks for @addr of hugetlb @vma (the start of the
 * loop of mfill_atomic_hugetlb()): the fault mutex of its page-cache index
 * (serializes with faults on it), then the hugetlb VMA lock (keeps shared
 * PMDs in place); then the huge PTE of @addr in *@ptepp, allocating the
 * levels above it (NULL: -ENOMEM, the locks are held all the same).
 * Returns the mutex's hash for uffd_rs_hugetlb_unlock().
 */
u32 uffd_rs_hugetlb_lock(struct vm_area_struct *vma, unsigned long addr,
			 pte_t **ptepp)
{
	pgoff_t idx = hugetlb_linear_page_index(vma, addr);
	u32 hash = hugetlb_fault_mutex_hash(vma->vm_file->f_mapping, idx);

	mutex_lock(&hugetlb_fault_mutex_table[hash]);
	hugetlb_vma_lock_read(vma);
	*ptepp = huge_pte_alloc(vma->vm_mm, vma, addr,
				huge_page_size(hstate_vma(vma)));
	return hash;
}

void uffd_rs_hugetlb_unlock(struct vm_area_struct *vma, u32 hash)
{
	hugetlb_vma_unlock_read(vma);
	mutex_unlock(&hugetlb_fault_mutex_table[hash]);
}

/* huge_pte_lock() of @ptep, a huge PTE of @vma: the lock taken */
spinlock_t *uffd_rs_huge_pte_lock(struct vm_area_struct *vma, pte_t *ptep)
{
	return huge_pte_lock(hstate_vma(vma), vma->vm_mm, ptep);
}

/*
 * set_huge_pte_at() and update_mmu_cache() of a huge PTE (locked, mapping
 * nothing before and after: a marker)
 */
void uffd_rs_set_huge_pte(struct vm_area_struct *vma, unsigned long addr,
			  pte_t *ptep, pte_t pte)
{
	set_huge_pte_at(vma->vm_mm, addr, ptep, pte,
			huge_page_size(hstate_vma(vma)));
	update_mmu_cache(vma, addr, ptep);
}

/*
 * The page-cache folio of @addr of hugetlb @vma, locked and referenced,
 * or NULL without one (hugetlb_mfill_atomic_pte()'s CONTINUE lookup)
 */
struct folio *uffd_rs_hugetlb_lock_cache_folio(struct vm_area_struct *vma,
					       unsigned long addr)
{
	struct folio *folio;

	folio = filemap_lock_hugetlb_folio(hstate_vma(vma),
					   vma->vm_file->f_mapping,
					   hugetlb_linear_page_index(vma, addr));
	if (IS_ERR(folio))
		return NULL;
	WARN_ON_ONCE(!folio_test_uptodate(folio));
	return folio;
}

/*
 * A new huge folio for @addr of @vma, from its reservation if it has one,
 * or NULL (alloc_hugetlb_folio()).
 */
struct folio *uffd_rs_hugetlb_alloc_folio(struct vm_area_struct *vma,
					  unsigned long addr)
{
	struct folio *folio = alloc_hugetlb_folio(vma, addr, false);

	return IS_ERR(folio) ? NULL : folio;
}

/*
 * Drops a new huge folio that was not mapped, giving its reservation back
 * (restore_reserve_on_error(), then folio_put())
 */
void uffd_rs_hugetlb_put_new_folio(struct vm_area_struct *vma,
				   unsigned long addr, struct folio *folio)
{
	restore_reserve_on_error(hstate_vma(vma), vma, addr, folio);
	folio_put(folio);
}

/*
 * Copies a huge folio from user memory at @src with page faults disabled
 * (the caller holds mm locks): 0, or the bytes not copied.
 */
unsigned long uffd_rs_hugetlb_copy_from_user_nofault(struct folio *folio,
						     unsigned long src)
{
	return copy_folio_from_user(folio, (const void __user *)src, false);
}

/*
 * Adds a new huge folio to the page cache of shared @vma at @addr, under
 * the fault mutex; locked on success (0).
 */
int uffd_rs_hugetlb_add_to_page_cache(struct vm_area_struct *vma,
				      unsigned long addr, struct folio *folio)
{
	return hugetlb_add_to_page_cache(folio, vma->vm_file->f_mapping,
					 hugetlb_linear_page_index(vma, addr));
}

/*
 * Whether the page cache of shared hugetlb @vma holds the page of @addr
 * (a COPY there is EEXIST)
 */
bool uffd_rs_hugetlb_pagecache_present(struct vm_area_struct *vma,
				       unsigned long addr)
{
	return hugetlbfs_pagecache_present(hstate_vma(vma), vma, addr);
}

/* Marks a new folio, filled, up to date before it is mapped or cached */
void uffd_rs_folio_mark_uptodate(struct folio *folio)
{
	__folio_mark_uptodate(folio);
}
#endif
