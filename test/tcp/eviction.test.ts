import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire } from './wire';

test('memory follows concurrently active flows: 3000 closed connections, TIME_WAIT held 60 s', () => {
  const w = new Wire();
  let maxActive = 0;
  const n = 3000;
  for (let i = 0; i < n; i++) {
    const at = i * 100; // one connection every 100 ms of packet time, 300 s in all
    w.cport = 10_000 + i;
    w.seg({ from: 'c', flags: 'S', seq: 1000, atMs: at });
    w.seg({ from: 's', flags: 'SA', seq: 5000, ack: 1001, atMs: at + 1 });
    w.seg({ from: 'c', flags: 'A', seq: 1001, ack: 5001, atMs: at + 2 });
    w.seg({ from: 'c', flags: 'FA', seq: 1001, ack: 5001, atMs: at + 3 });
    w.seg({ from: 's', flags: 'FA', seq: 5001, ack: 1002, atMs: at + 4 });
    w.seg({ from: 'c', flags: 'A', seq: 1002, ack: 5002, atMs: at + 5 });
    maxActive = Math.max(maxActive, w.engine.activeFlows);
  }
  // 60 s of TIME_WAIT plus the 2 s linger at 10 connections per second
  assert.ok(maxActive <= 630, `max active flows ${maxActive}`);
  assert.equal(w.engine.totalFlows, n);
  const emittedEarly = w.flows.length;
  assert.ok(emittedEarly >= n - 630, `emitted before finish: ${emittedEarly}`);
  for (const f of w.flows) {
    assert.equal(f.origState, 'CLOSED');
    assert.equal(f.finished, true);
    assert.equal(f.transitions[f.transitions.length - 1].cause, '2MSL expired');
  }
  w.finish();
  assert.equal(w.flows.length, n);
  assert.equal(w.engine.activeFlows, 0);
  assert.equal(new Set(w.flows.map((f) => f.uid)).size, n);
});

test('flows closed by RST are emitted after a short linger', () => {
  const w = new Wire();
  let maxActive = 0;
  for (let i = 0; i < 500; i++) {
    w.cport = 20_000 + i;
    w.seg({ from: 'c', flags: 'S', seq: 1000, atMs: i * 100 });
    w.seg({ from: 's', flags: 'RA', seq: 0, ack: 1001, atMs: i * 100 + 1 });
    maxActive = Math.max(maxActive, w.engine.activeFlows);
  }
  assert.ok(maxActive <= 25, `max active ${maxActive}`);
  assert.ok(w.flows.length >= 475);
  assert.ok(w.flows.every((f) => f.closeKind === 'refused'));
});

test('segments arriving right after an RST stay with the closed flow', () => {
  const w = new Wire();
  w.handshake(1000, 5000);
  w.seg({ from: 's', flags: 'RA', seq: 5001, ack: 1001 });
  w.seg({ from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 10 }); // was in flight
  w.seg({ from: 's', flags: 'R', seq: 5001 });
  const flows = w.finish();
  assert.equal(flows.length, 1);
  assert.equal(flows[0].orig.packets, 3);
  assert.equal(flows[0].resp.packets, 3);
  assert.equal(flows[0].closeKind, 'reset');
});

test('idle timeout emits an unfinished flow with its states as they are', () => {
  const w = new Wire({ idleTimeoutUs: 10_000_000 });
  w.handshake(1000, 5000, 0);
  w.cport = 40_001;
  w.seg({ from: 'c', flags: 'S', seq: 1, atMs: 5_000 });
  assert.equal(w.flows.length, 0);
  w.seg({ from: 'c', flags: 'S', seq: 1, atMs: 13_000 });
  w.seg({ from: 'c', flags: 'S', seq: 1, atMs: 16_000 });
  assert.equal(w.flows.length, 1);
  const f = w.flows[0];
  assert.equal(f.origP, 40_000);
  assert.equal(f.origState, 'ESTABLISHED');
  assert.equal(f.respState, 'ESTABLISHED');
  assert.equal(f.finished, false);
  assert.equal(f.closeKind, 'open');
  assert.equal(w.engine.activeFlows, 1);
});

test('snapshot reports active flows without removing them', () => {
  const w = new Wire();
  w.handshake(1000, 5000);
  w.seg({ from: 's', flags: 'FA', seq: 5001, ack: 1001 });
  w.seg({ from: 'c', flags: 'A', seq: 1001, ack: 5002 });
  const snap = w.engine.snapshot(w.t);
  assert.equal(snap.length, 1);
  assert.equal(snap[0].finished, false);
  assert.equal(snap[0].origState, 'CLOSE_WAIT');
  assert.equal(w.engine.activeFlows, 1);
  const n = snap[0].transitions.length;
  w.seg({ from: 'c', flags: 'FA', seq: 1001, ack: 5002 });
  assert.equal(snap[0].transitions.length, n, 'a snapshot does not change afterwards');
  const again = w.engine.snapshot(w.t);
  assert.equal(again[0].uid, snap[0].uid);
  assert.equal(again[0].origState, 'LAST_ACK');
  assert.equal(w.finish().length, 1);
});

test('unanswered SYNs are emitted after the attempt timeout, answered flows are kept', () => {
  const w = new Wire({ attemptTimeoutUs: 20_000_000 });
  w.cport = 30_000;
  w.handshake(1000, 5000, 0); // answered, stays open
  for (let i = 0; i < 200; i++) {
    w.cport = 31_000 + i;
    w.seg({ from: 'c', flags: 'S', seq: 7, atMs: 1000 + i * 10 });
  }
  assert.equal(w.engine.activeFlows, 201);
  w.cport = 30_000;
  w.seg({ from: 'c', flags: 'PA', seq: 1001, ack: 5001, len: 1, atMs: 30_000 });
  assert.equal(w.engine.activeFlows, 1);
  assert.equal(w.flows.length, 200);
  assert.ok(w.flows.every((f) => f.closeKind === 'no_reply' && f.origState === 'SYN_SENT' && f.respState === 'UNKNOWN'));
});
