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
