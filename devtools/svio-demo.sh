#!/usr/bin/env bash
# Set everything up and run the main demonstration on the built-in hardware.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
root=$(svio_root)
cd "$root"
svio_install_packages
svio_build build
eal=(--no-huge -m 256 --no-shconf --no-telemetry --log-level='*:warning')
echo "== svio-hello: two devices behind two IOMMU instances, one shared SVA domain"
build/examples/svio-hello "${eal[@]}" --vdev sim_scratch0,iommu=0 \
	--vdev sim_scratch1,iommu=1 -- --pages 64
