/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NVMe 1.4 (PCIe transport) as both sides see it: controller registers,
 * queue entry layouts, opcodes, status codes and the identify/log formats
 * svio uses. This is the "datasheet": the NVMe PMD and the built-in NVMe
 * controller model both include it. Little-endian host assumed (x86-64,
 * arm64), as the structures mirror the wire format directly.
 */
#ifndef SVIO_NVME_SPEC_H
#define SVIO_NVME_SPEC_H

#include <assert.h>
#include <stdint.h>

/* Controller registers (BAR 0). */
#define NVME_REG_CAP   0x00 /* 64-bit */
#define NVME_REG_VS    0x08
#define NVME_REG_INTMS 0x0c
#define NVME_REG_INTMC 0x10
#define NVME_REG_CC    0x14
#define NVME_REG_CSTS  0x1c
#define NVME_REG_NSSR  0x20
#define NVME_REG_AQA   0x24
#define NVME_REG_ASQ   0x28 /* 64-bit */
#define NVME_REG_ACQ   0x30 /* 64-bit */
#define NVME_REG_DBS   0x1000

/* Doorbell of submission queue @p qid (tail) or completion queue (head). */
static inline uint64_t nvme_sq_doorbell(uint16_t qid, unsigned int dstrd)
{
	return NVME_REG_DBS + (2ull * qid) * (4ull << dstrd);
}

static inline uint64_t nvme_cq_doorbell(uint16_t qid, unsigned int dstrd)
{
	return NVME_REG_DBS + (2ull * qid + 1) * (4ull << dstrd);
}

/* CAP fields. */
#define NVME_CAP_MQES(cap)     ((uint32_t)((cap)&0xffff)) /* 0-based */
#define NVME_CAP_CQR	       (1ull << 16)
#define NVME_CAP_TO(cap)       ((uint32_t)(((cap) >> 24) & 0xff)) /* 500 ms units */
#define NVME_CAP_DSTRD(cap)    ((uint32_t)(((cap) >> 32) & 0xf))
#define NVME_CAP_CSS_NVM       (1ull << 37)
#define NVME_CAP_MPSMIN(cap)   ((uint32_t)(((cap) >> 48) & 0xf))
#define NVME_CAP_MPSMAX(cap)   ((uint32_t)(((cap) >> 52) & 0xf))
#define NVME_CAP_MAKE_TO(to)   ((uint64_t)(to) << 24)
#define NVME_CAP_MAKE_DSTRD(d) ((uint64_t)(d) << 32)

#define NVME_VS(mjr, mnr, ter) (((uint32_t)(mjr) << 16) | ((uint32_t)(mnr) << 8) | (ter))
#define NVME_VS_1_4	       NVME_VS(1, 4, 0)

/* CC fields. */
#define NVME_CC_EN	       (1u << 0)
#define NVME_CC_CSS(cc)	       (((cc) >> 4) & 0x7)
#define NVME_CC_MPS(cc)	       (((cc) >> 7) & 0xf)
#define NVME_CC_AMS(cc)	       (((cc) >> 11) & 0x7)
#define NVME_CC_SHN(cc)	       (((cc) >> 14) & 0x3)
#define NVME_CC_IOSQES(cc)     (((cc) >> 16) & 0xf)
#define NVME_CC_IOCQES(cc)     (((cc) >> 20) & 0xf)
#define NVME_CC_SHN_NORMAL     (1u << 14)
#define NVME_CC_SHN_ABRUPT     (2u << 14)
#define NVME_CC_MAKE_IOSQES(v) ((uint32_t)(v) << 16)
#define NVME_CC_MAKE_IOCQES(v) ((uint32_t)(v) << 20)

/* CSTS fields. */
#define NVME_CSTS_RDY		(1u << 0)
#define NVME_CSTS_CFS		(1u << 1)
#define NVME_CSTS_SHST_MASK	(3u << 2)
#define NVME_CSTS_SHST_OCCURING (1u << 2)
#define NVME_CSTS_SHST_COMPLETE (2u << 2)

/* AQA: both sizes are 0-based. */
#define NVME_AQA(asqs, acqs) ((((uint32_t)(acqs)&0xfff) << 16) | ((uint32_t)(asqs)&0xfff))
#define NVME_AQA_ASQS(aqa)   ((aqa)&0xfff)
#define NVME_AQA_ACQS(aqa)   (((aqa) >> 16) & 0xfff)

#define NVME_PAGE_SHIFT 12 /* CC.MPS = 0: the only memory page size svio uses */
#define NVME_PAGE_SIZE	(1u << NVME_PAGE_SHIFT)

/* Submission queue entry (64 bytes). */
struct nvme_sqe {
	uint8_t opc;
	uint8_t flags; /* FUSE [1:0], PSDT [7:6] */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;
	uint64_t prp1;
	uint64_t prp2;
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};
static_assert(sizeof(struct nvme_sqe) == 64, "SQE is 64 bytes");

