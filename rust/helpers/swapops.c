// SPDX-License-Identifier: GPL-2.0
/*
 * Swap-entry helpers for the Rust mm abstractions (rust/kernel/mm/): one
 * inline function each, under its own name.
 */

#include <linux/swapops.h>

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
