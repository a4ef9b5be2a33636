import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire } from './wire';

/**
 * Engine bugs found by the differential tests (test/diff/) against tshark and
 * tcptrace, each reproduced here with inline packets.
 */

const C = 1000;
const S = 5000;

test('a 1-byte segment at SND.NXT - 1 that the peer has not acknowledged is a retransmission, not a keep-alive', () => {
  // Seen in a generated capture: a response split 1448 + 1 bytes, the 1-byte tail resent after an RTO
  // before the client ACKed it. tcptrace counts it as a retransmission; the byte was never acknowledged,
  // so it cannot be a keep-alive probe (which repeats an already acknowledged byte).
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101, len: 1448 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1449, ack: C + 101, len: 1 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1449, ack: C + 101, len: 1, atMs: 300 }); // RTO: tail resent
  w.seg({ from: 'c', flags: 'A', seq: C + 101, ack: S + 1450, atMs: 301 });
  const f = w.only();
  assert.equal(f.resp.retransmits, 1);
  assert.equal(f.resp.keepalives, 0);
  assert.equal(f.resp.bytes, 1449);
});

test('a 1-byte probe repeating an acknowledged byte is still a keep-alive', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101 });
  w.seg({ from: 'c', flags: 'A', seq: C + 100, ack: S + 1, len: 1, atMs: 60_000 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101, atMs: 60_001 });
  const f = w.only();
  assert.equal(f.orig.keepalives, 1);
  assert.equal(f.orig.retransmits, 0);
});
