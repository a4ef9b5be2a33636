import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixture } from '../helpers/paths';
import { readPcap } from './pcap-edit';
import { runCli, tmpDir } from './run-cli';

/** Index of the first record that is a later IPv4 fragment (Ethernet, fragment offset > 0). */
function firstLaterFragment(records: ReturnType<typeof readPcap>): number {
  const { buf } = records;
  return records.records.findIndex((r) => {
    const frame = r.off + 16;
    if (buf.readUInt16BE(frame + 12) !== 0x0800) return false;
    return (buf.readUInt16BE(frame + 14 + 6) & 0x1fff) > 0;
  });
}

function captureAnomalies(db: string): Record<string, number> {
  const r = runCli(['query', '--db', db, '--format', 'json', 'SELECT name, count FROM anomalies WHERE flow_id IS NULL']);
  assert.equal(r.code, 0, r.stderr);
  return Object.fromEntries((JSON.parse(r.stdout) as { name: string; count: number }[]).map((a) => [a.name, a.count]));
}

test('ingest: a TCP datagram whose last fragment is missing from the capture is counted as fragment_reassembly_timeout', () => {
  const src = readPcap(fixture('formats', 'ipv4-tcp-fragments.pcap'));
  const drop = firstLaterFragment(src);
  assert.ok(drop > 0, 'the fixture holds later fragments');
  const dir = tmpDir();
  const cut = path.join(dir, 'missing-fragment.pcap');
  const kept = src.records.filter((_, i) => i !== drop).map((r) => src.buf.subarray(r.off, r.off + r.len));
  fs.writeFileSync(cut, Buffer.concat([src.header, ...kept]));

  const whole = path.join(dir, 'whole.db');
  assert.equal(runCli(['ingest', '-q', fixture('formats', 'ipv4-tcp-fragments.pcap'), '--db', whole]).code, 0);
  assert.equal(captureAnomalies(whole).fragment_reassembly_timeout, undefined);

  const db = path.join(dir, 'cut.db');
  assert.equal(runCli(['ingest', '-q', cut, '--db', db]).code, 0);
  assert.equal(captureAnomalies(db).fragment_reassembly_timeout, 1);
});
