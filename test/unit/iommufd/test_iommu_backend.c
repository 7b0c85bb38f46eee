/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IOMMU backend selection (--iommu=sim|iommufd|auto) and the bind of a real
 * device through the selected backend's ops: each choice's behaviour and
 * its error messages, against the mock kernel, then end to end through
 * svio_eal_init() and the PCI bus on a fake sysfs tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_iommu.h"
#include "svio_iommu_backend.h"
#include "iommufd_backend.h"
#include "mock_kernel.h"
#include "svio_test_eal.h"

#define MISSING_IOMMU "/nonexistent/svio/iommu"

static struct svio_device dev = { .name = "0000:00:04.0" };
static int fd = -1;

static int setup(void **state)
{
	(void)state;
	mock_reset();
	svio_iommufd_set_ioctl(mock_ioctl);
	svio_iommufd_set_path("/dev/null");
	fd = open("/dev/null", O_RDWR);
	memset(&dev.dma, 0, sizeof(dev.dma));
	log_capture_begin();
	return fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	log_capture_end();
	assert_int_equal(svio_iommu_backend_select("auto"), 0);
	svio_iommufd_set_ioctl(NULL);
	svio_iommufd_set_path(NULL);
	close(fd);
	return 0;
}

static void test_select_names(void **state)
{
	(void)state;
	assert_non_null(svio_iommu_backend_find("sim"));
	assert_non_null(svio_iommu_backend_find("iommufd"));
	assert_null(svio_iommu_backend_find("vfio"));

	assert_int_equal(svio_iommu_backend_select("iommufd"), 0);
	assert_ptr_equal(svio_iommu_backend_selected(), svio_iommu_backend_find("iommufd"));
	assert_int_equal(svio_iommu_backend_select("sim"), 0);
	assert_ptr_equal(svio_iommu_backend_selected(), svio_iommu_backend_find("sim"));
	assert_int_equal(svio_iommu_backend_select(NULL), 0);
	assert_null(svio_iommu_backend_selected());

	/* An unknown name is refused and the selection stays as it was. */
	assert_int_equal(svio_iommu_backend_select("iommufd"), 0);
	assert_int_equal(svio_iommu_backend_select("vfio"), -EINVAL);
	assert_true(log_contains("--iommu=vfio: no such IOMMU backend (this build has auto, sim, "
				 "iommufd)"));
	assert_ptr_equal(svio_iommu_backend_selected(), svio_iommu_backend_find("iommufd"));
}

/* sim: a real device is refused, saying why, and nothing reaches the kernel. */
static void test_sim_refuses_real_device(void **state)
{
	struct svio_iommu_binding b;

	(void)state;
	assert_int_equal(svio_iommu_backend_select("sim"), 0);
	assert_int_equal(svio_iommu_bind(&b, &dev, fd), -ENOTSUP);
	assert_true(log_contains("0000:00:04.0: --iommu=sim: the built-in IOMMU model translates "
				 "only for built-in devices"));
	assert_true(log_contains("use --iommu=iommufd or auto"));
	assert_null(b.backend);
	assert_int_equal(mock.n_calls, 0);
	assert_null(svio_iommufd_iommu());
	svio_iommu_unbind(&b); /* not bound: nothing to undo */
	assert_int_equal(mock.n_calls, 0);
}

/* iommufd by name: bound through iommufd, unbound through the binding. */
static void test_iommufd_binds(void **state)
{
	struct svio_iommu_binding b;

	(void)state;
	assert_int_equal(svio_iommu_backend_select("iommufd"), 0);
	assert_int_equal(svio_iommu_bind(&b, &dev, fd), 0);
	assert_ptr_equal(b.backend, svio_iommu_backend_find("iommufd"));
	assert_non_null(b.priv);
	assert_int_equal(mock_count(SVIO_VFIO_DEVICE_BIND_IOMMUFD), 1);
	assert_int_equal(dev.dma.iommu_index, SVIO_IOMMUFD_INDEX);
	assert_non_null(svio_iommufd_iommu());
	svio_iommu_unbind(&b);
	assert_null(b.backend);
	assert_null(svio_iommufd_iommu());
	assert_int_equal(mock.live_objs, 0);
}

