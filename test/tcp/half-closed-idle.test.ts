import { test } from 'node:test';
import assert from 'node:assert/strict';
import { T0, Wire, path } from './wire';

// The idle timeout (default 2 h) must not evict half-closed connections:
// a socket in CLOSE_WAIT, FIN_WAIT_2, ... has no kernel timeout of its own
// while the application holds it, and those are the flows the tool is for.

const C = 1000;
const S = 5000;
const H = 3_600_000; // one hour, ms

function halfClosedByServer(w: Wire): void {
  w.handshake(C, S, 0);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 3, atMs: 10 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 4, len: 4, atMs: 20 });
  w.seg({ from: 'c', flags: 'A', seq: C + 4, ack: S + 5, atMs: 30 });
  // nginx closes the idle keep-alive connection after 65 s; the client ACKs and keeps the socket.
  w.seg({ from: 's', flags: 'FA', seq: S + 5, ack: C + 4, atMs: 65_000 });
  w.seg({ from: 'c', flags: 'A', seq: C + 4, ack: S + 6, atMs: 65_010 });
}

test('CLOSE_WAIT silent for 3 h, then the pool reuses it and draws an RST: one flow, reset_after_half_close', () => {
  const w = new Wire();
  halfClosedByServer(w);
  w.seg({ from: 'c', flags: 'PA', seq: C + 4, ack: S + 6, len: 4, atMs: 3 * H });
  assert.equal(w.flows.length, 0, 'the half-closed flow was not evicted by the 2 h idle timeout');
  w.seg({ from: 's', flags: 'R', seq: S + 6, atMs: 3 * H + 1 });
  const flows = w.finish(10_000);
  assert.equal(flows.length, 1);
  const f = flows[0];
  assert.equal(f.midstream, false);
  assert.equal(f.closeKind, 'reset_after_half_close');
  assert.equal(f.firstFinBy, 'resp');
  assert.equal(f.orig.bytes, 7);
  assert.deepEqual(path(f, 'orig'), [
    'UNKNOWN>SYN_SENT',
    'SYN_SENT>ESTABLISHED',
    'ESTABLISHED>CLOSE_WAIT',
    'CLOSE_WAIT>CLOSED',
  ]);
});

test('CLOSE_WAIT silent for 3 h, then the client closes: one flow, normal close, CLOSE_WAIT lasted 3 h', () => {
  const w = new Wire();
  halfClosedByServer(w);
  w.seg({ from: 'c', flags: 'FA', seq: C + 4, ack: S + 6, atMs: 3 * H });
  w.seg({ from: 's', flags: 'A', seq: S + 6, ack: C + 5, atMs: 3 * H + 1 });
  const flows = w.finish(120_000);
  assert.equal(flows.length, 1);
  const f = flows[0];
  assert.equal(f.closeKind, 'normal');
  assert.equal(f.origState, 'CLOSED');
  assert.equal(f.respState, 'CLOSED'); // TIME_WAIT expired
  const cw = f.transitions.find((t) => t.endpoint === 'orig' && t.to === 'CLOSE_WAIT');
  const la = f.transitions.find((t) => t.endpoint === 'orig' && t.to === 'LAST_ACK');
  assert.ok(cw && la);
  // CLOSE_WAIT from the FIN's arrival at 65.000 s (the client's ACK at 65.010 s proves it)
  assert.equal(la.tsUs - cw.tsUs, 3 * H * 1000 - 65_000_000);
});

test('a half-closed flow is held past the idle timeout while idle ESTABLISHED flows are evicted', () => {
  const w = new Wire({ idleTimeoutUs: 600_000_000 }); // 10 min
  halfClosedByServer(w); // port 40000: CLOSE_WAIT / FIN_WAIT_2
  w.cport = 40_001;
  w.handshake(C, S, 70_000); // stays ESTABLISHED and silent
  w.cport = 40_002;
  w.seg({ from: 'c', flags: 'S', seq: 1, atMs: H }); // an hour later: the sweep runs
  assert.equal(w.flows.length, 1);
  assert.equal(w.flows[0].origP, 40_001);
  assert.equal(w.flows[0].closeKind, 'open');
  assert.equal(w.flows[0].finished, false);
  assert.equal(w.engine.activeFlows, 2);
  assert.equal(w.engine.closeWaitEndpoints(), 1);
  const all = w.finish();
  const cw = all.find((f) => f.origP === 40_000);
  assert.ok(cw);
  assert.equal(cw.origState, 'CLOSE_WAIT');
  assert.equal(cw.respState, 'FIN_WAIT_2');
  assert.equal(cw.closeKind, 'close_wait');
  assert.equal(cw.origStateSinceUs, T0 + 65_000_000);
});

