#!/usr/bin/env python3
"""Traffic for the impaired-link capture (make-impaired-capture.sh).

  impaired-traffic.py server PORT          (in the server namespace)
  impaired-traffic.py client HOST PORT [small|full|reuse|tfo]   (in the client namespace)

Each client connection sends a one-line command; the server acts on it:
  up N        read N bytes, reply 'ok'
  down N      send N bytes, then close
  echo K      K request/response rounds of 300/3000 bytes
  stall N S   stop reading for S seconds (the client fills the window: zero windows), then read N bytes
  halfclose N the client shuts down its write side, the server still sends N bytes then closes
  idle S      the client idles S seconds with keep-alive probes every second, then closes
  abort       the client closes with SO_LINGER 0 (RST) in the middle of a download
  tfo K       (client only) K connections with TCP Fast Open (sendto MSG_FASTOPEN): the
              first gets a cookie, the later ones carry their request in the SYN
  tfo_refused (client only) a Fast Open SYN with data to a closed port (refused by RST)
  reuse K P   (client only) K connections in a row from the same source port P, each a
              'down 3000' the server closes first (its TIME_WAIT is reused by the next SYN)
"""
import socket
import struct
import sys
import threading
import time


def recv_exact(s, n):
    got = 0
    while got < n:
        b = s.recv(min(65536, n - got))
        if not b:
            break
        got += len(b)
    return got


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            break
        buf += b
    return buf.decode().split()


def handle(c):
    try:
        cmd = read_line(c)
        if not cmd:
            return
        op = cmd[0]
        if op == "up":
            recv_exact(c, int(cmd[1]))
            c.sendall(b"ok")
        elif op == "down":
            c.sendall(b"d" * int(cmd[1]))
        elif op == "echo":
            for _ in range(int(cmd[1])):
                recv_exact(c, 300)
                c.sendall(b"r" * 3000)
        elif op == "stall":
            time.sleep(float(cmd[2]))
            recv_exact(c, int(cmd[1]))
            c.sendall(b"ok")
        elif op == "halfclose":
            while c.recv(65536):
                pass
            c.sendall(b"h" * int(cmd[1]))
        elif op == "idle":
            while c.recv(65536):
                pass
        elif op == "abort":
            try:
                c.sendall(b"a" * 2_000_000)
            except OSError:
                pass
    except OSError:
        pass
    finally:
        c.close()


def server(port):
    # dual stack: IPv4 clients arrive as ::ffff:a.b.c.d
    ls = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    try:
        ls.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
    except OSError:
        pass
    ls.bind(("::", port))
    ls.listen(64)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def client_conn(host, port, line, body=None, sndbuf=None):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.settimeout(60)
    s.connect((host, port))
    s.sendall((line + "\n").encode())
    return s


def run_one(host, port, job):
    op = job[0]
    try:
        if op == "up":
            s = client_conn(host, port, f"up {job[1]}")
            s.sendall(b"u" * job[1])
            recv_exact(s, 2)
            s.close()
        elif op == "down":
            s = client_conn(host, port, f"down {job[1]}")
            while s.recv(65536):
                pass
            s.close()
        elif op == "echo":
            s = client_conn(host, port, f"echo {job[1]}")
            for _ in range(job[1]):
                s.sendall(b"q" * 300)
                recv_exact(s, 3000)
                time.sleep(0.02)
            s.close()
        elif op == "stall":
            s = client_conn(host, port, f"stall {job[1]} {job[2]}")
            s.sendall(b"z" * job[1])
            recv_exact(s, 2)
            s.close()
        elif op == "halfclose":
            s = client_conn(host, port, f"halfclose {job[1]}")
            s.sendall(b"x" * 1000)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
            s.close()
        elif op == "idle":
            s = client_conn(host, port, f"idle {job[1]}")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
            time.sleep(job[1])
            s.close()
        elif op == "tfo":
            for _ in range(job[1]):
                s = socket.socket(family(host), socket.SOCK_STREAM)
                # blocking while connecting (a timeout makes sendto return EINPROGRESS)
                s.sendto(b"echo 1\n" + b"q" * 300, socket.MSG_FASTOPEN, (host, port))
                s.settimeout(60)
                recv_exact(s, 3000)
                s.close()
                time.sleep(0.05)
        elif op == "tfo_refused":
            # a Fast Open SYN with data to a port nobody listens on: the RST acknowledges the data too
            s = socket.socket(family(host), socket.SOCK_STREAM)
            try:
                s.sendto(b"hello" * 40, socket.MSG_FASTOPEN, (host, port + 1))
                s.recv(10)
            except OSError:
                pass
            s.close()
        elif op == "reuse":
            for _ in range(job[1]):
                s = socket.socket(family(host), socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.settimeout(60)
                for _attempt in range(50):
                    try:
                        s.bind(("::" if ":" in host else "0.0.0.0", job[2]))
                        break
                    except OSError:
                        time.sleep(0.1)
                s.connect((host, port))
                s.sendall(b"down 3000\n")
                while s.recv(65536):
                    pass
                s.close()
                time.sleep(0.05)
        elif op == "abort":
            s = client_conn(host, port, "abort")
            recv_exact(s, 100_000)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        print("DONE", op, flush=True)
    except OSError as e:
        print("ERR", op, e, flush=True)


def client(host, port, profile):
    if profile.startswith("v6-"):
        # the same jobs over IPv6 (make-impaired-capture.sh passes the server's IPv6 address)
        profile = profile[3:]
    if profile == "tfo":
        jobs = [("tfo", 5), ("tfo", 5), ("tfo_refused",), ("tfo_refused",)]
    elif profile == "reuse":
        jobs = [("reuse", 8, 41000), ("reuse", 8, 41001), ("echo", 5)]
    elif profile == "small":
        jobs = (
            [("up", 60_000)] * 2
            + [("down", 80_000)] * 2
            + [("echo", 10)] * 3
            + [("stall", 150_000, 2)]
            + [("halfclose", 40_000)]
            + [("idle", 3)]
            + [("abort",)]
        )
    else:
        jobs = (
            [("up", 300_000)] * 3
            + [("down", 400_000)] * 3
            + [("echo", 20)] * 6
            + [("stall", 600_000, 3)] * 2
            + [("halfclose", 200_000)] * 2
            + [("idle", 4)] * 2
            + [("abort",)] * 2
        )
    threads = []
    for i, job in enumerate(jobs):
        t = threading.Thread(target=run_one, args=(host, port, job))
        t.start()
        threads.append(t)
        time.sleep(0.15)
    for t in threads:
        t.join()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]))
    else:
        client(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "full")
