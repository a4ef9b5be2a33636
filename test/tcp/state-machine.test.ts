import { test } from 'node:test';
import assert from 'node:assert/strict';
import { T0, Wire, path } from './wire';

const C = 1000; // client ISN
const S = 5000; // server ISN

test('handshake and client-initiated close: every transition on both sides, TIME_WAIT on the client', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 101, len: 200 });
  w.seg({ from: 'c', flags: 'FA', seq: C + 101, ack: S + 201 });
  w.seg({ from: 's', flags: 'A', seq: S + 201, ack: C + 102 });
  w.seg({ from: 's', flags: 'FA', seq: S + 201, ack: C + 102 });
  w.seg({ from: 'c', flags: 'A', seq: C + 102, ack: S + 202 });
  const f = w.only(1000);
  assert.deepEqual(path(f, 'orig'), [
    'UNKNOWN>SYN_SENT',
    'SYN_SENT>ESTABLISHED',
    'ESTABLISHED>FIN_WAIT_1',
    'FIN_WAIT_1>FIN_WAIT_2',
    'FIN_WAIT_2>TIME_WAIT',
  ]);
  assert.deepEqual(path(f, 'resp'), [
    'UNKNOWN>SYN_RECEIVED',
    'SYN_RECEIVED>ESTABLISHED',
    'ESTABLISHED>CLOSE_WAIT',
    'CLOSE_WAIT>LAST_ACK',
    'LAST_ACK>CLOSED',
  ]);
  assert.equal(f.origState, 'TIME_WAIT');
  assert.equal(f.respState, 'CLOSED');
  // TIME_WAIT began when the server's FIN (8 ms) reached the client, not at the client's ACK (9 ms).
  assert.equal(f.origStateSinceUs, T0 + 8000);
  assert.equal(f.closeKind, 'normal');
  assert.equal(f.finished, true);
  assert.equal(f.firstFinBy, 'orig');
  assert.equal(f.firstFinAcked, true);
  assert.equal(f.peerFinSent, true);
  assert.equal(f.idleBeforeFinUs, 1000);
  assert.equal(f.orig.bytes, 100);
  assert.equal(f.resp.bytes, 200);
  assert.equal(f.orig.packets, 5);
  assert.equal(f.resp.packets, 4);
  assert.equal(f.origP, 40000);
  assert.equal(f.respP, 80);
  assert.equal(f.origH, '10.0.0.1');
  assert.equal(f.respH, '10.0.0.2');
  assert.equal(f.midstream, false);
});

test('TIME_WAIT becomes CLOSED at since + 2MSL when the capture ends later', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.clientCloses(C, S);
  const twSince = w.t - 1000; // the FIN+ACK put the client in TIME_WAIT
  const f = w.only(70_000);
  assert.equal(f.origState, 'CLOSED');
  const last = f.transitions[f.transitions.length - 1];
  assert.equal(last.cause, '2MSL expired');
  assert.equal(last.from, 'TIME_WAIT');
  assert.equal(last.tsUs, twSince + 60_000_000);
  assert.equal(f.origStateSinceUs, twSince + 60_000_000);
});

test('server-initiated close after 65 s idle, client ACKs and never FINs: close_wait', () => {
  const w = new Wire();
  w.handshake(C, S, 0);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100, atMs: 3 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 101, len: 200, atMs: 4 });
  w.seg({ from: 's', flags: 'FA', seq: S + 201, ack: C + 101, atMs: 65_004 });
  w.seg({ from: 'c', flags: 'A', seq: C + 101, ack: S + 202, atMs: 65_005 });
  const f = w.only(30_000);
  assert.equal(f.origState, 'CLOSE_WAIT');
  assert.equal(f.respState, 'FIN_WAIT_2');
  // CLOSE_WAIT from the FIN's arrival (the ACK only proves it); FIN_WAIT_2 from the ACK's.
  assert.equal(f.origStateSinceUs, T0 + 65_004_000);
  assert.equal(f.respStateSinceUs, T0 + 65_005_000);
  assert.equal(f.closeKind, 'close_wait');
  assert.equal(f.firstFinBy, 'resp');
  assert.equal(f.firstFinTsUs, T0 + 65_004_000);
  assert.equal(f.idleBeforeFinUs, 65_000_000);
  assert.equal(f.firstFinAcked, true);
  assert.equal(f.peerFinSent, false);
  assert.equal(f.finished, false);
});

