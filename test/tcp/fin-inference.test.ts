import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire, path } from './wire';

// When a FIN may be inferred from an ACK of sequence space the capture did
// not show, and when such an inference must not be made or must be taken back.

test('mid-stream keep-alive (bare segment at SND.NXT-1) acked at seq+1 is a keep-alive, not a FIN', () => {
  const w = new Wire();
  // Linux keep-alive probe from the client: seq = SND.NXT - 1, no payload.
  w.seg({ from: 'c', flags: 'A', seq: 4999, ack: 9000, atMs: 0 });
  w.seg({ from: 's', flags: 'A', seq: 9000, ack: 5000, atMs: 1 });
  // The next probe 75 s later, and its answer.
  w.seg({ from: 'c', flags: 'A', seq: 4999, ack: 9000, atMs: 75_000 });
  w.seg({ from: 's', flags: 'A', seq: 9000, ack: 5000, atMs: 75_001 });
  const f = w.only();
  assert.equal(f.midstream, true);
  assert.equal(f.origState, 'ESTABLISHED');
  assert.equal(f.respState, 'ESTABLISHED');
  assert.equal(f.closeKind, 'open');
  assert.equal(f.firstFinBy, null);
  assert.equal(f.orig.keepalives, 2);
  assert.equal(f.resp.keepalives, 0);
  assert.equal(f.anomalies?.fin_implied_by_ack, undefined);
  assert.deepEqual(path(f, 'orig'), ['UNKNOWN>ESTABLISHED']);
  assert.deepEqual(path(f, 'resp'), ['UNKNOWN>ESTABLISHED']);
});

test('mid-stream: an endpoint first seen sending payload keeps the one-past-the-end FIN inference', () => {
  // Control for the keep-alive rule: the sequence space is anchored by
  // payload, so an ACK one past it still implies an unseen FIN.
  const w = new Wire();
  w.seg({ from: 's', flags: 'PA', seq: 9000, ack: 5000, len: 100, atMs: 0 });
  w.seg({ from: 'c', flags: 'A', seq: 5000, ack: 9101, atMs: 1 });
  const f = w.only();
  assert.equal(f.anomalies?.fin_implied_by_ack, 1);
  assert.equal(f.respState, 'FIN_WAIT_2');
  assert.equal(f.origState, 'CLOSE_WAIT');
  assert.equal(f.closeKind, 'close_wait');
});
