import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GET, HttpWire, OK } from './http-wire';

test('a request sent after the server FIN and answered by RST is a keepalive_race, with the FIN -> request delay', () => {
  const w = new HttpWire().handshake(0);
  w.send('c', GET('/1'), { atMs: 10 }).send('s', OK('one'), { atMs: 11 }).ack('c', 12);
  w.fin('s', 5011).ack('c', 5012); // the server's idle timer (5 s)
  w.send('c', GET('/2'), { atMs: 5013 }); // the pool reuses the connection 2 ms after the FIN
  w.rst('s', 5014);
  const f = w.only();
  assert.equal(f.closeKind, 'reset_after_half_close', 'the TCP close kind is unchanged');
  const h = f.http;
  assert.ok(h);
  assert.equal(h.closeKind, 'keepalive_race');
  assert.equal(h.raceRequests, 1);
  assert.equal(h.finToRequestUs, 2000);
  assert.equal(h.requests, 2);
  assert.equal(h.responses, 1);
  assert.equal(h.longestReuseIdleUs, 5013_000 - 11_000, 'the idle gap before the failed reuse');
});

test('a request that crossed the FIN in flight (captured before it, not acknowledged by it) counts, with a negative delay', () => {
  const w = new HttpWire().handshake(0);
  w.send('c', GET('/1'), { atMs: 10 }).send('s', OK('one'), { atMs: 11 }).ack('c', 12);
  const before = w.cseq;
  // Capture point next to the client: the request leaves before the server's FIN arrives.
  w.send('c', GET('/2'), { atMs: 4000 });
  w.cseq = before; // the server's FIN acknowledges only up to the first request
  w.fin('s', 4000.5);
  w.cseq = before + GET('/2').length;
  w.rst('s', 4001);
  const h = w.only().http;
  assert.ok(h);
  assert.equal(h.closeKind, 'keepalive_race');
  assert.equal(h.finToRequestUs, -500);
});

test('not a race: the request was answered before the FIN, or the server had said Connection: close', () => {
  const leak = new HttpWire().handshake(0);
  leak.send('c', GET('/1'), { atMs: 10 }).send('s', OK('one'), { atMs: 11 }).ack('c', 12).fin('s', 4011).ack('c', 4012);
  const l = leak.only();
  assert.equal(l.closeKind, 'close_wait');
  assert.equal(l.http?.closeKind, null);
  assert.equal(l.http?.raceRequests, 0);

  const told = new HttpWire().handshake(0);
  told.send('c', GET('/1'), { atMs: 10 }).send('s', OK('one', 'Connection: close\r\n'), { atMs: 11 });
  told.fin('s', 12).send('c', GET('/2'), { atMs: 13 }).rst('s', 14);
  const t = told.only().http;
  assert.equal(t?.connectionCloseBy, 'resp');
  assert.equal(t?.closeKind, null, 'the client was told the connection would close');
});
