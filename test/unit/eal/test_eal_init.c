/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * svio_eal_init() end to end with DPDK: failures leave nothing behind and a
 * later call works; the devices named on the command line are probed. PCI
 * devices (-a) fail with a message that says what is missing: /dev/iommu,
 * or the vfio-pci binding (a fake sysfs tree stands in for the machine's).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_log.h>

#include <cmocka.h>

#include "svio_dev.h"
#include "svio_eal.h"
#include "svio_iommu.h"
#include "svio_test_eal.h"

static void assert_nothing_left(void)
{
	assert_null(svio_eal_config());
	assert_int_equal(svio_dev_count(SVIO_DEV_KIND_ANY), 0);
	assert_null(svio_domain_default());
}

/* Every rte_log line goes to a temporary file between begin and end. */
static FILE *log_file;

static void log_begin(void)
{
	log_file = tmpfile();
	assert_non_null(log_file);
	rte_openlog_stream(log_file);
}

static bool log_has(const char *s)
{
	char buf[8192];
	size_t n;

	fflush(log_file);
	rewind(log_file);
	n = fread(buf, 1, sizeof(buf) - 1, log_file);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

static void log_end(void)
{
	rte_openlog_stream(NULL);
	fclose(log_file);
	log_file = NULL;
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/*
 * A sysfs tree with one NVMe function 0000:01:00.0 bound to @p driver (with
 * a vfio-dev/vfio0 entry and a stand-in cdev when it is vfio-pci). Points
 * the PCI bus at it through its environment variables.
 */
static void fake_pci_tree(char *root, const char *driver)
{
	char dev[512], path[600];

	assert_non_null(mkdtemp(root));
	snprintf(dev, sizeof(dev), "%s/0000:01:00.0", root);
	assert_int_equal(mkdir(dev, 0755), 0);
	put_file(dev, "vendor", "0x8086\n");
	put_file(dev, "device", "0x0a54\n");
	put_file(dev, "class", "0x010802\n");
	snprintf(path, sizeof(path), "%s/driver", dev);
	assert_int_equal(symlink(driver, path), 0);
	if (strcmp(driver, "../drivers/vfio-pci") == 0) {
		snprintf(path, sizeof(path), "%s/vfio-dev", dev);
		assert_int_equal(mkdir(path, 0755), 0);
		snprintf(path, sizeof(path), "%s/vfio-dev/vfio0", dev);
		assert_int_equal(mkdir(path, 0755), 0);
		put_file(root, "vfio0", "");
	}
	setenv("SVIO_PCI_SYSFS_ROOT", root, 1);
	setenv("SVIO_VFIO_DEV_DIR", root, 1);
}

static void fake_pci_tree_remove(const char *root)
{
	char cmd[600];

	unsetenv("SVIO_PCI_SYSFS_ROOT");
	unsetenv("SVIO_VFIO_DEV_DIR");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

/* -a picks iommufd under auto: without /dev/iommu that is an error up front. */
static void test_pci_without_dev_iommu(void **state)
{
	const char *const auto_pci[] = { "-a", "0000:01:00.0", NULL };
	const char *const iommufd_pci[] = { "--iommu", "iommufd", "-a", "0000:01:00.0", NULL };
	char root[] = "/tmp/svio-eal-pci-XXXXXX";

	(void)state;
	if (access("/dev/iommu", F_OK) == 0)
		skip();
	log_begin();
	assert_int_equal(svio_test_eal_init(auto_pci), -ENODEV);
	assert_true(log_has("-a 0000:01:00.0: PCI devices need /dev/iommu"));
	assert_true(log_has("CONFIG_IOMMUFD"));
	assert_nothing_left();

	/* Asked for by name: the device gets as far as binding, and iommufd says why not. */
	fake_pci_tree(root, "../drivers/vfio-pci");
	assert_int_equal(svio_test_eal_init(iommufd_pci), -ENODEV);
	assert_true(log_has("/dev/iommu does not exist"));
	assert_nothing_left();
	fake_pci_tree_remove(root);
	log_end();
}

/* A device still bound to its kernel driver: the bus prints the commands that bind it. */
static void test_pci_not_bound_to_vfio(void **state)
{
	const char *const iommufd_pci[] = { "--iommu", "iommufd", "-a", "0000:01:00.0", NULL };
	char root[] = "/tmp/svio-eal-pci-XXXXXX";

	(void)state;
	fake_pci_tree(root, "../drivers/nvme");
	log_begin();
	assert_int_equal(svio_test_eal_init(iommufd_pci), -ENXIO);
	assert_true(log_has("bound to nvme, not to vfio-pci"));
	assert_true(log_has("echo vfio-pci > /sys/bus/pci/devices/0000:01:00.0/driver_override"));
	assert_nothing_left();
	log_end();
	fake_pci_tree_remove(root);
}

/* --vdev is for built-in devices: a PCI address there is a mistake, said as such. */
static void test_vdev_is_not_pci(void **state)
{
	const char *const vdev_pci[] = { "--vdev", "0000:01:00.0", NULL };

	(void)state;
	log_begin();
	assert_int_equal(svio_test_eal_init(vdev_pci), -EINVAL);
	assert_true(log_has("name PCI devices with -a"));
	assert_nothing_left();
	log_end();
}

static void test_failures_then_success(void **state)
{
	const char *const bad_option[] = { "--iommu-flush", "sometimes", NULL };
	const char *const bad_device[] = { "--vdev", "sim_scratch0", "--vdev", "sim_nosuch0",
					   NULL };
	const char *const bad_devarg[] = { "--vdev", "sim_scratch0,colour=red", NULL };
	const char *const pci_with_sim[] = { "--iommu", "sim", "-a", "0000:01:00.0", NULL };
	const char *const good[] = { "--vdev", "sim_scratch0", "--vdev", "sim_scratch1,iommu=1",
				     "--",     "--app-flag",   NULL };
	/* DPDK's own devices are created once svio is up: a failure there undoes svio too. */
	const char *const bad_dpdk_vdev[] = { "--vdev", "sim_scratch0", "--vdev", "net_nosuch0",
					      NULL };
	struct svio_test_eal_argv args;
	int ret;

	(void)state;
	assert_int_equal(svio_test_eal_init(bad_option), -EINVAL);
	assert_nothing_left();
	assert_int_equal(svio_test_eal_init(bad_device), -EINVAL);
	assert_nothing_left();
	assert_int_equal(svio_test_eal_init(bad_devarg), -EINVAL);
	assert_nothing_left();
	assert_int_equal(svio_test_eal_init(pci_with_sim), -EINVAL);
	assert_nothing_left();
	log_begin();
	assert_int_equal(svio_test_eal_init(bad_dpdk_vdev), -ENODEV);
	assert_true(log_has("--vdev net_nosuch0: no DPDK driver loaded takes this name"));
	log_end();
	assert_nothing_left();

	assert_int_equal(svio_test_eal_argv(&args, 64, good), 0);
	ret = svio_eal_init(args.argc, args.argv);
	assert_int_equal(ret, 11);
	/* The application's options follow, behind the program name. */
	assert_string_equal(args.argv[ret], "test");
	assert_string_equal(args.argv[ret + 1], "--app-flag");
	assert_non_null(svio_eal_config());
	assert_int_equal(svio_eal_config()->backend, SVIO_IOMMU_SIM);
	assert_non_null(svio_domain_default());
	assert_non_null(svio_dev_find("sim_scratch0"));
	assert_non_null(svio_dev_find("sim_scratch0")->driver);
	assert_non_null(svio_dev_find("sim_scratch1")->driver);
	assert_int_equal(svio_dev_count(SVIO_DEV_KIND_SCRATCH), 2);

	assert_int_equal(svio_test_eal_init(good), -EALREADY);
	assert_int_equal(svio_eal_cleanup(), 0);
	assert_nothing_left();
	assert_int_equal(svio_eal_cleanup(), -EALREADY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* Failures first: DPDK starts once per process, in the last test. */
		cmocka_unit_test(test_pci_without_dev_iommu),
		cmocka_unit_test(test_pci_not_bound_to_vfio),
		cmocka_unit_test(test_vdev_is_not_pci),
		cmocka_unit_test(test_failures_then_success),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
