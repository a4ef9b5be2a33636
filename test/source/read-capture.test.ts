import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readCapture } from '../../src/source/read-capture';
import { fixture } from '../helpers/paths';
import { pcapRecordOffsets } from './pcap-walk';

interface Rec {
  tsUs: number;
  caplen: number;
  origlen: number;
  linktype: number;
  interfaceId: number;
  fileOffset: number;
  hex: string;
}

async function records(file: string) {
  const recs: Rec[] = [];
  const result = await readCapture(file, (r) => {
    recs.push({
      tsUs: r.tsUs,
      caplen: r.caplen,
      origlen: r.origlen,
      linktype: r.linktype,
      interfaceId: r.interfaceId,
      fileOffset: r.fileOffset,
      hex: r.buf.toString('hex', r.off, r.off + r.caplen),
    });
  });
  return { recs, result };
}

const strip = (r: Rec[]) => r.map(({ tsUs, caplen, origlen, hex }) => ({ tsUs, caplen, origlen, hex }));
const f = (name: string) => fixture('formats', name);
/** Records in eth-ipv4.pcap, counted by a naive walk of the file. */
const ETH_N = pcapRecordOffsets(readFileSync(f('eth-ipv4.pcap'))).length;

test('what each file says about itself', async () => {
  const expect: [string, Partial<Record<string, unknown>>][] = [
    ['eth-ipv4.pcap', { format: 'pcap', gzip: false, byteOrder: 'le', tsPrecision: 'us', linktypes: [1], snaplen: 262144, sections: 1, interfaces: 1 }],
    ['be-us.pcap', { format: 'pcap', byteOrder: 'be', tsPrecision: 'us', linktypes: [1] }],
    ['eth-ipv6-ns.pcap', { format: 'pcap', byteOrder: 'le', tsPrecision: 'ns' }],
    ['be-ns.pcap', { format: 'pcap', byteOrder: 'be', tsPrecision: 'ns' }],
    ['eth-ipv4.pcap.gz', { format: 'pcap', gzip: true }],
    ['eth-ipv4.pcapng', { format: 'pcapng', gzip: false, byteOrder: 'le', tsPrecision: 'us', sections: 1, interfaces: 1 }],
    ['eth-ipv6-ns.pcapng', { format: 'pcapng', tsPrecision: 'ns' }],
    ['eth-ipv6-ns-gzipped.pcapng', { format: 'pcapng', gzip: true, tsPrecision: 'ns' }],
    ['dumpcap-two-interfaces.pcapng', { format: 'pcapng', linktypes: [1, 113], interfaces: 2, sections: 1 }],
    ['sections.pcapng', { format: 'pcapng', byteOrder: 'le', linktypes: [1, 113, 229], sections: 3, interfaces: 4, snaplen: 262144 }],
    ['sll2-any.pcap', { linktypes: [276] }],
    ['sll-any.pcap', { linktypes: [113] }],
    ['null.pcap', { linktypes: [0] }],
    ['loop.pcap', { linktypes: [108] }],
    ['raw-101.pcap', { linktypes: [101] }],
    ['raw-12.pcap', { linktypes: [12] }],
    ['raw-ipv4-228.pcap', { linktypes: [228] }],
    ['raw-ipv6-229.pcap', { linktypes: [229] }],
    ['snaplen-96.pcap', { snaplen: 96 }],
  ];
  for (const [name, want] of expect) {
    const { result } = await records(f(name));
    for (const [k, v] of Object.entries(want)) {
      assert.deepEqual((result.info as unknown as Record<string, unknown>)[k], v, `${name}: ${k}`);
    }
    assert.equal(result.info.file, f(name));
    assert.equal(result.damage, null, name);
  }
});

test('pcap, big-endian pcap, pcapng and gzip of the same capture deliver the same records', async () => {
  const base = strip((await records(f('eth-ipv4.pcap'))).recs);
  assert.equal(base.length, ETH_N);
  assert.ok(ETH_N > 20);
  for (const other of ['be-us.pcap', 'eth-ipv4.pcapng', 'eth-ipv4.pcap.gz']) {
    assert.deepEqual(strip((await records(f(other))).recs), base, other);
  }
  const ns = strip((await records(f('eth-ipv6-ns.pcap'))).recs);
  assert.ok(ns.length > 0);
  for (const other of ['be-ns.pcap', 'eth-ipv6-ns.pcapng', 'eth-ipv6-ns-gzipped.pcapng']) {
    assert.deepEqual(strip((await records(f(other))).recs), ns, other);
  }
});

