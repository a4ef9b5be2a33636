import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { cliPath } from '../helpers/paths';
import { liveUnavailable, uniqueTag, VethPair, waitForExit, waitForLine } from '../host/netns';
import { withLoopbackNetns } from './loopback-netns';

/** Sends N UDP datagrams of 200 bytes to HOST:9 (nothing listens: the kernel answers with ICMP, which the filter leaves out), pausing P ms between them. */
const UDP_BURST_PY = `
import socket, sys, time
host, n, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]) / 1000
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    s.sendto(b"x" * 200, (host, 9))
    if pause: time.sleep(pause)
print("sent", n, flush=True)
`;

interface Row {
  packets: number;
  drops: number | null;
}

/**
 * `wirestate live` on the server end of a veth, filter 'udp', while the
 * client end sends `n` datagrams; returns the summary printed at stop and
 * the capture row. Each datagram crosses the veth once, so the kernel's
 * packet socket sees exactly `n`.
 */
async function captureBurst(pair: VethPair, db: string, bufferKiB: number, n: number, pauseMs: number): Promise<{ stdout: string; row: Row }> {
  const live = pair.server.spawn(process.execPath, [cliPath, 'live', '-i', pair.serverIf, '--db', db, '-B', String(bufferKiB), '--no-owners', 'udp']);
  await waitForLine(live, /capturing on/, 30000);
  const exited = waitForExit(live, 30000);
  const burst = pair.client.spawn('python3', ['-c', UDP_BURST_PY, pair.serverIp, String(n), String(pauseMs)]);
  await waitForLine(burst, /^sent/, 60000);
  await new Promise((r) => setTimeout(r, 500));
  live.kill('SIGINT');
  const end = await exited;
  assert.equal(end.code, 0, end.stderr);
  const d = new Database(db, { readonly: true });
  try {
    return { stdout: end.stdout, row: d.prepare('SELECT packets, drops FROM captures').get() as Row };
  } finally {
    d.close();
  }
}

test('live: packets the kernel drops from a full capture ring are counted, printed and stored in captures.drops; with room, drops are 0, never unknown', async (t) => {
  const why = liveUnavailable();
  if (why) {
    t.skip(why);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wse-drops-'));
  const pair = new VethPair(`dr${uniqueTag()}`, 40 + (process.pid % 150));
  try {
    // A ring of 16 slots (1 MiB / cap's 64 KiB frames) against 20,000 datagrams sent as fast as python can.
    const small = await captureBurst(pair, path.join(dir, 'small.db'), 1024, 20000, 0);
    const m = /^drops: (\d+) of (\d+) packets the kernel passed to the capture \([\d.]+%\) DROPPED/m.exec(small.stdout);
    assert.ok(m, `the summary says how many were dropped: ${small.stdout}`);
    const [dropped, received] = [Number(m[1]), Number(m[2])];
    assert.ok(dropped > 0, 'a 16-slot ring overflows under the burst');
    assert.equal(received, 20000, 'the packet socket saw every datagram');
    assert.equal(small.row.drops, dropped, 'captures.drops holds the count');
    assert.equal(small.row.packets + dropped, received, 'every packet the kernel passed was either read or counted as dropped');

    // The default ring, 1,000 datagrams at a walk: nothing lost, and the count says so (0, not NULL).
    const room = await captureBurst(pair, path.join(dir, 'room.db'), 262144, 1000, 1);
    assert.match(room.stdout, /^drops: 0 of 1000 packets the kernel passed to the capture;/m);
    assert.deepEqual(room.row, { packets: 1000, drops: 0 });
  } finally {
    pair.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('live on loopback: the kernel passes each packet twice there, and the summary says so beside its count', async (t) => {
  await withLoopbackNetns(t, async (ns, dir) => {
    const db = path.join(dir, 'lo.db');
    const live = ns.spawn(process.execPath, [cliPath, 'live', '-i', 'lo', '--db', db, '--no-owners', 'udp']);
    await waitForLine(live, /capturing on/, 30000);
    const exited = waitForExit(live, 30000);
    const burst = ns.spawn('python3', ['-c', UDP_BURST_PY, '127.0.0.1', '200', '1']);
    await waitForLine(burst, /^sent/, 60000);
    await new Promise((r) => setTimeout(r, 500));
    live.kill('SIGINT');
    const end = await exited;
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /: 200 packets \(0 TCP/);
    assert.match(end.stdout, /^drops: 0 of 400 packets the kernel passed to the capture \(on loopback it passes each packet twice: once sent, once received\);/m);
  });
});
