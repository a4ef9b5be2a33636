import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { T0, Wire } from './wire';
import { fixturesDir } from '../helpers/paths';
import { readCapture } from '../../src/source/read-capture';
import { Decoder } from '../../src/decode/decoder';
import { TcpEngine } from '../../src/tcp/tcp-engine';
import type { FlowRecord } from '../../src/tcp/flow-record';

const C = 1000; // client ISN
const S = 5000; // server ISN

/** Client-initiated close: the client ends in TIME_WAIT (since the server's FIN+ACK), the server CLOSED. */
function closeToTimeWait(w: Wire): number {
  w.handshake(C, S, 0);
  w.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 1 });
  w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 2 });
  const twSince = w.t;
  w.seg({ from: 'c', flags: 'A', seq: C + 2, ack: S + 2 });
  return twSince;
}

test('advance(): a flow in TIME_WAIT is emitted after 2MSL (and the closed linger) with no further packets', () => {
  const w = new Wire();
  const twSince = closeToTimeWait(w);
  assert.equal(w.engine.activeFlows, 1);
  w.engine.advance(twSince + 60_000_000 - 1);
  assert.equal(w.flows.length, 0, 'not before 2MSL');
  assert.equal(w.engine.activeFlows, 1);
  // At 2MSL the client's TIME_WAIT ends; both sides CLOSED, the flow lingers the default 2 s like any closed flow.
  w.engine.advance(twSince + 60_000_000);
  assert.equal(w.flows.length, 0, 'closed linger');
  assert.equal(w.engine.snapshot(twSince + 60_000_000)[0].origState, 'CLOSED');
  w.engine.advance(twSince + 62_000_000);
  assert.equal(w.flows.length, 1, 'emitted without a packet');
  assert.equal(w.engine.activeFlows, 0);
  const f = w.flows[0];
  assert.equal(f.finished, true);
  assert.equal(f.origState, 'CLOSED');
  assert.equal(f.respState, 'CLOSED');
  const last = f.transitions[f.transitions.length - 1];
  assert.equal(last.cause, '2MSL expired');
  assert.equal(last.tsUs, twSince + 60_000_000);
  assert.equal(f.closeKind, 'normal');
  w.finish();
  assert.equal(w.flows.length, 1, 'not emitted twice');
});

test('advance(): a short configured 2MSL is honoured the same way', () => {
  const w = new Wire({ timeWaitUs: 5_000_000, closedLingerUs: 0 });
  const twSince = closeToTimeWait(w);
  w.engine.advance(twSince + 4_999_999);
  assert.equal(w.flows.length, 0);
  w.engine.advance(twSince + 5_000_000);
  assert.equal(w.flows.length, 1);
  assert.equal(w.flows[0].transitions.at(-1)?.tsUs, twSince + 5_000_000);
});

test('advance(): flows closed by RST leave after the linger, silent established flows after the idle timeout', () => {
  const w = new Wire({ idleTimeoutUs: 10_000_000, closedLingerUs: 2_000_000 });
  w.cport = 40001;
  w.handshake(C, S, 0);
  w.seg({ from: 's', flags: 'R', seq: S + 1, atMs: 10 });
  const rstAt = w.t;
  w.cport = 40002;
  w.handshake(C, S, 20);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 10, atMs: 30 });
  const idleFrom = w.t;
  assert.equal(w.engine.activeFlows, 2);

  w.engine.advance(rstAt + 1_999_999);
  assert.equal(w.flows.length, 0, 'the RST flow lingers 2 s');
  w.engine.advance(rstAt + 2_000_000);
  assert.deepEqual(w.flows.map((f) => f.origP), [40001]);
  assert.equal(w.flows[0].closeKind, 'reset');

  w.engine.advance(idleFrom + 9_000_000);
  assert.equal(w.flows.length, 1, 'not idle long enough yet');
  // The idle sweep runs every min(attemptTimeout/4, 60 s): 2.5 s here, so it is due by then.
  w.engine.advance(idleFrom + 12_500_000);
  assert.deepEqual(w.flows.map((f) => f.origP), [40001, 40002]);
  const idle = w.flows[1];
  assert.equal(idle.origState, 'ESTABLISHED');
  assert.equal(idle.respState, 'ESTABLISHED');
  assert.equal(idle.closeKind, 'open');
  assert.equal(w.engine.activeFlows, 0);
});

test('advance() with a time the engine has passed already changes nothing', () => {
  const w = new Wire();
  closeToTimeWait(w);
  w.engine.advance(T0);
  w.engine.advance(0);
  assert.equal(w.flows.length, 0);
  assert.equal(w.engine.activeFlows, 1);
});

