import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixturesDir, repoRoot } from '../helpers/paths';
import { generateTraffic } from '../../bench/generate-traffic';
import { CaptureDiff, describeDifferences, diffCapture, HAVE_TCPTRACE, HAVE_TSHARK } from './diff-capture';
import { DIFFERENCE_RULES } from './difference-rules';

/**
 * Differential test: on every real-traffic fixture (fixtures/*.pcap,
 * fixtures/formats/*.pcap*), on test/diff/captures/*.pcap (real kernel TCP
 * over a lossy, duplicating, reordering path) and on a small generated capture, every TCP
 * connection wirestate's engine makes is compared with the same connection
 * in tshark (its own dissection and tcp.analysis flags) and in tcptrace -l:
 * packets, payload bytes from the sequence space, retransmissions,
 * out-of-order segments, keep-alives, zero-window advertisements, SYN/FIN/RST
 * per direction, tcptrace's "complete conn", window scale and MSS from the
 * SYN options, missed bytes, and the connections themselves (one flow per
 * tool connection, 4-tuple + first packet time).
 *
 * A difference passes only when a rule in difference-rules.ts explains it
 * with an exact condition on that connection's numbers; the rule's text
 * says why the definitions differ. Everything else fails with the list.
 */

const SKIP_TOOLS = !HAVE_TSHARK && !HAVE_TCPTRACE ? 'neither tshark nor tcptrace is installed (apt-get install tshark tcptrace)' : false;

function captures(): string[] {
  const top = fs
    .readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.pcap'))
    .map((f) => path.join(fixturesDir, f));
  const formatsDir = path.join(fixturesDir, 'formats');
  const formats = fs.existsSync(formatsDir)
    ? fs
        .readdirSync(formatsDir)
        .filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f))
        .map((f) => path.join(formatsDir, f))
    : [];
  // Real kernel TCP over a lossy, reordering path, made by test/diff/make-impaired-capture.sh.
  const ownDir = path.join(repoRoot, 'test', 'diff', 'captures');
  const own = fs.existsSync(ownDir)
    ? fs
        .readdirSync(ownDir)
        .filter((f) => f.endsWith('.pcap'))
        .map((f) => path.join(ownDir, f))
    : [];
  return [...top, ...formats, ...own].sort();
}

const files = captures();
const results = new Map<string, CaptureDiff>();
/** The same comparisons from the SQLite flows table the CLI's ingest writes. */
const stored = new Map<string, CaptureDiff>();
const STORED_FROM = ['impaired-path.pcap', 'lossy-path-retransmissions.pcap', 'zero-window.pcap'];
const ruleUse = new Map<string, number>();
let genDir = '';
let generated = '';

/** Runs the comparisons two files at a time (tshark dominates; the machine has 2 cores). */
async function runAll(list: string[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const f = list[next++];
      results.set(f, await diffCapture(f));
    }
  };
  await Promise.all([worker(), worker()]);
}

before(async () => {
  if (SKIP_TOOLS) return;
  genDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wirestate-diff-'));
  generated = path.join(genDir, 'generated.pcap');
  // Small but varied: every scripted ending (keep-alive closes, CLOSE_WAIT leaks, stale reuse
  // answered by RST, aborts, refusals, unanswered SYNs), some IPv6, the odd retransmission.
  // 1,200 connections arrive in 6 s; the capture runs 10 minutes past that (idle, so the file
  // stays ~2.4 MB) so that CLOSE_WAIT leaks are closed by their pool minutes later.
  generateTraffic({ out: generated, connections: 1200, seed: 11, rate: 200, ipv6Share: 0.05, tailS: 600 });
  await runAll([...files, generated]);
  for (const f of [...files.filter((x) => STORED_FROM.includes(path.basename(x))), generated]) stored.set(f, await diffCapture(f, 'ingest'));
});

after(() => {
  if (genDir !== '') fs.rmSync(genDir, { recursive: true, force: true });
});

function rel(f: string): string {
  return f.startsWith(fixturesDir) ? path.relative(fixturesDir, f) : path.relative(repoRoot, f);
}

