import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateTraffic } from '../../bench/generate-traffic';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wirestate-gen-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const sha = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const FIN = 1;
const SYN = 2;
const RST = 4;
const ACK = 0x10;

interface Side {
  isn: number;
  /** Highest sequence number sent + its length (next sequence number). */
  next: number;
}

interface Conn {
  orig: Side;
  resp?: Side;
}

/** Wrap-aware: is a before-or-equal b in 32-bit sequence space? */
const seqLe = (a: number, b: number): boolean => ((b - a) | 0) >= 0;

/**
 * Independent reader of the generated file: checks the pcap framing, the
 * IP/TCP lengths against origlen, and that every connection's sequence and
 * acknowledgment numbers are coherent (no gap in either direction, no ACK of
 * data the peer never sent). Returns the number of connections seen (SYNs
 * with a fresh initial sequence number).
 */
function verifyCapture(file: string, wantSnaplen = 128): { packets: number; connections: number; v6: number; payloadBytes: number } {
  const b = fs.readFileSync(file);
  assert.equal(b.readUInt32LE(0), 0xa1b2c3d4, 'classic pcap, little endian, microseconds');
  const snaplen = b.readUInt32LE(16);
  assert.equal(snaplen, wantSnaplen);
  assert.equal(b.readUInt32LE(20), 1, 'Ethernet');
  const conns = new Map<string, Conn>();
  let off = 24;
  let packets = 0;
  let connections = 0;
  let v6 = 0;
  let payloadBytes = 0;
  let lastTs = 0;
  while (off < b.length) {
    assert.ok(off + 16 <= b.length, `record header at ${off} complete`);
    const ts = b.readUInt32LE(off) * 1e6 + b.readUInt32LE(off + 4);
    assert.ok(ts >= lastTs, `timestamps in order at ${off}`);
    lastTs = ts;
    const caplen = b.readUInt32LE(off + 8);
    const origlen = b.readUInt32LE(off + 12);
    assert.equal(caplen, Math.min(origlen, snaplen), `caplen at ${off}`);
    const p = off + 16;
    off = p + caplen;
    assert.ok(off <= b.length, 'record data complete');
    packets++;
    const etherType = b.readUInt16BE(p + 12);
    let ipHdr: number;
    let src: string;
    let dst: string;
    if (etherType === 0x0800) {
      assert.equal(b[p + 14], 0x45);
      assert.equal(b.readUInt16BE(p + 16), origlen - 14, 'IPv4 total length');
      assert.equal(b[p + 23], 6);
      ipHdr = 20;
      src = b.readUInt32BE(p + 26).toString(16);
      dst = b.readUInt32BE(p + 30).toString(16);
    } else {
      assert.equal(etherType, 0x86dd);
      assert.equal(b.readUInt16BE(p + 18), origlen - 14 - 40, 'IPv6 payload length');
      assert.equal(b[p + 20], 6);
      ipHdr = 40;
      src = b.toString('hex', p + 22, p + 38);
      dst = b.toString('hex', p + 38, p + 54);
      v6++;
    }
    const t = p + 14 + ipHdr;
    const sport = b.readUInt16BE(t);
    const dport = b.readUInt16BE(t + 2);
    const seq = b.readUInt32BE(t + 4);
    const ack = b.readUInt32BE(t + 8);
    const thl = (b[t + 12] >> 4) * 4;
    const flags = b[t + 13];
    assert.ok(thl >= 20 && 14 + ipHdr + thl <= caplen, 'TCP header captured whole');
    const len = origlen - 14 - ipHdr - thl;
    assert.ok(len >= 0);
    payloadBytes += len;
    const key = `${src}:${sport}>${dst}:${dport}`;
    const rkey = `${dst}:${dport}>${src}:${sport}`;
    if (flags & SYN && !(flags & ACK)) {
      const c = conns.get(key);
      if (!c || c.orig.isn !== seq) {
        conns.set(key, { orig: { isn: seq, next: (seq + 1) >>> 0 } });
        connections++;
      }
      continue;
    }
    const asOrig = conns.get(key);
    const asResp = conns.get(rkey);
    const c = asOrig ?? asResp;
    assert.ok(c, `packet ${packets} belongs to a connection that started with a SYN`);
    const me = asOrig ? c.orig : c.resp;
    if (flags & SYN) {
      assert.equal(ack, c.orig.next, 'SYN-ACK acknowledges the SYN');
      if (!c.resp) c.resp = { isn: seq, next: (seq + 1) >>> 0 };
      else assert.equal(seq, c.resp.isn, 'retransmitted SYN-ACK keeps its ISN');
      continue;
    }
    if (flags & RST && !me) continue; // refused: RST to a SYN
    assert.ok(me, `packet ${packets}: the responder sent a SYN-ACK before anything else`);
    const peer = asOrig ? c.resp : c.orig;
    assert.ok(seqLe(seq, me.next), `packet ${packets}: no gap in the sequence space (seq ${seq}, next ${me.next})`);
    const end = (seq + len + (flags & FIN ? 1 : 0)) >>> 0;
    if (seqLe(me.next, end)) me.next = end;
    if (flags & ACK && peer) assert.ok(seqLe(ack, peer.next), `packet ${packets}: ACK only of data the peer sent`);
  }
  return { packets, connections, v6, payloadBytes };
}

