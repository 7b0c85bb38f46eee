/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The built-in IOMMU's hardware interface (the "spec"): a scalable-mode
 * VT-d-like IOMMU. Drivers program it through BAR 0 registers and in-memory
 * structures only; a "physical address" is a pointer value of this process.
 * Offsets and bit positions follow Intel VT-d where practical; the table and
 * descriptor formats are simplified where noted.
 *
 * Register access: BAR 0, 4- or 8-byte, naturally aligned.
 *
 * Memory structures (all little endian, written by the driver, read by the
 * IOMMU with acquire loads, so write the word holding the Present bit last
 * with a release store):
 *
 *   RTADDR -> root table: 256 x 16-byte root entries, indexed by bus (sid >> 8)
 *     root entry lo: P, context table pointer (4 KiB aligned)
 *   context table: 256 x 16-byte context entries, indexed by devfn (sid & 0xff)
 *     lo: P, DTE (device-TLB allowed), PRE (page requests allowed), PDTS,
 *         PASID directory pointer; hi: RID_PASID (PASID used for untagged DMA)
 *   PASID directory: (1 << (PDTS + 7)) x 8-byte entries, indexed by pasid >> 6
 *     entry: P, PASID table pointer (4 KiB aligned)
 *   PASID table: 64 x 32-byte PASID entries, indexed by pasid & 63
 *     qw0: P, PGTT (must be 1: first-stage); qw1: DID; qw2: first-stage root
 *   first-stage table: x86-64 4-level paging (PML4 -> PDPT -> PD -> PT)
 *
 * Requests are treated as user-mode requests: every level of a first-stage
 * walk needs U/S set (as VT-d does for untagged and unprivileged requests)
 * unless the instance was created with user=off. Writes need R/W at every
 * level. Accessed/dirty bits are not written by this model.
 */
#ifndef SIM_IOMMU_HW_H
#define SIM_IOMMU_HW_H

#include <stdint.h>

#define SIM_IOMMU_BAR0_SIZE  0x1000
#define SIM_IOMMU_PAGE_SHIFT 12
#define SIM_IOMMU_PAGE_SIZE  (1ull << SIM_IOMMU_PAGE_SHIFT)

/* Registers (BAR 0). */
#define SIM_IOMMU_REG_VER    0x000 /* 32: version, major 7:4 minor 3:0 */
#define SIM_IOMMU_REG_CAP    0x008 /* 64 */
#define SIM_IOMMU_REG_ECAP   0x010 /* 64 */
#define SIM_IOMMU_REG_GCMD   0x018 /* 32, write only: desired state + one-shot commands */
#define SIM_IOMMU_REG_GSTS   0x01c /* 32, read only */
#define SIM_IOMMU_REG_RTADDR 0x020 /* 64: root table address, latched by GCMD.SRTP */
#define SIM_IOMMU_REG_FSTS   0x034 /* 32: fault status, write 1 to clear */
#define SIM_IOMMU_REG_FECTL  0x038 /* 32: fault event control (faults are polled) */
#define SIM_IOMMU_REG_IQH    0x080 /* 64, read only: invalidation queue head (byte offset) */
#define SIM_IOMMU_REG_IQT    0x088 /* 64: invalidation queue tail (byte offset) */
#define SIM_IOMMU_REG_IQA    0x090 /* 64: queue base | QS */
#define SIM_IOMMU_REG_ICS    0x09c /* 32: invalidation completion status, W1C */
#define SIM_IOMMU_REG_IQERCD 0x0b0 /* 64, read only: queue error record */
#define SIM_IOMMU_REG_PQH    0x0c0 /* 64: page request queue head (byte offset), driver-owned */
#define SIM_IOMMU_REG_PQT    0x0c8 /* 64, read only: page request queue tail (byte offset) */
#define SIM_IOMMU_REG_PQA    0x0d0 /* 64: page request queue base | PQS */
#define SIM_IOMMU_REG_PRS    0x0dc /* 32: page request status, W1C */
#define SIM_IOMMU_REG_PECTL  0x0e0 /* 32: page request event control */
/* Model-specific: 64-bit read-only counters at SIM_IOMMU_REG_CTR(enum sim_iommu_ctr). */
#define SIM_IOMMU_REG_CTR_BASE 0x200
#define SIM_IOMMU_REG_CTR(i)   (SIM_IOMMU_REG_CTR_BASE + 8u * (unsigned int)(i))
/* Model-specific: write anything to zero every counter. */
#define SIM_IOMMU_REG_CTR_RESET 0x1f8

#define SIM_IOMMU_VERSION 0x60

