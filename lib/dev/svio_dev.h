/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio devices, drivers and buses.
 *
 * A bus (sim, pci) turns command-line device arguments into struct svio_device
 * objects; a driver (NVMe, virtio-net, the sim IOMMU backend) claims devices by
 * kind and name prefix. Drivers reach the device only through this header:
 * register reads and writes, interrupts, and the device's DMA identity (which
 * IOMMU instance it sits behind, its source id, PASID and ATS support).
 *
 * Threading: the registry (register/probe/remove) is control path and not
 * thread safe; call it from the main lcore. Register accessors may be called
 * from any thread; a device's driver decides which thread owns which queue.
 * Return convention: 0 or a negative errno value.
 */
#ifndef SVIO_DEV_H
#define SVIO_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SVIO_DEV_NAME_MAX 64
#define SVIO_DEV_MAX_BARS 6
#define SVIO_DEV_MAX_VECTORS 8

/**
 * Region index for the read/write ops that reaches the device's PCI
 * configuration space instead of a BAR (offsets 0..4095, widths 1, 2 or 4):
 * the VFIO config region on real devices, the model's image on the built-in
 * ones. Devices without a configuration space answer -EINVAL.
 */
#define SVIO_DEV_REGION_CONFIG 0x100u

struct rte_kvargs;
struct svio_device;
struct svio_driver;
struct svio_iommu;

/** What a device is; drivers match on it. */
enum svio_dev_kind {
	SVIO_DEV_KIND_ANY = 0, /**< only valid in a driver's match table */
	SVIO_DEV_KIND_SCRATCH, /**< minimal register-file test device */
	SVIO_DEV_KIND_IOMMU,   /**< an IOMMU instance */
	SVIO_DEV_KIND_NVME,
	SVIO_DEV_KIND_NET,
};

/** Printable name of a kind ("nvme", "iommu", ...). */
const char *svio_dev_kind_name(enum svio_dev_kind kind);

/**
 * Register access, provided by the bus: a mapped BAR on real hardware, the
 * model's register file on the built-in hardware. Widths are 1, 2, 4 or 8.
 * @p bar is a BAR index (0..SVIO_DEV_MAX_BARS-1) or SVIO_DEV_REGION_CONFIG.
 */
struct svio_dev_reg_ops {
	int (*read)(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
		    uint64_t *val);
	int (*write)(struct svio_device *dev, unsigned int bar, uint64_t off, unsigned int width,
		     uint64_t val);
};

/** An interrupt handler registered by a driver for one vector. */
typedef void (*svio_intr_handler_t)(struct svio_device *dev, unsigned int vector, void *arg);

/**
 * DMA identity of a device: what the IOMMU core needs to attach it.
 * Filled by the bus at scan time.
 */
struct svio_dev_dma {
	struct svio_iommu *iommu; /**< instance the device sits behind, NULL if none yet */
	unsigned int iommu_index; /**< bus-level instance number (devargs iommu=N) */
	uint32_t sid;             /**< PCI requester id (bus << 8 | devfn) */
	bool pasid;               /**< device can tag DMA with a PASID */
	bool ats;                 /**< device has a device-TLB (ATS enabled) */
	bool pri;                 /**< device can issue page requests */
};

struct svio_device {
	TAILQ_ENTRY(svio_device) next;
	char name[SVIO_DEV_NAME_MAX];
	enum svio_dev_kind kind;
	int numa_node;                  /**< -1 when unknown */
	const struct svio_bus *bus;
	char *devargs_str;              /**< "key=val,..." as given, never NULL */
	struct rte_kvargs *devargs;     /**< parsed devargs, never NULL */
	const struct svio_dev_reg_ops *reg_ops;
	void *bus_priv;                 /**< the bus's (or model's) per-device state */
	struct svio_dev_dma dma;

	struct svio_driver *driver;     /**< set once probed */
	void *driver_priv;

	struct {
		svio_intr_handler_t fn;
		void *arg;
	} intr[SVIO_DEV_MAX_VECTORS];
};

/** A driver claims devices of one kind whose name starts with a prefix. */
struct svio_driver {
	TAILQ_ENTRY(svio_driver) next;
	const char *name;
	enum svio_dev_kind kind;
	const char *name_prefix;    /**< NULL or "" matches any name */
	const char *const *devargs; /**< NULL-terminated keys this driver accepts */
	int (*probe)(struct svio_driver *drv, struct svio_device *dev);
	int (*remove)(struct svio_device *dev);
};

/**
 * A bus: parses device arguments into devices and tears them down.
 * Buses are compiled in and registered by svio_eal_init().
 */
