/* SPDX-License-Identifier: BSD-3-Clause */
/* The fake IOMMU backend (see fake_iommu.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iommu_private.h"
#include "fake_iommu.h"

/* One lock for the log, the counters and every fake's waits: tests are small. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_ev *g_log;
static unsigned int g_len, g_cap;
static bool g_log_on = true;
static struct fake_stats g_st;
static struct svio_domain *g_check_dom;
/* Per sid: detach returned and no attach since. */
static bool g_sid_gone[FAKE_MAX_SIDS];

static void log_add(const struct fake_ev *ev)
{
	if (!g_log_on)
		return;
	if (g_len == g_cap) {
		unsigned int cap = g_cap ? 2 * g_cap : 1024;
		struct fake_ev *n = realloc(g_log, cap * sizeof(*n));

		if (n == NULL)
			abort(); /* test helper: out of memory is fatal */
		g_log = n;
		g_cap = cap;
	}
	g_log[g_len++] = *ev;
}

static struct fake_iommu *fake_of(struct svio_iommu *iommu)
{
	return (struct fake_iommu *)iommu;
}

static int fake_attach(struct svio_iommu *iommu, struct svio_device *dev, uint32_t pasid,
		       uint16_t did, uint64_t pgtable)
{
	struct fake_iommu *f = fake_of(iommu);
	struct svio_domain *dom;
	bool published = true;
	int rc = 0;

	(void)pgtable;
	pthread_mutex_lock(&g_lock);
	dom = g_check_dom;
	pthread_mutex_unlock(&g_lock);
	if (dom != NULL) {
		inv_array_read_lock();
		published = inv_array_find_dev(inv_array_get(&dom->inv), dev) != NULL;
		inv_array_read_unlock();
	}
	pthread_mutex_lock(&g_lock);
	if (!published)
		g_st.unpublished++;
	if (f->fail_attach) {
		rc = f->fail_attach;
		f->fail_attach = 0;
	} else {
		log_add(&(struct fake_ev){ .kind = EV_ATTACH,
					   .inst = iommu->index,
					   .sid = dev->dma.sid,
					   .pasid = pasid,
					   .did = did });
	}
	pthread_mutex_unlock(&g_lock);
	return rc;
}

static int fake_detach(struct svio_iommu *iommu, struct svio_device *dev, uint32_t pasid)
{
	struct fake_iommu *f = iommu->priv;

	if (f->fail_detach)
		return f->fail_detach;
	pthread_mutex_lock(&g_lock);
	log_add(&(struct fake_ev){
		.kind = EV_DETACH, .inst = iommu->index, .sid = dev->dma.sid, .pasid = pasid });
	pthread_mutex_unlock(&g_lock);
	return 0;
}

static int fake_inv_post(struct svio_iommu *iommu, const struct svio_inv *inv, unsigned int n)
{
	pthread_mutex_lock(&g_lock);
	for (unsigned int i = 0; i < n; i++) {
		if (inv[i].kind == SVIO_INV_DEVTLB && inv[i].sid < FAKE_MAX_SIDS &&
		    g_sid_gone[inv[i].sid])
			g_st.violations++;
		log_add(&(struct fake_ev){ .kind = EV_INV, .inst = iommu->index, .inv = inv[i] });
	}
	pthread_mutex_unlock(&g_lock);
	return 0;
}

static int fake_wait_post(struct svio_iommu *iommu, uint64_t *cookie)
{
	struct fake_iommu *f = fake_of(iommu);
	int rc = 0;

	pthread_mutex_lock(&g_lock);
	if (f->n_waits == FAKE_MAX_WAITS) {
		rc = -ENOSPC;
	} else {
		/* Cookies carry the global post sequence. */
		*cookie = ++g_st.waits_posted;
		f->waits[f->n_waits].cookie = *cookie;
		f->waits[f->n_waits].left = f->slow_polls;
		f->n_waits++;
		log_add(&(struct fake_ev){
			.kind = EV_WAIT_POST, .inst = iommu->index, .cookie = *cookie });
	}
	pthread_mutex_unlock(&g_lock);
	return rc;
}

static int fake_wait_poll(struct svio_iommu *iommu, uint64_t cookie)
{
	struct fake_iommu *f = fake_of(iommu);
	int rc = -EINVAL;

	pthread_mutex_lock(&g_lock);
	for (unsigned int i = 0; i < f->n_waits; i++) {
		if (f->waits[i].cookie != cookie)
			continue;
		if (!f->error && f->waits[i].left > 0) {
			f->waits[i].left--;
			rc = -EAGAIN;
			break;
		}
		rc = f->error ? -EIO : 0;
		f->waits[i] = f->waits[--f->n_waits];
		if (rc == 0 && cookie > g_st.max_done)
			g_st.max_done = cookie;
		log_add(&(struct fake_ev){ .kind = rc ? EV_WAIT_FAIL : EV_WAIT_DONE,
					   .inst = iommu->index,
					   .cookie = cookie });
		break;
	}
	pthread_mutex_unlock(&g_lock);
	return rc;
}

