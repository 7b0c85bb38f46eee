/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The engine's option values, parsed without fio's headers so that a unit
 * test (run under ASan and UBSan, which fio itself is not built with)
 * covers them. Every parser returns 0 or -EINVAL and, on -EINVAL, a
 * sentence in @p why saying what was wrong.
 */
#ifndef SVIO_FIO_ARGS_H
#define SVIO_FIO_ARGS_H

#include <stddef.h>
#include <stdint.h>

enum svio_fio_dma {
	SVIO_FIO_DMA_DEFAULT,	 /**< sva when the domain has SVA, else map-per-io */
	SVIO_FIO_DMA_SVA,	 /**< io_u buffers go to the device as process addresses */
	SVIO_FIO_DMA_MAP_PER_IO, /**< svio_dma_map() before each I/O, unmap on completion */
};

/** Upper bound of words in svio_eal (argv[0] included). */
#define SVIO_FIO_MAX_ARGS 64

/**
 * Split @p s (svio_eal=) into argv words at blanks; argv[0] is "svio_eal".
 * @p buf (at least strlen(s) + 1 + 9 bytes) holds the words, @p argv at
 * least SVIO_FIO_MAX_ARGS + 1 entries (NULL-terminated).
 * @return 0 and *argc, or -EINVAL: empty, more than SVIO_FIO_MAX_ARGS words,
 *         or a word that follows neither an option nor an option taking a
 *         value (*stray points at it; an option without a value followed by
 *         a stray word is left to svio_eal_init()).
 */
int svio_fio_args_split(const char *s, char *buf, size_t buflen, char **argv, int *argc,
			const char **why, const char **stray);

/** "sva" or "map-per-io"; NULL or "" is the default. */
int svio_fio_args_dma(const char *s, enum svio_fio_dma *dma, const char **why);

/**
 * A fio filename naming a namespace: "CTRLR/nsN" (N 1..0xfffffffe) or
 * "CTRLR" alone (nsid 0: the controller's first active namespace).
 * CTRLR is an svio device name ("sim_nvme0", "0000:04:00.0").
 */
int svio_fio_args_target(const char *filename, char *ctrlr, size_t len, uint32_t *nsid,
			 const char **why);

#endif /* SVIO_FIO_ARGS_H */
