import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire, path } from './wire';

// When a FIN may be inferred from an ACK of sequence space the capture did
// not show, and when such an inference must not be made or must be taken back.

test('mid-stream keep-alive (bare segment at SND.NXT-1) acked at seq+1 is a keep-alive, not a FIN', () => {
  const w = new Wire();
  // Linux keep-alive probe from the client: seq = SND.NXT - 1, no payload.
  w.seg({ from: 'c', flags: 'A', seq: 4999, ack: 9000, atMs: 0 });
  w.seg({ from: 's', flags: 'A', seq: 9000, ack: 5000, atMs: 1 });
  // The next probe 75 s later, and its answer.
  w.seg({ from: 'c', flags: 'A', seq: 4999, ack: 9000, atMs: 75_000 });
  w.seg({ from: 's', flags: 'A', seq: 9000, ack: 5000, atMs: 75_001 });
  const f = w.only();
  assert.equal(f.midstream, true);
  assert.equal(f.origState, 'ESTABLISHED');
  assert.equal(f.respState, 'ESTABLISHED');
  assert.equal(f.closeKind, 'open');
  assert.equal(f.firstFinBy, null);
  assert.equal(f.orig.keepalives, 2);
  assert.equal(f.resp.keepalives, 0);
  assert.equal(f.anomalies?.fin_implied_by_ack, undefined);
  assert.deepEqual(path(f, 'orig'), ['UNKNOWN>ESTABLISHED']);
  assert.deepEqual(path(f, 'resp'), ['UNKNOWN>ESTABLISHED']);
});

test('mid-stream: an endpoint first seen sending payload keeps the one-past-the-end FIN inference', () => {
  // Control for the keep-alive rule: the sequence space is anchored by
  // payload, so an ACK one past it still implies an unseen FIN.
  const w = new Wire();
  w.seg({ from: 's', flags: 'PA', seq: 9000, ack: 5000, len: 100, atMs: 0 });
  w.seg({ from: 'c', flags: 'A', seq: 5000, ack: 9101, atMs: 1 });
  const f = w.only();
  assert.equal(f.anomalies?.fin_implied_by_ack, 1);
  assert.equal(f.respState, 'FIN_WAIT_2');
  assert.equal(f.origState, 'CLOSE_WAIT');
  assert.equal(f.closeKind, 'close_wait');
});

test('a 1-byte segment missing from the capture, ACKed by the peer, then more data: the implied FIN is retracted', () => {
  const w = new Wire();
  w.handshake(100, 500, 0);
  w.seg({ from: 'c', flags: 'PA', seq: 101, ack: 501, len: 3, atMs: 1000 });
  // The server's 1-byte segment 501:502 is not in the capture; the client ACKs it.
  w.seg({ from: 'c', flags: 'A', seq: 104, ack: 502, atMs: 1100 });
  w.seg({ from: 's', flags: 'PA', seq: 502, ack: 104, len: 5, atMs: 2000 });
  w.seg({ from: 'c', flags: 'A', seq: 104, ack: 507, atMs: 2100 });
  const f = w.only();
  assert.equal(f.origState, 'ESTABLISHED');
  assert.equal(f.respState, 'ESTABLISHED');
  assert.equal(f.closeKind, 'open');
  assert.equal(f.firstFinBy, null);
  assert.equal(f.idleBeforeFinUs, null);
  assert.equal(f.anomalies?.fin_implied_by_ack, 1);
  assert.equal(f.anomalies?.fin_inference_retracted, 1);
  assert.equal(f.resp.bytes, 6);
  assert.equal(f.missedBytes, 1);
  const retracted = f.transitions.filter((t) => t.cause === 'FIN inference retracted');
  assert.deepEqual(
    retracted.map((t) => `${t.endpoint} ${t.from}>${t.to}`),
    ['resp FIN_WAIT_2>ESTABLISHED', 'orig CLOSE_WAIT>ESTABLISHED'],
  );
});

