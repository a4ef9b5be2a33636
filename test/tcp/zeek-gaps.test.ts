import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire } from './wire';

/**
 * When Zeek writes G/g and counts missed_bytes (TCP_Reassembler.cc
 * established_or_cleanly_closing, checked in AckReceived after the
 * segment's state update), and what counts as a gap (acknowledged space
 * never delivered as payload; TCP_Endpoint::DataSent for snaplen-cut data).
 */
const C = 1000;
const S = 5000;

test('a gap acknowledged while both endpoints are established: G and missed_bytes', () => {
  const w = new Wire().handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 201, ack: S + 1, len: 100 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 301 });
  const f = w.only();
  assert.equal(f.history, 'ShADaG');
  assert.equal(f.missedBytes, 100);
  assert.deepEqual(w.engine.lossCounts(), { ackedBytes: 300, gapBytes: 100 });
});

test('mid-stream pickup, both sides partial: no gap letter, no missed bytes', () => {
  const w = new Wire({ cport: 40000, sport: 80 });
  w.seg({ from: 'c', flags: 'PA', seq: C, ack: S, len: 100 });
  w.seg({ from: 's', flags: 'A', seq: S, ack: C + 300 }); // acknowledges 200 bytes the capture never had
  w.seg({ from: 'c', flags: 'PA', seq: C + 300, ack: S, len: 10 });
  const f = w.only();
  assert.equal(f.midstream, true);
  assert.doesNotMatch(f.history, /g/i);
  assert.equal(f.missedBytes, 0);
  assert.equal(f.anomalies?.ack_of_unseen_data, 1, 'the engine still knows the space was unseen');
  assert.deepEqual(w.engine.lossCounts(), { ackedBytes: 0, gapBytes: 0 });
});

test('one-direction capture: the client ACKs server data never seen, no gap', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C });
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 1 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 50 });
  w.seg({ from: 'c', flags: 'A', seq: C + 51, ack: S + 2001 });
  w.seg({ from: 'c', flags: 'A', seq: C + 51, ack: S + 4001 });
  const f = w.only();
  assert.equal(f.history, 'SAD');
  assert.equal(f.missedBytes, 0);
});

test('the ACK on an RST adds no gap', () => {
  const w = new Wire().handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 201, ack: S + 1, len: 100 });
  w.seg({ from: 's', flags: 'RA', seq: S + 1, ack: C + 301 });
  const f = w.only();
  assert.equal(f.history, 'ShADr');
  assert.equal(f.missedBytes, 0);
});

test('a gap acknowledged by the FIN+ACK of a cleanly closing peer still counts', () => {
  const w = new Wire().handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 201, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'FA', seq: C + 301, ack: S + 1 });
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 302 });
  w.seg({ from: 'c', flags: 'A', seq: C + 302, ack: S + 2 });
  const f = w.only();
  assert.equal(f.history, 'ShADFfG', 'the gap is the originator\'s; its FIN octet is none');
  assert.equal(f.missedBytes, 100);
  assert.equal(f.connState, 'SF');
});

test('space skipped by a payload-less FIN ahead of the last byte seen is a gap once acknowledged', () => {
  const w = new Wire().handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'FA', seq: C + 301, ack: S + 1 }); // [C+101, C+301) never seen
  const unacked = new Wire().handshake(C, S);
  unacked.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  unacked.seg({ from: 'c', flags: 'FA', seq: C + 301, ack: S + 1 });
  assert.equal(unacked.only().missedBytes, 0, 'not before it is acknowledged');
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 302 });
  const f = w.only();
  assert.equal(f.missedBytes, 200);
  assert.equal(f.history, 'ShADFaG');
  assert.equal(f.orig.bytes, 100, 'payload bytes are those seen');
  assert.equal(f.origState, 'FIN_WAIT_2');
});

test('space skipped by a payload-less ACK ahead of the last byte seen is a gap once acknowledged', () => {
  const w = new Wire().handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'A', seq: C + 401, ack: S + 1 }); // 300 bytes sent, not captured
  w.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 401, len: 10 });
  const f = w.only();
  assert.equal(f.missedBytes, 300);
  assert.equal(f.history, 'ShADdG');
  assert.equal(f.anomalies?.ack_of_unseen_data, undefined, 'the ACK covers only space the capture saw skipped');
});

test('payload cut by the snaplen is a gap when acknowledged, but not capture loss', () => {
  const w = new Wire().handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 1000, captured: 0 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 1001, ack: S + 1, len: 1000, captured: 12 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 2001 });
  const f = w.only();
  assert.equal(f.history, 'ShADaG');
  assert.equal(f.missedBytes, 2000, 'a partly captured segment is undelivered as a whole');
  assert.equal(f.orig.bytes, 2000);
  assert.equal(f.lostBytes, 0, 'none of it lost by the capture');
  assert.deepEqual(w.engine.lossCounts(), { ackedBytes: 2000, gapBytes: 0 });

  // Snaplen cut and real loss together: only the loss is loss.
  const m = new Wire().handshake(C, S);
  m.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 1000, captured: 0 });
  m.seg({ from: 'c', flags: 'PA', seq: C + 2001, ack: S + 1, len: 1000, captured: 0 }); // [C+1001, C+2001) lost
  m.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 3001 });
  const fm = m.only();
  assert.equal(fm.missedBytes, 3000);
  assert.equal(fm.lostBytes, 1000);
  assert.deepEqual(m.engine.lossCounts(), { ackedBytes: 3000, gapBytes: 1000 });

  // Cut segments in flight above the ACK are not taken for the lost one below it.
  const f2 = new Wire().handshake(C, S);
  for (const at of [1, 2001, 3001, 4001]) f2.seg({ from: 'c', flags: 'PA', seq: C + at, ack: S + 1, len: 1000, captured: 0 });
  f2.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 3001 });
  assert.deepEqual(f2.engine.lossCounts(), { ackedBytes: 3000, gapBytes: 1000 });
  f2.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 5001 });
  assert.deepEqual(f2.engine.lossCounts(), { ackedBytes: 5000, gapBytes: 1000 });
  assert.equal(f2.only().missedBytes, 5000, "four cut segments and the lost one");
});

test('an ACK that overtook the payload before it (reordered): no gap, no out-of-order segment', () => {
  const w = new Wire().handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'A', seq: C + 301, ack: S + 1 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 101, ack: S + 1, len: 200 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 301 });
  const f = w.only();
  assert.equal(f.missedBytes, 0);
  assert.equal(f.orig.outOfOrder, 0);
  assert.equal(f.orig.retransmits, 0);
  assert.equal(f.orig.bytes, 300);
});
