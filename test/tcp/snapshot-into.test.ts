import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fixturesDir } from '../helpers/paths';
import { readCapture } from '../../src/source/read-capture';
import { Decoder } from '../../src/decode/decoder';
import { TcpEngine } from '../../src/tcp/tcp-engine';
import { decodeFlowBatch, FlowBatchBuilder } from '../../src/tcp/flow-batch';
import type { FlowRecord } from '../../src/tcp/flow-record';

// A live capture's flush encodes its snapshot straight into the writer's batch (snapshotInto) instead of making
// FlowRecords (snapshot) and encoding them: the same flows, the same values, in the same order, the HTTP facts
// included, and the finished flows the engine appends to the same batch stay in order with them.

for (const name of ['nginx-stale-reuse-reset', 'keepalive-race-rst', 'apache-httpclient-nginx-closewait']) {
  test(`snapshotInto gives the records snapshot() gives, finished flows in order between them (${name})`, async () => {
    const viaRecords: FlowRecord[] = [];
    const a = new TcpEngine({ onFlow: (f) => viaRecords.push(f), app: true, timeWaitUs: 3_000_000 });
    const batch = new FlowBatchBuilder();
    let encoded = 0;
    const b = new TcpEngine({ encodeInto: { batch, onEncoded: () => encoded++ }, app: true, timeWaitUs: 3_000_000 });
    const da = new Decoder();
    const db = new Decoder();
    let n = 0;
    let snapshots = 0;
    const slice = (ts: number, limit: number | undefined): void => {
      a.advance(ts);
      b.advance(ts);
      const opts = { changedOnly: true, ...(limit !== undefined ? { limit } : {}) };
      viaRecords.push(...a.snapshot(ts, opts));
      const added = b.snapshotInto(ts, opts, batch);
      if (added > 0) snapshots++;
    };
    await readCapture(path.join(fixturesDir, `${name}.pcap`), (raw) => {
      if (da.decode(raw)) a.packet(da.pkt, raw.tsUs, raw.buf);
      if (db.decode(raw)) b.packet(db.pkt, raw.tsUs, raw.buf);
      if (++n % 5 === 0) slice(raw.tsUs, n % 10 === 0 ? 2 : undefined);
    });
    a.finish(Number.MAX_SAFE_INTEGER / 2);
    b.finish(Number.MAX_SAFE_INTEGER / 2);
    assert.ok(snapshots > 3, `${snapshots} snapshots took flows`);
    assert.ok(encoded > 0);
    const viaBatch = decodeFlowBatch(batch.take());
    assert.equal(viaBatch.length, viaRecords.length);
    assert.ok(viaRecords.some((f) => f.http !== undefined), 'HTTP facts are part of what is compared');
    assert.deepEqual(viaBatch, viaRecords);
  });
}