test('every half-closed state is exempt: FIN_WAIT_1 (FIN never acked) and LAST_ACK are held', () => {
  const w = new Wire({ idleTimeoutUs: 600_000_000 });
  w.handshake(C, S, 0);
  w.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1, atMs: 10 }); // never acked
  w.cport = 40_001;
  w.handshake(C, S, 20);
  w.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1, atMs: 30 });
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 2, atMs: 40 }); // server LAST_ACK, client TIME_WAIT
  w.cport = 40_002;
  w.seg({ from: 'c', flags: 'S', seq: 1, atMs: H });
  // The TIME_WAIT side is over; only the LAST_ACK side remains half-closed, and is held.
  assert.equal(w.flows.filter((f) => f.origP === 40_000 || f.origP === 40_001).length, 0);
  const all = w.finish();
  const a = all.find((f) => f.origP === 40_000);
  const b = all.find((f) => f.origP === 40_001);
  assert.ok(a && b);
  assert.equal(a.origState, 'FIN_WAIT_1');
  assert.equal(a.closeKind, 'fin_unacked');
  assert.equal(b.respState, 'LAST_ACK');
  assert.equal(b.closeKind, 'last_ack_unacked');
});

test('after an idle ESTABLISHED flow is evicted, a FIN on the same 4-tuple is a sane mid-stream flow', () => {
  const w = new Wire(); // default idle timeout, 2 h
  w.handshake(C, S, 0);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 3, atMs: 10 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 4, len: 4, atMs: 20 });
  w.seg({ from: 's', flags: 'FA', seq: S + 5, ack: C + 4, atMs: 3 * H });
  w.seg({ from: 'c', flags: 'A', seq: C + 4, ack: S + 6, atMs: 3 * H + 1 });
  const flows = w.finish();
  assert.equal(flows.length, 2);
  const [old, late] = flows;
  assert.equal(old.closeKind, 'open');
  assert.equal(old.finished, false);
  assert.equal(late.midstream, true);
  // Same roles as the original connection (the server port is the responder), nothing invented.
  assert.equal(late.origP, 40_000);
  assert.equal(late.respP, 80);
  assert.equal(late.firstFinBy, 'resp');
  assert.equal(late.respState, 'FIN_WAIT_2');
  assert.equal(late.origState, 'CLOSE_WAIT');
  assert.equal(late.closeKind, 'close_wait');
  assert.equal(late.anomalies?.fin_implied_by_ack, undefined);
});

test('after idle eviction, a later packet on the 4-tuple keeps the roles the SYN established (not the port guess)', () => {
  // Both ports in the ephemeral range: the port guess alone would make the
  // lower one (the client's 40000) the responder.
  const w = new Wire({ cport: 40_000, sport: 50_000 });
  w.handshake(C, S, 0);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 3, atMs: 10 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 4, atMs: 20 });
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 4, atMs: 3 * H });
  w.seg({ from: 'c', flags: 'A', seq: C + 4, ack: S + 2, atMs: 3 * H + 1 });
  const flows = w.finish();
  assert.equal(flows.length, 2);
  const late = flows[1];
  assert.equal(late.midstream, true);
  assert.equal(late.origP, 40_000);
  assert.equal(late.respP, 50_000);
  assert.equal(late.history[0], '^');
  assert.equal(late.firstFinBy, 'resp');
  assert.equal(late.origState, 'CLOSE_WAIT');

  // The same over IPv6.
  const v = new Wire({ cport: 40_000, sport: 50_000, v6: true });
  v.handshake(C, S, 0);
  v.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1, atMs: 3 * H });
  const v6 = v.finish();
  assert.equal(v6.length, 2);
  assert.equal(v6[1].origP, 40_000);
  assert.equal(v6[1].respH, '2001:db8::2');

  // Control: without the earlier flow, the same packets get the port guess.
  const g = new Wire({ cport: 40_000, sport: 50_000 });
  g.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 4, atMs: 0 });
  assert.equal(g.only().origP, 50_000);
});
