import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headBuffersLent } from '../../src/app/head-buffers';
import { GET, HttpWire, OK } from './http-wire';
import { T0 } from '../tcp/wire';

const at = (ms: number): number => T0 + ms * 1000;

test('a request head split across three segments (inside the final CRLF CRLF) and a response head split in two are read whole', () => {
  const req = GET('/a');
  const resp = OK('hello world');
  const w = new HttpWire().handshake();
  w.send('c', req.slice(0, 9)).send('c', req.slice(9, req.length - 3)).send('c', req.slice(req.length - 3));
  w.send('s', resp.slice(0, 20)).send('s', resp.slice(20));
  const h = w.only().http;
  assert.ok(h);
  assert.equal(h.protocol, 'http');
  assert.equal(h.requests, 1);
  assert.equal(h.responses, 1);
  assert.equal(h.userAgent, 'test-agent/1.0');
  assert.equal(h.host, 'api.example');
  assert.equal(h.server, 'test-server/2.1');
  assert.equal(h.parseStop, null);
  assert.equal(h.exchanges.length, 1);
  assert.deepEqual(h.exchanges[0], {
    requestTsUs: at(4),
    firstResponseTsUs: at(7),
    responseEndTsUs: at(8),
    method: 'GET',
    status: 200,
    requestBodyBytes: 0,
    responseBodyBytes: 11,
  });
  assert.equal(headBuffersLent(), 0, 'head buffers are given back when the flow is written out');
});

test('retransmitted and overlapping header bytes are read once', () => {
  const req = GET('/r');
  const w = new HttpWire().handshake();
  const base = w.cseq;
  w.send('c', req.slice(0, 20));
  w.send('c', req.slice(0, 20), { seq: base }); // exact retransmission
  w.send('c', req.slice(0, 35), { seq: base }); // overlaps: 15 new bytes
  w.skip('c', 15);
  w.send('c', req.slice(35));
  w.send('s', OK('x'));
  const h = w.only().http;
  assert.ok(h);
  assert.equal(h.requests, 1);
  assert.equal(h.userAgent, 'test-agent/1.0');
  assert.equal(h.host, 'api.example');
  assert.equal(h.exchanges[0].status, 200);
  assert.equal(h.parseStop, null);
});

