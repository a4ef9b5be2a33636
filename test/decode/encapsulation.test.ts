import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCapture } from '../../src/source/read-capture';
import { Decoder } from '../../src/decode/decoder';
import type { RawPacket } from '../../src/source/raw-packet';
import { fixture } from '../helpers/paths';

/**
 * MPLS label stacks, 802.1ah PBB and VN-Tag, inserted into the real frames
 * of eth-ipv4.pcap / eth-ipv6-ns.pcap by fixtures/make/formats-handmade.py:
 * every packet must decode exactly as the same packet without them.
 */
async function decodeAll(name: string): Promise<{ d: Decoder; seen: string[]; vlans: string[] }> {
  const d = new Decoder();
  const seen: string[] = [];
  const vlans: string[] = [];
  await readCapture(fixture('formats', name), (raw) => {
    if (!d.decode(raw)) {
      seen.push(`- ${d.pkt.ipVersion} ${d.pkt.protocol}`);
      return;
    }
    const p = d.pkt;
    const addr = p.ipVersion === 4 ? `${p.src4}>${p.dst4}` : `${p.src6.join('.')}>${p.dst6.join('.')}`;
    seen.push(`${addr} ${p.srcPort}>${p.dstPort} ${p.seq} ${p.ack} ${p.flags} ${p.payloadLen} ${p.capturedPayloadLen} ${p.ipLen} ${p.window} ${p.mss} ${p.wscale}`);
    vlans.push(`${p.vlan}/${p.innerVlan}`);
  });
  return { d, seen, vlans };
}

const CASES: [string, string, string, 'mpls' | 'pbb' | 'vnTag'][] = [
  // file, the same frames without the encapsulation, VLAN ids (outer/inner), counter
  ['mpls-ipv4.pcap', 'eth-ipv4.pcap', '-1/-1', 'mpls'],
  ['mpls-vlan-ipv6.pcap', 'eth-ipv6-ns.pcap', '42/-1', 'mpls'],
  ['pbb-ipv4.pcap', 'eth-ipv4.pcap', '100/7', 'pbb'],
  ['vntag-ipv4.pcap', 'eth-ipv4.pcap', '-1/-1', 'vnTag'],
];

for (const [name, base, vlan, counter] of CASES) {
  test(`${name}: every packet decodes as in ${base}`, async () => {
    const a = await decodeAll(name);
    const b = await decodeAll(base);
    assert.deepEqual(a.seen, b.seen);
    assert.ok(a.d.tcpPackets >= 20, 'TCP segments decoded');
    assert.equal(a.d.malformed, 0);
    assert.ok(a.vlans.every((v) => v === vlan), `VLAN ids ${vlan}: ${[...new Set(a.vlans)].join(', ')}`);
    // Every IP frame carries the encapsulation (the ARP frames do not).
    assert.equal(a.d[counter], a.d.ipv4 + a.d.ipv6);
  });
}

test('an MPLS stack over something other than IP (an Ethernet pseudowire) is not IP; a cut stack is a truncated header', async () => {
  const d = new Decoder();
  const mpls = await decodeAll('mpls-ipv4.pcap');
  assert.ok(mpls.d.mpls > 0);
  // A frame: MACs, 0x8847, one label with bottom-of-stack, a pseudowire control word (0000) and an Ethernet frame.
  const frame = Buffer.concat([Buffer.alloc(12, 2), Buffer.from('8847000641ff', 'hex'), Buffer.from('00000000', 'hex'), Buffer.alloc(14, 3)]);
  const raw: RawPacket = { buf: frame, off: 0, caplen: frame.length, origlen: frame.length, linktype: 1, tsUs: 0, fileOffset: 0, interfaceId: 0 };
  assert.equal(d.decode(raw), false);
  assert.equal(d.nonIp, 1);
  const cut = Buffer.concat([Buffer.alloc(12, 2), Buffer.from('88470006', 'hex')]);
  assert.equal(d.decode({ ...raw, buf: cut, caplen: cut.length, origlen: cut.length }), false);
  assert.equal(d.anomalies.toObject().truncated_header, 1);
});