/* iommufd by name without /dev/iommu: the bind names the missing file. */
static void test_iommufd_missing_dev_iommu(void **state)
{
	struct svio_iommu_binding b;

	(void)state;
	svio_iommufd_set_path(MISSING_IOMMU);
	assert_int_equal(svio_iommu_backend_select("iommufd"), 0);
	/* Selected by name: used even though it is not available. */
	assert_ptr_equal(svio_iommu_backend_for_real_device(NULL, 0),
			 svio_iommu_backend_find("iommufd"));
	assert_int_equal(svio_iommu_bind(&b, &dev, fd), -ENODEV);
	assert_true(log_contains(MISSING_IOMMU " does not exist"));
	assert_true(log_contains("CONFIG_IOMMUFD"));
	assert_null(b.backend);
	assert_int_equal(mock_count(SVIO_VFIO_DEVICE_BIND_IOMMUFD), 0);
	assert_null(svio_iommufd_iommu());
}

/* auto: iommufd when it is available, else an error that names what is missing. */
static void test_auto(void **state)
{
	struct svio_iommu_binding b;
	char why[512];

	(void)state;
	assert_int_equal(svio_iommu_backend_select("auto"), 0);
	assert_ptr_equal(svio_iommu_backend_for_real_device(why, sizeof(why)),
			 svio_iommu_backend_find("iommufd"));
	assert_int_equal(svio_iommu_bind(&b, &dev, fd), 0);
	assert_ptr_equal(b.backend, svio_iommu_backend_find("iommufd"));
	svio_iommu_unbind(&b);
	assert_null(svio_iommufd_iommu());

	svio_iommufd_set_path(MISSING_IOMMU);
	assert_null(svio_iommu_backend_for_real_device(why, sizeof(why)));
	assert_non_null(strstr(why, "PCI devices need " MISSING_IOMMU ", which this kernel lacks"));
	mock_reset();
	assert_int_equal(svio_iommu_bind(&b, &dev, fd), -ENODEV);
	assert_true(log_contains("0000:00:04.0: --iommu=auto found no IOMMU backend for a real "
				 "device: PCI devices need " MISSING_IOMMU));
	assert_null(b.backend);
	assert_int_equal(mock.n_calls, 0);
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/*
 * End to end: after svio_eal_init(--iommu sim), a PCI device added later is
 * refused by the sim backend (not handed to iommufd), and leaves nothing.
 */
static void test_eal_sim_refuses_pci(void **state)
{
	const char *const args[] = { "--iommu", "sim", "--vdev", "sim_scratch0", NULL };
	char root[] = "/tmp/svio-backend-XXXXXX";
	char devdir[300], path[400], cmd[400];
	struct svio_device *added = NULL;

	(void)state;
	assert_non_null(mkdtemp(root));
	snprintf(devdir, sizeof(devdir), "%s/0000:01:00.0", root);
	assert_int_equal(mkdir(devdir, 0755), 0);
	put_file(devdir, "vendor", "0x8086\n");
	put_file(devdir, "device", "0x0a54\n");
	put_file(devdir, "class", "0x010802\n");
	snprintf(path, sizeof(path), "%s/driver", devdir);
	assert_int_equal(symlink("../drivers/vfio-pci", path), 0);
	snprintf(path, sizeof(path), "%s/vfio-dev", devdir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/vfio-dev/vfio0", devdir);
	assert_int_equal(mkdir(path, 0755), 0);
	put_file(root, "vfio0", "");
	setenv("SVIO_PCI_SYSFS_ROOT", root, 1);
	setenv("SVIO_VFIO_DEV_DIR", root, 1);

	assert_true(svio_test_eal_init(args) >= 0);
	log_capture_begin(); /* DPDK is up: capture its log stream again */
	assert_int_equal(svio_eal_config()->backend, SVIO_IOMMU_SIM);
	assert_ptr_equal(svio_iommu_backend_selected(), svio_iommu_backend_find("sim"));
	assert_int_equal(svio_dev_add("0000:01:00.0", &added), -ENOTSUP);
	assert_true(log_contains("0000:01:00.0: --iommu=sim: the built-in IOMMU model"));
	assert_null(svio_dev_find("0000:01:00.0"));
	assert_int_equal(mock.n_calls, 0);
	assert_null(svio_iommufd_iommu());
	assert_int_equal(svio_eal_cleanup(), 0);
	/* The selection ends with svio: back to auto. */
	assert_null(svio_iommu_backend_selected());

	unsetenv("SVIO_PCI_SYSFS_ROOT");
	unsetenv("SVIO_VFIO_DEV_DIR");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_select_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sim_refuses_real_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_binds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommufd_missing_dev_iommu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto, setup, teardown),
		/* Last: DPDK starts once per process. */
		cmocka_unit_test_setup_teardown(test_eal_sim_refuses_pci, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