test('nanosecond timestamps are truncated to whole microseconds', async () => {
  const buf = readFileSync(f('eth-ipv6-ns.pcap'));
  const { recs } = await records(f('eth-ipv6-ns.pcap'));
  const sec = buf.readUInt32LE(24);
  const nsec = buf.readUInt32LE(28);
  assert.equal(recs[0].tsUs, sec * 1e6 + Math.floor(nsec / 1000));
});

test('pcapng sections: byte orders, per-interface link type, 2^-20 and 10^-7 resolution, if_tsoffset, SPB/OPB, skipped blocks', async () => {
  const { recs, result } = await records(f('sections.pcapng'));
  const eth = (await records(f('eth-ipv4.pcap'))).recs;
  const sll = (await records(f('sll-any.pcap'))).recs;
  // raw-ipv6-229.pcap holds the IPv6 packets of eth-ipv4.pcap, then all of eth-ipv6-ns.pcap (ip6 only).
  const nsCount = (await records(f('eth-ipv6-ns.pcap'))).recs.length;
  const v6all = (await records(f('raw-ipv6-229.pcap'))).recs;
  const v6 = v6all.slice(v6all.length - nsCount);
  const half = Math.floor(eth.length / 2);
  assert.equal(recs.length, eth.length + sll.length + nsCount);
  assert.equal(result.packets, recs.length);
  // Section 1 (LE, µs): the first half of eth-ipv4.pcap on interface 0.
  assert.deepEqual(strip(recs.slice(0, half)), strip(eth.slice(0, half)));
  assert.ok(recs.slice(0, half).every((r) => r.interfaceId === 0 && r.linktype === 1));
  // Section 2 (BE): SLL packets on its interface 0 (global 1), 2^-20 s units + 3600 s offset: within 1 µs.
  const s2 = recs.slice(half, half + sll.length);
  for (let i = 0; i < sll.length; i++) {
    assert.equal(s2[i].linktype, 113);
    assert.equal(s2[i].interfaceId, 1);
    assert.equal(s2[i].hex, sll[i].hex);
    if (i < sll.length - 1) assert.ok(Math.abs(s2[i].tsUs - sll[i].tsUs) <= 1, `OPB ${i}: ${s2[i].tsUs} vs ${sll[i].tsUs}`);
  }
  // The last one is a simple packet block: no timestamp of its own, it inherits the previous one.
  assert.equal(s2[sll.length - 1].tsUs, s2[sll.length - 2].tsUs);
  // ...the rest of eth-ipv4 as EPBs on interface 1 of section 2 (global 2), 10^-7 s units: exact.
  const s2b = recs.slice(half + sll.length, eth.length + sll.length);
  assert.deepEqual(strip(s2b), strip(eth.slice(half)));
  assert.ok(s2b.every((r) => r.interfaceId === 2));
  // Section 3 (LE, ns): the raw IPv6 packets.
  const s3 = recs.slice(eth.length + sll.length);
  assert.deepEqual(strip(s3), strip(v6));
  assert.ok(s3.every((r) => r.interfaceId === 3 && r.linktype === 229));
});

test('sha256 is the digest of the bytes as stored (compressed bytes for gzip)', async () => {
  for (const name of ['eth-ipv4.pcap', 'eth-ipv4.pcap.gz', 'sections.pcapng']) {
    const { result } = await records(f(name));
    assert.equal(result.sha256, createHash('sha256').update(readFileSync(f(name))).digest('hex'), name);
  }
  const { result } = await records(f('eth-ipv4.pcap'));
  assert.equal(result.bytes, readFileSync(f('eth-ipv4.pcap')).length);
  let n = 0;
  const unhashed = await readCapture(f('eth-ipv4.pcap'), () => void n++, { hash: false });
  assert.equal(unhashed.sha256, '');
  assert.equal(n, ETH_N);
});

