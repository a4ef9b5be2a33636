import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { readCapture } from '../../src/source/read-capture';
import { Netns, liveUnavailable, uniqueTag, waitForExit, waitForLine, waitForSettled, LEAKY_SERVER_PY, CLIENT_PY } from '../host/netns';

const liveCaptureModule = path.resolve(__dirname, '..', '..', 'src', 'source', 'live-capture.js');
const pcapWriterModule = path.resolve(__dirname, '..', '..', 'src', 'source', 'pcap-writer.js');

// Runs inside the namespace: LiveCapture on lo → PcapWriter, until stdin closes.
const CAPTURE_JS = `
const { LiveCapture } = require(${JSON.stringify(liveCaptureModule)});
const { PcapWriter } = require(${JSON.stringify(pcapWriterModule)});
const [out, filter, snaplen] = process.argv.slice(1);
let w;
const cap = LiveCapture.open({ device: 'lo', filter, snaplen: Number(snaplen) }, (p) => w.write(p));
w = new PcapWriter(out, cap.linktype, cap.snaplen);
console.log('capturing ' + cap.linktype);
process.stdin.on('end', () => { setTimeout(() => { cap.close(); w.close(); console.log('packets ' + cap.packets + ' truncated ' + cap.truncated); }, 500); });
process.stdin.resume();
`;

function tcpdumpLines(file: string): string[] {
  const r = spawnSync('tcpdump', ['-nn', '-tt', '-r', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** tcpdump's one-line summary without the timestamp: the packets must be the same, the clocks differ. */
function withoutTime(lines: string[]): string[] {
  return lines.map((l) => l.replace(/^\d+\.\d+ /, ''));
}

/** Lines grouped by "IP a.p > b.q" (one sending socket each), in capture order within each group. */
function byDirection(lines: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of lines) {
    const dir = /^(IP6? \S+ > \S+):/.exec(l)?.[1] ?? '?';
    (out[dir] ??= []).push(l);
  }
  return out;
}

for (const snaplen of [65535, 96]) {
  test(`live capture on lo (snaplen ${snaplen}) writes the same packets tcpdump captures alongside, readable back`, async (t) => {
    const why = liveUnavailable();
    if (why) {
      t.skip(why);
      return;
    }
    if (spawnSync('tcpdump', ['--version']).error) {
      t.skip('needs tcpdump as the reference capture');
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wse-live-'));
    const ns = new Netns(`wse-e-lc${uniqueTag()}`);
    try {
      const ours = path.join(dir, 'ours.pcap');
      const ref = path.join(dir, 'ref.pcap');
      const filter = 'tcp port 7301';
      const cap = ns.spawn(process.execPath, ['-e', CAPTURE_JS, ours, filter, String(snaplen)]);
      await waitForLine(cap, /^capturing 1$/);
      const td = ns.spawn('tcpdump', ['-i', 'lo', '-s', String(snaplen), '--immediate-mode', '-U', '-w', ref, filter]);
      await waitForLine(td, /listening on lo/);
      const srv = ns.spawn('python3', ['-c', LEAKY_SERVER_PY, '127.0.0.1', '7301']);
      await waitForLine(srv, /listening/);
      const cli = ns.spawn('python3', ['-c', CLIENT_PY, '127.0.0.1', '7301', 'leak', `close-${'y'.repeat(120)}`, `leak-${'x'.repeat(120)}`]);
      await waitForLine(cli, /^done/);
      // Server and client share the namespace: 2 leaked pairs (CLOSE-WAIT + FIN-WAIT-2) and one TIME-WAIT.
      await waitForSettled(ns, 7301, ['CLOSE-WAIT', 'FIN-WAIT-2', 'TIME-WAIT'], 5);
      await new Promise((r) => setTimeout(r, 300));
      td.kill('SIGINT');
      await waitForExit(td);
      cap.stdin?.end();
      const capDone = waitForExit(cap);
      const end = await capDone;
      assert.equal(end.code, 0, end.stderr);

      const refLines = tcpdumpLines(ref);
      const ourLines = tcpdumpLines(ours);
      // Three connections (how many ACKs ride with data varies with timing, so count SYNs, not packets).
      const syns = refLines.filter((l) => /Flags \[S\]/.test(l)).length;
      assert.equal(syns, 3, `expected the packets of 3 connections, tcpdump saw ${syns} SYNs in ${refLines.length} packets`);
      // The same packets; each direction of each connection in the same order. Across connections (and
      // between the two directions) the order may differ: lo delivers from both CPUs, and two capture
      // sockets can see two packets sent at the same moment on different CPUs in opposite orders.
      assert.deepEqual(withoutTime(ourLines).sort(), withoutTime(refLines).sort());
      assert.deepEqual(byDirection(withoutTime(ourLines)), byDirection(withoutTime(refLines)));

      // Read back with wirestate's own reader: same count, non-decreasing µs timestamps, header as written.
      let n = 0;
      let lastTs = 0;
      let truncated = 0;
      const res = await readCapture(ours, (p) => {
        n++;
        assert.ok(p.tsUs >= lastTs);
        lastTs = p.tsUs;
        assert.ok(p.caplen <= snaplen);
        if (p.origlen > p.caplen) truncated++;
      });
      assert.equal(n, refLines.length);
      assert.equal(res.info.format, 'pcap');
      assert.deepEqual(res.info.linktypes, [1]);
      assert.equal(res.info.snaplen, snaplen);
      assert.equal(res.damage, null);
      const nowUs = Date.now() * 1000;
      assert.ok(Math.abs((res.firstTsUs as number) - nowUs) < 60e6, 'timestamps are wall-clock time');
      if (snaplen === 96) assert.ok(truncated > 0, 'payload-carrying packets are cut at 96 bytes, with their wire length kept');
      else assert.equal(truncated, 0);
    } finally {
      ns.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