test('a retracted FIN inference: the real FIN later is the first FIN, with its own idle time', () => {
  const w = new Wire();
  w.handshake(100, 500, 0);
  w.seg({ from: 'c', flags: 'A', seq: 101, ack: 502, atMs: 1000 }); // server byte 501 unseen
  w.seg({ from: 's', flags: 'PA', seq: 502, ack: 101, len: 9, atMs: 2000 });
  w.seg({ from: 'c', flags: 'A', seq: 101, ack: 511, atMs: 2001 });
  w.seg({ from: 's', flags: 'FA', seq: 511, ack: 101, atMs: 7000 });
  w.seg({ from: 'c', flags: 'A', seq: 101, ack: 512, atMs: 7001 });
  const f = w.only();
  assert.equal(f.firstFinBy, 'resp');
  assert.equal(f.firstFinTsUs, w.t - 1000);
  assert.equal(f.idleBeforeFinUs, 5_000_000);
  assert.equal(f.origState, 'CLOSE_WAIT');
  assert.equal(f.respState, 'FIN_WAIT_2');
  assert.equal(f.closeKind, 'close_wait');
  assert.equal(f.anomalies?.fin_inference_retracted, 1);
  assert.equal(f.anomalies?.fin_seq_changed, undefined);
});

test("server's response+FIN missing from the capture, client ACKs it and FINs, server ACKs: not CLOSE_WAIT", () => {
  const w = new Wire();
  w.handshake(100, 500, 0);
  w.seg({ from: 'c', flags: 'PA', seq: 101, ack: 501, len: 3, atMs: 30 });
  // Server 501:511 + FIN (512) not captured; the client ACKs all of it, then closes.
  w.seg({ from: 'c', flags: 'A', seq: 104, ack: 512, atMs: 50 });
  w.seg({ from: 'c', flags: 'FA', seq: 104, ack: 512, atMs: 60 });
  w.seg({ from: 's', flags: 'A', seq: 512, ack: 105, atMs: 70 });
  const f = w.only();
  assert.notEqual(f.respState, 'CLOSE_WAIT');
  assert.equal(f.respState, 'TIME_WAIT');
  assert.equal(f.origState, 'CLOSED');
  assert.equal(f.closeKind, 'normal');
  assert.equal(f.peerFinSent, true);
  assert.equal(f.anomalies?.fin_status_unknown, 1);
  assert.equal(f.resp.bytes, 10);
  assert.equal(f.missedBytes, 10);
  assert.deepEqual(path(f, 'resp'), [
    'UNKNOWN>SYN_RECEIVED',
    'SYN_RECEIVED>ESTABLISHED',
    'ESTABLISHED>FIN_WAIT_2',
    'FIN_WAIT_2>TIME_WAIT',
  ]);
  assert.deepEqual(path(f, 'orig'), [
    'UNKNOWN>SYN_SENT',
    'SYN_SENT>ESTABLISHED',
    'ESTABLISHED>FIN_WAIT_1',
    'FIN_WAIT_1>LAST_ACK',
    'LAST_ACK>CLOSED',
  ]);
});

test('unseen acknowledged tail assumed to hold a FIN, then the server writes: assumption retracted, server CLOSE_WAIT', () => {
  const w = new Wire();
  w.handshake(100, 500, 0);
  w.seg({ from: 'c', flags: 'A', seq: 101, ack: 512, atMs: 50 }); // server 501:512 unseen
  w.seg({ from: 'c', flags: 'FA', seq: 101, ack: 512, atMs: 60 });
  w.seg({ from: 's', flags: 'A', seq: 512, ack: 102, atMs: 70 });
  w.seg({ from: 's', flags: 'PA', seq: 512, ack: 102, len: 20, atMs: 80 });
  w.seg({ from: 'c', flags: 'A', seq: 102, ack: 532, atMs: 90 });
  const f = w.only();
  assert.equal(f.respState, 'CLOSE_WAIT');
  assert.equal(f.origState, 'FIN_WAIT_2');
  assert.equal(f.closeKind, 'close_wait');
  assert.equal(f.firstFinBy, 'orig');
  assert.equal(f.anomalies?.fin_status_unknown, 1);
  assert.equal(f.anomalies?.fin_inference_retracted, 1);
  assert.equal(f.resp.bytes, 31);
  assert.equal(f.missedBytes, 11);
});