test('stale pooled connection: client writes into the half-closed connection, server answers RST', () => {
  const w = new Wire();
  w.handshake(C, S, 0);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100, atMs: 3 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 101, len: 200, atMs: 4 });
  w.seg({ from: 's', flags: 'FA', seq: S + 201, ack: C + 101, atMs: 65_004 });
  w.seg({ from: 'c', flags: 'A', seq: C + 101, ack: S + 202, atMs: 65_005 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 101, ack: S + 202, len: 80, atMs: 300_000 });
  w.seg({ from: 's', flags: 'R', seq: S + 202, atMs: 300_001 });
  const f = w.only();
  assert.equal(f.closeKind, 'reset_after_half_close');
  assert.equal(f.firstRstBy, 'resp');
  assert.equal(f.origState, 'CLOSED');
  assert.equal(f.respState, 'CLOSED');
  assert.deepEqual(path(f, 'orig').slice(-2), ['ESTABLISHED>CLOSE_WAIT', 'CLOSE_WAIT>CLOSED']);
  assert.deepEqual(path(f, 'resp').slice(-1), ['FIN_WAIT_2>CLOSED']);
  const causes = f.transitions.slice(-2).map((t) => `${t.endpoint}:${t.cause}`);
  assert.deepEqual(causes, ['resp:sent RST', 'orig:recv RST']);
  assert.equal(f.finished, true);
});

test('simultaneous close: CLOSING on both sides, then TIME_WAIT on both', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1 });
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1 }); // crossed: does not ack the client's FIN
  w.seg({ from: 'c', flags: 'A', seq: C + 2, ack: S + 2 });
  w.seg({ from: 's', flags: 'A', seq: S + 2, ack: C + 2 });
  const f = w.only();
  assert.deepEqual(path(f, 'orig').slice(2), ['ESTABLISHED>FIN_WAIT_1', 'FIN_WAIT_1>CLOSING', 'CLOSING>TIME_WAIT']);
  assert.deepEqual(path(f, 'resp').slice(2), ['ESTABLISHED>FIN_WAIT_1', 'FIN_WAIT_1>CLOSING', 'CLOSING>TIME_WAIT']);
  assert.equal(f.closeKind, 'normal');
  assert.equal(f.connState, 'SF');
});

test('FIN+ACK that acknowledges the peer FIN: FIN_WAIT_1 goes straight to TIME_WAIT', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.clientCloses(C, S);
  const f = w.only();
  assert.deepEqual(path(f, 'orig').slice(2), ['ESTABLISHED>FIN_WAIT_1', 'FIN_WAIT_1>TIME_WAIT']);
  assert.deepEqual(path(f, 'resp').slice(2), ['ESTABLISHED>CLOSE_WAIT', 'CLOSE_WAIT>LAST_ACK', 'LAST_ACK>CLOSED']);
  assert.equal(f.closeKind, 'normal');
});

test('retransmitted FIN does not transition again and counts as a retransmission', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1, atMs: 10 });
  w.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1, atMs: 210 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 2, atMs: 211 });
  const f = w.only();
  assert.equal(path(f, 'orig').filter((p) => p === 'ESTABLISHED>FIN_WAIT_1').length, 1);
  assert.equal(f.orig.retransmits, 1);
  assert.equal(f.history, 'ShAFa');
  assert.equal(f.firstFinTsUs, T0 + 10_000);
  assert.equal(f.origState, 'FIN_WAIT_2');
  assert.equal(f.respState, 'CLOSE_WAIT');
});

test('FIN carrying data: only an ACK past data and FIN acknowledges the FIN', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'FPA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101 }); // data acked, FIN not yet
  w.engine.snapshot(0).forEach((f) => {
    assert.equal(f.origState, 'FIN_WAIT_1');
    assert.equal(f.respState, 'ESTABLISHED');
    assert.equal(f.firstFinAcked, false);
  });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 102 });
  const f = w.only();
  assert.equal(f.origState, 'FIN_WAIT_2');
  assert.equal(f.respState, 'CLOSE_WAIT');
  assert.equal(f.orig.bytes, 100);
  assert.equal(f.idleBeforeFinUs, 0);
  assert.equal(f.firstFinAcked, true);
});