/* CAP */
#define SIM_IOMMU_CAP_ND_MASK	   0x7ull	/* number of domain ids: 1 << (4 + 2 * ND) */
#define SIM_IOMMU_CAP_PSI	   (1ull << 39) /* page-selective IOTLB invalidation */
#define SIM_IOMMU_CAP_MAMV_SHIFT   48		/* largest address mask value, 53:48 */
#define SIM_IOMMU_CAP_MAMV_MASK	   (0x3full << SIM_IOMMU_CAP_MAMV_SHIFT)
#define SIM_IOMMU_CAP_FL1GP	   (1ull << 56) /* first-stage 1 GiB pages */
#define SIM_IOMMU_CAP_ND(cap)	   ((unsigned int)((cap)&SIM_IOMMU_CAP_ND_MASK))
#define SIM_IOMMU_CAP_DOMAINS(cap) (1u << (4 + 2 * SIM_IOMMU_CAP_ND(cap)))
#define SIM_IOMMU_CAP_MAMV(cap) \
	((unsigned int)(((cap)&SIM_IOMMU_CAP_MAMV_MASK) >> SIM_IOMMU_CAP_MAMV_SHIFT))

/* ECAP */
#define SIM_IOMMU_ECAP_QI	 (1ull << 1)  /* queued invalidation */
#define SIM_IOMMU_ECAP_DT	 (1ull << 2)  /* device-TLB (ATS) */
#define SIM_IOMMU_ECAP_PRS	 (1ull << 29) /* page requests */
#define SIM_IOMMU_ECAP_PSS_SHIFT 35	      /* PASID bits - 1, 39:35 */
#define SIM_IOMMU_ECAP_PSS_MASK	 (0x1full << SIM_IOMMU_ECAP_PSS_SHIFT)
#define SIM_IOMMU_ECAP_PASID	 (1ull << 40)
#define SIM_IOMMU_ECAP_SMTS	 (1ull << 43) /* scalable-mode tables */
#define SIM_IOMMU_ECAP_FLTS	 (1ull << 47) /* first-stage translation */
#define SIM_IOMMU_ECAP_PASID_BITS(ecap)                                                           \
	((ecap)&SIM_IOMMU_ECAP_PASID                                                              \
		 ? (unsigned int)(((ecap)&SIM_IOMMU_ECAP_PSS_MASK) >> SIM_IOMMU_ECAP_PSS_SHIFT) + \
			   1                                                                      \
		 : 0u)

/* GCMD / GSTS */
#define SIM_IOMMU_GCMD_TE   (1u << 31) /* translation enable */
#define SIM_IOMMU_GCMD_SRTP (1u << 30) /* set root table pointer (one-shot) */
#define SIM_IOMMU_GCMD_QIE  (1u << 26) /* queued invalidation enable; clearing resets IQH */
#define SIM_IOMMU_GSTS_TES  (1u << 31)
#define SIM_IOMMU_GSTS_RTPS (1u << 30)
#define SIM_IOMMU_GSTS_QIES (1u << 26)

/* FSTS */
#define SIM_IOMMU_FSTS_IQE (1u << 4) /* invalidation queue error: processing stopped */

/* IQA: base 63:12, DW bit 11 (256-bit descriptors: not supported, must be 0), QS 2:0. */
#define SIM_IOMMU_IQA_QS_MASK	 0x7ull /* 1 << QS pages of 256 descriptors */
#define SIM_IOMMU_IQA_DW	 (1ull << 11)
#define SIM_IOMMU_IQA_ADDR_MASK	 (~0xfffull)
#define SIM_IOMMU_IQ_DESC_SIZE	 16
#define SIM_IOMMU_IQ_ENTRIES(qs) (256u << (qs))

/* ICS */
#define SIM_IOMMU_ICS_IWC (1u << 0) /* a wait descriptor with IF completed */

/*
 * IQERCD: bits 3:0 the error code (enum sim_iommu_iqe); bits 31:16 the index
 * of the descriptor that failed (IQH also points at it until recovery).
 */
#define SIM_IOMMU_IQERCD_CODE(v)  ((unsigned int)((v)&0xf))
#define SIM_IOMMU_IQERCD_INDEX(v) ((unsigned int)(((v) >> 16) & 0xffff))