test('a large file is hashed in a worker thread: whole-file digest, also when damage stops the read', async () => {
  const src = readFileSync(f('eth-ipv4.pcap'));
  const body = src.subarray(24);
  const copies = Math.ceil((17 << 20) / body.length);
  const buf = Buffer.concat([src.subarray(0, 24), ...new Array(copies).fill(body)]);
  const p = path.join(work, 'large.pcap');
  writeFileSync(p, buf);
  const { result } = await records(p);
  assert.equal(result.packets, ETH_N * copies);
  assert.equal(result.sha256, createHash('sha256').update(buf).digest('hex'));
  // fatal damage early: reading stops, the digest still covers the whole file
  const broken = Buffer.from(buf);
  broken.writeUInt32LE(0x7fffffff, 24 + 8);
  const pb = path.join(work, 'large-broken.pcap');
  writeFileSync(pb, broken);
  const r = await readCapture(pb, () => undefined);
  assert.equal(r.packets, 0);
  assert.equal(r.damage?.fatal, true);
  assert.equal(r.sha256, createHash('sha256').update(broken).digest('hex'));
});

test('first/last timestamps are the earliest and latest packet', async () => {
  const { recs, result } = await records(f('eth-ipv4.pcap'));
  assert.equal(result.firstTsUs, Math.min(...recs.map((r) => r.tsUs)));
  assert.equal(result.lastTsUs, Math.max(...recs.map((r) => r.tsUs)));
});

// ---- streaming across chunk boundaries ----

/** Offsets of the pcapng blocks of a little-endian file. */
function blocks(buf: Buffer): [number, number][] {
  const out: [number, number][] = [];
  for (let o = 0; o < buf.length; ) {
    const len = buf.readUInt32LE(o + 4);
    out.push([o, len]);
    o += len;
  }
  return out;
}

const work = mkdtempSync(path.join(tmpdir(), 'wsa-read-'));
const REPEAT = 400;

function bigPcap(): string {
  const src = readFileSync(f('eth-ipv4.pcap'));
  const body = src.subarray(24);
  const out = Buffer.concat([src.subarray(0, 24), ...new Array(REPEAT).fill(body)]);
  const p = path.join(work, 'big.pcap');
  writeFileSync(p, out);
  return p;
}

test('records straddling 1 MiB read chunks and gunzip chunks are delivered whole', async () => {
  const big = bigPcap();
  assert.ok(readFileSync(big).length > 3 * (1 << 20));
  const one = strip((await records(f('eth-ipv4.pcap'))).recs);
  const expected = ([] as ReturnType<typeof strip>).concat(...new Array(REPEAT).fill(one));
  const { recs, result } = await records(big);
  assert.equal(recs.length, ETH_N * REPEAT);
  assert.deepEqual(strip(recs), expected);
  assert.equal(result.damage, null);
  // file offsets are the records' real positions
  const raw = readFileSync(big);
  for (const r of recs.slice(0, 2000)) assert.equal(raw.readUInt32LE(r.fileOffset + 8), r.caplen);

  const gz = path.join(work, 'big.pcap.gz');
  writeFileSync(gz, gzipSync(raw));
  const z = await records(gz);
  assert.deepEqual(strip(z.recs), expected);
  assert.equal(z.result.info.gzip, true);
  assert.equal(z.result.bytes, raw.length);

  // pcapng: the same EPBs repeated
  const ng = readFileSync(f('eth-ipv4.pcapng'));
  const bl = blocks(ng);
  const headEnd = bl[2][0]; // SHB + IDB
  const ngBig = Buffer.concat([ng.subarray(0, headEnd), ...new Array(REPEAT).fill(ng.subarray(headEnd))]);
  const ngPath = path.join(work, 'big.pcapng');
  writeFileSync(ngPath, ngBig);
  assert.deepEqual(strip((await records(ngPath)).recs), expected);
});

