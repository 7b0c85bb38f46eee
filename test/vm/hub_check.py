#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Run in the test/vm guest with SVIO_VM_VFIO=nvme (the virtio-net ports left
to the kernel's virtio_net): checks that a frame sent on one port arrives on
the other, i.e. that both ports sit on one QEMU hub.  Raw Ethernet frames of a
local experimental EtherType; no IP traffic.  Exit 0 when every frame sent
each way arrived, 1 otherwise."""

import os
import socket
import sys
import time

ETHERTYPE = 0x88B5  # IEEE 802 local experimental
FRAMES = 8


def iface_of(bdf):
    """The network interface the kernel made for a PCI function."""
    base = "/sys/bus/pci/devices/%s" % bdf
    for root, dirs, _ in os.walk(base):
        if os.path.basename(root) == "net" and dirs:
            return dirs[0]
    raise SystemExit("hub_check: no network interface under %s" % base)


def link_up(name):
    with open("/sys/class/net/%s/flags" % name) as f:
        flags = int(f.read(), 16)
    if not flags & 1:
        import fcntl
        import struct

        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        req = struct.pack("16sH", name.encode(), flags | 1)
        fcntl.ioctl(s, 0x8914, req)  # SIOCSIFFLAGS
        s.close()


def mac(name):
    with open("/sys/class/net/%s/address" % name) as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def one_way(src, dst):
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    tx.bind((src, 0))
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
    rx.bind((dst, 0))
    rx.settimeout(5)
    got = 0
    for seq in range(FRAMES):
        payload = b"svio-hub %s->%s %d" % (src.encode(), dst.encode(), seq)
        frame = mac(dst) + mac(src) + ETHERTYPE.to_bytes(2, "big") + payload.ljust(46, b"\0")
        tx.send(frame)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                data = rx.recv(2048)
            except socket.timeout:
                break
            if payload in data:
                got += 1
                break
    tx.close()
    rx.close()
    print("hub_check: %s -> %s: %d/%d frames" % (src, dst, got, FRAMES))
    return got == FRAMES


def main():
    a = iface_of(os.environ.get("SVIO_VM_NET0") or sys.argv[1])
    b = iface_of(os.environ.get("SVIO_VM_NET1") or sys.argv[2])
    for name in (a, b):
        link_up(name)
    time.sleep(0.5)
    ok = one_way(a, b) and one_way(b, a)
    print("hub_check: %s" % ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
