import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readCapture } from '../../src/source/read-capture';
import { Decoder } from '../../src/decode/decoder';
import { TCP_ACK, TCP_SYN } from '../../src/decode/decoded-packet';
import { fixture } from '../helpers/paths';

// fixtures/make/formats.sh drives known traffic: every connection to port 8078
// carries exactly REQ bytes client->server and RESP bytes server->client
// (formats-traffic.py). Whatever the framing, the decoder must find exactly
// those payload bytes (from the IP lengths, even when the snaplen cut the
// packets) and one SYN per connection.

const SERVER_PORT = 8078;
// [client->server bytes, server->client bytes, connections]
const V4: [number, number, number] = [300 + 200, 5000 + 3000, 2];
const V6: [number, number, number] = [2 * 400, 2 * 6000, 2];
const EXPECT: Record<string, [number, number, number]> = {
  'eth-ipv4.pcap': V4,
  'eth-ipv4.pcapng': V4,
  'eth-ipv4.pcap.gz': V4,
  'be-us.pcap': V4,
  'vlan-8021q.pcap': V4,
  'vlan-qinq.pcap': V4,
  'raw-ipv4-228.pcap': V4,
  'eth-ipv6-ns.pcap': V6,
  'eth-ipv6-ns.pcapng': V6,
  'eth-ipv6-ns-gzipped.pcapng': V6,
  'be-ns.pcap': V6,
  'ipv6-ext-headers.pcap': V6,
  'raw-ipv6-229.pcap': V6,
  'null.pcap': [V4[0] + V6[0], V4[1] + V6[1], 4],
  'loop.pcap': [V4[0] + V6[0], V4[1] + V6[1], 4],
  'raw-101.pcap': [V4[0] + V6[0], V4[1] + V6[1], 4],
  'raw-12.pcap': [V4[0] + V6[0], V4[1] + V6[1], 4],
  'sll2-any.pcap': [100, 2000, 1],
  'sll-any.pcap': [150, 2500, 1],
  'snaplen-96.pcap': [1000, 20000, 1],
  'ipv4-fragments.pcap': [100, 1000, 1],
  // eth-ipv4.pcap with its data segments split into IPv4 fragments: reassembled
  'ipv4-tcp-fragments.pcap': V4,
  // the same connection seen on the veth and again on 'any'
  'dumpcap-two-interfaces.pcapng': [2 * 120, 2 * 1500, 2],
  // eth-ipv4 + sll-any + eth-ipv6-ns
  'sections.pcapng': [V4[0] + 150 + V6[0], V4[1] + 2500 + V6[1], 5],
  'unknown-linktype.pcap': [0, 0, 0],
  // eth-ipv4 / eth-ipv6-ns with MPLS, 802.1ah PBB, VN-Tag inserted (formats-handmade.py)
  'mpls-ipv4.pcap': V4,
  'mpls-vlan-ipv6.pcap': V6,
  'pbb-ipv4.pcap': V4,
  'vntag-ipv4.pcap': V4,
};

async function tally(name: string) {
  const d = new Decoder();
  let toServer = 0;
  let fromServer = 0;
  let syns = 0;
  await readCapture(fixture('formats', name), (raw) => {
    if (!d.decode(raw)) return;
    const p = d.pkt;
    if (p.dstPort === SERVER_PORT) {
      toServer += p.payloadLen;
      if ((p.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) syns++;
    } else if (p.srcPort === SERVER_PORT) fromServer += p.payloadLen;
  });
  return { d, result: [toServer, fromServer, syns] };
}

test('every format fixture has an expectation', () => {
  const names = readdirSync(fixture('formats')).filter((f) => /\.(pcap|pcapng|gz)$/.test(f));
  const missing = names.filter((n) => !(n in EXPECT));
  assert.deepEqual(missing, []);
});

for (const [name, want] of Object.entries(EXPECT)) {
  test(`${name}: payload bytes each way and connections match the traffic that was sent`, async () => {
    const { result } = await tally(name);
    assert.deepEqual(result, want);
  });
}

test('snaplen-96.pcap: packets are cut, lengths still come from the IP headers', async () => {
  const d = new Decoder();
  let cut = 0;
  await readCapture(fixture('formats', 'snaplen-96.pcap'), (raw) => {
    if (raw.caplen < raw.origlen) cut++;
    if (d.decode(raw) && d.pkt.payloadLen > 0) assert.ok(d.pkt.capturedPayloadLen < d.pkt.payloadLen);
  });
  assert.ok(cut >= 3);
});

test('VLAN fixtures: every frame is tagged and decoded through the tags', async () => {
  for (const [name, outer, inner] of [['vlan-8021q.pcap', 10, -1], ['vlan-qinq.pcap', 20, 30]] as [string, number, number][]) {
    const d = new Decoder();
    await readCapture(fixture('formats', name), (raw) => {
      d.decode(raw);
      assert.equal(d.pkt.vlan, outer, name);
      assert.equal(d.pkt.innerVlan, inner, name);
    });
    assert.equal(d.vlanTagged, d.packets, name);
    assert.ok(d.tcpPackets > 0);
  }
});

test('ipv4-tcp-fragments.pcap: the four data segments were split; each is reassembled and decoded once, whole', async () => {
  const { d } = await tally('ipv4-tcp-fragments.pcap');
  assert.equal(d.fragments, 8);
  assert.equal(d.laterFragments, 4);
  assert.equal(d.anomalies.get('ip_fragment'), 8);
  assert.equal(d.pendingFragmentedDatagrams(), 0);
  assert.deepEqual(d.anomalies.toObject(), { ip_fragment: 8 });
  const plain = (await tally('eth-ipv4.pcap')).d;
  assert.equal(d.tcpPackets, plain.tcpPackets);
});

test('ipv4-fragments.pcap: kernel-fragmented UDP datagrams are counted, later fragments skipped', async () => {
  const { d } = await tally('ipv4-fragments.pcap');
  assert.equal(d.fragments, 6);
  assert.equal(d.laterFragments, 4);
});
