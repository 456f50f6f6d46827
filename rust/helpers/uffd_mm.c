// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the Rust mm abstractions of the userfaultfd implementation
 * (rust/kernel/mm/): inline functions of the page-table and swap-entry
 * headers, wrapped so that Rust can call them.
 */

#include <linux/hugetlb.h>
#include <linux/swapops.h>

int rust_helper_pte_none(pte_t pte)
{
	return pte_none(pte);
}

int rust_helper_pte_present(pte_t pte)
{
	return pte_present(pte);
}

int rust_helper_is_swap_pte(pte_t pte)
{
	return is_swap_pte(pte);
}

swp_entry_t rust_helper_pte_to_swp_entry(pte_t pte)
{
	return pte_to_swp_entry(pte);
}

pte_t rust_helper_swp_entry_to_pte(swp_entry_t entry)
{
	return swp_entry_to_pte(entry);
}

swp_entry_t rust_helper_swp_entry(unsigned long type, pgoff_t offset)
{
	return swp_entry(type, offset);
}

#ifdef CONFIG_HUGETLB_PAGE
int rust_helper_huge_pte_none(pte_t pte)
{
	return huge_pte_none(pte);
}
#endif