test('snapshot({ changedOnly }): an untouched flow is not returned again, a flow that received a packet is', () => {
  const w = new Wire();
  w.cport = 41001;
  w.handshake(C, S, 0);
  w.cport = 41002;
  w.handshake(C, S, 10);

  const first = w.engine.snapshot(w.t, { changedOnly: true });
  assert.deepEqual(first.map((f) => f.origP), [41001, 41002], 'new flows count as changed');
  assert.ok(first.every((f) => !f.finished));
  assert.deepEqual(w.engine.snapshot(w.t, { changedOnly: true }), [], 'nothing changed since');

  w.cport = 41001;
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 50 });
  const second = w.engine.snapshot(w.t, { changedOnly: true });
  assert.deepEqual(second.map((f) => f.origP), [41001]);
  assert.equal(second[0].orig.bytes, 50, 'the record is current');

  // The full snapshot is still there, and it clears the changed marks too.
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 51 });
  assert.deepEqual(w.engine.snapshot(w.t).map((f) => f.origP), [41001, 41002]);
  assert.deepEqual(w.engine.snapshot(w.t, { changedOnly: true }), []);

  // A flow created after a snapshot is returned by the next one.
  w.cport = 41003;
  w.handshake(C, S);
  assert.deepEqual(w.engine.snapshot(w.t, { changedOnly: true }).map((f) => f.origP), [41003]);
});

test('snapshot({ changedOnly, limit }): a snapshot in slices gives the records one snapshot gives, oldest changes first; later changes wait for the next', () => {
  const build = (w: Wire): void => {
    for (let i = 0; i < 5; i++) {
      w.cport = 42001 + i;
      w.handshake(C, S, 10);
    }
  };
  const whole = new Wire();
  whole.engine.snapshot(whole.t, { changedOnly: true }); // start logging changes
  build(whole);
  const one = whole.engine.snapshot(whole.t, { changedOnly: true });

  const w = new Wire();
  w.engine.snapshot(w.t, { changedOnly: true });
  build(w);
  assert.equal(w.engine.changedFlows, 5);
  const a = w.engine.snapshot(w.t, { changedOnly: true, limit: 2 });
  assert.deepEqual(a.map((f) => f.origP), [42001, 42002]);
  assert.equal(w.engine.changedFlows, 3);
  // A packet between two slices: a flow not built yet is built once, current; one built already waits.
  w.cport = 42004;
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 30 });
  w.cport = 42001;
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 20 });
  assert.equal(w.engine.changedFlows, 4, '42001 logged again, 42004 still logged once');
  const b = w.engine.snapshot(w.t, { changedOnly: true, limit: 3 });
  assert.deepEqual(b.map((f) => f.origP), [42003, 42004, 42005]);
  assert.equal(b[1].orig.bytes, 30);
  assert.deepEqual([...a, ...b].map((f) => f.uid), one.map((f) => f.uid), 'the same flows as one snapshot');
  const c = w.engine.snapshot(w.t, { changedOnly: true });
  assert.deepEqual(c.map((f) => [f.origP, f.orig.bytes]), [[42001, 20]]);
  assert.equal(w.engine.changedFlows, 0);
});

test('snapshot({ changedOnly }): a TIME_WAIT expired by advance() counts as a change', () => {
  const w = new Wire();
  const twSince = closeToTimeWait(w);
  const a = w.engine.snapshot(w.t, { changedOnly: true });
  assert.equal(a.length, 1);
  assert.equal(a[0].origState, 'TIME_WAIT');
  w.engine.advance(twSince + 30_000_000);
  assert.deepEqual(w.engine.snapshot(twSince + 30_000_000, { changedOnly: true }), [], 'still in TIME_WAIT: unchanged');
  // At 2MSL + 1 s the TIME_WAIT is over; the flow lingers CLOSED (2 s) before it is emitted.
  w.engine.advance(twSince + 61_000_000);
  assert.equal(w.flows.length, 0);
  const b = w.engine.snapshot(twSince + 61_000_000, { changedOnly: true });
  assert.equal(b.length, 1);
  assert.equal(b[0].origState, 'CLOSED');
  assert.equal(b[0].transitions.at(-1)?.cause, '2MSL expired');
  assert.equal(b[0].finished, false, 'a snapshot never finishes a flow');
  assert.deepEqual(w.engine.snapshot(twSince + 61_500_000, { changedOnly: true }), []);
  w.engine.advance(twSince + 62_000_000);
  assert.equal(w.flows.length, 1);
  assert.equal(w.flows[0].finished, true);
});

