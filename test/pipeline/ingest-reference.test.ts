import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dumpDatabase } from '../../bench/dump-db';
import { generateTraffic } from '../../bench/generate-traffic';
import { Decoder } from '../../src/decode/decoder';
import { ingestFiles } from '../../src/pipeline/ingest-files';
import { readCapture } from '../../src/source/read-capture';
import { FlowStore } from '../../src/store/flow-store';
import type { FlowRecord } from '../../src/tcp/flow-record';
import { TcpEngine } from '../../src/tcp/tcp-engine';
import { fixture } from '../helpers/paths';

// ingestFiles is a chain of stages (dedupe, order, writer hand-off, decode +
// engine in batches, read, commit). What it stores must be exactly what the
// plain parts compute without it: every input's packets through one Decoder
// and one TcpEngine (FlowRecord objects, not batches), in first-packet order,
// written by the store's FlowRecord path in one transaction. Every table is
// compared whole (captures.ingested_at aside), for both writers.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-ingest-ref-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let dbs = 0;
const newDb = (): string => path.join(tmp, `${++dbs}.db`);

function dump(file: string): string[] {
  const lines: string[] = [];
  dumpDatabase(file, (table, line) => lines.push(`${table}\t${line}`));
  return lines;
}

/** The reference: the inputs (no duplicates, all readable) read in first-packet order straight into an engine and stored as FlowRecords. */
async function reference(db: string, inputs: string[]): Promise<void> {
  const reads = [];
  for (const file of inputs) {
    let first: number | null = null;
    let last: number | null = null;
    let packets = 0;
    const r = await readCapture(file, (p) => {
      if (first === null) first = p.tsUs;
      last = p.tsUs;
      packets++;
    });
    reads.push({ file, first: first as number | null, last: last as number | null, packets, bytes: r.bytes, sha: createHash('sha256').update(fs.readFileSync(file)).digest('hex') });
  }
  reads.sort((a, b) => (a.first ?? Infinity) - (b.first ?? Infinity));
  const flows: FlowRecord[] = [];
  const decoder = new Decoder();
  // Payload read for the HTTP facts, as ingest does (src/app/).
  const engine = new TcpEngine({ onFlow: (f) => flows.push(f), app: true });
  for (const r of reads) {
    await readCapture(r.file, (p) => {
      if (decoder.decode(p)) engine.packet(decoder.pkt, p.tsUs, p.buf);
    });
  }
  const lastTs = Math.max(...reads.map((r) => r.last ?? 0));
  engine.finish(lastTs);
  decoder.finish();
  const store = FlowStore.open(db);
  try {
    store.beginTransaction();
    const id = store.beginCapture({ source: reads.map((r) => r.file).join(', '), kind: 'file', sha256: reads.length === 1 ? reads[0].sha : null, startedTsUs: reads[0].first });
    reads.forEach((r, seq) =>
      store.addCaptureFile(id, seq, { path: r.file, sha256: r.sha, format: 'pcap', size: fs.statSync(r.file).size, packets: r.packets, firstTsUs: r.first, lastTsUs: r.last, truncated: false, damage: null }),
    );
    store.writeFlows(id, flows);
    store.endCapture(id, {
      firstTsUs: Math.min(...reads.map((r) => r.first ?? Infinity)),
      lastTsUs: lastTs,
      packets: decoder.packets,
      tcpPackets: decoder.tcpPackets,
      bytes: reads.reduce((n, r) => n + r.bytes, 0),
      anomalies: decoder.anomalies.toObject(),
      truncated: false,
      loss: engine.lossCounts(),
      damage: null,
      format: 'pcap',
      linktypes: [1],
      sha256: null,
    });
    store.commit();
  } finally {
    store.close();
  }
}

async function ingested(writer: 'inline' | 'worker', paths: string[], batchSize?: number): Promise<string[]> {
  const db = newDb();
  const store = FlowStore.open(db);
  try {
    const r = await ingestFiles(store, paths, { writer, batchSize });
    assert.ok(r.captureId !== null);
  } finally {
    store.close();
  }
  return dump(db);
}

function sameDump(got: string[], want: string[], what: string): void {
  assert.equal(got.length, want.length, `${what}: as many rows`);
  const diff = got.findIndex((l, i) => l !== want[i]);
  assert.equal(diff, -1, `${what}: first difference at line ${diff}:\n  got  ${got[diff]}\n  want ${want[diff]}`);
}

test('one capture: what ingest stores is what the engine computes, with either writer', async () => {
  const file = fixture('nginx-keepalive-closewait.pcap');
  const ref = newDb();
  await reference(ref, [file]);
  const want = dump(ref);
  assert.ok(want.some((l) => l.startsWith('flows\t')));
  sameDump(await ingested('inline', [file]), want, 'inline');
  sameDump(await ingested('worker', [file], 1), want, 'worker, batches of one flow');
});

test('several files, given out of order, with a duplicate and a missing file: read once each, in first-packet order', async () => {
  const files = [fixture('server-closes-first.pcap'), fixture('client-closes-first.pcap'), fixture('nginx-stale-reuse-reset.pcap'), fixture('ipv6-nginx-keepalive-closewait.pcap')];
  const ref = newDb();
  await reference(ref, files);
  const want = dump(ref);
  const given = [files[3], files[1], path.join(tmp, 'missing.pcap'), files[0], files[1], files[2]];
  sameDump(await ingested('inline', given), want, 'inline');
  sameDump(await ingested('worker', given), want, 'worker');
});

test('busy proxy shape (every closed flow held to the end): identical through the worker writer', async () => {
  const file = path.join(tmp, 'proxy.pcap');
  generateTraffic({ out: file, profile: 'busy-proxy', connections: 3000, seed: 21 });
  const ref = newDb();
  await reference(ref, [file]);
  const want = dump(ref);
  assert.ok(want.filter((l) => l.startsWith('flows\t')).length === 3000);
  sameDump(await ingested('worker', [file]), want, 'worker');
});
