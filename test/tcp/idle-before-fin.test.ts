import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire } from './wire';

// idle_before_fin is the silence before the first FIN since the last payload
// (or the handshake). For a connection picked up mid-stream with no payload
// before the FIN, the start of that silence is unknown: null, not the time
// since the capture started.

test('mid-stream, no payload before the first FIN: idle before FIN is unknown (null)', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'A', seq: 1000, ack: 5000, atMs: 0 });
  w.seg({ from: 's', flags: 'FA', seq: 5000, ack: 1000, atMs: 10_000 });
  w.seg({ from: 'c', flags: 'A', seq: 1000, ack: 5001, atMs: 10_001 });
  const f = w.only();
  assert.equal(f.midstream, true);
  assert.equal(f.firstFinBy, 'resp');
  assert.equal(f.firstFinTsUs, w.t - 1000);
  assert.equal(f.idleBeforeFinUs, null);
  assert.equal(f.closeKind, 'close_wait');
});

test('mid-stream with payload seen before the FIN: idle measured from that payload', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'A', seq: 1000, ack: 5000, atMs: 0 });
  w.seg({ from: 's', flags: 'PA', seq: 5000, ack: 1000, len: 50, atMs: 2_000 });
  w.seg({ from: 'c', flags: 'A', seq: 1000, ack: 5050, atMs: 2_001 });
  w.seg({ from: 's', flags: 'FA', seq: 5050, ack: 1000, atMs: 67_000 });
  const f = w.only();
  assert.equal(f.idleBeforeFinUs, 65_000_000);
});

test('from the handshake, no payload: idle measured from the handshake', () => {
  const w = new Wire();
  w.handshake(1000, 5000, 0);
  w.seg({ from: 's', flags: 'FA', seq: 5001, ack: 1001, atMs: 65_002 });
  const f = w.only();
  assert.equal(f.idleBeforeFinUs, 65_000_000);
});
