/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Translation caches of the IOMMU model (the IOTLB and each ATS device's
 * device-TLB) and the stale-use checker that watches them. Everything here
 * runs under m->cache_lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "iommu_priv.h"

static const uint8_t page_shifts[] = { 12, 21, 30 };

int sim_tlb_init(struct sim_tlb *t, unsigned int entries, unsigned int ways)
{
	t->e = calloc(entries, sizeof(*t->e));
	if (t->e == NULL)
		return -ENOMEM;
	t->ways = ways;
	t->sets = entries / ways;
	t->tick = 0;
	t->valid = 0;
	return 0;
}

void sim_tlb_fini(struct sim_tlb *t)
{
	free(t->e);
	t->e = NULL;
}

static unsigned int set_of(const struct sim_tlb *t, uint16_t did, uint32_t pasid, uint64_t vbase,
			   unsigned int shift)
{
	uint64_t h =
		(vbase >> shift) ^ ((uint64_t)pasid * 0x9e3779b1u) ^ ((uint64_t)did << 7) ^ shift;

	return (unsigned int)(h & (t->sets - 1));
}

struct sim_tlb_entry *sim_tlb_lookup(struct sim_tlb *t, uint16_t did, uint32_t pasid, uint64_t addr)
{
	unsigned int i, w;

	for (i = 0; i < RTE_DIM(page_shifts); i++) {
		unsigned int shift = page_shifts[i];
		uint64_t vbase = addr & ~((1ull << shift) - 1);
		struct sim_tlb_entry *set = &t->e[set_of(t, did, pasid, vbase, shift) * t->ways];

		for (w = 0; w < t->ways; w++) {
			struct sim_tlb_entry *e = &set[w];

			if ((e->flags & SIM_TLB_VALID) && e->shift == shift && e->vbase == vbase &&
			    e->pasid == pasid && e->did == did) {
				e->lru = ++t->tick;
				return e;
			}
		}
	}
	return NULL;
}

static void entry_drop(struct sim_iommu *m, struct sim_tlb *t, struct sim_tlb_entry *e);

bool sim_tlb_insert(struct sim_iommu *m, struct sim_tlb *t, const struct sim_tlb_entry *tmpl)
{
	struct sim_tlb_entry *set, *victim;
	unsigned int w;
	bool evicted;

	set = &t->e[set_of(t, tmpl->did, tmpl->pasid, tmpl->vbase, tmpl->shift) * t->ways];
	victim = &set[0];
	for (w = 0; w < t->ways; w++) {
		if (!(set[w].flags & SIM_TLB_VALID)) {
			victim = &set[w];
			break;
		}
		if (set[w].lru < victim->lru)
			victim = &set[w];
	}
	evicted = victim->flags & SIM_TLB_VALID;
	if (evicted)
		entry_drop(m, t, victim);
	t->valid++;
	*victim = *tmpl;
	victim->premark = 0;
	victim->stale = 0;
	victim->flags |= SIM_TLB_VALID;
	victim->lru = ++t->tick;
	return evicted;
}

static void entry_drop(struct sim_iommu *m, struct sim_tlb *t, struct sim_tlb_entry *e)
{
	if (e->premark != 0)
		m->premarked--;
	e->flags = 0;
	e->premark = 0;
	e->stale = 0;
	t->valid--;
}

void sim_tlb_drop(struct sim_iommu *m, struct sim_tlb *t, struct sim_tlb_entry *e)
{
	entry_drop(m, t, e);
}

struct sim_atc *sim_atc_get(struct sim_iommu *m, uint32_t sid, bool create)
{
	struct sim_atc **bus = m->atc_dir[(sid >> 8) & 0xff];
	struct sim_atc *atc;

	if (bus == NULL) {
		if (!create)
			return NULL;
		bus = calloc(256, sizeof(*bus));
		if (bus == NULL)
			return NULL;
		m->atc_dir[(sid >> 8) & 0xff] = bus;
	}
	atc = bus[sid & 0xff];
	if (atc != NULL || !create)
		return atc;
	atc = calloc(1, sizeof(*atc));
	if (atc == NULL)
		return NULL;
	if (sim_tlb_init(&atc->tlb, m->atc_entries, m->atc_ways) < 0) {
		free(atc);
		return NULL;
	}
	atc->sid = sid;
	bus[sid & 0xff] = atc;
	return atc;
}

void sim_atc_free_all(struct sim_iommu *m)
{
	unsigned int bus, devfn;

	for (bus = 0; bus < 256; bus++) {
		if (m->atc_dir[bus] == NULL)
			continue;
		for (devfn = 0; devfn < 256; devfn++) {
			struct sim_atc *atc = m->atc_dir[bus][devfn];

			if (atc != NULL) {
				sim_tlb_fini(&atc->tlb);
				free(atc);
			}
		}
		free(m->atc_dir[bus]);
		m->atc_dir[bus] = NULL;
	}
}

