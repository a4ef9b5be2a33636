#!/usr/bin/env bash
# Real kernel TCP over a lossy, duplicating, reordering path, for the
# differential comparison by hand (this machine has no netem, so the path is
# a userspace relay between two TUN devices, test/diff/impair-relay.py).
#
#   sudo bash test/diff/make-impaired-capture.sh OUT.pcap [SEED] [LOSS] [DUP] [REORDER] [small|full|reuse|tfo|v6-small|v6-tfo ...]
#   node dist/test/diff/run-diff.js OUT.pcap
#
# Namespaces wsi-c (client 10.79.0.2, fd79::2) and wsi-s (server 10.79.1.2,
# fd79:1::2; profiles v6-small, v6-full ... run over IPv6), TUN
# devices wsi-t0 / wsi-t1, all removed on exit. tcpdump captures on the
# server's TUN (LINKTYPE_RAW): client->server packets after the impairment
# (losses show as holes filled later, duplicates twice), server->client before
# it (losses show as retransmissions). Snaplen 128: headers only; every tool
# takes segment lengths from the IP header.
set -euo pipefail
OUT=${1:?usage: make-impaired-capture.sh OUT.pcap [SEED] [LOSS] [DUP] [REORDER]}
SEED=${2:-1}
LOSS=${3:-0.03}
DUP=${4:-0.01}
REORDER=${5:-0.05}
PROFILE=${6:-full}
HERE=$(cd "$(dirname "$0")" && pwd)
PORT=7900
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del wsi-c 2>/dev/null || true
  ip netns del wsi-s 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add wsi-c
ip netns add wsi-s
python3 "$HERE/impair-relay.py" wsi-c wsi-t0 wsi-s wsi-t1 "$SEED" "$LOSS" "$DUP" "$REORDER" > /tmp/wsi-relay.log 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q READY /tmp/wsi-relay.log 2>/dev/null && break; sleep 0.1; done
# TCP Fast Open client and server (used by the 'tfo' profile; harmless otherwise).
ip netns exec wsi-c sysctl -qw net.ipv4.tcp_fastopen=3
ip netns exec wsi-s sysctl -qw net.ipv4.tcp_fastopen=3
ip -n wsi-c link set lo up
ip -n wsi-s link set lo up
ip -n wsi-c addr add 10.79.0.2/24 dev wsi-t0
ip -n wsi-s addr add 10.79.1.2/24 dev wsi-t1
ip -n wsi-c addr add fd79::2/64 dev wsi-t0 nodad
ip -n wsi-s addr add fd79:1::2/64 dev wsi-t1 nodad
ip -n wsi-c link set wsi-t0 up
ip -n wsi-s link set wsi-t1 up
ip -n wsi-c route add 10.79.1.0/24 dev wsi-t0
ip -n wsi-s route add 10.79.0.0/24 dev wsi-t1
ip -n wsi-c -6 route add fd79:1::/64 dev wsi-t0
ip -n wsi-s -6 route add fd79::/64 dev wsi-t1
ip netns exec wsi-s python3 "$HERE/impaired-traffic.py" server $PORT &
pids+=($!)
ip netns exec wsi-s tcpdump -i wsi-t1 -w "$OUT" -U -s 128 tcp 2>/dev/null &
tcpdump_pid=$!
pids+=($tcpdump_pid)
sleep 1
SERVER=10.79.1.2
case "$PROFILE" in v6-*) SERVER=fd79:1::2 ;; esac
ip netns exec wsi-c python3 "$HERE/impaired-traffic.py" client "$SERVER" $PORT "$PROFILE"
sleep 2
kill -INT $tcpdump_pid
wait $tcpdump_pid 2>/dev/null || true
kill "${pids[0]}"
sleep 0.3
cat /tmp/wsi-relay.log
ls -la "$OUT"