test('records larger than the stitch window (150 KB) straddling chunks, from a file and through gzip', async () => {
  // A real frame padded to 150000 bytes per record (no tool here writes such jumbo records).
  const src = readFileSync(f('eth-ipv4.pcap'));
  const frame = src.subarray(24 + 16, 24 + 16 + src.readUInt32LE(24 + 8));
  const recs: Buffer[] = [];
  const hdr = Buffer.from(src.subarray(0, 24));
  for (let i = 0; i < 30; i++) {
    const data = Buffer.alloc(150000, i);
    frame.copy(data);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1700000000 + i, 0);
    rh.writeUInt32LE(i, 4);
    rh.writeUInt32LE(data.length, 8);
    rh.writeUInt32LE(data.length, 12);
    recs.push(rh, data);
  }
  const buf = Buffer.concat([hdr, ...recs]);
  const p = path.join(work, 'jumbo.pcap');
  writeFileSync(p, buf);
  const gz = path.join(work, 'jumbo.pcap.gz');
  writeFileSync(gz, gzipSync(buf));
  for (const file of [p, gz]) {
    const { recs: got, result } = await records(file);
    assert.equal(got.length, 30, file);
    assert.equal(result.damage, null);
    got.forEach((r, i) => {
      assert.equal(r.caplen, 150000);
      assert.equal(r.tsUs, (1700000000 + i) * 1e6 + i);
      assert.equal(r.hex, recs[2 * i + 1].toString('hex'), `record ${i} bytes`);
    });
  }
});

test('progress is reported with the file size, and an abort signal stops the read', async () => {
  const big = bigPcap();
  const size = readFileSync(big).length;
  const seen: number[] = [];
  await readCapture(big, () => undefined, {
    onProgress: (n, total) => {
      assert.equal(total, size);
      seen.push(n);
    },
  });
  assert.equal(seen[seen.length - 1], size);
  assert.ok(seen.length >= 3);
  const ac = new AbortController();
  let n = 0;
  await assert.rejects(
    readCapture(big, () => {
      if (++n === 100) ac.abort();
    }, { signal: ac.signal }),
    /aborted/,
  );
});

test("'-' reads standard input, plain or gzipped", () => {
  const mod = path.resolve(__dirname, '../../src/source/read-capture.js');
  const script = `
    const { readCapture } = require(${JSON.stringify(mod)});
    const h = require('node:crypto').createHash('sha256');
    let n = 0;
    readCapture('-', (r) => { n++; h.update(r.buf.subarray(r.off, r.off + r.caplen)); })
      .then((res) => console.log(JSON.stringify({ n, digest: h.digest('hex'), info: res.info, sha256: res.sha256 })));`;
  const big = readFileSync(bigPcap());
  for (const input of [big, gzipSync(big)]) {
    const r = spawnSync(process.execPath, ['-e', script], { input, encoding: 'utf8', maxBuffer: 1 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.n, ETH_N * REPEAT);
    assert.equal(out.info.file, '-');
    assert.equal(out.sha256, createHash('sha256').update(input).digest('hex'));
    const h = createHash('sha256');
    const src = big;
    for (let o = 24; o < src.length; ) {
      const cap = src.readUInt32LE(o + 8);
      h.update(src.subarray(o + 16, o + 16 + cap));
      o += 16 + cap;
    }
    assert.equal(out.digest, h.digest('hex'), 'packet bytes through stdin');
  }
});

test('reading with an abort signal holds no chunk once it is parsed (memory stays flat on a large file)', () => {
  // 48 MB of records: one fixture's records over and over behind one header.
  const one = readFileSync(fixture('nginx-keepalive-closewait.pcap'));
  const header = one.subarray(0, 24);
  const records = one.subarray(24);
  const copies = Math.ceil((48 << 20) / records.length);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'ws-abortmem-')), 'big.pcap');
  writeFileSync(file, Buffer.concat([header, ...Array<Buffer>(copies).fill(records)]));
  const readCaptureJs = path.resolve(__dirname, '..', '..', 'src', 'source', 'read-capture.js');
  // In a child with --expose-gc: after a full collection, what array buffers are still alive mid-read.
  const script = `
    const { readCapture } = require(${JSON.stringify(readCaptureJs)});
    const ctl = new AbortController();
    let n = 0, most = 0;
    readCapture(${JSON.stringify(file)}, () => {
      if (++n % 50000 === 0) { gc(); most = Math.max(most, process.memoryUsage().arrayBuffers); }
    }, { signal: ctl.signal }).then((r) => console.log(JSON.stringify({ packets: r.packets, most })));
  `;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { packets: number; most: number };
  assert.ok(out.packets > 100_000, `${out.packets} packets read`);
  assert.ok(out.most < 16 << 20, `${(out.most / 1048576).toFixed(1)} MB of array buffers alive mid-read (48 MB file)`);
});