test('sequence numbers wrapping past 2^32 keep FIN acknowledgement and byte counts right', () => {
  const c = 0xffffff00;
  const w = new Wire();
  w.handshake(c, S);
  w.seg({ from: 'c', flags: 'PA', seq: c + 1, ack: S + 1, len: 0x200 });
  const fin = (c + 1 + 0x200) >>> 0; // 0x101 after the wrap
  assert.equal(fin, 0x101);
  w.seg({ from: 'c', flags: 'FA', seq: fin, ack: S + 1 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: fin }); // acks the data only
  assert.equal(w.engine.snapshot(0)[0].origState, 'FIN_WAIT_1');
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: fin + 1 });
  w.seg({ from: 'c', flags: 'A', seq: fin + 1, ack: S + 2 });
  const f = w.only();
  assert.equal(f.orig.bytes, 0x200);
  assert.equal(f.orig.retransmits, 0);
  assert.equal(f.origState, 'TIME_WAIT');
  assert.equal(f.respState, 'CLOSED');
  assert.equal(f.closeKind, 'normal');
});

test('RST in window closes both endpoints', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 10 });
  w.seg({ from: 's', flags: 'RA', seq: S + 1, ack: C + 11 });
  const f = w.only();
  assert.equal(f.origState, 'CLOSED');
  assert.equal(f.respState, 'CLOSED');
  assert.equal(f.closeKind, 'reset');
  assert.equal(f.firstRstBy, 'resp');
  assert.equal(f.anomalies, undefined);
});

test('RST out of window: sender CLOSED, receiver unchanged, anomaly counted', () => {
  const w = new Wire();
  w.handshake(C, S);
  // client window 1000 << 7 = 128000 bytes; the RST is 10 MB ahead of what it expects
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 1, win: 1000 });
  w.seg({ from: 's', flags: 'R', seq: S + 1 + 10_000_000 });
  const f = w.only();
  assert.equal(f.respState, 'CLOSED');
  assert.equal(f.origState, 'ESTABLISHED');
  assert.deepEqual(f.anomalies, { rst_out_of_window: 1 });
  // an RST just below the receiver's expected sequence is out of window too
  const w2 = new Wire();
  w2.handshake(C, S);
  w2.seg({ from: 's', flags: 'R', seq: S });
  assert.equal(w2.only().origState, 'ESTABLISHED');
});

test('mid-stream pickup: both ESTABLISHED, roles from ports, ^ when flipped', () => {
  const w = new Wire({ cport: 40000, sport: 80 });
  w.seg({ from: 's', flags: 'PA', seq: 7000, ack: 3000, len: 100 });
  w.seg({ from: 'c', flags: 'A', seq: 3000, ack: 7100 });
  w.seg({ from: 'c', flags: 'FA', seq: 3000, ack: 7100 });
  w.seg({ from: 's', flags: 'A', seq: 7100, ack: 3001 });
  const f = w.only();
  assert.equal(f.midstream, true);
  assert.equal(f.origP, 40000);
  assert.equal(f.respP, 80);
  assert.equal(f.history, '^dAFa');
  assert.deepEqual(path(f, 'orig'), ['UNKNOWN>ESTABLISHED', 'ESTABLISHED>FIN_WAIT_1', 'FIN_WAIT_1>FIN_WAIT_2']);
  assert.deepEqual(path(f, 'resp'), ['UNKNOWN>ESTABLISHED', 'ESTABLISHED>CLOSE_WAIT']);
  assert.equal(f.transitions[0].cause, 'midstream pickup');
  assert.equal(f.resp.bytes, 100);
  assert.equal(f.closeKind, 'close_wait');
});

test('mid-stream pickup keeps the direction when the first sender already looks like the client', () => {
  const w = new Wire({ cport: 51000, sport: 8080 });
  w.seg({ from: 'c', flags: 'PA', seq: 3000, ack: 7000, len: 10 });
  const f = w.only();
  assert.equal(f.origP, 51000);
  assert.equal(f.history, 'D');
  assert.equal(f.connState, 'OTH');
});

