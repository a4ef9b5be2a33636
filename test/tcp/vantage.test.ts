import { test } from 'node:test';
import assert from 'node:assert/strict';
import { T0, Wire, path } from './wire';

// Where a capture was taken, from the handshake's half-RTTs, and receive-side
// transitions dated at the segment's arrival (src/tcp/vantage.ts).

const C = 1000;
const S = 5000;

/** Handshake with SYN at 0, SYN+ACK at `synAckMs`, ACK at `ackMs`; the server then closes at 10 s and the client ACKs 40 ms later. */
function serverCloses(synAckMs: number, ackMs: number): Wire {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C, atMs: 0 });
  w.seg({ from: 's', flags: 'SA', seq: S, ack: C + 1, atMs: synAckMs });
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 1, atMs: ackMs });
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1, atMs: 10_000 });
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 2, atMs: 10_040 });
  return w;
}

test('captured at the client: the server half of the round trip is the long one; CLOSE_WAIT from the FIN itself', () => {
  const f = serverCloses(20, 20.05).only();
  assert.equal(f.vantage, 'orig');
  assert.equal(f.rttToRespUs, 20_000);
  assert.equal(f.rttToOrigUs, 50);
  const cw = f.transitions.find((t) => t.endpoint === 'orig' && t.to === 'CLOSE_WAIT');
  assert.equal(cw?.tsUs, T0 + 10_000_000);
  // The server receives the client's ACK half the server's half-RTT after it passed the capture point.
  assert.equal(f.respStateSinceUs, T0 + 10_040_000 + 10_000);
  // and the server's ESTABLISHED: the handshake ACK's arrival.
  const est = f.transitions.find((t) => t.endpoint === 'resp' && t.to === 'ESTABLISHED');
  assert.equal(est?.tsUs, T0 + 20_050 + 10_000);
});

test('captured at the server: CLOSE_WAIT is the FIN plus half the client half-RTT', () => {
  const f = serverCloses(0.04, 30.04).only();
  assert.equal(f.vantage, 'resp');
  assert.equal(f.origStateSinceUs, T0 + 10_000_000 + 15_000);
  assert.equal(f.respStateSinceUs, T0 + 10_040_000); // FIN_WAIT_2 on the ACK seen at the server
});

test('captured in between (both half-RTTs over 1 ms): each side gets its own delay', () => {
  const f = serverCloses(8, 12).only();
  assert.equal(f.vantage, 'between');
  assert.equal(f.origStateSinceUs, T0 + 10_000_000 + 2000);
  assert.equal(f.respStateSinceUs, T0 + 10_040_000 + 4000);
});

test('no estimate without a clean handshake: a retransmitted SYN, or a mid-stream pickup', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C, atMs: 0 });
  w.seg({ from: 'c', flags: 'S', seq: C, atMs: 1000 });
  w.seg({ from: 's', flags: 'SA', seq: S, ack: C + 1, atMs: 1020 });
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 1, atMs: 1020.05 });
  const f = w.only();
  assert.equal(f.vantage, null);
  assert.equal(f.rttToOrigUs, null);
  const m = new Wire();
  m.seg({ from: 'c', flags: 'PA', seq: C, ack: S, len: 10, atMs: 0 });
  m.seg({ from: 's', flags: 'A', seq: S, ack: C + 10, atMs: 20 });
  assert.equal(m.only().vantage, null);
});

test('a delayed-ACK receipt is never dated after its proof, nor before the endpoint\'s previous transition', () => {
  // Captured at the server, a client half-RTT of 30 ms but the client ACKs the FIN 1 ms after it passed:
  // the arrival estimate (FIN + 15 ms) is later than the proof, so the proof's time is taken.
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C, atMs: 0 });
  w.seg({ from: 's', flags: 'SA', seq: S, ack: C + 1, atMs: 0.04 });
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 1, atMs: 30.04 });
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1, atMs: 10_000 });
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 2, atMs: 10_001 });
  const f = w.only();
  assert.equal(f.origStateSinceUs, T0 + 10_001_000);
});

test('one direction: the client alone, its ACKs prove the SYN+ACK, the data and the FIN; not no_reply', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C, atMs: 0 });
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 1, atMs: 20 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 50, atMs: 21 });
  w.seg({ from: 'c', flags: 'A', seq: C + 51, ack: S + 301, atMs: 60 });
  w.seg({ from: 'c', flags: 'A', seq: C + 51, ack: S + 302, atMs: 5060 });
  const f = w.only();
  assert.equal(f.capturedOnly, 'orig');
  assert.equal(f.closeKind, 'close_wait');
  assert.equal(f.closeKindInferred, true);
  assert.equal(f.origState, 'CLOSE_WAIT');
  assert.equal(f.origStateInferred, false);
  assert.equal(f.respState, 'FIN_WAIT_2');
  assert.equal(f.respStateInferred, true);
  assert.deepEqual(path(f, 'resp'), ['UNKNOWN>ESTABLISHED', 'ESTABLISHED>FIN_WAIT_1', 'FIN_WAIT_1>FIN_WAIT_2']);
});

test('a SYN alone, nothing else: still no_reply (nothing proves an answer)', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C, atMs: 0 });
  w.seg({ from: 'c', flags: 'S', seq: C, atMs: 1000 });
  const f = w.only();
  assert.equal(f.capturedOnly, null);
  assert.equal(f.closeKind, 'no_reply');
});

test('one direction: the server alone, its FIN never seen acknowledged: unknown, not fin_unacked', () => {
  const w = new Wire();
  w.seg({ from: 's', flags: 'SA', seq: S, ack: C + 1, atMs: 0 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 51, len: 300, atMs: 30 });
  w.seg({ from: 's', flags: 'FA', seq: S + 301, ack: C + 51, atMs: 5030 });
  const f = w.only();
  assert.equal(f.capturedOnly, 'resp');
  assert.equal(f.closeKind, 'unknown');
  assert.equal(f.closeKindInferred, false);
  assert.equal(f.respState, 'UNKNOWN');
  assert.equal(f.origState, 'UNKNOWN');
  assert.equal(f.origStateSinceUs, T0 + 5_030_000);
  assert.deepEqual(path(f, 'resp').slice(-2), ['ESTABLISHED>FIN_WAIT_1', 'FIN_WAIT_1>UNKNOWN']);
});

test('a lone RST+ACK with sequence 0 answers an unseen SYN: refused, inferred, not a mid-stream pickup', () => {
  const w = new Wire({ sport: 81 });
  w.seg({ from: 's', flags: 'RA', seq: 0, ack: C + 1, win: 0, atMs: 0 });
  const f = w.only();
  assert.equal(f.midstream, false);
  assert.equal(f.origP, 40000);
  assert.equal(f.closeKind, 'refused');
  assert.equal(f.capturedOnly, 'resp');
  assert.equal(f.closeKindInferred, true);
  assert.deepEqual(path(f, 'orig'), ['UNKNOWN>SYN_SENT', 'SYN_SENT>CLOSED']);
});
