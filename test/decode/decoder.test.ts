import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Decoder } from '../../src/decode/decoder';
import { TCP_ACK, TCP_PSH, TCP_SYN } from '../../src/decode/decoded-packet';
import { RawPacket } from '../../src/source/raw-packet';
import { readFileSync } from 'node:fs';
import { fixture } from '../helpers/paths';
import { pcapRecordOffsets } from '../source/pcap-walk';

// Real frames copied out of captures made by fixtures/make/formats.sh (eth-ipv4.pcap, eth-ipv6-ns.pcap)
// (kernel traffic between two namespaces, see fixtures/formats/README.md).

/** SYN 10.78.0.1:32782 -> 10.78.0.2:8078 with IPv4 options (NOP NOP NOP EOL; IHL 6). */
const SYN_V4_IPOPTS =
  'da46c70b2f9976b3a5258038080046000040f61f400040062cf90a4e00010a4e000201010100800e1f8e805f5e2e00000000a002faf014cd0000020405b40402080a04f860e5000000000103030a';
/** First 74 bytes of a 366-byte PSH/ACK data segment (300 bytes of payload), i.e. cut by a snaplen of 74. */
const DATA_V4_CUT =
  'da46c70b2f9976b3a52580380800450001606f7640004006b5830a4e00010a4e000280021f8e840ea49d19c03e6f8018003f15f100000101080afd505337d6f24cec5151515151515151';
/** IPv6 SYN fd78::1:50046 -> fd78::2:8078. */
const SYN_V6 =
  'da46c70b2f9976b3a525803886dd600c1b8600280640fd780000000000000000000000000001fd780000000000000000000000000002c37e1f8ecd46b34900000000a002fd20fb220000020405a00402080ad312cb96000000000103030a';

function raw(hex: string | Buffer, linktype = 1, origlen?: number): RawPacket {
  const buf = typeof hex === 'string' ? Buffer.from(hex, 'hex') : hex;
  return { buf, off: 0, caplen: buf.length, origlen: origlen ?? buf.length, tsUs: 0, linktype, interfaceId: 0, fileOffset: 1234 };
}

function bytes(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}

test('IPv4 SYN with IP options: addresses, ports, seq and every TCP option', () => {
  const d = new Decoder();
  assert.equal(d.decode(raw(SYN_V4_IPOPTS)), true);
  const p = d.pkt;
  assert.equal(p.ipVersion, 4);
  assert.equal(p.src4, 0x0a4e0001);
  assert.equal(p.dst4, 0x0a4e0002);
  assert.equal(p.ipLen, 64);
  assert.equal(p.srcPort, 32782);
  assert.equal(p.dstPort, 8078);
  assert.equal(p.seq, 0x805f5e2e);
  assert.equal(p.ack, 0);
  assert.equal(p.flags, TCP_SYN);
  assert.equal(p.window, 64240);
  assert.equal(p.tcpHeaderLen, 40);
  assert.equal(p.payloadLen, 0);
  assert.equal(p.mss, 1460);
  assert.equal(p.wscale, 10);
  assert.equal(p.sackPermitted, true);
  assert.equal(p.hasTimestamps, true);
  assert.equal(p.tsVal, 0x04f860e5);
  assert.equal(p.tsEcr, 0);
  // TCP header starts after the 24-byte IP header (14 + 24 = 38)
  assert.equal(p.payloadOff, 14 + 24 + 40);
  assert.deepEqual(d.anomalies.toObject(), {});
});

test('a segment cut short by the snaplen still reports the payload length the IP header gives', () => {
  const d = new Decoder();
  assert.equal(d.decode(raw(DATA_V4_CUT, 1, 366)), true);
  const p = d.pkt;
  assert.equal(p.flags, TCP_PSH | TCP_ACK);
  assert.equal(p.payloadLen, 300);
  assert.equal(p.capturedPayloadLen, 8);
  assert.equal(p.hasTimestamps, true);
});

