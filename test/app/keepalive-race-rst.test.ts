import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RST_RACE_MIN_IDLE_US, RST_RACE_WITHIN_US } from '../../src/app/app-flow';
import { GET, HttpWire, OK } from './http-wire';

/**
 * The keep-alive race answered by a bare RST (no FIN from the server), and
 * the resets that are not one. Each conversation: one answered GET, then an
 * idle gap, then a second GET that the server resets.
 */
function reused(gapMs: number, opts: { rstAfterMs?: number; extra?: string } = {}): HttpWire {
  const w = new HttpWire().handshake(0);
  w.send('c', GET('/1'), { atMs: 10 }).send('s', OK('one', opts.extra ?? ''), { atMs: 11 }).ack('c', 12);
  w.send('c', GET('/2'), { atMs: 11 + gapMs });
  if (opts.rstAfterMs !== undefined) w.rst('s', 11 + gapMs + opts.rstAfterMs);
  return w;
}

test('a bare RST answering a request sent after 2 s idle on a reused connection is a keepalive_race by rst', () => {
  const f = reused(2010, { rstAfterMs: 28 }).only();
  assert.equal(f.closeKind, 'reset', 'the TCP close kind: an RST with no FIN');
  assert.equal(f.firstFinBy, null);
  const h = f.http;
  assert.ok(h);
  assert.equal(h.closeKind, 'keepalive_race');
  assert.equal(h.raceSignal, 'rst');
  assert.equal(h.raceRequests, 1);
  assert.equal(h.signalToRequestUs, -28_000, 'the request was on the wire 28 ms before the RST');
  assert.equal(h.finToRequestUs, null, 'there was no FIN');
  assert.equal(h.requests, 2);
  assert.equal(h.responses, 1);
});

test('a FIN race records its signal as fin, with the same delay in both columns', () => {
  const w = new HttpWire().handshake(0);
  w.send('c', GET('/1'), { atMs: 10 }).send('s', OK('one'), { atMs: 11 }).ack('c', 12);
  w.fin('s', 5011).ack('c', 5012).send('c', GET('/2'), { atMs: 5013 }).rst('s', 5014);
  const h = w.only().http;
  assert.equal(h?.raceSignal, 'fin');
  assert.equal(h?.finToRequestUs, 2000);
  assert.equal(h?.signalToRequestUs, 2000);
});

test('an RST that left before the request arrived (crossing it; captured at the client) counts, the RST not acknowledging it', () => {
  const w = new HttpWire().handshake(0);
  w.send('c', GET('/1'), { atMs: 10 }).send('s', OK('one'), { atMs: 11 }).ack('c', 12);
  const before = w.cseq;
  w.send('c', GET('/2'), { atMs: 3000 });
  w.cseq = before; // an abortive close (SO_LINGER 0): its RST acknowledges only the first request
  w.rst('s', 3000.4);
  const h = w.only().http;
  assert.equal(h?.closeKind, 'keepalive_race');
  assert.equal(h?.raceSignal, 'rst');
  assert.equal(h?.signalToRequestUs, -400);
});

test('not a race: an RST of the first request on a fresh connection (nothing was reused)', () => {
  const w = new HttpWire().handshake(0);
  w.send('c', GET('/1'), { atMs: 2010 }).rst('s', 2030);
  const f = w.only();
  assert.equal(f.closeKind, 'reset');
  assert.equal(f.http?.closeKind, null);
  assert.equal(f.http?.raceRequests, 0);
  assert.equal(f.http?.raceSignal, null);
  assert.equal(f.http?.signalToRequestUs, null);
});

test('not a race: an RST after the response to the reused request began', () => {
  const w = reused(2010);
  w.send('s', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial', { atMs: 2025 });
  w.rst('s', 2030);
  const h = w.only().http;
  assert.equal(h?.closeKind, null);
  assert.equal(h?.responses, 1);
});

test('not a race: an RST long after the request (the server gave up on a request it was processing)', () => {
  const h = reused(2010, { rstAfterMs: 5000 }).only().http;
  assert.equal(h?.closeKind, null);
});

test('not a race: the reused request came after a short idle (a reset mid-conversation, not an idle close)', () => {
  const h = reused(300, { rstAfterMs: 5 }).only().http;
  assert.equal(h?.closeKind, null);
});

test('not a race: the server had said Connection: close, or the client sent FIN before the RST', () => {
  const told = reused(2010, { rstAfterMs: 5, extra: 'Connection: close\r\n' }).only().http;
  assert.equal(told?.connectionCloseBy, 'resp');
  assert.equal(told?.closeKind, null);

  const gaveUp = reused(2010);
  gaveUp.fin('c', 2500).rst('s', 2600);
  assert.equal(gaveUp.only().http?.closeKind, null, 'the client closed first: the server reset a connection the client had given up');
});

test('the bounds are inclusive: 1 s idle and an RST 1 s after the request still count; a millisecond more does not', () => {
  const idleMs = RST_RACE_MIN_IDLE_US / 1000;
  const withinMs = RST_RACE_WITHIN_US / 1000;
  assert.equal(reused(idleMs, { rstAfterMs: withinMs }).only().http?.closeKind, 'keepalive_race');
  assert.equal(reused(idleMs - 1, { rstAfterMs: 5 }).only().http?.closeKind, null);
  assert.equal(reused(idleMs, { rstAfterMs: withinMs + 1 }).only().http?.closeKind, null);
});

test('pipelined requests behind the reset one are counted too, and the idle gap is the first one\'s', () => {
  const w = reused(2500);
  w.send('c', GET('/3'), { atMs: 2512 });
  w.rst('s', 2520);
  const h = w.only().http;
  assert.equal(h?.closeKind, 'keepalive_race');
  assert.equal(h?.raceRequests, 2);
  assert.equal(h?.signalToRequestUs, -9_000);
});

test('not a race: the reset request was pipelined behind one the server answered (the server was not idle when it reset)', () => {
  const w = reused(2000);
  w.send('c', GET('/3'), { atMs: 2012 });
  w.send('s', OK('two'), { atMs: 2013 });
  w.rst('s', 2020);
  const h = w.only().http;
  assert.equal(h?.responses, 2);
  assert.equal(h?.closeKind, null);
});
