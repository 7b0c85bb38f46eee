#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Debian's dpdk-testpmd forwards between two net_svio ports on cabled
built-in virtio-net devices, and every frame is accounted for from testpmd's
own counters.

  testpmd_fwd.py NET_SVIO.so [SANITIZE] [QUEUES] [wait|drop]

testpmd is driven through its interactive prompt: io forwarding with
tx_first, stop, then rxonly until nothing moves (frames still in the rings
when io forwarding stopped arrive then), stop. Per direction A->B, exactly:
  TX-packets(A) == RX-packets(B) + RX-missed(B) + RX-errors(B)
from "show port stats all", and the per-phase forward statistics must add
up to the same port counters. With drop, the devices drop what finds no
receive buffer (rx_full=drop) and more frames are injected than the rings
hold: the device must count each drop (RX-missed, from its virtio 1.3
statistics) and some must happen. SANITIZE is meson's b_sanitize: with
address, dpdk-testpmd (not an ASan build) runs with the ASan runtime preloaded.
"""
import os
import re
import select
import subprocess
import sys
import time

PROMPT = "testpmd> "
IO_SECONDS = 2.0
MIN_FRAMES = 10000  # per direction in the io phase: forwarding really ran


class Fail(Exception):
    pass


class Testpmd:
    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env)
        self.log = ""  # everything testpmd printed, for a failure's report

    def read_until(self, marker, timeout):
        """Output up to and including the next @marker."""
        out, deadline = "", time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while marker not in out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("no '%s' from dpdk-testpmd within %.0f s" % (marker.strip(),
                                                                        timeout))
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536).decode(errors="replace")
            if chunk == "":
                raise Fail("dpdk-testpmd exited (status %s) before '%s'" %
                           (self.proc.wait(), marker.strip()))
            out += chunk
            self.log += chunk
        return out

    def cmd(self, line, timeout=60):
        """Run one prompt command; its output (up to the next prompt)."""
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        return self.read_until(PROMPT, timeout)


def port_stats(text):
    """{port: {counter: value}} from 'show port stats all' output."""
    stats = {}
    blocks = re.split(r"#+ NIC statistics for port (\d+) +#+", text)
    for i in range(1, len(blocks) - 1, 2):
        body, s = blocks[i + 1], {}
        for key in ("RX-packets", "RX-missed", "RX-errors", "RX-nombuf", "TX-packets",
                    "TX-errors"):
            m = re.search(re.escape(key) + r":\s*(\d+)", body)
            if m is None:
                raise Fail("port %s: no %s in 'show port stats all'" % (blocks[i], key))
            s[key] = int(m.group(1))
        stats[int(blocks[i])] = s
    if sorted(stats) != [0, 1]:
        raise Fail("'show port stats all' listed ports %s, not 0 and 1" % sorted(stats))
    return stats


def fwd_stats(text):
    """{port: {counter: value}} from the forward statistics 'stop' prints."""
    stats = {}
    blocks = re.split(r"-+ Forward statistics for port (\d+) +-+", text)
    for i in range(1, len(blocks) - 1, 2):
        body = blocks[i + 1].split("-----")[0]
        s = {}
        for key in ("RX-packets", "RX-dropped", "TX-packets", "TX-dropped"):
            m = re.search(re.escape(key) + r":\s*(\d+)", body)
            if m is None:
                raise Fail("port %s: no %s in the forward statistics" % (blocks[i], key))
            s[key] = int(m.group(1))
        stats[int(blocks[i])] = s
    if sorted(stats) != [0, 1]:
        raise Fail("'stop' gave forward statistics of ports %s, not 0 and 1" % sorted(stats))
    return stats


def check_equal(what, left, right):
    if left != right:
        raise Fail("%s: %d != %d (difference %d)" % (what, left, right, left - right))


def settle(tp):
    """Port counters once two reads 300 ms apart agree (rxonly took everything)."""
    last = port_stats(tp.cmd("show port stats all"))
    for _ in range(100):
        time.sleep(0.3)
        now = port_stats(tp.cmd("show port stats all"))
        if now == last:
            return now
        last = now
    raise Fail("receive counters still moving after 30 s of rxonly")


def run(plugin, sanitize, queues, rx_full):
    env = dict(os.environ)
    if "address" in sanitize:
        env["LD_PRELOAD"] = subprocess.run(["cc", "-print-file-name=libasan.so"],
                                           capture_output=True, text=True,
                                           check=True).stdout.strip()
        # testpmd's own allocations are not ours to judge.
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":detect_leaks=0").lstrip(":")
    dev = "queues=%d,rx_full=%s" % (queues, rx_full)
    svio = "svio=--vdev sim_vnet0,wire=pair:sim_vnet1,%s --vdev sim_vnet1,%s" % (dev, dev)
    # wait: lossless. drop: 2 x 64 bursts of 32 per stream, more than 1024-slot rings hold.
    bursts = 64 if rx_full == "drop" else 4
    # testpmd prints with stdio: line-buffered, its answers come before the next prompt.
    # --no-flush-rx: start must not empty the receive queues uncounted by the forward
    # statistics (the rxonly phase is there to count what they hold).
    argv = ["stdbuf", "-oL", "dpdk-testpmd", "--no-huge", "-m", "1024", "--no-shconf",
            "--no-pci", "--no-telemetry", "-l", "0-1", "--log-level=*:notice", "-d", plugin,
            "--vdev", "net_svio0,dev=sim_vnet0," + svio, "--vdev", "net_svio1,dev=sim_vnet1",
            "--", "-i", "--total-num-mbufs=32768", "--no-flush-rx",
            "--rxq=%d" % queues, "--txq=%d" % queues]
    print("+ " + " ".join("'%s'" % a if " " in a else a for a in argv), flush=True)
    tp = Testpmd(argv, env)
    try:
        tp.read_until(PROMPT, 120)
        tp.cmd("set fwd io")
        tp.cmd("start tx_first %d" % bursts)
        time.sleep(IO_SECONDS)
        io = fwd_stats(tp.cmd("stop"))
        at_stop = port_stats(tp.cmd("show port stats all"))
        tp.cmd("set fwd rxonly")
        tp.cmd("start")
        drained = settle(tp)
        rxonly = fwd_stats(tp.cmd("stop"))
        final = port_stats(tp.cmd("show port stats all"))
        tp.proc.stdin.write(b"quit\n")
        tp.proc.stdin.close()
        tp.read_until("Bye", 60)
        rc = tp.proc.wait(60)
        if rc != 0:
            raise Fail("dpdk-testpmd exited with status %d" % rc)
    except Fail:
        print(tp.log)
        if tp.proc.poll() is None:
            tp.proc.kill()
        raise
    except subprocess.TimeoutExpired:
        print(tp.log)
        tp.proc.kill()
        raise Fail("dpdk-testpmd did not exit within 60 s of quit")

    check_equal("counters moved after rxonly stopped", 0,
                sum(final[p][k] != drained[p][k] for p in (0, 1)
                    for k in ("RX-packets", "TX-packets")))
    for a, b in ((0, 1), (1, 0)):
        sent = final[a]["TX-packets"]
        got = final[b]["RX-packets"] + final[b]["RX-missed"] + final[b]["RX-errors"]
        print("port %d -> %d: sent %d, received %d, missed %d, errors %d; in flight when "
              "io forwarding stopped: %d" % (a, b, sent, final[b]["RX-packets"],
                                             final[b]["RX-missed"], final[b]["RX-errors"],
                                             sent - at_stop[b]["RX-packets"]))
        if io[a]["TX-packets"] < MIN_FRAMES:
            raise Fail("port %d sent only %d frames in %.0f s of io forwarding" %
                       (a, io[a]["TX-packets"], IO_SECONDS))
        check_equal("port %d -> %d: sent == received + missed + errors" % (a, b), sent, got)
        if rx_full == "drop" and final[b]["RX-missed"] == 0:
            raise Fail("port %d: rx_full=drop and %d frames injected, yet RX-missed is 0" %
                       (b, 2 * queues * bursts * 32))
        # rxonly transmits nothing: every frame was sent in the io phase ...
        check_equal("port %d: TX-packets == io forward TX-packets" % a, sent,
                    io[a]["TX-packets"])
        # ... and each received frame is counted by exactly one phase.
        check_equal("port %d: RX-packets == io + rxonly forward RX-packets" % b,
                    final[b]["RX-packets"], io[b]["RX-packets"] + rxonly[b]["RX-packets"])
        check_equal("port %d: RX-packets at io stop == io forward RX-packets" % b,
                    at_stop[b]["RX-packets"], io[b]["RX-packets"])


def main():
    if len(sys.argv) < 2 or not os.path.isfile(sys.argv[1]):
        print(__doc__)
        return 2
    plugin = os.path.abspath(sys.argv[1])
    sanitize = sys.argv[2] if len(sys.argv) > 2 else "none"
    queues = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rx_full = sys.argv[4] if len(sys.argv) > 4 else "wait"
    try:
        run(plugin, sanitize, queues, rx_full)
    except (Fail, OSError) as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