test('IPv6 SYN', () => {
  const d = new Decoder();
  assert.equal(d.decode(raw(SYN_V6)), true);
  const p = d.pkt;
  assert.equal(p.ipVersion, 6);
  assert.deepEqual(Array.from(p.src6), [0xfd780000, 0, 0, 1]);
  assert.deepEqual(Array.from(p.dst6), [0xfd780000, 0, 0, 2]);
  assert.equal(p.ipLen, 80);
  assert.equal(p.srcPort, 50046);
  assert.equal(p.mss, 1440);
  assert.equal(d.ipv6, 1);
});

/** The IPv4 packet of the SYN (without its Ethernet header), with its IP options removed. */
function plainIpv4Syn(): Buffer {
  const f = bytes(SYN_V4_IPOPTS);
  const ip = Buffer.concat([f.subarray(14, 34), f.subarray(38)]);
  ip[0] = 0x45;
  ip.writeUInt16BE(ip.length, 2);
  return ip;
}

test('link layers: NULL (either byte order), LOOP, raw IP, IPv4/IPv6 link types, SLL, SLL2, 802.1Q and QinQ', () => {
  const ip = plainIpv4Syn();
  const eth = bytes(SYN_V4_IPOPTS).subarray(0, 14);
  const cases: [string, number, Buffer][] = [
    ['NULL little-endian AF_INET', 0, Buffer.concat([bytes('02000000'), ip])],
    ['NULL big-endian AF_INET', 0, Buffer.concat([bytes('00000002'), ip])],
    ['LOOP', 108, Buffer.concat([bytes('00000002'), ip])],
    ['RAW', 101, ip],
    ['RAW 12', 12, ip],
    ['RAW 14', 14, ip],
    ['IPV4', 228, ip],
    ['LINUX_SLL', 113, Buffer.concat([bytes('0004000100060123456789ab0000'), bytes('0800'), ip])],
    ['LINUX_SLL2', 276, Buffer.concat([bytes('0800000000000002000104060123456789ab0000'), ip])],
    ['802.1Q', 1, Buffer.concat([eth.subarray(0, 12), bytes('8100000a0800'), ip])],
    ['QinQ', 1, Buffer.concat([eth.subarray(0, 12), bytes('88a8001481000 01e0800'.replace(/ /g, '')), ip])],
  ];
  for (const [name, lt, buf] of cases) {
    const d = new Decoder();
    assert.equal(d.decode(raw(buf, lt)), true, name);
    assert.equal(d.pkt.vlan, name === '802.1Q' ? 10 : name === 'QinQ' ? 20 : -1, name);
    assert.equal(d.pkt.innerVlan, name === 'QinQ' ? 30 : -1, name);
    assert.equal(d.pkt.srcPort, 32782, name);
    assert.equal(d.pkt.src4, 0x0a4e0001, name);
    assert.equal(d.pkt.mss, 1460, name);
  }
  const v6ip = bytes(SYN_V6).subarray(14);
  for (const [name, lt, buf] of [
    ['NULL AF_INET6 (macOS 30)', 0, Buffer.concat([bytes('1e000000'), v6ip])],
    ['LOOP AF_INET6 (OpenBSD 24)', 108, Buffer.concat([bytes('00000018'), v6ip])],
    ['IPV6', 229, v6ip],
    ['RAW v6', 101, v6ip],
  ] as [string, number, Buffer][]) {
    const d = new Decoder();
    assert.equal(d.decode(raw(buf, lt)), true, name);
    assert.equal(d.pkt.ipVersion, 6, name);
    assert.equal(d.pkt.srcPort, 50046, name);
  }
});

test('non-IP frames and unknown link types are counted, not decoded', () => {
  const d = new Decoder();
  const arp = bytes('ffffffffffff2ed4ffb8b38f08060001080006040001');
  assert.equal(d.decode(raw(arp)), false);
  assert.equal(d.nonIp, 1);
  assert.equal(d.decode(raw(SYN_V4_IPOPTS, 147)), false);
  assert.equal(d.skippedLinktype, 1);
  assert.equal(d.anomalies.get('unknown_linktype'), 1);
  assert.equal(d.anomalies.firstOffset('unknown_linktype'), 1234);
  // IPv4 link type carrying IPv6 is a bad version
  assert.equal(d.decode(raw(bytes(SYN_V6).subarray(14), 228)), false);
  assert.equal(d.anomalies.get('bad_ip_version'), 1);
});