test('closeWaitEndpoints() counts the endpoints in CLOSE_WAIT right now', () => {
  const w = new Wire({ idleTimeoutUs: 10_000_000 });
  assert.equal(w.engine.closeWaitEndpoints(), 0);
  for (const port of [42001, 42002]) {
    w.cport = port;
    w.handshake(C, S);
    w.seg({ from: 's', flags: 'FA', seq: S + 1, ack: C + 1 });
    w.seg({ from: 'c', flags: 'A', seq: C + 1, ack: S + 2 });
  }
  assert.equal(w.engine.closeWaitEndpoints(), 2);
  // One of them closes its side: LAST_ACK, no longer CLOSE_WAIT.
  w.seg({ from: 'c', flags: 'FA', seq: C + 1, ack: S + 2 });
  assert.equal(w.engine.closeWaitEndpoints(), 1);
  const snap = w.engine.snapshot(w.t);
  const cw = snap.filter((f) => f.origState === 'CLOSE_WAIT' || f.respState === 'CLOSE_WAIT');
  assert.equal(cw.length, 1);
  // Half-closed flows outlive the idle timeout: both still held, the stuck one still counted.
  w.engine.advance(w.t + 20_000_000);
  assert.equal(w.engine.activeFlows, 2);
  assert.equal(w.engine.closeWaitEndpoints(), 1);
  // The stuck one is reset (the pool reuses it): emitted after the linger, no longer counted.
  w.cport = 42001;
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 2, len: 5, atMs: 25_000 });
  w.seg({ from: 's', flags: 'R', seq: S + 2 });
  assert.equal(w.engine.closeWaitEndpoints(), 0);
  w.engine.advance(w.t + 3_000_000);
  assert.equal(w.engine.activeFlows, 1);
  const gone = w.flows.filter((f) => f.origP === 42001);
  assert.equal(gone.length, 1);
  assert.equal(gone[0].closeKind, 'reset_after_half_close');
  assert.equal(w.engine.closeWaitEndpoints(), 0);
});

test('snapshot({ changedOnly }) among many flows: exactly the touched ones, each once; a flow that finished meanwhile is not returned', () => {
  const w = new Wire();
  for (let i = 0; i < 500; i++) {
    w.cport = 43000 + i;
    w.handshake(C, S);
  }
  assert.equal(w.engine.snapshot(w.t, { changedOnly: true }).length, 500);
  const touched = [43007, 43100, 43499, 43250];
  for (const p of touched) {
    w.cport = p;
    w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 10 });
    w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 11 }); // twice changed, reported once
  }
  // One more is reset: both CLOSED, emitted after the linger by advance().
  w.cport = 43300;
  w.seg({ from: 's', flags: 'R', seq: S + 1 });
  w.engine.advance(w.t + 2_000_000);
  assert.deepEqual(w.flows.map((f) => f.origP), [43300]);
  const snap = w.engine.snapshot(w.t + 2_000_000, { changedOnly: true });
  assert.deepEqual(snap.map((f) => f.origP), touched, 'in the order they changed');
  assert.ok(snap.every((f) => f.orig.bytes === 10));
  assert.equal(w.engine.snapshot(w.t + 2_000_000).length, 499, 'the full snapshot still has every active flow');
});

test('every real fixture: changed-only snapshots plus emitted flows rebuild exactly what a full snapshot shows, and the CLOSE_WAIT counter agrees', async () => {
  const pcaps = fs.readdirSync(fixturesDir).filter((n) => n.endsWith('.pcap')).sort();
  assert.ok(pcaps.length >= 10, `fixtures found: ${pcaps.join(', ')}`);
  const key = (f: FlowRecord) => JSON.stringify(f);
  for (const name of pcaps) {
    // Two engines fed the same packets: A is flushed the live way, B is the reference (full snapshots).
    const shadow = new Map<number, string>();
    const emittedA: FlowRecord[] = [];
    const emittedB: FlowRecord[] = [];
    const a = new TcpEngine({ onFlow: (f) => { shadow.delete(f.uid); emittedA.push(f); }, timeWaitUs: 3_000_000 });
    const b = new TcpEngine({ onFlow: (f) => emittedB.push(f), timeWaitUs: 3_000_000 });
    const decoder = new Decoder();
    let n = 0;
    let lastTs = 0;
    let checks = 0;
    const check = (ts: number) => {
      a.advance(ts);
      b.advance(ts);
      for (const f of a.snapshot(ts, { changedOnly: true })) shadow.set(f.uid, key(f));
      const full = b.snapshot(ts);
      assert.deepEqual(new Map(full.map((f) => [f.uid, key(f)])), shadow, `${name}: active flows at packet ${n}`);
      const cw = full.reduce((s, f) => s + (f.origState === 'CLOSE_WAIT' ? 1 : 0) + (f.respState === 'CLOSE_WAIT' ? 1 : 0), 0);
      assert.equal(a.closeWaitEndpoints(), cw, `${name}: CLOSE_WAIT endpoints at packet ${n}`);
      checks++;
    };
    await readCapture(path.join(fixturesDir, name), (raw) => {
      if (!decoder.decode(raw)) return;
      a.packet(decoder.pkt, raw.tsUs);
      b.packet(decoder.pkt, raw.tsUs);
      lastTs = raw.tsUs;
      if (++n % 7 === 0) check(raw.tsUs);
    });
    check(lastTs + 1_000_000);
    check(lastTs + 10_000_000); // past every 2MSL (3 s here) and linger, with no packet
    assert.deepEqual(emittedA.map(key), emittedB.map(key), `${name}: same flows emitted`);
    assert.ok(checks > 1, name);
    a.finish(lastTs + 10_000_000);
    assert.equal(a.closeWaitEndpoints(), 0);
  }
});
