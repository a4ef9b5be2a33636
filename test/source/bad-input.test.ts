import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import path from 'node:path';
import { readCapture } from '../../src/source/read-capture';
import { CaptureError } from '../../src/source/capture-error';
import { captureStats } from '../../src/decode/capture-stats';
import { fixture } from '../helpers/paths';
import { pcapRecordOffsets } from './pcap-walk';

// Every damaged file here is a real fixture, cut or corrupted byte-wise.

const work = mkdtempSync(path.join(tmpdir(), 'wsa-bad-'));
const real = (name: string) => readFileSync(fixture('formats', name));
function put(name: string, data: Buffer | string): string {
  const p = path.join(work, name);
  writeFileSync(p, data);
  return p;
}

const pcapRecords = pcapRecordOffsets;

/** Offsets of the blocks of a little-endian pcapng. */
function pcapngBlocks(buf: Buffer): number[] {
  const out: number[] = [];
  for (let o = 0; o + 8 <= buf.length; o += buf.readUInt32LE(o + 4)) out.push(o);
  return out;
}

async function count(file: string) {
  let n = 0;
  const result = await readCapture(file, () => {
    n++;
  });
  assert.equal(result.packets, n);
  return result;
}

async function rejectsWith(file: string, code: string, offset: number, text: RegExp) {
  await assert.rejects(count(file), (err: unknown) => {
    assert.ok(err instanceof CaptureError, String(err));
    assert.equal(err.code, code);
    assert.equal(err.offset, offset);
    assert.equal(err.file, file);
    assert.match(err.message, text);
    assert.ok(err.message.startsWith(`${file}: `), err.message);
    assert.ok(err.message.endsWith(` at byte ${offset}`), err.message);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
}

test('empty file', async () => {
  await rejectsWith(put('empty.pcap', ''), 'empty_file', 0, /empty file/);
});

test('a text file is not a capture', async () => {
  await rejectsWith(put('notes.pcap', 'GET / HTTP/1.1\r\nHost: example\r\n\r\n'), 'not_a_capture', 0, /not a pcap or pcapng file \(starts with "GET \/ HT"\)/);
  await rejectsWith(put('tiny.pcap', 'hi\n'), 'not_a_capture', 0, /not a pcap or pcapng file/);
});

test('gzip of something that is not a capture, and an empty gzip', async () => {
  await rejectsWith(put('notes.txt.gz', gzipSync(Buffer.from('just some text\n'))), 'not_a_capture', 0, /not a pcap or pcapng file \(gzip data starts with "just som"\)/);
  await rejectsWith(put('empty.gz', gzipSync(Buffer.alloc(0))), 'empty_file', 0, /empty file/);
});

test('missing file and directory', async () => {
  await rejectsWith(path.join(work, 'nope.pcap'), 'unreadable', 0, /no such file/);
  await rejectsWith(work, 'unreadable', 0, /directory/);
});

test('truncated pcap global header and truncated pcapng section header', async () => {
  await rejectsWith(put('short-header.pcap', real('eth-ipv4.pcap').subarray(0, 20)), 'truncated_header', 20, /global header truncated \(20 of 24 bytes\)/);
  await rejectsWith(put('short-shb.pcapng', real('eth-ipv4.pcapng').subarray(0, 20)), 'truncated_header', 20, /section header block truncated/);
});

test('record truncated at end of file: every earlier packet kept, a warning', async () => {
  const buf = real('eth-ipv4.pcap');
  const recs = pcapRecords(buf);
  const last = recs[recs.length - 1];
  const file = put('killed.pcap', buf.subarray(0, buf.length - 10));
  const r = await count(file);
  assert.equal(r.packets, recs.length - 1);
  assert.ok(r.damage);
  assert.equal(r.damage.code, 'truncated_record');
  assert.equal(r.damage.fatal, false);
  assert.equal(r.damage.offset, last);
  assert.equal(r.damage.message, `${file}: last record truncated at end of file (${buf.length - 10 - last} bytes left, capture was probably cut short) at byte ${last}`);
  // cut inside the 16-byte record header
  const r2 = await count(put('killed2.pcap', buf.subarray(0, last + 5)));
  assert.equal(r2.packets, recs.length - 1);
  assert.equal(r2.damage?.offset, last);
  assert.equal(r2.damage?.fatal, false);
});

test('caplen larger than the snaplen: framing broken, reading stops, earlier packets kept', async () => {
  const buf = Buffer.from(real('snaplen-96.pcap'));
  const recs = pcapRecords(buf);
  buf.writeUInt32LE(200, recs[4] + 8);
  const file = put('bad-caplen.pcap', buf);
  const r = await count(file);
  assert.equal(r.packets, 4);
  assert.equal(r.damage?.code, 'bad_caplen');
  assert.equal(r.damage?.fatal, true);
  assert.equal(r.damage?.offset, recs[4]);
  assert.equal(r.damage?.message, `${file}: record captured length 200 is larger than the snaplen 96: framing broken at byte ${recs[4]}`);
  assert.equal(r.bytes, recs[4]);
  assert.equal(r.sha256, createHash('sha256').update(buf).digest('hex'), 'digest of the whole file');
});

test('absurd caplen (> 256 KiB) with snaplen 0', async () => {
  const buf = Buffer.from(real('eth-ipv4.pcap'));
  const recs = pcapRecords(buf);
  buf.writeUInt32LE(0, 16); // snaplen 0
  buf.writeUInt32LE(300000, recs[2] + 8);
  const r = await count(put('absurd-caplen.pcap', buf));
  assert.equal(r.packets, 2);
  assert.equal(r.damage?.code, 'bad_caplen');
  assert.equal(r.damage?.fatal, true);
  assert.match(r.damage?.message ?? '', /record captured length 300000 is larger than 262144/);
});

test('pcapng block length not a multiple of 4: fatal at that block, earlier packets kept', async () => {
  const buf = Buffer.from(real('eth-ipv4.pcapng'));
  const blocks = pcapngBlocks(buf);
  const at = blocks[6]; // SHB, IDB, then EPBs: four packets before it
  buf.writeUInt32LE(buf.readUInt32LE(at + 4) + 2, at + 4);
  const file = put('odd-length.pcapng', buf);
  const r = await count(file);
  assert.equal(r.packets, 4);
  assert.equal(r.damage?.code, 'bad_block_length');
  assert.equal(r.damage?.fatal, true);
  assert.equal(r.damage?.offset, at);
  assert.match(r.damage?.message ?? '', new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: pcapng block \\(type 0x6\\) has a bad length \\d+ \\(not a multiple of 4\\) at byte ${at}$`));
});

test('pcapng trailing block length that disagrees is fatal', async () => {
  const buf = Buffer.from(real('eth-ipv4.pcapng'));
  const blocks = pcapngBlocks(buf);
  const at = blocks[3];
  const len = buf.readUInt32LE(at + 4);
  buf.writeUInt32LE(len + 4, at + len - 4);
  const r = await count(put('trailer.pcapng', buf));
  assert.equal(r.packets, 1);
  assert.equal(r.damage?.code, 'bad_block_length');
  assert.equal(r.damage?.fatal, true);
});

test('pcapng block running past the end of the file: earlier packets kept, a warning', async () => {
  const buf = real('eth-ipv4.pcapng');
  const blocks = pcapngBlocks(buf);
  const last = blocks[blocks.length - 1];
  const file = put('cut.pcapng', buf.subarray(0, last + 20));
  const r = await count(file);
  assert.equal(r.packets, blocks.length - 3);
  assert.equal(r.damage?.code, 'truncated_block');
  assert.equal(r.damage?.fatal, false);
  assert.equal(r.damage?.offset, last);
  assert.ok(r.damage?.message.startsWith(`${file}: `));
});

test('gzip stream cut short: what was decompressed is kept, a warning', async () => {
  const gz = real('eth-ipv4.pcap.gz');
  const r = await count(put('cut.pcap.gz', gz.subarray(0, 600)));
  assert.ok(r.packets > 5 && r.packets < pcapRecords(real('eth-ipv4.pcap')).length, String(r.packets));
  assert.equal(r.damage?.code, 'truncated_gzip');
  assert.equal(r.damage?.fatal, false);
  assert.match(r.damage?.message ?? '', /gzip stream cut short.* at byte \d+$/);
});

test('gzip data corrupt mid-stream: fatal damage, what was decompressed before it is kept', async () => {
  const body = real('eth-ipv4.pcap').subarray(24);
  const plain = Buffer.concat([real('eth-ipv4.pcap').subarray(0, 24), ...new Array(200).fill(body)]);
  const gz = Buffer.from(gzipSync(plain));
  gz[Math.floor(gz.length * 0.6)] ^= 0xff;
  const r = await count(put('corrupt.pcap.gz', gz));
  assert.ok(r.packets > 0, 'packets before the corruption are kept');
  assert.ok(r.damage?.fatal, JSON.stringify(r.damage));
  // zlib notices the bad data (bad_gzip), or it inflates to garbage that breaks the record framing first
  assert.ok(['bad_gzip', 'bad_caplen'].includes(r.damage?.code ?? ''), r.damage?.code);
  assert.match(r.damage?.message ?? '', / at byte \d+$/);
});

test('gzip integrity check (CRC32) fails: every packet kept, fatal damage', async () => {
  const gz = Buffer.from(real('eth-ipv4.pcap.gz'));
  gz[gz.length - 8] ^= 0xff;
  const r = await count(put('bad-crc.pcap.gz', gz));
  assert.equal(r.packets, pcapRecords(real('eth-ipv4.pcap')).length);
  assert.equal(r.damage?.code, 'bad_gzip');
  assert.equal(r.damage?.fatal, true);
  assert.match(r.damage?.message ?? '', /incorrect data check/);
});

test('unknown link type: packets counted as skipped, not fatal', async () => {
  const s = await captureStats(fixture('formats', 'unknown-linktype.pcap'));
  assert.equal(s.damage, null);
  assert.deepEqual(s.info.linktypes, [147]);
  const n = pcapRecords(real('unknown-linktype.pcap')).length;
  assert.ok(n > 10);
  assert.equal(s.packets, n);
  assert.equal(s.decoded.skippedLinktype, n);
  assert.equal(s.decoded.tcpPackets, 0);
  assert.deepEqual(s.anomalies, { unknown_linktype: n });
  assert.equal(s.anomalyFirstOffsets.unknown_linktype, 24);
});

/** Index and offset of the first record of eth-ipv4.pcap whose IPv4 packet carries TCP with IHL 5. */
function firstPlainTcp(buf: Buffer): number {
  for (const o of pcapRecords(buf)) {
    const ip = o + 16 + 14;
    if (buf.readUInt16BE(o + 16 + 12) === 0x0800 && buf[ip] === 0x45 && buf[ip + 9] === 6) return o;
  }
  throw new Error('no plain TCP packet');
}

test('IPv4 header length < 20 in a real file: counted, named, with the record offset', async () => {
  const buf = Buffer.from(real('eth-ipv4.pcap'));
  const at = firstPlainTcp(buf);
  buf[at + 16 + 14] = 0x44;
  const good = await captureStats(fixture('formats', 'eth-ipv4.pcap'));
  const s = await captureStats(put('ihl4.pcap', buf));
  assert.equal(s.damage, null);
  assert.deepEqual(s.anomalies, { bad_ip_header_length: 1 });
  assert.equal(s.anomalyFirstOffsets.bad_ip_header_length, at);
  assert.equal(s.decoded.tcpPackets, good.decoded.tcpPackets - 1);
});

test('TCP data offset < 5, and past the end of the packet, in a real file', async () => {
  const buf = Buffer.from(real('eth-ipv4.pcap'));
  const recs = pcapRecords(buf).filter((o) => buf.readUInt16BE(o + 16 + 12) === 0x0800 && buf[o + 16 + 14] === 0x45 && buf[o + 16 + 23] === 6);
  const [a, b] = recs;
  buf[a + 16 + 14 + 20 + 12] = 0x30; // data offset 3
  buf[b + 16 + 14 + 20 + 12] = 0xf0; // 60 bytes, more than the segment holds
  const s = await captureStats(put('tcp-offset.pcap', buf));
  assert.deepEqual(s.anomalies, { bad_tcp_offset: 2 });
  assert.equal(s.anomalyFirstOffsets.bad_tcp_offset, a);
  const good = await captureStats(fixture('formats', 'eth-ipv4.pcap'));
  assert.equal(s.decoded.tcpPackets, good.decoded.tcpPackets - 2);
});

/** eth-ipv4.pcapng with `block` inserted before its block number `index`. */
function withBlockInserted(index: number, block: Buffer): { buf: Buffer; at: number } {
  const buf = real('eth-ipv4.pcapng');
  const at = pcapngBlocks(buf)[index];
  return { buf: Buffer.concat([buf.subarray(0, at), block, buf.subarray(at)]), at };
}

/** A little-endian block of `type` whose total length field says `len`, `len` bytes long (fixed part missing). */
function shortBlock(type: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  b.writeUInt32LE(len, len - 4);
  return b;
}

test('pcapng packet blocks shorter than their fixed part: fatal bad_block_length at the block, earlier packets kept', async () => {
  // [type, total length, minimum]: an EPB of 16 bytes has no room for its 20 bytes of fixed fields,
  // an SPB of 12 none for its original length, an IDB of 16 none for its snaplen.
  for (const [type, len, min] of [
    [6, 16, 32],
    [6, 28, 32],
    [2, 24, 32],
    [3, 12, 16],
    [1, 16, 20],
  ]) {
    const { buf, at } = withBlockInserted(6, shortBlock(type, len)); // SHB, IDB, four EPBs before it
    const file = put(`short-${type}-${len}.pcapng`, buf);
    let bad = 0;
    const r = await readCapture(file, (raw) => {
      if (!(raw.caplen >= 0 && raw.caplen <= raw.origlen && Number.isFinite(raw.tsUs))) bad++;
    });
    assert.equal(bad, 0, `type ${type} length ${len}: a packet with a broken caplen or timestamp was delivered`);
    assert.equal(r.packets, 4, `type ${type} length ${len}`);
    assert.equal(r.damage?.code, 'bad_block_length', `type ${type} length ${len}`);
    assert.equal(r.damage?.fatal, true);
    assert.equal(r.damage?.offset, at);
    assert.match(r.damage?.message ?? '', new RegExp(`pcapng block \\(type 0x${type}\\) has a bad length ${len} \\(shorter than the ${min} bytes of its fixed part\\) at byte ${at}$`));
  }
});

test('gzip cut short where the tail compresses well: every complete record that zlib can recover is delivered', async () => {
  // eth-ipv4.pcap's records repeated: a tail that compresses very well, so one piece of
  // compressed input holds many records.
  const pcap = real('eth-ipv4.pcap');
  const plain = Buffer.concat([pcap, ...new Array(60).fill(pcap.subarray(24))]);
  const gz = gzipSync(plain);
  for (let i = 1; i <= 8; i++) {
    const cutAt = Math.floor((gz.length * i) / 9);
    const cut = gz.subarray(0, cutAt);
    // Independent answer: zlib's one-shot gunzip told not to insist on the stream end gives
    // every byte recoverable from the cut stream.
    const recovered = gunzipSync(cut, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const offsets = pcapRecordOffsets(recovered).filter((o) => o + 16 + recovered.readUInt32LE(o + 8) <= recovered.length);
    const r = await count(put(`cut-${i}.pcap.gz`, cut));
    assert.equal(r.packets, offsets.length, `cut at ${cutAt} of ${gz.length}`);
    assert.equal(r.damage?.code, 'truncated_gzip');
    assert.equal(r.damage?.fatal, false);
    // The damage is where the decompressed data stops being usable: the start of the record it cut
    // (the end of the last complete one), as for an uncompressed file cut short.
    const last = offsets[offsets.length - 1];
    const end = last === undefined ? 24 : last + 16 + recovered.readUInt32LE(last + 8);
    assert.equal(r.damage?.offset, end);
    assert.equal(r.damage?.rawOffset, cutAt);
  }
});