test('control: a server whose data was all seen ACKs the client FIN and stays in CLOSE_WAIT (reads to EOF, never closes)', () => {
  const w = new Wire();
  w.handshake(100, 500, 0);
  w.seg({ from: 'c', flags: 'PA', seq: 101, ack: 501, len: 3, atMs: 30 });
  w.seg({ from: 's', flags: 'PA', seq: 501, ack: 104, len: 11, atMs: 40 });
  w.seg({ from: 'c', flags: 'A', seq: 104, ack: 512, atMs: 50 });
  w.seg({ from: 'c', flags: 'FA', seq: 104, ack: 512, atMs: 60 });
  w.seg({ from: 's', flags: 'A', seq: 512, ack: 105, atMs: 70 });
  const f = w.only();
  assert.equal(f.respState, 'CLOSE_WAIT');
  assert.equal(f.origState, 'FIN_WAIT_2');
  assert.equal(f.closeKind, 'close_wait');
  assert.equal(f.anomalies, undefined);
});

test('mid-stream keep-alive followed by data at seq+1: no missed byte, one keep-alive', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'A', seq: 4999, ack: 9000, atMs: 0 }); // probe at SND.NXT-1
  w.seg({ from: 'c', flags: 'PA', seq: 5000, ack: 9000, len: 10, atMs: 5 });
  w.seg({ from: 's', flags: 'A', seq: 9000, ack: 5010, atMs: 6 });
  const f = w.only();
  assert.equal(f.orig.keepalives, 1);
  assert.equal(f.orig.bytes, 10);
  assert.equal(f.missedBytes, 0);
  assert.equal(f.closeKind, 'open');
});

test('client request missing from the capture, server answers and FINs 65 s later, client ACKs: still close_wait', () => {
  // The lossy-capture version of the nginx keep-alive case: the unseen tail
  // is the client's request, and the server wrote a response after
  // acknowledging it, so the tail is taken as data and the client as open.
  const w = new Wire();
  w.handshake(100, 500, 0);
  // Client request 101:209 not captured; the server ACKs it and responds.
  w.seg({ from: 's', flags: 'A', seq: 501, ack: 209, atMs: 10 });
  w.seg({ from: 's', flags: 'PA', seq: 501, ack: 209, len: 946, atMs: 11 });
  w.seg({ from: 'c', flags: 'A', seq: 209, ack: 1447, atMs: 12 });
  w.seg({ from: 's', flags: 'FA', seq: 1447, ack: 209, atMs: 65_011 });
  w.seg({ from: 'c', flags: 'A', seq: 209, ack: 1448, atMs: 65_050 });
  const f = w.only();
  assert.equal(f.origState, 'CLOSE_WAIT');
  assert.equal(f.respState, 'FIN_WAIT_2');
  assert.equal(f.closeKind, 'close_wait');
  assert.equal(f.anomalies?.ack_of_unseen_data, 1);
  assert.equal(f.anomalies?.fin_status_unknown, undefined);
  assert.equal(f.orig.bytes, 108);
});

test('the same with the response carrying the first ACK of the unseen request: still close_wait', () => {
  const w = new Wire();
  w.handshake(100, 500, 0);
  w.seg({ from: 's', flags: 'PA', seq: 501, ack: 209, len: 946, atMs: 11 }); // acks the unseen 101:209
  w.seg({ from: 'c', flags: 'A', seq: 209, ack: 1447, atMs: 12 });
  w.seg({ from: 's', flags: 'FA', seq: 1447, ack: 209, atMs: 65_011 });
  w.seg({ from: 'c', flags: 'A', seq: 209, ack: 1448, atMs: 65_050 });
  const f = w.only();
  assert.equal(f.origState, 'CLOSE_WAIT');
  assert.equal(f.closeKind, 'close_wait');
  assert.equal(f.anomalies?.fin_status_unknown, undefined);
});

