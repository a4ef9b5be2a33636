import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readCapture } from '../../src/source/read-capture';

// if_tsresol / if_tsoffset arithmetic, checked against BigInt arithmetic on a
// hand-built pcapng (one interface per resolution, one packet each, all at the
// same instant). The packet is a real ARP frame; only the timestamps matter.

const ARP = Buffer.from('ffffffffffff2ed4ffb8b38f08060001080006040001', 'hex');
const T_NS = 1795755173123456789n; // the instant, in ns since the epoch

function block(type: number, body: Buffer, be: boolean): Buffer {
  const pad = Buffer.alloc((4 - (body.length % 4)) % 4);
  const len = body.length + pad.length + 12;
  const h = Buffer.alloc(8);
  const t = Buffer.alloc(4);
  if (be) {
    h.writeUInt32BE(type, 0);
    h.writeUInt32BE(len, 4);
    t.writeUInt32BE(len, 0);
  } else {
    h.writeUInt32LE(type, 0);
    h.writeUInt32LE(len, 4);
    t.writeUInt32LE(len, 0);
  }
  return Buffer.concat([h, body, pad, t]);
}

function file(be: boolean, ifaces: { resol?: number; offsetS?: bigint }[], units: bigint[]): Buffer {
  const w16 = (v: number) => {
    const b = Buffer.alloc(2);
    be ? b.writeUInt16BE(v) : b.writeUInt16LE(v);
    return b;
  };
  const w32 = (v: number) => {
    const b = Buffer.alloc(4);
    be ? b.writeUInt32BE(v) : b.writeUInt32LE(v);
    return b;
  };
  const w64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    be ? b.writeBigInt64BE(v) : b.writeBigInt64LE(v);
    return b;
  };
  const parts = [block(0x0a0d0d0a, Buffer.concat([w32(0x1a2b3c4d), w16(1), w16(0), w64(-1n)]), be)];
  for (const i of ifaces) {
    const opts: Buffer[] = [];
    if (i.resol !== undefined) opts.push(w16(9), w16(1), Buffer.from([i.resol, 0, 0, 0]));
    if (i.offsetS !== undefined) opts.push(w16(14), w16(8), w64(i.offsetS));
    if (opts.length) opts.push(w16(0), w16(0));
    parts.push(block(1, Buffer.concat([w16(1), w16(0), w32(0), ...opts]), be));
  }
  units.forEach((u, id) => {
    const body = Buffer.concat([w32(id), w32(Number(u >> 32n)), w32(Number(u & 0xffffffffn)), w32(ARP.length), w32(ARP.length), ARP]);
    parts.push(block(6, body, be));
  });
  return Buffer.concat(parts);
}

const cases: { name: string; resol?: number; offsetS?: bigint; units: bigint; expectUs: bigint }[] = [
  { name: 'default 10^-6', units: T_NS / 1000n, expectUs: T_NS / 1000n },
  { name: '10^-9', resol: 9, units: T_NS, expectUs: T_NS / 1000n },
  { name: '10^-7', resol: 7, units: T_NS / 100n, expectUs: T_NS / 1000n },
  { name: '10^-10', resol: 10, units: T_NS * 10n, expectUs: T_NS / 1000n },
  { name: '10^-3', resol: 3, units: T_NS / 1000000n, expectUs: (T_NS / 1000000n) * 1000n },
  { name: '10^-0', resol: 0, units: T_NS / 1000000000n, expectUs: (T_NS / 1000000000n) * 1000000n },
  { name: '2^-20', resol: 0x80 | 20, units: (T_NS << 20n) / 1000000000n, expectUs: (((T_NS << 20n) / 1000000000n) * 1000000n) >> 20n },
  { name: '2^-30', resol: 0x80 | 30, units: (T_NS << 30n) / 1000000000n, expectUs: (((T_NS << 30n) / 1000000000n) * 1000000n) >> 30n },
  { name: '2^-32', resol: 0x80 | 32, units: (T_NS << 32n) / 1000000000n, expectUs: (((T_NS << 32n) / 1000000000n) * 1000000n) >> 32n },
  { name: '10^-9 with if_tsoffset -3600 s', resol: 9, offsetS: -3600n, units: T_NS + 3600n * 1000000000n, expectUs: T_NS / 1000n },
  { name: '10^-6 with if_tsoffset +86400 s', offsetS: 86400n, units: T_NS / 1000n - 86400n * 1000000n, expectUs: T_NS / 1000n },
];

const work = mkdtempSync(path.join(tmpdir(), 'wsa-ts-'));

for (const be of [false, true]) {
  test(`pcapng timestamp resolutions and offsets (${be ? 'big' : 'little'}-endian section)`, async () => {
    const p = path.join(work, `ts-${be ? 'be' : 'le'}.pcapng`);
    writeFileSync(p, file(be, cases, cases.map((c) => c.units)));
    const got: number[] = [];
    const ids: number[] = [];
    const r = await readCapture(p, (raw) => {
      got.push(raw.tsUs);
      ids.push(raw.interfaceId);
    });
    assert.equal(r.damage, null);
    assert.equal(r.info.byteOrder, be ? 'be' : 'le');
    assert.equal(r.info.interfaces, cases.length);
    assert.equal(r.info.tsPrecision, 'us');
    assert.deepEqual(ids, cases.map((_, i) => i));
    cases.forEach((c, i) => assert.equal(got[i], Number(c.expectUs), c.name));
  });
}

test('tsPrecision names the first interface resolution', async () => {
  for (const [resol, name] of [[9, 'ns'], [7, '10^-7'], [0x94, '2^-20']] as [number, string][]) {
    const p = path.join(work, `prec-${resol}.pcapng`);
    writeFileSync(p, file(false, [{ resol }], [1n]));
    const r = await readCapture(p, () => undefined);
    assert.equal(r.info.tsPrecision, name);
  }
});
