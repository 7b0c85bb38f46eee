/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Register interface of the built-in scratch device (BAR 0): the smallest
 * device a driver can talk to, used to prove the path from the command line
 * to a probed device, and as a DMA engine in IOMMU tests and benchmarks.
 * This is the device's "datasheet": drivers may include it.
 */
#ifndef SCRATCH_HW_H
#define SCRATCH_HW_H

#define SCRATCH_BAR0_SIZE 0x200

#define SCRATCH_REG_ID      0x000 /* RO: SCRATCH_ID */
#define SCRATCH_REG_VERSION 0x008 /* RO: SCRATCH_VERSION */
#define SCRATCH_REG_NREGS   0x010 /* RO: number of scratch registers */
#define SCRATCH_REG_SCRATCH 0x040 /* RW: SCRATCH_NREGS 64-bit registers */
#define SCRATCH_NREGS       16

/*
 * DMA engine: program ADDR, LEN, PASID and PATTERN, then write CTRL.
 * TO_MEM fills [ADDR, ADDR + LEN) with PATTERN bytes; FROM_MEM reads the range
 * and leaves the sum of its bytes in RESULT. STATUS is 0 or a negative errno
 * (as a two's complement 64-bit value) once CTRL reads back 0.
 */
#define SCRATCH_REG_DMA_ADDR    0x100
#define SCRATCH_REG_DMA_LEN     0x108
#define SCRATCH_REG_DMA_PASID   0x110 /* SCRATCH_PASID_NONE: untagged */
#define SCRATCH_REG_DMA_PATTERN 0x118
#define SCRATCH_REG_DMA_CTRL    0x120
#define SCRATCH_REG_DMA_STATUS  0x128
#define SCRATCH_REG_DMA_RESULT  0x130

#define SCRATCH_ID          0x5343524154434831ull /* "SCRATCH1" */
#define SCRATCH_VERSION     1
#define SCRATCH_PASID_NONE  0xffffffffu
#define SCRATCH_CTRL_GO     0x1
#define SCRATCH_CTRL_TO_MEM 0x2
#define SCRATCH_DMA_MAX_LEN (1u << 20)

#endif /* SCRATCH_HW_H */