test('the same with the response missing too (the client ACKs it): the server wrote, still close_wait', () => {
  const w = new Wire();
  w.handshake(100, 500, 0);
  w.seg({ from: 's', flags: 'A', seq: 501, ack: 209, atMs: 10 }); // acks the unseen request 101:209
  w.seg({ from: 'c', flags: 'A', seq: 209, ack: 1447, atMs: 12 }); // acks the unseen response 501:1447
  w.seg({ from: 's', flags: 'FA', seq: 1447, ack: 209, atMs: 3_011 });
  w.seg({ from: 'c', flags: 'A', seq: 209, ack: 1448, atMs: 3_050 });
  const f = w.only();
  assert.equal(f.origState, 'CLOSE_WAIT');
  assert.equal(f.closeKind, 'close_wait');
  assert.equal(f.anomalies?.fin_status_unknown, undefined);
  assert.equal(f.missedBytes, 108 + 946);
});

test('request and response missing, the server FIN (sequence jump) acks the request: no FIN assumed for the client', () => {
  const w = new Wire();
  w.handshake(100, 500, 0);
  // Unseen: client 101:967, server 501:656. The server's FIN shows both.
  w.seg({ from: 's', flags: 'FA', seq: 656, ack: 967, atMs: 65_000 });
  w.seg({ from: 'c', flags: 'A', seq: 967, ack: 657, atMs: 65_001 });
  w.seg({ from: 'c', flags: 'FA', seq: 967, ack: 657, atMs: 65_010 });
  w.seg({ from: 's', flags: 'A', seq: 657, ack: 968, atMs: 65_011 });
  const f = w.only();
  assert.equal(f.closeKind, 'normal');
  assert.equal(f.firstFinBy, 'resp');
  assert.equal(f.origState, 'CLOSED');
  assert.equal(f.respState, 'TIME_WAIT');
  assert.equal(f.anomalies?.fin_status_unknown, undefined);
  assert.equal(f.anomalies?.fin_inference_retracted, undefined);
  assert.equal(f.orig.bytes, 866);
});

test('an implied FIN retracted by a later bare FIN one further: the unit it occupied is a missed byte', () => {
  const w = new Wire();
  w.handshake(100, 500, 0);
  w.seg({ from: 'c', flags: 'A', seq: 101, ack: 502, atMs: 10 }); // server byte 501 unseen
  w.seg({ from: 's', flags: 'FA', seq: 502, ack: 101, atMs: 20 });
  w.seg({ from: 'c', flags: 'A', seq: 101, ack: 503, atMs: 21 });
  const f = w.only();
  assert.equal(f.anomalies?.fin_inference_retracted, 1);
  assert.equal(f.firstFinTsUs, w.t - 1000);
  assert.equal(f.resp.bytes, 1);
  assert.equal(f.missedBytes, 1);
  assert.equal(f.respState, 'FIN_WAIT_2');
  assert.equal(f.origState, 'CLOSE_WAIT');
});

test('retraction after the peer also closed: the peer FIN becomes the first FIN, the writer is in CLOSE_WAIT', () => {
  const w = new Wire();
  w.handshake(100, 500, 0);
  w.seg({ from: 'c', flags: 'A', seq: 101, ack: 502, atMs: 10 }); // server byte 501 unseen: FIN implied
  w.seg({ from: 'c', flags: 'FA', seq: 101, ack: 502, atMs: 2_010 });
  w.seg({ from: 's', flags: 'A', seq: 502, ack: 102, atMs: 2_011 });
  // Implied close complete so far (client CLOSED, server TIME_WAIT); then the server writes.
  w.seg({ from: 's', flags: 'PA', seq: 502, ack: 102, len: 10, atMs: 2_020 });
  w.seg({ from: 'c', flags: 'A', seq: 102, ack: 512, atMs: 2_021 });
  const f = w.only();
  assert.equal(f.anomalies?.fin_inference_retracted, 1);
  assert.equal(f.firstFinBy, 'orig');
  assert.equal(f.idleBeforeFinUs, 2_008_000); // client FIN at 2010 ms, handshake done at 2 ms, no payload before
  assert.equal(f.respState, 'CLOSE_WAIT');
  assert.equal(f.origState, 'FIN_WAIT_2');
  assert.equal(f.closeKind, 'close_wait');
  assert.equal(f.resp.bytes, 11);
  assert.equal(f.missedBytes, 1);
});