test('port reuse: a new SYN on a TIME_WAIT 4-tuple emits the old flow and starts a new one', () => {
  const w = new Wire();
  w.handshake(C, S, 0);
  w.clientCloses(C, S);
  w.seg({ from: 'c', flags: 'S', seq: 900_000, atMs: 10_000 });
  assert.equal(w.flows.length, 1, 'old flow emitted when its 4-tuple is reused');
  w.seg({ from: 's', flags: 'SA', seq: 777, ack: 900_001 });
  w.seg({ from: 'c', flags: 'A', seq: 900_001, ack: 778 });
  const flows = w.finish();
  assert.equal(flows.length, 2);
  const [old, cur] = flows;
  assert.equal(old.closeKind, 'normal');
  assert.equal(old.origState, 'CLOSED');
  assert.equal(old.transitions[old.transitions.length - 1].cause, 'reused by new SYN');
  assert.equal(cur.history, 'ShA');
  assert.equal(cur.origState, 'ESTABLISHED');
  assert.equal(cur.respState, 'ESTABLISHED');
  assert.equal(cur.closeKind, 'open');
  assert.ok(cur.uid > old.uid);
  // a retransmitted SYN (same ISN) never starts a new flow
  const w2 = new Wire();
  w2.seg({ from: 'c', flags: 'S', seq: C });
  w2.seg({ from: 'c', flags: 'S', seq: C, atMs: 1000 });
  assert.equal(w2.finish().length, 1);
});

test('TIME_WAIT expiry in packet time emits the flow and frees it', () => {
  const w = new Wire({ cport: 40001 });
  w.handshake(C, S, 0);
  w.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1 });
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 2 });
  const twSince = w.t;
  w.seg({ from: 'c', flags: 'A', seq: C + 2, ack: S + 2 });
  assert.equal(w.engine.activeFlows, 1);
  w.cport = 40002; // unrelated traffic keeps packet time moving
  w.seg({ from: 'c', flags: 'S', seq: 1, atMs: 59_000 });
  assert.equal(w.flows.length, 0, 'still in TIME_WAIT at 59 s');
  w.seg({ from: 'c', flags: 'S', seq: 1, atMs: 61_000 });
  w.seg({ from: 'c', flags: 'S', seq: 1, atMs: 64_000 });
  assert.equal(w.flows.length, 1);
  const f = w.flows[0];
  assert.equal(f.origState, 'CLOSED');
  assert.equal(f.origStateSinceUs, twSince + 60_000_000);
  assert.equal(f.transitions[f.transitions.length - 1].cause, '2MSL expired');
  assert.equal(f.finished, true);
  assert.equal(w.engine.activeFlows, 1);
});

test('connection refused: SYN answered by RST', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C });
  w.seg({ from: 's', flags: 'RA', seq: 0, ack: C + 1 });
  const f = w.only();
  assert.equal(f.closeKind, 'refused');
  assert.equal(f.connState, 'REJ');
  assert.equal(f.history, 'Sr');
  assert.deepEqual(path(f, 'orig'), ['UNKNOWN>SYN_SENT', 'SYN_SENT>CLOSED']);
  assert.deepEqual(path(f, 'resp'), ['UNKNOWN>CLOSED']);
  assert.equal(f.finished, true);
});

test('no reply: SYN retransmitted, never answered', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C, atMs: 0 });
  w.seg({ from: 'c', flags: 'S', seq: C, atMs: 1000 });
  w.seg({ from: 'c', flags: 'S', seq: C, atMs: 3000 });
  const f = w.only();
  assert.equal(f.closeKind, 'no_reply');
  assert.equal(f.connState, 'S0');
  assert.equal(f.history, 'S');
  assert.equal(f.origState, 'SYN_SENT');
  assert.equal(f.respState, 'UNKNOWN');
  assert.equal(f.orig.packets, 3);
  assert.equal(f.orig.retransmits, 2);
  assert.equal(f.respStateSinceUs, f.firstTsUs);
});

test('fin_unacked and last_ack_unacked', () => {
  const a = new Wire();
  a.handshake(C, S);
  a.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1 });
  const fa = a.only();
  assert.equal(fa.closeKind, 'fin_unacked');
  assert.equal(fa.origState, 'FIN_WAIT_1');
  assert.equal(fa.respState, 'ESTABLISHED');

  const b = new Wire();
  b.handshake(C, S);
  b.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1 });
  b.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 2 });
  b.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 2 });
  const fb = b.only();
  assert.equal(fb.closeKind, 'last_ack_unacked');
  assert.equal(fb.origState, 'LAST_ACK');
  assert.equal(fb.respState, 'FIN_WAIT_2');
  assert.equal(fb.peerFinSent, true);
});