test('IPv4 header length < 20 is a named anomaly', () => {
  const f = bytes(SYN_V4_IPOPTS);
  f[14] = 0x44; // IHL 4 = 16 bytes
  const d = new Decoder();
  assert.equal(d.decode(raw(f)), false);
  assert.equal(d.pkt.anomaly !== 0, true);
  assert.deepEqual(d.anomalies.toObject(), { bad_ip_header_length: 1 });
  assert.equal(d.malformed, 1);
});

test('TCP data offset < 5, or past the end of the packet, is bad_tcp_offset', () => {
  const tcpOff = 14 + 24;
  const small = bytes(SYN_V4_IPOPTS);
  small[tcpOff + 12] = 0x40; // 16-byte TCP header
  const big = bytes(SYN_V4_IPOPTS);
  big[tcpOff + 12] = 0xf0; // 60 bytes, but the segment is 40
  const d = new Decoder();
  assert.equal(d.decode(raw(small)), false);
  assert.equal(d.decode(raw(big)), false);
  assert.deepEqual(d.anomalies.toObject(), { bad_tcp_offset: 2 });
});

test('headers cut short are truncated_header; options cut by the snaplen are used as far as captured', () => {
  const f = bytes(SYN_V4_IPOPTS);
  const d = new Decoder();
  assert.equal(d.decode(raw(f.subarray(0, 10), 1, 78)), false); // no full Ethernet header
  assert.equal(d.decode(raw(f.subarray(0, 30), 1, 78)), false); // IP header cut
  assert.equal(d.decode(raw(f.subarray(0, 50), 1, 78)), false); // TCP header cut
  assert.equal(d.anomalies.get('truncated_header'), 3);
  // 14 + 24 + 20 fixed TCP header + 4 option bytes (MSS) captured
  assert.equal(d.decode(raw(f.subarray(0, 62), 1, 78)), true);
  assert.equal(d.pkt.mss, 1460);
  assert.equal(d.pkt.wscale, -1);
  assert.equal(d.anomalies.get('truncated_tcp_options'), 1);
});

test('a malformed TCP option stops option parsing but keeps the segment', () => {
  const f = bytes(SYN_V4_IPOPTS);
  const opt = 14 + 24 + 20;
  f[opt + 4 + 1] = 0; // SACK-permitted option length 0
  const d = new Decoder();
  assert.equal(d.decode(raw(f)), true);
  assert.equal(d.pkt.mss, 1460);
  assert.equal(d.pkt.sackPermitted, false);
  assert.equal(d.anomalies.get('bad_tcp_option'), 1);
});

test('SACK blocks are counted', () => {
  const f = bytes(SYN_V4_IPOPTS);
  const opt = 14 + 24 + 20;
  // replace the 20 option bytes: NOP NOP SACK(2 blocks = 18 bytes)
  bytes('0101' + '0512' + '00000001000000020000000300000004').copy(f, opt);
  const d = new Decoder();
  assert.equal(d.decode(raw(f)), true);
  assert.equal(d.pkt.sackBlocks, 2);
  assert.deepEqual(Array.from(d.pkt.sackLeft.subarray(0, 2)), [1, 3]);
  assert.deepEqual(Array.from(d.pkt.sackRight.subarray(0, 2)), [2, 4]);
  assert.equal(d.pkt.mss, -1);
});

/** A real whole IPv4 TCP data segment (Ethernet frame) from eth-ipv4.pcap, with a payload of at least `min` bytes, and what it decodes to whole. */
function realSegment(min: number) {
  const d = new Decoder();
  const rec = records('eth-ipv4.pcap').find(
    (r) => r.frame.length === r.origlen && d.decode(raw(r.frame)) && d.pkt.ipVersion === 4 && d.pkt.payloadLen >= min && (r.frame[14] & 0x0f) === 5,
  );
  assert.ok(rec, `an IPv4 segment with >= ${min} payload bytes`);
  const p = d.pkt;
  return { frame: rec.frame, whole: { seq: p.seq, ack: p.ack, flags: p.flags, srcPort: p.srcPort, payloadLen: p.payloadLen, ipLen: p.ipLen, tsVal: p.tsVal } };
}

