/* SPDX-License-Identifier: BSD-3-Clause */
/* svio-perf: latency histograms and percentiles. */
#include <string.h>

#include "perf.h"

static unsigned int bucket_of(uint64_t v)
{
	unsigned int msb, idx;

	if (v < 64)
		return (unsigned int)v;
	msb = 63 - (unsigned int)__builtin_clzll(v);
	/* msb >= 6: 32 sub-buckets from the five bits below the top one. */
	idx = 64 + (msb - 6) * HIST_SUB + (unsigned int)((v >> (msb - 5)) & (HIST_SUB - 1));
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The middle of a bucket's range. */
static uint64_t bucket_value(unsigned int idx)
{
	unsigned int msb, sub;
	uint64_t lo, width;

	if (idx < 64)
		return idx;
	msb = (idx - 64) / HIST_SUB + 6;
	sub = (idx - 64) % HIST_SUB;
	width = 1ull << (msb - 5);
	lo = (1ull << msb) + sub * width;
	return lo + width / 2;
}

void stats_add(struct perf_dir_stats *s, uint64_t lat_ns, uint32_t bytes)
{
	if (s->ios == 0 || lat_ns < s->lat_min)
		s->lat_min = lat_ns;
	if (lat_ns > s->lat_max)
		s->lat_max = lat_ns;
	s->ios++;
	s->bytes += bytes;
	s->lat_sum += lat_ns;
	s->lat_sq_sum += (double)lat_ns * (double)lat_ns;
	s->hist[bucket_of(lat_ns)]++;
}

void stats_merge(struct perf_dir_stats *dst, const struct perf_dir_stats *src)
{
	if (src->ios == 0)
		return;
	if (dst->ios == 0 || src->lat_min < dst->lat_min)
		dst->lat_min = src->lat_min;
	if (src->lat_max > dst->lat_max)
		dst->lat_max = src->lat_max;
	dst->ios += src->ios;
	dst->bytes += src->bytes;
	dst->lat_sum += src->lat_sum;
	dst->lat_sq_sum += src->lat_sq_sum;
	for (unsigned int i = 0; i < HIST_BUCKETS; i++)
		dst->hist[i] += src->hist[i];
}

uint64_t stats_percentile(const struct perf_dir_stats *s, double p)
{
	uint64_t want, seen = 0;

	if (s->ios == 0)
		return 0;
	want = (uint64_t)(p / 100.0 * (double)s->ios + 0.5);
	if (want == 0)
		want = 1;
	for (unsigned int i = 0; i < HIST_BUCKETS; i++) {
		seen += s->hist[i];
		if (seen >= want) {
			uint64_t v = bucket_value(i);

			/* Clamp to what was really seen. */
			return v < s->lat_min ? s->lat_min : v > s->lat_max ? s->lat_max : v;
		}
	}
	return s->lat_max;
}