test('pipelined requests in one segment are paired with their responses in order', () => {
  const w = new HttpWire().handshake();
  w.send('c', GET('/1') + `POST /2 HTTP/1.1\r\nHost: api.example\r\nContent-Length: 4\r\n\r\nbody` + GET('/3'));
  w.send('s', OK('one') + 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n' + OK('three!'));
  const h = w.only().http;
  assert.ok(h);
  assert.equal(h.requests, 3);
  assert.equal(h.responses, 3);
  assert.deepEqual(
    h.exchanges.map((x) => [x.method, x.status, x.requestBodyBytes, x.responseBodyBytes]),
    [
      ['GET', 200, 0, 3],
      ['POST', 404, 4, 0],
      ['GET', 200, 0, 6],
    ],
  );
});

test('100 Continue is an interim response: the exchange gets the final status and the time of the first response byte', () => {
  const w = new HttpWire().handshake();
  w.send('c', 'PUT /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n', { atMs: 10 });
  w.send('s', 'HTTP/1.1 100 Continue\r\n\r\n', { atMs: 11 });
  w.send('c', 'abcde', { atMs: 12 });
  w.send('s', 'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok', { atMs: 15 });
  const h = w.only().http;
  assert.ok(h);
  assert.equal(h.requests, 1);
  assert.equal(h.responses, 1);
  assert.deepEqual(h.exchanges[0], {
    requestTsUs: at(10),
    firstResponseTsUs: at(11),
    responseEndTsUs: at(15),
    method: 'PUT',
    status: 201,
    requestBodyBytes: 5,
    responseBodyBytes: 2,
  });
});

test('a chunked body (chunk-size line split across segments, extension, trailer) is skipped by its framing and the next exchange is read', () => {
  const w = new HttpWire().handshake();
  w.send('c', GET('/c'));
  w.send('s', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1');
  w.send('s', 'a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n');
  w.send('s', '5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n');
  w.send('c', GET('/d'), { atMs: 500 });
  w.send('s', OK('after'));
  const h = w.only().http;
  assert.ok(h);
  assert.equal(h.responses, 2);
  assert.deepEqual(
    h.exchanges.map((x) => [x.status, x.responseBodyBytes]),
    [
      [200, 0x1a + 5],
      [200, 5],
    ],
  );
  assert.equal(h.parseStop, null);
  assert.ok(h.longestReuseIdleUs !== null && h.longestReuseIdleUs > 400_000, 'the idle gap before the second request was measured');
});

test('headers cut by the snaplen are reported as such: captured lines are kept, the rest is not guessed, the next message at a segment start is read', () => {
  const w = new HttpWire().handshake();
  const req = 'GET /cut HTTP/1.1\r\nHost: cut.example\r\nUser-Agent: never-captured/9\r\n\r\n';
  w.send('c', req, { cap: 40 }); // ends inside the User-Agent line
  w.send('s', OK('x'.repeat(300)), { cap: 30 }); // status line and part of Server
  w.send('c', GET('/next'), { cap: 200, atMs: 100 });
  w.send('s', OK('yy'), { atMs: 101 });
  const h = w.only().http;
  assert.ok(h);
  assert.equal(h.headsTruncatedBySnaplen, 2);
  assert.equal(h.host, 'cut.example');
  assert.equal(h.userAgent, 'test-agent/1.0', 'the first User-Agent was cut off; the one seen is from the next request');
  assert.equal(h.requests, 2);
  assert.deepEqual(
    h.exchanges.map((x) => [x.method, x.status, x.requestBodyBytes, x.responseBodyBytes, x.responseEndTsUs === null]),
    [
      ['GET', 200, null, null, true],
      ['GET', 200, 0, 2, false],
    ],
  );
});

test('non-HTTP payload on port 80 is not parsed: the flow has no HTTP facts', () => {
  const w = new HttpWire(80).handshake();
  w.send('c', Buffer.from([0x00, 0x01, 0x02, 0x47, 0x45, 0x54, 0x20]));
  w.send('c', GET('/looks-like-http-later'));
  w.send('s', OK('nope'));
  assert.equal(w.only().http, undefined);

  const banner = new HttpWire(80).handshake();
  banner.send('s', 'SSH-2.0-OpenSSH_9.2\r\n');
  banner.send('c', 'SSH-2.0-client\r\n');
  assert.equal(banner.only().http, undefined);
});

test('a hole in the sequence inside a head stops that direction honestly (gap), without inventing exchanges', () => {
  const w = new HttpWire().handshake();
  const req = GET('/hole');
  w.send('c', req.slice(0, 10));
  w.skip('c', 10);
  w.send('c', req.slice(20));
  w.send('s', OK('x'));
  const h = w.only().http;
  assert.ok(h);
  assert.equal(h.parseStop, 'gap');
  assert.equal(h.requests, 0);
  assert.equal(h.responses, 1, 'the response direction is still read');
  assert.equal(h.exchanges[0].requestTsUs, null);
});

test('a hole inside a Content-Length body is skipped: the framing is intact', () => {
  const w = new HttpWire().handshake();
  w.send('c', GET('/b'));
  w.send('s', OK('0123456789'.repeat(10)).slice(0, -60));
  w.skip('s', 30); // a lost body segment
  w.send('s', '0123456789'.repeat(3));
  w.send('c', GET('/b2'));
  w.send('s', OK('z'));
  const h = w.only().http;
  assert.ok(h);
  assert.equal(h.parseStop, null);
  assert.deepEqual(h.exchanges.map((x) => x.responseBodyBytes), [100, 1]);
});

test('a body read until close ends at the server FIN; Connection: close and Keep-Alive are recorded', () => {
  const w = new HttpWire().handshake();
  w.send('c', 'GET / HTTP/1.0\r\nConnection: close\r\n\r\n', { atMs: 10 });
  w.send('s', 'HTTP/1.0 200 OK\r\nServer: old/1\r\nKeep-Alive: timeout=5, max=100\r\n\r\nabc', { atMs: 11 });
  w.send('s', 'defg', { atMs: 12 });
  w.fin('s', 13);
  const h = w.only().http;
  assert.ok(h);
  assert.equal(h.connectionCloseBy, 'orig');
  assert.equal(h.keepAliveTimeoutS, 5);
  assert.equal(h.keepAliveMax, 100);
  assert.deepEqual(h.exchanges[0], {
    requestTsUs: at(10),
    firstResponseTsUs: at(11),
    responseEndTsUs: at(12),
    method: 'GET',
    status: 200,
    requestBodyBytes: 0,
    responseBodyBytes: 7,
  });
});

test('a head longer than the bound stops the direction (head_too_large) and keeps no buffer', () => {
  const w = new HttpWire().handshake();
  w.send('c', 'GET / HTTP/1.1\r\n');
  for (let i = 0; i < 5; i++) w.send('c', `X-Filler-${i}: ${'f'.repeat(1000)}\r\n`);
  assert.equal(headBuffersLent(), 0);
  const h = w.only().http;
  assert.equal(h, undefined, 'no complete head was ever read: nothing is claimed about the flow');
});

/** A TLS 1.2-style ClientHello record carrying server_name `name` (and one other extension before it). */
function clientHello(name: string): Buffer {
  const host = Buffer.from(name, 'latin1');
  const sni = Buffer.concat([Buffer.from([0x00, 0x00]), u16(host.length + 5), u16(host.length + 3), Buffer.from([0x00]), u16(host.length), host]);
  const other = Buffer.from([0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]); // ec_point_formats
  const exts = Buffer.concat([other, sni]);
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]),
    Buffer.alloc(32, 7),
    Buffer.from([0x00]),
    u16(2),
    Buffer.from([0x13, 0x01]),
    Buffer.from([0x01, 0x00]),
    u16(exts.length),
    exts,
  ]);
  const hs = Buffer.concat([Buffer.from([0x01, 0x00]), u16(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), u16(hs.length), hs]);
}