/**
 * Split the IPv4 datagram in an Ethernet `frame` (IHL 5) into fragments holding data bytes
 * [cuts[i], cuts[i+1]) (multiples of 8), as a router would: each fragment gets the IP header
 * with its own total length, offset and MF flag.
 */
function fragments(frame: Buffer, cuts: number[], id = 0x4242): Buffer[] {
  const data = frame.subarray(14 + 20, 14 + frame.readUInt16BE(14 + 2));
  const bounds = [...cuts, data.length];
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const part = data.subarray(bounds[i], bounds[i + 1]);
    const f = Buffer.concat([frame.subarray(0, 14 + 20), part]);
    f.writeUInt16BE(20 + part.length, 14 + 2);
    f.writeUInt16BE(id, 14 + 4);
    f.writeUInt16BE((bounds[i] / 8) | (i + 2 < bounds.length ? 0x2000 : 0), 14 + 6);
    out.push(f);
  }
  return out;
}

function rawAt(frame: Buffer, tsUs: number, caplen = frame.length): RawPacket {
  return { buf: frame, off: 0, caplen, origlen: frame.length, tsUs, linktype: 1, interfaceId: 0, fileOffset: 99 };
}

test('IPv4 fragments of a TCP segment are reassembled: the fragment completing the datagram decodes as the whole segment', () => {
  const { frame, whole } = realSegment(200);
  const [a, b, c] = fragments(frame, [0, 48, 48 + 64]);
  const d = new Decoder();
  assert.equal(d.decode(rawAt(a, 1)), false, 'first fragment held');
  assert.equal(d.pkt.fragment, true);
  assert.equal(d.pkt.laterFragment, false);
  assert.equal(d.decode(rawAt(b, 2)), false, 'middle fragment held');
  assert.equal(d.pkt.laterFragment, true);
  assert.equal(d.pendingFragmentedDatagrams(), 1);
  assert.equal(d.decode(rawAt(c, 3)), true, 'last fragment completes the datagram');
  const p = d.pkt;
  assert.equal(p.reassembled, true);
  assert.deepEqual(
    { seq: p.seq, ack: p.ack, flags: p.flags, srcPort: p.srcPort, payloadLen: p.payloadLen, ipLen: p.ipLen, tsVal: p.tsVal },
    whole,
  );
  assert.equal(p.capturedPayloadLen, 0);
  assert.equal(d.pendingFragmentedDatagrams(), 0);
  assert.equal(d.fragments, 3);
  assert.equal(d.laterFragments, 2);
  assert.equal(d.tcpPackets, 1);
  assert.equal(d.nonTcp, 2);
  assert.deepEqual(d.anomalies.toObject(), { ip_fragment: 3 });

  // Out of order, and the later fragments cut by a snaplen (lengths come from the IP headers).
  const e = new Decoder();
  assert.equal(e.decode(rawAt(c, 1, 34 + 4)), false);
  assert.equal(e.decode(rawAt(b, 2, 34 + 4)), false);
  assert.equal(e.decode(rawAt(a, 3)), true);
  assert.equal(e.pkt.payloadLen, whole.payloadLen);
  assert.equal(e.pkt.seq, whole.seq);
  assert.equal(e.pkt.tcpHeaderLen, frame.length - 34 - whole.payloadLen);

  // A whole segment in between is decoded as usual and does not disturb the datagram being collected.
  const f = new Decoder();
  assert.equal(f.decode(rawAt(a, 1)), false);
  assert.equal(f.decode(rawAt(frame, 2)), true);
  assert.equal(f.pkt.reassembled, false);
  assert.equal(f.decode(rawAt(b, 3)), false);
  assert.equal(f.decode(rawAt(c, 4)), true);
  assert.equal(f.pkt.payloadLen, whole.payloadLen);
});

