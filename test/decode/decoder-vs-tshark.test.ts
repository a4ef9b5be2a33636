import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readCapture } from '../../src/source/read-capture';
import { Decoder } from '../../src/decode/decoder';
import { fixture } from '../helpers/paths';
import { tsharkAvailable, tsharkFrames } from './tshark-fields';

// Differential test: for every format fixture (real kernel traffic, see
// fixtures/formats/README.md), our reader + decoder must say exactly what
// tshark says about every frame.

interface Ours {
  tsUs: number;
  caplen: number;
  origlen: number;
  tcp: boolean;
  fragment: boolean;
  ipVersion: number;
  src: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  payloadLen: number;
  mss: number;
  wscale: number;
  tsval: number;
  vlan: number;
  innerVlan: number;
}

function v4text(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function v6words(w: Uint32Array): string {
  return Array.from(w, (x) => x.toString(16).padStart(8, '0')).join('');
}

/** tshark's IPv6 text -> 32 hex digits. */
function expandV6(s: string): string {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join('');
}

async function ours(file: string): Promise<Ours[]> {
  const d = new Decoder();
  const out: Ours[] = [];
  await readCapture(file, (raw) => {
    const ok = d.decode(raw);
    const p = d.pkt;
    out.push({
      tsUs: raw.tsUs,
      caplen: raw.caplen,
      origlen: raw.origlen,
      tcp: ok,
      fragment: p.fragment,
      ipVersion: p.ipVersion,
      src: p.ipVersion === 4 ? v4text(p.src4) : p.ipVersion === 6 ? v6words(p.src6) : '',
      srcPort: p.srcPort,
      dstPort: p.dstPort,
      seq: p.seq,
      ack: p.ack,
      flags: p.flags,
      payloadLen: p.payloadLen,
      mss: p.mss,
      wscale: p.wscale,
      tsval: p.hasTimestamps ? p.tsVal : -1,
      vlan: p.vlan,
      innerVlan: p.innerVlan,
    });
  });
  return out;
}

const files = readdirSync(fixture('formats'))
  .filter((f) => /\.(pcap|pcapng|gz)$/.test(f))
  .sort();
const skip = tsharkAvailable() ? false : 'tshark is not installed (Debian package tshark), so there is nothing independent to compare with';

test('there are format fixtures to compare', () => {
  assert.ok(files.length >= 20, `only ${files.length} fixtures in fixtures/formats`);
});

for (const name of files) {
  test(`${name}: every frame decodes as tshark dissects it`, { skip }, async () => {
    const file = fixture('formats', name);
    const mine = await ours(file);
    const theirs = tsharkFrames(file);
    assert.equal(mine.length, theirs.length, 'frame count');
    let tcpFrames = 0;
    for (let i = 0; i < mine.length; i++) {
      const a = mine[i];
      const b = theirs[i];
      const at = `${name} frame ${i + 1}`;
      assert.equal(a.origlen, b.frameLen, `${at}: original length`);
      assert.equal(a.caplen, b.capLen, `${at}: captured length`);
      if (b.tsUs !== null) assert.equal(a.tsUs, b.tsUs, `${at}: timestamp`);
      if (a.ipVersion === 4 && b.ipSrc) assert.equal(a.src, b.ipSrc, `${at}: IPv4 source`);
      if (a.ipVersion === 6 && b.ipv6Src) assert.equal(a.src, expandV6(b.ipv6Src), `${at}: IPv6 source`);
      if (b.qinq >= 0) assert.deepEqual([a.vlan, a.innerVlan], [b.qinq, b.vlan], `${at}: 802.1ad + 802.1Q ids`);
      else assert.deepEqual([a.vlan, a.innerVlan], [b.vlan, -1], `${at}: VLAN id`);
      assert.equal(a.tcp, b.tcp, `${at}: usable TCP header`);
      if (!a.tcp) continue;
      tcpFrames++;
      assert.deepEqual(
        [a.srcPort, a.dstPort, a.seq, a.ack, a.flags, a.payloadLen, a.mss, a.wscale, a.tsval],
        [b.srcPort, b.dstPort, b.seq, b.ack, b.flags, b.tcpLen, b.mss, b.wscale, b.tsval],
        `${at}: ports, seq, ack, flags, payload length, MSS, wscale, TSval`,
      );
    }
    if (name !== 'unknown-linktype.pcap') assert.ok(tcpFrames > 0, 'the fixture holds TCP frames');
  });
}