enum sim_iommu_iqe {
	SIM_IOMMU_IQE_NONE = 0,
	SIM_IOMMU_IQE_TYPE = 1,	    /**< unknown descriptor type */
	SIM_IOMMU_IQE_RESERVED = 2, /**< a reserved bit or field is set */
	SIM_IOMMU_IQE_ALIGN = 3,    /**< address not aligned to its size / status address */
	SIM_IOMMU_IQE_MASK = 4,	    /**< address mask larger than CAP.MAMV */
	SIM_IOMMU_IQE_NO_ATS = 5,   /**< device-TLB invalidation for a device without ATS */
	SIM_IOMMU_IQE_TAIL = 6,	    /**< IQT outside the queue or not descriptor aligned */
	SIM_IOMMU_IQE_GRAN = 7,	    /**< invalid granularity */
};

/* PQA: base 63:12, PQS 2:0: 1 << PQS pages of 128 page requests. */
#define SIM_IOMMU_PQA_QS_MASK	 0x7ull
#define SIM_IOMMU_PQA_ADDR_MASK	 (~0xfffull)
#define SIM_IOMMU_PQ_DESC_SIZE	 32
#define SIM_IOMMU_PQ_ENTRIES(qs) (128u << (qs))

/* PRS */
#define SIM_IOMMU_PRS_PPR (1u << 0) /* pending page request */
#define SIM_IOMMU_PRS_PRO (1u << 1) /* the queue overflowed: a request was auto-failed */

/* FECTL / PECTL: IM masks the event's interrupt (vector 0 for page requests). */
#define SIM_IOMMU_ECTL_IM   (1u << 31)
#define SIM_IOMMU_PR_VECTOR 0

/*
 * Invalidation descriptors: 128 bits (qw0, qw1). Type in qw0 bits 3:0 (bits
 * 11:9 are the high type bits in VT-d and must be 0 here).
 */
#define SIM_IOMMU_DESC_TYPE(qw0)    ((unsigned int)((qw0)&0xf))
#define SIM_IOMMU_DESC_TYPE_CC	    0x1 /* context cache: accepted, nothing cached */
#define SIM_IOMMU_DESC_TYPE_IOTLB   0x2 /* IOTLB by domain id */
#define SIM_IOMMU_DESC_TYPE_DEVTLB  0x3 /* device-TLB, untagged (RID_PASID) entries */
#define SIM_IOMMU_DESC_TYPE_WAIT    0x5
#define SIM_IOMMU_DESC_TYPE_PIOTLB  0x6 /* PASID-based IOTLB */
#define SIM_IOMMU_DESC_TYPE_PC	    0x7 /* PASID cache: accepted, nothing cached */
#define SIM_IOMMU_DESC_TYPE_PDEVTLB 0x8 /* PASID-based device-TLB */
#define SIM_IOMMU_DESC_TYPE_PRESP   0x9 /* page group response */

/* Fields shared by several descriptors. */
#define SIM_IOMMU_DESC_GRAN_SHIFT  4 /* qw0 5:4 */
#define SIM_IOMMU_DESC_GRAN_MASK   (0x3ull << SIM_IOMMU_DESC_GRAN_SHIFT)
#define SIM_IOMMU_DESC_DID_SHIFT   16 /* qw0 31:16 */
#define SIM_IOMMU_DESC_DID_MASK	   (0xffffull << SIM_IOMMU_DESC_DID_SHIFT)
#define SIM_IOMMU_DESC_SID_SHIFT   16 /* qw0 31:16 (device-TLB, page response) */
#define SIM_IOMMU_DESC_SID_MASK	   (0xffffull << SIM_IOMMU_DESC_SID_SHIFT)
#define SIM_IOMMU_DESC_PASID_SHIFT 32 /* qw0 51:32 */
#define SIM_IOMMU_DESC_PASID_MASK  (0xfffffull << SIM_IOMMU_DESC_PASID_SHIFT)
#define SIM_IOMMU_DESC_ADDR_MASK   (~0xfffull) /* qw1 63:12 */
#define SIM_IOMMU_DESC_AM_MASK	   0x3full     /* qw1 5:0: address mask (2^AM pages) */
#define SIM_IOMMU_DESC_IH	   (1ull << 6) /* qw1: invalidation hint (ignored) */

/*
 * IOTLB (type 2): qw0 GRAN (1 global, 2 domain DID, 3 page-selective in DID),
 * DID; qw1 ADDR, IH, AM (page-selective only; ADDR aligned to 4 KiB << AM).
 */
#define SIM_IOMMU_IOTLB_GRAN_GLOBAL 1
#define SIM_IOMMU_IOTLB_GRAN_DOMAIN 2
#define SIM_IOMMU_IOTLB_GRAN_PAGE   3

/*
 * PASID-based IOTLB (type 6): qw0 GRAN (2 all of (DID, PASID), 3 page-selective
 * in (DID, PASID)), DID, PASID; qw1 ADDR, IH, AM.
 */