test('IPv4 fragments: overlaps are counted, datagrams never completed time out, other protocols are counted and skipped', () => {
  const { frame, whole } = realSegment(200);
  const [a, b] = fragments(frame, [0, 48]);
  const [a2, b2] = fragments(frame, [0, 64]);
  // Overlapping fragments: 0..48 and 0..64 then the rest from 48 and from 64.
  const d = new Decoder();
  assert.equal(d.decode(rawAt(a, 1)), false);
  assert.equal(d.decode(rawAt(a2, 2)), false);
  assert.equal(d.anomalies.get('fragment_overlap'), 1);
  assert.equal(d.decode(rawAt(b2, 3)), true);
  assert.equal(d.pkt.payloadLen, whole.payloadLen);
  assert.equal(d.decode(rawAt(b, 4)), false, 'a late duplicate starts a datagram that never completes');
  assert.equal(d.finish(), 1);
  assert.equal(d.anomalies.get('fragment_reassembly_timeout'), 1);

  // A first fragment whose rest never comes is dropped 30 s (capture time) later.
  const t = new Decoder();
  const [x] = fragments(frame, [0, 48], 1);
  const [y, z] = fragments(frame, [0, 48], 2);
  assert.equal(t.decode(rawAt(x, 1_000_000)), false);
  assert.equal(t.decode(rawAt(y, 20_000_000)), false);
  assert.equal(t.anomalies.get('fragment_reassembly_timeout'), 0);
  assert.equal(t.decode(rawAt(z, 31_000_001)), true);
  assert.equal(t.anomalies.get('fragment_reassembly_timeout'), 1);
  assert.equal(t.pendingFragmentedDatagrams(), 0);

  // A datagram arriving as more than 64 separate pieces (every other 8 bytes) is dropped, not collected further.
  const big = Buffer.concat([frame.subarray(0, 34), Buffer.alloc(8 * 140)]);
  big.writeUInt16BE(20 + 8 * 140, 14 + 2);
  const pieces = fragments(big, Array.from({ length: 140 }, (_, i) => 8 * i), 4);
  const g = new Decoder();
  for (let i = 1; i < 140; i += 2) assert.equal(g.decode(rawAt(pieces[i], 1)), false);
  assert.equal(g.anomalies.get('fragment_reassembly_timeout'), 1);
  assert.ok(g.pendingFragmentedDatagrams() <= 1);

  // Fragments of another protocol (the segment relabelled UDP): counted, skipped, never collected.
  const u = new Decoder();
  for (const g of fragments(frame, [0, 48], 3)) {
    g[14 + 9] = 17;
    assert.equal(u.decode(rawAt(g, 1)), false);
  }
  assert.equal(u.fragments, 2);
  assert.equal(u.laterFragments, 1);
  assert.equal(u.nonTcp, 2);
  assert.equal(u.pendingFragmentedDatagrams(), 0);
});

test('IPv6 extension headers are walked to TCP; a later IPv6 fragment is skipped', () => {
  const f = bytes(SYN_V6);
  const ip = f.subarray(14, 54);
  const tcp = f.subarray(54);
  const hbh = bytes('3c00010400000000'); // -> dest opts
  const dst = bytes('2b00010400000000'); // -> routing
  const rt = bytes('2c02000000000000' + '00'.repeat(16)); // -> fragment
  const frag = bytes('3300000000005741'); // -> AH, atomic
  const ah = bytes('06040000' + '0000010000000001' + '00'.repeat(12)); // -> TCP
  const ext = Buffer.concat([hbh, dst, rt, frag, ah]);
  const hdr = Buffer.from(ip);
  hdr[6] = 0;
  hdr.writeUInt16BE(ext.length + tcp.length, 4);
  const d = new Decoder();
  assert.equal(d.decode(raw(Buffer.concat([f.subarray(0, 14), hdr, ext, tcp]))), true);
  assert.equal(d.pkt.protocol, 6);
  assert.equal(d.pkt.srcPort, 50046);
  assert.equal(d.pkt.payloadLen, 0);
  assert.equal(d.pkt.fragment, false, 'an atomic fragment is a whole packet');
  // a later fragment: offset 8 bytes
  const frag2 = bytes('0600000800005741');
  const hdr2 = Buffer.from(ip);
  hdr2[6] = 44;
  hdr2.writeUInt16BE(8 + tcp.length, 4);
  assert.equal(d.decode(raw(Buffer.concat([f.subarray(0, 14), hdr2, frag2, tcp]))), false);
  assert.equal(d.pkt.laterFragment, true);
  assert.equal(d.laterFragments, 1);
  // extension chain running past the captured bytes
  assert.equal(d.decode(raw(Buffer.concat([f.subarray(0, 14), hdr, hbh.subarray(0, 1)]), 1, 200)), false);
  assert.equal(d.anomalies.get('truncated_ipv6_extension'), 1);
});

