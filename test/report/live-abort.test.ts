import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fixture } from '../helpers/paths';
import { runCli, tmpDir } from '../cli/run-cli';
import { readCapture } from '../../src/source/read-capture';
import { Decoder } from '../../src/decode/decoder';
import { TcpEngine } from '../../src/tcp/tcp-engine';
import type { FlowRecord } from '../../src/tcp/flow-record';
import { FlowStore } from '../../src/store/flow-store';
import { closeAbortedCapture } from '../../src/pipeline/live-supervisor';
import type { Report } from '../../src/report/report-types';

async function engineRun(pcap: string): Promise<{ flows: FlowRecord[]; firstUs: number; lastUs: number; packets: number }> {
  const flows: FlowRecord[] = [];
  const engine = new TcpEngine({ onFlow: (f) => flows.push(f) });
  const decoder = new Decoder();
  let firstUs = 0;
  let lastUs = 0;
  let packets = 0;
  await readCapture(pcap, (raw) => {
    packets++;
    if (firstUs === 0) firstUs = raw.tsUs;
    lastUs = raw.tsUs;
    if (decoder.decode(raw)) engine.packet(decoder.pkt, raw.tsUs);
  });
  engine.finish(lastUs);
  return { flows, firstUs, lastUs, packets };
}

test('a live capture whose process died is reported as ended abnormally, not as a corrupt file, and does not raise the severity', async () => {
  const run = await engineRun(fixture('nginx-keepalive-closewait.pcap'));
  const db = path.join(tmpDir(), 'w.db');
  const store = FlowStore.open(db);
  // Capture 1: the same flows from a live capture that ended normally (the control).
  const ok = store.beginCapture({ source: 'veth-g2', kind: 'live', linktypes: [1], startedTsUs: run.firstUs });
  store.writeFlows(ok, run.flows);
  store.endCapture(ok, { firstTsUs: run.firstUs, lastTsUs: run.lastUs, packets: run.packets, tcpPackets: run.packets, bytes: 0, anomalies: {}, truncated: false });
  // Capture 2: the capturing process died; the supervisor closes the row from the last flush.
  const dead = store.beginCapture({ source: 'veth-g2', kind: 'live', linktypes: [1], startedTsUs: run.firstUs });
  store.writeFlows(dead, run.flows);
  store.close();
  const damage = 'live capture on veth-g2 ended abnormally (SIGABRT): libpcap reported an error on the device (interface down or removed?)';
  closeAbortedCapture(
    { captureId: dead, dbPath: db, device: 'veth-g2', startedTsUs: run.firstUs, firstTsUs: run.firstUs, flushedTsUs: run.lastUs, packets: run.packets, tcpPackets: run.packets, bytes: 0, flowsWritten: run.flows.length, anomalies: {} },
    damage,
  );

  const report = (id: number): Report => {
    const r = runCli(['report', '--db', db, '--capture', String(id), '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Report;
  };
  const good = report(ok);
  const bad = report(dead);
  assert.equal(bad.capture.kind, 'live');
  assert.equal(bad.capture.truncated, true);
  assert.equal(bad.capture.damage, damage);
  assert.equal(good.findings.some((f) => f.kind === 'capture_damage'), false);

  const d = bad.findings.filter((f) => f.kind === 'capture_damage');
  assert.equal(d.length, 1);
  assert.equal(d[0].severity, 'info');
  assert.equal(d[0].title, `L${damage.slice(1)}`);
  assert.equal((d[0].facts as { liveAborted: boolean }).liveAborted, true);
  assert.equal((d[0].facts as { lastFlush: string }).lastFlush, bad.capture.lastTs);
  assert.match(d[0].details[0], /^States are as of the last flush at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
  // Same flows, same severity: the abort alone raises nothing.
  assert.equal(good.summary.severity, 'info');
  assert.equal(bad.summary.severity, good.summary.severity);
  assert.ok(bad.summary.verdict.startsWith(good.summary.verdict), `${bad.summary.verdict}\n${good.summary.verdict}`);
  assert.match(bad.summary.verdict, / The live capture ended abnormally: states are as of the last flush at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(see below\)\.$/);

  const text = runCli(['report', '--db', db, '--capture', String(dead)]).stdout;
  assert.match(text, /VERDICT \(INFO\)/);
  assert.doesNotMatch(text, /corrupt|original file|truncated record/);
  assert.match(text, /INFO {2}Live capture on veth-g2 ended abnormally \(SIGABRT\)/);
  for (const l of text.split('\n')) assert.ok(l.length <= 80, l);
});
