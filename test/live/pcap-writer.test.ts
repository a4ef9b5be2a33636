import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PcapWriter } from '../../src/source/pcap-writer';
import { readCapture } from '../../src/source/read-capture';
import type { RawPacket } from '../../src/source/raw-packet';

// An Ethernet/IPv4/TCP SYN, 10.79.0.2:40000 -> 10.79.0.1:8080 (checksums not needed by readers).
const SYN = Buffer.from(
  '02000000000102000000000208004500003c1c4640004006000' +
    '00a4f00020a4f00019c401f90000003e800000000a002faf000000000020405b40402080a000000010000000001030307',
  'hex',
);

function raw(buf: Buffer, tsUs: number, caplen = buf.length, origlen = buf.length): RawPacket {
  return { buf, off: 0, caplen, origlen, tsUs, linktype: 1, interfaceId: 0, fileOffset: 0 };
}

test('pcap writer: classic header (a1b2c3d4, 2.4, snaplen, linktype) and records read back byte for byte', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wse-pw-'));
  try {
    const file = path.join(dir, 'w.pcap');
    // A tiny buffer forces flushes in the middle of the stream.
    const w = new PcapWriter(file, 1, 64, 1);
    const ts = [1_795_000_000_000_001, 1_795_000_000_999_999, 1_795_000_001_000_000];
    w.write(raw(SYN, ts[0]));
    w.write(raw(SYN, ts[1], 50, SYN.length)); // cut by the capture's snaplen
    w.write(raw(SYN, ts[2])); // longer than the file's snaplen 64: cut to 64, wire length kept
    w.close();
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.readUInt32LE(0), 0xa1b2c3d4);
    assert.equal(bytes.readUInt16LE(4), 2);
    assert.equal(bytes.readUInt16LE(6), 4);
    assert.equal(bytes.readUInt32LE(16), 64);
    assert.equal(bytes.readUInt32LE(20), 1);
    assert.equal(bytes.length, 24 + 3 * 16 + 64 + 50 + 64);
    assert.equal(bytes.readUInt32LE(24), Math.floor(ts[0] / 1e6));
    assert.equal(bytes.readUInt32LE(28), 1);

    const got: Array<{ tsUs: number; caplen: number; origlen: number; hex: string }> = [];
    const res = await readCapture(file, (p) => {
      got.push({ tsUs: p.tsUs, caplen: p.caplen, origlen: p.origlen, hex: p.buf.subarray(p.off, p.off + p.caplen).toString('hex') });
    });
    assert.equal(res.damage, null);
    assert.deepEqual(got, [
      { tsUs: ts[0], caplen: 64, origlen: SYN.length, hex: SYN.subarray(0, 64).toString('hex') },
      { tsUs: ts[1], caplen: 50, origlen: SYN.length, hex: SYN.subarray(0, 50).toString('hex') },
      { tsUs: ts[2], caplen: 64, origlen: SYN.length, hex: SYN.subarray(0, 64).toString('hex') },
    ]);
    const td = spawnSync('tcpdump', ['-nn', '-tt', '-r', file], { encoding: 'utf8' });
    if (!td.error) {
      assert.equal(td.status, 0, td.stderr);
      const lines = td.stdout.trim().split('\n');
      assert.equal(lines.length, 3);
      assert.match(lines[0], /^1795000000\.000001 IP 10\.79\.0\.2\.40000 > 10\.79\.0\.1\.8080: Flags \[S\]/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