struct svio_bus {
	TAILQ_ENTRY(svio_bus) next;
	const char *name;
	/** Does this bus own a device named @p name? */
	bool (*claims)(const char *name);
	/** Create a device from "name" and "key=val,..." (already split). */
	int (*add)(const char *name, const char *args, struct svio_device **out);
	/** Destroy a device created by add() (after its driver was removed). */
	void (*release)(struct svio_device *dev);
	/** Called once after every device was added, before probing. */
	int (*scan_done)(void);
	/** Called when the last device is gone. */
	void (*cleanup)(void);
	/** Its devices are named with --vdev (built-in ones), not with -a. */
	bool vdev;
};

/* Registry. */
int svio_bus_register(struct svio_bus *bus);
void svio_bus_unregister(struct svio_bus *bus);
const struct svio_bus *svio_bus_find(const char *name);
int svio_driver_register(struct svio_driver *drv);
void svio_driver_unregister(struct svio_driver *drv);

/**
 * Create a device from one command-line argument "name[,key=val...]"
 * (what follows --vdev, or -a). The bus is chosen by the name.
 * @return 0, -EINVAL for a malformed argument, -EEXIST for a duplicate name,
 *         -ENODEV when no bus claims the name.
 */
int svio_dev_add(const char *arg, struct svio_device **out);

/** Probe every device that has no driver yet. -ENODEV names the first unclaimed one. */
int svio_dev_probe_all(void);

/** Remove drivers and destroy every device. Safe to call more than once. */
void svio_dev_remove_all(void);

/** Device by name, or NULL. */
struct svio_device *svio_dev_find(const char *name);

/** Iterate devices: pass NULL to start; returns NULL at the end. */
struct svio_device *svio_dev_next(const struct svio_device *prev);

/** Count of devices of a kind (ANY counts all). */
unsigned int svio_dev_count(enum svio_dev_kind kind);

/** Devarg value of @p key, or NULL when absent. */
const char *svio_dev_arg(const struct svio_device *dev, const char *key);

/**
 * Parse an unsigned devarg with an optional K/M/G/T suffix (binary units).
 * @return 0 and *val (left untouched when absent), -EINVAL naming the key when malformed.
 */
int svio_dev_arg_u64(const struct svio_device *dev, const char *key, uint64_t *val);

/** Parse a boolean devarg (on/off, yes/no, 1/0, true/false). */
int svio_dev_arg_bool(const struct svio_device *dev, const char *key, bool *val);

/**
 * Parse an unsigned decimal (or 0x hex) number, with an optional binary
 * K/M/G/T suffix when @p suffix is true. Rejects signs, empty strings,
 * trailing garbage and overflow.
 * @return 0 or -EINVAL (malformed), -ERANGE (overflow).
 */
int svio_parse_u64(const char *s, bool suffix, uint64_t *val);

/* Register access. */
static inline int svio_reg_read32(struct svio_device *dev, unsigned int bar, uint64_t off,
				  uint32_t *val)
{
	uint64_t v;
	int rc = dev->reg_ops->read(dev, bar, off, 4, &v);

	*val = (uint32_t)v;
	return rc;
}

static inline int svio_reg_read64(struct svio_device *dev, unsigned int bar, uint64_t off,
				  uint64_t *val)
{
	return dev->reg_ops->read(dev, bar, off, 8, val);
}

static inline int svio_reg_write32(struct svio_device *dev, unsigned int bar, uint64_t off,
				   uint32_t val)
{
	return dev->reg_ops->write(dev, bar, off, 4, val);
}

static inline int svio_reg_write64(struct svio_device *dev, unsigned int bar, uint64_t off,
				   uint64_t val)
{
	return dev->reg_ops->write(dev, bar, off, 8, val);
}

/* PCI configuration space (SVIO_DEV_REGION_CONFIG); control path. */
static inline int svio_cfg_read(struct svio_device *dev, uint32_t off, unsigned int width,
				uint32_t *val)
{
	uint64_t v = 0;
	int rc = dev->reg_ops->read(dev, SVIO_DEV_REGION_CONFIG, off, width, &v);

	*val = (uint32_t)v;
	return rc;
}

static inline int svio_cfg_write(struct svio_device *dev, uint32_t off, unsigned int width,
				 uint32_t val)
{
	return dev->reg_ops->write(dev, SVIO_DEV_REGION_CONFIG, off, width, val);
}

/* Interrupts. */
int svio_dev_intr_register(struct svio_device *dev, unsigned int vector, svio_intr_handler_t fn,
			   void *arg);
void svio_dev_intr_unregister(struct svio_device *dev, unsigned int vector);

/**
 * Deliver an interrupt (called by a bus or a device model, like an MSI write).
 * The handler runs on the caller's thread. Returns -ENOENT when no handler.
 */
int svio_dev_intr_raise(struct svio_device *dev, unsigned int vector);

#ifdef __cplusplus
}
#endif

#endif /* SVIO_DEV_H */