/* Completion queue entry (16 bytes). status: bit 0 phase, bits 15:1 the status field. */
struct nvme_cqe {
	uint32_t cdw0;
	uint32_t rsvd;
	uint16_t sqhd;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status;
};
static_assert(sizeof(struct nvme_cqe) == 16, "CQE is 16 bytes");

#define NVME_SQES_LOG2 6
#define NVME_CQES_LOG2 4

/* Status field (the CQE status without the phase bit): SC [7:0], SCT [10:8], M [13], DNR [14]. */
#define NVME_SF(sct, sc)    ((uint16_t)((((sct)&0x7) << 8) | ((sc)&0xff)))
#define NVME_SF_SC(sf)	    ((sf)&0xff)
#define NVME_SF_SCT(sf)	    (((sf) >> 8) & 0x7)
#define NVME_SF_DNR	    (1u << 14)
#define NVME_CQE_PHASE	    0x1u
#define NVME_CQE_SF(status) ((uint16_t)((status) >> 1))

enum nvme_sct {
	NVME_SCT_GENERIC = 0,
	NVME_SCT_CMD_SPECIFIC = 1,
	NVME_SCT_MEDIA = 2,
	NVME_SCT_PATH = 3,
	NVME_SCT_VENDOR = 7,
};

/* Generic command status (SCT 0). */
enum nvme_generic_sc {
	NVME_SC_SUCCESS = 0x00,
	NVME_SC_INVALID_OPCODE = 0x01,
	NVME_SC_INVALID_FIELD = 0x02,
	NVME_SC_CID_CONFLICT = 0x03,
	NVME_SC_DATA_XFER_ERROR = 0x04,
	NVME_SC_ABORTED_POWER_LOSS = 0x05,
	NVME_SC_INTERNAL = 0x06,
	NVME_SC_ABORT_REQUESTED = 0x07,
	NVME_SC_ABORTED_SQ_DELETION = 0x08,
	NVME_SC_INVALID_NS = 0x0b,
	NVME_SC_CMD_SEQ_ERROR = 0x0c,
	NVME_SC_INVALID_PRP_OFFSET = 0x13,
	NVME_SC_LBA_OUT_OF_RANGE = 0x80,
	NVME_SC_CAPACITY_EXCEEDED = 0x81,
};

/* Command specific status (SCT 1). */
enum nvme_cmd_specific_sc {
	NVME_SC_CQ_INVALID = 0x00,
	NVME_SC_INVALID_QID = 0x01,
	NVME_SC_INVALID_QSIZE = 0x02,
	NVME_SC_ABORT_LIMIT = 0x03,
	NVME_SC_ASYNC_EVENT_LIMIT = 0x05,
	NVME_SC_INVALID_VECTOR = 0x08,
	NVME_SC_INVALID_LOG_PAGE = 0x09,
	NVME_SC_INVALID_QUEUE_DELETION = 0x0c,
	NVME_SC_FEATURE_NOT_SAVEABLE = 0x0d,
};

/* Admin opcodes. */
enum nvme_admin_opc {
	NVME_ADM_DELETE_SQ = 0x00,
	NVME_ADM_CREATE_SQ = 0x01,
	NVME_ADM_GET_LOG_PAGE = 0x02,
	NVME_ADM_DELETE_CQ = 0x04,
	NVME_ADM_CREATE_CQ = 0x05,
	NVME_ADM_IDENTIFY = 0x06,
	NVME_ADM_ABORT = 0x08,
	NVME_ADM_SET_FEATURES = 0x09,
	NVME_ADM_GET_FEATURES = 0x0a,
	NVME_ADM_ASYNC_EVENT = 0x0c,
};

/* NVM command set opcodes. */
enum nvme_io_opc {
	NVME_CMD_FLUSH = 0x00,
	NVME_CMD_WRITE = 0x01,
	NVME_CMD_READ = 0x02,
	NVME_CMD_WRITE_ZEROES = 0x08,
	NVME_CMD_DSM = 0x09,
};

/* Identify CNS values (CDW10 [7:0]). */
#define NVME_CNS_NS	     0x00
#define NVME_CNS_CTRLR	     0x01
#define NVME_CNS_ACTIVE_NSID 0x02
#define NVME_IDENTIFY_SIZE   4096

/* Feature identifiers. */
#define NVME_FEAT_VWC	     0x06
#define NVME_FEAT_NUM_QUEUES 0x07

/* Log pages. */
#define NVME_LOG_ERROR	0x01
#define NVME_LOG_SMART	0x02
#define NVME_SMART_SIZE 512

/* Create I/O CQ/SQ: CDW10 QID [15:0], QSIZE [31:16] 0-based; CDW11 PC bit 0. */
#define NVME_QUEUE_PC 0x1u
#define NVME_CQ_IEN   0x2u

/* Read/Write/Write Zeroes: CDW12 NLB [15:0] 0-based, FUA bit 30. */
#define NVME_RW_NLB_MAX	      0x10000u
#define NVME_RW_FUA	      (1u << 30)
#define NVME_RW_PRINFO(cdw12) (((cdw12) >> 26) & 0xf) /* PRACT [29], PRCHK [28:26] */
#define NVME_WZ_DEAC	      (1u << 25)

