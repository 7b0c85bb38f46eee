/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Raw NVMe commands in the specification's own layout (nvme_spec.h), for the
 * tests and tools inside the tree. Not installed: the public API
 * (svio_nvme.h) carries svio_ names only.
 */
#ifndef SVIO_NVME_RAW_H
#define SVIO_NVME_RAW_H

#include <stddef.h>
#include <stdint.h>

#include "nvme_spec.h"
#include "svio_nvme.h"

/**
 * Run one admin command synchronously. The command's data (direction from the
 * opcode's low bits, as the spec defines) is copied through a driver buffer,
 * so @p buf may be any memory; @p len at most 8 KiB. Any thread (serialised).
 * @return 0 (success status), -EIO (error status, see @p cpl; or the
 *         controller reported fatal status and was reset: retry), -EINVAL,
 *         -ETIMEDOUT, -ENODEV (the controller failed and is gone).
 */
int svio_nvme_admin_cmd(struct svio_nvme_ctrlr *ctrlr, const struct nvme_sqe *cmd, void *buf,
			size_t len, struct svio_nvme_cpl *cpl);

/**
 * Submit a raw I/O command (tests, vendor commands): the driver fills the
 * command id and, when @p iova is non-zero, PRP1/PRP2 for @p len bytes.
 * Owner thread; returns as svio_nvme_read() (no namespace checks; -EMSGSIZE
 * when @p len is above max_xfer).
 */
int svio_nvme_io_raw(struct svio_nvme_qpair *qp, const struct nvme_sqe *cmd, uint64_t iova,
		     size_t len, svio_nvme_cb cb, void *arg);

#endif /* SVIO_NVME_RAW_H */