function check(r: CaptureDiff, label: string): void {
  for (const [id, n] of r.explained) ruleUse.set(id, (ruleUse.get(id) ?? 0) + n);
  assert.equal(
    r.unexplained.length,
    0,
    `${label}: ${r.unexplained.length} difference(s) between wirestate and tshark/tcptrace that no documented rule explains:\n${describeDifferences(r.unexplained)}`,
  );
  // Something was actually compared whenever the tools saw TCP connections.
  if (r.tsharkConns > 0 || (r.tcptraceConns ?? 0) > 0) {
    const compared = [...r.compared.values()].reduce((a, b) => a + b, 0);
    assert.ok(compared >= r.flows * 10, `${label}: only ${compared} checks for ${r.flows} flows`);
  }
  if (HAVE_TSHARK) assert.equal(r.flows, r.tsharkConns, `${label}: wirestate flows vs tshark tcp.stream count`);
  // tcptrace records folded back into their connection (rule tcptrace-new-record-after-fin-and-idle) aside.
  const folded = r.compared.get('tcptrace split') ?? 0;
  if (r.tcptraceConns !== null) assert.equal(r.flows, r.tcptraceConns - folded, `${label}: wirestate flows vs tcptrace connections`);
}

test('fixtures to compare exist', () => {
  assert.ok(files.length >= 20, `expected the kernel-made and format fixtures, found ${files.length}`);
});

for (const f of files) {
  test(`${rel(f)}: every connection agrees with tshark and tcptrace, or differs for a documented reason`, { skip: SKIP_TOOLS }, (t) => {
    const r = results.get(f);
    assert.ok(r, `no result for ${f}`);
    if (r.tcptraceSkipped !== null) t.diagnostic(`tcptrace not compared: ${r.tcptraceSkipped}`);
    check(r, rel(f));
  });
}

test('generated capture (1,200 connections): every connection agrees or differs for a documented reason', { skip: SKIP_TOOLS }, () => {
  const r = results.get(generated);
  assert.ok(r, 'generated capture was not compared');
  assert.ok(r.flows >= 1200, `expected at least 1200 flows, got ${r.flows}`);
  check(r, 'generated');
});

test('through the CLI: the flows table ingest writes agrees the same way (generated, impaired path, lossy path, zero window)', { skip: SKIP_TOOLS }, () => {
  assert.equal(stored.size, STORED_FROM.length + 1, 'captures compared from the database');
  for (const [f, r] of stored) {
    check(r, `${rel(f)} via ingest`);
    // The same differences, explained the same way, as the in-process engine's records.
    const direct = results.get(f);
    assert.ok(direct);
    assert.deepEqual(Object.fromEntries(r.explained), Object.fromEntries(direct.explained), `${rel(f)}: explained differences via ingest vs in process`);
    assert.deepEqual(Object.fromEntries(r.agreed), Object.fromEntries(direct.agreed), `${rel(f)}: agreeing checks via ingest vs in process`);
  }
});

test('the comparison can fail: a changed engine figure is reported, not explained', { skip: SKIP_TOOLS }, async () => {
  // Take a real result and corrupt one of wirestate's numbers the way a bug would.
  const f = files.find((x) => x.endsWith('lossy-path-retransmissions.pcap'));
  assert.ok(f, 'lossy-path-retransmissions.pcap fixture missing');
  const { compareFile } = await import('./compare-flows');
  const { explainDifference } = await import('./difference-rules');
  const { engineFlows } = await import('./engine-flows');
  const { tsharkConnections } = await import('./tshark-tcp');
  const flows = await engineFlows(f);
  const ts = HAVE_TSHARK ? await tsharkConnections(f) : null;
  const { tcptraceConnections } = await import('./tcptrace-long');
  const tt = HAVE_TCPTRACE ? await tcptraceConnections(f) : null;
  const bulk = flows.reduce((a, b) => (a.resp.bytes + a.orig.bytes > b.resp.bytes + b.orig.bytes ? a : b));
  bulk.resp.outOfOrder += 1; // one hole-filling segment miscounted
  bulk.orig.packets -= 1;
  const cmp = compareFile(flows, ts, tt, null);
  const unexplained = cmp.differences.filter((d) => explainDifference(d) === null).map((d) => `${d.tool} ${d.check}`);
  if (HAVE_TSHARK) {
    assert.ok(unexplained.includes('tshark resp.out_of_order'), `out_of_order change not caught: ${unexplained.join(', ')}`);
    assert.ok(unexplained.includes('tshark orig.packets'), `packet count change not caught: ${unexplained.join(', ')}`);
  }
  if (HAVE_TCPTRACE) assert.ok(unexplained.includes('tcptrace orig.packets'), `tcptrace packets not caught: ${unexplained.join(', ')}`);
});

test('every documented difference rule still explains something', { skip: SKIP_TOOLS || (!HAVE_TSHARK || !HAVE_TCPTRACE ? 'the rules need both tools' : false) }, () => {
  const unused = DIFFERENCE_RULES.filter((r) => !r.handRunOnly && !ruleUse.has(r.id)).map((r) => `${r.id} (seen on ${r.seenOn})`);
  assert.deepEqual(unused, [], 'stale rules: remove them or the fixture they were written for is gone');
});
