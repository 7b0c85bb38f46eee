/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A stand-in for the kernel's iommufd and VFIO cdev ioctls, installed through
 * svio_iommufd_set_ioctl(). It records what svio asked for and answers like
 * a kernel would; tests steer it (PASID support, failures).
 */
#ifndef TEST_IOMMUFD_MOCK_KERNEL_H
#define TEST_IOMMUFD_MOCK_KERNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "iommufd_backend.h"

#define MOCK_IOAS_ID   7
#define MOCK_HWPT_ID   20
#define MOCK_PARENT_ID 21 /* NEST_PARENT HWPT */
#define MOCK_S1_ID     22 /* nested VT-d stage-1 HWPT */
#define MOCK_MAX_CALLS 256
#define MOCK_MAX_INV   512

struct mock_call {
	unsigned long req;
	int fd;
	uint32_t flags;
	uint32_t id; /* pt_id, ioas_id, object id */
	uint32_t pasid;
	uint32_t argsz;
	uint32_t data_type; /* HWPT_ALLOC */
	uint64_t iova;	    /* HWPT_ALLOC of a stage 1: pgtbl_addr; HWPT_INVALIDATE: entries in */
	uint64_t va;
	uint64_t len;
};

struct mock_kernel {
	/* steering */
	uint8_t max_pasid_log2;
	bool hwpt_pasid_unsupported; /* HWPT_ALLOC with PASID -> -EOPNOTSUPP */
	int bind_error;		     /* BIND_IOMMUFD answer when non-zero */
	unsigned int fail_nth;	     /* fail the nth ioctl (1-based) with -EIO, 0: never */
	int fail_errno;		     /* what fail_nth fails with instead of EIO, 0: EIO */
	uint64_t range_last;	     /* last usable IOVA after an attach */
	bool nest;		     /* GET_HW_INFO: VT-d with nesting (NEST, SMTS, FLTS, FL1GP) */
	int nest_parent_error;	     /* HWPT_ALLOC with NEST_PARENT answer when non-zero */
	unsigned int inv_handle_max; /* HWPT_INVALIDATE handles at most this many, 0: all */
	unsigned int inv_error_at; /* HWPT_INVALIDATE: this entry (1-based, over all calls) fails */
	/* record */
	unsigned int n_calls;
	struct mock_call calls[MOCK_MAX_CALLS];
	unsigned int attached;	     /* RID attachments live */
	unsigned int pasid_attached; /* PASID attachments live */
	unsigned int range_reads;
	int live_objs; /* IOAS and HWPTs allocated and not destroyed */
	unsigned int next_devid;
	/* HWPT_INVALIDATE entries handled, in order, over all calls */
	unsigned int n_inv;
	struct svio_iommu_hwpt_vtd_s1_invalidate inv[MOCK_MAX_INV];
};

extern struct mock_kernel mock;

void mock_reset(void);
/*
 * mock_reset(), then route svio's iommufd ioctls to @p fn (mock_ioctl or a
 * test's wrapper of it) with /dev/null standing for /dev/iommu.
 */
void mock_install(svio_vfio_ioctl_fn fn);
/* Give svio back the real ioctl and /dev/iommu. */
void mock_uninstall(void);
int mock_ioctl(int fd, unsigned long req, void *arg);
/** Index of the n-th (0-based) call of @p req, or -1. */
int mock_find(unsigned long req, unsigned int nth);
/** How many calls of @p req. */
unsigned int mock_count(unsigned long req);

/* Log capture: every rte_log line goes to a temporary file while active. */
void log_capture_begin(void);
bool log_contains(const char *s);
void log_capture_end(void);

#endif /* TEST_IOMMUFD_MOCK_KERNEL_H */
