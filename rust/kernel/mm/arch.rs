// SPDX-License-Identifier: GPL-2.0

//! The architecture seam: PTE bit tests and loads that x86-64 does inline,
//! chosen once here.
//!
//! On x86-64 the functions here are bit operations on values whose
//! layout the kernel's headers give (the KUnit doctests of [`super::pte`]
//! compare them with the C helpers).  Every other architecture calls the
//! C helpers of `rust/helpers/`, one to one.  Both halves have the same
//! items with the same signatures, named as the C they stand for.

#[cfg(CONFIG_X86_64)]
mod x86_64;
#[cfg(CONFIG_X86_64)]
pub(super) use x86_64::*;

#[cfg(not(CONFIG_X86_64))]
mod generic;
#[cfg(not(CONFIG_X86_64))]
pub(super) use generic::*;