test('the decoded struct is reused: no object per packet', () => {
  const d = new Decoder();
  const p = d.pkt;
  d.decode(raw(SYN_V4_IPOPTS));
  d.decode(raw(SYN_V6));
  assert.equal(d.pkt, p);
  assert.equal(p.ipVersion, 6);
  assert.equal(d.packets, 2);
  assert.equal(d.tcpPackets, 2);
});

/** Link-layer bytes of the records of a little-endian classic pcap fixture, with their original lengths. */
function records(name: string): { frame: Buffer; origlen: number }[] {
  const buf = readFileSync(fixture('formats', name));
  return pcapRecordOffsets(buf).map((o) => ({
    frame: Buffer.from(buf.subarray(o + 16, o + 16 + buf.readUInt32LE(o + 8))),
    origlen: buf.readUInt32LE(o + 12),
  }));
}

test('an IP length larger than the packet on the wire is counted as bad_ip_total_length and clamped to the wire length', () => {
  // A real, whole (caplen == origlen) IPv4 data segment from eth-ipv4.pcap, then its total length set to 1500.
  const d = new Decoder();
  const carriesData = (r: { frame: Buffer; origlen: number }, version: number) =>
    r.frame.length === r.origlen && r.frame.length < 1000 && d.decode(raw(r.frame)) && d.pkt.ipVersion === version && d.pkt.payloadLen > 0;
  const v4 = records('eth-ipv4.pcap').find((r) => carriesData(r, 4));
  assert.ok(v4, 'a small IPv4 TCP data segment');
  d.anomalies.reset();
  assert.equal(d.decode(raw(v4.frame)), true);
  const payload = d.pkt.payloadLen;
  const ipLen = d.pkt.ipLen;
  assert.ok(payload > 0);
  const big = Buffer.from(v4.frame);
  big.writeUInt16BE(1500, 14 + 2);
  assert.equal(d.decode(raw(big)), true);
  assert.equal(d.pkt.payloadLen, payload);
  assert.equal(d.pkt.ipLen, ipLen);
  assert.equal(d.pkt.capturedPayloadLen, payload);
  assert.deepEqual(d.anomalies.toObject(), { bad_ip_total_length: 1 });
  assert.equal(d.malformed, 0);

  // The same for an IPv6 payload length (eth-ipv6-ns.pcap).
  const v6 = records('eth-ipv6-ns.pcap').find((r) => carriesData(r, 6));
  assert.ok(v6, 'a small IPv6 TCP data segment');
  assert.equal(d.decode(raw(v6.frame)), true);
  const payload6 = d.pkt.payloadLen;
  const big6 = Buffer.from(v6.frame);
  big6.writeUInt16BE(1480, 14 + 4);
  assert.equal(d.decode(raw(big6)), true);
  assert.equal(d.pkt.payloadLen, payload6);
  assert.equal(d.pkt.ipLen, v6.frame.length - 14);
  assert.deepEqual(d.anomalies.toObject(), { bad_ip_total_length: 2 });

  // A total length smaller than the wire length (Ethernet padding) is fine, and a snaplen cut
  // (caplen < origlen) still reports the length the IP header gives.
  assert.equal(d.decode(raw(DATA_V4_CUT, 1, 366)), true);
  assert.equal(d.pkt.payloadLen, 300);
  const padded = Buffer.concat([v4.frame, Buffer.alloc(6)]);
  assert.equal(d.decode(raw(padded)), true);
  assert.equal(d.pkt.payloadLen, payload);
  assert.deepEqual(d.anomalies.toObject(), { bad_ip_total_length: 2 });
});
