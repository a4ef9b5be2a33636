import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { readCapture } from '../../src/source/read-capture';
import { fixture } from '../helpers/paths';

// Differential test: our zero-copy classic-pcap reader against the
// independent `pcap-parser` package on every classic-pcap fixture it can read
// (it knows only the microsecond magic, in both byte orders).

// eslint-disable-next-line @typescript-eslint/no-var-requires
const pcapp = require('pcap-parser') as {
  parse(file: string): NodeJS.EventEmitter;
};

interface Rec {
  sec: number;
  usec: number;
  caplen: number;
  origlen: number;
  hex: string;
}

function theirs(file: string): Promise<Rec[]> {
  return new Promise((resolve, reject) => {
    const out: Rec[] = [];
    const p = pcapp.parse(file);
    p.on('packet', (pk: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number }; data: Buffer }) => {
      const h = pk.header;
      out.push({ sec: h.timestampSeconds, usec: h.timestampMicroseconds, caplen: h.capturedLength, origlen: h.originalLength, hex: pk.data.toString('hex') });
    });
    p.on('error', reject);
    p.on('end', () => resolve(out));
  });
}

async function ours(file: string): Promise<Rec[]> {
  const out: Rec[] = [];
  await readCapture(file, (r) => {
    out.push({
      sec: Math.floor(r.tsUs / 1e6),
      usec: r.tsUs % 1e6,
      caplen: r.caplen,
      origlen: r.origlen,
      hex: r.buf.toString('hex', r.off, r.off + r.caplen),
    });
  });
  return out;
}

function isMicrosecondPcap(path: string): boolean {
  const head = readFileSync(path).subarray(0, 4).toString('hex');
  return head === 'd4c3b2a1' || head === 'a1b2c3d4';
}

const files = readdirSync(fixture('formats'))
  .filter((f) => f.endsWith('.pcap') && isMicrosecondPcap(fixture('formats', f)))
  .sort();

test('there are microsecond classic-pcap fixtures in both byte orders', () => {
  assert.ok(files.includes('eth-ipv4.pcap'));
  assert.ok(files.includes('be-us.pcap'));
  assert.ok(files.length >= 10, files.join(' '));
});

for (const name of files) {
  test(`${name}: same records as pcap-parser`, async () => {
    const file = fixture('formats', name);
    const [a, b] = await Promise.all([ours(file), theirs(file)]);
    assert.ok(b.length > 0);
    assert.equal(a.length, b.length, 'record count');
    for (let i = 0; i < a.length; i++) assert.deepEqual(a[i], b[i], `record ${i + 1}`);
  });
}