/* Dataset management: CDW10 NR [7:0] 0-based, CDW11 AD (deallocate) bit 2. */
#define NVME_DSM_AD (1u << 2)
struct nvme_dsm_range {
	uint32_t attributes;
	uint32_t nlb;
	uint64_t slba;
};
static_assert(sizeof(struct nvme_dsm_range) == 16, "DSM range is 16 bytes");

/* Identify controller (the fields svio uses; the rest is reserved here). */
struct nvme_id_ctrlr {
	uint16_t vid;
	uint16_t ssvid;
	char sn[20];
	char mn[40];
	char fr[8];
	uint8_t rab;
	uint8_t ieee[3];
	uint8_t cmic;
	uint8_t mdts; /* 2^n memory pages, 0 = no limit */
	uint16_t cntlid;
	uint32_t ver;
	uint8_t rsvd84[172];
	uint16_t oacs;
	uint8_t acl; /* 0-based */
	uint8_t aerl;
	uint8_t frmw;
	uint8_t lpa;
	uint8_t elpe; /* 0-based */
	uint8_t npss;
	uint8_t rsvd264[248];
	uint8_t sqes;
	uint8_t cqes;
	uint16_t maxcmd;
	uint32_t nn;
	uint16_t oncs;
	uint16_t fuses;
	uint8_t fna;
	uint8_t vwc;
	uint16_t awun;
	uint16_t awupf;
	uint8_t nvscc;
	uint8_t nwpc;
	uint16_t acwu;
	uint16_t rsvd534;
	uint32_t sgls;
	uint32_t mnan;
	uint8_t rsvd544[224];
	char subnqn[256];
	uint8_t rsvd1024[3072];
};
static_assert(sizeof(struct nvme_id_ctrlr) == 4096, "identify controller is 4 KiB");

#define NVME_ONCS_DSM	       (1u << 2)
#define NVME_ONCS_WRITE_ZEROES (1u << 3)

struct nvme_lbaf {
	uint16_t ms;   /* metadata bytes per block */
	uint8_t lbads; /* log2 of the LBA data size */
	uint8_t rp;
};

/* Identify Namespace: FLBAS, MC (metadata capabilities), DPS (protection settings). */
#define NVME_FLBAS_FMT(flbas) ((flbas)&0xf)
#define NVME_FLBAS_EXTENDED   (1u << 4) /* metadata at the end of each block's data */
#define NVME_MC_EXTENDED      (1u << 0)
#define NVME_MC_SEPARATE      (1u << 1)	  /* metadata through MPTR */
#define NVME_DPS_PIT(dps)     ((dps)&0x7) /* protection information type, 0: none */
#define NVME_DPC_ALL	      0x1fu	  /* types 1-3, PI first or last in the metadata */

struct nvme_id_ns {
	uint64_t nsze;
	uint64_t ncap;
	uint64_t nuse;
	uint8_t nsfeat;
	uint8_t nlbaf; /* 0-based */
	uint8_t flbas; /* [3:0] the format in use */
	uint8_t mc;
	uint8_t dpc;
	uint8_t dps;
	uint8_t nmic;
	uint8_t rescap;
	uint8_t fpi;
	uint8_t dlfeat;
	uint8_t rsvd34[94];
	struct nvme_lbaf lbaf[16];
	uint8_t rsvd192[3904];
};
static_assert(sizeof(struct nvme_id_ns) == 4096, "identify namespace is 4 KiB");

struct nvme_error_log {
	uint64_t error_count;
	uint16_t sqid;
	uint16_t cid;
	uint16_t status; /* phase bit 0, status field 15:1 */
	uint16_t param_loc;
	uint64_t lba;
	uint32_t nsid;
	uint8_t vs;
	uint8_t trtype;
	uint8_t rsvd30[2];
	uint64_t csi;
	uint16_t trtype_spec;
	uint8_t rsvd42[22];
};
static_assert(sizeof(struct nvme_error_log) == 64, "error log entry is 64 bytes");

/* SMART / health log: 128-bit counters stored as two little-endian halves. */
struct nvme_smart_log {
	uint8_t critical_warning;
	uint8_t temperature[2]; /* Kelvin, little-endian */
	uint8_t avail_spare;
	uint8_t spare_thresh;
	uint8_t percent_used;
	uint8_t endurance_group_cw;
	uint8_t rsvd7[25];
	uint64_t data_units_read[2]; /* thousands of 512-byte units */
	uint64_t data_units_written[2];
	uint64_t host_reads[2];
	uint64_t host_writes[2];
	uint64_t busy_time[2];
	uint64_t power_cycles[2];
	uint64_t power_on_hours[2];
	uint64_t unsafe_shutdowns[2];
	uint64_t media_errors[2];
	uint64_t num_err_log_entries[2];
	uint8_t rsvd192[320];
};
static_assert(sizeof(struct nvme_smart_log) == 512, "SMART log is 512 bytes");

#endif /* SVIO_NVME_SPEC_H */