function u16(n: number): Buffer {
  return Buffer.from([n >> 8, n & 0xff]);
}

test('a TLS ClientHello gives its SNI, also when split across two segments; nothing else of the flow is read', () => {
  const hello = clientHello('secure.example.org');
  const one = new HttpWire(443).handshake();
  one.send('c', hello);
  one.send('s', Buffer.from([0x16, 0x03, 0x03, 0x00, 0x10]));
  const h1 = one.only().http;
  assert.ok(h1);
  assert.equal(h1.protocol, 'tls');
  assert.equal(h1.tlsSni, 'secure.example.org');
  assert.equal(h1.parseStop, 'tls');
  assert.equal(h1.requests, 0);

  const two = new HttpWire(443).handshake();
  two.send('c', hello.subarray(0, 50));
  two.send('c', hello.subarray(50));
  assert.equal(two.only().http?.tlsSni, 'secure.example.org');
  assert.equal(headBuffersLent(), 0);
});

test('a head split at any byte (also with bare LF line ends) is read the same', () => {
  for (const req of [GET('/split', 'Connection: close\r\n'), 'GET /lf HTTP/1.1\nHost: api.example\nUser-Agent: test-agent/1.0\nConnection: close\n\n']) {
    for (let cut = 1; cut < req.length; cut++) {
      const w = new HttpWire().handshake();
      w.send('c', req.slice(0, cut)).send('c', req.slice(cut));
      w.send('s', OK('k'));
      const h = w.only().http;
      assert.ok(h, `cut at ${cut}`);
      assert.deepEqual([h.requests, h.responses, h.userAgent, h.host, h.connectionCloseBy, h.parseStop], [1, 1, 'test-agent/1.0', 'api.example', 'orig', null], `cut at ${cut}`);
    }
  }
});

test('a head read in place in one pass (whole in its segment) gives the facts the buffered path gives when the same head is split at any byte', () => {
  // The in-place parse finds a head's end itself; a head split across
  // segments is found by the end-of-head scan and parsed from its buffer.
  // Both must agree on every message, the odd ones included.
  const heads: [string, string][] = [
    [GET('/a', 'Connection: keep-alive, close\r\nKeep-Alive: timeout=7, max=3\r\n'), OK('body')],
    ['GET /lf HTTP/1.1\nHost: lf.example\nUser-Agent: lf-agent/2\n\n', 'HTTP/1.1 204 No Content\nServer: lf-server\n\n'],
    // A line of blanks is not the empty line: the head ends at the real one, the fields after the blank line are not read.
    ['POST /ws HTTP/1.1\r\nHost: ws.example\r\n \t\r\nContent-Length: 3\r\n\r\nabc', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n'],
    ['GET /cr HTTP/1.1\r\nHost: cr.example\r\n\r\r\nX: y\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'],
  ];
  const facts = (h: NonNullable<ReturnType<HttpWire['only']>['http']>): unknown => [
    h.requests,
    h.responses,
    h.userAgent,
    h.server,
    h.host,
    h.connectionCloseBy,
    h.keepAliveTimeoutS,
    h.keepAliveMax,
    h.parseStop,
    h.headsTruncatedBySnaplen,
    h.exchanges.map((x) => [x.method, x.status, x.requestBodyBytes, x.responseBodyBytes]),
  ];
  for (const [req, resp] of heads) {
    const whole = new HttpWire().handshake();
    whole.send('c', req).send('s', resp).send('c', GET('/after')).send('s', OK('k'));
    const expected = facts(whole.only().http!);
    for (const [side, msg] of [['c', req], ['s', resp]] as const) {
      for (let cut = 1; cut < msg.length; cut++) {
        const w = new HttpWire().handshake();
        if (side === 'c') w.send('c', msg.slice(0, cut)).send('c', msg.slice(cut)).send('s', resp);
        else w.send('c', req).send('s', msg.slice(0, cut)).send('s', msg.slice(cut));
        w.send('c', GET('/after')).send('s', OK('k'));
        assert.deepEqual(facts(w.only().http!), expected, `${JSON.stringify(msg.slice(0, 20))} split at ${cut}`);
      }
    }
  }
  assert.equal(headBuffersLent(), 0);
});