unsigned int sim_tlb_invalidate(struct sim_iommu *m, struct sim_tlb *t,
				const struct sim_inv_match *mt)
{
	unsigned int i, n = 0, total = t->sets * t->ways;

	for (i = 0; i < total && t->valid > 0; i++) {
		struct sim_tlb_entry *e = &t->e[i];
		uint64_t last;

		if (!(e->flags & SIM_TLB_VALID))
			continue;
		if (!mt->any_did && e->did != mt->did)
			continue;
		if (!mt->any_pasid && e->pasid != mt->pasid)
			continue;
		last = e->vbase + (1ull << e->shift) - 1;
		if (!mt->any_addr && (e->vbase > mt->last || last < mt->start))
			continue;
		entry_drop(m, t, e);
		n++;
	}
	return n;
}

#define NO_SID UINT32_MAX

/*
 * Does the page table still say what entry @p e remembers? A device-TLB
 * entry (@p sid of its device) also needs its PASID entry to still point at
 * the same table: a detach must invalidate the device-TLB, which the device
 * uses without asking the IOMMU.
 */
static bool entry_matches(struct sim_iommu *m, const struct sim_tlb_entry *e, uint32_t sid)
{
	struct sim_tlb_entry now;
	struct sim_ctx ctx;
	int rc;

	if (sid != NO_SID && (sim_ctx_resolve(m, sid, e->pasid, &ctx) < 0 || ctx.root != e->root))
		return false;
	rc = sim_walk(m, e->root, e->vbase, false, &now);
	if (rc == -EFAULT)
		return false;
	return now.pte == e->pte && now.shift == e->shift &&
	       (now.flags & (SIM_TLB_WRITE | SIM_TLB_USER)) ==
		       (e->flags & (SIM_TLB_WRITE | SIM_TLB_USER));
}

typedef void (*tlb_visit_t)(struct sim_iommu *m, struct sim_tlb *t, uint32_t sid, uint64_t seq);

static void for_each_tlb(struct sim_iommu *m, tlb_visit_t fn, uint64_t seq)
{
	unsigned int bus, devfn;

	fn(m, &m->iotlb, NO_SID, seq);
	for (bus = 0; bus < 256; bus++) {
		if (m->atc_dir[bus] == NULL)
			continue;
		for (devfn = 0; devfn < 256; devfn++) {
			struct sim_atc *atc = m->atc_dir[bus][devfn];

			if (atc != NULL)
				fn(m, &atc->tlb, atc->sid, seq);
		}
	}
}

static void premark_tlb(struct sim_iommu *m, struct sim_tlb *t, uint32_t sid, uint64_t seq)
{
	unsigned int i, seen = 0, total = t->sets * t->ways;

	for (i = 0; i < total && seen < t->valid; i++) {
		struct sim_tlb_entry *e = &t->e[i];

		if (!(e->flags & SIM_TLB_VALID))
			continue;
		seen++;
		if (e->premark != 0 || e->stale != 0 || entry_matches(m, e, sid))
			continue;
		e->premark = seq;
		m->premarked++;
	}
}

static void complete_tlb(struct sim_iommu *m, struct sim_tlb *t, uint32_t sid, uint64_t seq)
{
	unsigned int i, total = t->sets * t->ways;

	for (i = 0; i < total && m->premarked > 0; i++) {
		struct sim_tlb_entry *e = &t->e[i];

		if (!(e->flags & SIM_TLB_VALID) || e->premark == 0 || e->premark > seq)
			continue;
		e->premark = 0;
		m->premarked--;
		/* The PTE may have been restored meanwhile: then nothing is stale. */
		if (!entry_matches(m, e, sid))
			e->stale = seq;
	}
}

void sim_stale_premark(struct sim_iommu *m, uint64_t nwaits)
{
	uint64_t first = m->waits_submitted + 1;

	m->waits_submitted += nwaits;
	if (m->stale_check)
		for_each_tlb(m, premark_tlb, first);
}

void sim_stale_complete(struct sim_iommu *m)
{
	uint64_t seq = ++m->waits_done;

	if (m->stale_check && m->premarked > 0)
		for_each_tlb(m, complete_tlb, seq);
}

bool sim_stale_use(struct sim_iommu *m, struct sim_tlb_entry *e, uint32_t sid, bool atc)
{
	uint64_t now;

	if (e->stale == 0)
		return false;
	/*
	 * Mapped again to the very same page since: using it gives what a fresh
	 * walk would, so it is not a stale use (and no longer stale).
	 */
	if (entry_matches(m, e, atc ? sid : NO_SID)) {
		e->stale = 0;
		return false;
	}
	sim_ctr_add(m, SIM_IOMMU_CTR_STALE_USES, 1);
	now = sim_now_ns();
	if (now >= m->stale_log_next_ns) {
		m->stale_log_next_ns = now + 1000000000ull;
		SIM_IOMMU_LOG(ERR,
			      "%s: STALE translation used: sid %04x pasid %#x page %#" PRIx64
			      " (%u KiB) pte %#" PRIx64 ", changed before wait %" PRIu64
			      " which completed without invalidating it",
			      m->dev->name, sid, e->pasid, e->vbase, (1u << e->shift) >> 10, e->pte,
			      e->stale);
	}
	return true;
}
