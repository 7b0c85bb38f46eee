/* SPDX-License-Identifier: BSD-3-Clause */
/* The scratch device model: a register file and a small DMA engine. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim_bus.h"
#include "sim_dma.h"
#include "scratch_hw.h"

struct scratch_model {
	uint64_t regs[SCRATCH_NREGS];
	uint64_t dma_addr;
	uint64_t dma_len;
	uint64_t dma_pasid;
	uint64_t dma_pattern;
	int64_t dma_status;
	uint64_t dma_result;
};

static const char *const scratch_devargs[] = { NULL };

/* The datasheet's "untagged" value is handed to the fabric as it is. */
_Static_assert(SCRATCH_PASID_NONE == SIM_PASID_NONE, "untagged PASID values differ");

static bool reg_access_ok(unsigned int bar, uint64_t off, unsigned int width)
{
	return bar == 0 && width == 8 && off % 8 == 0 && off < SCRATCH_BAR0_SIZE;
}

static int scratch_read(struct svio_device *dev, unsigned int bar, uint64_t off,
			unsigned int width, uint64_t *val)
{
	struct scratch_model *m = sim_dev_priv(dev);

	if (!reg_access_ok(bar, off, width))
		return -EINVAL;
	switch (off) {
	case SCRATCH_REG_ID:
		*val = SCRATCH_ID;
		break;
	case SCRATCH_REG_VERSION:
		*val = SCRATCH_VERSION;
		break;
	case SCRATCH_REG_NREGS:
		*val = SCRATCH_NREGS;
		break;
	case SCRATCH_REG_DMA_ADDR:
		*val = m->dma_addr;
		break;
	case SCRATCH_REG_DMA_LEN:
		*val = m->dma_len;
		break;
	case SCRATCH_REG_DMA_PASID:
		*val = m->dma_pasid;
		break;
	case SCRATCH_REG_DMA_PATTERN:
		*val = m->dma_pattern;
		break;
	case SCRATCH_REG_DMA_CTRL:
		*val = 0; /* inline engine: always idle when read */
		break;
	case SCRATCH_REG_DMA_STATUS:
		*val = (uint64_t)m->dma_status;
		break;
	case SCRATCH_REG_DMA_RESULT:
		*val = m->dma_result;
		break;
	default:
		if (off >= SCRATCH_REG_SCRATCH && off < SCRATCH_REG_SCRATCH + 8 * SCRATCH_NREGS)
			*val = m->regs[(off - SCRATCH_REG_SCRATCH) / 8];
		else
			*val = 0; /* unimplemented registers read as zero */
	}
	return 0;
}

/* Run one DMA in page-sized chunks so a 1 MiB transfer needs no big buffer. */
static void scratch_dma(struct svio_device *dev, struct scratch_model *m, bool to_mem)
{
	uint8_t chunk[4096];
	uint64_t done = 0, sum = 0;
	uint32_t pasid = (uint32_t)m->dma_pasid;
	int rc = 0;

	if (m->dma_len == 0 || m->dma_len > SCRATCH_DMA_MAX_LEN ||
	    m->dma_addr + m->dma_len < m->dma_addr) {
		m->dma_status = -EINVAL;
		return;
	}
	if (to_mem)
		memset(chunk, (int)(m->dma_pattern & 0xff), sizeof(chunk));
	while (done < m->dma_len && rc == 0) {
		uint64_t addr = m->dma_addr + done;
		size_t n = sizeof(chunk) - (addr & (sizeof(chunk) - 1));

		if (n > m->dma_len - done)
			n = m->dma_len - done;
		rc = sim_dma_rw(dev, pasid, addr, chunk, n, to_mem);
		if (rc == 0 && !to_mem) {
			for (size_t i = 0; i < n; i++)
				sum += chunk[i];
		}
		done += n;
	}
	m->dma_result = sum;
	m->dma_status = rc;
}

static int scratch_write(struct svio_device *dev, unsigned int bar, uint64_t off,
			 unsigned int width, uint64_t val)
{
	struct scratch_model *m = sim_dev_priv(dev);

	if (!reg_access_ok(bar, off, width))
		return -EINVAL;
	switch (off) {
	case SCRATCH_REG_DMA_ADDR:
		m->dma_addr = val;
		break;
	case SCRATCH_REG_DMA_LEN:
		m->dma_len = val;
		break;
	case SCRATCH_REG_DMA_PASID:
		m->dma_pasid = val;
		break;
	case SCRATCH_REG_DMA_PATTERN:
		m->dma_pattern = val;
		break;
	case SCRATCH_REG_DMA_CTRL:
		if (val & SCRATCH_CTRL_GO)
			scratch_dma(dev, m, val & SCRATCH_CTRL_TO_MEM);
		break;
	default:
		if (off >= SCRATCH_REG_SCRATCH && off < SCRATCH_REG_SCRATCH + 8 * SCRATCH_NREGS)
			m->regs[(off - SCRATCH_REG_SCRATCH) / 8] = val;
		/* writes to read-only or unimplemented registers are dropped */
	}
	return 0;
}

static int scratch_create(struct svio_device *dev)
{
	struct scratch_model *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	m->dma_pasid = SCRATCH_PASID_NONE;
	dev->bus_priv = m;
	return 0;
}

static void scratch_destroy(struct svio_device *dev)
{
	free(dev->bus_priv);
	dev->bus_priv = NULL;
}

static const struct svio_dev_reg_ops scratch_reg_ops = {
	.read = scratch_read,
	.write = scratch_write,
};

const struct sim_model sim_scratch_model = {
	.prefix = "sim_scratch",
	.kind = SVIO_DEV_KIND_SCRATCH,
	.devargs = scratch_devargs,
	.dma = true,
	.create = scratch_create,
	.destroy = scratch_destroy,
	.reg_ops = &scratch_reg_ops,
};
