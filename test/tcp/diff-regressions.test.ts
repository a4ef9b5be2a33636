import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Wire } from './wire';

/**
 * Engine bugs found by the differential tests (test/diff/) against tshark and
 * tcptrace, each reproduced here with inline packets.
 */

const C = 1000;
const S = 5000;

test('a 1-byte segment at SND.NXT - 1 that the peer has not acknowledged is a retransmission, not a keep-alive', () => {
  // Seen in a generated capture: a response split 1448 + 1 bytes, the 1-byte tail resent after an RTO
  // before the client ACKed it. tcptrace counts it as a retransmission; the byte was never acknowledged,
  // so it cannot be a keep-alive probe (which repeats an already acknowledged byte).
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101, len: 1448 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1449, ack: C + 101, len: 1 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1449, ack: C + 101, len: 1, atMs: 300 }); // RTO: tail resent
  w.seg({ from: 'c', flags: 'A', seq: C + 101, ack: S + 1450, atMs: 301 });
  const f = w.only();
  assert.equal(f.resp.retransmits, 1);
  assert.equal(f.resp.keepalives, 0);
  assert.equal(f.resp.bytes, 1449);
});

test('a 1-byte probe repeating an acknowledged byte is still a keep-alive', () => {
  const w = new Wire();
  w.handshake(C, S);
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101 });
  w.seg({ from: 'c', flags: 'A', seq: C + 100, ack: S + 1, len: 1, atMs: 60_000 });
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101, atMs: 60_001 });
  const f = w.only();
  assert.equal(f.orig.keepalives, 1);
  assert.equal(f.orig.retransmits, 0);
});

test('TCP Fast Open: a SYN-ACK that acknowledges the data carried in the SYN establishes the client', () => {
  // Seen in a real kernel capture (test/diff/captures/fast-open-lossy.pcap): the SYN carries a
  // 307-byte request and the server's SYN-ACK acknowledges ISN + 1 + 307. RFC 9293 3.10.7.3:
  // in SYN-SENT an ACK is acceptable when SND.UNA < SEG.ACK =< SND.NXT.
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C, len: 100, mss: 1460, wscale: 7 });
  w.seg({ from: 's', flags: 'SA', seq: S, ack: C + 101, mss: 1460, wscale: 7 });
  w.seg({ from: 'c', flags: 'A', seq: C + 101, ack: S + 1 });
  w.seg({ from: 's', flags: 'PA', seq: S + 1, ack: C + 101, len: 500 });
  w.seg({ from: 'c', flags: 'FA', seq: C + 101, ack: S + 501 });
  w.seg({ from: 's', flags: 'FA', seq: S + 501, ack: C + 102 });
  w.seg({ from: 'c', flags: 'A', seq: C + 102, ack: S + 502 });
  const f = w.only();
  assert.equal(f.anomalies?.bad_syn_ack, undefined, JSON.stringify(f.anomalies));
  const orig = f.transitions.filter((t) => t.endpoint === 'orig').map((t) => `${t.to} (${t.cause})`);
  assert.deepEqual(orig.slice(0, 2), ['SYN_SENT (sent SYN)', 'ESTABLISHED (recv SYN+ACK)']);
  assert.equal(f.orig.bytes, 100);
  assert.equal(f.orig.retransmits, 0);
  assert.equal(f.closeKind, 'normal');
  assert.equal(f.origState, 'TIME_WAIT');
});

test('TCP Fast Open: a SYN-ACK that acknowledges only the SYN (data not accepted) also establishes the client', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C, len: 100 });
  w.seg({ from: 's', flags: 'SA', seq: S, ack: C + 1 });
  w.seg({ from: 'c', flags: 'PA', seq: C + 1, ack: S + 1, len: 100 }); // the data sent again after the handshake
  w.seg({ from: 's', flags: 'A', seq: S + 1, ack: C + 101 });
  const f = w.only();
  assert.equal(f.anomalies?.bad_syn_ack, undefined);
  assert.equal(f.origState, 'ESTABLISHED');
  assert.equal(f.respState, 'ESTABLISHED');
});

test('a SYN carrying data refused with RST whose ACK covers the data is a refusal', () => {
  // RFC 9293 3.10.7.1 / reset generation: the RST answering a SYN acknowledges seq + segment length.
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C, len: 100 });
  w.seg({ from: 's', flags: 'RA', seq: 0, ack: C + 101 });
  const f = w.only();
  assert.equal(f.closeKind, 'refused');
  assert.equal(f.origState, 'CLOSED');
  assert.equal(f.anomalies?.rst_out_of_window, undefined);
});

test('a SYN-ACK acknowledging more than the SYN sent is still a bad SYN-ACK', () => {
  const w = new Wire();
  w.seg({ from: 'c', flags: 'S', seq: C });
  w.seg({ from: 's', flags: 'SA', seq: S, ack: C + 50 });
  const f = w.only();
  assert.equal(f.anomalies?.bad_syn_ack, 1);
  assert.equal(f.origState, 'SYN_SENT');
});