static int fake_page_resp(struct svio_iommu *iommu, const struct svio_page_req *req, int code)
{
	pthread_mutex_lock(&g_lock);
	if (code == SVIO_PAGE_RESP_SUCCESS)
		g_st.resp_success++;
	else
		g_st.resp_other++;
	log_add(&(struct fake_ev){ .kind = EV_PAGE_RESP,
				   .inst = iommu->index,
				   .sid = req->sid,
				   .pasid = req->pasid,
				   .addr = req->addr,
				   .code = code });
	pthread_mutex_unlock(&g_lock);
	/* As the sim backend does when its response finds the queue stopped on an error. */
	if (fake_of(iommu)->resp_queue_error)
		svio_iommu_queue_error(iommu);
	return 0;
}

static const struct svio_iommu_ops fake_ops = {
	.name = "fake",
	.attach = fake_attach,
	.detach = fake_detach,
	.inv_post = fake_inv_post,
	.wait_post = fake_wait_post,
	.wait_poll = fake_wait_poll,
	.page_resp = fake_page_resp,
};

static int fake_map(struct svio_iommu *iommu, uint64_t iova, void *va, size_t len, int prot)
{
	struct fake_iommu *f = fake_of(iommu);
	int rc = 0;

	(void)va;
	pthread_mutex_lock(&g_lock);
	if (f->fail_map) {
		rc = f->fail_map;
		f->fail_map = 0;
	}
	for (unsigned int i = 0; i < f->n_maps && rc == 0; i++)
		if (iova < f->maps[i].iova + f->maps[i].len && f->maps[i].iova < iova + len)
			rc = -EEXIST;
	if (rc == 0 && f->n_maps == FAKE_MAX_MAPS)
		rc = -ENOMEM;
	if (rc == 0) {
		f->maps[f->n_maps].iova = iova;
		f->maps[f->n_maps].len = len;
		f->n_maps++;
		log_add(&(struct fake_ev){ .kind = EV_MAP,
					   .inst = iommu->index,
					   .addr = iova,
					   .len = len,
					   .code = prot });
	}
	pthread_mutex_unlock(&g_lock);
	return rc;
}

/* Like IOMMU_IOAS_UNMAP: every map inside goes, a map crossing an edge fails it. */
static int fake_unmap(struct svio_iommu *iommu, uint64_t iova, size_t len)
{
	struct fake_iommu *f = fake_of(iommu);
	uint64_t end = iova + len;
	bool any = false;
	int rc = 0;

	pthread_mutex_lock(&g_lock);
	if (f->fail_unmap) {
		rc = f->fail_unmap;
		f->fail_unmap = 0;
	}
	for (unsigned int i = 0; i < f->n_maps && rc == 0; i++) {
		uint64_t s = f->maps[i].iova, e = s + f->maps[i].len;

		if (s < end && iova < e && (s < iova || e > end))
			rc = -ENOENT;
	}
	for (unsigned int i = 0; i < f->n_maps && rc == 0;) {
		if (f->maps[i].iova >= iova && f->maps[i].iova < end) {
			f->maps[i] = f->maps[--f->n_maps];
			any = true;
		} else {
			i++;
		}
	}
	if (rc == 0 && !any)
		rc = -ENOENT;
	log_add(&(struct fake_ev){
		.kind = EV_UNMAP, .inst = iommu->index, .addr = iova, .len = len, .code = rc });
	pthread_mutex_unlock(&g_lock);
	return rc;
}

static const struct svio_iommu_ops fake_kmap_ops = {
	.name = "fake-kmap",
	.attach = fake_attach,
	.detach = fake_detach,
	.inv_post = fake_inv_post,
	.wait_post = fake_wait_post,
	.wait_poll = fake_wait_poll,
	.page_resp = fake_page_resp,
	.map = fake_map,
	.unmap = fake_unmap,
};

struct svio_iommu_caps fake_caps_kmap(void)
{
	return (struct svio_iommu_caps){ .domain_ids = 2, .max_inv_order = 30 };
}

uint64_t fake_mapped_bytes(struct fake_iommu *f)
{
	uint64_t n = 0;

	pthread_mutex_lock(&g_lock);
	for (unsigned int i = 0; i < f->n_maps; i++)
		n += f->maps[i].len;
	pthread_mutex_unlock(&g_lock);
	return n;
}

