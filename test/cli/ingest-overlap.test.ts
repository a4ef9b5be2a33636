import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixture } from '../helpers/paths';
import { readPcap, slicePcap } from './pcap-edit';
import { runCli, tmpDir } from './run-cli';

function recordsAsPcap(p: ReturnType<typeof readPcap>, keep: (i: number) => boolean): Buffer {
  return Buffer.concat([p.header, ...p.records.filter((_, i) => keep(i)).map((r) => p.buf.subarray(r.off, r.off + r.len))]);
}

function overlapAnomaly(db: string): number | undefined {
  const r = runCli(['query', '--db', db, '--format', 'json', "SELECT count FROM anomalies WHERE flow_id IS NULL AND name = 'files_overlap_in_time'"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { count: number }[];
  return rows[0]?.count;
}

test('ingest: files that overlap in time (not rotated) are read, with a warning and a capture anomaly saying they were not merged', () => {
  const src = readPcap(fixture('client-closes-first.pcap'));
  const dir = tmpDir();
  // Even and odd records of one real capture: two files spanning the same time.
  const a = path.join(dir, 'even.pcap');
  const b = path.join(dir, 'odd.pcap');
  fs.writeFileSync(a, recordsAsPcap(src, (i) => i % 2 === 0));
  fs.writeFileSync(b, recordsAsPcap(src, (i) => i % 2 === 1));
  const db = path.join(dir, 'overlap.db');
  const r = runCli(['ingest', a, b, '--db', db]);
  assert.equal(r.code, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.startsWith('wirestate: warning: '));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /odd\.pcap starts [\d.]+ s before .*even\.pcap ends: files that overlap in time are read one after another, not merged/);
  assert.equal(overlapAnomaly(db), 1);
});

test('ingest: rotated files (one after the other) give no overlap warning', () => {
  const src = readPcap(fixture('client-closes-first.pcap'));
  const dir = tmpDir();
  const half = Math.floor(src.records.length / 2);
  const a = path.join(dir, 'dump.pcap0');
  const b = path.join(dir, 'dump.pcap1');
  fs.writeFileSync(a, slicePcap(src, 0, half));
  fs.writeFileSync(b, slicePcap(src, half, src.records.length));
  const db = path.join(dir, 'rotated.db');
  const r = runCli(['ingest', b, a, '--db', db]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /warning/);
  assert.equal(overlapAnomaly(db), undefined);
});
