// SPDX-License-Identifier: GPL-2.0
/*
 * C shims of the Rust userfaultfd implementation for what lives in mm's
 * internal headers (mm/internal.h, mm/vma.h), which the Rust bindings do
 * not see.
 */

#include <linux/mm.h>
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/memcontrol.h>
#include <linux/rmap.h>
#include <linux/shmem_fs.h>
#include <linux/userfaultfd_k.h>
#include <linux/userfaultfd_rs.h>
#include <asm/tlbflush.h>
#include <asm/tlb.h>
#include "internal.h"

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
 * The fill engine (mm/userfaultfd_rs_fill.rs) works on PTE tables, pages
 * and folios through these.  Each does one step of mm/userfaultfd.c's
 * mfill_atomic() family that needs C macros, internal headers or the
 * page-table allocators.
 */

/* Locks @vma for reading under the mmap lock, which excludes writers */
void uffd_rs_vma_read_lock_mmap_locked(struct vm_area_struct *vma)
{
	mmap_assert_locked(vma->vm_mm);
	down_read(&vma->vm_lock->lock);
}

/* 0, or -ENOMEM if @vma's anon_vma cannot be allocated */
int uffd_rs_anon_vma_prepare(struct vm_area_struct *vma)
{
	mmap_assert_locked(vma->vm_mm);
	return anon_vma_prepare(vma) ? -ENOMEM : 0;
}

/*
 * Makes sure the PTE table of @addr exists: allocates the levels above it
 * and the table, and gives its PMD entry in *@pmdp.  0, -ENOMEM, -EEXIST
 * (a huge PMD is there: the range is mapped already) or -EFAULT (a bad
 * PMD).
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

/* Whether @addr of a file VMA lies at or beyond the end of the file */
bool uffd_rs_file_over_size(struct vm_area_struct *vma, unsigned long addr)
{
	struct inode *inode;

	if (!vma->vm_file)
		return false;
	inode = vma->vm_file->f_inode;
	return linear_page_index(vma, addr) >=
	       DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE);
}

/*
 * The PTE mapping the zero page at @addr of @vma, or __pte(0) if this mm
 * may not map it (the caller then maps a zeroed folio).
 */
pte_t uffd_rs_zero_pte(struct vm_area_struct *vma, unsigned long addr)
{
	if (mm_forbids_zeropage(vma->vm_mm))
		return __pte(0);
	return pte_mkspecial(pfn_pte(my_zero_pfn(addr), vma->vm_page_prot));
}

/*
 * Maps @page at @addr where the PTE (@ptep, locked by the caller) maps
 * nothing: dirty, writable if @writable, uffd-wp if @wp.  A page-cache page
 * (@in_cache) is added to the file rmap, and to the LRU if
 * @newly_allocated; an anonymous one gets a new exclusive anon rmap and
 * goes to the LRU.  Then the RSS counter, the PTE and the MMU cache.
 */