bool fake_range_mapped(struct fake_iommu *f, uint64_t iova, uint64_t len)
{
	bool found = false;

	pthread_mutex_lock(&g_lock);
	for (unsigned int i = 0; i < f->n_maps && !found; i++)
		found = f->maps[i].iova <= iova && iova + len <= f->maps[i].iova + f->maps[i].len;
	pthread_mutex_unlock(&g_lock);
	return found;
}

struct svio_iommu_caps fake_caps(void)
{
	return (struct svio_iommu_caps){ .domain_ids = 256,
					 .pasid_bits = 20,
					 .max_inv_order = 9,
					 .first_stage = true,
					 .ats = true,
					 .pri = true };
}

int fake_iommu_init(struct fake_iommu *f, unsigned int index, const struct svio_iommu_caps *caps)
{
	memset(f, 0, sizeof(*f));
	f->iommu.ops = caps->first_stage ? &fake_ops : &fake_kmap_ops;
	f->iommu.caps = *caps;
	f->iommu.index = index;
	f->iommu.priv = f;
	return svio_iommu_register(&f->iommu);
}

int fake_iommu_fini(struct fake_iommu *f)
{
	return svio_iommu_unregister(&f->iommu);
}

void fake_iommu_set_error(struct fake_iommu *f, bool error)
{
	pthread_mutex_lock(&g_lock);
	f->error = error;
	pthread_mutex_unlock(&g_lock);
	if (error)
		svio_iommu_queue_error(&f->iommu);
}

void fake_dev_init(struct svio_device *dev, struct fake_iommu *f, const char *name, uint32_t sid,
		   bool ats)
{
	memset(dev, 0, sizeof(*dev));
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->kind = SVIO_DEV_KIND_SCRATCH;
	dev->numa_node = -1;
	dev->dma.iommu = f ? &f->iommu : NULL;
	dev->dma.iommu_index = f ? f->iommu.index : 0;
	dev->dma.sid = sid;
	dev->dma.pasid = true;
	dev->dma.ats = ats;
	dev->dma.pri = true;
}

void fake_log_reset(void)
{
	pthread_mutex_lock(&g_lock);
	g_len = 0;
	pthread_mutex_unlock(&g_lock);
}

void fake_log_enable(bool on)
{
	pthread_mutex_lock(&g_lock);
	g_log_on = on;
	pthread_mutex_unlock(&g_lock);
}

unsigned int fake_log_len(void)
{
	unsigned int n;

	pthread_mutex_lock(&g_lock);
	n = g_len;
	pthread_mutex_unlock(&g_lock);
	return n;
}

struct fake_ev fake_log_at(unsigned int i)
{
	struct fake_ev ev = { 0 };

	pthread_mutex_lock(&g_lock);
	if (i < g_len)
		ev = g_log[i];
	pthread_mutex_unlock(&g_lock);
	return ev;
}

int fake_log_find(enum fake_ev_kind kind, int inst, unsigned int from)
{
	int idx = -1;

	pthread_mutex_lock(&g_lock);
	for (unsigned int i = from; i < g_len; i++) {
		if (g_log[i].kind == kind && (inst < 0 || g_log[i].inst == (unsigned int)inst)) {
			idx = (int)i;
			break;
		}
	}
	pthread_mutex_unlock(&g_lock);
	return idx;
}

unsigned int fake_log_count(enum fake_ev_kind kind, int inst, int inv_kind)
{
	unsigned int n = 0;

	pthread_mutex_lock(&g_lock);
	for (unsigned int i = 0; i < g_len; i++) {
		const struct fake_ev *ev = &g_log[i];

		if (ev->kind != kind || (inst >= 0 && ev->inst != (unsigned int)inst))
			continue;
		if (kind == EV_INV && inv_kind >= 0 && ev->inv.kind != inv_kind)
			continue;
		n++;
	}
	pthread_mutex_unlock(&g_lock);
	return n;
}

void fake_log_note(int code)
{
	pthread_mutex_lock(&g_lock);
	log_add(&(struct fake_ev){ .kind = EV_NOTE, .code = code });
	pthread_mutex_unlock(&g_lock);
}

void fake_stats_get(struct fake_stats *st)
{
	pthread_mutex_lock(&g_lock);
	*st = g_st;
	pthread_mutex_unlock(&g_lock);
}

void fake_sid_detached(uint32_t sid)
{
	pthread_mutex_lock(&g_lock);
	if (sid < FAKE_MAX_SIDS)
		g_sid_gone[sid] = true;
	pthread_mutex_unlock(&g_lock);
}

void fake_sid_attaching(uint32_t sid)
{
	pthread_mutex_lock(&g_lock);
	if (sid < FAKE_MAX_SIDS)
		g_sid_gone[sid] = false;
	pthread_mutex_unlock(&g_lock);
}

void fake_check_domain(struct svio_domain *dom)
{
	pthread_mutex_lock(&g_lock);
	g_check_dom = dom;
	pthread_mutex_unlock(&g_lock);
}