test('SYN+ACK seen first: its sender is the responder, ^ in history', () => {
  const w = new Wire();
  w.seg({ from: 's', flags: 'SA', seq: S, ack: C + 1 });
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 1 });
  const f = w.only();
  assert.equal(f.origP, 40000);
  assert.equal(f.history, '^hA');
  assert.equal(f.origState, 'ESTABLISHED');
  assert.equal(f.respState, 'ESTABLISHED');
  assert.deepEqual(path(f, 'orig'), ['UNKNOWN>SYN_SENT', 'SYN_SENT>ESTABLISHED']);
});

test('a FIN missing from the capture is implied when the peer ACKs one past everything seen', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 10 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 12 }); // client's FIN at C+11 never captured
  const f = w.only();
  assert.equal(f.origState, 'FIN_WAIT_2');
  assert.equal(f.respState, 'CLOSE_WAIT');
  assert.equal(f.firstFinBy, 'orig');
  assert.deepEqual(f.anomalies, { fin_implied_by_ack: 1 });
});

test('IPv6 flows are keyed and written out like IPv4 ones', () => {
  const w = new Wire({ v6: true });
  w.handshake(C, S);
  w.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 1, len: 5 });
  const f = w.only();
  assert.equal(f.ipVersion, 6);
  assert.equal(f.origH, '2001:db8::1');
  assert.equal(f.respH, '2001:db8::2');
  assert.equal(f.resp.bytes, 5);
  assert.equal(f.history, 'ShAd');
  assert.equal(f.orig.ipBytes, 60 * 2);
});

test('RST from the FIN sender after the peer wrote into the half-closed connection and then FINed', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1 });
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 2 });
  w.seg({ from: 'c', flags: 'FPA', seq: C + 1, ack: S + 2, len: 50 }); // request + FIN into the half-closed connection
  w.seg({ from: 's', flags: 'R', seq: S + 2 });
  assert.equal(w.only().closeKind, 'reset_after_half_close');

  // the same close without the data is an ordinary (reset) ending
  const v = new Wire();
  v.handshake(C, S);
  v.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1 });
  v.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 2 });
  v.seg({ from: 's', flags: 'R', seq: S + 2 });
  assert.equal(v.only().closeKind, 'reset');

  // RST from the CLOSE_WAIT side (abortive close of the leaked socket) is a reset too
  const u = new Wire();
  u.handshake(C, S);
  u.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1 });
  u.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 2 });
  u.seg({ from: 'c', flags: 'RA', seq: C + 1, ack: S + 2 });
  const fu = u.only();
  assert.equal(fu.closeKind, 'reset');
  assert.equal(fu.firstFinBy, 'resp');
  assert.equal(fu.firstRstBy, 'orig');
});

test('a late RST after a complete four-way close keeps the close normal', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.clientCloses(C, S);
  w.seg({ from: 'c', flags: 'R', seq: C + 2 });
  const f = w.only();
  assert.equal(f.closeKind, 'normal');
  assert.equal(f.firstRstBy, 'orig');
  assert.equal(f.origState, 'CLOSED');
});

test('snapshot as of a later time reports an old TIME_WAIT as CLOSED', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.clientCloses(C, S);
  assert.equal(w.engine.snapshot(w.t + 30_000_000)[0].origState, 'TIME_WAIT');
  const snap = w.engine.snapshot(w.t + 61_000_000);
  assert.equal(snap[0].origState, 'CLOSED');
  assert.equal(snap[0].finished, false);
  assert.equal(w.engine.activeFlows, 1);
  assert.equal(w.finish().length, 1);
});

test('duplicate SYN and SYN+ACK (same ISN) are retransmissions, not new transitions', () => {
  const w = new Wire();
  // each packet twice, as a capture on two interfaces shows it
  w.seg({ from: 'c', flags: 'S', seq: C });
  w.seg({ from: 'c', flags: 'S', seq: C });
  w.seg({ from: 's', flags: 'SA', seq: S, ack: C + 1 });
  w.seg({ from: 's', flags: 'SA', seq: S, ack: C + 1 });
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 1 });
  w.clientCloses(C, S);
  const f = w.only();
  assert.equal(f.respState, 'CLOSED');
  assert.equal(f.origState, 'TIME_WAIT');
  assert.equal(f.orig.retransmits, 1);
  assert.equal(f.resp.retransmits, 1);
  assert.equal(path(f, 'resp').length, 5);
});

