import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire } from './wire';

const C = 1000;
const S = 5000;

test('keep-alive probes (seq = next - 1, 0 or 1 byte) are counted and do not hide idleness', () => {
  const w = new Wire();
  w.handshake(C, S, 0);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100, atMs: 10 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101, atMs: 11 });
  w.seg({ from: 'c', flags: 'A', seq: C + 100, ack: S + 1, atMs: 30_000 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101, atMs: 30_001 });
  w.seg({ from: 'c', flags: 'A', seq: C + 100, ack: S + 1, len: 1, atMs: 60_000 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101, atMs: 60_001 });
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 101, atMs: 65_010 });
  const f = w.only();
  assert.equal(f.orig.keepalives, 2);
  assert.equal(f.orig.retransmits, 0);
  assert.equal(f.orig.bytes, 100);
  assert.equal(f.idleBeforeFinUs, 65_000_000);
});

test('idle time before the first FIN counts from the handshake when no payload was sent', () => {
  const w = new Wire();
  w.handshake(C, S, 0); // completes at 2 ms
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1, atMs: 5_002 });
  assert.equal(w.only().idleBeforeFinUs, 5_000_000);
});

test('zero-window advertisements are counted per direction', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 1, win: 0 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 1, win: 0 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 1, win: 100 });
  w.seg({ from: 's', flags: 'RA', seq: S + 1, ack: C + 1, win: 0 }); // not with a RST
  const f = w.only();
  assert.equal(f.resp.zeroWindows, 2);
  assert.equal(f.orig.zeroWindows, 0);
});

test('out-of-order segment filling a hole is not a retransmission and not missed', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 201, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 200 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 301 });
  const f = w.only();
  assert.equal(f.orig.outOfOrder, 1);
  assert.equal(f.orig.retransmits, 0);
  assert.equal(f.orig.bytes, 300);
  assert.equal(f.missedBytes, 0);
});

test('gaps: bytes never seen count as missed once acknowledged (Zeek), not before', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 301, ack: S + 1, len: 100 }); // 200 bytes never seen
  const f = w.only();
  assert.equal(f.missedBytes, 0, 'a hole nobody acknowledged is no gap in Zeek');
  assert.equal(f.orig.bytes, 400);
  assert.equal(f.history, 'ShAD');

  const a = new Wire();
  a.handshake(C, S);
  a.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  a.seg({ from: 'c', flags: 'PA', seq: C + 301, ack: S + 1, len: 100 });
  a.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 401 });
  const fa = a.only();
  assert.equal(fa.missedBytes, 200);
  assert.equal(fa.history, 'ShADaG');

  const u = new Wire();
  u.handshake(C, S);
  u.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 501 }); // acks 500 bytes the capture never had
  const fu = u.only();
  assert.equal(fu.missedBytes, 500);
  assert.deepEqual(fu.anomalies, { ack_of_unseen_data: 1 });
  assert.equal(fu.history, 'ShAaG');
});

test('retransmission: a segment entirely below the highest sequence seen', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 101, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 151, ack: S + 1, len: 100 }); // partly new: not a retransmission
  const f = w.only();
  assert.equal(f.orig.retransmits, 1);
  assert.equal(f.orig.bytes, 250);
  assert.equal(f.orig.packets, 6);
});

test('MSS and window scale come from the SYN options; scaling counts only when both offer it', () => {
  const both = new Wire();
  both.seg({ from: 'c', flags: 'S', seq: C, mss: 1460, wscale: 7 });
  both.seg({ from: 's', flags: 'SA', seq: S, ack: C + 1, mss: 1400, wscale: 9 });
  const f = both.only();
  assert.equal(f.orig.mss, 1460);
  assert.equal(f.resp.mss, 1400);
  assert.equal(f.orig.windowScale, 7);
  assert.equal(f.resp.windowScale, 9);

  const one = new Wire();
  one.seg({ from: 'c', flags: 'S', seq: C, mss: 1460, wscale: 7 });
  one.seg({ from: 's', flags: 'SA', seq: S, ack: C + 1, mss: 536 });
  const g = one.only();
  assert.equal(g.orig.windowScale, -1);
  assert.equal(g.resp.windowScale, -1);
  assert.equal(g.resp.mss, 536);
});

test('window scale decides whether an RST lies in the receive window', () => {
  // raw window 1000: 1000 bytes unscaled, 128000 with scale 7
  const scaled = new Wire();
  scaled.handshake(C, S);
  scaled.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 1, win: 1000 });
  scaled.seg({ from: 's', flags: 'R', seq: S + 1 + 50_000 });
  assert.equal(scaled.only().origState, 'CLOSED');

  const plain = new Wire();
  plain.seg({ from: 'c', flags: 'S', seq: C });
  plain.seg({ from: 's', flags: 'SA', seq: S, ack: C + 1 });
  plain.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 1, win: 1000 });
  plain.seg({ from: 's', flags: 'R', seq: S + 1 + 50_000 });
  const f = plain.only();
  assert.equal(f.origState, 'ESTABLISHED');
  assert.deepEqual(f.anomalies, { rst_out_of_window: 1 });
});

test('IP bytes and packets per direction', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 1, len: 1000 });
  const f = w.only();
  assert.equal(f.orig.packets, 2);
  assert.equal(f.resp.packets, 2);
  assert.equal(f.orig.ipBytes, 80);
  assert.equal(f.resp.ipBytes, 40 + 1040);
});

test('a probe while the peer advertises a zero window is a window probe, not a keep-alive', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101, win: 0 });
  w.seg({ from: 'c', flags: 'A', seq: C + 100, ack: S + 1 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101, win: 0 });
  const f = w.only();
  assert.equal(f.orig.keepalives, 0);
  assert.equal(f.orig.retransmits, 0);
  assert.equal(f.resp.zeroWindows, 2);
});
