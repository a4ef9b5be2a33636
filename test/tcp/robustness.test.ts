import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire } from './wire';
import type { FlowRecord } from '../../src/tcp/flow-record';

/** Transitions of each endpoint form one chain ending in the reported state. */
function checkChains(f: FlowRecord): void {
  for (const ep of ['orig', 'resp'] as const) {
    let state = 'UNKNOWN';
    let since = f.firstTsUs;
    for (const t of f.transitions) {
      if (t.endpoint !== ep) continue;
      assert.equal(t.from, state, `uid ${f.uid} ${ep}: transition from ${t.from} while in ${state}`);
      assert.notEqual(t.to, t.from);
      state = t.to;
      since = t.tsUs;
    }
    assert.equal(ep === 'orig' ? f.origState : f.respState, state, `uid ${f.uid} ${ep} final state`);
    assert.equal(ep === 'orig' ? f.origStateSinceUs : f.respStateSinceUs, since, `uid ${f.uid} ${ep} since`);
  }
}

test('random segments on a few 4-tuples: no throw, every flow emitted once, consistent transition chains', () => {
  let x = 0x2545f491;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const flagSets = ['S', 'SA', 'A', 'PA', 'FA', 'F', 'R', 'RA', 'FPA', 'SF', 'FRA'];
  const w = new Wire({ timeWaitUs: 5_000_000, closedLingerUs: 500_000, idleTimeoutUs: 30_000_000 });
  let atMs = 0;
  const bases = [0, 0xfffff000, 0x7ffffff0];
  for (let i = 0; i < 30_000; i++) {
    w.cport = 40_000 + rnd(4);
    w.sport = rnd(10) === 0 ? 40_000 + rnd(4) : 80; // sometimes ports that make the roles ambiguous
    atMs += rnd(50) === 0 ? 20_000 : rnd(300);
    if (rnd(200) === 0) atMs -= 1000; // timestamps going backwards a little
    const base = bases[rnd(3)];
    w.seg({
      from: rnd(2) === 0 ? 'c' : 's',
      flags: flagSets[rnd(flagSets.length)],
      seq: (base + rnd(3000)) >>> 0,
      ack: (base + rnd(3000)) >>> 0,
      len: rnd(3) === 0 ? rnd(1500) : 0,
      win: rnd(10) === 0 ? 0 : 1 + rnd(65535),
      atMs,
    });
  }
  const flows = w.finish();
  assert.equal(flows.length, w.engine.totalFlows);
  assert.equal(new Set(flows.map((f) => f.uid)).size, flows.length);
  assert.equal(w.engine.activeFlows, 0);
  for (const f of flows) {
    checkChains(f);
    assert.ok(f.lastTsUs >= f.firstTsUs);
    assert.ok(f.orig.bytes >= 0 && f.resp.bytes >= 0 && f.missedBytes >= 0);
    assert.match(f.history, /^\^?[ShadfrtgwiqSHADFRTGWIQ]*$/i);
    assert.ok(['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH'].includes(f.connState));
  }
});