#define SIM_IOMMU_PIOTLB_GRAN_PASID 2
#define SIM_IOMMU_PIOTLB_GRAN_PAGE  3

/*
 * Device-TLB (type 3) and PASID-based device-TLB (type 8): qw0 SID, PASID
 * (type 8 only); qw1 ADDR and S. S = 0: one 4 KiB page. S = 1: the range size
 * is encoded PCIe-style in the address: with n trailing one bits in ADDR
 * 63:12 the range is 4 KiB << (n + 1), aligned, starting at ADDR with those
 * bits cleared. ADDR 62:12 all ones (bit 63 zero) with S = 1 means everything.
 * Type 3 invalidates entries of untagged requests only; type 8 those of PASID.
 * Type 8 with qw1 bit 0 (G) set invalidates every entry of the device (ADDR ignored).
 */
#define SIM_IOMMU_DEVTLB_S     (1ull << 11)	     /* qw1 */
#define SIM_IOMMU_PDEVTLB_GLOB (1ull << 0)	     /* qw1 */
#define SIM_IOMMU_DEVTLB_ALL   0x7ffffffffffff000ull /* qw1 ADDR for "everything" */

/*
 * Wait (type 5): qw0 IF bit 4 (set ICS.IWC), SW bit 5 (status write), FN bit 6
 * (fence: ignored, processing is in order anyway), status data 63:32; qw1
 * status address 63:2 (4-byte aligned). The 32-bit status data is stored with
 * release order once every earlier descriptor completed.
 */
#define SIM_IOMMU_WAIT_IF	  (1ull << 4)
#define SIM_IOMMU_WAIT_SW	  (1ull << 5)
#define SIM_IOMMU_WAIT_FN	  (1ull << 6)
#define SIM_IOMMU_WAIT_DATA_SHIFT 32

/*
 * Page group response (type 9): qw0 PASID present bit 4, SID 31:16, PASID
 * 51:32, response code 63:60 (enum svio_page_resp values: 0 success,
 * 1 invalid, 0xf failure); qw1 PRG index 11:3.
 */
#define SIM_IOMMU_PRESP_PASID_P	   (1ull << 4)
#define SIM_IOMMU_PRESP_CODE_SHIFT 60
#define SIM_IOMMU_PRESP_PRGI_SHIFT 3
#define SIM_IOMMU_PRESP_PRGI_MASK  (0x1ffull << SIM_IOMMU_PRESP_PRGI_SHIFT)

/*
 * Page request descriptor (written by the IOMMU), 256 bits (qw0..qw3):
 * qw0 PASID present bit 8, SID 31:16, PASID 51:32; qw1 RD bit 0, WR bit 1,
 * LPIG bit 2 (last page in group), PRG index 11:3, ADDR 63:12; qw2, qw3 zero.
 */
#define SIM_IOMMU_PREQ_PASID_P	  (1ull << 8)
#define SIM_IOMMU_PREQ_RD	  (1ull << 0)
#define SIM_IOMMU_PREQ_WR	  (1ull << 1)
#define SIM_IOMMU_PREQ_LPIG	  (1ull << 2)
#define SIM_IOMMU_PREQ_PRGI_SHIFT 3
#define SIM_IOMMU_PREQ_PRGI_MASK  (0x1ffull << SIM_IOMMU_PREQ_PRGI_SHIFT)

/* Root entry (16 bytes). */
#define SIM_IOMMU_RE_P	      (1ull << 0) /* lo */
#define SIM_IOMMU_RE_CTP_MASK (~0xfffull) /* lo: context table pointer */

/* Context entry (16 bytes). */
#define SIM_IOMMU_CE_P		    (1ull << 0) /* lo */
#define SIM_IOMMU_CE_DTE	    (1ull << 2) /* lo: device-TLB (ATS) allowed */
#define SIM_IOMMU_CE_PRE	    (1ull << 4) /* lo: page requests allowed */
#define SIM_IOMMU_CE_PDTS_SHIFT	    9		/* lo 11:9: directory has 1 << (PDTS + 7) entries */
#define SIM_IOMMU_CE_PDTS_MASK	    (0x7ull << SIM_IOMMU_CE_PDTS_SHIFT)
#define SIM_IOMMU_CE_PASIDDIR_MASK  (~0xfffull) /* lo: PASID directory pointer */
#define SIM_IOMMU_CE_RID_PASID_MASK 0xfffffull	/* hi 19:0 */

/* PASID directory entry (8 bytes). */
#define SIM_IOMMU_PDE_P		      (1ull << 0)
#define SIM_IOMMU_PDE_PT_MASK	      (~0xfffull)
#define SIM_IOMMU_PASID_TABLE_ENTRIES 64
#define SIM_IOMMU_PASID_DIR_SHIFT     6

