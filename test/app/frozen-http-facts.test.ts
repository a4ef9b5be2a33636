import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appFlowsInUse } from '../../src/app/app-hook';
import { GET, HttpWire, OK } from './http-wire';

// A connection in TIME_WAIT keeps its HTTP facts, not its parser: once both
// FINs are in and every byte before them was read, the facts are frozen and
// the AppFlow goes back to the pool (src/app/frozen-http-facts.ts).

test('after both FINs, with every byte read, the parser is given back while the flow waits in TIME_WAIT; the written facts are the same', () => {
  const before = appFlowsInUse();
  const w = new HttpWire().handshake();
  w.send('c', GET('/a')).send('s', OK('hello')).ack('c');
  w.send('c', GET('/b', 'Connection: close\r\n')).send('s', OK('bye', 'Connection: close\r\n'));
  assert.equal(appFlowsInUse(), before + 1, 'a parser while the connection is open');
  const open = w.engine.snapshot(w.t)[0].http!;
  w.fin('s').ack('c').fin('c').ack('s');
  assert.equal(appFlowsInUse(), before, 'given back once both FINs are in');
  // Facts read while the flow sits in TIME_WAIT (a live flush) and at its end are the frozen ones.
  const waiting = w.engine.snapshot(w.t)[0].http!;
  const f = w.only().http!;
  assert.deepEqual(waiting, f);
  assert.equal(f.requests, 2);
  assert.equal(f.responses, 2);
  assert.equal(f.userAgent, 'test-agent/1.0');
  assert.equal(f.server, 'test-server/2.1');
  assert.equal(f.connectionCloseBy, 'both');
  assert.deepEqual(f.exchanges.map((x) => [x.method, x.status, x.responseBodyBytes]), [['GET', 200, 5], ['GET', 200, 3]]);
  assert.deepEqual({ ...open, exchanges: null }, { ...f, exchanges: null });
  assert.equal(appFlowsInUse(), before);
});

test('a keep-alive race frozen at the client\'s FIN still says keepalive_race, with the FIN-to-request delay', () => {
  const before = appFlowsInUse();
  const w = new HttpWire(8080).handshake(0);
  w.send('c', GET('/1'), { atMs: 1 }).send('s', OK('x'), { atMs: 2 }).ack('c', 3);
  w.fin('s', 2003);
  w.send('c', GET('/2'), { atMs: 2010 });
  w.fin('c', 2011);
  assert.equal(appFlowsInUse(), before, 'frozen at the second FIN');
  w.rst('s', 2012);
  const f = w.only().http!;
  assert.equal(f.closeKind, 'keepalive_race');
  assert.equal(f.raceRequests, 1);
  assert.equal(f.raceSignal, 'fin');
  assert.equal(f.finToRequestUs, 7000);
  assert.equal(f.requests, 2);
  assert.equal(f.responses, 1);
});

test('a response the capture saw only after both FINs (a hole filled by a retransmission) is still read: no freeze until then', () => {
  const before = appFlowsInUse();
  const w = new HttpWire().handshake();
  w.send('c', GET('/late'));
  const resp = OK('0123456789');
  const seq = w.sseq;
  w.skip('s', resp.length); // the response was lost before the capture point
  w.fin('s').fin('c');
  assert.equal(appFlowsInUse(), before + 1, 'the server direction has a hole before its FIN: the parser stays');
  w.send('s', resp, { seq });
  w.ack('c');
  const f = w.only().http!;
  assert.equal(f.responses, 1);
  assert.equal(f.exchanges[0].status, 200);
  assert.equal(f.exchanges[0].responseBodyBytes, 10);
  assert.equal(appFlowsInUse(), before, 'given back when the flow was written out');
});
