/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio started once per fio process: every job (a thread, thread=1) uses the
 * same devices and the one process IOMMU domain.
 */
#ifndef SVIO_FIO_ENV_H
#define SVIO_FIO_ENV_H

#include <stddef.h>

/**
 * Start svio with the options in @p eal (svio_eal=, words split at blanks)
 * unless already started with the same options. Any thread; serialised.
 * DPDK's EAL pins the calling thread to its main lcore: the caller's CPU
 * affinity is restored afterwards, so that fio's job threads keep theirs.
 * @return 0, or a negative errno with a sentence in @p err: -EINVAL (bad
 *         options, or options that differ from the first job's), the error
 *         of svio_eal_init() (e.g. -ENODEV: a device is missing).
 */
int svio_fio_env_start(const char *eal, char *err, size_t errlen);

#endif /* SVIO_FIO_ENV_H */
