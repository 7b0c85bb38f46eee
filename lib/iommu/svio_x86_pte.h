/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * x86-64 4-level paging entry format (Intel SDM vol. 3, "4-Level Paging"),
 * as walked by a first-stage IOMMU translation (VT-d scalable mode).
 *
 * Every level holds 512 eight-byte entries in one 4 KiB page. Level 4 (PML4)
 * translates bits 47..39, level 3 (PDPT) 38..30, level 2 (PD) 29..21 and
 * level 1 (PT) 20..12. PS at level 3 or 2 makes the entry a 1 GiB or 2 MiB leaf.
 */
#ifndef SVIO_X86_PTE_H
#define SVIO_X86_PTE_H

#include <stdint.h>

#define SVIO_PTE_P  (UINT64_C(1) << 0) /**< present */
#define SVIO_PTE_RW (UINT64_C(1) << 1) /**< writes allowed */
#define SVIO_PTE_US (UINT64_C(1) << 2) /**< user-mode access allowed */
#define SVIO_PTE_A  (UINT64_C(1) << 5) /**< accessed (set by the walker) */
#define SVIO_PTE_D  (UINT64_C(1) << 6) /**< dirty (set by the walker, leaves only) */
#define SVIO_PTE_PS (UINT64_C(1) << 7) /**< large page, levels 2 and 3 only */

/** Bits 12..51: address of the next table or of the page frame. */
#define SVIO_PTE_ADDR_MASK UINT64_C(0x000ffffffffff000)

#define SVIO_PT_LEVELS	   4
#define SVIO_PT_ENTRIES	   512
#define SVIO_PT_PAGE_SHIFT 12
#define SVIO_PT_PAGE_SIZE  (UINT64_C(1) << SVIO_PT_PAGE_SHIFT)
#define SVIO_PT_LEVEL_BITS 9
/** Input addresses are 48 bits wide. */
#define SVIO_PT_VA_BITS 48

/** Shift of the address bits that index a table at @p level (1..4). */
static inline unsigned int svio_pt_level_shift(unsigned int level)
{
	return SVIO_PT_PAGE_SHIFT + (level - 1) * SVIO_PT_LEVEL_BITS;
}

/** Index into the table at @p level for @p va. */
static inline unsigned int svio_pt_index(uint64_t va, unsigned int level)
{
	return (unsigned int)(va >> svio_pt_level_shift(level)) & (SVIO_PT_ENTRIES - 1);
}

#endif /* SVIO_X86_PTE_H */
