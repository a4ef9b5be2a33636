import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../helpers/paths';
import { readCapture } from '../../src/source/read-capture';
import { Decoder } from '../../src/decode/decoder';
import { TcpEngine } from '../../src/tcp/tcp-engine';
import { decodeFlowBatch, encodeFlowRecords, FlowBatchBuilder, type FlowBatch } from '../../src/tcp/flow-batch';
import type { FlowRecord } from '../../src/tcp/flow-record';

/**
 * Flow batches (the numbers-only form in which file ingest hands flows to the
 * database writer) must carry exactly what FlowRecord objects carry.
 */

async function run(file: string, sink: 'records' | 'batches', batchSize: number): Promise<{ records: FlowRecord[]; batches: FlowBatch[] }> {
  const records: FlowRecord[] = [];
  const batches: FlowBatch[] = [];
  const builder = new FlowBatchBuilder();
  const engine =
    sink === 'records'
      ? new TcpEngine({ onFlow: (f) => records.push(f) })
      : new TcpEngine({
          encodeInto: {
            batch: builder,
            onEncoded: () => {
              if (builder.count >= batchSize) batches.push(builder.take());
            },
          },
        });
  const decoder = new Decoder();
  const r = await readCapture(file, (p) => {
    if (decoder.decode(p)) engine.packet(decoder.pkt, p.tsUs);
  });
  engine.finish(r.lastTsUs ?? 0);
  if (builder.count > 0) batches.push(builder.take());
  return { records, batches };
}

const pcaps = fs
  .readdirSync(fixturesDir)
  .filter((f) => f.endsWith('.pcap'))
  .sort();

test('the engine encodes every fixture flow into batches that decode to exactly its FlowRecords', async () => {
  assert.ok(pcaps.length >= 10, 'fixtures present');
  let flows = 0;
  for (const name of pcaps) {
    const file = path.join(fixturesDir, name);
    const { records } = await run(file, 'records', 0);
    // Batches of 1, 3 and all flows: the text table and the positions must not leak between flows.
    for (const size of [1, 3, 1e9]) {
      const { batches } = await run(file, 'batches', size);
      const decoded = batches.flatMap((b) => decodeFlowBatch(b));
      assert.deepEqual(decoded, records, `${name}, batches of ${size}`);
      assert.equal(
        batches.reduce((n, b) => n + b.count, 0),
        records.length,
      );
    }
    flows += records.length;
  }
  assert.ok(flows > 50, `${flows} flows compared`);
});

test('FlowRecords survive encoding: nulls, IPv6, anomalies, socket owners, any characters in a text, a batch larger than the first buffer', async () => {
  const { records } = await run(path.join(fixturesDir, 'nginx-keepalive-closewait.pcap'), 'records', 0);
  const base = records.find((r) => r.transitions.length > 0) as FlowRecord;
  const extra: FlowRecord[] = [
    {
      ...base,
      uid: 9001,
      ipVersion: 6,
      origH: '2001:db8::2',
      respH: '2001:db8::1',
      firstFinBy: null,
      firstFinTsUs: null,
      idleBeforeFinUs: null,
      firstRstBy: 'resp',
      anomalies: { rst_out_of_window: 2, fin_implied_by_ack: 1 },
      owners: [
        { endpoint: 'orig', pid: 4242, command: 'java' },
        { endpoint: 'resp', pid: 77, command: 'nginx: worker process' },
        { endpoint: 'resp', pid: 78, command: 'odd\0name,;"\n\u00e9' },
      ],
    },
    { ...base, uid: 9002, transitions: [], orig: { ...base.orig, windowScale: -1, mss: 0 } },
  ];
  const many: FlowRecord[] = [];
  for (let i = 0; i < 600; i++) many.push({ ...base, uid: 10_000 + i, history: `ShAD${i}` });
  const all = [...records, ...extra, ...many];
  const batch = encodeFlowRecords(all);
  assert.equal(batch.count, all.length);
  assert.ok(batch.nums.length > 1 << 14, 'grew past the initial buffer');
  assert.deepEqual(decodeFlowBatch(batch), all);
});