/* PASID entry (32 bytes, 4 qwords). */
#define SIM_IOMMU_PE_P		(1ull << 0) /* qw0 */
#define SIM_IOMMU_PE_PGTT_SHIFT 6	    /* qw0 8:6 */
#define SIM_IOMMU_PE_PGTT_MASK	(0x7ull << SIM_IOMMU_PE_PGTT_SHIFT)
#define SIM_IOMMU_PE_PGTT_FS	(1ull << SIM_IOMMU_PE_PGTT_SHIFT) /* first-stage only */
#define SIM_IOMMU_PE_DID_MASK	0xffffull			  /* qw1 15:0 */
#define SIM_IOMMU_PE_FSPTR_MASK (~0xfffull) /* qw2: first-stage table root (4-level) */

struct sim_iommu_root_entry {
	uint64_t lo;
	uint64_t hi;
};

struct sim_iommu_context_entry {
	uint64_t lo;
	uint64_t hi;
};

struct sim_iommu_pasid_entry {
	uint64_t qw[4];
};

struct sim_iommu_inv_desc {
	uint64_t qw0;
	uint64_t qw1;
};

struct sim_iommu_page_req_desc {
	uint64_t qw[4];
};

/* First-stage page table entries: x86-64 4-level paging format. */
#define SIM_X86_PTE_P	 (1ull << 0)
#define SIM_X86_PTE_RW	 (1ull << 1)
#define SIM_X86_PTE_US	 (1ull << 2)
#define SIM_X86_PTE_PS	 (1ull << 7)		 /* large page at level 2 (2 MiB) and 3 (1 GiB) */
#define SIM_X86_PTE_ADDR (0x000ffffffffff000ull) /* bits 51:12 */
#define SIM_X86_LEVELS	 4
#define SIM_X86_VA_BITS	 48
/* Shift of the address bits that index level @p l (1 = PT ... 4 = PML4). */
#define SIM_X86_LEVEL_SHIFT(l) (12u + 9u * ((unsigned int)(l)-1u))

/* Counters exposed at SIM_IOMMU_REG_CTR(i). */
enum sim_iommu_ctr {
	SIM_IOMMU_CTR_DESC_CC, /**< descriptors processed, per type ... */
	SIM_IOMMU_CTR_DESC_IOTLB,
	SIM_IOMMU_CTR_DESC_DEVTLB,
	SIM_IOMMU_CTR_DESC_WAIT,
	SIM_IOMMU_CTR_DESC_PIOTLB,
	SIM_IOMMU_CTR_DESC_PC,
	SIM_IOMMU_CTR_DESC_PDEVTLB,
	SIM_IOMMU_CTR_DESC_PRESP,
	SIM_IOMMU_CTR_SUBMITS, /**< IQT writes that moved the tail */
	SIM_IOMMU_CTR_COST_NS, /**< nanoseconds spent on descriptor costs */
	SIM_IOMMU_CTR_IOTLB_HIT,
	SIM_IOMMU_CTR_IOTLB_MISS,
	SIM_IOMMU_CTR_IOTLB_EVICT,
	SIM_IOMMU_CTR_ATC_HIT,
	SIM_IOMMU_CTR_ATC_MISS,
	SIM_IOMMU_CTR_ATC_EVICT,
	SIM_IOMMU_CTR_WALKS,
	SIM_IOMMU_CTR_PAGE_REQS,    /**< page requests posted */
	SIM_IOMMU_CTR_PAGE_RESP_OK, /**< answered with success */
	SIM_IOMMU_CTR_PAGE_RESP_FAIL,
	SIM_IOMMU_CTR_PAGE_REQ_TIMEOUT,
	SIM_IOMMU_CTR_PRQ_OVERFLOW,
	SIM_IOMMU_CTR_TRANS_FAULTS, /**< DMA failed translation (not present / no permission) */
	SIM_IOMMU_CTR_STALE_USES,   /**< the stale-use checker fired */
	SIM_IOMMU_CTR_QUEUE_ERRORS, /**< IQE raised */
	SIM_IOMMU_CTR_INV_ENTRIES,  /**< cache entries removed by invalidations */
	SIM_IOMMU_CTR_DMA_BYTES,
	SIM_IOMMU_CTR_PASSTHROUGH, /**< DMA while translation was disabled */
	SIM_IOMMU_CTR_LOST_INV,	   /**< invalidations dropped by lose_inv=N (fault injection) */
	SIM_IOMMU_CTR_COUNT
};

#endif /* SIM_IOMMU_HW_H */
