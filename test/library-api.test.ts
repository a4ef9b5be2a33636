import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as wirestate from '../src/index';
import { fixture } from './helpers/paths';

interface Truth {
  client: string;
  flows: { clientPort: number; clientState: string; closeKind: string }[];
}

test('library entry point: ingestFiles into a FlowStore, then buildReport/renderText, names the CLOSE_WAIT leaker', async () => {
  const truth = JSON.parse(fs.readFileSync(fixture('nginx-keepalive-closewait.json'), 'utf8')) as Truth;
  const stuck = truth.flows.filter((f) => f.clientState === 'CLOSE_WAIT').map((f) => f.clientPort).sort((a, b) => a - b);
  assert.ok(stuck.length > 0);

  const db = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ws-lib-')), 'lib.db');
  const store = wirestate.FlowStore.open(db);
  try {
    const result = await wirestate.ingestFiles(store, [fixture('nginx-keepalive-closewait.pcap')]);
    assert.equal(result.flows, truth.flows.length);
    const rows = store.db.prepare('SELECT stuck_h, stuck_p FROM close_wait ORDER BY stuck_p').all() as { stuck_h: string; stuck_p: number }[];
    assert.deepEqual(rows.map((r) => r.stuck_p), stuck);
    assert.ok(rows.every((r) => r.stuck_h === truth.client));

    const report = wirestate.buildReport(store.db, {});
    assert.equal(report.summary.closeWait, stuck.length);
    const text = wirestate.renderText(report);
    assert.match(text, new RegExp(`client ${truth.client.replace(/\./g, "\\.")} \\(wirestate-fixture-pool\\) leaks connections to\\s+server\\s`));
  } finally {
    store.close();
  }
});

test('library entry point: readCapture + Decoder + TcpEngine give one FlowRecord per connection with the ground-truth close kinds', async () => {
  const truth = JSON.parse(fs.readFileSync(fixture('nginx-stale-reuse-reset.json'), 'utf8')) as Truth;
  const decoder = new wirestate.Decoder();
  const flows: wirestate.FlowRecord[] = [];
  const engine = new wirestate.TcpEngine({ onFlow: (f) => flows.push(f) });
  const res = await wirestate.readCapture(fixture('nginx-stale-reuse-reset.pcap'), (p) => {
    if (decoder.decode(p)) engine.packet(decoder.pkt, p.tsUs);
  });
  engine.finish(res.lastTsUs ?? 0);
  const kinds = (list: string[]) => list.sort().join(',');
  assert.equal(
    kinds(flows.map((f) => f.closeKind)),
    kinds(truth.flows.map((f) => f.closeKind)),
  );
});
