import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readCapture } from '../../src/source/read-capture';
import { CaptureError } from '../../src/source/capture-error';
import { fixture } from '../helpers/paths';
import { gzipPrefix, walkPcap } from './independent-framing';

// Regression tests for issue 15, each on a minimal reproducer in fixtures/formats/damaged/
// (made from real fixtures by fixtures/make/formats-damaged.py), checked against an
// independent reading of the same bytes.

const damaged = (name: string) => fixture('formats', 'damaged', name);
const real = (name: string) => readFileSync(fixture('formats', name));
const work = mkdtempSync(path.join(tmpdir(), 'wsa-dmg-'));
const put = (name: string, data: Buffer) => {
  const p = path.join(work, name);
  writeFileSync(p, data);
  return p;
};

async function read(file: string) {
  let n = 0;
  const r = await readCapture(file, () => {
    n++;
  });
  assert.equal(r.packets, n);
  return r;
}

/** Offsets and types of the blocks of a little-endian pcapng. */
function blocks(buf: Buffer): { off: number; type: number }[] {
  const out: { off: number; type: number }[] = [];
  for (let o = 0; o + 12 <= buf.length; o += buf.readUInt32LE(o + 4)) out.push({ off: o, type: buf.readUInt32LE(o) });
  return out;
}
const epbs = (buf: Buffer) => blocks(buf).filter((b) => b.type === 6);

test('gzip with a byte flipped near the end: every record that decompressed before the damage is kept', async () => {
  const file = damaged('gzip-flipped-near-end.pcap.gz');
  const gz = readFileSync(file);
  const want = gzipPrefix(gz);
  assert.notEqual(want.failsAt, null, 'the reproducer is corrupt');
  const walk = walkPcap(want.out)!;
  const r = await read(file);
  assert.equal(r.packets, walk.records.length);
  assert.ok(r.packets > 0);
  assert.equal(r.damage?.code, 'bad_gzip');
  assert.equal(r.damage?.fatal, true);
  assert.equal(r.damage?.rawOffset, want.failsAt);
  const end = walk.records[walk.records.length - 1] + 16 + want.out.readUInt32LE(walk.records[walk.records.length - 1] + 8);
  assert.equal(r.damage?.offset, end);
  assert.equal(r.bytes, end);
  assert.equal(
    r.damage?.message,
    `${file}: gzip data corrupt (invalid distance too far back at compressed byte ${want.failsAt}, ${want.out.length} bytes decompressed), decompressed data ends at byte ${end}`,
  );
});

test('a large gzip corrupted late: the packets before the damage are kept (many 16 KiB pieces)', async () => {
  const pcap = readFileSync(fixture('lossy-path-retransmissions.pcap'));
  const gz = Buffer.from(gzipSync(Buffer.concat([pcap, pcap.subarray(24), pcap.subarray(24), pcap.subarray(24)]), { level: 1 }));
  assert.ok(gz.length > 3 * 16384, String(gz.length));
  // Flipped bytes from 90% of the stream on, until one where zlib itself fails (rather than
  // inflating to records that break the framing first), plus one that inflates to garbage.
  let zlibFailures = 0;
  for (let at = Math.floor(gz.length * 0.9); at < gz.length - 8 && zlibFailures < 2; at += 97) {
    const bad = Buffer.from(gz);
    bad[at] ^= 0xff;
    const want = gzipPrefix(bad);
    const walk = walkPcap(want.out)!;
    const r = await read(put(`big-${at}.pcap.gz`, bad));
    assert.equal(r.packets, walk.records.length, `flip at ${at}`);
    assert.equal(r.damage?.fatal, true);
    if (walk.brokenAt !== null) {
      assert.equal(r.damage?.code, 'bad_caplen', 'the damage decompressed to a broken record first');
      assert.equal(r.damage?.offset, walk.brokenAt);
    } else {
      assert.equal(r.damage?.code, 'bad_gzip');
      assert.equal(r.damage?.rawOffset, want.failsAt);
      assert.ok(r.packets > 800, String(r.packets));
      zlibFailures++;
    }
  }
  assert.equal(zlibFailures, 2);
});

test('a complete gzip stream followed by 64 bytes of junk: everything kept, a trailing-garbage warning and anomaly', async () => {
  const file = damaged('gzip-trailing-junk.pcap.gz');
  const clean = real('eth-ipv4.pcap.gz');
  const r = await read(file);
  assert.equal(r.packets, walkPcap(real('eth-ipv4.pcap'))!.records.length);
  assert.equal(r.damage, null);
  assert.deepEqual(r.anomalies, { gzip_trailing_garbage: 1 });
  assert.deepEqual(r.anomalyFirstOffsets, { gzip_trailing_garbage: clean.length });
  assert.deepEqual(r.warnings, [
    `${file}: 64 bytes after the end of the gzip stream are not gzip (incorrect header check): ignored as trailing garbage, everything before them read, at compressed byte ${clean.length}`,
  ]);
});

test('a real multi-member gzip (cat a.gz b.gz) is read whole', async () => {
  const r = await read(damaged('gzip-two-members.pcap.gz'));
  assert.equal(r.packets, walkPcap(real('eth-ipv4.pcap'))!.records.length);
  assert.equal(r.damage, null);
  assert.deepEqual(r.anomalies, {});
  assert.deepEqual(r.warnings, []);
});