test('the same seed gives the same bytes; another seed gives another file', () => {
  const a = path.join(tmp, 'a.pcap');
  const b = path.join(tmp, 'b.pcap');
  const c = path.join(tmp, 'c.pcap');
  const sa = generateTraffic({ out: a, connections: 1500, seed: 7 });
  const sb = generateTraffic({ out: b, connections: 1500, seed: 7 });
  generateTraffic({ out: c, connections: 1500, seed: 8 });
  assert.equal(sha(a), sha(b));
  assert.deepEqual({ ...sa, file: '' }, { ...sb, file: '' });
  assert.notEqual(sha(a), sha(c));
  assert.equal(fs.statSync(a).size, sa.fileBytes);
});

test('the generated capture is well-formed and its TCP conversations are coherent', () => {
  const file = path.join(tmp, 'valid.pcap');
  const s = generateTraffic({ out: file, connections: 3000, seed: 3, ipv6Share: 0.05 });
  const v = verifyCapture(file);
  assert.equal(v.packets, s.packets);
  assert.equal(v.connections, s.connections, 'one SYN-started conversation per generated connection');
  assert.ok(v.v6 > 0 && s.ipv6Connections > 0, 'some IPv6 traffic');
  for (const [ending, n] of Object.entries(s.endings)) assert.ok(n > 0, `at least one ${ending} connection`);
  assert.ok(s.packets / s.connections > 10 && s.packets / s.connections < 30, 'realistic packets per connection');
});

test('the busy-proxy capture is well-formed, coherent, and carries full packets of realistic sizes', () => {
  const file = path.join(tmp, 'proxy.pcap');
  const s = generateTraffic({ out: file, profile: 'busy-proxy', connections: 3000, seed: 3 });
  const v = verifyCapture(file, 65535);
  assert.equal(v.packets, s.packets);
  assert.equal(v.connections, s.connections);
  assert.ok(s.rate >= 2000 && s.connections / s.durationS >= 2000 * 0.5, `${(s.connections / s.durationS).toFixed(0)} new connections a second`);
  // 1-3 requests of 300-800 B and responses of 1.2-8 KB: about 4-5 KB of payload per connection.
  const perConn = v.payloadBytes / s.connections;
  assert.ok(perConn > 3000 && perConn < 10_000, `${perConn.toFixed(0)} payload bytes per connection`);
  assert.ok(s.fileBytes > 0.95 * s.wireBytes, 'whole frames captured');
});

test('tshark agrees on the number of TCP conversations', (t) => {
  const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  if (tshark.error) {
    t.skip('tshark is not installed (Debian package tshark)');
    return;
  }
  const file = path.join(tmp, 'tshark.pcap');
  const s = generateTraffic({ out: file, connections: 800, seed: 5 });
  const r = spawnSync('tshark', ['-r', file, '-q', '-z', 'conv,tcp'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const convs = r.stdout.split('\n').filter((l) => l.includes('<->')).length;
  assert.equal(convs, s.connections);
});

test('a longer file keeps the same number of connections open at a time', () => {
  const one = generateTraffic({ out: path.join(tmp, 'r1.pcap'), connections: 4000, rate: 20, seed: 11 });
  const three = generateTraffic({ out: path.join(tmp, 'r3.pcap'), connections: 4000, rate: 20, seed: 11, repeat: 3 });
  assert.equal(three.connections, 3 * one.connections);
  // 8,000 more connections arriving at 20/s add about 400 s of traffic.
  assert.ok(three.durationS - one.durationS > 0.9 * (8000 / 20), `longer capture: ${one.durationS} s -> ${three.durationS} s`);
  assert.ok(three.packets > 2.7 * one.packets && three.packets < 3.3 * one.packets, 'about three times the packets');
  const growth = three.peakActive / one.peakActive;
  assert.ok(growth > 0.8 && growth < 1.25, `peak open connections ${one.peakActive} -> ${three.peakActive}`);
});
