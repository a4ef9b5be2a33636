#!/usr/bin/env python3
"""Userspace impaired link between two network namespaces (this machine has no
netem): opens TUN device TUN_A inside namespace NS_A and TUN_B inside NS_B
(setns through libc), then forwards IP packets both ways with a base delay,
random loss, duplication and extra delay for a few packets (which reorders
them). Real kernel TCP on both ends; only the path is simulated.

usage: impair-relay.py NS_A TUN_A NS_B TUN_B SEED LOSS DUP REORDER [BASE_S [JITTER_S]]
BASE_S is the one-way delay (default 0.002), JITTER_S the random extra of
each packet (default 0.0005; 0 keeps every packet's order).
Runs until SIGTERM; prints counts on exit.
"""
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

libc = ctypes.CDLL("libc.so.6", use_errno=True)


def enter(ns):
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), f"setns {ns}")
    os.close(fd)


def open_tun(ns, name):
    enter(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    return fd


def main():
    ns_a, tun_a, ns_b, tun_b, seed, loss, dup, reorder = sys.argv[1:9]
    loss, dup, reorder = float(loss), float(dup), float(reorder)
    base = float(sys.argv[9]) if len(sys.argv) > 9 else 0.002
    jitter = float(sys.argv[10]) if len(sys.argv) > 10 else 0.0005
    rng = random.Random(int(seed))
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    fa = open_tun(ns_a, tun_a)
    fb = open_tun(ns_b, tun_b)
    libc.setns(home, CLONE_NEWNET)
    print("READY", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    queue = []  # (due, n, out_fd, packet)
    n = 0
    counts = {"in": 0, "lost": 0, "dup": 0, "delayed": 0}
    while not stop:
        timeout = 0.05
        if queue:
            timeout = max(0.0, min(timeout, queue[0][0] - time.monotonic()))
        try:
            ready, _, _ = select.select([fa, fb], [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in ready:
            out = fb if fd == fa else fa
            while True:
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                counts["in"] += 1
                if rng.random() < loss:
                    counts["lost"] += 1
                    continue
                copies = 2 if rng.random() < dup else 1
                if copies == 2:
                    counts["dup"] += 1
                for _ in range(copies):
                    delay = base + rng.random() * jitter
                    if rng.random() < reorder:
                        delay += 0.004 + rng.random() * 0.01
                        counts["delayed"] += 1
                    n += 1
                    heapq.heappush(queue, (now + delay, n, out, pkt))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, pkt = heapq.heappop(queue)
            try:
                os.write(out, pkt)
            except OSError:
                pass
    print("COUNTS", counts, flush=True)


if __name__ == "__main__":
    main()