test('gzip cut inside the pcap global header / pcapng section header: unusable, exactly as the same bytes uncompressed', async () => {
  for (const name of ['gzip-cut-in-pcap-header.pcap.gz', 'gzip-cut-in-section-header.pcapng.gz']) {
    const file = damaged(name);
    const plain = gzipPrefix(readFileSync(file)).out;
    assert.ok(plain.length >= 4 && plain.length < 24, String(plain.length));
    const plainFile = put(name.replace(/\.gz$/, ''), plain);
    const errors: CaptureError[] = [];
    for (const f of [file, plainFile]) {
      await assert.rejects(read(f), (err: unknown) => {
        assert.ok(err instanceof CaptureError, String(err));
        errors.push(err);
        return true;
      });
    }
    assert.equal(errors[0].code, 'truncated_header');
    assert.equal(errors[0].code, errors[1].code);
    assert.equal(errors[0].offset, errors[1].offset);
    assert.equal(errors[0].message.slice(file.length), errors[1].message.slice(plainFile.length));
  }
});

test('pcapng last block cut short (a killed dumpcap): a warning, every earlier packet kept', async () => {
  const file = damaged('pcapng-last-block-cut.pcapng');
  const whole = real('eth-ipv4.pcapng');
  const last = blocks(whole).pop()!;
  const r = await read(file);
  assert.equal(r.packets, epbs(whole).length - 1);
  assert.equal(r.damage?.code, 'truncated_block');
  assert.equal(r.damage?.fatal, false);
  assert.equal(r.damage?.offset, last.off);
});

test('a pcapng packet block timestamped 0xffffffff/0xffffffff: that record skipped as bad_timestamp, the others kept', async () => {
  const file = damaged('pcapng-epb-ts-max.pcapng');
  const buf = readFileSync(file);
  const orig = await read(fixture('formats', 'eth-ipv4.pcapng'));
  const r = await read(file);
  assert.equal(r.packets, epbs(buf).length - 1);
  assert.deepEqual(r.anomalies, { bad_timestamp: 1 });
  assert.equal(r.anomalyFirstOffsets.bad_timestamp, epbs(buf)[2].off);
  assert.equal(r.firstTsUs, orig.firstTsUs);
  assert.equal(r.lastTsUs, orig.lastTsUs);
  assert.equal(r.damage, null);
  assert.match(r.warnings[0], /^.*pcapng-epb-ts-max\.pcapng: 1 record with a time outside 1970-01-01\.\.9999-12-31 skipped \(bad_timestamp\), first at byte \d+$/);
});

test('if_tsoffset near ±2^62 / -2^63 and if_tsresol 0x00, 0x01, 0x8a on a nanosecond interface: every record bad_timestamp, no time leaks out', async () => {
  const variants: [string, Buffer][] = [
    ['pcapng-tsoffset-2e62.pcapng', readFileSync(damaged('pcapng-tsoffset-2e62.pcapng'))],
    ['pcapng-tsresol-0-on-ns.pcapng', readFileSync(damaged('pcapng-tsresol-0-on-ns.pcapng'))],
  ];
  // The same files with the option value changed in place: if_tsoffset -2^63 and 2^63-1, if_tsresol 0x01 and 0x8a.
  const off = readFileSync(damaged('pcapng-tsoffset-2e62.pcapng'));
  const offAt = off.indexOf(Buffer.from([14, 0, 8, 0])) + 4;
  for (const v of [-(2n ** 63n), 2n ** 63n - 1n, -(2n ** 62n)]) {
    const b = Buffer.from(off);
    b.writeBigInt64LE(v, offAt);
    variants.push([`tsoffset ${v}`, b]);
  }
  const res = readFileSync(damaged('pcapng-tsresol-0-on-ns.pcapng'));
  const resAt = res.indexOf(Buffer.from([9, 0, 1, 0])) + 4;
  for (const v of [0x01, 0x8a]) {
    const b = Buffer.from(res);
    b[resAt] = v;
    variants.push([`tsresol 0x${v.toString(16)}`, b]);
  }
  for (const [name, buf] of variants) {
    const r = await read(put(`v-${variants.indexOf(variants.find((x) => x[0] === name)!)}.pcapng`, buf));
    assert.equal(r.packets, 0, name);
    assert.equal(r.anomalies.bad_timestamp, epbs(buf).length, name);
    assert.equal(r.firstTsUs, null, name);
    assert.equal(r.lastTsUs, null, name);
    assert.equal(r.damage, null, name);
  }
});

test('if_tsresol finer than 10^-12 s: bad_ts_resolution, its packets skipped', async () => {
  const file = damaged('pcapng-tsresol-finer-than-ps.pcapng');
  const buf = readFileSync(file);
  const r = await read(file);
  assert.equal(r.packets, 0);
  assert.deepEqual(r.anomalies, { bad_ts_resolution: 1, bad_timestamp: epbs(buf).length });
  assert.equal(r.anomalyFirstOffsets.bad_ts_resolution, blocks(buf)[1].off);
  assert.equal(r.info.tsPrecision, '10^-13');
  assert.match(r.warnings[0], /interface 0 has if_tsresol 10\^-13 s, finer than 10\^-12 or 2\^-32: its packets' times are unusable/);
});
