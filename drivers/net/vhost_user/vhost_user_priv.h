/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to the vhost-user frontend: its log type. */
#ifndef VHOST_USER_PRIV_H
#define VHOST_USER_PRIV_H

#include <rte_log.h>

extern int svio_vhost_user_logtype;
#define VU_LOG(level, fmt, ...)                                                         \
	rte_log(RTE_LOG_##level, svio_vhost_user_logtype, "svio_vhost_user: " fmt "\n", \
		##__VA_ARGS__)

#endif /* VHOST_USER_PRIV_H */