void uffd_rs_install_page(struct vm_area_struct *vma, unsigned long addr,
			  pte_t *ptep, struct folio *folio, struct page *page,
			  bool writable, bool wp, bool in_cache,
			  bool newly_allocated)
{
	pte_t pte = pte_mkdirty(mk_pte(page, vma->vm_page_prot));

	if (writable)
		pte = pte_mkwrite(pte, vma);
	if (wp)
		pte = pte_mkuffd_wp(pte);
	if (in_cache) {
		if (newly_allocated)
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

/* Sets the PTE at @ptep (locked, mapping nothing) to @pte */
void uffd_rs_set_pte(struct vm_area_struct *vma, unsigned long addr,
		     pte_t *ptep, pte_t pte)
{
	set_pte_at(vma->vm_mm, addr, ptep, pte);
	update_mmu_cache(vma, addr, ptep);
}

/* A new anonymous folio for @addr, or a zeroed one if @zeroed */
struct folio *uffd_rs_alloc_folio(struct vm_area_struct *vma,
				  unsigned long addr, bool zeroed)
{
	if (zeroed)
		return vma_alloc_zeroed_movable_folio(vma, addr);
	return vma_alloc_folio(GFP_HIGHUSER_MOVABLE, 0, vma, addr, false);
}

/*
 * Copies user memory at @src into @folio: with @nofault, one page with page
 * faults disabled (the caller holds mm locks); else the whole folio.  0, or
 * the bytes not copied.
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

/* Marks a new folio up to date and charges it to @vma's memcg */
int uffd_rs_folio_prepare(struct vm_area_struct *vma, struct folio *folio)
{
	__folio_mark_uptodate(folio);
	return mem_cgroup_charge(folio, vma->vm_mm, GFP_KERNEL) ? -ENOMEM : 0;
}

void uffd_rs_folio_put(struct folio *folio)
{
	folio_put(folio);
}

bool uffd_rs_page_hwpoison(struct page *page)
{
	return PageHWPoison(page);
}

/*
 * The page-cache folio of @addr in shmem @vma, locked and referenced, and
 * its page at @addr; never allocates.  -EFAULT when there is none.
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
 * shmem's own COPY and ZEROPAGE of one page of a shared mapping (the page
 * goes into the page cache); the PTE table of @addr exists.
 */
int uffd_rs_shmem_mfill_atomic_pte(struct vm_area_struct *vma,
				   unsigned long addr, unsigned long src,
				   bool zeropage, bool wp, struct folio **foliop)
{
	pmd_t *pmd = pmd_off(vma->vm_mm, addr);
	uffd_flags_t flags = uffd_flags_set_mode(wp ? MFILL_ATOMIC_WP : 0,
		zeropage ? MFILL_ATOMIC_ZEROPAGE : MFILL_ATOMIC_COPY);

	return shmem_mfill_atomic_pte(pmd, vma, addr, src, flags, foliop);
}

#ifdef CONFIG_HUGETLB_PAGE
/*
 * The hugetlb fill's locks for @addr of hugetlb @vma: the fault mutex of
 * its page-cache index (serializes with faults on it), then the hugetlb
 * VMA lock (keeps shared PMDs in place); then the huge PTE of @addr in
 * *@ptepp, allocating the levels above it for pages of @size (NULL:
 * -ENOMEM, the locks are held all the same).  Returns the mutex's hash
 * for uffd_rs_hugetlb_unlock().
 */
u32 uffd_rs_hugetlb_lock(struct vm_area_struct *vma, unsigned long addr,
			 unsigned long size, pte_t **ptepp)
{
	pgoff_t idx = hugetlb_linear_page_index(vma, addr);
	u32 hash = hugetlb_fault_mutex_hash(vma->vm_file->f_mapping, idx);

	mutex_lock(&hugetlb_fault_mutex_table[hash]);
	hugetlb_vma_lock_read(vma);
	*ptepp = huge_pte_alloc(vma->vm_mm, vma, addr, size);
	return hash;
}

void uffd_rs_hugetlb_unlock(struct vm_area_struct *vma, u32 hash)
{
	hugetlb_vma_unlock_read(vma);
	mutex_unlock(&hugetlb_fault_mutex_table[hash]);
}

pte_t uffd_rs_huge_ptep_get(struct vm_area_struct *vma, unsigned long addr,
			    pte_t *ptep)
{
	return huge_ptep_get(vma->vm_mm, addr, ptep);
}

/* hugetlb's own fill of one huge page (mm/hugetlb.c) */
int uffd_rs_hugetlb_mfill_atomic_pte(struct vm_area_struct *vma,
				     unsigned long addr, pte_t *ptep,
				     unsigned long src, int mode, bool wp,
				     struct folio **foliop)
{
	uffd_flags_t flags = uffd_flags_set_mode(wp ? MFILL_ATOMIC_WP : 0,
						 mode);

	return hugetlb_mfill_atomic_pte(ptep, vma, addr, src, flags, foliop);
}
#endif
