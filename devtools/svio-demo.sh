#!/usr/bin/env bash
# Set everything up and run the main demonstration on the built-in hardware.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
root=$(svio_root)
cd "$root"
svio_install_packages
svio_build build
eal=(--no-huge -m 256 --no-shconf --no-telemetry --log-level='*:warning')

echo "== svio-hello: two devices behind two IOMMU instances, one shared SVA domain,"
echo "   DMA straight into malloc'd memory through page requests"
build/examples/svio-hello "${eal[@]}" --vdev sim_scratch0,iommu=0 \
	--vdev sim_scratch1,iommu=1 -- --pages 64

echo
echo "== svio-flushbench: 4 ATS devices on one IOMMU, 4 KiB random unmaps;"
echo "   naive (per device) vs strict and lazy (single flush queue)"
build/app/flushbench/svio-flushbench "${eal[@]}" -- --devices 4 --ats 4 --iommus 1 \
	--unmaps 50000 --compare

echo
echo "== svio-perf: 4 KiB random read/write with crc32c verify on two NVMe controllers"
echo "   behind two IOMMU instances, sharing one SVA domain (buffers are plain process memory)"
build/app/perf/svio-perf "${eal[@]}" --vdev sim_nvme0,size=1G --vdev sim_nvme1,size=1G,iommu=1 \
	-- --rw=randrw --bs=4k --iodepth=32 --runtime=3 --verify=crc32c

echo
echo "== svio-perf: the same with streaming DMA (map before, unmap after each I/O),"
echo "   lazy flush queue"
build/app/perf/svio-perf "${eal[@]}" --iommu-flush lazy --vdev sim_nvme0,size=1G \
	--vdev sim_nvme1,size=1G,iommu=1 -- --rw=randread --bs=4k --iodepth=32 --runtime=3 \
	--dma=map-per-io

echo
echo "== svio-testpmd: io forwarding between two cabled virtio-net ports"
build/app/testpmd/svio-testpmd "${eal[@]}" --vdev sim_vnet0,wire=pair:sim_vnet1 \
	--vdev sim_vnet1 -- --forward-mode=io --auto-start --tx-first --run-time=3
