// SPDX-License-Identifier: GPL-2.0
/*
 * Page-table helpers for the Rust mm abstractions (rust/kernel/mm/): one
 * inline function or macro each, under its own name.
 */

#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/userfaultfd_k.h>

int rust_helper_pte_none(pte_t pte)
{
	return pte_none(pte);
}

int rust_helper_pte_present(pte_t pte)
{
	return pte_present(pte);
}

pte_t rust_helper_ptep_get(pte_t *ptep)
{
	return ptep_get(ptep);
}

void rust_helper_pte_unmap_unlock(pte_t *pte, spinlock_t *ptl)
{
	pte_unmap_unlock(pte, ptl);
}

void rust_helper_set_pte_at(struct mm_struct *mm, unsigned long addr,
			    pte_t *ptep, pte_t pte)
{
	set_pte_at(mm, addr, ptep, pte);
}

bool rust_helper_pte_uffd_wp(pte_t pte)
{
	return pte_uffd_wp(pte);
}

bool rust_helper_pte_swp_uffd_wp(pte_t pte)
{
	return pte_swp_uffd_wp(pte);
}

#ifdef CONFIG_HUGETLB_PAGE
int rust_helper_huge_pte_none(pte_t pte)
{
	return huge_pte_none(pte);
}

pte_t rust_helper_huge_ptep_get(struct mm_struct *mm, unsigned long addr,
				pte_t *ptep)
{
	return huge_ptep_get(mm, addr, ptep);
}
#endif

pte_t rust_helper_pte_swp_mkuffd_wp(pte_t pte)
{
	return pte_swp_mkuffd_wp(pte);
}

pte_t rust_helper_pte_swp_clear_uffd_wp(pte_t pte)
{
	return pte_swp_clear_uffd_wp(pte);
}

#ifdef CONFIG_HUGETLB_PAGE
bool rust_helper_huge_pte_write(pte_t pte)
{
	return huge_pte_write(pte);
}

int rust_helper_huge_pte_uffd_wp(pte_t pte)
{
	return huge_pte_uffd_wp(pte);
}

pte_t rust_helper_huge_pte_mkuffd_wp(pte_t pte)
{
	return huge_pte_mkuffd_wp(pte);
}

pte_t rust_helper_huge_pte_clear_uffd_wp(pte_t pte)
{
	return huge_pte_clear_uffd_wp(pte);
}
#endif