test('the same SYN after a FIN or RST on the 4-tuple starts a new connection (Zeek IsReuse)', () => {
  // After a close: the old flow keeps its closed states, the SYN opens another.
  const w = new Wire();
  w.handshake(C, S);
  w.clientCloses(C, S);
  w.seg({ from: 'c', flags: 'S', seq: C });
  const flows = w.finish();
  assert.equal(flows.length, 2);
  assert.equal(flows[0].respState, 'CLOSED');
  assert.equal(flows[0].orig.retransmits, 0);
  assert.equal(flows[1].history, 'S');
  assert.equal(flows[1].connState, 'S0');

  // A refused port retried with the identical SYN: one REJ per attempt.
  const r = new Wire();
  for (let i = 0; i < 3; i++) {
    r.seg({ from: 'c', flags: 'S', seq: C });
    r.seg({ from: 's', flags: 'RA', seq: 0, ack: C + 1 });
  }
  const rej = r.finish();
  assert.deepEqual(rej.map((f) => `${f.history} ${f.connState}`), ['Sr REJ', 'Sr REJ', 'Sr REJ']);

  // A Fast Open SYN repeated after the server's data and FIN, by a client that never acknowledged
  // anything (its SYN-ACK was lost): still the same socket, not a new connection.
  const t = new Wire();
  t.seg({ from: 'c', flags: 'S', seq: C, len: 20 });
  t.seg({ from: 's', flags: 'SA', seq: S, ack: C + 21 });
  t.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 21, len: 50 });
  t.seg({ from: 's', flags: 'FA', seq: S + 51, ack: C + 21 });
  t.seg({ from: 'c', flags: 'S', seq: C, len: 20 });
  const tfo = t.only();
  assert.equal(tfo.orig.retransmits, 1);

  // Before any FIN or RST the same ISN is still a retransmission.
  const s = new Wire();
  s.seg({ from: 'c', flags: 'S', seq: C });
  s.seg({ from: 'c', flags: 'S', seq: C });
  const one = s.only();
  assert.equal(one.orig.retransmits, 1);
});

test('SYN+ACK missing from the capture: the originator ACK implies it', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C });
  w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 1 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 1, len: 10 });
  const f = w.only();
  assert.deepEqual(path(f, 'orig'), ['UNKNOWN>SYN_SENT', 'SYN_SENT>ESTABLISHED']);
  assert.deepEqual(path(f, 'resp'), ['UNKNOWN>ESTABLISHED']);
  assert.equal(f.transitions[1].cause, 'SYN+ACK not seen (implied by ACK)');
  assert.equal(f.resp.bytes, 10);
  assert.equal(f.closeKind, 'open');
});

test('a retransmitted FIN arriving in TIME_WAIT restarts the 2MSL timer', () => {
  const w = new Wire();
  w.handshake(C, S, 0);
  w.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1, atMs: 10 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 2, atMs: 11 });
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 2, atMs: 12 });
  w.seg({ from: 'c', flags: 'A', seq: C + 2, ack: S + 2, atMs: 13 }); // proves the client TIME_WAIT from the FIN's arrival, 12 ms
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 2, atMs: 30_000 }); // final ACK lost: FIN again
  w.seg({ from: 'c', flags: 'A', seq: C + 2, ack: S + 2, atMs: 30_001 });
  const f = w.only(40_000); // capture ends 70 s after TIME_WAIT began
  assert.equal(f.origState, 'TIME_WAIT');
  assert.equal(f.origStateSinceUs - f.firstTsUs, 12_000);
  const g = new Wire();
  g.handshake(C, S, 0);
  g.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1, atMs: 10 });
  g.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 2, atMs: 12 });
  g.seg({ from: 'c', flags: 'A', seq: C + 2, ack: S + 2, atMs: 13 });
  g.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 2, atMs: 30_000 });
  const h = g.only(61_000); // capture ends at 91 s; TIME_WAIT restarted at 30 s expires at 90 s
  assert.equal(h.origState, 'CLOSED');
  assert.equal(h.origStateSinceUs - h.firstTsUs, 90_000_000);
});
